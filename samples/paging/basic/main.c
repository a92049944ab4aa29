/* paging_basic: identity-mapped kernel on 4 KiB pages, a higher-half alias run from, CR3 reloads, aliased pages. */
#include "pg.h"

#define HIGH_BASE	0xc0000000u	/* higher-half alias of physical 0 */
#define HIGH_PDX	(HIGH_BASE >> 22)

/*
 * hh_eip returns its own EIP; hh_run is called through the high alias, moves
 * its stack there too, unmaps the low 4 MiB (PDE 0: code, data, stack) and
 * reads and writes a word through the high alias before putting PDE 0 back.
 * Nothing in between may touch a low address, so it is plain assembly.
 */
asm(".text\n"
    ".globl hh_eip\n"
    "hh_eip:\n\t"
    "call 1f\n"
    "1:\tpopl %eax\n\t"
    "subl $1b - hh_eip, %eax\n\t"
    "ret\n"
    /* uint32_t hh_run(uint32_t *pd_high, uint32_t *data_high) */
    ".globl hh_run\n"
    "hh_run:\n\t"
    "pushl %ebx\n\t"
    "pushl %esi\n\t"
    "movl 12(%esp), %esi\n\t"
    "movl 16(%esp), %edx\n\t"
    "movl %esp, %ebx\n\t"
    "addl $0xc0000000, %esp\n\t"
    "movl (%esi), %ecx\n\t"
    "movl $0, (%esi)\n\t"
    "movl %cr3, %eax\n\t"
    "movl %eax, %cr3\n\t"
    "pushl (%edx)\n\t"			/* the stack works through the alias */
    "movl $0x600dcafe, 4(%edx)\n\t"
    "call 2f\n"				/* and so do relative calls */
    "2:\tpopl %eax\n\t"
    "movl %eax, 8(%edx)\n\t"		/* where we ran */
    "popl %eax\n\t"
    "movl %ecx, (%esi)\n\t"
    "movl %cr3, %ecx\n\t"
    "movl %ecx, %cr3\n\t"
    "movl %ebx, %esp\n\t"
    "popl %esi\n\t"
    "popl %ebx\n\t"
    "ret\n");

extern char hh_eip[], hh_run[];
typedef uint32_t (*eip_fn)(void);
typedef uint32_t (*run_fn)(volatile uint32_t *pd, volatile uint32_t *data);

static volatile uint32_t hh_data[4];
static volatile uint32_t counter;

static void test_identity(void)
{
	volatile uint32_t *p = &counter;
	uint32_t cr0;

	pg_on(kernel_pd);
	cr0 = read_cr0();
	reportf(cr0 & CR0_PG, "paging on, identity-mapped 4 KiB pages: cr0 0x%08x", cr0);
	reportf(read_cr3() == PA(kernel_pd), "cr3 reads back 0x%08x",
		read_cr3());
	*p = 41;
	*p += 1;
	report(*p == 42, "kernel data read and written through the identity map");
	flush_tlb();
	report(*p == 42, "cr3 reload keeps the mappings");
}

static void test_second_pd(void)
{
	volatile uint32_t *pd2 = pg_new_pd();
	uint32_t fa = pg_alloc(), fb = pg_alloc();
	volatile uint32_t *t = phys(TEST_VA);

	*phys(fa) = 0xaaaa0001;
	*phys(fb) = 0xbbbb0002;
	pg_map(kernel_pd, TEST_VA, fa, PTE_P | PTE_RW);
	pg_map(pd2, TEST_VA, fb, PTE_P | PTE_RW);
	reportf(*t == 0xaaaa0001, "TEST_VA in the first directory: 0x%08x", *t);
	write_cr3(PA(pd2));
	reportf(*t == 0xbbbb0002, "same address after switching cr3: 0x%08x", *t);
	*t = 0xbbbb0003;
	write_cr3(PA(kernel_pd));
	reportf(*t == 0xaaaa0001 && *phys(fb) == 0xbbbb0003,
		"switch back: 0x%08x, the other frame holds 0x%08x", *t, *phys(fb));

	/* A PTE rewritten without invlpg: a cr3 write flushes it. */
	*pg_pte(kernel_pd, TEST_VA, false, 0) = fb | PTE_P | PTE_RW;
	flush_tlb();
	reportf(*t == 0xbbbb0003, "PTE retargeted, cr3 reload shows the new frame: 0x%08x", *t);
	*pg_pte(kernel_pd, TEST_VA, false, 0) = 0;
	flush_tlb();
	pg_destroy_pd(pd2, false);
	pg_free(fa);
	pg_free(fb);
}

static void test_aliases(void)
{
	uint32_t f = pg_alloc();
	const uint32_t a = TEST_VA + 0x3000, b = TEST_VA + 0x7000, c = TEST_VA + 0x1c05000;
	volatile uint32_t *pa = phys(a), *pb = phys(b), *pc = phys(c);
	volatile uint8_t *ba = (volatile uint8_t *)pa, *bc = (volatile uint8_t *)pc;
	unsigned i, bad = 0;

	pg_map(kernel_pd, a, f, PTE_P | PTE_RW);
	pg_map(kernel_pd, b, f, PTE_P | PTE_RW);
	pg_map(kernel_pd, c, f, PTE_P | PTE_RW);	/* another page table */
	pa[0] = 0x11111111;
	reportf(pb[0] == 0x11111111 && pc[0] == 0x11111111 && *phys(f) == 0x11111111,
		"write via alias A seen via B, C and physical: %08x %08x", pb[0], pc[0]);
	pb[1] = 0x22222222;
	pc[2] = 0x33333333;
	reportf(pa[1] == 0x22222222 && pa[2] == 0x33333333 && pc[1] == 0x22222222,
		"writes via B and C seen via A: %08x %08x", pa[1], pa[2]);
	/* Interleaved stores through the aliases, at every offset of the page. */
	for (i = 0; i < 1024; i++) {
		(i & 1 ? pa : pc)[i] = i * 0x01010101u;
		if (pb[i] != i * 0x01010101u)
			bad++;
	}
	for (i = 0; i < 4096; i += 7) {
		ba[i] = (uint8_t)i;
		if (bc[i] != (uint8_t)i)
			bad++;
	}
	reportf(bad == 0, "interleaved word and byte stores across three aliases: %u bad", bad);
	/* A word straddling two linear pages that both map the frame wraps within it. */
	pg_map(kernel_pd, a + PAGE_SIZE, f, PTE_P | PTE_RW);
	*(volatile uint32_t *)(uintptr_t)(a + PAGE_SIZE - 2) = 0xa1b2c3d4;
	reportf(*(volatile uint16_t *)(uintptr_t)(b + PAGE_SIZE - 2) == 0xc3d4 &&
		*(volatile uint16_t *)(uintptr_t)b == 0xa1b2,
		"page-straddling store lands in both halves through the same frame");
	*pg_pte(kernel_pd, a, false, 0) = 0;
	*pg_pte(kernel_pd, a + PAGE_SIZE, false, 0) = 0;
	*pg_pte(kernel_pd, b, false, 0) = 0;
	*pg_pte(kernel_pd, c, false, 0) = 0;
	flush_tlb();
	pg_free(f);
}

static void test_higher_half(void)
{
	uint32_t i, eip;
	volatile uint32_t *pd_high;
	volatile uint32_t *high_counter;
	uint32_t r;
	bool ok;

	for (i = 0; i < IDENT_END / PDE_SPAN; i++)
		kernel_pd[HIGH_PDX + i] = kernel_pd[i];
	flush_tlb();
	high_counter = phys(HIGH_BASE + (uint32_t)(uintptr_t)&counter);
	counter = 7;
	reportf(*high_counter == 7, "kernel data through the 0xc0000000 alias: %u", *high_counter);
	*high_counter = 8;
	report(counter == 8, "write through the high alias seen at the low address");

	eip = ((eip_fn)(uintptr_t)(HIGH_BASE + (uint32_t)(uintptr_t)hh_eip))();
	reportf(eip == HIGH_BASE + (uint32_t)(uintptr_t)hh_eip,
		"code runs at the high alias: eip 0x%08x", eip);

	hh_data[0] = 0x5eed;
	pd_high = phys(HIGH_BASE + PA(kernel_pd));
	r = ((run_fn)(uintptr_t)(HIGH_BASE + (uint32_t)(uintptr_t)hh_run))(
		pd_high, phys(HIGH_BASE + (uint32_t)(uintptr_t)hh_data));
	reportf(r == 0x5eed && hh_data[1] == 0x600dcafe && hh_data[2] >= HIGH_BASE,
		"low 4 MiB unmapped, running high: read 0x%x, wrote 0x%x, eip 0x%08x",
		r, hh_data[1], hh_data[2]);
	reportf(kernel_pd[0] != 0, "PDE 0 restored: 0x%08x", kernel_pd[0]);

	for (i = 0; i < IDENT_END / PDE_SPAN; i++)
		kernel_pd[HIGH_PDX + i] = 0;
	flush_tlb();
	ok = !probe_read(HIGH_BASE + 0x100000, &r);
	reportf(ok && pf_last.cr2 == HIGH_BASE + 0x100000 && pf_last.err == 0, "high alias removed: read faults, cr2 0x%08x err %u",
		pf_last.cr2, pf_last.err);
}

static void test_off_on(void)
{
	counter = 99;
	pg_off();
	reportf(!(read_cr0() & CR0_PG) && counter == 99, "paging off: same data at the same addresses");
	counter = 100;
	pg_on(kernel_pd);
	reportf((read_cr0() & CR0_PG) && counter == 100, "paging back on");
}

int main(void)
{
	pg_init(PTE_P | PTE_RW);
	test_identity();
	test_second_pd();
	test_aliases();
	test_higher_half();
	test_off_on();
	pg_off();
	return 0;
}
