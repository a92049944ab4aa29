/*
 * mangle.c - the guest instructions the translator rewrites instead of
 * copying: stack operations on r12 (the guest's ESP), calls, returns and
 * loops, string instructions run with rsi/rdi moved into the view, and the
 * flag instructions (cli/sti/pushf/popf) done inline on the virtual IF.
 * See the essay in bt/translate.c for the register and memory model.
 */
#include <string.h>

#include "bt/xl.h"
#include "vmm/cpu.h"

/*
 * Make the slot the stack word at ESP + off (SS base folded in): directly
 * [r15 + r12 + off], or through r14 when this instruction has been seen to
 * wrap (ESP near 0 or 4 GiB) or when r14 must hold the address (force).
 */
static void emit_stack_slot(struct xl *x, int32_t off, bool force_r14)
{
	int32_t disp = off + (int32_t)x->mode->seg_base[S_SS];

	if (!force_r14 && !xl_wraps_here(x)) {
		x->slot = (struct bt_hostmem){ H_VIEW, H_GUEST_ESP, 1, disp };
		return;
	}
	emit_lea32(&x->e, H_ADDR, H_GUEST_ESP, H_NONE, 1, disp);
	x->slot = (struct bt_hostmem){ H_VIEW, H_ADDR, 1, 0 };
}

static void emit_stack_addr(struct xl *x, int32_t off)
{
	emit_stack_slot(x, off, false);
}

static void emit_esp_add(struct xl *x, int32_t delta)
{
	emit_lea32(&x->e, H_GUEST_ESP, H_GUEST_ESP, H_NONE, 1, delta);
}

/* Load the value of a push/call/jmp source operand into r11d. */
static int emit_value_r11(struct xl *x, const struct bt_opnd *o, int size)
{
	if (o->kind == BT_OPND_REG && xl_gpr_host(&o->reg) != H_NONE) {
		static const uint8_t mov = 0x89;

		emit_reg_op(&x->e, 0, &mov, 1, xl_gpr_host(&o->reg), H_R11);
		return 0;
	}
	if (o->kind == BT_OPND_MEM) {
		if (xl_addr(x, &o->mem, 0) < 0)
			return -1;
		xl_load_reg(x, size, H_R11);
		return 0;
	}
	if (o->kind == BT_OPND_IMM) {
		emit_mov32_imm(&x->e, H_R11, o->imm);
		return 0;
	}
	return -1;
}

int xl_push(struct xl *x, const struct bt_insn *in)
{
	const struct bt_opnd *o = &in->opnd[0];
	int size = in->opsize;

	if (size != 4 && size != 2)
		return -1;
	if (o->kind == BT_OPND_MEM && emit_value_r11(x, o, size) < 0)
		return -1;
	emit_stack_addr(x, -size);
	if (o->kind == BT_OPND_MEM)
		xl_store_reg(x, size, H_R11);
	else if (o->kind == BT_OPND_REG && xl_gpr_host(&o->reg) != H_NONE)
		xl_store_reg(x, size, xl_gpr_host(&o->reg));
	else if (o->kind == BT_OPND_IMM)
		xl_store_imm(x, size, o->imm);
	else
		return -1;
	emit_esp_add(x, -size);
	return 0;
}

int xl_pop(struct xl *x, const struct bt_insn *in)
{
	const struct bt_opnd *o = &in->opnd[0];
	int size = in->opsize;

	if (size != 4 && size != 2)
		return -1;
	emit_stack_addr(x, 0);
	if (o->kind == BT_OPND_REG && xl_gpr_host(&o->reg) != H_NONE) {
		xl_load_reg(x, size, xl_gpr_host(&o->reg));
		/* pop %esp: the loaded value wins over the increment. */
		if (!(o->reg.num == R_ESP && size == 4))
			emit_esp_add(x, size);
		return 0;
	}
	if (o->kind != BT_OPND_MEM)
		return -1;
	xl_load_reg(x, size, H_R11);
	/* The destination address uses ESP after the increment. */
	if (xl_addr(x, &o->mem, size) < 0)
		return -1;
	xl_store_reg(x, size, H_R11);
	emit_esp_add(x, size);
	return 0;
}

/* push %sreg: the selector the monitor left in bt_cpu; P6 writes only 16 bits. */
int xl_push_seg(struct xl *x, const struct bt_insn *in)
{
	static const uint8_t movzx16[] = { 0x0f, 0xb7 };
	int size = in->opsize == 2 ? 2 : 4;

	emit_mem_op(&x->e, 0, movzx16, 2, H_R11, H_VCPU, H_NONE, 1,
		    BTC_SEL + 2 * in->opnd[0].reg.num, 0);
	emit_stack_addr(x, -size);
	xl_store_reg(x, 2, H_R11);
	emit_esp_add(x, -size);
	return 0;
}

/* Load size bytes from the top of the guest stack into hreg (a kcall's pop). */
void xl_stack_load(struct xl *x, int size, int hreg)
{
	emit_stack_addr(x, 0);
	xl_load_reg(x, size, hreg);
}

/* pusha: eight stores below ESP (the original ESP among them), then ESP moves. */
int xl_pusha(struct xl *x, const struct bt_insn *in)
{
	if (in->opsize != 4)
		return -1;
	for (int r = R_EAX; r <= R_EDI; r++) {
		emit_stack_addr(x, -4 * (r + 1));
		xl_store_reg(x, 4, host_of_guest(r));
	}
	emit_esp_add(x, -32);
	return 0;
}

/*
 * popa: the two ends of the 32 bytes are read first (eax's slot into r11,
 * then edi's), so any fault comes before a guest register has changed.
 */
int xl_popa(struct xl *x, const struct bt_insn *in)
{
	static const uint8_t mov = 0x89;

	if (in->opsize != 4)
		return -1;
	emit_stack_addr(x, 28);
	xl_load_reg(x, 4, H_R11);
	for (int r = R_EDI; r > R_EAX; r--) {
		if (r == R_ESP)
			continue;	/* its slot is skipped */
		emit_stack_addr(x, 4 * (R_EDI - r));
		xl_load_reg(x, 4, host_of_guest(r));
	}
	emit_reg_op(&x->e, 0, &mov, 1, H_R11, H_RAX);	/* mov eax, r11d */
	emit_esp_add(x, 32);
	return 0;
}

int xl_leave(struct xl *x, const struct bt_insn *in)
{
	static const uint8_t mov = 0x89;

	if (in->opsize != 4)
		return -1;
	emit_reg_op(&x->e, 0, &mov, 1, H_RBP, H_GUEST_ESP);	/* mov r12d, ebp */
	emit_stack_addr(x, 0);
	xl_load_reg(x, 4, H_RBP);
	emit_esp_add(x, 4);
	return 0;
}

int xl_call_rel(struct xl *x, const struct bt_insn *in)
{
	if (in->opsize != 4)
		return -1;
	emit_stack_addr(x, -4);
	xl_store_imm(x, 4, in->eip + in->len);
	emit_esp_add(x, -4);
	xl_exit_direct(x, -1, TC_EXIT_BRANCH, in->target);
	return 1;
}

int xl_indirect(struct xl *x, const struct bt_insn *in, bool is_call)
{
	if (in->opsize != 4 || emit_value_r11(x, &in->opnd[0], 4) < 0)
		return -1;
	if (is_call) {
		emit_stack_addr(x, -4);
		xl_store_imm(x, 4, in->eip + in->len);
		emit_esp_add(x, -4);
	}
	xl_ibl_dispatch(x);
	return 1;
}

int xl_ret(struct xl *x, const struct bt_insn *in)
{
	uint32_t extra = in->nopnds && in->opnd[0].kind == BT_OPND_IMM ? in->opnd[0].imm : 0;

	if (in->opsize != 4)
		return -1;
	emit_stack_addr(x, 0);
	xl_load_reg(x, 4, H_R11);
	emit_esp_add(x, 4 + (int32_t)(extra & 0xffff));
	xl_ibl_dispatch(x);
	return 1;
}

/* The condition code of a jcc: low nibble of its opcode (70+cc or 0F 80+cc). */
int xl_jcc_cond(const struct bt_insn *in)
{
	for (int i = 0; i < in->len; i++) {
		uint8_t b = in->bytes[i];

		if (b >= 0x70 && b <= 0x7f)
			return b & 15;
		if (b == 0x0f && i + 1 < in->len)
			return in->bytes[i + 1] & 15;
	}
	return -1;
}

/*
 * loop/loope/loopne/jecxz have only rel8 forms: emit the original (with an
 * address-size prefix so it uses ECX) over a short hop, then both exits.
 */
int xl_loop(struct xl *x, const struct bt_insn *in)
{
	uint8_t opc = in->op == BT_LOOP ? 0xe2 : in->op == BT_LOOPE ? 0xe1 :
		      in->op == BT_LOOPNE ? 0xe0 : 0xe3;
	uint8_t seq[] = { 0x67, opc, 0x02, 0xeb, 0x00 };
	uint32_t hop;

	if (in->addrsize != 4 || in->opsize != 4)
		return -1;
	/* Taken: hop over the short jmp onto the taken exit; else onto the fall-through. */
	emit_bytes(&x->e, seq, sizeof(seq));
	hop = x->e.off - 1;
	xl_exit_direct(x, -1, TC_EXIT_BRANCH, in->target);
	x->e.rw[hop] = (uint8_t)(x->e.off - (hop + 1));
	xl_exit_direct(x, -1, TC_EXIT_BRANCH, in->eip + in->len);
	return 1;
}

/* lea reg64, [reg64 + r15]: into the view without touching the flags. */
static void emit_view_add(struct xl *x, int reg)
{
	static const uint8_t lea = 0x8d;

	emit_mem_op(&x->e, 1, &lea, 1, reg, reg, H_VIEW, 1, 0, 0);
}

int xl_string(struct xl *x, const struct bt_insn *in, struct tc_map *m)
{
	bool src = in->op == BT_MOVS || in->op == BT_LODS || in->op == BT_CMPS;
	bool dst = in->op != BT_LODS;
	int src_seg = S_DS;
	uint8_t op[3];
	int n = 0;

	if (in->addrsize != 4)
		return -1;
	for (int i = 0; i < in->nopnds; i++)
		if (in->opnd[i].kind == BT_OPND_MEM && in->opnd[i].mem.base.num == R_ESI)
			src_seg = in->opnd[i].mem.seg;
	m->fixup = TC_FIX_STRING;
	m->aux = (uint8_t)((src ? 1 : 0) | (dst ? 2 : 0) | (src_seg << 2));
	/* rsi = view + (uint32)(esi + base): wraps like the guest, then enters the window. */
	if (src) {
		if (x->mode->seg_base[src_seg])
			emit_lea32(&x->e, H_RSI, H_RSI, H_NONE, 1,
				   (int32_t)x->mode->seg_base[src_seg]);
		emit_view_add(x, H_RSI);
	}
	if (dst) {
		if (x->mode->seg_base[S_ES])
			emit_lea32(&x->e, H_RDI, H_RDI, H_NONE, 1,
				   (int32_t)x->mode->seg_base[S_ES]);
		emit_view_add(x, H_RDI);
	}
	if (in->opsize == 2)
		op[n++] = 0x66;
	if (in->has_rep)
		op[n++] = 0xf3;
	else if (in->has_repne)
		op[n++] = 0xf2;
	op[n++] = xl_first_opcode(in);
	emit_bytes(&x->e, op, (unsigned)n);
	if (src) {
		emit_bytes(&x->e, (const uint8_t[]){ 0x89, 0xf6 }, 2);		/* mov esi, esi */
		if (x->mode->seg_base[src_seg])
			emit_lea32(&x->e, H_RSI, H_RSI, H_NONE, 1,
				   -(int32_t)x->mode->seg_base[src_seg]);
	}
	if (dst) {
		emit_bytes(&x->e, (const uint8_t[]){ 0x89, 0xff }, 2);		/* mov edi, edi */
		if (x->mode->seg_base[S_ES])
			emit_lea32(&x->e, H_RDI, H_RDI, H_NONE, 1,
				   -(int32_t)x->mode->seg_base[S_ES]);
	}
	return 0;
}

/* mov byte [r13 + vif], val: cli/sti on the virtual IF, no flags touched. */
static void emit_set_vif(struct xl *x, uint8_t val)
{
	static const uint8_t mov = 0xc6;	/* mov r/m8, imm8 */

	emit_mem_op(&x->e, 0, &mov, 1, 0, H_VCPU, H_NONE, 1, BTC_VIF, 0);
	emit_u8(&x->e, val);
}

/* Faults only while an interrupt waits for IF. */
static void emit_irqwin_probe(struct xl *x, struct tc_map *m, bool shadow)
{
	m->fixup = TC_FIX_AFTER;
	m->aux = shadow;
	xl_probe(x, BTC_IRQWIN);
}

/*
 * pushf at CPL 0: the guest's EFLAGS is the host's arithmetic flags plus
 * the virtual bits.  Composing it clobbers the flags, so they are saved with
 * pushfq first and restored with popfq before the store.  The saved copy is
 * masked first: popfq must never bring back bits translated code does not
 * own (qemu's TCG has been seen to push junk, TF among it, after cmpxchg8b).
 */
static int xl_pushf(struct xl *x)
{
	static const uint8_t seq1[] = {
		0x9c,					/* pushfq */
		0x81, 0x24, 0x24,			/* and dword [rsp], imm32 */
		0xd7, 0x0e, 0x00, 0x00,			/* 0x0ed7: CF PF AF ZF SF DF OF, bit 1, IF */
		0x4c, 0x8b, 0x1c, 0x24,			/* mov r11, [rsp] */
		0x41, 0x81, 0xe3,			/* and r11d, imm32 */
	};
	static const uint8_t seq2[] = { 0x41, 0x81, 0xe2 };	/* and r10d, imm32 */
	static const uint8_t or_r11_r10[] = { 0x45, 0x09, 0xd3 };
	static const uint8_t movzx8[] = { 0x0f, 0xb6 };
	static const uint8_t mov = OP_MOV_LOAD;
	static const uint8_t seq3[] = {
		0x41, 0xc1, 0xe2, 0x09,			/* shl r10d, 9 */
		0x45, 0x09, 0xd3,			/* or r11d, r10d */
		0x41, 0x83, 0xcb, 0x02,			/* or r11d, 2 (reserved bit 1) */
		0x9d,					/* popfq */
	};

	emit_bytes(&x->e, seq1, sizeof(seq1));
	emit_u32(&x->e, BT_HOST_FLAGS);
	emit_mem_op(&x->e, 0, &mov, 1, H_R10, H_VCPU, H_NONE, 1, BTC_VFLAGS, 0);
	emit_bytes(&x->e, seq2, sizeof(seq2));
	emit_u32(&x->e, BT_VFLAGS_MASK);
	emit_bytes(&x->e, or_r11_r10, sizeof(or_r11_r10));
	emit_mem_op(&x->e, 0, movzx8, 2, H_R10, H_VCPU, H_NONE, 1, BTC_VIF, 0);
	emit_bytes(&x->e, seq3, sizeof(seq3));
	emit_stack_addr(x, -4);
	xl_store_reg(x, 4, H_R11);
	emit_esp_add(x, -4);
	return 0;
}

/*
 * popf at CPL 0: every bit may change.  IF is taken from the popped value's
 * second byte through a 256-entry table (no flags touched), the virtual
 * bits are stored whole (readers mask them), and the arithmetic flags go
 * to the host with popfq.  Then the interrupt-window probe.
 */
static int xl_popf(struct xl *x, struct tc_map *m)
{
	static const uint8_t mov = OP_MOV_LOAD, store = OP_MOV_STORE;
	static const uint8_t movzx8[] = { 0x0f, 0xb6 };
	static const uint8_t movb_store = 0x88;
	static const uint8_t tail[] = { 0x41, 0x53, 0x9d };	/* push r11; popfq */

	emit_stack_slot(x, 0, true);	/* the byte load below needs r14 */
	xl_load_reg(x, 4, H_R11);
	emit_mem_op(&x->e, 0, movzx8, 2, H_R10, H_VIEW, H_ADDR, 1, 1, 0);
	emit_mem_op(&x->e, 0, movzx8, 2, H_R10, H_VCPU, H_R10, 1, BTC_IFTAB, 0);
	emit_mem_op(&x->e, 0, &movb_store, 1, H_R10, H_VCPU, H_NONE, 1, BTC_VIF, 1);
	emit_mem_op(&x->e, 0, &store, 1, H_R11, H_VCPU, H_NONE, 1, BTC_VFLAGS, 0);
	emit_esp_add(x, 4);
	emit_bytes(&x->e, (const uint8_t[]){ 0x41, 0x81, 0xe3 }, 3);	/* and r11d, imm32 */
	emit_u32(&x->e, BT_HOST_FLAGS | X86_EFLAGS_FIXED);
	emit_bytes(&x->e, tail, sizeof(tail));
	(void)mov;
	emit_irqwin_probe(x, m, false);
	return 0;
}

/* cli/sti/pushf/popf inline at CPL 0, where IOPL cannot refuse them. */
int xl_flags_inline(struct xl *x, const struct bt_insn *in, struct tc_map *m)
{
	if (x->mode->cpl != 0 || in->opsize == 2)
		return -1;
	switch (in->op) {
	case BT_CLI:
		emit_set_vif(x, 0);
		return 0;
	case BT_STI:
		emit_set_vif(x, 1);
		emit_irqwin_probe(x, m, true);
		return 0;
	case BT_PUSHF:
		return xl_pushf(x);
	case BT_POPF:
		return xl_popf(x, m);
	default:
		return -1;
	}
}

