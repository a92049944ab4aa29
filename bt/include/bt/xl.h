/* The translator's own shared state and helpers (bt/translate.c and bt/mangle.c). */
#ifndef BT_XL_H
#define BT_XL_H

#include <stdbool.h>
#include <stdint.h>

#include "bt/emit.h"
#include "bt/insn.h"
#include "bt/tc.h"

struct xl {
	struct tc *tc;
	struct emitter e;
	struct tc_block *b;
	const struct bt_mode *mode;
	uint32_t cur_phys;	/* guest-physical address of the instruction at hand */
	bool fpu_checked;	/* this block already made sure the guest FPU is loaded */
	struct bt_hostmem slot;	/* where emit_load/store_* access: set by the address emitters */
};

static const uint8_t OP_MOV_STORE = 0x89;	/* mov r/m, r */
static const uint8_t OP_MOV_LOAD = 0x8b;	/* mov r, r/m */

/* translate.c: exits, addressing, probes */
void xl_exit_direct(struct xl *x, int cc, enum tc_exit_kind kind, uint32_t eip);
void xl_ibl_dispatch(struct xl *x);
void bt_emit_ibl_dispatch(struct emitter *e);
int xl_gpr_host(const struct bt_reg *r);
int xl_addr(struct xl *x, const struct bt_mem *m, int32_t esp_adjust);
void xl_store_reg(struct xl *x, int size, int hreg);
void xl_load_reg(struct xl *x, int size, int hreg);
void xl_stack_load(struct xl *x, int size, int hreg);
void xl_store_imm(struct xl *x, int size, uint32_t imm);
bool xl_wraps_here(struct xl *x);
uint8_t xl_first_opcode(const struct bt_insn *in);
void xl_probe(struct xl *x, int32_t page);
void xl_poll_probe(struct xl *x);

/*
 * mangle.c: instructions rewritten rather than copied.  Each returns 0 to
 * go on, 1 when it ended the block, -1 to leave it to a callout.
 */
int xl_push(struct xl *x, const struct bt_insn *in);
int xl_pop(struct xl *x, const struct bt_insn *in);
int xl_push_seg(struct xl *x, const struct bt_insn *in);
int xl_pusha(struct xl *x, const struct bt_insn *in);
int xl_popa(struct xl *x, const struct bt_insn *in);
int xl_leave(struct xl *x, const struct bt_insn *in);
int xl_call_rel(struct xl *x, const struct bt_insn *in);
int xl_indirect(struct xl *x, const struct bt_insn *in, bool is_call);
int xl_ret(struct xl *x, const struct bt_insn *in);
int xl_jcc_cond(const struct bt_insn *in);
int xl_loop(struct xl *x, const struct bt_insn *in);
int xl_string(struct xl *x, const struct bt_insn *in, struct tc_map *m);
int xl_flags_inline(struct xl *x, const struct bt_insn *in, struct tc_map *m);

#endif
