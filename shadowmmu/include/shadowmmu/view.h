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

struct smmu_view {
	uint8_t *base;
	uint8_t *reserve;	/* start of the host reservation */
	uint64_t reserve_len;
	const struct guest_ram *ram;
};

/* Reserve an empty view: every address inaccessible until mapped. */
int smmu_view_create(struct smmu_view *v, const struct guest_ram *ram);
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
