/* The guest page-table walker: 32-bit two-level paging with 4 MiB PSE pages. */
#ifndef SHADOWMMU_WALK_H
#define SHADOWMMU_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/ram.h"

#define PTE_P		0x001	/* present */
#define PTE_W		0x002	/* writable */
#define PTE_U		0x004	/* user */
#define PTE_PWT		0x008
#define PTE_PCD		0x010
#define PTE_A		0x020	/* accessed */
#define PTE_D		0x040	/* dirty (leaf) */
#define PTE_PS		0x080	/* 4 MiB page (PDE, CR4.PSE) */
#define PTE_G		0x100	/* global (leaf, CR4.PGE) */
#define PTE_FRAME	0xfffff000u
#define PDE_FRAME_4M	0xffc00000u

#define PF_P		0x1	/* #PF error code: protection violation (else not present) */
#define PF_W		0x2	/* write access */
#define PF_U		0x4	/* CPL 3 access */

#define WALK_WRITE	0x1	/* access kinds for smmu_walk */
#define WALK_USER	0x2
#define WALK_NO_AD	0x4	/* look only: do not set A/D (prefetch, debuggers) */

/* Paging controls the walker needs. */
struct smmu_paging {
	uint32_t cr3;
	bool wp;		/* CR0.WP */
	bool pse;		/* CR4.PSE */
	bool pge;		/* CR4.PGE */
};

struct smmu_walk {
	uint32_t phys;		/* physical address of the linear address */
	uint32_t pde_addr;	/* physical address of the PDE */
	uint32_t pte_addr;	/* of the PTE, 0 for a 4 MiB page */
	uint32_t pde, pte;	/* the entries after A/D updates (pte = pde for 4 MiB) */
	bool large;
	bool user;		/* U/S of PDE and PTE both 1 */
	bool writable;		/* R/W of PDE and PTE both 1 */
	bool dirty;		/* D of the leaf */
	bool global;
	uint32_t err;		/* #PF error code when the walk faults */
};

/*
 * Translate lin for an access of kind `access` (WALK_*), setting A and D
 * bits in guest memory exactly when the hardware would.  Returns 0, or -1
 * with w->err holding the #PF error code.
 */
int smmu_walk(struct guest_ram *ram, const struct smmu_paging *pg, uint32_t lin,
	      unsigned access, struct smmu_walk *w);

/* Would the access be allowed by a successful walk's result? */
bool smmu_walk_allows(const struct smmu_paging *pg, const struct smmu_walk *w, unsigned access);

#endif
