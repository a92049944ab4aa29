/* paging_fault: guest demand paging: the #PF handler maps the page and the faulting instruction restarts. */
#include "pg.h"

#define DEMAND_VA	TEST_VA			/* pages mapped only when touched */
#define DEMAND_PAGES	64
#define PATTERN(i, w)	(0xd0000000u | ((i) << 12) | (w))	/* word w of backing page i */
#define OP_MOV_EAX_IMM	0xb8	/* mov $imm32, %eax */
#define OP_RET		0xc3	/* ret */

static uint32_t backing[DEMAND_PAGES];	/* "swap": the frame each page gets when touched */
static volatile unsigned demand_faults;
static volatile uint32_t fault_err[16], fault_cr2[16], fault_cs[16];

/* The demand pager: a not-present fault inside the region maps its backing frame. */
static bool demand_hook(struct trap_frame *f)
{
	uint32_t cr2 = pf_last.cr2, i = (cr2 - DEMAND_VA) / PAGE_SIZE;
	volatile uint32_t *pte;

	if (cr2 < DEMAND_VA || i >= DEMAND_PAGES || (f->error & PF_P))
		return false;
	pte = pg_pte(kernel_pd, cr2, false, 0);
	if (!pte || (*pte & PTE_P))
		return false;
	if (demand_faults < ARRAY_SIZE(fault_err)) {
		fault_err[demand_faults] = f->error;
		fault_cr2[demand_faults] = cr2;
		fault_cs[demand_faults] = f->cs;
	}
	demand_faults++;
	*pte = backing[i] | PTE_P | PTE_RW | PTE_US;
	/* NP->P needs no invlpg; the instruction restarts when we return. */
	return true;
}

/* Evict everything: every page of the region not present again, contents reset. */
static void evict_all(void)
{
	unsigned i, w;

	for (i = 0; i < DEMAND_PAGES; i++) {
		*pg_pte(kernel_pd, DEMAND_VA + i * PAGE_SIZE, false, 0) = 0;
		for (w = 0; w < 1024; w++)
			phys(backing[i])[w] = PATTERN(i, w);
	}
	flush_tlb();
	demand_faults = 0;
}

static void test_touch(void)
{
	unsigned i, bad = 0, again;

	evict_all();
	for (i = 0; i < 16; i++)
		if (*phys(DEMAND_VA + i * PAGE_SIZE + 0x10) != PATTERN(i, 4))
			bad++;
	reportf(bad == 0 && demand_faults == 16, "16 pages read on demand: %u faults, %u bad",
		demand_faults, bad);
	reportf(fault_err[0] == 0 && fault_cr2[3] == DEMAND_VA + 3 * PAGE_SIZE + 0x10,
		"read fault err %x, cr2 %08x", fault_err[0], fault_cr2[3]);
	again = demand_faults;
	for (i = 0; i < 16; i++)
		bad += *phys(DEMAND_VA + i * PAGE_SIZE + 0x10) != PATTERN(i, 4);
	reportf(bad == 0 && demand_faults == again, "read again: no more faults (%u)",
		demand_faults - again);

	evict_all();
	*phys(DEMAND_VA + 20 * PAGE_SIZE + 8) = 0x12345678;
	reportf(demand_faults == 1 && fault_err[0] == PF_W && *phys(backing[20] + 8) == 0x12345678,
		"write on demand: err %x, store landed in the backing frame", fault_err[0]);
}

static void test_rep_movs(void)
{
	uint32_t src = SCRATCH_START, dst = DEMAND_VA + 0x800, n = 3 * 1024, s, d, c, w;
	unsigned bad = 0;

	for (w = 0; w < n; w++)
		phys(src)[w] = 0x5c000000u + w;
	/* Destination: from the middle of page 0 through pages 1, 2 and into 3. */
	evict_all();
	*pg_pte(kernel_pd, dst, false, 0) = backing[0] | PTE_P | PTE_RW | PTE_US;
	s = src;
	d = dst;
	c = n;
	asm volatile("rep movsl" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
	for (w = 0; w < n; w++)
		bad += phys(dst)[w] != 0x5c000000u + w;
	reportf(bad == 0 && c == 0 && s == src + 4 * n && d == dst + 4 * n,
		"rep movsl into not-present pages: %u bad words, ecx %u, esi/edi advanced", bad, c);
	reportf(demand_faults == 3 && fault_cr2[0] == DEMAND_VA + PAGE_SIZE &&
		fault_cr2[2] == DEMAND_VA + 3 * PAGE_SIZE && fault_err[0] == PF_W,
		"3 write faults at the page starts: %u faults, cr2 %08x .. %08x", demand_faults,
		fault_cr2[0], fault_cr2[2]);

	/* Source crossing into not-present pages (reads fault, the copy resumes). */
	evict_all();
	s = DEMAND_VA + 0x7fc;
	d = SCRATCH_START + 0x10000;
	c = 1024 + 2;
	asm volatile("rep movsl" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
	bad = 0;
	for (w = 0; w < 1024 + 2; w++) {
		uint32_t off = 0x7fc + 4 * w;

		bad += phys(SCRATCH_START + 0x10000)[w] != PATTERN(off >> 12, (off & 0xfff) / 4);
	}
	reportf(bad == 0 && c == 0 && demand_faults == 2 && fault_err[0] == 0,
		"rep movsl from not-present pages: %u bad, %u read faults", bad, demand_faults);
}

/* Code pages on demand, including an instruction straddling into a missing page. */
static void test_code(void)
{
	const uint32_t at = DEMAND_VA + 10 * PAGE_SIZE;
	volatile uint8_t *b9 = (volatile uint8_t *)phys(backing[9]);
	volatile uint8_t *b10 = (volatile uint8_t *)phys(backing[10]);
	volatile uint8_t *b12 = (volatile uint8_t *)phys(backing[12]);
	uint32_t r;

	evict_all();
	b10[0] = OP_MOV_EAX_IMM;
	b10[1] = 0x11; b10[2] = 0x22; b10[3] = 0x33; b10[4] = 0x44;
	b10[5] = OP_RET;
	r = ((uint32_t (*)(void))(uintptr_t)at)();
	reportf(r == 0x44332211 && demand_faults == 1 && fault_err[0] == 0 && fault_cr2[0] == at,
		"jump into a not-present code page: ran it after 1 fault (err %x cr2 %08x)",
		fault_err[0], fault_cr2[0]);

	/*
	 * mov $imm32, %eax whose opcode is the last byte of page 9 and whose
	 * immediate is on page 10.  First with both present but page 10 backed
	 * by a frame that is not physically next to page 9's.
	 */
	evict_all();
	b9[0xfff] = OP_MOV_EAX_IMM;
	b12[0] = 0x78; b12[1] = 0x56; b12[2] = 0x34; b12[3] = 0x12;
	b12[4] = OP_RET;
	*pg_pte(kernel_pd, at - PAGE_SIZE, false, 0) = backing[9] | PTE_P | PTE_RW | PTE_US;
	*pg_pte(kernel_pd, at, false, 0) = backing[12] | PTE_P | PTE_RW | PTE_US;
	r = ((uint32_t (*)(void))(uintptr_t)(at - 1))();
	reportf(r == 0x12345678 && demand_faults == 0,
		"instruction straddling two present pages, frames apart: 0x%x", r);

	/* Then with page 10 missing: the fetch faults at its start, the pager maps it. */
	evict_all();
	b9[0xfff] = OP_MOV_EAX_IMM;
	b10[0] = 0xef; b10[1] = 0xbe; b10[2] = 0xad; b10[3] = 0xde;
	b10[4] = OP_RET;
	*pg_pte(kernel_pd, at - PAGE_SIZE, false, 0) = backing[9] | PTE_P | PTE_RW | PTE_US;
	r = ((uint32_t (*)(void))(uintptr_t)(at - 1))();
	reportf(r == 0xdeadbeef && demand_faults == 1 && fault_cr2[0] == at && fault_err[0] == 0,
		"instruction straddling into a missing page: 0x%x, %u fault at %08x", r, demand_faults,
		fault_cr2[0]);
}

/* A ring-3 program pushing below its stack's only mapped page; the kernel grows the stack. */
static uint32_t user_push_deep(void)
{
	uint32_t sum;

	/* 3500 pushes (with the return address 14 KiB: three more pages), then pop and sum. */
	asm volatile("movl $3500, %%ecx\n"
		     "1:\tpushl %%ecx\n\t"
		     "loop 1b\n\t"
		     "xorl %0, %0\n\t"
		     "movl $3500, %%ecx\n"
		     "2:\taddl (%%esp), %0\n\t"
		     "addl $4, %%esp\n\t"
		     "loop 2b"
		     : "=&r"(sum) : : "ecx", "memory", "cc");
	return sum;
}

static void test_user_stack(void)
{
	const uint32_t top = DEMAND_VA + 40 * PAGE_SIZE;	/* stack pages 36..39 */
	uint32_t sum, i;
	bool user_faults = true;

	evict_all();
	/* Only the top page exists, as a fresh process's stack would. */
	*pg_pte(kernel_pd, top - PAGE_SIZE, false, 0) = backing[39] | PTE_P | PTE_RW | PTE_US;
	invlpg(top - PAGE_SIZE);
	sum = user_call(user_push_deep, (void *)(uintptr_t)top, 0);
	for (i = 0; i < demand_faults && i < ARRAY_SIZE(fault_err); i++)
		if (fault_err[i] != (PF_W | PF_U) || (fault_cs[i] & 3) != 3 ||
		    fault_cr2[i] != top - (i + 2) * PAGE_SIZE + PAGE_SIZE - 4)
			user_faults = false;
	reportf(sum == 3500u * 3501u / 2, "user pushes 14 KiB below its stack: sum %u", sum);
	reportf(demand_faults == 3 && user_faults,
		"3 user write faults (err 6, CPL 3) at each new page's top word: %u faults, first cr2 %08x",
		demand_faults, fault_cr2[0]);
}

/* A fault the pager does not own still reaches the fallback (here: CATCH). */
static void test_not_ours(void)
{
	uint32_t v;
	bool ok;

	evict_all();
	ok = probe_read(DEMAND_VA + DEMAND_PAGES * PAGE_SIZE, &v);
	reportf(!ok && demand_faults == 0 && pf_last.cr2 == DEMAND_VA + DEMAND_PAGES * PAGE_SIZE,
		"fault outside the demand region is not resolved: cr2 %08x", pf_last.cr2);
	/* A protection fault inside it is not a demand fault either. */
	*phys(DEMAND_VA) = 1;	/* maps page 0 */
	*pg_pte(kernel_pd, DEMAND_VA, false, 0) &= ~PTE_US;
	invlpg(DEMAND_VA);
	ok = probe_user_read(DEMAND_VA, &v);
	reportf(!ok && demand_faults == 1 && pf_last.err == (PF_P | PF_U),
		"protection fault in the region goes to the fallback: err %x", pf_last.err);
}

int main(void)
{
	unsigned i;

	pg_init(PTE_P | PTE_RW | PTE_US);
	for (i = 0; i < DEMAND_PAGES; i++) {
		backing[i] = pg_alloc();
		pg_pte(kernel_pd, DEMAND_VA + i * PAGE_SIZE, true, PTE_P | PTE_RW | PTE_US);
	}
	pf_hook = demand_hook;
	pg_on(kernel_pd);
	test_touch();
	test_rep_movs();
	test_user_stack();
	test_not_ours();
	test_code();		/* last: its straddling fetch is the hardest case */
	pg_off();
	return 0;
}
