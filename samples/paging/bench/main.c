/* paging_bench: ns per operation (rdtsc, calibrated on PIT channel 2) for traps, I/O, page faults, PTE updates and fork-like address-space churn. */
#include "pg.h"
#include "pc.h"

#define SYSCALL_VEC	0x80
#define BENCH_VA	(TEST_VA + 0x1000)	/* faulting / toggled page */
#define FORK_VA		(TEST_VA + PDE_SPAN)	/* the child's private pages */
#define FORK_PAGES	4
#define UNUSED_PORT	0xed	/* no device; Linux's alternative delay port */
#define CAL_MS		50	/* TSC calibration window */

static uint32_t tsc_khz;
static uint64_t rdtsc_cost;	/* one back-to-back rdtsc pair, in ticks */

/* 64-by-32 division without libgcc: two divl steps. */
static uint64_t udiv64(uint64_t n, uint32_t d)
{
	uint32_t hi = n >> 32, lo = (uint32_t)n, qhi, qlo, r;

	qhi = hi / d;
	r = hi % d;
	asm("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
	return ((uint64_t)qhi << 32) | qlo;
}

static void calibrate(void)
{
	uint64_t t0, t1;
	unsigned spins = 0;

	pit_ch2_start(CAL_MS * PIT_HZ / 1000);
	t0 = rdtsc();
	while (!pit_ch2_expired() && ++spins < 100000000u)
		;
	t1 = rdtsc();
	tsc_khz = (uint32_t)udiv64(t1 - t0, CAL_MS);
	if (!tsc_khz)
		tsc_khz = 1;
	t0 = rdtsc();
	for (spins = 0; spins < 1000; spins++)
		asm volatile("rdtsc" : : : "eax", "edx");
	rdtsc_cost = udiv64(rdtsc() - t0, 1000);
	report_info("tsc %u kHz (PIT channel 2 over %d ms), rdtsc %u ticks", tsc_khz, CAL_MS,
		    (uint32_t)rdtsc_cost);
}

static void row(const char *op, uint64_t ticks, uint32_t n)
{
	/* tenths of a nanosecond: ticks * 10^7 / (kHz * n) */
	uint64_t x10 = udiv64(udiv64(ticks * 10000u, tsc_khz) * 1000u, n);

	printf("%-40s %8u.%u\n", op, (uint32_t)(x10 / 10), (uint32_t)(x10 % 10));
}

/* ---- ring 3 syscall round trip ---- */

static volatile uint64_t user_ticks;
static volatile uint32_t user_n;

static void sys_nop(struct trap_frame *f)
{
	f->eax = 0;
}

static uint32_t user_syscalls(void)
{
	uint32_t i, n = user_n;
	uint64_t t0 = rdtsc();

	for (i = 0; i < n; i++)
		asm volatile("int $0x80" : : "a"(0) : "memory");
	user_ticks = rdtsc() - t0;
	return 0;
}

static void bench_syscall(uint32_t n)
{
	static uint8_t ustack[4096] __attribute__((aligned(16)));

	idt_set_gate(SYSCALL_VEC, idt_stub(SYSCALL_VEC), IDT_INTR32, 3);
	trap_set_handler(SYSCALL_VEC, sys_nop);
	user_n = n;
	user_call(user_syscalls, ustack + sizeof(ustack), 0);
	row("syscall (int 0x80 from ring 3)", user_ticks, n);
}

/* ---- plain instructions ---- */

asm(".text\n"
    "bench_ret:\n\t"
    "ret\n");

static void bench_insns(uint32_t n)
{
	uint64_t t0;
	uint32_t i;

	t0 = rdtsc();
	for (i = 0; i < n; i++)
		asm volatile("inb %0, %%al" : : "i"(UNUSED_PORT) : "eax", "memory");
	row("in (unused port 0xed)", rdtsc() - t0, n);

	t0 = rdtsc();
	for (i = 0; i < n; i++)
		asm volatile("outb %%al, %0" : : "i"(UNUSED_PORT), "a"(0) : "memory");
	row("out (unused port 0xed)", rdtsc() - t0, n);

	t0 = rdtsc();
	for (i = 0; i < 10 * n; i++)
		asm volatile("cli; sti" : : : "memory");
	cli();
	row("cli/sti pair", rdtsc() - t0, 10 * n);

	t0 = rdtsc();
	for (i = 0; i < 10 * n; i++)
		asm volatile("call bench_ret" : : : "memory");
	row("call/ret", rdtsc() - t0, 10 * n);
}

/* ---- exceptions handled by the guest ---- */

static volatile uint32_t pte_mode_frame;	/* nonzero: the #PF hook maps this frame */

/* Skip the 2-byte faulting instruction (movl (%ebx),%eax / divl %ecx) or map the page. */
static bool bench_pf_hook(struct trap_frame *f)
{
	if (pf_last.cr2 != BENCH_VA)
		return false;
	if (pte_mode_frame) {
		*pg_pte(kernel_pd, BENCH_VA, false, 0) = pte_mode_frame | PTE_P | PTE_RW;
		return true;
	}
	f->eip += 2;
	return true;
}

static void de_skip(struct trap_frame *f)
{
	f->eip += 2;
}

static inline void touch(uint32_t va)
{
	uint32_t v;

	/* 8b 03: movl (%ebx), %eax: two bytes, as the skipping handlers assume */
	asm volatile(".byte 0x8b, 0x03" : "=a"(v) : "b"(va) : "memory");
}

static void bench_faults(uint32_t n, uint32_t frame)
{
	volatile uint32_t *pte = pg_pte(kernel_pd, BENCH_VA, true, PTE_P | PTE_RW);
	uint64_t t0;
	uint32_t i;

	pf_hook = bench_pf_hook;
	*pte = 0;
	invlpg(BENCH_VA);
	t0 = rdtsc();
	for (i = 0; i < n; i++)
		touch(BENCH_VA);
	row("page fault (#PF, handler skips)", rdtsc() - t0, n);

	pte_mode_frame = frame;
	t0 = rdtsc();
	for (i = 0; i < n; i++) {
		touch(BENCH_VA);	/* faults; the handler maps the page */
		*pte = 0;
		invlpg(BENCH_VA);
	}
	row("page fault (#PF, map; unmap+invlpg)", rdtsc() - t0, n);
	pte_mode_frame = 0;

	trap_set_handler(VEC_DE, de_skip);
	t0 = rdtsc();
	for (i = 0; i < n; i++)
		/* f7 f1: divl %ecx with ecx = 0 */
		asm volatile(".byte 0xf7, 0xf1" : : "a"(1), "d"(0), "c"(0) : "memory");
	row("divide by zero (#DE, handler skips)", rdtsc() - t0, n);
}

/* ---- PTE modifications, each followed by an access ---- */

static void bench_pte(uint32_t n, uint32_t frame)
{
	volatile uint32_t *pte = pg_pte(kernel_pd, BENCH_VA, true, PTE_P | PTE_RW);
	const uint32_t on = frame | PTE_P | PTE_RW;
	uint64_t t0, t_np = 0, t_p = 0;
	uint32_t i;

	*pte = on;
	invlpg(BENCH_VA);
	touch(BENCH_VA);
	t0 = rdtsc();
	for (i = 0; i < 10 * n; i++) {
		*pte = *pte;		/* the same value back (A/D already set) */
		touch(BENCH_VA);
	}
	row("pte unchanged write + access", rdtsc() - t0, 10 * n);

	for (i = 0; i < n; i++) {
		uint64_t a, b, c;

		a = rdtsc();
		*pte = on & ~PTE_P;
		invlpg(BENCH_VA);
		touch(BENCH_VA);	/* #PF, skipped */
		b = rdtsc();
		*pte = on;
		touch(BENCH_VA);	/* no invalidation needed for NP->P */
		c = rdtsc();
		t_np += b - a - rdtsc_cost;
		t_p += c - b - rdtsc_cost;
	}
	row("pte P->NP + invlpg + access (#PF)", t_np, n);
	row("pte NP->P + access", t_p, n);
}

/* ---- fork/wait: make an address space, run in it briefly, tear it down ---- */

static void bench_fork(uint32_t n)
{
	uint64_t t0 = rdtsc();
	uint32_t i, p;

	for (i = 0; i < n; i++) {
		volatile uint32_t *pd = pg_new_pd();	/* kernel PDEs copied */

		for (p = 0; p < FORK_PAGES; p++)
			pg_map(pd, FORK_VA + p * PAGE_SIZE, pg_alloc(), PTE_P | PTE_RW | PTE_US);
		write_cr3(PA(pd));
		for (p = 0; p < FORK_PAGES; p++)
			*phys(FORK_VA + p * PAGE_SIZE) = i;
		write_cr3(PA(kernel_pd));
		pg_destroy_pd(pd, true);
	}
	row("fork/wait (new space, 4 pages, switch)", rdtsc() - t0, n);
}

static void bench_tlb(uint32_t n)
{
	uint64_t t0;
	uint32_t i;

	t0 = rdtsc();
	for (i = 0; i < n; i++)
		write_cr3(PA(kernel_pd));
	row("cr3 reload", rdtsc() - t0, n);
	t0 = rdtsc();
	for (i = 0; i < n; i++)
		invlpg(BENCH_VA);
	row("invlpg", rdtsc() - t0, n);
	/* The shadow entry goes and the access refills it: a hidden fault. */
	touch(BENCH_VA);
	t0 = rdtsc();
	for (i = 0; i < n; i++) {
		invlpg(BENCH_VA);
		touch(BENCH_VA);
	}
	row("invlpg + access (hidden fault)", rdtsc() - t0, n);
}

int main(void)
{
	uint32_t frame;

	pg_init(PTE_P | PTE_RW | PTE_US);
	pg_on(kernel_pd);
	frame = pg_alloc();
	calibrate();
	printf("%-40s %10s\n", "op", "ns/op");
	bench_syscall(20000);
	bench_insns(20000);
	bench_faults(20000, frame);
	bench_pte(10000, frame);
	bench_fork(100);
	bench_tlb(20000);
	printf("bench done\n");
	pg_off();
	return 0;
}
