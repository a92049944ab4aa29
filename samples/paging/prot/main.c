/* paging_prot: #PF error codes and CR2 over a matrix of PDE x PTE bits x access x CPL x CR0.WP, 4 KiB and 4 MiB pages. */
#include "pg.h"

#define SENTINEL	0x5a5a1234u
#define STORED		0x0badf00du
#define MAX_SHOWN	24	/* mismatches printed by name; the rest only counted */

static uint32_t page_frame;	/* the 4 KiB test page */
static uint32_t test_pt;	/* its page table */
static unsigned shown;

struct outcome {
	bool fault;
	uint32_t err;
};

/*
 * The architecture's answer (Intel SDM vol. 3 §4.6, 32-bit paging, no
 * SMEP/SMAP): a missing level gives P=0; otherwise the effective R/W and
 * U/S are the AND of both levels (a 4 MiB page has only the PDE), CPL 3
 * needs U/S, a CPL 3 write needs R/W, a CPL 0 write needs R/W only when
 * CR0.WP is set.  The error code is P | W/R | U/S, nothing else.
 */
static struct outcome expect(uint32_t pde, uint32_t pte, bool big, bool write, bool user, bool wp)
{
	struct outcome o = { false, 0 };
	uint32_t rw, us;

	if (write)
		o.err |= PF_W;
	if (user)
		o.err |= PF_U;
	if (!(pde & PTE_P) || (!big && !(pte & PTE_P))) {
		o.fault = true;
		return o;
	}
	rw = big ? pde & PTE_RW : pde & pte & PTE_RW;
	us = big ? pde & PTE_US : pde & pte & PTE_US;
	o.err |= PF_P;
	if (user && !us)
		o.fault = true;
	else if (write && !rw && (user || wp))
		o.fault = true;
	return o;
}

static const char *bits_name(uint32_t b, char *buf)
{
	buf[0] = b & PTE_P ? 'P' : '-';
	buf[1] = b & PTE_RW ? 'W' : 'R';
	buf[2] = b & PTE_US ? 'U' : 'S';
	buf[3] = 0;
	return buf;
}

/* One access; returns true when everything about it matched the expectation. */
static bool one_case(uint32_t va, volatile uint32_t *backing, uint32_t pde, uint32_t pte,
		     bool big, bool write, bool user, bool wp)
{
	struct outcome want = expect(pde, pte, big, write, user, wp);
	uint32_t v = 0;
	bool ok, fault, good;
	char b1[4], b2[4];

	*backing = SENTINEL;
	if (user)
		ok = write ? probe_user_write(va, STORED) : probe_user_read(va, &v);
	else
		ok = write ? probe_write(va, STORED) : probe_read(va, &v);
	fault = !ok;
	good = fault == want.fault;
	if (good && fault)
		good = pf_last.err == want.err && pf_last.cr2 == va &&
		       (pf_last.cs & 3) == (user ? 3u : 0u) && *backing == SENTINEL &&
		       (write || v == 0xdeadbeef);
	if (good && !fault)
		good = write ? *backing == STORED : v == SENTINEL;
	if (!good && shown++ < MAX_SHOWN)
		reportf(false, "%s PDE %s%s PTE %s %s CPL%d WP%d: want %s err %x, got %s err %x "
			"cr2 %08x mem %08x val %08x", big ? "4M" : "4K", bits_name(pde, b1),
			big ? "+PS" : "", big ? "n/a" : bits_name(pte, b2),
			write ? "write" : "read", user ? 3 : 0, wp,
			want.fault ? "#PF" : "ok", want.err, fault ? "#PF" : "ok",
			fault ? pf_last.err : 0, pf_last.cr2, *backing, v);
	return good;
}

static void set_wp(bool wp)
{
	write_cr0(wp ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP);
}

/* The 4 KiB matrix: 8 PDE x 8 PTE bit patterns x read/write, per (CPL, WP) group. */
static void matrix_4k(void)
{
	const uint32_t va = TEST_VA + 0x5000 + 0x7fc;	/* a word not at the page start */
	volatile uint32_t *backing = phys(page_frame + 0x7fc);
	volatile uint32_t *pde = &kernel_pd[PDX(TEST_VA)], *pte = &phys(test_pt)[PTX(va)];
	int user, wp;

	for (wp = 0; wp < 2; wp++) {
		for (user = 0; user < 2; user++) {
			unsigned n = 0, bad = 0, faults = 0;
			uint32_t db, tb;
			int w;

			set_wp(wp);
			for (db = 0; db < 8; db++) {
				for (tb = 0; tb < 8; tb++) {
					*pde = test_pt | db;
					*pte = page_frame | tb;
					flush_tlb();
					for (w = 0; w < 2; w++) {
						n++;
						if (expect(db, tb, false, w, user, wp).fault)
							faults++;
						if (!one_case(va, backing, db, tb, false, w, user, wp))
							bad++;
					}
				}
			}
			reportf(bad == 0, "4K matrix CPL%d WP%d: %u cases (%u #PF expected), %u mismatches",
				user ? 3 : 0, wp, n, faults, bad);
		}
	}
	set_wp(false);
	*pde = test_pt | PTE_P | PTE_RW | PTE_US;
	*pte = 0;
	flush_tlb();
}

/* The 4 MiB matrix: the PDE alone decides. */
static void matrix_4m(void)
{
	const uint32_t va = TEST_VA + PDE_SPAN + 0x1231f0;
	volatile uint32_t *backing = phys(SCRATCH_START + 0x1231f0);
	volatile uint32_t *pde = &kernel_pd[PDX(va)];
	int user, wp;

	write_cr4(read_cr4() | CR4_PSE);
	for (wp = 0; wp < 2; wp++) {
		for (user = 0; user < 2; user++) {
			unsigned n = 0, bad = 0, faults = 0;
			uint32_t db;
			int w;

			set_wp(wp);
			for (db = 0; db < 8; db++) {
				*pde = SCRATCH_START | PDE_PS | db;
				flush_tlb();
				for (w = 0; w < 2; w++) {
					n++;
					if (expect(db, 0, true, w, user, wp).fault)
						faults++;
					if (!one_case(va, backing, db, 0, true, w, user, wp))
						bad++;
				}
			}
			reportf(bad == 0, "4M matrix CPL%d WP%d: %u cases (%u #PF expected), %u mismatches",
				user ? 3 : 0, wp, n, faults, bad);
		}
	}
	set_wp(false);
	*pde = 0;
	flush_tlb();
	write_cr4(read_cr4() & ~CR4_PSE);
}

/* The headline rules by name, before the matrix checks them exhaustively. */
static void named_cases(void)
{
	const uint32_t va = TEST_VA + 0x2000;
	volatile uint32_t *pte = pg_pte(kernel_pd, va, true, PTE_P | PTE_RW | PTE_US);
	uint32_t v;
	bool ok;

	*phys(page_frame) = SENTINEL;
	*pte = page_frame | PTE_P | PTE_RW;		/* supervisor, writable */
	invlpg(va);
	ok = probe_user_read(va, &v);
	reportf(!ok && pf_last.err == (PF_P | PF_U) && pf_last.cr2 == va,
		"user read of a supervisor page: #PF err %x (want 5) cr2 %08x", pf_last.err, pf_last.cr2);
	ok = probe_user_write(va, 1);
	reportf(!ok && pf_last.err == (PF_P | PF_W | PF_U),
		"user write to a supervisor page: #PF err %x (want 7)", pf_last.err);

	*pte = page_frame | PTE_P | PTE_RW | PTE_US;	/* user, writable */
	invlpg(va);
	ok = probe_read(va, &v) && v == SENTINEL && probe_write(va, 2) && *phys(page_frame) == 2;
	report(ok, "supervisor read and write of a user page");
	ok = probe_user_read(va, &v) && v == 2 && probe_user_write(va, 3) && *phys(page_frame) == 3;
	report(ok, "user read and write of a user page");

	*pte = page_frame | PTE_P | PTE_US;		/* user, read-only */
	invlpg(va);
	set_wp(false);
	ok = probe_write(va, 4);
	reportf(ok && *phys(page_frame) == 4, "CR0.WP=0: supervisor write to a read-only page succeeds");
	set_wp(true);
	ok = probe_write(va, 5);
	reportf(!ok && pf_last.err == (PF_P | PF_W) && *phys(page_frame) == 4,
		"CR0.WP=1: supervisor write to a read-only page: #PF err %x (want 3)", pf_last.err);
	set_wp(false);
	ok = probe_user_write(va, 6);
	reportf(!ok && pf_last.err == (PF_P | PF_W | PF_U) && *phys(page_frame) == 4,
		"user write to a read-only page: #PF err %x (want 7)", pf_last.err);
	ok = probe_user_read(va, &v);
	reportf(ok && v == 4, "user read of a read-only user page");

	*pte = page_frame | PTE_RW | PTE_US;		/* not present */
	invlpg(va);
	ok = probe_read(va + 0x123, &v);
	reportf(!ok && pf_last.err == 0 && pf_last.cr2 == va + 0x123,
		"not present, supervisor read: err %x cr2 %08x", pf_last.err, pf_last.cr2);
	ok = probe_user_write(va + 0xffc, 0);
	reportf(!ok && pf_last.err == (PF_W | PF_U) && pf_last.cr2 == va + 0xffc,
		"not present, user write: err %x cr2 %08x", pf_last.err, pf_last.cr2);
	/* An access straddling into a missing page reports the first missing byte. */
	*pte = page_frame | PTE_P | PTE_RW;
	invlpg(va);
	ok = probe_read(va + 0xffe, &v);
	reportf(!ok && pf_last.err == 0 && pf_last.cr2 == va + 0x1000,
		"word straddling into a missing page: cr2 %08x (want %08x)", pf_last.cr2, va + 0x1000);
	*pte = 0;
	invlpg(va);
}

int main(void)
{
	struct cpuid_regs id = cpuid(1, 0);

	pg_init(PTE_P | PTE_RW | PTE_US);
	page_frame = pg_alloc();
	pg_on(kernel_pd);
	named_cases();
	test_pt = kernel_pd[PDX(TEST_VA)] & PTE_FRAME;
	matrix_4k();
	if (id.edx & CPUID_PSE)
		matrix_4m();
	else
		report_info("no PSE: 4 MiB matrix skipped");
	pg_off();
	return 0;
}
