/* Views: 4 GiB host windows through which translated code reaches guest memory. */
#ifndef SHADOWMMU_VIEW_H
#define SHADOWMMU_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/ram.h"

/*
 * A view reserves room around its 4 GiB window: translated code may form
 * [base + reg*scale + disp] without the 32-bit wrap, which reaches up to
 * 4 GiB * 8 + 2 GiB above the base and 2 GiB below it.  The 4 GiB above and
 * 2 GiB below mirror the window (see view.c); the rest is a guard.
 */
#define VIEW_WINDOW	(4ull << 30)
#define VIEW_BELOW	(2ull << 30)
#define VIEW_ABOVE	(36ull << 30)
#define VIEW_ALIGN	(4ull << 30)	/* base is 4 GiB aligned: low 32 bits = guest offset */

enum smmu_where { SMMU_OUTSIDE, SMMU_IN_WINDOW, SMMU_IN_GUARD };

struct smmu_view;

/*
 * Kernel-owned views (the bt-kmod engine): the host reservation stays, so
 * nothing else lands there, but the window's pages are entries of bt86.ko's
 * monitor page tables, changed through these operations instead of mmap.
 * The kernel also fills entries itself on hidden faults (kworld.c replays
 * them into the book-keeping with smmu_kfill_note()).
 */
enum smmu_kop {
	SMMU_KOP_MAP = 1,	/* arg: guest-physical page | 1 if writable */
	SMMU_KOP_CLEAR,		/* arg: number of pages */
	SMMU_KOP_PROTECT,	/* arg: 1 read-only, 0 writable (refilled on demand) */
	SMMU_KOP_SINK,		/* a scratch page of 0xFF bytes */
	SMMU_KOP_RESET,		/* everything of the view goes */
};

struct smmu_kviews {
	void *opaque;
	int (*attach)(void *opaque, struct smmu_view *v);
	void (*detach)(void *opaque, struct smmu_view *v);
	void (*op)(void *opaque, const struct smmu_view *v, enum smmu_kop op, uint32_t lin,
		   uint32_t arg);
};

struct smmu_view {
	uint8_t *base;
	uint8_t *reserve;	/* start of the host reservation */
	uint64_t reserve_len;
	const struct guest_ram *ram;
	const struct smmu_kviews *k;	/* NULL: pages are mmap()ed from the RAM memfd */
	int kidx;			/* the kernel's index for it */
	/* What it shows, for a kernel that fills it: set by shadow.c. */
	bool user, flat;
	uint8_t space;
	uint32_t cr3;
};

/* Reserve an empty view: every address inaccessible until mapped.  k: see above. */
int smmu_view_create(struct smmu_view *v, const struct guest_ram *ram,
		     const struct smmu_kviews *k);
void smmu_view_destroy(struct smmu_view *v);

/* Drop every mapping of [lin, lin+len) (page aligned): they fault again. */
void smmu_view_clear(struct smmu_view *v, uint32_t lin, uint64_t len);

/* Map guest-physical page phys at linear page lin with prot (PROT_*). */
int smmu_view_map(struct smmu_view *v, uint32_t lin, uint32_t phys, int prot);

/* Map all of RAM at its physical address (the paging-off view). */
int smmu_view_map_flat(struct smmu_view *v);

/* Change the protection of one mapped page. */
int smmu_view_protect(struct smmu_view *v, uint32_t addr, bool read_only);

/*
 * Back one page of the window with a scratch page of 0xFF bytes (what a PC
 * reads from nothing) so one instruction can complete; writes land in the
 * scratch page and vanish when smmu_view_unsink() puts the hole back.
 */
int smmu_view_sink(struct smmu_view *v, uint32_t addr);
void smmu_view_unsink(struct smmu_view *v, uint32_t addr);

/* Where is host address p?  Sets *lin, the guest address modulo 4 GiB. */
enum smmu_where smmu_view_where(const struct smmu_view *v, const void *p, uint32_t *lin);

#endif
