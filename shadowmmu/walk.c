/*
 * The guest page-table walker.  Reads PDEs and PTEs straight from guest RAM
 * (never through a view, so traces do not fire on the walker's own A/D
 * updates) and applies the protection rules of the SDM for 32-bit paging:
 * effective R/W and U/S are the AND of both levels; supervisor writes to
 * read-only pages are allowed while CR0.WP=0; A is set at both levels on any
 * successful access, D only on the leaf and only for writes.  Entries in
 * memory that is not RAM read as all ones, as the bus would return them.
 */
#include <string.h>

#include "shadowmmu/walk.h"

static uint32_t read_entry(struct guest_ram *ram, uint32_t addr)
{
	uint32_t v;

	if (ram_read(ram, addr, &v, 4) < 0)
		return 0xffffffffu;
	return v;
}

/* Set bits in an entry with one atomic OR, as the page walker's locked update. */
static void set_bits(struct guest_ram *ram, uint32_t addr, uint32_t *entry, uint32_t bits)
{
	uint32_t *p;

	if ((*entry & bits) == bits)
		return;
	p = ram_ptr(ram, addr, 4);
	if (p)
		__atomic_or_fetch(p, bits, __ATOMIC_SEQ_CST);
	*entry |= bits;
}

bool smmu_walk_allows(const struct smmu_paging *pg, const struct smmu_walk *w, unsigned access)
{
	if (access & WALK_USER) {
		if (!w->user)
			return false;
		return !(access & WALK_WRITE) || w->writable;
	}
	return !(access & WALK_WRITE) || w->writable || !pg->wp;
}

int smmu_walk(struct guest_ram *ram, const struct smmu_paging *pg, uint32_t lin,
	      unsigned access, struct smmu_walk *w)
{
	uint32_t err = ((access & WALK_WRITE) ? PF_W : 0) | ((access & WALK_USER) ? PF_U : 0);

	memset(w, 0, sizeof(*w));
	w->pde_addr = (pg->cr3 & PTE_FRAME) + (lin >> 22) * 4;
	w->pde = read_entry(ram, w->pde_addr);
	if (!(w->pde & PTE_P)) {
		w->err = err;
		return -1;
	}
	if ((w->pde & PTE_PS) && pg->pse) {
		w->large = true;
		w->pte = w->pde;
		w->phys = (w->pde & PDE_FRAME_4M) | (lin & 0x3fffff);
		w->global = pg->pge && (w->pde & PTE_G);
	} else {
		w->pte_addr = (w->pde & PTE_FRAME) + ((lin >> 12) & 0x3ff) * 4;
		w->pte = read_entry(ram, w->pte_addr);
		if (!(w->pte & PTE_P)) {
			w->err = err;
			return -1;
		}
		w->phys = (w->pte & PTE_FRAME) | (lin & 0xfff);
		w->global = pg->pge && (w->pte & PTE_G);
	}
	w->user = (w->pde & PTE_U) && (w->pte & PTE_U);
	w->writable = (w->pde & PTE_W) && (w->pte & PTE_W);
	if (!smmu_walk_allows(pg, w, access)) {
		w->err = err | PF_P;
		return -1;
	}
	if (!(access & WALK_NO_AD)) {
		set_bits(ram, w->pde_addr, &w->pde, PTE_A);
		if (w->large) {
			if (access & WALK_WRITE)
				set_bits(ram, w->pde_addr, &w->pde, PTE_D);
			w->pte = w->pde;
		} else {
			set_bits(ram, w->pte_addr, &w->pte,
				 PTE_A | ((access & WALK_WRITE) ? PTE_D : 0));
		}
	}
	w->dirty = (w->pte & PTE_D) != 0;
	return 0;
}
