/*
 * umem.c - guest memory for the uworld monitor: the monitor's own accesses
 * (through the guest's page tables when paging is on), code fetch for the
 * translator, and what to do about a host fault in a view: fill a shadow
 * entry, reflect a #PF, emulate a write to a traced frame, or step over
 * memory that is not RAM.
 *
 * Writes to traced frames are emulated by *opening* the frame for exactly
 * one guest instruction: its old contents are saved, the faulting view maps
 * it writable, the instruction runs as a one-instruction block, and then
 * the frame is closed again and the shadow MMU drops the entries whose
 * guest PTEs changed.  Every store form (mov, xchg, cmpxchg, lock or/and,
 * bts, rep stos...) is handled the same way, because the CPU does the store.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "monitor/emul.h"
#include "vmm/vm.h"

static unsigned access_of(const struct vcpu *v, bool write, bool sys)
{
	return (write ? WALK_WRITE : 0) | (!sys && v->cpl == 3 ? WALK_USER : 0);
}

/* One page-bounded piece of an access; returns -1 on #PF. */
static int access_piece(struct vcpu *v, uint32_t lin, uint8_t *buf, uint32_t len, bool write,
			bool sys)
{
	uint32_t phys, err;
	struct guest_ram *ram = &v->vm->ram;

	if (smmu_translate(&v->mmu, lin, access_of(v, write, sys), &phys, &err) < 0) {
		if (!v->pf.pending) {
			v->pf.pending = true;
			v->pf.cr2 = lin;
			v->pf.err = err;
		}
		if (!write)
			memset(buf, 0, len);
		return -1;
	}
	if (!write) {
		if (ram_read(ram, phys, buf, len) < 0)
			memset(buf, 0xff, len);	/* unassigned: all ones */
		return 0;
	}
	if (!ram_ptr(ram, phys, len))
		return 0;			/* dropped, like a write to nothing */
	if (smmu_frame_traced(&v->mmu, phys)) {
		static uint32_t old[1024];

		memcpy(old, ram->host + (phys & ~0xfffu), 4096);
		ram_write(ram, phys, buf, len);
		if (tc_page_has_code(&v->tc, phys))
			tc_invalidate_phys(&v->tc, phys & ~0xfffu, 4096);
		if (smmu_frame_written(&v->mmu, phys, old, v->tc.ibl_pages))
			tc_ibl_flush(&v->tc);
		return 0;
	}
	ram_write(ram, phys, buf, len);
	return 0;
}

static int access(struct vcpu *v, uint32_t lin, uint8_t *buf, uint32_t len, bool write, bool sys)
{
	int r = 0;

	while (len) {
		uint32_t n = 4096 - (lin & 0xfff);

		if (n > len)
			n = len;
		if (access_piece(v, lin, buf, n, write, sys) < 0)
			r = -1;
		lin += n;
		buf += n;
		len -= n;
	}
	return r;
}

int vcpu_read(struct vcpu *v, uint32_t lin, void *buf, uint32_t len)
{
	return access(v, lin, buf, len, false, false);
}

int vcpu_write(struct vcpu *v, uint32_t lin, const void *buf, uint32_t len)
{
	return access(v, lin, (uint8_t *)buf, len, true, false);
}

int vcpu_sysread(struct vcpu *v, uint32_t lin, void *buf, uint32_t len)
{
	return access(v, lin, buf, len, false, true);
}

int vcpu_syswrite(struct vcpu *v, uint32_t lin, const void *buf, uint32_t len)
{
	return access(v, lin, (uint8_t *)buf, len, true, true);
}

bool vcpu_raise_pending_pf(struct vcpu *v)
{
	if (!v->pf.pending)
		return false;
	v->pf.pending = false;
	v->cr2 = v->pf.cr2;
	vcpu_fault(v, EXC_PF, true, v->pf.err);
	return true;
}

void vcpu_set_control(struct vcpu *v, uint32_t cr0, uint32_t cr3, uint32_t cr4)
{
	bool was_paging = v->mmu.paging, cr3_changed = cr3 != v->cr3;

	v->cr0 = cr0;
	v->cr3 = cr3;
	v->cr4 = cr4;
	smmu_set_control(&v->mmu, cr0, cr3, cr4);
	if (was_paging != v->mmu.paging) {
		/* Chains made under one regime are wrong under the other. */
		tc_flush(&v->tc);
		v->last_exit = NULL;
	} else if (cr3_changed && v->mmu.paging) {
		tc_ibl_flush(&v->tc);
	}
	v->tc.chain_same_page = v->mmu.paging;
}

size_t umem_fetch(void *opaque, uint32_t lin, uint8_t *buf, size_t n, uint32_t *phys)
{
	struct vcpu *v = opaque;
	struct guest_ram *ram = &v->vm->ram;
	size_t got = 0;

	v->fetch_pf = false;
	while (got < n) {
		uint32_t p, err, l = lin + (uint32_t)got;
		size_t chunk = 4096 - (l & 0xfff);

		if (chunk > n - got)
			chunk = n - got;
		if (smmu_translate(&v->mmu, l, access_of(v, false, false), &p, &err) < 0) {
			if (got == 0) {
				v->fetch_pf = true;
				v->fetch_cr2 = l;
				v->fetch_err = err;
			}
			break;
		}
		if (!ram_ptr(ram, p, chunk))
			break;			/* not RAM: the caller sees no bytes */
		if (got == 0)
			*phys = p;
		memcpy(buf + got, ram->host + p, chunk);
		got += chunk;
	}
	return got;
}

void umem_code_page(void *opaque, uint32_t phys_page, bool has_code)
{
	struct vcpu *v = opaque;

	smmu_trace_code(&v->mmu, phys_page, has_code);
}

/* Map a traced frame writable in the current view for one instruction. */
static int open_frame(struct vcpu *v, uint32_t lin, uint32_t phys)
{
	int i;

	for (i = 0; i < v->nopen; i++)
		if (v->open[i].phys == (phys & ~0xfffu))
			break;
	if (i == 2) {
		/*
		 * Only a string instruction writes a third page in one step.  Its
		 * progress so far is architectural (ECX/EDI moved on), so close
		 * what it has written and go on.
		 */
		umem_step_done(v);
		i = 0;
	}
	if (i == v->nopen) {
		v->open[i].phys = phys & ~0xfffu;
		v->open[i].lin = lin & ~0xfffu;
		memcpy(v->open[i].old, v->vm->ram.host + v->open[i].phys, 4096);
		v->nopen++;
	}
	return smmu_view_map(v->cur_view, lin, phys, PROT_READ | PROT_WRITE);
}

void umem_step_done(struct vcpu *v)
{
	bool ibl = false;

	for (int i = 0; i < v->nopen; i++) {
		smmu_view_protect(v->cur_view, v->open[i].lin, true);
		if (smmu_frame_written(&v->mmu, v->open[i].phys, v->open[i].old,
				       v->tc.ibl_pages))
			ibl = true;
	}
	v->nopen = 0;
	if (ibl)
		tc_ibl_flush(&v->tc);
	for (int i = 0; i < v->nsinks; i++)
		smmu_view_unsink(v->cur_view, v->sinks[i]);
	v->nsinks = 0;
}

#define ADAPT_THRESHOLD	3	/* trace faults before an instruction becomes a callout */

static uint32_t adapt_slot(uint32_t phys)
{
	return (phys * 0x9e3779b1u) >> 24;
}

bool umem_hot_store(void *opaque, uint32_t phys)
{
	struct vcpu *v = opaque;
	uint32_t i = adapt_slot(phys);

	return v->adapt[i].hot && v->adapt[i].phys == phys;
}

/*
 * "Innocent until proven guilty": an instruction that keeps writing traced
 * page tables is retranslated into a callout that does the store without a
 * host fault.  Its blocks are dropped so the next translation sees it.
 */
static void note_trace_fault(struct vcpu *v)
{
	uint32_t phys, err, i;

	if (smmu_translate(&v->mmu, v->eip + v->seg[S_CS].base, v->cpl == 3 ? WALK_USER : 0,
			   &phys, &err) < 0)
		return;
	i = adapt_slot(phys);
	if (v->adapt[i].phys != phys) {
		v->adapt[i].phys = phys;
		v->adapt[i].faults = 0;
		v->adapt[i].hot = false;
	}
	if (++v->adapt[i].faults == ADAPT_THRESHOLD) {
		v->adapt[i].hot = true;
		v->st.adaptive_retranslations++;
		tc_invalidate_phys(&v->tc, phys & ~0xfffu, 4096);
		v->last_exit = NULL;
	}
}

#define ADAPT_ACQUIT	64	/* untraced stores in a row before going native again */

/*
 * The other direction: a store that has stopped hitting traces (the page
 * tables it wrote were freed) goes back to native translation.  Returns
 * true when that just happened.
 */
static bool acquitted(struct vcpu *v, const struct bt_insn *in)
{
	uint32_t phys, err, i;

	if (smmu_translate(&v->mmu, in->eip + v->seg[S_CS].base, v->cpl == 3 ? WALK_USER : 0,
			   &phys, &err) < 0)
		return false;
	i = adapt_slot(phys);
	if (v->adapt[i].phys != phys || !v->adapt[i].hot)
		return false;
	if (++v->adapt[i].faults < ADAPT_THRESHOLD + ADAPT_ACQUIT)
		return false;
	v->adapt[i].hot = false;
	v->adapt[i].faults = 0;
	tc_invalidate_phys(&v->tc, phys & ~0xfffu, 4096);
	v->last_exit = NULL;
	return true;
}

int umem_emulate_store(struct vcpu *v, const struct bt_insn *in)
{
	const struct bt_opnd *dst = &in->opnd[in->memop];
	uint32_t lin = emu_lin(v, &dst->mem), phys, err, size = dst->size;
	struct guest_ram *ram = &v->vm->ram;

	if (smmu_translate(&v->mmu, lin, WALK_WRITE | (v->cpl == 3 ? WALK_USER : 0), &phys,
			   &err) < 0) {
		v->cr2 = lin;
		vcpu_fault(v, EXC_PF, true, err);
		return 0;
	}
	if (!ram_ptr(ram, phys, size)) {
		v->single_pending = true;	/* not RAM: step over it with a sink page */
		return 0;
	}
	if (!smmu_frame_traced(&v->mmu, phys) && acquitted(v, in)) {
		v->single_pending = true;	/* retranslated natively; this once, step */
		return 0;
	}
	if (in->is_mov && in->memop == 0 && (phys & 0xfff) + size <= 4096 &&
	    (in->opnd[1].kind == BT_OPND_REG || in->opnd[1].kind == BT_OPND_IMM) &&
	    (size == 1 || size == 2 || size == 4)) {
		static uint32_t old[1024];
		uint32_t val = in->opnd[1].kind == BT_OPND_IMM ? in->opnd[1].imm :
			       emu_gpr(v, &in->opnd[1].reg);

		if (!smmu_frame_traced(&v->mmu, phys)) {
			memcpy(ram->host + phys, &val, size);
			v->eip = in->eip + in->len;
			return 0;
		}
		/* Only the entries the store touches can have changed. */
		uint32_t first = (phys & 0xfff) / 4, count = ((phys & 0xfff) + size + 3) / 4 - first;

		memcpy(old, ram->host + (phys & ~0xfffu) + first * 4, count * 4);
		memcpy(ram->host + phys, &val, size);
		if (tc_page_has_code(&v->tc, phys))
			tc_invalidate_phys(&v->tc, phys, size);
		if (smmu_entries_written(&v->mmu, phys, first, count, old, v->tc.ibl_pages))
			tc_ibl_flush(&v->tc);
		v->mmu.st.adaptive_stores++;
		v->eip = in->eip + in->len;
		return 0;
	}
	/* Other forms (xchg, cmpxchg, lock or...): open the frame, step the CPU over it. */
	if (open_frame(v, lin, phys) < 0)
		return -1;
	v->mmu.st.adaptive_stores++;
	v->single_pending = true;
	return 0;
}

static uint32_t wrap_slot(uint32_t phys)
{
	return (phys * 0x9e3779b1u) >> 22;	/* 1024 slots */
}

bool umem_wraps(void *opaque, uint32_t phys)
{
	struct vcpu *v = opaque;

	/* Slot 0 of the hash would match phys 0 in an empty table: store phys + 1. */
	return v->wraps[wrap_slot(phys)] == phys + 1;
}

int umem_wrapped(struct vcpu *v, struct vm_exit *x)
{
	uint32_t phys, err;

	if (smmu_translate(&v->mmu, v->eip + v->seg[S_CS].base, v->cpl == 3 ? WALK_USER : 0,
			   &phys, &err) < 0 || umem_wraps(v, phys)) {
		/* Only string instructions get here twice: they cannot use lea. */
		x->kind = VMEXIT_ERROR;
		snprintf(x->error, sizeof(x->error), "the instruction at eip 0x%08x wraps its "
			 "address around 4 GiB (0x%08llx), which is not supported", v->eip,
			 (unsigned long long)v->fault_addr);
		return 1;
	}
	v->wraps[wrap_slot(phys)] = phys + 1;
	v->st.wraps++;
	tc_invalidate_phys(&v->tc, phys & ~0xfffu, 4096);
	v->last_exit = NULL;
	return 0;
}

static int fault_error(struct vcpu *v, struct vm_exit *x, const char *what, uint32_t lin)
{
	x->kind = VMEXIT_ERROR;
	snprintf(x->error, sizeof(x->error), "%s at 0x%08x (eip 0x%08x)", what, lin, v->eip);
	return 1;
}

int umem_fault(struct vcpu *v, uint32_t lin, bool write, enum smmu_fault kind, uint32_t err,
	       uint32_t phys, struct vm_exit *x)
{
	(void)write;
	switch (kind) {
	case SMMU_FILLED:
		return 0;
	case SMMU_GUEST_PF:
		v->cr2 = lin;
		vcpu_fault(v, EXC_PF, true, err);
		return 0;
	case SMMU_TRACED:
		if (!tc_page_has_code(&v->tc, phys))
			note_trace_fault(v);
		if (tc_page_has_code(&v->tc, phys)) {
			/*
			 * Self-modifying code, or data beside code: only the blocks
			 * the store can reach go (a string instruction may reach the
			 * whole page); the rest of the page keeps its translations
			 * and its trace, and is opened for this one step.
			 */
			v->st.smc_faults++;
			if (v->fault_string)
				tc_invalidate_phys(&v->tc, phys & ~0xfffu, 4096);
			else
				tc_invalidate_phys(&v->tc, phys, 16);
			v->last_exit = NULL;
		}
		if (smmu_frame_traced(&v->mmu, phys) && open_frame(v, lin, phys) < 0)
			return fault_error(v, x, "cannot open a traced page for writing", lin);
		v->single_pending = true;
		return 0;
	case SMMU_NOT_RAM:
		if (io_find(&v->vm->mmio, phys))
			return fault_error(v, x, "MMIO access (not implemented yet)", lin);
		/* Nothing decodes this address: back it for one step, then take it away. */
		v->st.unassigned++;
		if (v->nsinks == 4 || smmu_view_sink(v->cur_view, lin) < 0)
			return fault_error(v, x, "cannot complete an access to unassigned memory",
					   lin);
		v->sinks[v->nsinks++] = lin;
		v->single_pending = true;
		return 0;
	}
	return 0;
}
