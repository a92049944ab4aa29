/* paging_pte: PTE and PDE modification patterns (mov, xchg, cmpxchg, lock or/and, bts/btr, a self-map) and what the next access sees. */
#include "pg.h"

#define SELFMAP_PDX	1023			/* PD[1023] points at the PD itself */
#define SELFMAP_BASE	0xffc00000u		/* page tables appear here */
#define FRAME_A		(SCRATCH_START + 0x100000)	/* bit 12 clear */
#define FRAME_B		(FRAME_A | 0x1000)		/* the same with bit 12 set */
#define FRAME_BIT	12
#define TAG_A		0xaaaa0000u
#define TAG_B		0xbbbb0000u

enum method { M_MOV, M_XCHG, M_CMPXCHG, M_LOCK_ORAND, M_BTSBTR, M_SELFMAP, M_COUNT };

static const char *const method_name[M_COUNT] = {
	"mov", "xchg", "lock cmpxchg", "lock or/and", "bts/btr", "mov via self-map",
};

static bool op_ok;	/* cmpxchg/xchg saw the value they expected */

static volatile uint32_t *selfmap_pte(uint32_t va)
{
	return phys(SELFMAP_BASE + PDX(va) * PAGE_SIZE + PTX(va) * 4);
}

/* Turn *pte from its current value into want with the given kind of instruction. */
static void pte_write(enum method m, volatile uint32_t *pte, uint32_t va, uint32_t want)
{
	uint32_t old = *pte, set = want & ~old, clr = old & ~want, v, prev;
	int b;

	op_ok = true;
	switch (m) {
	case M_MOV:
		asm volatile("movl %1, %0" : "=m"(*pte) : "r"(want) : "memory");
		break;
	case M_XCHG:
		v = want;
		asm volatile("xchgl %0, %1" : "+r"(v), "+m"(*pte) : : "memory");
		op_ok = v == old;
		break;
	case M_CMPXCHG:
		prev = old;
		asm volatile("lock cmpxchgl %2, %1" : "+a"(prev), "+m"(*pte) : "r"(want) : "memory");
		op_ok = prev == old;
		break;
	case M_LOCK_ORAND:
		if (set)
			asm volatile("lock orl %1, %0" : "+m"(*pte) : "r"(set) : "memory");
		if (clr)
			asm volatile("lock andl %1, %0" : "+m"(*pte) : "r"(~clr) : "memory");
		if (!set && !clr)	/* unchanged: or in a bit that is already set */
			asm volatile("lock orl %1, %0" : "+m"(*pte) : "r"(old & PTE_P) : "memory");
		break;
	case M_BTSBTR:
		for (b = 0; b < 32; b++) {
			if (set & (1u << b))
				asm volatile("btsl %1, %0" : "+m"(*pte) : "r"(b) : "memory", "cc");
			if (clr & (1u << b))
				asm volatile("btrl %1, %0" : "+m"(*pte) : "r"(b) : "memory", "cc");
		}
		if (!set && !clr)
			asm volatile("btsl $0, %0" : "+m"(*pte) : : "memory", "cc");
		break;
	case M_SELFMAP:
		*selfmap_pte(va) = want;
		break;
	default:
		break;
	}
}

static bool same(uint32_t a, uint32_t b)
{
	return ((a ^ b) & ~(PTE_A | PTE_D)) == 0;
}

static void test_method(enum method m, volatile uint32_t *pte, uint32_t va)
{
	const uint32_t base = PTE_P | PTE_RW;
	uint32_t v, cnt;
	bool ok;
	const char *n = method_name[m];

	*pte = FRAME_A | base;
	invlpg(va);
	ok = probe_read(va, &v) && v == TAG_A;

	/* Unchanged: the same value written back. */
	pte_write(m, pte, va, *pte);
	ok = probe_read(va, &v) && v == TAG_A && same(*pte, FRAME_A | base) && op_ok;
	reportf(ok, "%s: unchanged write, access reads frame A: 0x%x", n, v);

	/* P -> NP, then invlpg: the access faults. */
	pte_write(m, pte, va, *pte & ~PTE_P);
	invlpg(va);
	ok = !probe_read(va, &v);
	reportf(ok && pf_last.err == 0 && pf_last.cr2 == va && same(*pte, FRAME_A | PTE_RW) && op_ok,
		       "%s: P->NP, access faults: err %x cr2 %08x pte %08x", n, pf_last.err,
		       pf_last.cr2, *pte);

	/* NP -> P, no invalidation: the access works without any fault. */
	cnt = pf_last.count;
	pte_write(m, pte, va, *pte | PTE_P);
	ok = probe_read(va, &v) && v == TAG_A && pf_last.count == cnt;
	reportf(ok && same(*pte, FRAME_A | base) && op_ok,
		       "%s: NP->P, access works without a fault: 0x%x", n, v);

	/* Another frame, then invlpg: reads and writes reach the new frame. */
	pte_write(m, pte, va, *pte | FRAME_B);
	invlpg(va);
	ok = probe_read(va, &v) && v == TAG_B && probe_write(va + 4, TAG_B + 1) &&
	     *phys(FRAME_B + 4) == TAG_B + 1 && *phys(FRAME_A + 4) != TAG_B + 1;
	reportf(ok && op_ok, "%s: frame A->B, access sees B: 0x%x", n, v);
	pte_write(m, pte, va, (*pte & ~FRAME_B) | FRAME_A);
	invlpg(va);
	ok = probe_read(va, &v) && v == TAG_A;
	reportf(ok && op_ok, "%s: frame B->A, access sees A again: 0x%x", n, v);
	*phys(FRAME_B + 4) = 0;
}

static void test_pde(uint32_t va)
{
	volatile uint32_t *pde = &kernel_pd[PDX(va)];
	uint32_t pt2 = pg_alloc(), saved = *pde, v, cnt;
	bool ok;

	/* A second page table mapping the same address to frame B. */
	phys(pt2)[PTX(va)] = FRAME_B | PTE_P | PTE_RW;

	*pde = saved & ~PTE_P;
	invlpg(va);
	ok = !probe_read(va, &v);
	reportf(ok && pf_last.err == 0 && pf_last.cr2 == va, "PDE P->NP + invlpg: #PF err %x cr2 %08x",
		pf_last.err, pf_last.cr2);
	cnt = pf_last.count;
	*pde = saved;
	ok = probe_read(va, &v) && v == TAG_A && pf_last.count == cnt;
	reportf(ok, "PDE NP->P: access works without a fault: 0x%x", v);

	*pde = pt2 | PTE_P | PTE_RW | PTE_US;
	invlpg(va);
	ok = probe_read(va, &v) && v == TAG_B;
	reportf(ok, "PDE retargeted to another page table + invlpg: 0x%x (want B)", v);
	/* The old table's entry changes now must not matter. */
	phys(saved & PTE_FRAME)[PTX(va)] = 0;
	ok = probe_read(va, &v) && v == TAG_B;
	reportf(ok, "old page table cleared: still B through the new one: 0x%x", v);
	phys(saved & PTE_FRAME)[PTX(va)] = FRAME_A | PTE_P | PTE_RW;
	*pde = saved;
	flush_tlb();
	ok = probe_read(va, &v) && v == TAG_A;
	reportf(ok, "PDE pointed back + CR3 reload: 0x%x (want A)", v);
	/* The PDE rewritten through the self-map (PD[1023] makes the PD its own table). */
	*phys(SELFMAP_BASE + SELFMAP_PDX * PAGE_SIZE + PDX(va) * 4) = pt2 | PTE_P | PTE_RW | PTE_US;
	invlpg(va);
	ok = probe_read(va, &v) && v == TAG_B && (*pde & PTE_FRAME) == pt2;
	reportf(ok, "PDE rewritten through the self-map + invlpg: 0x%x (want B)", v);
	*pde = saved;
	flush_tlb();
	pg_free(pt2);
}

static void test_self_map_reads(uint32_t va)
{
	volatile uint32_t *pte = pg_pte(kernel_pd, va, false, 0);
	uint32_t v;
	bool ok;

	/* Page tables read through the self-map agree with the identity view, A/D included. */
	*pte = FRAME_A | PTE_P | PTE_RW;
	invlpg(va);
	*phys(va) = TAG_A;
	ok = *selfmap_pte(va) == *pte && (*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D);
	reportf(ok, "self-map shows the PTE with A/D as the CPU set them: %08x / %08x",
		*selfmap_pte(va), *pte);
	v = *phys(SELFMAP_BASE + SELFMAP_PDX * PAGE_SIZE + SELFMAP_PDX * 4);
	reportf((v & PTE_FRAME) == PA(kernel_pd), "the self-map entry maps the directory: %08x", v);
}

int main(void)
{
	const uint32_t va = TEST_VA + 0x9000;
	volatile uint32_t *pte;
	int m;

	pg_init(PTE_P | PTE_RW | PTE_US);
	*phys(FRAME_A) = TAG_A;
	*phys(FRAME_B) = TAG_B;
	kernel_pd[SELFMAP_PDX] = PA(kernel_pd) | PTE_P | PTE_RW;
	pte = pg_pte(kernel_pd, va, true, PTE_P | PTE_RW | PTE_US);
	pg_on(kernel_pd);
	for (m = 0; m < M_COUNT; m++)
		test_method(m, pte, va);
	test_pde(va);
	test_self_map_reads(va);
	pg_off();
	return 0;
}
