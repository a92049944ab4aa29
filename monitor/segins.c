/*
 * segins.c - the segment and descriptor-table instructions: mov/push/pop of
 * segment registers, lds & co, lgdt/lidt/sgdt/sidt, lldt/sldt/ltr/str,
 * smsw/lmsw/clts, lar/lsl/verr/verw, arpl.  The store forms (sgdt, sidt,
 * sldt, str, smsw, mov from a segment register) are the classic red pills:
 * they run at any CPL and must show the guest's own values.
 */
#include <stdio.h>
#include <string.h>

#include "monitor/emul.h"
#include "vmm/vm.h"

static int next(struct vcpu *v, const struct bt_insn *in)
{
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

/* Store a selector-sized value: 16 bits to memory, zero-extended to a register. */
static void store_sel(struct vcpu *v, const struct bt_insn *in, uint32_t val)
{
	emu_write(v, in, 0, in->opnd[0].kind == BT_OPND_MEM ? 2 : in->opnd[0].size, val);
}

static int load_sreg(struct vcpu *v, const struct bt_insn *in, int sreg, uint16_t sel)
{
	if (sreg == S_CS) {
		vcpu_fault(v, EXC_UD, false, 0);
		return EMU_CONTINUE;
	}
	if (seg_load(v, sreg, sel) < 0)
		return EMU_CONTINUE;
	if (sreg == S_SS)
		v->intr_shadow = true;	/* mov ss, then the esp load, as one */
	return next(v, in);
}

static int lxs(struct vcpu *v, const struct bt_insn *in)
{
	static const int sreg_of[] = {
		[BT_LDS] = S_DS, [BT_LES] = S_ES, [BT_LFS] = S_FS, [BT_LGS] = S_GS, [BT_LSS] = S_SS,
	};
	int size = in->opsize == 2 ? 2 : 4;
	uint32_t lin = emu_lin(v, &in->opnd[1].mem), off = 0;
	uint16_t sel = 0;

	vcpu_read(v, lin, &off, (uint32_t)size);
	vcpu_read(v, lin + (uint32_t)size, &sel, 2);
	if (seg_load(v, sreg_of[in->op], sel) < 0)
		return EMU_CONTINUE;
	emu_write(v, in, 0, size, off);
	return next(v, in);
}

static int dtable(struct vcpu *v, const struct bt_insn *in)
{
	struct x86_dtable *t = in->op == BT_LGDT || in->op == BT_SGDT ? &v->gdtr : &v->idtr;
	uint32_t lin = emu_lin(v, &in->opnd[0].mem), base = 0;
	uint16_t limit = 0;

	if (in->op == BT_SGDT || in->op == BT_SIDT) {
		vcpu_write(v, lin, &t->limit, 2);
		vcpu_write(v, lin + 2, &t->base, 4);
		return next(v, in);
	}
	if (!emu_cpl0(v))
		return EMU_CONTINUE;
	vcpu_read(v, lin, &limit, 2);
	vcpu_read(v, lin + 2, &base, 4);
	t->limit = limit;
	t->base = in->opsize == 2 ? base & 0xffffff : base;
	return next(v, in);
}

static int lldt_ltr(struct vcpu *v, const struct bt_insn *in)
{
	uint16_t sel = (uint16_t)emu_read(v, in, 0, 2);
	uint32_t d[2];
	struct x86_seg s;
	bool ltr = in->op == BT_LTR;
	int type;

	if (!emu_cpl0(v))
		return EMU_CONTINUE;
	if ((sel & ~3) == 0) {
		if (ltr) {
			vcpu_fault(v, EXC_GP, true, 0);
			return EMU_CONTINUE;
		}
		memset(&v->ldtr, 0, sizeof(v->ldtr));
		return next(v, in);
	}
	if ((sel & 4) || seg_read_desc(v, sel, d) < 0) {
		vcpu_fault(v, EXC_GP, true, sel & ~3u);
		return EMU_CONTINUE;
	}
	seg_from_desc(&s, sel, d);
	type = s.attr & SEG_ATTR_TYPE_MASK;
	if ((s.attr & SEG_ATTR_S) || (ltr ? type != 0x9 : type != 0x2)) {
		vcpu_fault(v, EXC_GP, true, sel & ~3u);
		return EMU_CONTINUE;
	}
	if (!(s.attr & SEG_ATTR_P)) {
		vcpu_fault(v, EXC_NP, true, sel & ~3u);
		return EMU_CONTINUE;
	}
	if (ltr) {
		/* Mark the TSS busy in the GDT, as the CPU does. */
		d[1] |= 0x2 << 8;
		vcpu_write(v, v->gdtr.base + (sel & ~7u) + 4, &d[1], 4);
		s.attr |= 0x2;
		v->tr = s;
	} else {
		v->ldtr = s;
	}
	return next(v, in);
}

/*
 * lar/lsl/verr/verw: ZF=1 and a result when the descriptor is visible at
 * the current CPL and RPL, ZF=0 otherwise; never a fault for a bad selector.
 */
static int probe(struct vcpu *v, const struct bt_insn *in)
{
	int src = in->op == BT_VERR || in->op == BT_VERW ? 0 : 1;
	uint16_t sel = (uint16_t)emu_read(v, in, src, 2);
	uint32_t d[2];
	struct x86_seg s;
	bool ok = false;
	int type, dpl;

	if ((sel & ~3) && seg_read_desc(v, sel, d) == 0) {
		seg_from_desc(&s, sel, d);
		type = s.attr & SEG_ATTR_TYPE_MASK;
		dpl = (s.attr >> SEG_ATTR_DPL_SHIFT) & 3;
		ok = true;
		if (!(s.attr & SEG_ATTR_S)) {
			/* lar: LDT, TSS and gates; lsl: LDT and TSS; verr/verw: none. */
			bool lar_ok = type == 1 || type == 2 || type == 3 || type == 4 || type == 5 ||
				      type == 9 || type == 0xb || type == 0xc;
			bool lsl_ok = type == 1 || type == 2 || type == 3 || type == 9 || type == 0xb;

			ok = in->op == BT_LAR ? lar_ok : in->op == BT_LSL ? lsl_ok : false;
		}
		/* Conforming code skips the privilege check. */
		if (ok && !((s.attr & SEG_ATTR_S) && (type & 0xc) == 0xc) &&
		    (dpl < v->cpl || dpl < (sel & 3)))
			ok = false;
		if (ok && in->op == BT_VERR)
			ok = (s.attr & SEG_ATTR_S) && (!(type & 0x8) || (type & 0x2));
		if (ok && in->op == BT_VERW)
			ok = (s.attr & SEG_ATTR_S) && !(type & 0x8) && (type & 0x2);
		if (ok && in->op == BT_LAR)
			emu_write(v, in, 0, in->opsize, d[1] & 0x00ffff00);
		if (ok && in->op == BT_LSL)
			emu_write(v, in, 0, in->opsize, s.limit);
	}
	if (ok)
		v->bt.hflags |= X86_EFLAGS_ZF;
	else
		v->bt.hflags &= ~(uint64_t)X86_EFLAGS_ZF;
	return next(v, in);
}

int emu_segment(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	switch (in->op) {
	case BT_MOV_TO_SEG:
		return load_sreg(v, in, in->opnd[0].reg.num, (uint16_t)emu_read(v, in, 1, 2));
	case BT_MOV_FROM_SEG:
		store_sel(v, in, v->seg[in->opnd[1].reg.num].sel);
		return next(v, in);
	case BT_PUSH_SEG: {
		int size = in->opsize == 2 ? 2 : 4;

		/* A 32-bit push of a segment register writes only 16 bits on P6+. */
		v->bt.gpr[R_ESP] -= (uint32_t)size;
		vcpu_write(v, v->seg[S_SS].base + v->bt.gpr[R_ESP],
			   &v->seg[in->opnd[0].reg.num].sel, 2);
		return next(v, in);
	}
	case BT_POP_SEG: {
		int size = in->opsize == 2 ? 2 : 4, sreg = in->opnd[0].reg.num;
		uint32_t esp = v->bt.gpr[R_ESP], after;
		uint16_t sel = (uint16_t)emu_pop(v, size);

		/*
		 * ESP moves only if the load succeeds: a fault must push its
		 * frame below the unpopped selector, as the CPU does.
		 */
		after = v->bt.gpr[R_ESP];
		v->bt.gpr[R_ESP] = esp;
		if (seg_load(v, sreg, sel) < 0)
			return EMU_CONTINUE;
		v->bt.gpr[R_ESP] = after;
		if (sreg == S_SS)
			v->intr_shadow = true;
		return next(v, in);
	}
	case BT_LDS: case BT_LES: case BT_LFS: case BT_LGS: case BT_LSS:
		return lxs(v, in);
	case BT_LGDT: case BT_LIDT: case BT_SGDT: case BT_SIDT:
		return dtable(v, in);
	case BT_LLDT: case BT_LTR:
		return lldt_ltr(v, in);
	case BT_SLDT:
		store_sel(v, in, v->ldtr.sel);
		return next(v, in);
	case BT_STR:
		store_sel(v, in, v->tr.sel);
		return next(v, in);
	case BT_SMSW:
		emu_write(v, in, 0, in->opnd[0].kind == BT_OPND_MEM ? 2 : in->opnd[0].size, v->cr0);
		return next(v, in);
	case BT_LMSW:
		if (!emu_cpl0(v))
			return EMU_CONTINUE;
		/* Only MP, EM, TS and PE; PE can be set but not cleared. */
		v->cr0 = (v->cr0 & ~0xeu) | (emu_read(v, in, 0, 2) & 0xf) | (v->cr0 & 1);
		v->mode_dirty = true;	/* TS/EM decide how FPU code is translated */
		return next(v, in);
	case BT_CLTS:
		if (!emu_cpl0(v))
			return EMU_CONTINUE;
		v->cr0 &= ~X86_CR0_TS;
		v->mode_dirty = true;
		return next(v, in);
	case BT_LAR: case BT_LSL: case BT_VERR: case BT_VERW:
		return probe(v, in);
	case BT_ARPL: {
		uint32_t dst = emu_read(v, in, 0, 2), src = emu_read(v, in, 1, 2);

		if ((dst & 3) < (src & 3)) {
			emu_write(v, in, 0, 2, (dst & ~3u) | (src & 3));
			v->bt.hflags |= X86_EFLAGS_ZF;
		} else {
			v->bt.hflags &= ~(uint64_t)X86_EFLAGS_ZF;
		}
		return next(v, in);
	}
	default:
		break;
	}
	x->kind = VMEXIT_ERROR;
	snprintf(x->error, sizeof(x->error), "no emulation for %s at eip 0x%08x",
		 bt_op_name(in->op), in->eip);
	return EMU_STOP;
}
