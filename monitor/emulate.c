/*
 * emulate.c - the callouts: privileged and sensitive instructions, done by
 * the monitor on the vCPU state with the semantics the guest would see on
 * real hardware at its virtual CPL (DESIGN.md §3).
 */
#include <stdio.h>
#include <string.h>
#include <x86intrin.h>

#include "monitor/cpuid.h"
#include "monitor/emul.h"
#include "vmm/vm.h"

#define MSR_IA32_TSC		0x010
#define MSR_IA32_APIC_BASE	0x01b
#define MSR_IA32_BIOS_SIGN_ID	0x08b	/* microcode revision: reads 0, writes ignored */
#define MSR_IA32_MTRRCAP	0x0fe
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_IA32_PAT		0x277
#define MSR_MTRR_DEF_TYPE	0x2ff

uint32_t emu_gpr(const struct vcpu *v, const struct bt_reg *r)
{
	uint32_t g = v->bt.gpr[r->num & 7];

	switch (r->cls) {
	case BT_RC_GPR8: return g & 0xff;
	case BT_RC_GPR8H: return (g >> 8) & 0xff;
	case BT_RC_GPR16: return g & 0xffff;
	default: return g;
	}
}

void emu_set_gpr(struct vcpu *v, const struct bt_reg *r, uint32_t val)
{
	uint32_t *g = &v->bt.gpr[r->num & 7];

	switch (r->cls) {
	case BT_RC_GPR8: *g = (*g & ~0xffu) | (val & 0xff); break;
	case BT_RC_GPR8H: *g = (*g & ~0xff00u) | ((val & 0xff) << 8); break;
	case BT_RC_GPR16: *g = (*g & ~0xffffu) | (val & 0xffff); break;
	default: *g = val; break;
	}
}

uint32_t emu_lin(const struct vcpu *v, const struct bt_mem *m)
{
	uint32_t ea = (uint32_t)m->disp;

	if (m->base.cls != BT_RC_NONE)
		ea += emu_gpr(v, &m->base);
	if (m->index.cls != BT_RC_NONE)
		ea += emu_gpr(v, &m->index) * (m->scale ? m->scale : 1);
	if (m->addr16)
		ea &= 0xffff;
	return ea + v->seg[m->seg].base;
}

uint32_t emu_read(struct vcpu *v, const struct bt_insn *in, int i, int size)
{
	const struct bt_opnd *o = &in->opnd[i];
	uint32_t val = 0;

	switch (o->kind) {
	case BT_OPND_REG:
		return emu_gpr(v, &o->reg);
	case BT_OPND_MEM:
		vcpu_read(v, emu_lin(v, &o->mem), &val, (uint32_t)size);
		return val;
	case BT_OPND_IMM:
		return o->imm;
	default:
		return 0;
	}
}

void emu_write(struct vcpu *v, const struct bt_insn *in, int i, int size, uint32_t val)
{
	const struct bt_opnd *o = &in->opnd[i];

	if (o->kind == BT_OPND_REG)
		emu_set_gpr(v, &o->reg, val);
	else if (o->kind == BT_OPND_MEM)
		vcpu_write(v, emu_lin(v, &o->mem), &val, (uint32_t)size);
}

void emu_push(struct vcpu *v, uint32_t val, int size)
{
	v->bt.gpr[R_ESP] -= (uint32_t)size;
	vcpu_write(v, v->seg[S_SS].base + v->bt.gpr[R_ESP], &val, (uint32_t)size);
}

uint32_t emu_pop(struct vcpu *v, int size)
{
	uint32_t val = 0;

	vcpu_read(v, v->seg[S_SS].base + v->bt.gpr[R_ESP], &val, (uint32_t)size);
	v->bt.gpr[R_ESP] += (uint32_t)size;
	return val;
}

bool emu_cpl0(struct vcpu *v)
{
	if (v->cpl == 0)
		return true;
	vcpu_fault(v, EXC_GP, true, 0);
	return false;
}

/* May the guest touch [port, port+size) at its CPL?  IOPL, then the TSS bitmap. */
static bool io_allowed(struct vcpu *v, uint16_t port, int size)
{
	uint16_t base, bits;
	int type = v->tr.attr & SEG_ATTR_TYPE_MASK;

	if (v->cpl <= emu_iopl(v))
		return true;
	if (!(v->tr.attr & SEG_ATTR_P) || (type != 0x9 && type != 0xb) || v->tr.limit < 103)
		return false;
	if (vcpu_read(v, v->tr.base + 102, &base, 2) < 0 ||
	    (uint32_t)base + port / 8 + 1 > v->tr.limit ||
	    vcpu_read(v, v->tr.base + base + port / 8, &bits, 2) < 0)
		return false;
	return ((bits >> (port & 7)) & ((1u << size) - 1)) == 0;
}

static int emu_io(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	bool is_in = in->op == BT_IN || in->op == BT_INS;
	bool string = in->op == BT_INS || in->op == BT_OUTS;
	int size = string ? in->opsize : in->opnd[is_in ? 0 : 1].size;
	uint16_t port;
	uint32_t count = 1;

	if (in->opnd[is_in ? 1 : 0].kind == BT_OPND_IMM)
		port = (uint16_t)in->opnd[is_in ? 1 : 0].imm;
	else
		port = (uint16_t)v->bt.gpr[R_EDX];
	if (string && !in->opnd[is_in ? 1 : 0].visible)
		port = (uint16_t)v->bt.gpr[R_EDX];
	if (size != 1 && size != 2 && size != 4)
		size = 1;
	if (!io_allowed(v, port, size)) {
		vcpu_fault(v, EXC_GP, true, 0);
		return EMU_CONTINUE;
	}
	v->io.is_in = is_in;
	v->io.string = string;
	v->io.port = port;
	v->io.size = (uint8_t)size;
	if (string) {
		int32_t step = (v->bt.hflags & X86_EFLAGS_DF) ? -size : size;

		if (in->has_rep) {
			count = v->bt.gpr[R_ECX];
			if (count == 0) {
				v->eip = emu_next(in);
				return EMU_CONTINUE;
			}
			if (count > VCPU_IO_BUF / (uint32_t)size)
				count = VCPU_IO_BUF / (uint32_t)size;
			v->bt.gpr[R_ECX] -= count;
		}
		if (!is_in) {
			uint32_t src = v->bt.gpr[R_ESI];
			int seg = in->opnd[1].kind == BT_OPND_MEM ? in->opnd[1].mem.seg : S_DS;

			for (uint32_t i = 0; i < count; i++, src += (uint32_t)step)
				vcpu_read(v, v->seg[seg].base + src, v->io.buf + i * size,
					  (uint32_t)size);
			v->bt.gpr[R_ESI] = src;
		}
		/* rep with work left: come back to the same instruction. */
		v->eip = in->has_rep && v->bt.gpr[R_ECX] ? in->eip : emu_next(in);
	} else {
		uint32_t eax = v->bt.gpr[R_EAX];

		memcpy(v->io.buf, &eax, 4);
		v->eip = emu_next(in);
	}
	v->io.count = count;
	v->io.pending = true;
	x->kind = VMEXIT_IO;
	x->io.port = port;
	x->io.size = (uint8_t)size;
	x->io.is_write = !is_in;
	x->io.count = count;
	x->io.data = v->io.buf;
	return EMU_EXIT;
}

static int emu_popf(struct vcpu *v, const struct bt_insn *in)
{
	int size = in->opsize;
	uint32_t old = vcpu_eflags(v), val = emu_pop(v, size), mask;

	/* What popf may change: never VM/RF/VIP/VIF; IOPL at CPL 0; IF at CPL <= IOPL. */
	mask = X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | X86_EFLAGS_SF |
	       X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_OF | X86_EFLAGS_NT | X86_EFLAGS_AC |
	       X86_EFLAGS_ID;
	if (v->cpl == 0)
		mask |= X86_EFLAGS_IOPL;
	if (v->cpl <= emu_iopl(v))
		mask |= X86_EFLAGS_IF;
	if (size == 2)
		mask &= 0xffff;
	vcpu_set_eflags(v, (old & ~mask) | (val & mask));
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

static uint64_t guest_tsc(const struct vcpu *v)
{
	return __rdtsc() + (uint64_t)v->tsc_offset;
}

static int emu_msr(struct vcpu *v, const struct bt_insn *in)
{
	uint32_t idx = v->bt.gpr[R_ECX];
	uint64_t val = ((uint64_t)v->bt.gpr[R_EDX] << 32) | v->bt.gpr[R_EAX];
	bool wr = in->op == BT_WRMSR;
	uint64_t *reg = NULL, rd = 0;

	if (!emu_cpl0(v))
		return EMU_CONTINUE;
	switch (idx) {
	case MSR_IA32_TSC:
		if (wr) {
			v->tsc_offset = (int64_t)(val - __rdtsc());
			v->mode_dirty = true;	/* rdtsc can no longer run natively */
		}
		rd = guest_tsc(v);
		break;
	case MSR_IA32_SYSENTER_CS: reg = &v->msr_sysenter_cs; break;
	case MSR_IA32_SYSENTER_ESP: reg = &v->msr_sysenter_esp; break;
	case MSR_IA32_SYSENTER_EIP: reg = &v->msr_sysenter_eip; break;
	case MSR_IA32_PAT: reg = &v->msr_pat; break;
	case MSR_IA32_MISC_ENABLE: reg = &v->msr_misc_enable; break;
	case MSR_IA32_BIOS_SIGN_ID:
		break;
	case MSR_IA32_MTRRCAP:
	case MSR_MTRR_DEF_TYPE:
		if (wr && val) {
			vcpu_fault(v, EXC_GP, true, 0);
			return EMU_CONTINUE;
		}
		break;
	default:
		/* Not in the virtual CPU model (including APIC_BASE: no APIC). */
		vcpu_fault(v, EXC_GP, true, 0);
		return EMU_CONTINUE;
	}
	if (reg) {
		if (wr)
			*reg = val;
		rd = *reg;
	}
	if (!wr) {
		v->bt.gpr[R_EAX] = (uint32_t)rd;
		v->bt.gpr[R_EDX] = (uint32_t)(rd >> 32);
	}
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

static int emu_mov_cr(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	bool to = in->op == BT_MOV_TO_CR;
	int cr = in->opnd[to ? 0 : 1].reg.num;
	uint32_t val;

	if (!emu_cpl0(v))
		return EMU_CONTINUE;
	if (!to) {
		uint32_t crs[5] = { v->cr0, 0, v->cr2, v->cr3, v->cr4 };

		if (cr == 1 || cr > 4) {
			vcpu_fault(v, EXC_UD, false, 0);
			return EMU_CONTINUE;
		}
		emu_write(v, in, 0, 4, crs[cr]);
		v->eip = emu_next(in);
		return EMU_CONTINUE;
	}
	val = emu_read(v, in, 1, 4);
	switch (cr) {
	case 0:
		if (((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
		    ((val & X86_CR0_NW) && !(val & X86_CR0_CD))) {
			vcpu_fault(v, EXC_GP, true, 0);
			return EMU_CONTINUE;
		}
		if (!(val & X86_CR0_PE)) {
			x->kind = VMEXIT_ERROR;
			snprintf(x->error, sizeof(x->error), "guest leaves protected mode at eip "
				 "0x%08x: real mode is not supported", in->eip);
			return EMU_STOP;
		}
		if ((val ^ v->cr0) & (X86_CR0_TS | X86_CR0_EM))
			v->mode_dirty = true;	/* FPU instructions trap differently */
		vcpu_set_control(v, val | X86_CR0_ET, v->cr3, v->cr4);
		break;
	case 2:
		v->cr2 = val;
		break;
	case 3:
		vcpu_set_control(v, v->cr0, val, v->cr4);
		break;
	case 4:
		if (val & ~(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
			    X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT |
			    X86_CR4_MCE)) {
			vcpu_fault(v, EXC_GP, true, 0);
			return EMU_CONTINUE;
		}
		vcpu_set_control(v, v->cr0, v->cr3, val);
		v->mode_dirty = true;	/* CR4.TSD decides how rdtsc is translated */
		break;
	default:
		vcpu_fault(v, EXC_UD, false, 0);
		return EMU_CONTINUE;
	}
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

static int emu_hlt(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	if (!emu_cpl0(v))
		return EMU_CONTINUE;
	v->eip = emu_next(in);
	x->kind = VMEXIT_HLT;
	x->hlt.halted_forever = !v->bt.vif;
	return EMU_EXIT;
}

static int emu_cpuid(struct vcpu *v, const struct bt_insn *in)
{
	uint32_t r[4];

	cpuid_query(v->bt.gpr[R_EAX], v->bt.gpr[R_ECX], false, r);
	v->bt.gpr[R_EAX] = r[0];
	v->bt.gpr[R_EBX] = r[1];
	v->bt.gpr[R_ECX] = r[2];
	v->bt.gpr[R_EDX] = r[3];
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

/* Raise the #PF a fetch of the 15 bytes at lin would take; false if none. */
static bool code_fetch_faults(struct vcpu *v, uint32_t lin)
{
	uint32_t phys, err, next = (lin + 15) & ~0xfffu;

	if ((lin & ~0xfffu) == next)
		return false;
	if (smmu_translate(&v->mmu, next, v->cpl == 3 ? WALK_USER : 0, &phys, &err) == 0)
		return false;
	v->cr2 = next;
	vcpu_fault(v, EXC_PF, true, err);
	return true;
}

static int emu_pusha(struct vcpu *v, const struct bt_insn *in)
{
	int size = in->opsize;
	uint32_t esp = v->bt.gpr[R_ESP];

	if (in->op == BT_PUSHA) {
		for (int r = R_EAX; r <= R_EDI; r++)
			emu_push(v, r == R_ESP ? esp : v->bt.gpr[r], size);
	} else {
		for (int r = R_EDI; r >= R_EAX; r--) {
			uint32_t val = emu_pop(v, size);
			struct bt_reg reg = { size == 2 ? BT_RC_GPR16 : BT_RC_GPR32, (uint8_t)r };

			if (r != R_ESP)
				emu_set_gpr(v, &reg, val);
		}
	}
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

static int emu_enter(struct vcpu *v, const struct bt_insn *in)
{
	uint32_t alloc = in->opnd[0].imm & 0xffff, level = in->opnd[1].imm & 31;
	uint32_t frame;

	emu_push(v, v->bt.gpr[R_EBP], 4);
	frame = v->bt.gpr[R_ESP];
	for (uint32_t i = 1; i < level; i++) {
		uint32_t val = 0;

		v->bt.gpr[R_EBP] -= 4;
		vcpu_read(v, v->seg[S_SS].base + v->bt.gpr[R_EBP], &val, 4);
		emu_push(v, val, 4);
	}
	if (level)
		emu_push(v, frame, 4);
	v->bt.gpr[R_EBP] = frame;
	v->bt.gpr[R_ESP] -= alloc;
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

/* Set ZF/SF/PF from an 8-bit result, the way the BCD instructions do. */
static void set_szp8(struct vcpu *v, uint8_t r)
{
	uint64_t f = v->bt.hflags & ~(uint64_t)(X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_PF);

	if (!r)
		f |= X86_EFLAGS_ZF;
	if (r & 0x80)
		f |= X86_EFLAGS_SF;
	if (!(__builtin_popcount(r) & 1))
		f |= X86_EFLAGS_PF;
	v->bt.hflags = f;
}

static void set_flag(struct vcpu *v, uint32_t flag, bool on)
{
	if (on)
		v->bt.hflags |= flag;
	else
		v->bt.hflags &= ~(uint64_t)flag;
}

/* The ASCII/decimal adjust family, as the SDM pseudo-code defines them. */
static int emu_bcd(struct vcpu *v, const struct bt_insn *in)
{
	uint32_t *a = &v->bt.gpr[R_EAX];
	uint8_t al = (uint8_t)*a, ah = (uint8_t)(*a >> 8), old_al = al;
	bool af = v->bt.hflags & X86_EFLAGS_AF, cf = v->bt.hflags & X86_EFLAGS_CF;
	uint8_t base = in->nopnds && in->opnd[0].kind == BT_OPND_IMM ? (uint8_t)in->opnd[0].imm : 10;

	switch (in->op) {
	case BT_AAA:
	case BT_AAS:
		if ((al & 0xf) > 9 || af) {
			uint16_t ax = (uint16_t)*a;

			ax = in->op == BT_AAA ? (uint16_t)(ax + 0x106) : (uint16_t)(ax - 6);
			if (in->op == BT_AAS)
				ax = (uint16_t)((ax & 0xff) | ((((ax >> 8) - 1) & 0xff) << 8));
			*a = (*a & 0xffff0000) | ax;
			af = cf = true;
		} else {
			af = cf = false;
		}
		*a = (*a & 0xffffff00) | (*a & 0x0f);	/* AL keeps its low nibble */
		set_flag(v, X86_EFLAGS_AF, af);
		set_flag(v, X86_EFLAGS_CF, cf);
		break;
	case BT_DAA:
	case BT_DAS: {
		bool up = in->op == BT_DAA;
		bool ncf = false;

		if ((al & 0xf) > 9 || af) {
			ncf = cf || (up ? al > 0xf9 : al < 6);
			al = up ? (uint8_t)(al + 6) : (uint8_t)(al - 6);
			af = true;
		} else {
			af = false;
		}
		if (old_al > 0x99 || cf) {
			al = up ? (uint8_t)(al + 0x60) : (uint8_t)(al - 0x60);
			ncf = true;
		}
		*a = (*a & 0xffffff00) | al;
		set_flag(v, X86_EFLAGS_AF, af);
		set_flag(v, X86_EFLAGS_CF, ncf);
		set_szp8(v, al);
		break;
	}
	case BT_AAM:
		if (base == 0) {
			vcpu_fault(v, EXC_DE, false, 0);
			return EMU_CONTINUE;
		}
		ah = al / base;
		al = al % base;
		*a = (*a & 0xffff0000) | ((uint32_t)ah << 8) | al;
		set_szp8(v, al);
		break;
	case BT_AAD:
		al = (uint8_t)(al + ah * base);
		*a = (*a & 0xffff0000) | al;
		set_szp8(v, al);
		break;
	case BT_SALC:
		*a = (*a & 0xffffff00) | (cf ? 0xff : 0);
		break;
	case BT_XLAT: {
		uint32_t addr = v->bt.gpr[R_EBX] + al;
		int seg = in->nopnds && in->opnd[1].kind == BT_OPND_MEM ? in->opnd[1].mem.seg : S_DS;
		uint8_t val = 0;

		vcpu_read(v, v->seg[seg].base + addr, &val, 1);
		*a = (*a & 0xffffff00) | val;
		break;
	}
	default:
		break;
	}
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

static int emu_bound(struct vcpu *v, const struct bt_insn *in)
{
	int32_t idx = (int32_t)emu_gpr(v, &in->opnd[0].reg), lo = 0, hi = 0;
	uint32_t lin = emu_lin(v, &in->opnd[1].mem);

	vcpu_read(v, lin, &lo, 4);
	vcpu_read(v, lin + 4, &hi, 4);
	if (idx < lo || idx > hi) {
		vcpu_fault(v, EXC_BR, false, 0);
		return EMU_CONTINUE;
	}
	v->eip = emu_next(in);
	return EMU_CONTINUE;
}

static int emulate_one(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	uint32_t lin;

	switch (in->op) {
	case BT_CLI:
	case BT_STI:
		if (v->cpl > emu_iopl(v)) {
			vcpu_fault(v, EXC_GP, true, 0);
			return EMU_CONTINUE;
		}
		if (in->op == BT_STI && !v->bt.vif)
			v->intr_shadow = true;
		v->bt.vif = in->op == BT_STI;
		v->eip = emu_next(in);
		return EMU_CONTINUE;
	case BT_PUSHF:
		emu_push(v, vcpu_eflags(v) & ~(X86_EFLAGS_VM | X86_EFLAGS_RF), in->opsize);
		v->eip = emu_next(in);
		return EMU_CONTINUE;
	case BT_POPF:
		return emu_popf(v, in);
	case BT_HLT:
		return emu_hlt(v, in, x);
	case BT_IN: case BT_OUT: case BT_INS: case BT_OUTS:
		return emu_io(v, in, x);
	case BT_MOV_TO_CR: case BT_MOV_FROM_CR:
		return emu_mov_cr(v, in, x);
	case BT_MOV_TO_DR: case BT_MOV_FROM_DR:
		if (!emu_cpl0(v))
			return EMU_CONTINUE;
		if (in->op == BT_MOV_TO_DR)
			v->dr[in->opnd[0].reg.num & 7] = emu_read(v, in, 1, 4);
		else
			emu_write(v, in, 0, 4, v->dr[in->opnd[1].reg.num & 7]);
		v->eip = emu_next(in);
		return EMU_CONTINUE;
	case BT_CPUID:
		return emu_cpuid(v, in);
	case BT_RDTSC: case BT_RDTSCP:
		if ((v->cr4 & X86_CR4_TSD) && v->cpl) {
			vcpu_fault(v, EXC_GP, true, 0);
			return EMU_CONTINUE;
		}
		if (in->op == BT_RDTSCP) {
			vcpu_fault(v, EXC_UD, false, 0);	/* not in the CPU model */
			return EMU_CONTINUE;
		}
		{
			uint64_t t = guest_tsc(v);

			v->bt.gpr[R_EAX] = (uint32_t)t;
			v->bt.gpr[R_EDX] = (uint32_t)(t >> 32);
		}
		v->eip = emu_next(in);
		return EMU_CONTINUE;
	case BT_RDMSR: case BT_WRMSR:
		return emu_msr(v, in);
	case BT_INVD: case BT_WBINVD:
		if (!emu_cpl0(v))
			return EMU_CONTINUE;
		v->eip = emu_next(in);
		return EMU_CONTINUE;
	case BT_INVLPG:
		if (!emu_cpl0(v))
			return EMU_CONTINUE;
		lin = emu_lin(v, &in->opnd[0].mem);
		smmu_invlpg(&v->mmu, lin);
		/* Only a page some IBL entry leads into can make that entry stale. */
		if (tc_ibl_page(&v->tc, lin))
			tc_ibl_flush(&v->tc);
		v->eip = emu_next(in);
		return EMU_CONTINUE;
	case BT_RDPMC:
		vcpu_fault(v, EXC_GP, true, 0);		/* no performance counters */
		return EMU_CONTINUE;
	case BT_UD:
		if (in->truncated) {
			/*
			 * The bytes ran out at a page the CPU could not fetch: that is a
			 * #PF, and once the guest maps the page the instruction is whole.
			 * Either way this translation is stale.
			 */
			uint32_t lin = in->eip + v->seg[S_CS].base, phys = 0;
			uint8_t code[16];
			size_t got = umem_fetch(v, lin, code, 15, &phys);

			tc_invalidate_phys(&v->tc, phys & ~0xfffu, 4096);
			v->last_exit = NULL;
			if (got == 15 || code_fetch_faults(v, lin))
				return EMU_CONTINUE;
		}
		vcpu_fault(v, EXC_UD, false, 0);
		return EMU_CONTINUE;
	case BT_SYSENTER: case BT_SYSEXIT: case BT_SYSCALL: case BT_SYSRET:
		/* SEP is hidden from CPUID; the rest do not exist on a P6 in 32-bit mode. */
		vcpu_fault(v, EXC_UD, false, 0);
		return EMU_CONTINUE;
	case BT_PUSHA: case BT_POPA:
		return emu_pusha(v, in);
	case BT_ENTER:
		return emu_enter(v, in);
	case BT_AAA: case BT_AAS: case BT_DAA: case BT_DAS: case BT_AAM: case BT_AAD:
	case BT_SALC: case BT_XLAT:
		return emu_bcd(v, in);
	case BT_BOUND:
		return emu_bound(v, in);
	case BT_INT: case BT_INT3: case BT_INTO:
		if (in->op == BT_INTO && !(v->bt.hflags & X86_EFLAGS_OF)) {
			v->eip = emu_next(in);
			return EMU_CONTINUE;
		}
		vcpu_deliver(v, in->op == BT_INT ? (int)(in->opnd[0].imm & 0xff) :
				in->op == BT_INT3 ? EXC_BP : EXC_OF, false, 0, true, emu_next(in));
		return v->shutdown ? EMU_STOP : EMU_CONTINUE;
	case BT_JMP_FAR: case BT_CALL_FAR: case BT_RET_FAR: case BT_IRET:
		return emu_far(v, in, x);
	case BT_HOT_STORE:
		if (umem_emulate_store(v, in) < 0) {
			x->kind = VMEXIT_ERROR;
			snprintf(x->error, sizeof(x->error), "cannot emulate the traced store at "
				 "eip 0x%08x", in->eip);
			return EMU_STOP;
		}
		return EMU_CONTINUE;
	default:
		break;
	}
	if (in->op != BT_OTHER && in->op < BT_NR_OPS && in->op != BT_JMP_REL &&
	    in->op != BT_JCC_REL)
		return emu_segment(v, in, x);
	if (in->fpu_sse && (v->cr0 & (X86_CR0_TS | X86_CR0_EM))) {
		/* x87 with TS or EM: #NM; SSE with EM: #UD, with TS: #NM. */
		vcpu_fault(v, (v->cr0 & X86_CR0_EM) && !in->x87 ? EXC_UD : EXC_NM, false, 0);
		return EMU_CONTINUE;
	}
	if (in->fpu_sse) {
		/* Translated while TS/EM were set; they are clear now: retranslate. */
		v->mode_dirty = true;
		return EMU_CONTINUE;
	}
	if (in->vex) {
		vcpu_fault(v, EXC_UD, false, 0);	/* no AVX in the virtual CPU */
		return EMU_CONTINUE;
	}
	{
		char text[96];

		bt_format_guest(in, text, sizeof(text));
		x->kind = VMEXIT_ERROR;
		snprintf(x->error, sizeof(x->error), "cannot translate '%s' (%s) at eip 0x%08x",
			 text, bt_op_name(in->op), in->eip);
	}
	return EMU_STOP;
}

/*
 * Instructions are all-or-nothing: when one of the monitor's own accesses
 * page-faults half way (a push to an unmapped stack, a descriptor in an
 * unmapped page), the registers go back to what they were and the #PF is
 * raised at the instruction, as the CPU would.
 */
int mon_emulate(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x)
{
	uint32_t gpr[8], eip = v->eip, vflags = v->bt.vflags;
	uint64_t hflags = v->bt.hflags;
	uint8_t vif = v->bt.vif;
	struct x86_seg seg[6];
	int cpl = v->cpl, r;

	v->st.callouts[in->op]++;
	memcpy(gpr, v->bt.gpr, sizeof(gpr));
	memcpy(seg, v->seg, sizeof(seg));
	v->pf.pending = false;
	r = emulate_one(v, in, x);
	if (v->pf.pending) {
		memcpy(v->bt.gpr, gpr, sizeof(gpr));
		memcpy(v->seg, seg, sizeof(seg));
		v->eip = eip;
		v->bt.hflags = hflags;
		v->bt.vflags = vflags;
		v->bt.vif = vif;
		v->cpl = cpl;
		v->mode_dirty = true;
		v->io.pending = false;
		vcpu_raise_pending_pf(v);
		return v->shutdown ? EMU_STOP : EMU_CONTINUE;
	}
	return r;
}
