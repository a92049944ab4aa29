/* paging_ad: accessed and dirty bits in PDEs and PTEs, set exactly when hardware sets them. */
#include "pg.h"

#define OP_RET		0xc3	/* ret */

static volatile uint32_t *pde_of(uint32_t va)
{
	return &kernel_pd[PDX(va)];
}

static uint32_t ad(uint32_t e)
{
	return e & (PTE_A | PTE_D);
}

static const char *ad_name(uint32_t e)
{
	static const char *const n[4] = { "--", "A-", "-D", "AD" };

	return n[((e & PTE_A) ? 1 : 0) | ((e & PTE_D) ? 2 : 0)];
}

static void test_4k(void)
{
	const uint32_t va = TEST_VA + 0x3000;
	uint32_t f = pg_alloc(), v;
	volatile uint32_t *pte, *pde;
	bool ok;
	volatile uint32_t *p = phys(va);

	pte = pg_pte(kernel_pd, va, true, PTE_P | PTE_RW | PTE_US);
	pde = pde_of(va);
	*pte = f | PTE_P | PTE_RW;
	flush_tlb();
	reportf(ad(*pde) == 0 && ad(*pte) == 0, "fresh PDE %s PTE %s", ad_name(*pde), ad_name(*pte));

	v = *p;
	reportf(ad(*pde) == PTE_A && ad(*pte) == PTE_A,
		"read sets A in PDE (%s) and PTE (%s), no D", ad_name(*pde), ad_name(*pte));
	/* The read left a clean translation cached: the write must still set D. */
	*p = v + 1;
	reportf(ad(*pte) == (PTE_A | PTE_D), "write after read sets PTE.D: %s", ad_name(*pte));
	reportf(!(*pde & PTE_D), "PDE.D of a page table is never set: PDE %s", ad_name(*pde));

	*pte &= ~(PTE_A | PTE_D);
	*pde &= ~PTE_A;
	invlpg(va);
	v = *p;
	reportf(ad(*pde) == PTE_A && ad(*pte) == PTE_A,
		"cleared, invlpg, read: PDE %s PTE %s", ad_name(*pde), ad_name(*pte));
	*pte &= ~PTE_A;
	invlpg(va);
	*p = 7;
	reportf(ad(*pte) == (PTE_A | PTE_D), "cleared A, invlpg, write sets A and D: %s",
		ad_name(*pte));
	*pte &= ~PTE_D;
	invlpg(va);
	v = *p;
	reportf(ad(*pte) == PTE_A, "cleared D, invlpg, read leaves D clear: %s", ad_name(*pte));
	*(volatile uint8_t *)p = 1;
	reportf(ad(*pte) == (PTE_A | PTE_D), "then a byte write sets D: %s", ad_name(*pte));

	/* A write to a fresh page without any read before it. */
	*pte = f | PTE_P | PTE_RW;
	flush_tlb();
	*p = 9;
	reportf(ad(*pte) == (PTE_A | PTE_D), "first access a write: %s", ad_name(*pte));

	/* Faulting accesses leave the PTE alone. */
	*pte = f | PTE_P;			/* supervisor, read-only */
	flush_tlb();
	ok = probe_user_read(va, &v);
	reportf(!ok && ad(*pte) == 0,
		"user read of a supervisor page faults, PTE stays %s", ad_name(*pte));
	write_cr0(read_cr0() | CR0_WP);
	ok = probe_write(va, 1);
	reportf(!ok && ad(*pte) == 0,
		"WP=1 write to a read-only page faults, PTE stays %s", ad_name(*pte));
	v = *p;
	ok = probe_write(va, 1);
	reportf(!ok && ad(*pte) == PTE_A,
		"read then faulting write: PTE %s (A from the read, no D)", ad_name(*pte));
	write_cr0(read_cr0() & ~CR0_WP);
	ok = probe_write(va, 1);
	reportf(ok && ad(*pte) == (PTE_A | PTE_D),
		"WP=0 supervisor write to a read-only page sets D: %s", ad_name(*pte));

	/* A user access sets the bits like a supervisor one. */
	*pte = f | PTE_P | PTE_RW | PTE_US;
	flush_tlb();
	ok = probe_user_read(va, &v);
	reportf(ok && ad(*pte) == PTE_A, "user read: %s", ad_name(*pte));
	ok = probe_user_write(va, 3);
	reportf(ok && ad(*pte) == (PTE_A | PTE_D), "user write: %s",
		ad_name(*pte));
	*pte = 0;
	invlpg(va);
	pg_free(f);
}

static void test_fetch_and_string(void)
{
	const uint32_t code = TEST_VA + 0x10000, src = TEST_VA + 0x11000, dst = TEST_VA + 0x12000;
	uint32_t fc = pg_alloc(), fs = pg_alloc(), fd = pg_alloc();
	volatile uint32_t *pc = pg_pte(kernel_pd, code, true, PTE_P | PTE_RW | PTE_US);
	volatile uint32_t *ps = pg_pte(kernel_pd, src, true, 0), *pdst = pg_pte(kernel_pd, dst, true, 0);
	uint32_t n = 1024, s = src, d = dst;

	*(volatile uint8_t *)phys(fc) = OP_RET;
	*pc = fc | PTE_P | PTE_RW;
	*ps = fs | PTE_P | PTE_RW;
	*pdst = fd | PTE_P | PTE_RW;
	flush_tlb();
	((void (*)(void))(uintptr_t)code)();
	reportf(ad(*pc) == PTE_A, "instruction fetch sets A only: %s", ad_name(*pc));

	asm volatile("rep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	reportf(ad(*ps) == PTE_A && ad(*pdst) == (PTE_A | PTE_D),
		"rep movsl: source %s, destination %s", ad_name(*ps), ad_name(*pdst));
	*pc = *ps = *pdst = 0;
	flush_tlb();
	pg_free(fc);
	pg_free(fs);
	pg_free(fd);
}

static void test_4m(void)
{
	const uint32_t va = TEST_VA + 2 * PDE_SPAN;
	volatile uint32_t *pde = pde_of(va);
	uint32_t v;
	bool ok;
	volatile uint32_t *p = phys(va + 0x2ff000);

	if (!(cpuid(1, 0).edx & CPUID_PSE)) {
		report_info("no PSE: 4 MiB A/D skipped");
		return;
	}
	write_cr4(read_cr4() | CR4_PSE);
	*pde = SCRATCH_START | PDE_PS | PTE_P | PTE_RW;
	flush_tlb();
	v = *p;
	reportf(ad(*pde) == PTE_A, "4M read sets PDE.A only: %s", ad_name(*pde));
	*p = v;
	reportf(ad(*pde) == (PTE_A | PTE_D), "4M write sets PDE.D: %s", ad_name(*pde));
	*pde &= ~(PTE_A | PTE_D);
	invlpg(va);
	*(volatile uint16_t *)(uintptr_t)(va + 0x100) = 1;
	reportf(ad(*pde) == (PTE_A | PTE_D), "4M cleared, invlpg, write: %s", ad_name(*pde));
	*pde = SCRATCH_START | PDE_PS | PTE_P;	/* read-only, supervisor */
	flush_tlb();
	ok = probe_user_read(va, &v);
	reportf(!ok && ad(*pde) == 0,
		"4M faulting user read leaves PDE %s", ad_name(*pde));
	write_cr0(read_cr0() | CR0_WP);
	ok = probe_write(va, 0);
	reportf(!ok && ad(*pde) == 0,
		"4M faulting WP=1 write leaves PDE %s", ad_name(*pde));
	write_cr0(read_cr0() & ~CR0_WP);
	*pde = 0;
	flush_tlb();
	write_cr4(read_cr4() & ~CR4_PSE);
}

int main(void)
{
	pg_init(PTE_P | PTE_RW | PTE_US);
	pg_on(kernel_pd);
	test_4k();
	test_fetch_and_string();
	test_4m();
	pg_off();
	return 0;
}
