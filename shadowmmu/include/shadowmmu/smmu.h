/* The shadow MMU: guest address spaces realised as views, kept coherent by traces. */
#ifndef SHADOWMMU_SMMU_H
#define SHADOWMMU_SMMU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shadowmmu/view.h"
#include "shadowmmu/walk.h"
#include "vmm/ram.h"

#define SMMU_MAX_SPACES	8	/* address spaces kept (LRU): a context switch need not flush */
#define SMMU_KERNEL	0	/* the view for CPL 0-2: what the guest kernel may touch */
#define SMMU_USER	1	/* the view for CPL 3: user pages only */

/* Why a guest frame is write-protected in every view (its trace). */
#define SMMU_TRACE_PD	0x1	/* a page directory of a cached address space */
#define SMMU_TRACE_PT	0x2	/* a page table some shadow entry was derived from */
#define SMMU_TRACE_CODE	0x4	/* holds translated code */

struct smmu_space {
	uint32_t cr3;		/* page-directory frame */
	bool used;
	uint32_t gen;		/* bumped each time the slot is reused */
	uint64_t lru;
	struct smmu_view view[2];
	uint8_t *mapped[2];	/* bitmap over the 2^20 linear pages */
	uint32_t nmapped;
};

struct smmu_frame {
	uint32_t rmap;		/* first struct smmu_rmap (1-based), 0 = none */
	uint32_t ptusers;	/* first struct smmu_ptuser (1-based) */
	uint8_t trace;		/* SMMU_TRACE_* */
};

/* Where a frame is mapped: (space, view, linear page).  May be stale; see shadow.c. */
struct smmu_rmap {
	uint32_t next;
	uint32_t lin_page;
	uint8_t space, view;
};

/* Who derived mappings from a page table: (space, PDE index). */
struct smmu_ptuser {
	uint32_t next;
	uint16_t pde;
	uint8_t space;
	uint32_t gen;		/* the space's generation when recorded: stale if it moved on */
};

struct smmu_stats {
	uint64_t hidden_faults, prefetched, true_faults[8];	/* by error code P|W|U */
	uint64_t trace_writes, trace_unchanged, adaptive_stores, dirty_faults;
	uint64_t space_hits, space_misses, space_evictions, flushes, invlpg, cr3_writes;
	uint64_t unmapped, traces_added, traces_removed;
};

enum smmu_fault {
	SMMU_FILLED,		/* hidden fault: the mapping is there now, retry */
	SMMU_GUEST_PF,		/* true fault: deliver #PF with the error code */
	SMMU_TRACED,		/* write to a traced frame: emulate it */
	SMMU_NOT_RAM,		/* the guest maps something that is not RAM */
};

struct smmu {
	struct guest_ram *ram;
	struct smmu_paging pg;
	bool paging;
	struct smmu_view flat;
	struct smmu_space space[SMMU_MAX_SPACES];
	struct smmu_space *cur;
	uint64_t tick;
	struct smmu_frame *frames;
	uint32_t nframes;
	struct smmu_rmap *rmap;
	uint32_t nrmap, rmap_cap;
	struct smmu_ptuser *ptu;
	uint32_t nptu, ptu_cap, ptu_free;
	uint64_t map_budget;	/* mappings we allow before evicting (vm.max_map_count) */
	uint64_t mapped_total;
	bool trace_log;		/* --trace-mmu */
	struct smmu_stats st;
	/*
	 * Kernel-owned views (bt-kmod, smmu_use_kviews): the kernel fills
	 * entries itself where it can prove it may, from what is published
	 * here: which frames are traced, and for each space and PDE the page
	 * table that space's entries in that 4 MiB region may come from (one
	 * this shadow has a ptuser record for, so its writes are traced).
	 */
	const struct smmu_kviews *kviews;
	uint8_t *ktraced;		/* bit per guest frame */
	uint8_t *kwrite;		/* bit per frame whose writes the kernel may complete */
	uint32_t (*kptu)[1024];		/* [space][pde] = page-table frame, 0 = none */
	uint64_t kfills;		/* entries the kernel filled (replayed) */
};

int smmu_init(struct smmu *m, struct guest_ram *ram);
void smmu_destroy(struct smmu *m);

/*
 * New CR0/CR3/CR4.  Turning paging on or off, changing WP, PSE or PGE drops
 * every shadow; a CR3 write switches to (or builds) that address space.
 */
void smmu_set_control(struct smmu *m, uint32_t cr0, uint32_t cr3, uint32_t cr4);

/* The view translated code must use at this CPL. */
struct smmu_view *smmu_view_for(struct smmu *m, int cpl);

/* A host fault at lin in the view for cpl.  *err / *phys as the result says. */
enum smmu_fault smmu_fault(struct smmu *m, uint32_t lin, bool write, int cpl, uint32_t *err,
			   uint32_t *phys);

/* Translate for the monitor's own accesses; 0, or -1 with *err (#PF code). */
int smmu_translate(struct smmu *m, uint32_t lin, unsigned access, uint32_t *phys, uint32_t *err);

/* Start or stop tracing a frame because it holds translated code. */
void smmu_trace_code(struct smmu *m, uint32_t phys, bool on);
bool smmu_frame_traced(const struct smmu *m, uint32_t phys);

/*
 * A traced frame was written: old holds its previous 4 KiB.  Drops the
 * shadow entries derived from entries that changed; returns how many of
 * those were present before (the ones a TLB, or the IBL, may have cached)
 * and map a linear page set in watch (a bitmap over the 2^20 linear
 * pages, such as the TC's IBL pages; NULL: every page counts).
 */
int smmu_frame_written(struct smmu *m, uint32_t phys, const uint32_t *old, const uint8_t *watch);
/* The same for entries [first, first+count) only; old[] holds just those. */
int smmu_entries_written(struct smmu *m, uint32_t phys, uint32_t first, uint32_t count,
			 const uint32_t *old, const uint8_t *watch);

/*
 * Switch to kernel-owned views (before the guest runs): the flat view is
 * rebuilt through k, spaces made from now on use k, and the traced bitmap
 * and published page tables are kept in traced[] and ptu[].
 */
int smmu_use_kviews(struct smmu *m, const struct smmu_kviews *k, uint8_t *traced,
		    uint8_t *kwrite, uint32_t (*ptu)[1024]);
/* The kernel filled view v's entry for lin from guest frame phys: book it. */
void smmu_kfill_note(struct smmu *m, const struct smmu_view *v, uint32_t lin, uint32_t phys);
/* The kernel dropped view v's entry for lin (a page-table write it completed). */
void smmu_kunmap_note(struct smmu *m, const struct smmu_view *v, uint32_t lin);

void smmu_invlpg(struct smmu *m, uint32_t lin);
void smmu_flush(struct smmu *m);
void smmu_print_stats(const struct smmu *m, FILE *out);

#endif
