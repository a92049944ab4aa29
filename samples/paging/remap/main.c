/* paging_remap: code and data pages remapped + invlpg (every branch kind, invlpg forms, 4 MiB), and CR reads. */
#include "pg.h"

/*
 * Linear layout, far from the identity map.  A translator that caches by
 * guest EIP (an indirect-branch lookup table, block chains) must forget what
 * it found at a page once the page is remapped and invalidated, however the
 * code was reached, and only then: an invlpg elsewhere must not disturb it.
 * The code pages have a page table of their own that no data is ever read
 * through: a shadow MMU that write-protects only the tables it has walked for
 * data then learns of a code remap from the invlpg alone, which is the path
 * these checks are about.  The data pages sit under another page table.
 */
#define CODE_VA		0x50000000u		/* L: frame A or B */
#define TRAMP_VA	(CODE_VA + 0x1000)	/* direct call/jmp to L from another page */
#define EDGE_VA		(CODE_VA + 0x3000)	/* blocks crossing into EDGE_VA + 0x1000 */
#define SPLIT_VA	(CODE_VA + 0x5000)	/* an instruction crossing into SPLIT_VA + 0x1000 */
#define BIG_VA		0x50400000u		/* 4 MiB page: BIG0 or BIG1 */
#define DATA_VA		0x50800000u		/* D: frame C or E */
#define RO_VA		(DATA_VA + 0x1000)	/* read-only page (write #PF with CR0.WP) */
#define NP_VA		(DATA_VA + 0x20000)	/* 128 not-present PTEs */
#define NOPDE_VA	0x60000000u		/* no page table at all */
#define BIG0		SCRATCH_START
#define BIG1		(SCRATCH_START + PDE_SPAN)

/* Code in frames A and B (identical but for the value each returns). */
#define OFF_RET		0x000	/* mov $N, %eax; ret */
#define OFF_JMPECX	0x010	/* mov $N, %eax; jmp *%ecx */
#define OFF_SELF	0x100	/* mov %ebx, (%edx); invlpg (%ecx); mov $N, %eax; ret */
#define OFF_LOADD	0x200	/* invlpg (%ecx); mov (%ecx), %eax; add $N, %eax; ret */
#define OFF_NEAR	0x300	/* call OFF_RET (same page, direct); ret */
#define VAL_A		1
#define VAL_B		2

/* Trampolines in frame T at TRAMP_VA. */
#define OFF_TCALL	0x000	/* call rel32 CODE_VA; ret */
#define OFF_TJMP	0x010	/* jmp rel32 CODE_VA */

#define DATA(tag, w)	(((tag) << 16) | (w))	/* word w of a data frame */
#define TAG_C		0x1111u
#define TAG_E		0x2222u
#define BIG_CODE	0x123000u	/* offsets inside the 4 MiB page */
#define BIG_DATA	0x3ff800u

#define PTE_KRW		(PTE_P | PTE_RW)
#define CR0_PE		0x00000001u
#define CR0_TS		0x00000008u

typedef uint32_t (*fn0_t)(void);

static uint32_t fr_a, fr_b, fr_c, fr_e;
static volatile uint32_t *code_pte, *data_pte;

static volatile uint8_t *bytes(uint32_t pa)
{
	return (volatile uint8_t *)(uintptr_t)pa;
}

static void put32(uint32_t pa, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)pa = v;	/* unaligned is fine on x86 */
}

static void put(uint32_t pa, const uint8_t *code, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		bytes(pa)[i] = code[i];
}

/* mov $imm, %eax at pa (5 bytes). */
static void put_mov_eax(uint32_t pa, uint32_t imm)
{
	bytes(pa)[0] = 0xb8;
	put32(pa + 1, imm);
}

/* A code frame: every entry point returns (or adds) val. */
static void fill_code_frame(uint32_t pa, uint32_t val)
{
	static const uint8_t self_head[] = {
		0x89, 0x1a,		/* mov %ebx, (%edx) */
		0x0f, 0x01, 0x39,	/* invlpg (%ecx) */
	};
	static const uint8_t load_d[] = {
		0x0f, 0x01, 0x39,	/* invlpg (%ecx) */
		0x8b, 0x01,		/* mov (%ecx), %eax */
		0x05,			/* add $imm32, %eax */
	};
	/* call OFF_RET; ret: rel32 = 0x000 - 0x305 */
	static const uint8_t near_call[] = { 0xe8, 0xfb, 0xfc, 0xff, 0xff, 0xc3 };

	put_mov_eax(pa + OFF_RET, val);
	bytes(pa + OFF_RET)[5] = 0xc3;
	put_mov_eax(pa + OFF_JMPECX, val);
	bytes(pa + OFF_JMPECX)[5] = 0xff;	/* jmp *%ecx */
	bytes(pa + OFF_JMPECX)[6] = 0xe1;
	put(pa + OFF_SELF, self_head, sizeof(self_head));
	put_mov_eax(pa + OFF_SELF + 5, val);
	bytes(pa + OFF_SELF)[10] = 0xc3;
	put(pa + OFF_LOADD, load_d, sizeof(load_d));
	put32(pa + OFF_LOADD + 6, val);
	bytes(pa + OFF_LOADD)[10] = 0xc3;
	put(pa + OFF_NEAR, near_call, sizeof(near_call));
}

static void fill_data_frame(uint32_t pa, uint32_t tag)
{
	unsigned w;

	for (w = 0; w < 1024; w++)
		phys(pa)[w] = DATA(tag, w);
}

/* Point pte at frame pa and invalidate through inv (any address in the page). */
static void remap(volatile uint32_t *pte, uint32_t pa, uint32_t flags, uint32_t inv)
{
	*pte = pa | flags;
	invlpg(inv);
}

/* call *%reg to va; the code there returns its result in %eax and clobbers nothing else. */
static uint32_t call_reg(uint32_t va)
{
	uint32_t r;

	asm volatile("call *%1" : "=a"(r) : "r"(va) : "ecx", "edx", "memory", "cc");
	return r;
}

/* ---- 1, 2: code at L remapped A <-> B, reached by every kind of branch ---- */

enum branch {
	BR_CALL_REG,	/* call *%reg */
	BR_CALL_MEM,	/* call *mem */
	BR_CALL_C,	/* whatever gcc makes of a call through a volatile pointer (a tail jmp *mem) */
	BR_JMP_REG,	/* jmp *%reg, back through jmp *%ecx */
	BR_JMP_MEM,	/* jmp *mem, back through jmp *%ecx */
	BR_PUSH_JMP,	/* push return; jmp *%reg; ret at L */
	BR_DIRECT_CALL,	/* call rel32 from the trampoline page */
	BR_DIRECT_JMP,	/* jmp rel32 from the trampoline page */
	BR_NEAR,	/* indirect call to L+0x300, which calls L+0 directly (same page) */
};

static const char *const branch_name[] = {
	"indirect call *%reg", "indirect call *mem", "C call through a volatile function pointer",
	"indirect jmp *%reg (back via jmp *%ecx)", "indirect jmp *mem (back via jmp *%ecx)",
	"push + jmp *%reg, ret at L", "direct call rel32 from another page",
	"direct jmp rel32 from another page", "direct call within L's page",
};

static fn0_t volatile code_fp;
static volatile uint32_t code_target;

static uint32_t reach_l(enum branch how)
{
	uint32_t r;

	switch (how) {
	case BR_CALL_REG:
		return call_reg(CODE_VA + OFF_RET);
	case BR_CALL_MEM:
		asm volatile("call *%1" : "=a"(r) : "m"(code_target) : "ecx", "edx", "memory", "cc");
		return r;
	case BR_CALL_C:
		return code_fp();
	case BR_JMP_REG:
		asm volatile("movl $1f, %%ecx\n\t"
			     "jmp *%1\n"
			     "1:"
			     : "=a"(r) : "r"(CODE_VA + OFF_JMPECX) : "ecx", "memory", "cc");
		return r;
	case BR_JMP_MEM:
		code_target = CODE_VA + OFF_JMPECX;
		asm volatile("movl $1f, %%ecx\n\t"
			     "jmp *%1\n"
			     "1:"
			     : "=a"(r) : "m"(code_target) : "ecx", "memory", "cc");
		code_target = CODE_VA + OFF_RET;
		return r;
	case BR_PUSH_JMP:
		asm volatile("pushl $1f\n\t"
			     "jmp *%1\n"
			     "1:"
			     : "=a"(r) : "r"(CODE_VA + OFF_RET) : "memory", "cc");
		return r;
	case BR_DIRECT_CALL:
		return call_reg(TRAMP_VA + OFF_TCALL);
	case BR_DIRECT_JMP:
		return call_reg(TRAMP_VA + OFF_TJMP);
	case BR_NEAR:
		return call_reg(CODE_VA + OFF_NEAR);
	}
	return 0;
}

/*
 * 100 flips A <-> B, 50 runs after each; invlpg hits L at the start, the
 * middle or the last word of the page (any address in the page must do).
 */
static void test_code_flips(enum branch how)
{
	static const uint32_t inv_off[] = { 0, 0x123, 0xffc };
	unsigned flip, n, bad = 0, bad_flip = 0;
	uint32_t got = 0, want = 0;

	for (flip = 0; flip < 100; flip++) {
		uint32_t w = flip & 1 ? VAL_B : VAL_A;

		remap(code_pte, flip & 1 ? fr_b : fr_a, PTE_KRW, CODE_VA + inv_off[flip % 3]);
		for (n = 0; n < 50; n++) {
			uint32_t r = reach_l(how);

			if (r != w && bad++ == 0) {
				bad_flip = flip;
				got = r;
				want = w;
			}
		}
	}
	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
	reportf(bad == 0 && reach_l(how) == VAL_A,
		"L remapped A<->B 100x, %s: %u wrong (first: flip %u got %u want %u)",
		branch_name[how], bad, bad_flip, got, want);
}

/*
 * Blocks that start on EDGE_VA (never remapped) and run on into the next
 * page (remapped): an entry keyed by the first page alone goes stale.
 *   EDGE+0xffb: mov $0x100, %eax   | next+0: add $N, %eax; ret
 *   SPLIT+0xffb: nop x3; mov $imm32, %eax with the opcode and the low
 *   immediate byte 0x5a on the first page, the rest on the second; ret
 */
static void test_code_straddle(void)
{
	uint32_t e0 = pg_alloc(), e1 = pg_alloc(), e2 = pg_alloc();
	uint32_t s0 = pg_alloc(), s1 = pg_alloc(), s2 = pg_alloc();
	volatile uint32_t *epte, *spte;
	unsigned flip, n, bad_e = 0, bad_s = 0;
	uint32_t got_e = 0, got_s = 0;

	put_mov_eax(e0 + 0xffb, 0x100);
	bytes(e1)[0] = 0x83; bytes(e1)[1] = 0xc0; bytes(e1)[2] = VAL_A; bytes(e1)[3] = 0xc3;
	bytes(e2)[0] = 0x83; bytes(e2)[1] = 0xc0; bytes(e2)[2] = VAL_B; bytes(e2)[3] = 0xc3;
	memset((void *)(uintptr_t)(s0 + 0xffb), 0x90, 3);
	bytes(s0)[0xffe] = 0xb8;
	bytes(s0)[0xfff] = 0x5a;
	bytes(s1)[0] = VAL_A; bytes(s1)[1] = 0; bytes(s1)[2] = 0; bytes(s1)[3] = 0xc3;
	bytes(s2)[0] = VAL_B; bytes(s2)[1] = 0; bytes(s2)[2] = 0; bytes(s2)[3] = 0xc3;
	pg_map(kernel_pd, EDGE_VA, e0, PTE_KRW);
	pg_map(kernel_pd, SPLIT_VA, s0, PTE_KRW);
	pg_map(kernel_pd, EDGE_VA + PAGE_SIZE, e1, PTE_KRW);
	pg_map(kernel_pd, SPLIT_VA + PAGE_SIZE, s1, PTE_KRW);
	epte = pg_pte(kernel_pd, EDGE_VA + PAGE_SIZE, false, 0);
	spte = pg_pte(kernel_pd, SPLIT_VA + PAGE_SIZE, false, 0);

	for (flip = 0; flip < 100; flip++) {
		uint32_t v = flip & 1 ? VAL_B : VAL_A;

		/* Only the second page is invalidated: it is the one that changed. */
		remap(epte, flip & 1 ? e2 : e1, PTE_KRW, EDGE_VA + PAGE_SIZE);
		remap(spte, flip & 1 ? s2 : s1, PTE_KRW, SPLIT_VA + PAGE_SIZE + 2);
		for (n = 0; n < 50; n++) {
			uint32_t r = call_reg(EDGE_VA + 0xffb);

			if (r != 0x100 + v && bad_e++ == 0)
				got_e = r;
			r = call_reg(SPLIT_VA + 0xffb);
			if (r != (v << 8 | 0x5a) && bad_s++ == 0)
				got_s = r;
		}
	}
	reportf(bad_e == 0, "block crossing into a remapped page (instruction boundary at the edge), "
		"100 flips: %u wrong (first 0x%x)", bad_e, got_e);
	reportf(bad_s == 0, "instruction crossing into a remapped page, 100 flips: %u wrong (first 0x%x)",
		bad_s, got_s);
}

/* ---- 3: invlpg of other pages while L keeps running (no remap of L) ---- */

static uint32_t call_load_d(void)
{
	uint32_t r;

	asm volatile("call *%1"
		     : "=a"(r) : "r"(CODE_VA + OFF_LOADD), "c"(DATA_VA) : "edx", "memory", "cc");
	return r;
}

static void test_other_page(void)
{
	unsigned i, bad_code = 0, bad_data = 0, bad_inl = 0;
	uint32_t r1, r2, r3;

	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
	remap(data_pte, fr_c, PTE_KRW, DATA_VA);
	for (i = 0; i < 200; i++) {
		uint32_t now = i & 1 ? fr_e : fr_c, tag = i & 1 ? TAG_E : TAG_C;

		r1 = call_reg(CODE_VA + OFF_RET);
		remap(data_pte, now, PTE_KRW, DATA_VA + (i & 0xff) * 16);
		r2 = call_reg(CODE_VA + OFF_RET);
		if (r1 != VAL_A || r2 != VAL_A)
			bad_code++;
		if (*phys(DATA_VA) != DATA(tag, 0))
			bad_data++;
		/*
		 * Invalidations that change nothing: an unmapped page, D as it is,
		 * and an unused page next to L under L's page table.  L's code
		 * must still run (from cached translations or fresh ones).
		 */
		invlpg(NP_VA + (i & 0x7f) * PAGE_SIZE);
		if (call_reg(CODE_VA + OFF_RET) != VAL_A)
			bad_code++;
		invlpg(DATA_VA + 0x100);
		if (call_reg(CODE_VA + OFF_RET) != VAL_A)
			bad_code++;
		if (*phys(DATA_VA + 4) != DATA(tag, 1))
			bad_data++;
		invlpg(CODE_VA + 0x2000);
		if (call_reg(CODE_VA + OFF_RET) != VAL_A)
			bad_code++;
		/* L's code itself invalidates D (already remapped back) and loads from it. */
		*data_pte = (i & 1 ? fr_c : fr_e) | PTE_KRW;
		r3 = call_load_d();
		if (r3 != DATA(i & 1 ? TAG_C : TAG_E, 0) + VAL_A)
			bad_inl++;
	}
	reportf(bad_code == 0 && bad_data == 0,
		"200 data-page remaps + invlpg while L runs: code %u wrong, data %u wrong",
		bad_code, bad_data);
	reportf(bad_inl == 0, "code at L invalidates D and loads from it, 200x: %u wrong", bad_inl);

	/* After all those invlpgs elsewhere, L's own remap still has to show. */
	remap(code_pte, fr_b, PTE_KRW, CODE_VA + 0x800);
	r1 = call_reg(CODE_VA + OFF_RET);
	*data_pte = fr_c | PTE_KRW;
	r2 = call_load_d();
	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
	r3 = call_reg(CODE_VA + OFF_RET);
	reportf(r1 == VAL_B && r2 == DATA(TAG_C, 0) + VAL_B && r3 == VAL_A,
		"then L remapped to B and back: %u, 0x%x, %u", r1, r2, r3);
}

/* ---- 4: data page D remapped C <-> E, read by loads, rep movsl and lodsl ---- */

static void test_data_flips(void)
{
	unsigned i, bad_ld = 0, bad_movs = 0, bad_lods = 0, bad_st = 0;
	uint32_t buf[16];

	for (i = 0; i < 1000; i++) {
		uint32_t fr = i & 1 ? fr_e : fr_c, other = i & 1 ? fr_c : fr_e;
		uint32_t tag = i & 1 ? TAG_E : TAG_C, w = (i * 7) & 1023, k;
		uint32_t src, dst, cnt, v;

		remap(data_pte, fr, PTE_KRW, DATA_VA + w * 4);
		if (*phys(DATA_VA) != DATA(tag, 0) || *phys(DATA_VA + w * 4) != DATA(tag, w))
			bad_ld++;

		src = DATA_VA + ((i * 64) & 0xfc0);
		dst = (uint32_t)(uintptr_t)buf;
		cnt = 16;
		asm volatile("rep movsl" : "+S"(src), "+D"(dst), "+c"(cnt) : : "memory");
		for (k = 0; k < 16; k++)
			if (buf[k] != DATA(tag, ((i * 16) & 0x3f0) + k)) {
				bad_movs++;
				break;
			}

		src = DATA_VA + 4 * ((i * 13) & 1023);
		asm volatile("lodsl" : "=a"(v), "+S"(src) : : "memory");
		if (v != DATA(tag, (i * 13) & 1023))
			bad_lods++;

		/* A store lands in the frame mapped now, not the previous one. */
		*phys(DATA_VA + 0xffc) = 0xabc00000 | i;
		if (*phys(fr + 0xffc) != (0xabc00000 | i) ||
		    *phys(other + 0xffc) != DATA(tag ^ TAG_C ^ TAG_E, 1023))
			bad_st++;
		*phys(fr + 0xffc) = DATA(tag, 1023);
	}
	reportf(bad_ld == 0, "D remapped C<->E 1000x, plain loads: %u wrong", bad_ld);
	reportf(bad_movs == 0, "and rep movsl from D: %u wrong", bad_movs);
	reportf(bad_lods == 0, "and lodsl from D: %u wrong", bad_lods);
	reportf(bad_st == 0, "and a store through D lands in the new frame: %u wrong", bad_st);
}

/* ---- 5: invlpg addressing forms; each must drop D's and L's translations ---- */

/*
 * The operands put the effective address inside the page at va (D or L) such
 * that leaving out any part of it (base, index, scale, displacement) lands on
 * another page.  For L a wrong address shows as stale code, for D as stale
 * data.
 */
static void invlpg_form(unsigned form, uint32_t va)
{
	uint32_t x;

	switch (form) {
	case 0:
		asm volatile("invlpg (%0)" : : "a"(va + 0x10) : "memory");
		break;
	case 1:
		asm volatile("invlpg 0x7f(%0)" : : "d"(va - 0x40) : "memory");
		break;
	case 2:
		asm volatile("invlpg 0x804(%0,%1,4)" : : "b"(va - 0x2000), "c"(0x600) : "memory");
		break;
	case 3:
		asm volatile("invlpg 0x1234(,%0,2)" : : "S"((va + 0x200 - 0x1234) / 2) : "memory");
		break;
	case 4:
		if (va == DATA_VA)
			asm volatile("invlpg %c0" : : "i"(DATA_VA + 0xabc) : "memory");
		else
			asm volatile("invlpg %c0" : : "i"(CODE_VA + 0xabc) : "memory");
		break;
	case 5:
		asm volatile("invlpg (%0,%1)" : : "D"(va - 0x3000), "d"(0x3008) : "memory");
		break;
	case 6:
		asm volatile("pushl %%ebp\n\t"
			     "movl %0, %%ebp\n\t"
			     "invlpg (%%ebp)\n\t"
			     "popl %%ebp"
			     : : "a"(va + 0x800) : "memory");
		break;
	case 7:
		/* %esp as the base needs a SIB byte; the index is va + 0x40 - %esp. */
		x = va + 0x40;
		asm volatile("subl %%esp, %0\n\t"
			     "invlpg (%%esp,%0)"
			     : "+a"(x) : : "memory", "cc");
		break;
	case 8:
		asm volatile("invlpg %%es:(%0)" : : "a"(va + 0xf00) : "memory");
		break;
	case 9:
		asm volatile("invlpg -0x1000(%0,%1,8)" : : "S"(va - 0x7e0), "D"(0x300) : "memory");
		break;
	}
}

static const char *const form_name[] = {
	"(%eax)", "disp8(%edx)", "disp32(%ebx,%ecx,4)", "disp32(,%esi,2)", "absolute disp32",
	"(%edi,%edx)", "(%ebp)", "(%esp,%eax)", "%es:(%eax)", "-disp32(%esi,%edi,8)",
};

static void test_invlpg_forms(void)
{
	unsigned form, i;
	bool on_b = false;

	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
	for (form = 0; form < ARRAY_SIZE(form_name); form++) {
		unsigned bad_d = 0, bad_l = 0;

		for (i = 0; i < 50; i++) {
			uint32_t old = *phys(DATA_VA);	/* D's translation is cached now */
			uint32_t before, after;

			*data_pte = (old == DATA(TAG_C, 0) ? fr_e : fr_c) | PTE_KRW;
			invlpg_form(form, DATA_VA);
			if (*phys(DATA_VA) == old ||
			    *phys(DATA_VA + 0x40) != (old ^ DATA(TAG_C ^ TAG_E, 0)) + 0x10)
				bad_d++;

			before = call_reg(CODE_VA + OFF_RET);	/* and L's code is cached */
			on_b = !on_b;
			*code_pte = (on_b ? fr_b : fr_a) | PTE_KRW;
			invlpg_form(form, CODE_VA);
			after = call_reg(CODE_VA + OFF_RET);
			if (before != (on_b ? VAL_A : VAL_B) || after != (on_b ? VAL_B : VAL_A))
				bad_l++;
		}
		reportf(bad_d == 0 && bad_l == 0,
			"invlpg %s makes remaps visible, 50x: D %u wrong, L %u wrong",
			form_name[form], bad_d, bad_l);
	}
	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
}

/* ---- 6: invlpg of the page being executed ---- */

static void test_own_page(void)
{
	uint32_t here = (uint32_t)(uintptr_t)test_own_page, sum = 0, esp_ok = 0;
	unsigned i;

	for (i = 0; i < 200; i++) {
		uint32_t x = i;

		/* Same block: invlpg of its own page, then work that must still be right. */
		asm volatile("1: invlpg 1b\n\t"
			     "leal 3(%0,%0,2), %0\n\t"
			     "invlpg (%1)\n\t"
			     "xorl $0x55, %0"
			     : "+r"(x) : "r"(here) : "memory", "cc");
		sum += x;
		/* And the stack page under our feet. */
		asm volatile("invlpg (%%esp)\n\t"
			     "pushl %1\n\t"
			     "popl %0"
			     : "=r"(x) : "r"(i) : "memory");
		esp_ok += x == i;
	}
	{
		uint32_t want = 0;

		for (i = 0; i < 200; i++)
			want += (3 * i + 3) ^ 0x55;
		reportf(sum == want && esp_ok == 200,
			"invlpg of the executing code page and the stack page, 200x: sum 0x%x (want 0x%x), "
			"stack %u/200", sum, want, esp_ok);
	}
}

/*
 * Code at L rewrites L's own PTE and invalidates L: invlpg serializes, so the
 * very next instruction is fetched through the new mapping, from the other frame.
 */
static void test_self_remap(void)
{
	unsigned i, bad = 0;
	uint32_t got = 0;

	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
	for (i = 0; i < 200; i++) {
		uint32_t to = i & 1 ? fr_a : fr_b, r;

		asm volatile("call *%1"
			     : "=a"(r)
			     : "r"(CODE_VA + OFF_SELF), "b"(to | PTE_KRW), "d"(code_pte), "c"(CODE_VA)
			     : "memory", "cc");
		if (r != (i & 1 ? VAL_A : VAL_B) && bad++ == 0)
			got = r;
	}
	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
	reportf(bad == 0, "code at L remaps L and invlpgs it, next instruction from the new frame, 200x: "
		"%u wrong (first %u)", bad, got);
}

/* ---- 7: mov from control registers, into every general register ---- */

#define NREGS	7
static const char *const reg_name[NREGS] = { "eax", "ecx", "edx", "ebx", "esi", "edi", "ebp" };

/* CRn into eax, ecx, edx, ebx, esi, edi and ebp (ebp may be gcc's, so saved by hand). */
#define READ_CR_ALL(n, v) do {							\
	asm volatile("movl %%cr" #n ", %0" : "=a"((v)[0]));			\
	asm volatile("movl %%cr" #n ", %0" : "=c"((v)[1]));			\
	asm volatile("movl %%cr" #n ", %0" : "=d"((v)[2]));			\
	asm volatile("movl %%cr" #n ", %0" : "=b"((v)[3]));			\
	asm volatile("movl %%cr" #n ", %0" : "=S"((v)[4]));			\
	asm volatile("movl %%cr" #n ", %0" : "=D"((v)[5]));			\
	asm volatile("pushl %%ebp\n\t"						\
		     "movl %%cr" #n ", %%ebp\n\t"				\
		     "movl %%ebp, %0\n\t"					\
		     "popl %%ebp"						\
		     : "=a"((v)[6]));						\
} while (0)

/* How many of the seven reads differ from want; the first one is kept for the message. */
struct cr_check {
	unsigned bad;
	uint32_t got, want;
	const char *reg;
};

static void cr_expect(struct cr_check *c, const uint32_t *v, uint32_t want)
{
	unsigned r;

	for (r = 0; r < NREGS; r++)
		if (v[r] != want && c->bad++ == 0) {
			c->got = v[r];
			c->want = want;
			c->reg = reg_name[r];
		}
}

/* One read whose register is not the point (the handler's, a fused write + read). */
static void cr_expect_one(struct cr_check *c, uint32_t got, uint32_t want)
{
	if (got != want && c->bad++ == 0) {
		c->got = got;
		c->want = want;
		c->reg = "one register";
	}
}

static bool cr_report(const struct cr_check *c, const char *what)
{
	if (c->bad)
		return reportf(false, "%s: %u wrong reads (first into %s: 0x%08x, want 0x%08x)",
			       what, c->bad, c->reg, c->got, c->want);
	return reportf(true, "%s", what);
}

static void test_cr2(void)
{
	struct cr_check in_handler = { 0 }, after = { 0 }, kept = { 0 }, written = { 0 };
	uint32_t v[NREGS];
	unsigned i, bad_err = 0;

	for (i = 0; i < 100; i++) {
		uint32_t va, dummy;
		bool ok;

		/* Not-present PTE, no page table at all, and a write to a read-only page. */
		switch (i % 3) {
		case 0:
			va = NP_VA + (i & 0x7f) * PAGE_SIZE + ((i * 4) & 0xffc);
			ok = probe_read(va, &dummy);
			bad_err += pf_last.err != 0;
			break;
		case 1:
			va = NOPDE_VA + i * 0x10100 + 2;
			ok = probe_read(va, &dummy);
			bad_err += pf_last.err != 0;
			break;
		default:
			va = RO_VA + ((i * 12) & 0xffc);
			ok = probe_write(va, i);
			bad_err += pf_last.err != (PF_P | PF_W);
			break;
		}
		bad_err += ok;
		cr_expect_one(&in_handler, pf_last.cr2, va);
		READ_CR_ALL(2, v);
		cr_expect(&after, v, va);

		/* Work the monitor may fault on internally (a remapped page, a first touch). */
		remap(data_pte, i & 1 ? fr_e : fr_c, PTE_KRW, DATA_VA);
		(void)*phys(DATA_VA + 4 * i);
		(void)*phys(SCRATCH_START + 2 * PDE_SPAN + i * PAGE_SIZE);
		(void)call_reg(CODE_VA + OFF_RET);
		READ_CR_ALL(2, v);
		cr_expect(&kept, v, va);
	}
	reportf(bad_err == 0, "100 #PFs (NP PTE, NP PDE, write to RO): all faulted with the right "
		"error code (%u wrong)", bad_err);
	cr_report(&in_handler, "CR2 read in the #PF handler is the faulting address");
	cr_report(&after, "CR2 read after the handler returned, into 7 registers");
	cr_report(&kept, "CR2 unchanged by later remaps, first touches and calls");

	/* CR2 is writable at CPL 0; the value reads back. */
	for (i = 0; i < 50; i++) {
		uint32_t x = 0x9e370001u * (i + 1);

		asm volatile("movl %0, %%cr2" : : "r"(x));
		READ_CR_ALL(2, v);
		cr_expect(&written, v, x);
	}
	cr_report(&written, "CR2 written by the guest reads back, 50 values");
}

static void test_cr3(void)
{
	volatile uint32_t *pd_b = pg_new_pd();
	struct cr_check ck = { 0 }, fused = { 0 }, flags = { 0 };
	uint32_t v[NREGS], r;
	unsigned i, bad_code = 0;

	/* L is A in the kernel directory and B in pd_b (its own page table). */
	remap(code_pte, fr_a, PTE_KRW, CODE_VA);
	pg_map(pd_b, CODE_VA, fr_b, PTE_KRW);
	for (i = 0; i < 200; i++) {
		volatile uint32_t *pd = i & 1 ? pd_b : kernel_pd;

		write_cr3(PA(pd));
		READ_CR_ALL(3, v);
		cr_expect(&ck, v, PA(pd));
		if (call_reg(CODE_VA + OFF_RET) != (i & 1 ? VAL_B : VAL_A))
			bad_code++;
		/* The write and the read in one block. */
		asm volatile("movl %1, %%cr3\n\tmovl %%cr3, %0"
			     : "=&b"(r) : "S"(PA(i & 1 ? kernel_pd : pd_b)) : "memory");
		cr_expect_one(&fused, r, PA(i & 1 ? kernel_pd : pd_b));
	}
	/* PWT and PCD are CR3 bits too. */
	for (i = 0; i < 20; i++) {
		uint32_t x = PA(i & 1 ? pd_b : kernel_pd) | (i & 2 ? 0x08 : 0) | (i & 4 ? 0x10 : 0);

		write_cr3(x);
		READ_CR_ALL(3, v);
		cr_expect(&flags, v, x);
	}
	write_cr3(PA(kernel_pd));
	cr_report(&ck, "CR3 after 200 switches between two directories, into 7 registers");
	reportf(bad_code == 0, "L holds the other directory's code after each switch: %u wrong", bad_code);
	cr_report(&fused, "mov to CR3 then mov from CR3 in one block, 200x");
	cr_report(&flags, "CR3 with PWT/PCD set reads back");
	pg_destroy_pd(pd_b, false);
}

static void test_cr0(void)
{
	const uint32_t base = read_cr0();
	struct cr_check ck = { 0 }, fused = { 0 };
	uint32_t v[NREGS], msw;
	unsigned i;

	READ_CR_ALL(0, v);
	reportf((v[0] & (CR0_PG | CR0_PE)) == (CR0_PG | CR0_PE) && (v[0] & CR0_WP),
		"CR0 has PG, PE and the WP the guest set: 0x%08x", v[0]);
	for (i = 0; i < 100; i++) {
		/* WP and TS (nothing here touches the FPU while TS is set). */
		uint32_t x = base ^ (i & 1 ? CR0_WP : 0) ^ (i & 2 ? CR0_TS : 0);
		uint32_t r;

		write_cr0(x);
		READ_CR_ALL(0, v);
		cr_expect(&ck, v, x);
		asm volatile("movl %1, %%cr0\n\tmovl %%cr0, %0"
			     : "=&D"(r) : "c"(x ^ CR0_WP) : "memory");
		cr_expect_one(&fused, r, x ^ CR0_WP);
	}
	write_cr0(base | CR0_TS);
	asm volatile("clts");
	READ_CR_ALL(0, v);
	cr_expect(&ck, v, base & ~CR0_TS);
	asm volatile("smsw %0" : "=r"(msw));
	write_cr0(base);
	cr_report(&ck, "CR0 with WP and TS toggled 100x (and after clts), into 7 registers");
	cr_report(&fused, "mov to CR0 then mov from CR0 in one block, 100x");
	reportf((msw & 0xffff) == (base & 0xffff), "smsw: 0x%x, CR0 0x%08x", msw & 0xffff, base);
}

static void test_cr4(void)
{
	const uint32_t base = read_cr4();
	struct cr_check ck = { 0 }, fused = { 0 };
	uint32_t v[NREGS], feat = cpuid(1, 0).edx, bits = 0;
	unsigned i;

	if (feat & CPUID_PGE)
		bits |= CR4_PGE;
	if (feat & CPUID_PSE)
		bits |= CR4_PSE;
	if (!bits) {
		report_info("no PGE or PSE: CR4 toggles skipped");
		return;
	}
	for (i = 0; i < 100; i++) {
		uint32_t x = base ^ (i & 1 ? bits & CR4_PGE : 0) ^ (i & 2 ? bits & CR4_PSE : 0), r;

		write_cr4(x);
		READ_CR_ALL(4, v);
		cr_expect(&ck, v, x);
		asm volatile("movl %1, %%cr4\n\tmovl %%cr4, %0"
			     : "=&S"(r) : "d"(x ^ (bits & CR4_PGE)) : "memory");
		cr_expect_one(&fused, r, x ^ (bits & CR4_PGE));
		/* Paging keeps working through the toggles (PGE changes flush the TLB). */
		if (call_reg(CODE_VA + OFF_RET) != VAL_A)
			ck.bad++;
	}
	write_cr4(base);
	cr_report(&ck, "CR4 with PGE/PSE toggled 100x, into 7 registers");
	cr_report(&fused, "mov to CR4 then mov from CR4 in one block, 100x");
}

/* ---- 8: a 4 MiB page remapped between two frames holding code and data ---- */

/*
 * invlpg of any address in a large page drops the whole translation (SDM
 * INVLPG), so the remap must show for code and data on other 4 KiB pages of
 * it.  The code is run at BIG_CODE and invalidated mostly through the next
 * 4 KiB page (no code there): an EIP-keyed cache checked per 4 KiB page
 * would miss that.  Not further away: QEMU 7.2, the reference, keeps stale
 * code then (its TB jump cache, keyed by virtual PC, is only cleared for the
 * invalidated page and the one before it).  The data is never on the
 * invalidated page.
 */
static void test_big_page(void)
{
	static const uint32_t inv_off[] = {
		BIG_CODE + 0x1000, BIG_CODE + 0x1ffc, BIG_CODE + 0x1800, BIG_CODE + 0x10,
	};
	volatile uint32_t *pde = &kernel_pd[PDX(BIG_VA)];
	unsigned flip, n, bad_code = 0, bad_data = 0;
	uint32_t got_code = 0, got_data = 0;

	if (!(cpuid(1, 0).edx & CPUID_PSE)) {
		report_info("no PSE: 4 MiB remap skipped");
		return;
	}
	write_cr4(read_cr4() | CR4_PSE);
	put_mov_eax(BIG0 + BIG_CODE, 0xb0);
	bytes(BIG0 + BIG_CODE)[5] = 0xc3;
	put_mov_eax(BIG1 + BIG_CODE, 0xb1);
	bytes(BIG1 + BIG_CODE)[5] = 0xc3;
	*phys(BIG0 + BIG_DATA) = 0xb0b0b0b0;
	*phys(BIG1 + BIG_DATA) = 0xb1b1b1b1;
	*phys(BIG0 + 0x10) = 0xb000;
	*phys(BIG1 + 0x10) = 0xb100;

	for (flip = 0; flip < 100; flip++) {
		uint32_t odd = flip & 1;

		*pde = (odd ? BIG1 : BIG0) | PDE_PS | PTE_KRW;
		invlpg(BIG_VA + inv_off[flip % ARRAY_SIZE(inv_off)]);
		for (n = 0; n < 20; n++) {
			uint32_t r = call_reg(BIG_VA + BIG_CODE);

			if (r != 0xb0u + odd && bad_code++ == 0)
				got_code = r;
			r = *phys(BIG_VA + BIG_DATA);
			if ((r != (odd ? 0xb1b1b1b1 : 0xb0b0b0b0) ||
			     *phys(BIG_VA + 0x10) != (odd ? 0xb100u : 0xb000u)) && bad_data++ == 0)
				got_data = r;
		}
	}
	reportf(bad_code == 0, "4 MiB page remapped 100x, invlpg mostly on the next 4 KiB page, code: "
		"%u wrong (first 0x%x)", bad_code, got_code);
	reportf(bad_data == 0, "and data on other 4 KiB pages of it: %u wrong (first 0x%x)",
		bad_data, got_data);
	*pde = 0;
	flush_tlb();
	write_cr4(read_cr4() & ~CR4_PSE);
}

int main(void)
{
	enum branch how;
	uint32_t fr_t, fr_ro;

	pg_init(PTE_P | PTE_RW | PTE_US);
	fr_a = pg_alloc();
	fr_b = pg_alloc();
	fr_c = pg_alloc();
	fr_e = pg_alloc();
	fr_t = pg_alloc();
	fr_ro = pg_alloc();
	fill_code_frame(fr_a, VAL_A);
	fill_code_frame(fr_b, VAL_B);
	fill_data_frame(fr_c, TAG_C);
	fill_data_frame(fr_e, TAG_E);
	/* call CODE_VA; ret   and   jmp CODE_VA */
	bytes(fr_t + OFF_TCALL)[0] = 0xe8;
	put32(fr_t + OFF_TCALL + 1, CODE_VA - (TRAMP_VA + OFF_TCALL + 5));
	bytes(fr_t + OFF_TCALL)[5] = 0xc3;
	bytes(fr_t + OFF_TJMP)[0] = 0xe9;
	put32(fr_t + OFF_TJMP + 1, CODE_VA - (TRAMP_VA + OFF_TJMP + 5));

	pg_map(kernel_pd, CODE_VA, fr_a, PTE_KRW);
	pg_map(kernel_pd, TRAMP_VA, fr_t, PTE_KRW);
	pg_map(kernel_pd, DATA_VA, fr_c, PTE_KRW);
	pg_map(kernel_pd, RO_VA, fr_ro, PTE_P);
	code_pte = pg_pte(kernel_pd, CODE_VA, false, 0);
	data_pte = pg_pte(kernel_pd, DATA_VA, false, 0);
	code_fp = (fn0_t)(uintptr_t)(CODE_VA + OFF_RET);
	code_target = CODE_VA + OFF_RET;

	pg_on(kernel_pd);
	/* Supervisor writes honour R/W: the read-only page gives write faults. */
	write_cr0(read_cr0() | CR0_WP);

	for (how = BR_CALL_REG; how <= BR_NEAR; how++)
		test_code_flips(how);
	test_code_straddle();
	test_other_page();
	test_data_flips();
	test_invlpg_forms();
	test_own_page();
	test_self_remap();
	test_cr2();
	test_cr3();
	test_cr0();
	test_cr4();
	test_big_page();
	write_cr0(read_cr0() & ~CR0_WP);
	pg_off();
	return 0;
}
