/* Views: 4 GiB host windows through which translated code reaches guest memory. */
#ifndef SHADOWMMU_VIEW_H
#define SHADOWMMU_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/ram.h"

#define VIEW_SPAN	(8ull << 30)	/* 4 GiB window + 4 GiB guard for string ops */
#define VIEW_ALIGN	(4ull << 30)	/* base is 4 GiB aligned: low 32 bits = guest offset */

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

/* Is host address p inside the view?  Sets *lin (modulo 4 GiB). */
bool smmu_view_contains(const struct smmu_view *v, const void *p, uint32_t *lin);

#endif
