/* paging_global: global pages (CR4.PGE) across CR3 switches and PGE toggles; invlpg makes PTE changes visible. */
#include "pg.h"

#define TAG(n)		(0x61000000u + (n))

static volatile uint32_t *pd_a, *pd_b;
static volatile uint32_t kdata;

static void set_pge(bool on)
{
	write_cr4(on ? read_cr4() | CR4_PGE : read_cr4() & ~CR4_PGE);
}

static void test_across_cr3(uint32_t gva, volatile uint32_t *gpte, const uint32_t *fr)
{
	const uint32_t pva = TEST_VA + PDE_SPAN;	/* private, non-global, per directory */
	unsigned i, bad = 0;

	pg_map(pd_a, pva, fr[2], PTE_P | PTE_RW);
	pg_map(pd_b, pva, fr[3], PTE_P | PTE_RW);
	write_cr3(PA(pd_a));
	reportf(*phys(gva) == TAG(0) && *phys(pva) == TAG(2),
		"directory A: global page 0x%x, private page 0x%x", *phys(gva), *phys(pva));
	for (i = 0; i < 2000; i++) {
		write_cr3(PA(i & 1 ? pd_a : pd_b));
		if (*phys(gva) != TAG(0) || *phys(pva) != TAG(i & 1 ? 2 : 3) || kdata != i)
			bad++;
		kdata = i + 1;
	}
	reportf(bad == 0, "2000 CR3 switches A/B: global page, private pages and global kernel "
		"data right every time (%u bad)", bad);

	/* A global PTE change made visible with invlpg, in both directories. */
	*gpte = fr[1] | PTE_P | PTE_RW | PTE_G;
	invlpg(gva);
	reportf(*phys(gva) == TAG(1), "global PTE retargeted + invlpg: 0x%x", *phys(gva));
	write_cr3(PA(pd_b));
	reportf(*phys(gva) == TAG(1), "and in the other directory after a CR3 switch: 0x%x",
		*phys(gva));
	*phys(gva) = TAG(0x11);
	write_cr3(PA(pd_a));
	reportf(*phys(fr[1]) == TAG(0x11) && *phys(gva) == TAG(0x11),
		"write through the global page in B seen in A");
	*phys(fr[1]) = TAG(1);

	/* Changed again, made visible by toggling CR4.PGE (flushes global entries too). */
	*gpte = fr[0] | PTE_P | PTE_RW | PTE_G;
	set_pge(false);
	set_pge(true);
	reportf(*phys(gva) == TAG(0), "global PTE retargeted + CR4.PGE off/on: 0x%x", *phys(gva));

	/* Not present, then present again (no invalidation needed for NP->P). */
	*gpte = fr[0] | PTE_RW | PTE_G;
	invlpg(gva);
	{
		uint32_t v;
		bool ok = probe_read(gva, &v);

		reportf(!ok && pf_last.err == 0 && pf_last.cr2 == gva,
			"global PTE made not present + invlpg: #PF err %x cr2 %08x",
			pf_last.err, pf_last.cr2);
		*gpte = fr[0] | PTE_P | PTE_RW | PTE_G;
		write_cr3(PA(pd_b));
		ok = probe_read(gva, &v);
		reportf(ok && v == TAG(0), "present again (no invlpg), after a CR3 switch: 0x%x", v);
		write_cr3(PA(pd_a));
	}
}

static void test_pge_off(uint32_t gva, volatile uint32_t *gpte, const uint32_t *fr)
{
	/* With CR4.PGE clear the G bit means nothing: a CR3 write flushes every entry. */
	set_pge(false);
	reportf(*phys(gva) == TAG(0), "CR4.PGE=0: G-bit page still mapped: 0x%x", *phys(gva));
	*gpte = fr[1] | PTE_P | PTE_RW | PTE_G;
	write_cr3(PA(pd_b));
	reportf(*phys(gva) == TAG(1), "CR4.PGE=0: PTE change visible after a CR3 write: 0x%x",
		*phys(gva));
	*gpte = fr[0] | PTE_P | PTE_RW | PTE_G;
	flush_tlb();
	set_pge(true);
	reportf(*phys(gva) == TAG(0), "CR4.PGE back on: 0x%x", *phys(gva));
	write_cr3(PA(pd_a));
}

static void test_global_4m(void)
{
	const uint32_t va = TEST_VA + 2 * PDE_SPAN;
	uint32_t v;
	unsigned i, bad = 0;

	if (!(cpuid(1, 0).edx & CPUID_PSE)) {
		report_info("no PSE: global 4 MiB pages skipped");
		return;
	}
	write_cr4(read_cr4() | CR4_PSE);
	*phys(SCRATCH_START + 0x10) = TAG(0x40);
	pd_a[PDX(va)] = SCRATCH_START | PDE_PS | PTE_G | PTE_P | PTE_RW;
	pd_b[PDX(va)] = SCRATCH_START | PDE_PS | PTE_G | PTE_P | PTE_RW;
	flush_tlb();
	for (i = 0; i < 200; i++) {
		write_cr3(PA(i & 1 ? pd_a : pd_b));
		v = *phys(va + 0x10);
		if (v != TAG(0x40))
			bad++;
	}
	reportf(bad == 0, "global 4 MiB page across 200 CR3 switches (%u bad)", bad);
	pd_a[PDX(va)] = 0;
	pd_b[PDX(va)] = 0;
	invlpg(va);
	write_cr3(PA(pd_a));
	write_cr4(read_cr4() & ~CR4_PSE);
}

int main(void)
{
	const uint32_t gva = TEST_VA + 0x4000;
	uint32_t fr[4], gpt;
	volatile uint32_t *gpte;
	unsigned i;

	if (!(cpuid(1, 0).edx & CPUID_PGE)) {
		report(false, "CPUID reports no PGE");
		return 0;
	}
	/* The kernel identity map itself is global, as a real kernel's would be. */
	pg_init(PTE_P | PTE_RW | PTE_US | PTE_G);
	for (i = 0; i < 4; i++) {
		fr[i] = pg_alloc();
		*phys(fr[i]) = TAG(i);
	}
	pd_a = kernel_pd;
	pd_b = pg_new_pd();
	/* One page table holding the global mapping, shared by both directories. */
	gpt = pg_alloc();
	pd_a[PDX(gva)] = gpt | PTE_P | PTE_RW | PTE_US;
	pd_b[PDX(gva)] = gpt | PTE_P | PTE_RW | PTE_US;
	gpte = &phys(gpt)[PTX(gva)];
	*gpte = fr[0] | PTE_P | PTE_RW | PTE_G;

	pg_on(pd_a);
	set_pge(true);
	reportf(read_cr4() & CR4_PGE, "CR4.PGE set: cr4 0x%08x", read_cr4());
	test_across_cr3(gva, gpte, fr);
	test_pge_off(gva, gpte, fr);
	test_global_4m();
	set_pge(false);
	pg_off();
	return 0;
}
