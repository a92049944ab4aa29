/* Exception and interrupt delivery through the guest IDT (protected mode). */
#include <stdio.h>
#include <string.h>

#include "monitor/vcpu.h"

#define GATE_TASK	0x5
#define GATE_INT16	0x6
#define GATE_TRAP16	0x7
#define GATE_INT32	0xe
#define GATE_TRAP32	0xf

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "coproc", "#TS",
	"#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM",
};

static int shutdown(struct vcpu *v, const char *fmt, int vector, uint32_t err)
{
	v->shutdown = true;
	snprintf(v->shutdown_why, sizeof(v->shutdown_why), fmt,
		 vector < 32 && exc_names[vector] ? exc_names[vector] : "int", vector, err,
		 v->eip);
	return -1;
}

static int push32(struct vcpu *v, const struct x86_seg *ss, uint32_t *esp, uint32_t val)
{
	*esp -= 4;
	/* The frame goes on the handler's stack with supervisor rights (or user, same level). */
	return vcpu_syswrite(v, ss->base + *esp, &val, 4);
}

/*
 * A fault raised while delivering another event.  For int n/int3/into the
 * fault belongs to the instruction itself and is delivered plainly; for an
 * exception or interrupt it escalates to #DF, and during #DF to shutdown.
 */
static int nested_fault(struct vcpu *v, int vector, bool soft, int vec2, uint32_t err2)
{
	if (v->pf.pending) {
		/* What failed was a page-faulting access to the IDT, GDT, TSS or stack. */
		v->pf.pending = false;
		v->cr2 = v->pf.cr2;
		vec2 = EXC_PF;
		err2 = v->pf.err;
	}
	if (soft)
		return vcpu_deliver(v, vec2, true, err2, false, v->eip);
	if (vector == EXC_DF)
		return shutdown(v, "fault %s (vector %d, error 0x%x) while delivering #DF at "
				"eip 0x%08x: triple fault", vec2, err2);
	v->nested++;
	return vcpu_deliver(v, EXC_DF, true, 0, false, v->eip);
}

int vcpu_deliver(struct vcpu *v, int vector, bool has_err, uint32_t err, bool soft,
		 uint32_t next_eip)
{
	uint32_t gate[2], desc[2], off, esp, eflags = vcpu_eflags(v);
	uint32_t ext = soft ? 0 : 1;	/* EXT bit of error codes: not software-caused */
	struct x86_seg cs, ss = v->seg[S_SS];
	uint16_t sel;
	int type, dpl, new_cpl;

	if (vector < 32)
		v->st.exceptions[vector]++;
	if (!(v->cr0 & X86_CR0_PE))
		return shutdown(v, "%s (vector %d, error 0x%x) at eip 0x%08x in real mode: "
				"real mode is not supported", vector, err);
	if (v->nested > 1)
		return shutdown(v, "%s (vector %d, error 0x%x) at eip 0x%08x: triple fault",
				vector, err);
	if ((uint32_t)vector * 8 + 7 > v->idtr.limit ||
	    vcpu_sysread(v, v->idtr.base + (uint32_t)vector * 8, gate, 8) < 0)
		return nested_fault(v, vector, soft, EXC_GP, (uint32_t)vector * 8 + 2 + ext);
	type = (gate[1] >> 8) & 0x1f;
	dpl = (gate[1] >> 13) & 3;
	if (type == GATE_TASK)
		return shutdown(v, "%s (vector %d, error 0x%x) at eip 0x%08x goes through a task "
				"gate: task switching is not supported", vector, err);
	if (type != GATE_INT32 && type != GATE_TRAP32)
		return nested_fault(v, vector, soft, EXC_GP, (uint32_t)vector * 8 + 2 + ext);
	if (soft && dpl < v->cpl) {
		/* int n to a gate the caller may not use: #GP at the int instruction. */
		return vcpu_deliver(v, EXC_GP, true, (uint32_t)vector * 8 + 2, false, v->eip);
	}
	if (!(gate[1] & 0x8000))
		return nested_fault(v, vector, soft, EXC_NP, (uint32_t)vector * 8 + 2 + ext);
	sel = (uint16_t)(gate[0] >> 16);
	off = (gate[0] & 0xffff) | (gate[1] & 0xffff0000);
	if ((sel & ~3) == 0 || seg_read_desc(v, sel, desc) < 0)
		return nested_fault(v, vector, soft, EXC_GP, (sel & ~3u) + ext);
	seg_from_desc(&cs, sel, desc);
	if (!(cs.attr & SEG_ATTR_S) || !(cs.attr & 0x8) ||
	    ((cs.attr >> SEG_ATTR_DPL_SHIFT) & 3) > v->cpl)
		return nested_fault(v, vector, soft, EXC_GP, (sel & ~3u) + ext);
	if (!(cs.attr & SEG_ATTR_P))
		return nested_fault(v, vector, soft, EXC_NP, (sel & ~3u) + ext);
	new_cpl = (cs.attr & 0x4) ? v->cpl : (cs.attr >> SEG_ATTR_DPL_SHIFT) & 3;
	esp = v->bt.gpr[R_ESP];
	if (new_cpl < v->cpl) {
		uint32_t tss[2], ssdesc[2], old_esp = esp;
		uint16_t new_ss;

		/* Inner stack from the TSS: esp0/ss0 at offsets 4/8, then esp1/ss1... */
		if (!(v->tr.attr & SEG_ATTR_P) || (uint32_t)new_cpl * 8 + 11 > v->tr.limit ||
		    vcpu_sysread(v, v->tr.base + 4 + (uint32_t)new_cpl * 8, tss, 8) < 0)
			return nested_fault(v, vector, soft, EXC_TS, (v->tr.sel & ~3u) + ext);
		new_ss = (uint16_t)tss[1];
		if ((new_ss & ~3) == 0 || seg_read_desc(v, new_ss, ssdesc) < 0)
			return nested_fault(v, vector, soft, EXC_TS, (new_ss & ~3u) + ext);
		seg_from_desc(&ss, new_ss, ssdesc);
		if ((new_ss & 3) != new_cpl || ((ss.attr >> SEG_ATTR_DPL_SHIFT) & 3) != new_cpl ||
		    (ss.attr & 0x8) || !(ss.attr & 0x2))
			return nested_fault(v, vector, soft, EXC_TS, (new_ss & ~3u) + ext);
		if (!(ss.attr & SEG_ATTR_P))
			return nested_fault(v, vector, soft, EXC_SS, (new_ss & ~3u) + ext);
		esp = tss[0];
		push32(v, &ss, &esp, v->seg[S_SS].sel);
		push32(v, &ss, &esp, old_esp);
	}
	push32(v, &ss, &esp, eflags);
	push32(v, &ss, &esp, v->seg[S_CS].sel);
	push32(v, &ss, &esp, next_eip);
	if (has_err)
		push32(v, &ss, &esp, err);
	if (v->pf.pending)
		return nested_fault(v, vector, soft, EXC_PF, 0);	/* the frame did not fit */
	if (new_cpl < v->cpl)
		v->seg[S_SS] = ss;
	cs.sel = (uint16_t)((sel & ~3) | new_cpl);
	v->seg[S_CS] = cs;
	v->cpl = new_cpl;
	v->bt.gpr[R_ESP] = esp;
	v->eip = off;
	eflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF | X86_EFLAGS_VM);
	if (type == GATE_INT32)
		eflags &= ~X86_EFLAGS_IF;
	vcpu_set_eflags(v, eflags);
	v->mode_dirty = true;
	v->nested = 0;
	if (!soft && vector >= 32)
		v->st.interrupts++;
	return 0;
}

int vcpu_fault(struct vcpu *v, int vector, bool has_err, uint32_t err)
{
	return vcpu_deliver(v, vector, has_err, err, false, v->eip);
}
