/*
 * Hostile guest: page tables full of garbage.  The kernel keeps a 4 MiB
 * identity page for itself; every other directory and table entry is random
 * (present or not, 4 MiB or not, frames inside RAM, past it, anywhere).
 * Then it reads and writes random addresses, rewrites entries as it goes,
 * and switches between garbage directories.  Page faults are counted and
 * skipped.  The random writes may well land on the tables themselves (as
 * on hardware); whatever happens, bt86 must stay well: the guest finishes,
 * or ends in a triple fault, never a crash.
 */
#include "desc.h"
#include "hostile.h"

#define PTE_P	0x001	/* present */
#define PTE_W	0x002	/* writable */
#define PTE_PS	0x080	/* 4 MiB page */
#define CR4_PSE	0x010	/* page size extensions */
#define CR0_PG	0x80000000u

static uint32_t pd[2][1024] __attribute__((aligned(4096)));
static uint32_t pt[4][1024] __attribute__((aligned(4096)));
static volatile unsigned faults;

/* Every probe is a 2-byte mov, so a #PF handler can step over it. */
static void on_pf(struct trap_frame *f)
{
	faults++;
	f->eip += 2;
}

static uint32_t garbage_entry(uint32_t *s)
{
	uint32_t e = hostile_rand(s);

	switch (e & 3) {
	case 0:
		return (uint32_t)pt[(e >> 2) & 3] | PTE_P | PTE_W | (e & 0x0f4);	/* a real table */
	case 1:
		return e | PTE_P;					/* present, anywhere */
	default:
		return e;						/* whatever it is */
	}
}

static void fill(uint32_t *s)
{
	for (int d = 0; d < 2; d++)
		for (int i = 1; i < 1024; i++)
			pd[d][i] = garbage_entry(s);
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 1024; i++)
			pt[t][i] = hostile_rand(s) | ((i & 1) ? PTE_P : 0);
	/* The kernel's own 4 MiB stay put in both directories. */
	pd[0][0] = pd[1][0] = 0 | PTE_P | PTE_W | PTE_PS;
}

int main(void)
{
	uint32_t s = hostile_seed(), reads = 0, writes = 0;

	printf("garbage_pt: seed %u\n", (unsigned)s);
	trap_set_handler(14, on_pf);
	fill(&s);
	__asm__ volatile("mov %%cr4, %%eax; or %0, %%eax; mov %%eax, %%cr4" : : "i"(CR4_PSE) : "eax");
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd[0]) : "memory");
	__asm__ volatile("mov %%cr0, %%eax; or %0, %%eax; mov %%eax, %%cr0" : : "i"(CR0_PG) : "eax");
	for (int round = 0; round < 20000; round++) {
		uint32_t a = hostile_rand(&s), v = hostile_rand(&s), out = 0;

		/* Keep away from the kernel's own 4 MiB: it must keep running. */
		if (a < 0x400000)
			a |= 0x400000;
		if (v & 1) {
			__asm__ volatile(".byte 0x89, 0x18" : : "a"(a), "b"(v) : "memory");	/* mov %ebx,(%eax) */
			writes++;
		} else {
			__asm__ volatile(".byte 0x8b, 0x18" : "=b"(out) : "a"(a) : "memory");	/* mov (%eax),%ebx */
			reads++;
		}
		if ((round & 255) == 0) {
			/* Rewrite entries under its own feet, and switch directories. */
			pd[round >> 8 & 1][1 + (v >> 8) % 1023] = garbage_entry(&s);
			pt[v & 3][(v >> 4) & 1023] = hostile_rand(&s);
			__asm__ volatile("mov %0, %%cr3" : : "r"(pd[(round >> 8) & 1]) : "memory");
		}
		(void)out;
	}
	__asm__ volatile("mov %%cr0, %%eax; and %0, %%eax; mov %%eax, %%cr0" : : "i"(~CR0_PG) : "eax");
	reportf(reads + writes == 20000, "20000 accesses through garbage page tables (%u faults)",
		(unsigned)faults);
	/* Garbage must have produced real #PFs, reflected to the guest and skipped. */
	reportf(faults > 0, "page faults were reflected to the guest (%u)", (unsigned)faults);
	report_summary();
}
