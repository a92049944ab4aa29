/* Views: 4 GiB host windows through which translated code reaches guest memory. */
#ifndef SHADOWMMU_VIEW_H
#define SHADOWMMU_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/ram.h"

#define VIEW_SPAN	(8ull << 30)	/* 4 GiB window + 4 GiB guard for string ops */
#define VIEW_ALIGN	(4ull << 30)	/* base is 4 GiB aligned: low 32 bits = guest offset */

/*
 * A view.  base - 4096 is the poll page: readable normally, PROT_NONE when
 * the monitor wants translated code to leave at the next block boundary.
 */
struct smmu_view {
	uint8_t *base;
	uint8_t *reserve;	/* start of the host reservation */
	uint64_t reserve_len;
	uint8_t *poll;		/* base - 4096 */
	uint8_t *irqwin;	/* base - 8192: faults while an interrupt waits for IF */
	const struct guest_ram *ram;
};

/*
 * The paging-off view: guest-physical = linear, all of RAM mapped read/write,
 * everything else (MMIO, unassigned) inaccessible so it traps to the monitor.
 */
int smmu_view_create_flat(struct smmu_view *v, const struct guest_ram *ram);
void smmu_view_destroy(struct smmu_view *v);

/* Write-protect (or unprotect) one 4 KiB guest page of the view. */
int smmu_view_protect(struct smmu_view *v, uint32_t addr, bool read_only);

/*
 * Back one unassigned page of the window with a scratch page of 0xFF bytes
 * (what a PC reads from nothing) so one instruction can complete; writes
 * land in the scratch page and vanish when smmu_view_unsink() puts the
 * hole back.
 */
int smmu_view_sink(struct smmu_view *v, uint32_t addr);
void smmu_view_unsink(struct smmu_view *v, uint32_t addr);

/* Make the poll page fault (armed) or read normally; async-signal-safe. */
void smmu_poll_arm(struct smmu_view *v, bool armed);
void smmu_irqwin_arm(struct smmu_view *v, bool armed);

enum smmu_hit { SMMU_MISS, SMMU_WINDOW, SMMU_POLL, SMMU_IRQWIN };

/* Where does host address p fall?  For SMMU_WINDOW, *lin is the guest address. */
enum smmu_hit smmu_view_classify(const struct smmu_view *v, const void *p, uint32_t *lin);

#endif
