/*
 * translate.c - guest basic block -> x86-64 translation.
 *
 * The translated-code model (DESIGN.md §2): guest EAX..EDI live in the host
 * registers of the same number, except ESP, which lives in r12 so the host
 * stack stays a real host stack for signals and calls.  Guest arithmetic
 * flags and DF live in the host RFLAGS.  r13 points at the vCPU (struct
 * bt_cpu), r15 at the current view: a 4 GiB host window that shadows the
 * guest address space.  r14, r11 and r10 are scratch.
 *
 * Every guest memory access lands in the view.  The general form is two
 * steps: a `lea r14d, [...]` that forms the 32-bit linear address (segment
 * base folded into the displacement, so it wraps mod 2^32 exactly as the
 * guest's would, and lea leaves the flags alone), then the original
 * operation on [r15 + r14].  An operand with one register is addressed in
 * one step, [r15 + reg*scale + disp]; the view mirrors its window above and
 * below so an unwrapped sum still lands on the right page, and guards the
 * rest (see shadowmmu/view.c).  Whatever address the guest computes, the
 * access stays inside its view: the view is all the guest can ever touch.
 *
 * A block has an IBL entry that checks the indirect-branch target (without
 * touching the flags: lea + jrcxz) and then reads the poll page, the code,
 * and the exit stubs.  The poll page (just below the vCPU) is read on edges
 * that can close a loop; the monitor makes it inaccessible when it wants
 * the guest out, so the exit costs no test in the hot path.  Instructions
 * that need the monitor end the block with a callout exit.  The rewritten
 * instructions (stack, calls, strings, flags) are in bt/mangle.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bt/emit.h"
#include "bt/tc.h"
#include "bt/xl.h"
#include "vmm/cpu.h"

#define BT_MAX_BLOCK_INSNS	48
#define BT_MAX_BLOCK_BYTES	8192	/* host bytes a block may need, worst case */

static struct tc_exit *new_exit(struct xl *x, enum tc_exit_kind kind, uint32_t eip)
{
	struct tc_exit *ex = &x->b->exits[x->b->nexits++];

	memset(ex, 0, sizeof(*ex));
	ex->kind = (uint8_t)kind;
	ex->eip = eip;
	ex->blk = x->b;
	return ex;
}

static void emit_fpu_check(struct xl *x);

/*
 * jmp (or jcc) to the stub of a new chainable exit; the stub comes at block
 * end.  Every cycle of blocks has an edge to an address at or below the
 * start of the block it leaves, so only those edges read the poll page
 * (for a jcc: the condition is inverted around probe + jmp).
 */
void xl_exit_direct(struct xl *x, int cc, enum tc_exit_kind kind, uint32_t eip)
{
	struct tc_exit *ex = new_exit(x, kind, eip);
	uint32_t skip = 0;

	if (eip > x->b->eip) {
		ex->jmp_off = cc < 0 ? emit_jmp32(&x->e, 0) : emit_jcc32(&x->e, cc, 0);
		return;
	}
	if (cc >= 0) {
		emit_u8(&x->e, (uint8_t)(0x70 | ((cc ^ 1) & 15)));	/* j!cc over */
		skip = x->e.off;
		emit_u8(&x->e, 0);
	}
	ex->probe_off = x->e.off;
	xl_poll_probe(x);
	ex->jmp_off = emit_jmp32(&x->e, 0);
	if (cc >= 0)
		x->e.rw[skip] = (uint8_t)(x->e.off - (skip + 1));
}

/* mov r11, &exit; jmp [r13 + tc_exit]: leave the TC through an exit record. */
static void emit_stub(struct xl *x, struct tc_exit *ex)
{
	emit_mov64_imm(&x->e, H_R11, (uint64_t)(uintptr_t)ex);
	emit_jmp_mem(&x->e, H_VCPU, H_NONE, 1, BTC_TC_EXIT);
}

static void exit_callout(struct xl *x, const struct bt_insn *in)
{
	struct tc_exit *ex = new_exit(x, TC_EXIT_CALLOUT, in->eip);

	ex->insn = *in;
	ex->stub_off = x->e.off;
	emit_stub(x, ex);
	x->tc->st.callouts[in->op]++;
}

/*
 * A callout bt86.ko can complete itself (a kcall, see tc.h): operands
 * where the kernel looks (r14d the address, r11d a value to store), the
 * kcall word in r10, int3, then the callout exit (mov r11, record; jmp)
 * for a kernel that declines; the block ends with a chainable exit to the
 * next instruction.  Returns false when this instruction is not one the
 * kernel takes (the caller emits a plain callout).
 */
static bool kcall_site(struct xl *x, const struct bt_insn *in, uint32_t lin)
{
	const struct bt_opnd *o = &in->opnd[0];
	uint32_t op, arg = 0;
	int base = H_NONE, index = H_NONE;
	struct tc_exit *ex;

	if (!x->tc->kcalls || x->mode->cpl != 0)
		return false;
	switch (in->op) {
	case BT_MOV_FROM_CR:
		if (o->kind != BT_OPND_REG || o->reg.cls != BT_RC_GPR32 ||
		    in->opnd[1].kind != BT_OPND_REG || in->opnd[1].reg.cls != BT_RC_CR)
			return false;
		op = TC_KCALL_MOV_FROM_CR;
		arg = (uint32_t)in->opnd[1].reg.num << 3 | o->reg.num;
		break;
	case BT_INVLPG:
		if (o->kind != BT_OPND_MEM || o->mem.addr16)
			return false;
		op = TC_KCALL_INVLPG;
		break;
	case BT_HOT_STORE:
		/*
		 * mov to a traced page table: the kernel writes it and zaps.  The
		 * value goes in r11d; ah..bh cannot be moved there without a shift
		 * (which would clobber the flags), so they stay plain callouts.
		 */
		if (!in->is_mov || in->memop != 0 || o->kind != BT_OPND_MEM || o->mem.addr16 ||
		    (o->size != 1 && o->size != 2 && o->size != 4) ||
		    !((in->opnd[1].kind == BT_OPND_REG && in->opnd[1].reg.cls != BT_RC_GPR8H &&
		       xl_gpr_host(&in->opnd[1].reg) != H_NONE) ||
		      in->opnd[1].kind == BT_OPND_IMM))
			return false;
		op = TC_KCALL_STORE;
		arg = o->size;
		break;
	case BT_POP_SEG:
	case BT_MOV_TO_SEG:
		/*
		 * A data segment register loaded (Linux does it on every kernel
		 * entry and exit): the kernel completes it when the base stays,
		 * so the translation mode does.
		 */
		if (o->kind != BT_OPND_REG || o->reg.cls != BT_RC_SEG ||
		    (o->reg.num != S_DS && o->reg.num != S_ES && o->reg.num != S_FS &&
		     o->reg.num != S_GS))
			return false;
		if (in->op == BT_MOV_TO_SEG &&
		    (in->opnd[1].kind != BT_OPND_REG ||
		     (in->opnd[1].reg.cls != BT_RC_GPR16 && in->opnd[1].reg.cls != BT_RC_GPR32)))
			return false;
		if (in->op == BT_POP_SEG && in->opsize != 2 && in->opsize != 4)
			return false;
		op = TC_KCALL_SEG;
		arg = o->reg.num | (in->op == BT_POP_SEG ? in->opsize : 0u) << 3;
		break;
	default:
		return false;
	}
	if (op == TC_KCALL_SEG && in->op == BT_POP_SEG) {
		xl_stack_load(x, 2, H_R11);	/* the selector; ESP moves in the kernel */
	} else if (op == TC_KCALL_SEG) {
		static const uint8_t mov = 0x89;

		emit_reg_op(&x->e, 0, &mov, 1, xl_gpr_host(&in->opnd[1].reg), H_R11);
	}
	if (op == TC_KCALL_INVLPG || op == TC_KCALL_STORE) {
		if (o->mem.base.cls != BT_RC_NONE && (base = xl_gpr_host(&o->mem.base)) == H_NONE)
			return false;
		if (o->mem.index.cls != BT_RC_NONE &&
		    (index = xl_gpr_host(&o->mem.index)) == H_NONE)
			return false;
		emit_lea32(&x->e, H_ADDR, base, index, o->mem.scale ? o->mem.scale : 1,
			   o->mem.disp + (int32_t)x->mode->seg_base[o->mem.seg]);
	}
	if (op == TC_KCALL_STORE && in->opnd[1].kind == BT_OPND_IMM) {
		emit_mov32_imm(&x->e, H_R11, in->opnd[1].imm);
	} else if (op == TC_KCALL_STORE) {
		static const uint8_t mov = 0x89;

		/* The whole register: the kernel takes the low arg bytes (al..bl, ax..). */
		emit_reg_op(&x->e, 0, &mov, 1, xl_gpr_host(&in->opnd[1].reg), H_R11);
	}
	ex = new_exit(x, TC_EXIT_CALLOUT, in->eip);
	ex->insn = *in;
	emit_mov64_imm(&x->e, H_R10, TC_KCALL_MAGIC << 48 | (lin & ~0xfffu) | op << 8 | arg);
	emit_u8(&x->e, 0xcc);					/* int3 */
	/* The callout exit, for a kernel that declines: the record's address right after the int3. */
	ex->stub_off = x->e.off;
	emit_mov64_imm(&x->e, H_R11, (uint64_t)(uintptr_t)ex);
	emit_jmp_mem(&x->e, H_VCPU, H_NONE, 1, BTC_TC_EXIT);
	if (x->e.off - ex->stub_off != TC_KCALL_SKIP)
		x->e.overflow = 1;	/* the kernel would land mid-instruction */
	xl_exit_direct(x, -1, TC_EXIT_END, in->eip + in->len);
	x->tc->st.callouts[in->op]++;
	x->tc->st.kcall_sites++;
	return true;
}

/* Emit the stubs of the chainable exits and point their jumps at them. */
static void finish_stubs(struct xl *x)
{
	for (int i = 0; i < x->b->nexits; i++) {
		struct tc_exit *ex = &x->b->exits[i];

		if (ex->kind == TC_EXIT_CALLOUT)
			continue;
		ex->stub_off = x->e.off;
		emit_patch32(&x->e, ex->jmp_off, ex->stub_off);
		emit_stub(x, ex);
	}
}

/* r10d = low 16 bits of the target in r11d; jmp [ibl_table + r10*8]. */
void bt_emit_ibl_dispatch(struct emitter *e)
{
	static const uint8_t movzx[] = { 0x45, 0x0f, 0xb7, 0xd3 };	/* movzx r10d, r11w */

	emit_bytes(e, movzx, sizeof(movzx));
	emit_load64(e, H_ADDR, H_VCPU, BTC_IBL_TABLE);
	emit_jmp_mem(e, H_ADDR, H_R10, 8, 0);
}

void xl_ibl_dispatch(struct xl *x)
{
	bt_emit_ibl_dispatch(&x->e);
}

int xl_gpr_host(const struct bt_reg *r)
{
	if (r->cls == BT_RC_GPR32 || r->cls == BT_RC_GPR16 || r->cls == BT_RC_GPR8)
		return host_of_guest(r->num);
	return H_NONE;
}

/* lea r14d, [linear address of m]; -1 for forms not translated inline. */
/*
 * 16-bit addressing ([bx+si+disp16] and friends): the sum wraps at 64 KiB
 * before the segment base is added.  movzx truncates without touching the
 * flags.
 */
static int addr16(struct xl *x, const struct bt_mem *m)
{
	static const uint8_t movzx16[] = { 0x45, 0x0f, 0xb7, 0xf6 };	/* movzx r14d, r14w */
	int base = m->base.cls == BT_RC_GPR16 ? host_of_guest(m->base.num) : H_NONE;
	int index = m->index.cls == BT_RC_GPR16 ? host_of_guest(m->index.num) : H_NONE;

	if ((m->base.cls != BT_RC_NONE && base == H_NONE) ||
	    (m->index.cls != BT_RC_NONE && index == H_NONE))
		return -1;
	emit_lea32(&x->e, H_ADDR, base, index, 1, m->disp);
	emit_bytes(&x->e, movzx16, sizeof(movzx16));
	if (x->mode->seg_base[m->seg])
		emit_lea32(&x->e, H_ADDR, H_ADDR, H_NONE, 1, (int32_t)x->mode->seg_base[m->seg]);
	x->slot = (struct bt_hostmem){ H_VIEW, H_ADDR, 1, 0 };
	return 0;
}

int xl_addr(struct xl *x, const struct bt_mem *m, int32_t esp_adjust)
{
	int base = H_NONE, index = H_NONE;
	int32_t disp = m->disp + (int32_t)x->mode->seg_base[m->seg];

	if (m->addr16)
		return addr16(x, m);
	if (m->base.cls == BT_RC_GPR32) {
		base = host_of_guest(m->base.num);
		if (m->base.num == R_ESP)
			disp += esp_adjust;
	} else if (m->base.cls != BT_RC_NONE) {
		return -1;
	}
	if (m->index.cls == BT_RC_GPR32)
		index = host_of_guest(m->index.num);
	else if (m->index.cls != BT_RC_NONE)
		return -1;
	emit_lea32(&x->e, H_ADDR, base, index, m->scale ? m->scale : 1, disp);
	x->slot = (struct bt_hostmem){ H_VIEW, H_ADDR, 1, 0 };
	return 0;
}

/* One instruction on the current slot (x->slot), operand size 2 or 4. */
static void emit_slot_op(struct xl *x, int size, uint8_t opcode, int reg)
{
	uint8_t op[2] = { 0x66, opcode };

	emit_mem_op(&x->e, 0, size == 2 ? op : op + 1, size == 2 ? 2 : 1, reg, x->slot.base,
		    x->slot.index, x->slot.scale, x->slot.disp, 0);
}

/* mov [slot], reg. */
void xl_store_reg(struct xl *x, int size, int hreg)
{
	emit_slot_op(x, size, OP_MOV_STORE, hreg);
}

/* mov reg, [slot]. */
void xl_load_reg(struct xl *x, int size, int hreg)
{
	emit_slot_op(x, size, OP_MOV_LOAD, hreg);
}

void xl_store_imm(struct xl *x, int size, uint32_t imm)
{
	emit_slot_op(x, size, 0xc7, 0);		/* mov r/m, imm */
	if (size == 2) {
		emit_u8(&x->e, (uint8_t)imm);
		emit_u8(&x->e, (uint8_t)(imm >> 8));
	} else {
		emit_u32(&x->e, imm);
	}
}

bool xl_wraps_here(struct xl *x)
{
	return x->tc->host.wraps && x->tc->host.wraps(x->tc->host.opaque, x->cur_phys);
}

/* First opcode byte after the legacy prefixes. */
uint8_t xl_first_opcode(const struct bt_insn *in)
{
	for (int i = 0; i < in->len; i++) {
		switch (in->bytes[i]) {
		case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
			continue;
		default:
			return in->bytes[i];
		}
	}
	return 0;
}

/*
 * Can the guest operand be addressed in one host operand, [r15 + reg*scale +
 * disp]?  Only with one guest register: the host has room for just one
 * more.  Without the 32-bit wrap of lea the sum can leave the 4 GiB window
 * (up to 34 GiB above it, 2 GiB below); the view reserves that much as a
 * guard, and an instruction that lands there is retranslated with lea
 * (the wraps callback).
 */
static bool direct_operand(struct xl *x, const struct bt_insn *in, struct bt_hostmem *hm)
{
	const struct bt_mem *m = &in->opnd[in->memop].mem;
	int32_t disp = m->disp + (int32_t)x->mode->seg_base[m->seg];
	bool has_base = m->base.cls == BT_RC_GPR32, has_index = m->index.cls == BT_RC_GPR32;

	if (m->addr16 || (m->base.cls != BT_RC_NONE && !has_base) ||
	    (m->index.cls != BT_RC_NONE && !has_index) || (has_base && has_index))
		return false;
	if (!has_base && !has_index) {
		if (disp < 0)
			return false;
		*hm = (struct bt_hostmem){ H_VIEW, H_NONE, 1, disp };
		return true;
	}
	*hm = (struct bt_hostmem){ H_VIEW,
		host_of_guest(has_base ? m->base.num : m->index.num),
		has_base ? 1 : (m->scale ? m->scale : 1), disp };
	return true;
}

/* The high-byte register among the operands (ah..bh), or -1. */
static int high8_gpr(const struct bt_insn *in)
{
	for (int i = 0; i < in->nopnds; i++)
		if (in->opnd[i].kind == BT_OPND_REG && in->opnd[i].reg.cls == BT_RC_GPR8H)
			return in->opnd[i].reg.num;
	return -1;
}

/*
 * Does a register operand (explicit or not) name gpr other than as its high
 * byte?  Address registers do not count: the address is in r14 by then.
 */
static bool uses_gpr(const struct bt_insn *in, int gpr)
{
	for (int i = 0; i < in->nopnds; i++) {
		const struct bt_opnd *o = &in->opnd[i];

		if (o->kind == BT_OPND_REG && o->reg.cls != BT_RC_GPR8H &&
		    o->reg.cls != BT_RC_SEG && o->reg.cls != BT_RC_OTHER && o->reg.num == gpr)
			return true;
	}
	return false;
}

/*
 * Rewrite the arithmetic flags with themselves (lahf; sahf, rax kept in
 * r10; neither touches DF).  On hardware a no-op; under qemu's TCG it
 * turns a flags state with junk outside OSZAPC into a clean one, before
 * a pushfq at the next exit (or an exception frame) could carry the junk
 * - DF among it - into the guest's flags.
 */
static void emit_launder_flags(struct emitter *e)
{
	emit_mov64(e, H_R10, H_RAX);
	emit_u8(e, 0x9f);			/* lahf */
	emit_u8(e, 0x9e);			/* sahf */
	emit_mov64(e, H_RAX, H_R10);
}

/*
 * Copy or re-encode an ordinary instruction.  Register-only forms that mean
 * the same in 64-bit mode are copied byte for byte (IDENT); the rest go
 * through the encoder with the memory operand moved into the view.
 */
static int xl_ident(struct xl *x, const struct bt_insn *in, struct tc_map *m)
{
	uint8_t buf[16];
	uint8_t opc = xl_first_opcode(in);
	/* lea is never copied: its [disp32] form means [rip + disp32] on the host. */
	bool raw = !in->has_mem && !in->uses_esp && !(opc >= 0x40 && opc <= 0x4f) &&
		   opc != 0x82 && !in->agen;
	struct bt_hostmem hm = { H_VIEW, H_ADDR, 1, 0 };
	int n, hi;

	if (in->vex || (in->fpu_sse && x->mode->fpu_trap))
		return -1;
	if (in->fpu_sse && !x->fpu_checked) {
		emit_fpu_check(x);
		x->fpu_checked = true;
	}
	if (raw) {
		emit_bytes(&x->e, in->bytes, in->blen);
		return 0;
	}
	if (in->agen && in->addrsize != 4)
		return -1;
	if (in->agen && in->opnd[1].mem.base.cls == BT_RC_NONE &&
	    in->opnd[1].mem.index.cls == BT_RC_NONE) {
		/* lea r, [disp32]: in 64-bit mode that encoding is RIP-relative. */
		if (in->opsize != 4 || in->opnd[0].reg.cls != BT_RC_GPR32)
			return -1;
		emit_mov32_imm(&x->e, host_of_guest(in->opnd[0].reg.num),
			       (uint32_t)in->opnd[1].mem.disp);
		return 0;
	}
	if (in->has_mem && (xl_wraps_here(x) || !direct_operand(x, in, &hm))) {
		if (xl_addr(x, &in->opnd[in->memop].mem, 0) < 0)
			return -1;
		hm = (struct bt_hostmem){ H_VIEW, H_ADDR, 1, 0 };
	}
	n = bt_reencode(in, false, &hm, buf, sizeof(buf));
	if (n > 0) {
		emit_bytes(&x->e, buf, (unsigned)n);
		if (in->launder_flags)
			emit_launder_flags(&x->e);
		return 0;
	}
	/*
	 * ah..bh cannot be encoded next to r14/r15 (any REX prefix turns them
	 * into spl..dil).  Swap the byte into the low half, run the low-byte
	 * form, swap back; xchg leaves the flags alone.
	 */
	hi = high8_gpr(in);
	if (hi < 0 || uses_gpr(in, hi))
		return -1;
	if (in->has_mem && hm.index != H_ADDR) {
		/* The swap would move an address register: take the address first. */
		if (xl_addr(x, &in->opnd[in->memop].mem, 0) < 0)
			return -1;
		hm = (struct bt_hostmem){ H_VIEW, H_ADDR, 1, 0 };
	}
	n = bt_reencode(in, true, &hm, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	{
		uint8_t xchg[2] = { 0x86, (uint8_t)(0xc0 | ((hi + 4) << 3) | hi) };

		emit_bytes(&x->e, xchg, 2);
		m->fixup = TC_FIX_HSWAP;
		m->aux = (uint8_t)hi;
		emit_bytes(&x->e, buf, (unsigned)n);
		emit_bytes(&x->e, xchg, 2);
	}
	return 0;
}

/* mov r14d, [r13 + page]: a load that faults when the monitor wants it to. */
void xl_probe(struct xl *x, int32_t page)
{
	emit_mem_op(&x->e, 0, &OP_MOV_LOAD, 1, H_ADDR, H_VCPU, H_NONE, 1, page, 0);
}

/*
 * Before a block's first x87/SSE instruction: load the guest's FPU image
 * unless it is loaded already (monitor/glue.S, lazy FPU switching).
 *   mov r10, rcx; movzx ecx, byte [r13+fpu_loaded]; jrcxz load; jmp done;
 *   load: call [r13+fpu_load]; done: mov rcx, r10
 */
static void emit_fpu_check(struct xl *x)
{
	static const uint8_t movzx8[] = { 0x0f, 0xb6 };
	static const uint8_t call_mem = 0xff;

	emit_bytes(&x->e, (const uint8_t[]){ 0x49, 0x89, 0xca }, 3);		/* mov r10, rcx */
	emit_mem_op(&x->e, 0, movzx8, 2, H_RCX, H_VCPU, H_NONE, 1, BTC_FPU_LOADED, 0);
	emit_bytes(&x->e, (const uint8_t[]){ 0xe3, 0x02, 0xeb, 0x07 }, 4);	/* jrcxz +2; jmp +7 */
	emit_mem_op(&x->e, 0, &call_mem, 1, 2, H_VCPU, H_NONE, 1, BTC_FPU_LOAD, 0);
	emit_bytes(&x->e, (const uint8_t[]){ 0x4c, 0x89, 0xd1 }, 3);		/* mov rcx, r10 */
}

/* Instruction classes handled by a callout into the monitor. */
static bool needs_monitor(const struct bt_insn *in)
{
	switch (in->op) {
	case BT_OTHER: case BT_JMP_REL: case BT_JCC_REL: case BT_CALL_REL: case BT_RET:
	case BT_JMP_IND: case BT_CALL_IND: case BT_LOOP: case BT_LOOPE: case BT_LOOPNE:
	case BT_JCXZ: case BT_PUSH: case BT_POP: case BT_LEAVE:
	case BT_PUSH_SEG: case BT_PUSHA: case BT_POPA:
	case BT_MOVS: case BT_STOS: case BT_LODS: case BT_CMPS: case BT_SCAS:
		return false;
	default:
		return true;
	}
}

/*
 * Translate one instruction.  Returns 0 to go on, 1 when it ended the
 * block, -1 when it must be left to the monitor (the caller emits a callout).
 */
static int xl_insn(struct xl *x, const struct bt_insn *in, struct tc_map *m)
{
	if (in->op == BT_CLI || in->op == BT_STI || in->op == BT_PUSHF || in->op == BT_POPF)
		return xl_flags_inline(x, in, m);
	if (in->op == BT_RDTSC && x->mode->tsc_raw) {
		/* The virtual TSC is the host's while the guest has not moved it. */
		emit_bytes(&x->e, in->bytes, in->blen);
		return 0;
	}
	if (needs_monitor(in))
		return -1;
	switch (in->op) {
	case BT_JMP_REL:
		if (in->opsize != 4)
			return -1;
		xl_exit_direct(x, -1, TC_EXIT_BRANCH, in->target);
		return 1;
	case BT_JCC_REL:
		if (in->opsize != 4 || xl_jcc_cond(in) < 0)
			return -1;
		xl_exit_direct(x, xl_jcc_cond(in), TC_EXIT_BRANCH, in->target);
		xl_exit_direct(x, -1, TC_EXIT_BRANCH, in->eip + in->len);
		return 1;
	case BT_CALL_REL:
		return xl_call_rel(x, in);
	case BT_RET:
		return xl_ret(x, in);
	case BT_JMP_IND:
		return xl_indirect(x, in, false);
	case BT_CALL_IND:
		return xl_indirect(x, in, true);
	case BT_LOOP: case BT_LOOPE: case BT_LOOPNE: case BT_JCXZ:
		return xl_loop(x, in);
	case BT_PUSH:
		return xl_push(x, in);
	case BT_POP:
		return xl_pop(x, in);
	case BT_LEAVE:
		return xl_leave(x, in);
	case BT_PUSH_SEG:
		return xl_push_seg(x, in);
	case BT_PUSHA:
		return xl_pusha(x, in);
	case BT_POPA:
		return xl_popa(x, in);
	case BT_MOVS: case BT_STOS: case BT_LODS: case BT_CMPS: case BT_SCAS:
		return xl_string(x, in, m);
	default:
		return xl_ident(x, in, m);
	}
}

/* IBL entry: fall into the block only if r11d is this block's EIP. */
static void emit_ibl_entry(struct xl *x)
{
	static const uint8_t save[] = { 0x49, 0x89, 0xca };		/* mov r10, rcx */
	static const uint8_t restore[] = { 0x4c, 0x89, 0xd1 };	/* mov rcx, r10 */
	uint8_t lea[7] = { 0x41, 0x8d, 0x8b };			/* lea ecx, [r11 + disp32] */
	int32_t d = (int32_t)(0u - x->b->eip);

	memcpy(lea + 3, &d, 4);
	emit_bytes(&x->e, save, 3);
	emit_bytes(&x->e, lea, 7);
	emit_u8(&x->e, 0xe3);			/* jrcxz hit */
	emit_u8(&x->e, 3 + 4);			/* over restore + jmp [r13+disp8] */
	emit_bytes(&x->e, restore, 3);
	emit_jmp_mem(&x->e, H_VCPU, H_NONE, 1, BTC_IBL_MISS);
	emit_bytes(&x->e, restore, 3);
	xl_poll_probe(x);	/* indirect branches close cycles too */
}

/* Faults when the monitor wants the guest out at this block boundary. */
void xl_poll_probe(struct xl *x)
{
	xl_probe(x, BTC_POLL);
}

static void trace_block(struct tc *tc, const struct tc_block *b, const struct bt_insn *ins)
{
	char g[96], h[96];

	fprintf(stderr, "-- block eip %08x phys %08x mode %u: %u insns, %u guest -> %u host bytes\n",
		b->eip, b->phys, b->mode, b->ninsn, b->glen, b->code_len);
	for (uint32_t i = 0; i < b->ninsn; i++) {
		const struct tc_map *m = &tc->maps[b->map_idx + i];
		uint32_t start = b->code_off + m->host_off;
		uint32_t end = i + 1 < b->ninsn ?
			       b->code_off + tc->maps[b->map_idx + i + 1].host_off :
			       b->code_off + b->code_len;
		bool first = true;

		bt_format_guest(&ins[i], g, sizeof(g));
		if (start == end)
			fprintf(stderr, "  %08x  %-34s |\n", ins[i].eip, g);
		while (start < end) {
			int len;

			bt_format_host(tc->rx + start, end - start,
				       (uint64_t)(uintptr_t)(tc->rx + start), h, sizeof(h), &len);
			if (first)
				fprintf(stderr, "  %08x  %-34s | %s\n", ins[i].eip, g, h);
			else
				fprintf(stderr, "  %8s  %-34s | %s\n", "", "", h);
			first = false;
			start += (uint32_t)len;
		}
	}
}

struct tc_block *bt_translate(struct tc *tc, uint32_t eip, int mode, bool single,
			     bool *fetch_fault)
{
	static struct bt_insn ins[BT_MAX_BLOCK_INSNS];
	struct timespec t0, t1;
	struct xl x = { .tc = tc, .mode = &tc->modes[mode] };
	struct tc_block *b;
	uint32_t cur = eip, phys0 = 0, phys_last = 0;
	int r = 0;

	*fetch_fault = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (tc->nblocks == tc->max_blocks || tc->size - tc->used < BT_MAX_BLOCK_BYTES ||
	    tc->max_maps - tc->nmaps < BT_MAX_BLOCK_INSNS)
		return NULL;
	b = &tc->blocks[tc->nblocks];
	memset(b, 0, sizeof(*b));
	b->eip = eip;
	b->mode = (uint16_t)mode;
	b->map_idx = (uint32_t)tc->nmaps;
	x.b = b;
	x.e.rw = tc->rw;
	x.e.rx = (uint64_t)(uintptr_t)tc->rx;
	x.e.off = (uint32_t)tc->used;
	x.e.limit = (uint32_t)tc->size;
	b->ind_off = x.e.off;
	emit_ibl_entry(&x);
	b->code_off = x.e.off;

	while (r == 0) {
		uint8_t code[16];
		uint32_t lin = cur + x.mode->seg_base[S_CS], phys;
		size_t avail = tc->host.fetch(tc->host.opaque, lin, code, sizeof(code), &phys);
		struct bt_insn *in = &ins[b->ninsn];
		struct tc_map *m = &tc->maps[tc->nmaps];

		if (avail == 0) {
			if (b->ninsn == 0) {
				*fetch_fault = true;
				return NULL;
			}
			xl_exit_direct(&x, -1, TC_EXIT_END, cur);
			break;
		}
		if (b->ninsn == 0)
			phys0 = phys;
		int dr = bt_decode(code, avail, cur, in);

		if (dr < 0) {
			/* Undecodable, or cut short by the end of fetchable code. */
			memset(in, 0, sizeof(*in));
			in->eip = cur;
			in->op = BT_UD;
			in->len = 1;
			in->blen = 1;
			in->memop = -1;
			in->truncated = dr == -2;
		}
		/* Stay on one guest page, unless it is the block's only instruction. */
		if (b->ninsn > 0 && ((lin & 0xfff) + in->len > 0x1000 ||
				     (phys & ~0xfffu) != (phys0 & ~0xfffu))) {
			xl_exit_direct(&x, -1, TC_EXIT_END, cur);
			break;
		}
		if ((lin & 0xfff) + in->len > 0x1000) {
			uint32_t p2;
			uint8_t tmp[1];

			b->two_pages = tc->host.fetch(tc->host.opaque, lin + in->len - 1, tmp, 1, &p2) > 0;
			phys_last = p2;
		} else {
			phys_last = phys + in->len - 1;
		}
		if (!single && in->has_mem && in->memop >= 0 && in->opnd[in->memop].write &&
		    tc->host.hot_store && tc->host.hot_store(tc->host.opaque, phys)) {
			in->op = BT_HOT_STORE;
			tc->st.hot_stores++;
		}
		x.cur_phys = phys;
		memset(m, 0, sizeof(*m));
		m->host_off = (uint16_t)(x.e.off - b->code_off);
		m->guest_off = (uint16_t)(cur - eip);
		tc->nmaps++;
		b->ninsn++;
		r = xl_insn(&x, in, m);
		if (r < 0) {
			if (single || !kcall_site(&x, in, lin))
				exit_callout(&x, in);
			r = 1;
		} else {
			tc->st.translated[in->op]++;
		}
		cur += in->len;
		if (r == 0 && (b->ninsn == BT_MAX_BLOCK_INSNS || single)) {
			xl_exit_direct(&x, -1, TC_EXIT_END, cur);
			r = 1;
		}
	}
	b->code_len = x.e.off - b->code_off;
	finish_stubs(&x);
	if (x.e.overflow)
		return NULL;
	b->phys = phys0;
	b->phys_end = phys_last;
	b->glen = cur - eip;
	/* A single-step block is run once and never found again. */
	b->valid = !single;
	tc->used = (x.e.off + 15) & ~15u;
	tc->nblocks++;
	tc->st.blocks++;
	tc->st.insns += b->ninsn;
	tc->st.guest_bytes += b->glen;
	tc->st.host_bytes += x.e.off - b->ind_off;
	if (!single)
		tc_insert(tc, b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tc->st.translate_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull +
			       (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	if (tc->trace)
		trace_block(tc, b, ins);
	return b;
}
