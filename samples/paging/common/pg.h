/* Paging guest helpers: page-table bits, a frame allocator, address spaces and fault probes. */
#ifndef SAMPLES_PAGING_PG_H
#define SAMPLES_PAGING_PG_H

#include <stdbool.h>
#include <stdint.h>

#include "rt.h"
#include "desc.h"
#include "user.h"

/* 32-bit non-PAE PDE/PTE bits. */
#define PTE_P		0x001	/* present */
#define PTE_RW		0x002	/* writable */
#define PTE_US		0x004	/* user */
#define PTE_PWT		0x008	/* write-through */
#define PTE_PCD		0x010	/* cache disable */
#define PTE_A		0x020	/* accessed */
#define PTE_D		0x040	/* dirty (PTE, or PDE of a 4 MiB page) */
#define PDE_PS		0x080	/* 4 MiB page (PDE, with CR4.PSE) */
#define PTE_G		0x100	/* global (with CR4.PGE) */
#define PTE_FRAME	0xfffff000u	/* 4 KiB frame address */
#define PDE_FRAME_4M	0xffc00000u	/* 4 MiB frame address */

#define CR0_WP		0x00010000u	/* supervisor writes honour R/W */
#define CR0_PG		0x80000000u	/* paging */
#define CR4_PSE		0x00000010u	/* 4 MiB pages */
#define CR4_PGE		0x00000080u	/* global pages */

/* #PF error code bits. */
#define PF_P		0x01	/* protection violation (0: not present) */
#define PF_W		0x02	/* write access */
#define PF_U		0x04	/* CPL 3 access */
#define PF_RSVD		0x08	/* reserved bit set in an entry */
#define PF_I		0x10	/* instruction fetch (NX/SMEP only) */

#define CPUID_PSE	(1u << 3)	/* leaf 1 EDX */
#define CPUID_PGE	(1u << 13)	/* leaf 1 EDX */

#define VEC_DE		0
#define VEC_PF		14

/* The physical (= identity linear) address of a directory, for CR3. */
#define PA(p)		((uint32_t)(uintptr_t)(p))

#define PAGE_SIZE	4096u
#define PDE_SPAN	0x400000u	/* one PDE covers 4 MiB */
#define PDX(va)		((uint32_t)(va) >> 22)
#define PTX(va)		(((uint32_t)(va) >> 12) & 0x3ff)

/*
 * Physical layout (guest RAM >= 64 MiB): the image at 1 MiB, page frames
 * handed out from POOL_START to POOL_END, and a scratch region the tests
 * use for fixed frames (4 MiB aligned for PSE pages).  All of 0..IDENT_END
 * except page 0 is identity-mapped in every address space pg_new_pd()
 * makes, so the kernel reaches frames and page tables through their
 * physical addresses.
 */
#define POOL_START	0x00400000u
#define POOL_END	0x01000000u
#define SCRATCH_START	0x01000000u
#define IDENT_END	0x02000000u

/* Where tests put their own mappings: far from the identity region. */
#define TEST_VA		0x40000000u

static inline void invlpg(uint32_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void flush_tlb(void)
{
	write_cr3(read_cr3());
}

/*
 * A word at a linear address.  Volatile because the tests reach the same
 * memory through several linear aliases and page-table entries the CPU
 * itself writes (A/D): the compiler must neither cache nor reorder them.
 */
static inline volatile uint32_t *phys(uint32_t pa)
{
	return (volatile uint32_t *)(uintptr_t)pa;
}

/* Frames (zeroed on allocation). */
uint32_t pg_alloc(void);
void pg_free(uint32_t pa);
unsigned pg_frames_used(void);

/*
 * Identity map of 1..IDENT_END shared by every address space: its page
 * tables are built once; ident_flags are the PTE/PDE bits (PTE_US lets
 * CPL 3 code run from the kernel image and use its data).
 */
void pg_init(uint32_t ident_flags);
extern volatile uint32_t *kernel_pd;
/* A new page directory holding only the identity PDEs. */
volatile uint32_t *pg_new_pd(void);
/* Free a page directory made by pg_new_pd, its private page tables and (if frames) mapped frames. */
void pg_destroy_pd(volatile uint32_t *pd, bool frames);

/* The PTE for va (allocating its page table with pde_flags if alloc), or NULL. */
volatile uint32_t *pg_pte(volatile uint32_t *pd, uint32_t va, bool alloc, uint32_t pde_flags);
void pg_map(volatile uint32_t *pd, uint32_t va, uint32_t pa, uint32_t flags);

/* Load pd and turn paging on; pg_off() turns it off again. */
void pg_on(volatile uint32_t *pd);
void pg_off(void);

/*
 * Page faults: every #PF is recorded in pf_last.  A hook (if set) may
 * resolve it (return true: the instruction restarts); otherwise a fault
 * inside CATCH resumes after it, and any other fault is fatal.
 */
struct pf_rec {
	unsigned count;
	uint32_t err, eip, cr2, cs, user_esp;
};
extern volatile struct pf_rec pf_last;
extern bool (*pf_hook)(struct trap_frame *f);
void pg_trap_init(void);

/* Probes: true when the access did not fault (pf_last tells why otherwise). */
bool probe_read(uint32_t va, uint32_t *val);
bool probe_write(uint32_t va, uint32_t val);
/* The same at CPL 3 through user_call (needs user-accessible code and data). */
bool probe_user_read(uint32_t va, uint32_t *val);
bool probe_user_write(uint32_t va, uint32_t val);

#endif
