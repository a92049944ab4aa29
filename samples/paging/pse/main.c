/* paging_pse: 4 MiB pages (CR4.PSE): contents, A/D in the PDE, mixed with 4 KiB tables, a 4 MiB identity kernel. */
#include "pg.h"

#define BIG0	SCRATCH_START			/* 16 MiB: a 4 MiB-aligned frame */
#define BIG1	(SCRATCH_START + PDE_SPAN)	/* 20 MiB */

static void fill(uint32_t pa, uint32_t tag)
{
	uint32_t off;

	/* One word per KiB is enough to tell frames and offsets apart. */
	for (off = 0; off < PDE_SPAN; off += 1024)
		*phys(pa + off) = tag ^ off;
}

static unsigned check(uint32_t va, uint32_t tag)
{
	uint32_t off;
	unsigned bad = 0;

	for (off = 0; off < PDE_SPAN; off += 1024)
		if (*phys(va + off) != (tag ^ off))
			bad++;
	return bad;
}

static void test_big_page(void)
{
	const uint32_t va = TEST_VA;
	volatile uint32_t *pde = &kernel_pd[PDX(va)];
	unsigned bad;

	fill(BIG0, 0x10000000);
	fill(BIG1, 0x20000000);
	*pde = BIG0 | PDE_PS | PTE_P | PTE_RW;
	flush_tlb();
	bad = check(va, 0x10000000);
	reportf(bad == 0, "4 MiB page reads the right frame at 4096 offsets: %u bad", bad);
	reportf(*pde & PTE_A, "PDE.A set by the reads: PDE 0x%08x", *pde);
	reportf(!(*pde & PTE_D), "no PDE.D before a write");
	*phys(va + 0x3ffffc) = 0xfeedface;
	reportf(*phys(BIG0 + 0x3ffffc) == 0xfeedface && (*pde & PTE_D),
		"write at the last word lands in the frame and sets PDE.D");

	/* invlpg of any address in a large page drops the whole translation. */
	*pde = BIG1 | PDE_PS | PTE_P | PTE_RW;
	invlpg(va + 0x3000);
	bad = check(va, 0x20000000);
	reportf(bad == 0, "PDE retargeted, invlpg elsewhere in the page: new frame everywhere (%u bad)",
		bad);
	*pde = 0;
	flush_tlb();
}

static void test_mixed(void)
{
	const uint32_t big = TEST_VA + PDE_SPAN, small = big + PDE_SPAN;
	uint32_t f0 = pg_alloc(), f1 = pg_alloc();
	volatile uint32_t *pde = &kernel_pd[PDX(big)];
	volatile uint16_t *edge;
	uint32_t v;

	*pde = BIG0 | PDE_PS | PTE_P | PTE_RW;
	pg_map(kernel_pd, small, f0, PTE_P | PTE_RW);
	pg_map(kernel_pd, small + PAGE_SIZE, f1, PTE_P | PTE_RW);
	flush_tlb();
	*phys(small) = 0x51;
	*phys(small + PAGE_SIZE) = 0x52;
	*phys(big + 0x1000) = 0xb1;
	reportf(*phys(f0) == 0x51 && *phys(f1) == 0x52 && *phys(BIG0 + 0x1000) == 0xb1,
		"4K pages next to a 4M page each reach their own frame");
	/* A word straddling the 4M page's end into the 4K table's first page. */
	*(volatile uint32_t *)(uintptr_t)(small - 2) = 0xaaaabbbb;
	edge = (volatile uint16_t *)(uintptr_t)phys(BIG0 + PDE_SPAN - 2);
	reportf(*edge == 0xbbbb && *(volatile uint16_t *)phys(f0) == 0xaaaa,
		"store straddling 4M -> 4K boundary splits across both frames");
	/* PS toggled on the same PDE: 4K table one moment, 4M page the next. */
	*pde = (kernel_pd[PDX(small)] & PTE_FRAME) | PTE_P | PTE_RW;
	flush_tlb();
	v = *phys(big + PAGE_SIZE);
	reportf(v == 0x52, "same PDE as a page-table pointer: 0x%x (want 0x52)", v);
	*pde = BIG0 | PDE_PS | PTE_P | PTE_RW;
	flush_tlb();
	v = *phys(big + 0x1000);
	reportf(v == 0xb1, "and back to a 4M page: 0x%x (want 0xb1)", v);

	/* With CR4.PSE clear, PDE bit 7 is ignored: the PDE points at a page table. */
	*pde = (kernel_pd[PDX(small)] & PTE_FRAME) | PDE_PS | PTE_P | PTE_RW;
	write_cr4(read_cr4() & ~CR4_PSE);
	flush_tlb();
	v = *phys(big + PAGE_SIZE);
	reportf(v == 0x52, "CR4.PSE=0: PS bit ignored, PDE used as a page table: 0x%x", v);
	/* (Not read back with PSE on: a page-table address in a 4M PDE sets reserved/PSE-36 bits.) */
	write_cr4(read_cr4() | CR4_PSE);
	*pde = 0;
	*pg_pte(kernel_pd, small, false, 0) = 0;
	*pg_pte(kernel_pd, small + PAGE_SIZE, false, 0) = 0;
	flush_tlb();
	pg_free(f0);
	pg_free(f1);
}

static volatile uint32_t kcount;

/* A kernel identity-mapped with 4 MiB pages only (no page tables at all). */
static void test_big_kernel(void)
{
	volatile uint32_t *pd = phys(pg_alloc());
	unsigned i;

	for (i = 0; i < IDENT_END / PDE_SPAN; i++)
		pd[i] = (i * PDE_SPAN) | PDE_PS | PTE_P | PTE_RW | PTE_US;
	kcount = 1;
	write_cr3(PA(pd));
	kcount++;
	report_info("running on 4 MiB identity pages, cr3 0x%08x", read_cr3());
	reportf(kcount == 2 && (pd[0] & PTE_A) && (pd[0] & PTE_D),
		"kernel runs on 4M identity pages; PDE 0 has A and D: 0x%08x", pd[0]);
	write_cr3(PA(kernel_pd));
	pg_free(PA(pd));
}

int main(void)
{
	if (!(cpuid(1, 0).edx & CPUID_PSE)) {
		report(false, "CPUID reports no PSE");
		return 0;
	}
	pg_init(PTE_P | PTE_RW | PTE_US);
	write_cr4(read_cr4() | CR4_PSE);
	pg_on(kernel_pd);
	reportf(read_cr4() & CR4_PSE, "CR4.PSE set: cr4 0x%08x", read_cr4());
	test_big_page();
	test_mixed();
	test_big_kernel();
	pg_off();
	return 0;
}
