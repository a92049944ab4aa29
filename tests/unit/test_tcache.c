/* Unit tests for the translation cache's IBL page bitmap and the kcall sites the translator emits. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "bt/tc.h"
#include "vmm/cpu.h"

#define MEM_SIZE	(1u << 22)	/* guest "physical" memory, identity-mapped */

static uint8_t *mem;
static bool hot;			/* hot_store's answer */

static size_t fake_fetch(void *opaque, uint32_t lin, uint8_t *buf, size_t n, uint32_t *phys)
{
	(void)opaque;
	if (lin >= MEM_SIZE)
		return 0;
	if (n > MEM_SIZE - lin)
		n = MEM_SIZE - lin;
	memcpy(buf, mem + lin, n);
	*phys = lin;
	return n;
}

static bool fake_hot_store(void *opaque, uint32_t phys)
{
	(void)opaque;
	(void)phys;
	return hot;
}

static const struct tc_host host = { .fetch = fake_fetch, .hot_store = fake_hot_store };

/* Put code at eip and translate it for mode; the block, or NULL. */
static struct tc_block *xlate(struct tc *tc, uint32_t eip, const uint8_t *code, size_t n,
			      int mode)
{
	bool fetch_fault;

	memcpy(mem + eip, code, n);
	return bt_translate(tc, eip, mode, false, &fetch_fault);
}

/* Does the block's host code contain the byte string? Returns its offset or -1. */
static long find(const struct tc *tc, const struct tc_block *b, const uint8_t *s, size_t n)
{
	const uint8_t *code = tc->rx + b->code_off;

	for (size_t i = 0; i + n <= b->code_len + 64; i++)
		if (!memcmp(code + i, s, n))
			return (long)i;
	return -1;
}

static void test_ibl_pages(struct tc *tc, int mode)
{
	static const uint8_t ret[] = { 0xc3 };
	/* mov eax, imm32 from 0x2ffe to 0x3002, then ret: a block on two pages. */
	static const uint8_t straddle[] = { 0xb8, 1, 2, 3, 4, 0xc3 };
	uint8_t *own = tc->ibl_pages, *shared = calloc(1, TC_IBL_PAGES_BYTES);
	struct tc_block *b;

	b = xlate(tc, 0x1000, ret, sizeof(ret), mode);
	CHECK(b != NULL, "a ret translates");
	CHECK(tc_ibl_page(tc, 0x1234), "the block's page is an IBL page after insertion");
	CHECK(!tc_ibl_page(tc, 0x2000), "the next page is not");
	b = xlate(tc, 0x2ffe, straddle, sizeof(straddle), mode);
	CHECK(b != NULL && b->glen > 2, "a block running onto the next page translates");
	CHECK(tc_ibl_page(tc, 0x2000) && tc_ibl_page(tc, 0x3000),
	      "a block crossing a page marks both pages");
	tc_ibl_flush(tc);
	CHECK(!tc_ibl_page(tc, 0x1000) && !tc_ibl_page(tc, 0x2000) && !tc_ibl_page(tc, 0x3000),
	      "an IBL flush clears the bitmap");

	/* More pages than the flush remembers: the whole bitmap is cleared. */
	b = xlate(tc, 0x1000, ret, sizeof(ret), mode);
	for (uint32_t p = 0; p < TC_IBL_TRACK + 10; p++) {
		b->eip = 0x100000 + p * 4096;	/* re-insert the block under many EIPs */
		tc_ibl_insert(tc, b);
	}
	b->eip = 0x1000;
	CHECK(tc_ibl_page(tc, 0x100000 + (TC_IBL_TRACK + 9) * 4096u), "the last page is marked");
	tc_ibl_flush(tc);
	{
		size_t set = 0;

		for (size_t i = 0; i < TC_IBL_PAGES_BYTES; i++)
			set += tc->ibl_pages[i] != 0;
		CHECK_EQ(set, 0, "bytes still set after a flush past the tracking list");
	}

	/* Sharing the bitmap keeps what it holds, and giving it back too. */
	tc_ibl_insert(tc, b);
	tc_share_ibl_pages(tc, shared);
	CHECK(tc->ibl_pages == shared && tc_ibl_page(tc, 0x1000), "the shared bitmap has the page");
	tc_ibl_flush(tc);
	tc_ibl_insert(tc, b);
	tc_share_ibl_pages(tc, NULL);
	CHECK(tc->ibl_pages == own && tc_ibl_page(tc, 0x1000), "back in the TC's own bitmap");
	free(shared);
	tc_ibl_flush(tc);
}

/* The kcall word the translator should have put in r10 (mov r10, imm64 = 49 ba imm64). */
static int has_word(const struct tc *tc, const struct tc_block *b, uint32_t lin, uint32_t op,
		    uint32_t arg)
{
	uint64_t w = TC_KCALL_MAGIC << 48 | (lin & ~0xfffu) | op << 8 | arg;
	uint8_t s[11] = { 0x49, 0xba };
	long at;

	memcpy(s + 2, &w, 8);
	s[10] = 0xcc;					/* int3 right after */
	at = find(tc, b, s, sizeof(s));
	if (at < 0)
		return 0;
	/* Then mov r11, imm64 (the callout record) and the 4-byte exit jump. */
	return tc->rx[b->code_off + at + 11] == 0x49 && tc->rx[b->code_off + at + 12] == 0xbb &&
	       tc->rx[b->code_off + at + 21] == 0x41 && tc->rx[b->code_off + at + 22] == 0xff;
}

static void test_kcall_sites(struct tc *tc, int cpl0, int cpl3)
{
	static const uint8_t mov_cr2_esi[] = { 0x0f, 0x20, 0xd6 };	/* mov esi, cr2 */
	static const uint8_t mov_cr4_ebp[] = { 0x0f, 0x20, 0xe5 };	/* mov ebp, cr4 */
	static const uint8_t invlpg[] = { 0x0f, 0x01, 0x7c, 0x8b, 0x10 }; /* invlpg [ebx+ecx*4+16] */
	static const uint8_t store_b[] = { 0x88, 0x08 };		/* mov [eax], cl */
	static const uint8_t store_ah[] = { 0x88, 0x20 };		/* mov [eax], ah */
	static const uint8_t store_imm[] = { 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12 }; /* mov [eax], imm */
	static const uint8_t xchg[] = { 0x87, 0x10 };			/* xchg [eax], edx */
	static const uint8_t pop_fs[] = { 0x0f, 0xa1 };			/* pop fs */
	static const uint8_t pop16_ds[] = { 0x66, 0x1f };		/* pop ds (16-bit) */
	static const uint8_t mov_ss[] = { 0x8e, 0xd0 };			/* mov ss, eax */
	static const uint8_t mov_es[] = { 0x8e, 0xc2 };			/* mov es, edx */
	struct tc_block *b;
	uint64_t sites;

	tc->kcalls = true;
	sites = tc->st.kcall_sites;
	b = xlate(tc, 0x5000, mov_cr2_esi, sizeof(mov_cr2_esi), cpl0);
	CHECK(b && has_word(tc, b, 0x5000, TC_KCALL_MOV_FROM_CR, 2 << 3 | 6),
	      "mov esi, cr2 at CPL 0 is a kcall site (cr 2, gpr 6)");
	CHECK(b && b->nexits == 2 && b->exits[0].kind == TC_EXIT_CALLOUT &&
	      b->exits[1].kind == TC_EXIT_END && b->exits[1].eip == 0x5003,
	      "its exits: the callout, then on to the next instruction");
	CHECK_EQ(tc->st.kcall_sites, sites + 1, "kcall sites counted");
	b = xlate(tc, 0x5100, mov_cr4_ebp, sizeof(mov_cr4_ebp), cpl0);
	CHECK(b && has_word(tc, b, 0x5100, TC_KCALL_MOV_FROM_CR, 4 << 3 | 5),
	      "mov ebp, cr4: cr 4, gpr 5");
	b = xlate(tc, 0x5200, mov_cr2_esi, sizeof(mov_cr2_esi), cpl3);
	CHECK(b && !has_word(tc, b, 0x5200, TC_KCALL_MOV_FROM_CR, 2 << 3 | 6) && b->nexits == 1,
	      "at CPL 3 it stays a plain callout");

	b = xlate(tc, 0x6000, invlpg, sizeof(invlpg), cpl0);
	CHECK(b && has_word(tc, b, 0x6000, TC_KCALL_INVLPG, 0), "invlpg is a kcall site");
	{
		/* lea r14d, [rbx + rcx*4 + 16]: REX.R, 8d, modrm 0x74 (r14, SIB + disp8), SIB 8b. */
		static const uint8_t lea[] = { 0x44, 0x8d, 0x74, 0x8b, 0x10 };

		CHECK(b && find(tc, b, lea, sizeof(lea)) >= 0, "its address goes to r14d");
	}

	hot = true;
	b = xlate(tc, 0x7000, store_b, sizeof(store_b), cpl0);
	CHECK(b && has_word(tc, b, 0x7000, TC_KCALL_STORE, 1), "a hot byte store is a size-1 site");
	b = xlate(tc, 0x7100, store_imm, sizeof(store_imm), cpl0);
	CHECK(b && has_word(tc, b, 0x7100, TC_KCALL_STORE, 4), "a hot imm32 store is a size-4 site");
	{
		static const uint8_t mov_imm[] = { 0x41, 0xbb, 0x78, 0x56, 0x34, 0x12 };

		CHECK(b && find(tc, b, mov_imm, sizeof(mov_imm)) >= 0, "the immediate goes to r11d");
	}
	b = xlate(tc, 0x7200, store_ah, sizeof(store_ah), cpl0);
	CHECK(b && !has_word(tc, b, 0x7200, TC_KCALL_STORE, 1), "a store of ah stays a callout");
	b = xlate(tc, 0x7300, xchg, sizeof(xchg), cpl0);
	CHECK(b && !has_word(tc, b, 0x7300, TC_KCALL_STORE, 4), "a hot xchg stays a callout");
	hot = false;

	b = xlate(tc, 0x8000, pop_fs, sizeof(pop_fs), cpl0);
	CHECK(b && has_word(tc, b, 0x8000, TC_KCALL_SEG, S_FS | 4 << 3),
	      "pop fs is a segment site with a 4-byte pop");
	b = xlate(tc, 0x8100, pop16_ds, sizeof(pop16_ds), cpl0);
	CHECK(b && has_word(tc, b, 0x8100, TC_KCALL_SEG, S_DS | 2 << 3), "pop ds (o16) pops 2");
	b = xlate(tc, 0x8200, mov_es, sizeof(mov_es), cpl0);
	CHECK(b && has_word(tc, b, 0x8200, TC_KCALL_SEG, S_ES), "mov es, edx is a segment site");
	b = xlate(tc, 0x8300, mov_ss, sizeof(mov_ss), cpl0);
	CHECK(b && !has_word(tc, b, 0x8300, TC_KCALL_SEG, S_SS), "mov ss stays a callout");

	tc->kcalls = false;
	b = xlate(tc, 0x9000, mov_cr2_esi, sizeof(mov_cr2_esi), cpl0);
	CHECK(b && !has_word(tc, b, 0x9000, TC_KCALL_MOV_FROM_CR, 2 << 3 | 6),
	      "without kcalls: a plain callout");
}

/* cmpxchg8b is followed by lahf; sahf with rax kept in r10 (the TCG flags workaround). */
static void test_launder(struct tc *tc, int mode)
{
	static const uint8_t cx8[] = { 0x0f, 0xc7, 0x0e, 0xc3 };	/* cmpxchg8b [esi]; ret */
	static const uint8_t cx[] = { 0x0f, 0xb1, 0x0e, 0xc3 };		/* cmpxchg [esi], ecx; ret */
	static const uint8_t lahf_sahf[] = { 0x9f, 0x9e };
	struct tc_block *b;

	b = xlate(tc, 0xa000, cx8, sizeof(cx8), mode);
	CHECK(b && find(tc, b, lahf_sahf, sizeof(lahf_sahf)) >= 0, "cmpxchg8b: flags laundered");
	b = xlate(tc, 0xa100, cx, sizeof(cx), mode);
	CHECK(b && find(tc, b, lahf_sahf, sizeof(lahf_sahf)) < 0, "cmpxchg: not laundered");
}

int main(void)
{
	struct bt_mode m = { .cpl = 0, .cs32 = 1, .ss32 = 1 };
	struct tc tc;
	int cpl0, cpl3;

	mem = calloc(1, MEM_SIZE);
	if (!mem || tc_create(&tc, 4u << 20, MEM_SIZE, &host) < 0) {
		printf("FAIL cannot set up a translation cache\n");
		return 1;
	}
	cpl0 = tc_mode_id(&tc, &m);
	m.cpl = 3;
	cpl3 = tc_mode_id(&tc, &m);
	test_ibl_pages(&tc, cpl0);
	test_kcall_sites(&tc, cpl0, cpl3);
	test_launder(&tc, cpl0);
	tc_destroy(&tc);
	free(mem);
	return check_done();
}
