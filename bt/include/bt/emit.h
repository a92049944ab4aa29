/* x86-64 code emission into the translation cache. */
#ifndef BT_EMIT_H
#define BT_EMIT_H

#include <stdint.h>

/* Host register numbers (encoding order). */
enum host_reg {
	H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
	H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15,
};

#define H_NONE		(-1)
#define H_GUEST_ESP	H_R12	/* the guest's ESP */
#define H_VCPU		H_R13	/* struct bt_cpu * */
#define H_ADDR		H_R14	/* scratch: guest linear address of an access */
#define H_VIEW		H_R15	/* view base */

struct emitter {
	uint8_t *rw;		/* TC write view */
	uint64_t rx;		/* TC execute view address of offset 0 */
	uint32_t off;		/* current TC offset */
	uint32_t limit;		/* do not write past this */
	int overflow;
};

/* Map a guest GPR number to the host register holding it. */
static inline int host_of_guest(int gpr)
{
	return gpr == 4 ? H_GUEST_ESP : gpr;
}

void emit_u8(struct emitter *e, uint8_t v);
void emit_u32(struct emitter *e, uint32_t v);
void emit_u64(struct emitter *e, uint64_t v);
void emit_bytes(struct emitter *e, const uint8_t *b, unsigned n);

/*
 * One instruction with a ModRM memory operand [base + index*scale + disp32]:
 * rex_w, opcode bytes, reg field (a host register or an opcode extension).
 * base or index may be H_NONE.
 */
void emit_mem_op(struct emitter *e, int rex_w, const uint8_t *opc, int nopc, int reg,
		 int base, int index, int scale, int32_t disp, int force_rex);
/* Register-direct ModRM form: opcode reg, rm. */
void emit_reg_op(struct emitter *e, int rex_w, const uint8_t *opc, int nopc, int reg, int rm);

/* lea dst32, [base + index*scale + disp] (32-bit result: wraps mod 2^32). */
void emit_lea32(struct emitter *e, int dst, int base, int index, int scale, int32_t disp);
/* mov dst64, [base + disp]. */
void emit_load64(struct emitter *e, int dst, int base, int32_t disp);
/* mov dst64, src64. */
void emit_mov64(struct emitter *e, int dst, int src);
/* mov dst32, imm32 / mov dst64, imm64. */
void emit_mov32_imm(struct emitter *e, int dst, uint32_t imm);
void emit_mov64_imm(struct emitter *e, int dst, uint64_t imm);
/* jmp/jcc rel32; return the TC offset of the rel32 field. */
uint32_t emit_jmp32(struct emitter *e, uint32_t target_off);
uint32_t emit_jcc32(struct emitter *e, int cc, uint32_t target_off);
/* jmp qword [base + disp8/32]. */
void emit_jmp_mem(struct emitter *e, int base, int index, int scale, int32_t disp);
/* Patch a rel32 at field offset `at` to reach TC offset `to`. */
void emit_patch32(struct emitter *e, uint32_t at, uint32_t to);

#endif
