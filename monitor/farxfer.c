/*
 * farxfer.c - far control transfers (jmp/call/ret far, call gates, iret) and
 * the segment and descriptor-table instructions, with the protected-mode
 * checks of the SDM.  Task switches and virtual-8086 mode are refused with
 * a clear message rather than half done.
 */
#include <stdio.h>
#include <string.h>

#include "monitor/emul.h"
#include "vmm/vm.h"

#define DESC_CODE		0x8
#define DESC_CONFORMING		0x4
#define DESC_READABLE		0x2
#define SYS_LDT			0x2
#define SYS_TSS32_AVAIL		0x9
#define SYS_TSS32_BUSY		0xb
#define SYS_CALLGATE32		0xc

static int gp(struct vcpu *v, uint32_t err)
{
	vcpu_fault(v, EXC_GP, true, err & ~3u);
	return EMU_CONTINUE;
}

static int refuse(struct vm_exit *x, const char *what, uint32_t eip)
{
	x->kind = VMEXIT_ERROR;
	snprintf(x->error, sizeof(x->error), "%s at eip 0x%08x is not supported", what, eip);
	return EMU_STOP;
}

static int dpl_of(const struct x86_seg *s)
{
	return (s->attr >> SEG_ATTR_DPL_SHIFT) & 3;
}

/* Far pointer operand: ptr16:32 immediate, or m16:32 in memory. */
static void far_pointer(struct vcpu *v, const struct bt_insn *in, uint16_t *sel, uint32_t *off)
{
	const struct bt_opnd *o = &in->opnd[0];
	uint32_t lin, size = in->opsize == 2 ? 2 : 4;

	if (o->kind == BT_OPND_PTR) {
		*sel = o->ptr_seg;
		*off = o->ptr_off;
		return;
	}
	lin = emu_lin(v, &o->mem);
	*off = 0;
	vcpu_read(v, lin, off, size);
	*sel = 0;
	vcpu_read(v, lin + size, sel, 2);
}

/* Drop data segments the new (outer) privilege level may not hold. */
static void null_outer_segs(struct vcpu *v)
{
	static const int segs[] = { S_ES, S_DS, S_FS, S_GS };

	for (unsigned i = 0; i < 4; i++) {
		struct x86_seg *s = &v->seg[segs[i]];
		bool conf_code = (s->attr & DESC_CODE) && (s->attr & DESC_CONFORMING);

		if ((s->attr & SEG_ATTR_S) && !conf_code && dpl_of(s) < v->cpl)
			memset(s, 0, sizeof(*s));
	}
}

/* Load SS:ESP for a privilege change; fault and return -1 when invalid. */
static int load_stack(struct vcpu *v, uint16_t ss_sel, int cpl, struct x86_seg *ss, int fault)
{
	uint32_t d[2];

	if ((ss_sel & ~3) == 0 || seg_read_desc(v, ss_sel, d) < 0) {
		vcpu_fault(v, fault, true, ss_sel & ~3u);
		return -1;
	}
	seg_from_desc(ss, ss_sel, d);
	if ((ss_sel & 3) != cpl || dpl_of(ss) != cpl || (ss->attr & DESC_CODE) ||
	    !(ss->attr & 0x2) || !(ss->attr & SEG_ATTR_S)) {
		vcpu_fault(v, fault, true, ss_sel & ~3u);
		return -1;
	}
	if (!(ss->attr & SEG_ATTR_P)) {
		vcpu_fault(v, EXC_SS, true, ss_sel & ~3u);
		return -1;
	}
	return 0;
}

/* call/jmp through a 32-bit call gate (same or more privileged level). */
static int through_gate(struct vcpu *v, const struct bt_insn *in, uint16_t gsel,
			const uint32_t g[2], bool call)
{
	uint16_t sel = (uint16_t)(g[0] >> 16);
	uint32_t off = (g[0] & 0xffff) | (g[1] & 0xffff0000), d[2], nparams = g[1] & 31;
	struct x86_seg cs, ss;
	int gdpl = (g[1] >> 13) & 3, dpl;

	if (gdpl < v->cpl || gdpl < (gsel & 3))
		return gp(v, gsel);
	if (!(g[1] & 0x8000)) {
		vcpu_fault(v, EXC_NP, true, gsel & ~3u);
		return EMU_CONTINUE;
	}
	if ((sel & ~3) == 0 || seg_read_desc(v, sel, d) < 0)
		return gp(v, sel);
	seg_from_desc(&cs, sel, d);
	dpl = dpl_of(&cs);
	if (!(cs.attr & SEG_ATTR_S) || !(cs.attr & DESC_CODE) || dpl > v->cpl ||
	    (!call && !(cs.attr & DESC_CONFORMING) && dpl != v->cpl))
		return gp(v, sel);
	if (!(cs.attr & SEG_ATTR_P)) {
		vcpu_fault(v, EXC_NP, true, sel & ~3u);
		return EMU_CONTINUE;
	}
	if (call && !(cs.attr & DESC_CONFORMING) && dpl < v->cpl) {
		uint32_t tss[2], params[32], old_esp = v->bt.gpr[R_ESP];
		uint16_t old_ss = v->seg[S_SS].sel, old_cs = v->seg[S_CS].sel;
		uint32_t old_ss_base = v->seg[S_SS].base;

		if (vcpu_read(v, v->tr.base + 4 + (uint32_t)dpl * 8, tss, 8) < 0 ||
		    (uint32_t)dpl * 8 + 11 > v->tr.limit) {
			vcpu_fault(v, EXC_TS, true, v->tr.sel & ~3u);
			return EMU_CONTINUE;
		}
		if (load_stack(v, (uint16_t)tss[1], dpl, &ss, EXC_TS) < 0)
			return EMU_CONTINUE;
		for (uint32_t i = 0; i < nparams; i++)
			vcpu_read(v, old_ss_base + old_esp + i * 4, &params[i], 4);
		v->seg[S_SS] = ss;
		v->bt.gpr[R_ESP] = tss[0];
		v->cpl = dpl;
		emu_push(v, old_ss, 4);
		emu_push(v, old_esp, 4);
		for (uint32_t i = nparams; i > 0; i--)
			emu_push(v, params[i - 1], 4);
		emu_push(v, old_cs, 4);
		emu_push(v, emu_next(in), 4);
	} else if (call) {
		emu_push(v, v->seg[S_CS].sel, 4);
		emu_push(v, emu_next(in), 4);
	}
	cs.sel = (uint16_t)((sel & ~3) | v->cpl);
	v->seg[S_CS] = cs;
	v->eip = off;
	v->mode_dirty = true;
	return EMU_CONTINUE;
}

static int far_jmp_call(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	bool call = in->op == BT_CALL_FAR;
	uint16_t sel;
	uint32_t off, d[2];
	struct x86_seg cs;
	int dpl;

	far_pointer(v, in, &sel, &off);
	if ((sel & ~3) == 0 || seg_read_desc(v, sel, d) < 0)
		return gp(v, sel);
	seg_from_desc(&cs, sel, d);
	if (!(cs.attr & SEG_ATTR_S)) {
		int type = cs.attr & SEG_ATTR_TYPE_MASK;

		if (type == SYS_CALLGATE32)
			return through_gate(v, in, sel, d, call);
		if (type == SYS_TSS32_AVAIL || type == 0x5)
			return refuse(x, "a task switch through a far jmp/call", in->eip);
		return gp(v, sel);
	}
	dpl = dpl_of(&cs);
	if (!(cs.attr & DESC_CODE))
		return gp(v, sel);
	if ((cs.attr & DESC_CONFORMING) ? dpl > v->cpl : ((sel & 3) > v->cpl || dpl != v->cpl))
		return gp(v, sel);
	if (!(cs.attr & SEG_ATTR_P)) {
		vcpu_fault(v, EXC_NP, true, sel & ~3u);
		return EMU_CONTINUE;
	}
	if (call) {
		emu_push(v, v->seg[S_CS].sel, in->opsize);
		emu_push(v, emu_next(in), in->opsize);
	}
	cs.sel = (uint16_t)((sel & ~3) | v->cpl);
	v->seg[S_CS] = cs;
	v->eip = in->opsize == 2 ? off & 0xffff : off;
	v->mode_dirty = true;
	return EMU_CONTINUE;
}

/* Load CS for a return to rpl >= cpl; -1 after a fault. */
static int return_cs(struct vcpu *v, uint16_t sel, struct x86_seg *cs)
{
	uint32_t d[2];
	int rpl = sel & 3, dpl;

	if ((sel & ~3) == 0 || seg_read_desc(v, sel, d) < 0 || rpl < v->cpl) {
		vcpu_fault(v, EXC_GP, true, sel & ~3u);
		return -1;
	}
	seg_from_desc(cs, sel, d);
	dpl = dpl_of(cs);
	if (!(cs->attr & SEG_ATTR_S) || !(cs->attr & DESC_CODE) ||
	    ((cs->attr & DESC_CONFORMING) ? dpl > rpl : dpl != rpl)) {
		vcpu_fault(v, EXC_GP, true, sel & ~3u);
		return -1;
	}
	if (!(cs->attr & SEG_ATTR_P)) {
		vcpu_fault(v, EXC_NP, true, sel & ~3u);
		return -1;
	}
	return 0;
}

/*
 * ret far and iret share the tail: CS:EIP (and for iret EFLAGS) are popped;
 * a return to an outer level also pops ESP and SS.
 */
static int far_return(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	bool iret = in->op == BT_IRET;
	int size = in->opsize == 2 ? 2 : 4;
	uint32_t esp0 = v->bt.gpr[R_ESP], eip, flags = 0, imm = 0;
	uint16_t sel;
	struct x86_seg cs, ss;
	int rpl, old_cpl = v->cpl;

	if (iret && (v->bt.vflags & X86_EFLAGS_NT))
		return refuse(x, "iret with NT set (task return)", in->eip);
	if (!iret && in->nopnds && in->opnd[0].kind == BT_OPND_IMM)
		imm = in->opnd[0].imm & 0xffff;
	eip = emu_pop(v, size);
	sel = (uint16_t)emu_pop(v, size);
	if (iret)
		flags = emu_pop(v, size);
	if (iret && (flags & X86_EFLAGS_VM) && old_cpl == 0) {
		v->bt.gpr[R_ESP] = esp0;
		return refuse(x, "iret to virtual-8086 mode", in->eip);
	}
	if (return_cs(v, sel, &cs) < 0) {
		v->bt.gpr[R_ESP] = esp0;
		return EMU_CONTINUE;
	}
	rpl = sel & 3;
	v->bt.gpr[R_ESP] += imm;
	if (rpl > old_cpl) {
		uint32_t new_esp = emu_pop(v, size);
		uint16_t ss_sel = (uint16_t)emu_pop(v, size);

		if (load_stack(v, ss_sel, rpl, &ss, EXC_GP) < 0) {
			v->bt.gpr[R_ESP] = esp0;
			return EMU_CONTINUE;
		}
		v->seg[S_SS] = ss;
		v->bt.gpr[R_ESP] = new_esp + imm;
	}
	v->seg[S_CS] = cs;
	v->cpl = rpl;
	v->eip = size == 2 ? eip & 0xffff : eip;
	if (iret) {
		uint32_t mask = X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF |
				X86_EFLAGS_SF | X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_OF |
				X86_EFLAGS_NT | X86_EFLAGS_RF | X86_EFLAGS_AC | X86_EFLAGS_ID;

		if (old_cpl == 0)
			mask |= X86_EFLAGS_IOPL | X86_EFLAGS_VIF | X86_EFLAGS_VIP;
		if (old_cpl <= emu_iopl(v))
			mask |= X86_EFLAGS_IF;
		if (size == 2)
			mask &= 0xffff;
		vcpu_set_eflags(v, (vcpu_eflags(v) & ~mask) | (flags & mask));
	}
	if (rpl > old_cpl)
		null_outer_segs(v);
	v->mode_dirty = true;
	return EMU_CONTINUE;
}

int emu_far(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	if (in->op == BT_JMP_FAR || in->op == BT_CALL_FAR)
		return far_jmp_call(v, in, x);
	return far_return(v, in, x);
}
