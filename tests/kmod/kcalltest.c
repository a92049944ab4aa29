/* kcalltest.c: in-VM tests of kcalls, the callouts bt86.ko completes in ring 0 (kernel-module/kcall.c). */

/*
 * Part of bt86test (tests/kmod/bt86test.c runs these from its test table).
 * Each test opens a host-mirror vcpu with kernel-owned views (kv_open in
 * kvtest.c) and runs kcall sites as translated code has them, from the
 * start of the exec page, which is exec region 0 (the TC):
 *
 *	int3			the kcall: r10 holds the kcall word
 *	7 x ud2			the 14 bytes of the callout exit a declined
 *				kcall would leave through (BT86_KCALL_SKIP)
 *	hlt			a completed kcall resumes here: #GP at ring 3,
 *				an exception exit (13) at exactly this rip
 *	ud2 ...			the rest of the page
 *
 * So a completed kcall is a vector-13 exit at site + 15, a declined one a
 * vector-3 exit with rip at site + 1 and kcall_declines one higher, an
 * int3 that is no kcall the same vector-3 exit with every counter as it
 * was, and a wrong resume point a #UD.  Registers go in through
 * run->regs (regs_dirty); every run checks that no general register
 * changed but the one the test expects (kc_expect_reg).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvtest.h"

#define KC_RESUME	(1 + BT86_KCALL_SKIP)	/* the hlt after a site at offset 0 */
#define KC_CODE_LIN	0x00100000u	/* the guest linear page the sites "are" on */
#define KC_FLAGS	0x8c3ull	/* rflags: CF, ZF, SF, OF (must survive) and bit 1 */
#define KC_ARITH	0xcd5ull	/* CF PF AF ZF SF DF OF */
#define KC_GDT		0x30000u	/* gpa of the guest GDT (kcall-seg) */

enum { KC_DONE, KC_DECLINED, KC_PLAIN };
static const char *const kc_outcome[] = { "completed", "declined", "a plain #BP exit" };

static const char *const kc_gpr_name[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* The register translated code keeps x86 GPR n in (n as in the ModRM encoding). */
static __u64 *kc_gpr(struct bt86_regs *r, unsigned int n)
{
	__u64 *const g[16] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
		&r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
	};

	return g[n & 15];
}

/* A value no kcall produces: the high half set, so a zero-extension shows. */
static uint64_t kc_canary(unsigned int n)
{
	return 0xa5a50000c3c30000ull | (uint64_t)n << 32 | n;
}

static uint64_t kc_word(unsigned int op, unsigned int arg, uint32_t code_lin)
{
	return (uint64_t)BT86_KCALL_MAGIC << 48 | (code_lin & 0xfffff000u) |
	       (op & 15) << 8 | (arg & 0xff);
}

/* The site and its filler, at the start of the page at p. */
static void kc_site(uint8_t *p)
{
	int i;

	for (i = 0; i < 4096; i += 2) {
		p[i] = 0x0f;		/* ud2 */
		p[i + 1] = 0x0b;
	}
	p[0] = 0xcc;			/* int3 */
	for (i = 1; i < KC_RESUME; i += 2) {
		p[i] = 0x0f;
		p[i + 1] = 0x0b;
	}
	p[KC_RESUME] = 0xf4;		/* hlt */
}

/* One register may change when the kcall completes; -1: none. */
static int kc_changed_gpr = -1;
static uint64_t kc_changed_val;

static void kc_expect_reg(unsigned int n, uint64_t val)
{
	kc_changed_gpr = n;
	kc_changed_val = val;
}

/*
 * Rewrite the site at the start of the exec page and load the registers:
 * canaries everywhere, the word in r10; the caller adds the operands.
 */
static struct bt86_regs *kc_prep_at(struct hm *h, uint8_t *page, uint64_t word)
{
	struct bt86_regs *r = &h->v.run->regs;
	unsigned int n;

	kc_site(page);
	memset(r, 0, sizeof(*r));
	for (n = 0; n < 16; n++)
		*kc_gpr(r, n) = kc_canary(n);
	r->rsp = (uintptr_t)h->stack + HM_STACK;
	r->r10 = word;
	r->rip = (uintptr_t)page;
	r->rflags = KC_FLAGS;
	r->mode = BT86_MODE_LONG64;
	h->v.run->regs_dirty = 1;
	kc_changed_gpr = -1;
	return r;
}

static struct bt86_regs *kc_prep(struct kv *k, uint64_t word)
{
	return kc_prep_at(&k->h, k->h.code, word);
}

/* The general registers and flags after a run, against before (and the one expected change). */
static int kc_check_regs(const struct bt86_regs *before, const struct bt86_regs *after,
			 bool done)
{
	struct bt86_regs want = *before, got = *after;
	unsigned int n;

	if (done && kc_changed_gpr >= 0)
		*kc_gpr(&want, kc_changed_gpr) = kc_changed_val;
	for (n = 0; n < 16; n++) {
		uint64_t w = *kc_gpr(&want, n), g = *kc_gpr(&got, n);

		if (w != g)
			return fail("%s %#llx, want %#llx", kc_gpr_name[n],
				    (unsigned long long)g, (unsigned long long)w);
	}
	if ((after->rflags & KC_ARITH) != (before->rflags & KC_ARITH))
		return fail("rflags %#llx, want the arithmetic flags of %#llx",
			    (unsigned long long)after->rflags,
			    (unsigned long long)before->rflags);
	return 0;
}

/*
 * RUN the site at site (prepared with kc_prep/kc_prep_at): KC_DONE,
 * KC_DECLINED or KC_PLAIN, each with its counters checked, or -1 for any
 * other exit, counters that moved wrongly or a register that changed.
 */
static int kc_run(struct kv *k, const uint8_t *site)
{
	struct bt86_run *run = k->h.v.run;
	struct bt86_kfill *kf = k->kf;
	struct bt86_regs before = run->regs;
	uint64_t calls[BT86_KCALL_OPS], declines = kf->kcall_declines;
	unsigned int op = (before.r10 >> 8) & 15, i;
	uintptr_t s = (uintptr_t)site;
	int outcome;

	memcpy(calls, kf->kcalls, sizeof(calls));
	if (vm_run(&k->h.v))
		return -1;
	if (run->exit_reason == BT86_EXIT_EXCEPTION && run->ex.vector == 13 &&
	    run->ex.rip == s + KC_RESUME && run->regs.rip == s + KC_RESUME) {
		outcome = KC_DONE;
	} else if (run->exit_reason == BT86_EXIT_EXCEPTION && run->ex.vector == 3 &&
		   run->ex.rip == s + 1 && run->regs.rip == s + 1) {
		outcome = kf->kcall_declines == declines + 1 ? KC_DECLINED : KC_PLAIN;
	} else {
		return fail("exit %u vector %u error %#x cr2 %#llx rip %#llx (site %#llx): neither completed nor declined",
			    run->exit_reason, run->ex.vector, run->ex.error_code,
			    (unsigned long long)run->ex.cr2,
			    (unsigned long long)run->ex.rip, (unsigned long long)s);
	}
	for (i = 0; i < BT86_KCALL_OPS; i++) {
		uint64_t want = calls[i] + (outcome == KC_DONE && i == op);

		if (kf->kcalls[i] != want)
			return fail("%s, but kcalls[%u] %llu -> %llu", kc_outcome[outcome], i,
				    (unsigned long long)calls[i],
				    (unsigned long long)kf->kcalls[i]);
	}
	if (kf->kcall_declines != declines + (outcome == KC_DECLINED))
		return fail("%s, but kcall_declines %llu -> %llu", kc_outcome[outcome],
			    (unsigned long long)declines,
			    (unsigned long long)kf->kcall_declines);
	if (kc_check_regs(&before, &run->regs, outcome == KC_DONE)) {
		char w[sizeof(why)];

		strcpy(w, why);
		return fail("%s, but %s", kc_outcome[outcome], w);
	}
	return outcome;
}

/* RUN the site in the exec page and expect outcome want; fmt names the case. */
static int kc_call_at(struct kv *k, const uint8_t *site, int want, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int kc_call_at(struct kv *k, const uint8_t *site, int want, const char *fmt, ...)
{
	char what[160], w[sizeof(why)];
	va_list ap;
	int got;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	got = kc_run(k, site);
	if (got < 0) {
		strcpy(w, why);
		return fail("%s: %s", what, w);
	}
	if (got != want)
		return fail("%s: %s, want %s", what, kc_outcome[got], kc_outcome[want]);
	return 0;
}

#define kc_call(k, want, ...)	kc_call_at((k), (k)->h.code, (want), __VA_ARGS__)

/* kv_open, and the module must offer kcalls. */
static int kc_open(struct kv *k)
{
	struct bt86_version ver;

	if (kv_open(k))
		return -1;
	if (ioctl(k->h.v.dev, BT86_GET_VERSION, &ver))
		return fail("GET_VERSION: %s", strerror(errno));
	if (!(ver.caps & BT86_CAP_KCALL))
		return fail("caps %#x lack BT86_CAP_KCALL", ver.caps);
	return 0;
}

/* A fourth view (index i) in its own 44 GiB reservation; *res to munmap. */
static int kc_view(struct kv *k, unsigned int i, uint32_t flags, uint32_t space,
		   void **res, uint64_t *base)
{
	*res = mmap(NULL, KV_RES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (*res == MAP_FAILED) {
		*res = NULL;
		return fail("reserve 44 GiB: %s", strerror(errno));
	}
	*base = ((uintptr_t)*res + (2ull << 30) + (4ull << 30) - 1) & ~((4ull << 30) - 1);
	k->kf->views[i] = (struct bt86_kview){ *base, flags, space, KV_PD, 0 };
	return 0;
}

/* A read through a view the kernel fills (the page was zapped): kfills grows. */
static int kc_refilled(struct kv *k, uint64_t addr, uint64_t want, const char *what)
{
	uint64_t fills = k->kf->kfills;

	if (kv_read(k, addr, want))
		return -1;
	if (k->kf->kfills == fills)
		return fail("%s: %#llx still mapped (no refill)", what, (unsigned long long)addr);
	return 0;
}

/* A read that needs no fill: the leaf is still there. */
static int kc_mapped(struct kv *k, uint64_t addr, uint64_t want, const char *what)
{
	uint64_t fills = k->kf->kfills;

	if (kv_read(k, addr, want))
		return -1;
	if (k->kf->kfills != fills)
		return fail("%s: %#llx was refilled (zapped)", what, (unsigned long long)addr);
	return 0;
}

/* Log entries from index from on: exactly n, all UNMAPPED, each in want[]. */
static int kc_log_unmapped(struct kv *k, uint32_t from, unsigned int n,
			   const struct bt86_kvlog *want, const char *what)
{
	unsigned int i, j;

	if (k->kf->log_head - from != n) {
		const struct bt86_kvlog *l = &k->kf->log[from % BT86_KV_LOG];

		if (k->kf->log_head == from)
			return fail("%s: no log entries, want %u", what, n);
		return fail("%s: %u log entries, want %u (the first {%u %#x %#x %u})", what,
			    k->kf->log_head - from, n, l->view, l->lin, l->gpa, l->flags);
	}
	for (i = 0; i < n; i++) {
		const struct bt86_kvlog *l = &k->kf->log[(from + i) % BT86_KV_LOG];

		for (j = 0; j < n; j++)
			if (l->view == want[j].view && l->lin == want[j].lin &&
			    l->gpa == want[j].gpa && l->flags == want[j].flags)
				break;
		if (j == n)
			return fail("%s: unexpected log entry {%u %#x %#x %u}", what,
				    l->view, l->lin, l->gpa, l->flags);
	}
	return 0;
}

/* ---- BT86_KCALL_MOV_FROM_CR -------------------------------------------- */

int t_kcall_mov_from_cr(void)
{
	static const uint32_t cr[5] = { 0x80050033, 0x0badc0de, 0xdeadbeef,
					KV_PD | 0x18, 0x000006d0 };
	static const unsigned int declined[] = {
		1 << 3 | 0, 1 << 3 | 4, 5 << 3 | 0, 6 << 3 | 3, 7 << 3 | 7, 8 << 3 | 1, 0xff,
	};
	static const unsigned int ok[] = { 0, 2, 3, 4 };
	struct kv k;
	unsigned int i, g, n = 0;
	int ret = -1;

	if (kc_open(&k))
		goto out;
	memcpy(k.kf->cr, cr, sizeof(cr));
	for (i = 0; i < 4; i++) {
		for (g = 0; g < 8; g++) {
			kc_prep(&k, kc_word(BT86_KCALL_MOV_FROM_CR, ok[i] << 3 | g, KC_CODE_LIN));
			/* A 32-bit destination: zero-extended; ESP is r12. */
			kc_expect_reg(g == 4 ? 12 : g, cr[ok[i]]);
			if (kc_call(&k, KC_DONE, "mov %%cr%u, %%e%s", ok[i], kc_gpr_name[g] + 1))
				goto out;
			n++;
		}
	}
	/* The value published now, not at some earlier RUN. */
	k.kf->cr[3] = 0x00abc000;
	kc_prep(&k, kc_word(BT86_KCALL_MOV_FROM_CR, 3 << 3 | 6, KC_CODE_LIN));
	kc_expect_reg(6, 0x00abc000);
	if (kc_call(&k, KC_DONE, "mov %%cr3, %%esi after a new cr[3]"))
		goto out;
	n++;
	for (i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
		kc_prep(&k, kc_word(BT86_KCALL_MOV_FROM_CR, declined[i], KC_CODE_LIN));
		if (kc_call(&k, KC_DECLINED, "mov from CR arg %#x", declined[i]))
			goto out;
	}
	for (i = 0; i < BT86_KCALL_OPS; i++) {
		if (k.kf->kcalls[i] != (i == BT86_KCALL_MOV_FROM_CR ? n : 0)) {
			fail("kcalls[%u] = %llu", i, (unsigned long long)k.kf->kcalls[i]);
			goto out;
		}
	}
	if (k.kf->kcall_declines != sizeof(declined) / sizeof(declined[0])) {
		fail("kcall_declines %llu, want %zu", (unsigned long long)k.kf->kcall_declines,
		     sizeof(declined) / sizeof(declined[0]));
		goto out;
	}
	ret = 0;
out:
	kv_close(&k);
	return ret;
}

/* ---- BT86_KCALL_INVLPG ------------------------------------------------- */

static int kc_invlpg(struct kv *k, uint64_t r14, uint32_t code_lin, int want, const char *what)
{
	struct bt86_regs *r = kc_prep(k, kc_word(BT86_KCALL_INVLPG, 0, code_lin));

	r->r14 = r14;
	return kc_call(k, want, "invlpg %#llx (code page %#x), %s",
		       (unsigned long long)r14, code_lin, what);
}

int t_kcall_invlpg(void)
{
	const uint64_t g4 = 4ull << 30;
	uint64_t b, u, o = 0;
	void *res = NULL;
	uint32_t head;
	struct kv k;
	int ret = -1;

	if (kc_open(&k))
		goto out;
	b = k.base[0];
	u = k.base[1];
	/* View 3: the same tables as space 1, which is not the current space. */
	if (kc_view(&k, 3, 0, 1, &res, &o))
		goto out;
	k.kf->ptu[1][0] = KV_PT0;
	k.kf->ptu[1][0x200] = KV_PT2;
	k.kf->cur_space = 0;
	/* The flat view maps gpa 0x1000 at lin 0x1000: no paging view, never zapped by invlpg. */
	*(uint64_t *)(k.h.v.ram + 0x1000) = 0xf1a7f1a7f1a7f1a7ull;
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, u + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, o + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, b - g4 + 0x80001000, 0x5555000000000000ull) ||
	    kv_read(&k, u + 0x80001000, 0x5555000000000000ull) ||
	    kv_read(&k, k.base[2] + 0x1000, 0xf1a7f1a7f1a7f1a7ull))
		goto out;

	/* Both paging views of space 0 lose the page at every alias; each is logged. */
	head = k.kf->log_head;
	if (kc_invlpg(&k, 0xffffffff00001123ull, KC_CODE_LIN, KC_DONE, "both views of space 0") ||
	    kc_log_unmapped(&k, head, 2, (const struct bt86_kvlog[]){
				    { 0, 0x1000, 0, BT86_KVLOG_UNMAPPED },
				    { 1, 0x1000, 0, BT86_KVLOG_UNMAPPED } }, "invlpg 0x1000"))
		goto out;
	if (kc_mapped(&k, o + 0x1000, 0x1111000000000000ull, "the view of space 1") ||
	    kc_mapped(&k, k.base[2] + 0x1000, 0xf1a7f1a7f1a7f1a7ull, "the flat view") ||
	    kc_refilled(&k, b + g4 + 0x1000, 0x1111000000000000ull, "view 0, upper mirror") ||
	    kc_mapped(&k, b + 0x1000, 0x1111000000000000ull, "view 0 after its refill") ||
	    kc_refilled(&k, u + 0x1000, 0x1111000000000000ull, "view 1"))
		goto out;
	/* Above 2 GiB: the low mirror goes too. */
	head = k.kf->log_head;
	if (kc_invlpg(&k, 0x80001ff8, KC_CODE_LIN, KC_DONE, "a page above 2 GiB") ||
	    kc_log_unmapped(&k, head, 2, (const struct bt86_kvlog[]){
				    { 0, 0x80001000, 0, BT86_KVLOG_UNMAPPED },
				    { 1, 0x80001000, 0, BT86_KVLOG_UNMAPPED } }, "invlpg 0x80001000") ||
	    kc_refilled(&k, b - g4 + 0x80001000, 0x5555000000000000ull, "view 0, low mirror") ||
	    kc_mapped(&k, b + 0x80001000, 0x5555000000000000ull, "view 0 after its refill"))
		goto out;
	/* A page no view maps: completed, nothing logged. */
	head = k.kf->log_head;
	if (kc_invlpg(&k, 0x4000, KC_CODE_LIN, KC_DONE, "an unmapped page") ||
	    kc_log_unmapped(&k, head, 0, NULL, "invlpg 0x4000"))
		goto out;

	/* Declined, nothing zapped: an IBL page, the code page and the next, a bad space, no log room. */
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, u + 0x1000, 0x1111000000000000ull))
		goto out;
	head = k.kf->log_head;
	k.kf->ibl_pages[0] = 1u << 1;
	if (kc_invlpg(&k, 0x1000, KC_CODE_LIN, KC_DECLINED, "page 1 in ibl_pages"))
		goto out;
	k.kf->ibl_pages[0] = 0;
	k.kf->ibl_pages[0x80001 >> 3] = 1u << (0x80001 & 7);
	if (kc_invlpg(&k, 0x1000, 0x1000, KC_DECLINED, "the code page") ||
	    kc_invlpg(&k, 0x1000, 0x0000, KC_DECLINED, "the page after the code page") ||
	    kc_invlpg(&k, 0x80001000, KC_CODE_LIN, KC_DECLINED, "page 0x80001 in ibl_pages"))
		goto out;
	k.kf->ibl_pages[0x80001 >> 3] = 0;
	k.kf->cur_space = BT86_KV_SPACES;
	if (kc_invlpg(&k, 0x1000, KC_CODE_LIN, KC_DECLINED, "cur_space 8"))
		goto out;
	k.kf->cur_space = 0xffffffffu;
	if (kc_invlpg(&k, 0x1000, KC_CODE_LIN, KC_DECLINED, "cur_space 0xffffffff"))
		goto out;
	k.kf->cur_space = 0;
	k.kf->log_tail = k.kf->log_head - (BT86_KV_LOG - 1);	/* one free, two views */
	if (kc_invlpg(&k, 0x1000, KC_CODE_LIN, KC_DECLINED, "one free log entry"))
		goto out;
	k.kf->log_tail = k.kf->log_head;
	if (kc_log_unmapped(&k, head, 0, NULL, "declined invlpgs") ||
	    kc_mapped(&k, b + 0x1000, 0x1111000000000000ull, "view 0 after declined invlpgs") ||
	    kc_mapped(&k, u + 0x1000, 0x1111000000000000ull, "view 1 after declined invlpgs"))
		goto out;

	/* The page before the code page is no business of the translator's. */
	head = k.kf->log_head;
	if (kc_invlpg(&k, 0x1000, 0x2000, KC_DONE, "the page before the code page") ||
	    kc_log_unmapped(&k, head, 2, (const struct bt86_kvlog[]){
				    { 0, 0x1000, 0, BT86_KVLOG_UNMAPPED },
				    { 1, 0x1000, 0, BT86_KVLOG_UNMAPPED } }, "invlpg 0x1000 again"))
		goto out;
	/* Exactly two free log entries for two views: enough. */
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, u + 0x1000, 0x1111000000000000ull))
		goto out;
	head = k.kf->log_head;
	k.kf->log_tail = k.kf->log_head - (BT86_KV_LOG - 2);
	if (kc_invlpg(&k, 0x1000, KC_CODE_LIN, KC_DONE, "two free log entries"))
		goto out;
	k.kf->log_tail = k.kf->log_head;
	if (kc_log_unmapped(&k, head, 2, (const struct bt86_kvlog[]){
				    { 0, 0x1000, 0, BT86_KVLOG_UNMAPPED },
				    { 1, 0x1000, 0, BT86_KVLOG_UNMAPPED } }, "two free entries"))
		goto out;

	/* cur_space 1: only view 3 loses the page. */
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull))
		goto out;
	head = k.kf->log_head;
	k.kf->cur_space = 1;
	if (kc_invlpg(&k, 0x1000, KC_CODE_LIN, KC_DONE, "space 1") ||
	    kc_log_unmapped(&k, head, 1, (const struct bt86_kvlog[]){
				    { 3, 0x1000, 0, BT86_KVLOG_UNMAPPED } }, "invlpg in space 1") ||
	    kc_mapped(&k, b + 0x1000, 0x1111000000000000ull, "view 0 after an invlpg in space 1") ||
	    kc_refilled(&k, o + 0x1000, 0x1111000000000000ull, "view 3 after an invlpg in space 1"))
		goto out;
	k.kf->cur_space = 0;

	/* Paging off: no view caches a translation; completed, nothing zapped (IBL page or not). */
	head = k.kf->log_head;
	k.kf->flags = 0;
	k.kf->ibl_pages[0] = 1u << 1;
	if (kc_invlpg(&k, 0x1000, KC_CODE_LIN, KC_DONE, "paging off") ||
	    kc_invlpg(&k, 0x1000, 0x1000, KC_DONE, "paging off, the code page"))
		goto out;
	k.kf->ibl_pages[0] = 0;
	k.kf->flags = BT86_KF_PAGING | BT86_KF_WP | BT86_KF_PSE;
	if (kc_log_unmapped(&k, head, 0, NULL, "invlpg with paging off") ||
	    kc_mapped(&k, b + 0x1000, 0x1111000000000000ull, "view 0 after invlpg with paging off"))
		goto out;
	if (k.h.v.run->host_fill_failures) {
		fail("%llu host-mirror failures", (unsigned long long)k.h.v.run->host_fill_failures);
		goto out;
	}
	ret = 0;
out:
	kv_close(&k);
	if (res)
		munmap(res, KV_RES);
	return ret;
}

/* ---- BT86_KCALL_STORE -------------------------------------------------- */

static int kc_store(struct kv *k, unsigned int size, uint32_t lin, uint64_t r11,
		    uint64_t r15, int want, const char *what)
{
	struct bt86_regs *r = kc_prep(k, kc_word(BT86_KCALL_STORE, size, KC_CODE_LIN));

	r->r14 = 0x5a5a5a5a00000000ull | lin;	/* r14d is the address */
	r->r11 = r11;
	r->r15 = r15;
	return kc_call(k, want, "store size %u of %#llx to %#x via %#llx, %s", size,
		       (unsigned long long)r11, lin, (unsigned long long)r15, what);
}

static int kc_ram_is(struct kv *k, uint32_t gpa, uint32_t want, const char *what)
{
	if (*kv_entry(k, gpa) != want)
		return fail("%s: guest RAM at %#x holds %#x, want %#x", what, gpa,
			    *kv_entry(k, gpa), want);
	return 0;
}

int t_kcall_store(void)
{
	static const struct { unsigned int size, off; uint32_t val, after; } merge[] = {
		{ 1, 0, 0xa0, 0x112233a0 }, { 1, 1, 0xa1, 0x1122a1a0 },
		{ 1, 2, 0xa2, 0x11a2a1a0 }, { 1, 3, 0xa3, 0xa3a2a1a0 },
		{ 2, 0, 0xb1b0, 0xa3a2b1b0 }, { 2, 1, 0xc1c0, 0xa3c1c0b0 },
		{ 2, 2, 0xd1d0, 0xd1d0c0b0 }, { 4, 0, 0x01020304, 0x01020304 },
	};
	static const struct { unsigned int size, off; } bad[] = {
		{ 2, 3 }, { 4, 1 }, { 4, 2 }, { 4, 3 }, { 3, 0 }, { 0, 0 }, { 8, 0 }, { 0xff, 0 },
	};
	const uint32_t pte1 = KT_LIN(KV_PT0) + 1 * 4, m = KV_PT0 + 0x41 * 4;
	uint8_t pt_before[4096], pd_before[4096];
	uint64_t b, u, fills;
	uint32_t head, newpte, v;
	struct kv k;
	unsigned int i;
	int ret = -1;

	if (kc_open(&k))
		goto out;
	b = k.base[0];
	u = k.base[1];
	kv_set_kwrite(&k, KV_PT0, true);
	/*
	 * KV_PT0 also at lin 0x7000 (supervisor, writable), 0x8000
	 * (supervisor, read-only) and 0x9000 (user, read-only).
	 */
	*kv_entry(&k, KV_PT0 + 7 * 4) = KV_PT0 | G_P | G_RW;
	*kv_entry(&k, KV_PT0 + 8 * 4) = KV_PT0 | G_P;
	*kv_entry(&k, KV_PT0 + 9 * 4) = KV_PT0 | G_P | G_US;
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, u + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, k.base[2] + KV_RW, 0x1111000000000000ull))
		goto out;

	/* A changed PTE, written through the 4 MiB page: A/D in its PDE, both paging views zapped. */
	*kv_entry(&k, KV_PD + 4) &= ~(G_A | G_D);
	head = k.kf->log_head;
	newpte = KV_NBR | G_P | G_RW | G_US;
	if (kc_store(&k, 4, pte1, 0xdead000000000000ull | newpte, b, KC_DONE, "a changed PTE") ||
	    kc_ram_is(&k, KV_PT0 + 4, newpte, "the changed PTE"))
		goto out;
	if ((*kv_entry(&k, KV_PD + 4) & (G_A | G_D)) != (G_A | G_D)) {
		fail("4 MiB PDE %#x after a store through it: want A and D", *kv_entry(&k, KV_PD + 4));
		goto out;
	}
	if (kc_log_unmapped(&k, head, 2, (const struct bt86_kvlog[]){
				    { 0, 0x1000, KV_PT0, BT86_KVLOG_UNMAPPED },
				    { 1, 0x1000, KV_PT0, BT86_KVLOG_UNMAPPED } }, "a changed PTE") ||
	    kc_refilled(&k, b + 0x1000, 0x7777000000000000ull, "view 0 after the store") ||
	    kc_refilled(&k, u + 0x1000, 0x7777000000000000ull, "view 1 after the store") ||
	    kc_mapped(&k, k.base[2] + KV_RW, 0x1111000000000000ull, "the flat view after the store"))
		goto out;
	/* The same value again: completed, nothing zapped. */
	head = k.kf->log_head;
	fills = k.kf->kfills;
	v = *kv_entry(&k, KV_PT0 + 4);
	if (kc_store(&k, 4, pte1, v, b, KC_DONE, "the same PTE value") ||
	    kc_ram_is(&k, KV_PT0 + 4, v, "the same PTE value") ||
	    kc_log_unmapped(&k, head, 0, NULL, "the same PTE value") ||
	    kc_mapped(&k, b + 0x1000, 0x7777000000000000ull, "view 0 after the same value") ||
	    kc_mapped(&k, u + 0x1000, 0x7777000000000000ull, "view 1 after the same value"))
		goto out;
	if (k.kf->kfills != fills) {
		fail("the same value: %llu fills", (unsigned long long)(k.kf->kfills - fills));
		goto out;
	}
	/* A byte of the frame number (through the user view): lin 0x1000 now maps KV_MAPPED. */
	head = k.kf->log_head;
	if (kc_store(&k, 1, pte1 + 1, 0xffffff50, u, KC_DONE, "one byte of a PTE") ||
	    kc_ram_is(&k, KV_PT0 + 4, (v & ~0xff00u) | 0x5000, "one byte of a PTE") ||
	    kc_log_unmapped(&k, head, 2, (const struct bt86_kvlog[]){
				    { 0, 0x1000, KV_PT0, BT86_KVLOG_UNMAPPED },
				    { 1, 0x1000, KV_PT0, BT86_KVLOG_UNMAPPED } }, "a byte store") ||
	    kc_refilled(&k, b + 0x1000, 0x6666000000000000ull, "view 0 after a byte store"))
		goto out;

	/* Through a 4 KiB PTE (lin 0x7000): A and D in it, A in the PDE; a PTE no view maps. */
	*kv_entry(&k, KV_PD) &= ~G_A;
	head = k.kf->log_head;
	if (kc_store(&k, 4, 0x7000 + 0x40 * 4, 0x00012345 | G_P, b, KC_DONE, "through a 4 KiB page") ||
	    kc_ram_is(&k, KV_PT0 + 0x40 * 4, 0x00012345 | G_P, "through a 4 KiB page") ||
	    kc_ram_is(&k, KV_PT0 + 7 * 4, KV_PT0 | G_P | G_RW | G_A | G_D, "the PTE written through") ||
	    kc_log_unmapped(&k, head, 0, NULL, "a PTE no view maps"))
		goto out;
	if (!(*kv_entry(&k, KV_PD) & G_A)) {
		fail("PDE %#x: no A after a store through its page table", *kv_entry(&k, KV_PD));
		goto out;
	}

	/* Sizes 1 and 2 merge into the dword at offsets 0..3; only r11's low bytes count. */
	*kv_entry(&k, m) = 0x11223344;
	for (i = 0; i < sizeof(merge) / sizeof(merge[0]); i++) {
		uint64_t low = merge[i].size == 4 ? 0xffffffffu : (1u << 8 * merge[i].size) - 1;
		uint64_t r11 = (0xfedcba9876543210ull & ~low) | merge[i].val;

		if (kc_store(&k, merge[i].size, KT_LIN(m) + merge[i].off, r11, b, KC_DONE, "merge") ||
		    kc_ram_is(&k, m, merge[i].after, "merge"))
			goto out;
	}

	/* Declined, and nothing written (not even A/D). */
	memcpy(pt_before, k.h.v.ram + KV_PT0, 4096);
	memcpy(pd_before, k.h.v.ram + KV_PD, 4096);
	head = k.kf->log_head;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (kc_store(&k, bad[i].size, KT_LIN(m) + bad[i].off, 0x99999999, b, KC_DECLINED,
			     "a bad size or a dword crossed"))
			goto out;
	if (kc_store(&k, 4, KT_LIN(KV_RW), 0x1234, b, KC_DECLINED, "a frame not traced") ||
	    kc_store(&k, 4, KT_LIN(KV_TRACED), 0x1234, b, KC_DECLINED, "traced, kwrite clear") ||
	    kc_store(&k, 4, 0x4000, 0x1234, b, KC_DECLINED, "a page not present") ||
	    kc_store(&k, 4, 0x8000 + 0x44 * 4, 0x1234, b, KC_DECLINED,
		     "read-only (supervisor) with WP") ||
	    kc_store(&k, 4, 0x9000 + 0x44 * 4, 0x1234, b, KC_DECLINED, "read-only (user) with WP") ||
	    kc_store(&k, 4, 0x7000 + 0x44 * 4, 0x1234, u, KC_DECLINED,
		     "a supervisor page through the user view") ||
	    kc_store(&k, 4, 0x9000 + 0x44 * 4, 0x1234, u, KC_DECLINED,
		     "read-only through the user view"))
		goto out;
	k.kf->flags &= ~BT86_KF_WP;
	if (kc_store(&k, 4, 0x9000 + 0x44 * 4, 0x1234, u, KC_DECLINED,
		     "read-only through the user view, WP clear"))
		goto out;
	k.kf->flags |= BT86_KF_WP;
	kv_set_kwrite(&k, KV_PT0, false);
	if (kc_store(&k, 4, KT_LIN(m), 0x1234, b, KC_DECLINED, "the page table, kwrite clear"))
		goto out;
	kv_set_kwrite(&k, KV_PT0, true);
	kv_set_traced(&k, KV_PT0, false);
	if (kc_store(&k, 4, KT_LIN(m), 0x1234, b, KC_DECLINED, "the page table, untraced"))
		goto out;
	kv_set_traced(&k, KV_PT0, true);
	if (kc_store(&k, 4, KT_LIN(m), 0x1234, b + 0x1000, KC_DECLINED, "r15 inside a view") ||
	    kc_store(&k, 4, KT_LIN(m), 0x1234, b + (4ull << 30), KC_DECLINED, "r15 the upper mirror") ||
	    kc_store(&k, 4, KT_LIN(m), 0x1234, 0, KC_DECLINED, "r15 0") ||
	    kc_store(&k, 4, KT_LIN(m), 0x1234, b + (12ull << 30), KC_DECLINED,
		     "r15 4 GiB aligned, no view"))
		goto out;
	/* The flat view, with a directory a walk would find (a flat view ignores it). */
	k.kf->views[2].cr3 = KV_PD;
	if (kc_store(&k, 4, KT_LIN(m), 0x1234, k.base[2], KC_DECLINED, "the flat view"))
		goto out;
	k.kf->views[2].cr3 = 0;
	k.kf->flags = 0;
	if (kc_store(&k, 4, KT_LIN(m), 0x1234, b, KC_DECLINED, "paging off"))
		goto out;
	k.kf->flags = BT86_KF_PAGING | BT86_KF_WP | BT86_KF_PSE;
	k.kf->ram_frames = KV_PT0 >> 12;		/* the page table beyond RAM */
	if (kc_store(&k, 4, KT_LIN(m), 0x1234, b, KC_DECLINED, "the frame beyond ram_frames"))
		goto out;
	k.kf->ram_frames = RAM_SIZE >> 12;
	k.kf->log_tail = k.kf->log_head - (BT86_KV_LOG - 63);
	if (kc_store(&k, 4, KT_LIN(m), 0x1234, b, KC_DECLINED, "63 free log entries"))
		goto out;
	k.kf->log_tail = k.kf->log_head;
	if (memcmp(pt_before, k.h.v.ram + KV_PT0, 4096) || memcmp(pd_before, k.h.v.ram + KV_PD, 4096)) {
		fail("declined stores changed the page table or directory");
		goto out;
	}
	if (kc_log_unmapped(&k, head, 0, NULL, "declined stores"))
		goto out;

	/* WP clear: the kernel (supervisor) writes a read-only page, setting A and D. */
	k.kf->flags &= ~BT86_KF_WP;
	if (kc_store(&k, 4, 0x8000 + 0x44 * 4, 0x4321, b, KC_DONE, "read-only, WP clear") ||
	    kc_ram_is(&k, KV_PT0 + 0x44 * 4, 0x4321, "read-only, WP clear") ||
	    kc_ram_is(&k, KV_PT0 + 8 * 4, KV_PT0 | G_P | G_A | G_D, "the read-only PTE"))
		goto out;
	k.kf->flags |= BT86_KF_WP;
	/* 64 free log entries are enough. */
	k.kf->log_tail = k.kf->log_head - (BT86_KV_LOG - 64);
	if (kc_store(&k, 2, KT_LIN(m) + 2, 0x5678, b, KC_DONE, "64 free log entries") ||
	    kc_ram_is(&k, m, 0x56780304, "64 free log entries"))
		goto out;
	k.kf->log_tail = k.kf->log_head;
	if (k.h.v.run->host_fill_failures) {
		fail("%llu host-mirror failures", (unsigned long long)k.h.v.run->host_fill_failures);
		goto out;
	}
	ret = 0;
out:
	kv_close(&k);
	return ret;
}

/*
 * A store to guest frame 0, traced and in kwrite[]: ptu[][] == 0 means "no
 * page table", so no space uses frame 0 as one: the kernel leaves the
 * store to user space (which stops tracing a table nobody uses), writes
 * nothing and zaps nothing.  Lin 0x405000 (the 4 MiB page of PDE 1, which
 * has no ptu entry) maps gpa 0x5000.
 */
int t_kcall_store_frame0(void)
{
	uint32_t head, before;
	struct kv k;
	int ret = -1;

	if (kc_open(&k))
		goto out;
	kv_set_traced(&k, 0, true);
	kv_set_kwrite(&k, 0, true);
	*(uint64_t *)(k.h.v.ram + 0x5000) = 0x5000500050005000ull;
	if (kv_read(&k, k.base[0] + 0x405000, 0x5000500050005000ull) ||
	    kv_read(&k, k.base[1] + 0x405000, 0x5000500050005000ull))
		goto out;
	head = k.kf->log_head;
	before = *kv_entry(&k, 5 * 4);
	if (kc_store(&k, 4, KT_LIN(0) + 5 * 4, 0x12345678, k.base[0], KC_DECLINED,
		     "dword 5 of frame 0") ||
	    kc_ram_is(&k, 5 * 4, before, "dword 5 of frame 0") ||
	    kc_log_unmapped(&k, head, 0, NULL, "a store to frame 0 (no page table is published there)") ||
	    kc_mapped(&k, k.base[0] + 0x405000, 0x5000500050005000ull,
		      "lin 0x405000 in view 0 after a store to frame 0") ||
	    kc_mapped(&k, k.base[1] + 0x405000, 0x5000500050005000ull,
		      "lin 0x405000 in view 1 after a store to frame 0"))
		goto out;
	ret = 0;
out:
	kv_close(&k);
	return ret;
}

/* ---- BT86_KCALL_SEG ---------------------------------------------------- */

/* The guest GDT at KC_GDT: {low dword, high dword}. */
static const uint32_t kc_gdt[][2] = {
	{ 0, 0 },			/* 0x00 null */
	{ 0x0000ffff, 0x00cf9b00 },	/* 0x08 code, readable, DPL 0, accessed */
	{ 0x0000ffff, 0x00cf9300 },	/* 0x10 data, DPL 0, accessed */
	{ 0x0000ffff, 0x00cf9200 },	/* 0x18 data, not accessed */
	{ 0x0000ffff, 0x00cf1300 },	/* 0x20 data, not present */
	{ 0x0000ffff, 0x00cff300 },	/* 0x28 data, DPL 3 */
	{ 0x0000ffff, 0x00cf9900 },	/* 0x30 code, execute-only */
	{ 0x0000ffff, 0x00cf9f00 },	/* 0x38 code, readable, conforming, DPL 0 */
	{ 0x00000067, 0x00008900 },	/* 0x40 a TSS (system) */
	{ 0x5678ffff, 0x12cf9334 },	/* 0x48 data, base 0x12345678 */
	{ 0x0000ffff, 0x00009300 },	/* 0x50 data, base 0, a 64 KiB limit */
	{ 0x0000ffff, 0x00cf9300 },	/* 0x58 data, as 0x10 */
	{ 0x0000ffff, 0x00cf9300 },	/* 0x60 data, as 0x10, beyond the limit */
};
#define KC_GDT_LIMIT	0x5fu		/* entries 0x00 .. 0x58 */
#define KC_NGDT		(sizeof(kc_gdt) / sizeof(kc_gdt[0]))
#define KC_SEL_CANARY	0xeeeeu		/* bt_cpu's selectors (kf->sel_uaddr) before a load */
#define KC_BASE_48	0x12345678u

static void kc_publish(struct kv *k, unsigned int sreg, uint32_t sel, uint32_t base,
		       uint32_t lo, uint32_t hi)
{
	k->kf->seg[sreg].sel = sel;
	k->kf->seg[sreg].base = base;
	k->kf->seg[sreg].desc[0] = lo;
	k->kf->seg[sreg].desc[1] = hi;
}

struct kc_seg_case {
	const char *what;
	unsigned int sreg, pop;
	uint16_t sel;		/* r11w */
	uint32_t pub;		/* kf->seg[sreg].sel */
	int pub_desc;		/* kf->seg[sreg].desc: the GDT entry with this index; -1: 0 */
	uint32_t pub_base;	/* kf->seg[sreg].base */
	int want;
};

/*
 * A load completes when it keeps the segment's base and would not fault;
 * it writes back (bt_cpu's selector, kf->seg[], seg_loaded) only what
 * changed.  The other registers are published as flat 0x10.
 */
static const struct kc_seg_case kc_seg_cases[] = {
	/* The same selector and descriptor: completed, nothing written. */
	{ "ES, flat data", 0, 0, 0x10, 0x10, 2, 0, KC_DONE },
	{ "DS, flat data", 3, 0, 0x10, 0x10, 2, 0, KC_DONE },
	{ "FS, flat data", 4, 0, 0x10, 0x10, 2, 0, KC_DONE },
	{ "GS, flat data", 5, 0, 0x10, 0x10, 2, 0, KC_DONE },
	{ "DS, readable code", 3, 0, 0x08, 0x08, 1, 0, KC_DONE },
	{ "DS, DPL 3 data, RPL 3", 3, 0, 0x2b, 0x2b, 5, 0, KC_DONE },
	{ "DS, DPL 3 data, RPL 0", 3, 0, 0x28, 0x28, 5, 0, KC_DONE },
	{ "DS, conforming code, RPL 3", 3, 0, 0x3b, 0x3b, 7, 0, KC_DONE },
	{ "DS, a based segment", 3, 0, 0x48, 0x48, 9, KC_BASE_48, KC_DONE },
	{ "pop ES", 0, 2, 0x10, 0x10, 2, 0, KC_DONE },
	{ "pop GS", 5, 4, 0x10, 0x10, 2, 0, KC_DONE },
	{ "null, published null", 3, 0, 0, 0, -1, 0, KC_DONE },
	{ "null RPL 3, published the same", 4, 0, 3, 3, -1, 0, KC_DONE },
	{ "pop of null, published null", 5, 4, 0, 0, -1, 0, KC_DONE },
	/* The same base, something else changes: completed, written back. */
	{ "another selector, the same descriptor", 3, 0, 0x58, 0x10, 2, 0, KC_DONE },
	{ "another RPL", 3, 0, 0x2b, 0x28, 5, 0, KC_DONE },
	{ "another limit", 3, 0, 0x50, 0x10, 2, 0, KC_DONE },
	{ "readable code over data", 4, 0, 0x08, 0x10, 2, 0, KC_DONE },
	{ "accessed bit clear (set by the load)", 3, 0, 0x18, 0x18, 3, 0, KC_DONE },
	{ "the descriptor not published", 3, 0, 0x10, 0x10, -1, 0, KC_DONE },
	{ "null over flat data", 3, 0, 0, 0x10, 2, 0, KC_DONE },
	{ "null, published 0xffffffff", 3, 0, 0, 0xffffffffu, -1, 0, KC_DONE },
	{ "flat data over null", 0, 4, 0x10, 0, -1, 0, KC_DONE },
	/* A base change, a fault, or not for the kernel: declined. */
	{ "a based segment over a flat one", 3, 0, 0x48, 0x10, 2, 0, KC_DECLINED },
	{ "a flat segment over a based one", 3, 0, 0x10, 0x48, 9, KC_BASE_48, KC_DECLINED },
	{ "null over a based segment", 3, 0, 0, 0x48, 9, KC_BASE_48, KC_DECLINED },
	{ "the published base is not the entry's", 3, 0, 0x10, 0x10, 2, 0x1000, KC_DECLINED },
	{ "CS", 1, 0, 0x08, 0x08, 1, 0, KC_DECLINED },
	{ "SS", 2, 0, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "sreg 6", 6, 0, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "sreg 7", 7, 0, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "an LDT selector", 3, 0, 0x14, 0x14, 2, 0, KC_DECLINED },
	{ "LDT entry 0 (not a null selector)", 3, 0, 0x04, 0x04, -1, 0, KC_DECLINED },
	{ "not present", 3, 0, 0x20, 0x20, 4, 0, KC_DECLINED },
	{ "RPL 3 > DPL 0", 3, 0, 0x13, 0x13, 2, 0, KC_DECLINED },
	{ "RPL 1 > DPL 0, readable code", 3, 0, 0x09, 0x09, 1, 0, KC_DECLINED },
	{ "execute-only code", 3, 0, 0x30, 0x30, 6, 0, KC_DECLINED },
	{ "a system descriptor", 3, 0, 0x40, 0x40, 8, 0, KC_DECLINED },
	{ "pop size 1", 3, 1, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "pop size 3", 3, 3, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "pop size 6", 3, 6, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "pop size 8", 3, 8, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "pop size 31", 3, 31, 0x10, 0x10, 2, 0, KC_DECLINED },
	{ "a selector beyond the limit", 3, 0, 0x60, 0x10, 2, 0, KC_DECLINED },
};

/*
 * Run one load (the GDT that kf->gdt_base names starts at gdt_gpa in RAM)
 * and check what it wrote: the accessed bit in RAM (nothing else there),
 * bt_cpu's selector at kf->sel_uaddr, kf->seg[], seg_loaded, ESP.
 */
static int kc_seg_run(struct kv *k, uint16_t *selbuf, const struct kc_seg_case *c,
		      uint32_t gdt_gpa, uint64_t r15, const char *mode)
{
	uint8_t *gdt = k->h.v.ram + KC_GDT, before[0x1010];
	uint32_t pd[2] = { 0, 0 }, d[2] = { 0, 0 }, dgpa = gdt_gpa + (c->sel & ~7u);
	struct bt86_kseg seg[6];
	struct bt86_regs *r;
	bool changed = false;
	unsigned int s;
	char what[160];

	snprintf(what, sizeof(what), "%s%s%s (sreg %u, pop %u, sel %#x over %#x)", mode,
		 *mode ? ", " : "", c->what, c->sreg, c->pop, c->sel, c->pub);
	for (s = 0; s < 6; s++) {
		kc_publish(k, s, 0x10, 0, kc_gdt[2][0], kc_gdt[2][1]);
		selbuf[s] = KC_SEL_CANARY;
	}
	if (c->pub_desc >= 0)
		memcpy(pd, kc_gdt[c->pub_desc], sizeof(pd));
	if (c->sreg < 6)
		kc_publish(k, c->sreg, c->pub, c->pub_base, pd[0], pd[1]);
	k->kf->seg_loaded = 0;
	memcpy(seg, k->kf->seg, sizeof(seg));
	memcpy(before, gdt, sizeof(before));
	if ((c->sel & ~3u) && dgpa - KC_GDT < sizeof(before) - 8)
		memcpy(d, k->h.v.ram + dgpa, sizeof(d));

	r = kc_prep(k, kc_word(BT86_KCALL_SEG, c->sreg | c->pop << 3, KC_CODE_LIN));
	r->r11 = 0xffffffffabcd0000ull | c->sel;	/* only r11w is the selector */
	r->r15 = r15;
	r->r12 = 0x0000000100001000ull;
	if (c->pop == 2 || c->pop == 4)
		kc_expect_reg(12, 0x1000 + c->pop);	/* ESP, 32 bits */
	if (kc_call(k, c->want, "%s", what))
		return -1;

	if (c->want == KC_DONE) {
		if (c->sel & ~3u) {
			d[1] |= 0x100;			/* the CPU sets the accessed bit */
			before[dgpa - KC_GDT + 5] |= 1;
		}
		changed = c->sel != c->pub || d[0] != pd[0] || d[1] != pd[1];
	}
	if (memcmp(before, gdt, sizeof(before)))
		return fail("%s: the GDT in RAM changed (beyond the accessed bit of a load)", what);
	for (s = 0; s < 6; s++) {
		struct bt86_kseg want = seg[s], *got = &k->kf->seg[s];
		uint16_t wsel = KC_SEL_CANARY;

		if (changed && s == c->sreg) {
			want.sel = wsel = c->sel;
			want.desc[0] = d[0];
			want.desc[1] = d[1];
		}
		if (selbuf[s] != wsel)
			return fail("%s: bt_cpu selector %u is %#x, want %#x", what, s, selbuf[s], wsel);
		if (memcmp(got, &want, sizeof(want)))
			return fail("%s: kf->seg[%u] {%#x base %#x %#x:%#x}, want {%#x base %#x %#x:%#x}",
				    what, s, got->sel, got->base, got->desc[1], got->desc[0],
				    want.sel, want.base, want.desc[1], want.desc[0]);
	}
	if (k->kf->seg_loaded != (changed ? 1u << c->sreg : 0))
		return fail("%s: seg_loaded %#x, want %#x", what, k->kf->seg_loaded,
			    changed ? 1u << c->sreg : 0);
	return 0;
}

static int kc_seg1(struct kv *k, uint16_t *selbuf, unsigned int sreg, uint16_t sel,
		   uint32_t pub, uint32_t gdt_gpa, uint64_t r15, int want, const char *what)
{
	struct kc_seg_case c = { what, sreg, 0, sel, pub, (int)(pub >> 3) % (int)KC_NGDT,
				 0, want };

	return kc_seg_run(k, selbuf, &c, gdt_gpa, r15, "");
}

/* Every case of the table, the GDT at linear gdt_lin; r15 names the view for paging. */
static int kc_seg_table(struct kv *k, uint16_t *selbuf, uint32_t gdt_lin, uint64_t r15,
			const char *mode)
{
	unsigned int i;

	k->kf->gdt_base = gdt_lin;
	k->kf->gdt_limit = KC_GDT_LIMIT;
	for (i = 0; i < sizeof(kc_seg_cases) / sizeof(kc_seg_cases[0]); i++) {
		if (kc_seg_run(k, selbuf, &kc_seg_cases[i], KC_GDT, r15, mode))
			return -1;
		memcpy(k->h.v.ram + KC_GDT, kc_gdt, sizeof(kc_gdt));	/* accessed bits */
	}
	return 0;
}

/* What does not depend on the entry: limit, page crossing, PE, a rewritten entry. */
static int kc_seg_bounds(struct kv *k, uint16_t *selbuf, uint32_t gdt_lin, uint64_t r15,
			 const char *mode)
{
	uint32_t *e = kv_entry(k, KC_GDT + 2 * 8);
	char what[128];
	int r = -1;

	k->kf->gdt_base = gdt_lin;
	k->kf->gdt_limit = 0x17;
	snprintf(what, sizeof(what), "%s, limit 0x17 (the last byte of 0x10)", mode);
	if (kc_seg1(k, selbuf, 3, 0x10, 0x10, KC_GDT, r15, KC_DONE, what))
		goto out;
	k->kf->gdt_limit = 0x16;
	snprintf(what, sizeof(what), "%s, limit 0x16", mode);
	if (kc_seg1(k, selbuf, 3, 0x10, 0x10, KC_GDT, r15, KC_DECLINED, what))
		goto out;
	k->kf->gdt_limit = KC_GDT_LIMIT;
	/* The guest rewrote the entry: its base (declined), its limit (loaded). */
	e[0] = 0x1000ffff;
	snprintf(what, sizeof(what), "%s, the entry's base changed", mode);
	if (kc_seg1(k, selbuf, 3, 0x10, 0x10, KC_GDT, r15, KC_DECLINED, what))
		goto out;
	e[0] = kc_gdt[2][0];
	e[1] = kc_gdt[2][1] & ~0x000f0000u;
	snprintf(what, sizeof(what), "%s, the entry's limit changed", mode);
	if (kc_seg1(k, selbuf, 3, 0x10, 0x10, KC_GDT, r15, KC_DONE, what))
		goto out;
	e[1] = kc_gdt[2][1];
	k->kf->cr[0] &= ~1u;
	snprintf(what, sizeof(what), "%s, CR0.PE clear", mode);
	if (kc_seg1(k, selbuf, 3, 0x10, 0x10, KC_GDT, r15, KC_DECLINED, what) ||
	    kc_seg1(k, selbuf, 3, 0, 0, KC_GDT, r15, KC_DECLINED, what))
		goto out;
	k->kf->cr[0] |= 1u;
	/* Entry 1 as the last 8 bytes of the page, then across into the next. */
	memcpy(k->h.v.ram + KC_GDT + 0xff8, kc_gdt[1], 8);
	k->kf->gdt_base = gdt_lin + 0xff0;
	snprintf(what, sizeof(what), "%s, the last descriptor of a page", mode);
	if (kc_seg1(k, selbuf, 3, 0x08, 0x08, KC_GDT + 0xff0, r15, KC_DONE, what))
		goto out;
	memcpy(k->h.v.ram + KC_GDT + 0xffc, kc_gdt[1], 8);
	k->kf->gdt_base = gdt_lin + 0xff4;
	snprintf(what, sizeof(what), "%s, a descriptor across a page", mode);
	if (kc_seg1(k, selbuf, 3, 0x08, 0x08, KC_GDT + 0xff4, r15, KC_DECLINED, what))
		goto out;
	r = 0;
out:
	memset(k->h.v.ram + KC_GDT + 0xff0, 0, 16);
	memset(k->h.v.ram + KC_GDT + 0x1000, 0, 4);
	memcpy(k->h.v.ram + KC_GDT, kc_gdt, sizeof(kc_gdt));
	k->kf->gdt_base = gdt_lin;
	k->kf->gdt_limit = KC_GDT_LIMIT;
	k->kf->cr[0] |= 1u;
	return r;
}

/* ESP moves by the pop size, as a 32-bit register. */
static int kc_seg_pops(struct kv *k, uint64_t r15)
{
	static const struct { unsigned int pop; uint64_t r12, after; } p[] = {
		{ 4, 0xfffffffe, 2 }, { 2, 0xfffffffe, 0 }, { 2, 0xffffffff00001000ull, 0x1002 },
		{ 4, 0x7ffffffc, 0x80000000 }, { 0, 0xffffffff00001000ull, 0xffffffff00001000ull },
	};
	struct bt86_regs *r;
	unsigned int i;

	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		kc_publish(k, 3, 0x10, 0, kc_gdt[2][0], kc_gdt[2][1]);
		r = kc_prep(k, kc_word(BT86_KCALL_SEG, 3 | p[i].pop << 3, KC_CODE_LIN));
		r->r11 = 0x10;
		r->r15 = r15;
		r->r12 = p[i].r12;
		kc_expect_reg(12, p[i].after);
		if (kc_call(k, KC_DONE, "pop %%ds (size %u) with r12 %#llx", p[i].pop,
			    (unsigned long long)p[i].r12))
			return -1;
	}
	return 0;
}

/* bt_cpu's selectors: a page of the process (kf->sel_uaddr), and a read-only one. */
static int kc_selbufs(uint16_t **selbuf, void **ro)
{
	*selbuf = hm_page(4096);
	*ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!*selbuf || *ro == MAP_FAILED) {
		*ro = NULL;
		return fail("mmap: %s", strerror(errno));
	}
	return 0;
}

int t_kcall_seg(void)
{
	const uint32_t gdt_lin = 0x8000;	/* PTE 8 -> KC_GDT, supervisor */
	uint16_t *selbuf = NULL;
	void *ro = NULL;
	uint64_t b;
	struct kv k;
	int ret = -1;

	if (kc_open(&k) || kc_selbufs(&selbuf, &ro))
		goto out;
	b = k.base[0];
	k.kf->sel_uaddr = (uintptr_t)selbuf;
	memcpy(k.h.v.ram + KC_GDT, kc_gdt, sizeof(kc_gdt));
	*kv_entry(&k, KV_PT0 + 8 * 4) = KC_GDT | G_P | G_RW;
	/* Views 0-2 get their leaves (r15 must be a view the kernel has installed). */
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, k.base[1] + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, k.base[2] + KV_RW, 0x1111000000000000ull))
		goto out;

	/* Paging off: the GDT base is a guest-physical address; r15 plays no part. */
	k.kf->flags = 0;
	k.kf->cr[0] = 0x00000011;			/* PE, ET */
	if (kc_seg_table(&k, selbuf, KC_GDT, 0, "paging off") ||
	    kc_seg_bounds(&k, selbuf, KC_GDT, 0, "paging off") ||
	    kc_seg_pops(&k, 0))
		goto out;
	k.kf->gdt_base = RAM_SIZE - 8;		/* beyond guest RAM */
	k.kf->gdt_limit = 0xffff;
	if (kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, 0, KC_DECLINED, "the GDT beyond RAM"))
		goto out;
	k.kf->gdt_base = KC_GDT;
	k.kf->gdt_limit = KC_GDT_LIMIT;
	/* The accessed bit is not set in a traced frame (user space's); a load that sets none is fine. */
	kv_set_traced(&k, KC_GDT, true);
	if (kc_seg1(&k, selbuf, 3, 0x18, 0x18, KC_GDT, 0, KC_DECLINED, "the GDT traced, A clear") ||
	    kc_seg1(&k, selbuf, 3, 0x58, 0x10, KC_GDT, 0, KC_DONE, "the GDT traced, A set"))
		goto out;
	kv_set_traced(&k, KC_GDT, false);
	/* bt_cpu's selector cannot be written: declined when it would change, completed when not. */
	k.kf->sel_uaddr = (uintptr_t)ro;
	if (kc_seg1(&k, selbuf, 3, 0x58, 0x10, KC_GDT, 0, KC_DECLINED, "sel_uaddr read-only") ||
	    kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, 0, KC_DONE, "sel_uaddr read-only, no change"))
		goto out;
	k.kf->sel_uaddr = 0;
	if (kc_seg1(&k, selbuf, 3, 0x58, 0x10, KC_GDT, 0, KC_DECLINED, "sel_uaddr 0"))
		goto out;
	k.kf->sel_uaddr = 0xffffffff81000000ull;
	if (kc_seg1(&k, selbuf, 3, 0x58, 0x10, KC_GDT, 0, KC_DECLINED, "sel_uaddr in the kernel"))
		goto out;
	k.kf->sel_uaddr = (uintptr_t)selbuf;

	/* Paging on, the GDT through a 4 KiB PTE: A set in the PDE and the PTE. */
	k.kf->flags = BT86_KF_PAGING | BT86_KF_WP | BT86_KF_PSE;
	k.kf->cr[0] = 0x80050033;
	*kv_entry(&k, KV_PD) &= ~G_A;
	*kv_entry(&k, KV_PT0 + 8 * 4) &= ~G_A;
	k.kf->gdt_base = gdt_lin;
	k.kf->gdt_limit = KC_GDT_LIMIT;
	if (kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, b, KC_DONE, "paging on, the first load"))
		goto out;
	if (!(*kv_entry(&k, KV_PD) & G_A) || !(*kv_entry(&k, KV_PT0 + 8 * 4) & G_A) ||
	    (*kv_entry(&k, KV_PT0 + 8 * 4) & G_D)) {
		fail("PDE %#x PTE %#x after a GDT read through them: want A (no D)",
		     *kv_entry(&k, KV_PD), *kv_entry(&k, KV_PT0 + 8 * 4));
		goto out;
	}
	if (kc_seg_table(&k, selbuf, gdt_lin, b, "paging on, 4 KiB") ||
	    kc_seg_bounds(&k, selbuf, gdt_lin, b, "paging on, 4 KiB") ||
	    kc_seg_pops(&k, b))
		goto out;
	/* The same GDT through the 4 MiB page (PDE 1, user, which a supervisor read may use). */
	if (kc_seg_table(&k, selbuf, KT_LIN(KC_GDT), b, "paging on, 4 MiB"))
		goto out;
	/* Paging declines: the user view, the flat view, no view, no mapping, an unpublished table. */
	k.kf->gdt_base = gdt_lin;
	k.kf->views[2].cr3 = KV_PD;	/* (a flat view ignores it) */
	if (kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, k.base[1], KC_DECLINED,
		    "paging on, r15 the user view") ||
	    kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, k.base[2], KC_DECLINED,
		    "paging on, r15 the flat view") ||
	    kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, b + 0x1000, KC_DECLINED,
		    "paging on, r15 inside a view") ||
	    kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, 0, KC_DECLINED, "paging on, r15 0"))
		goto out;
	k.kf->views[2].cr3 = 0;
	/* The user view, even where the GDT is a user page. */
	k.kf->gdt_base = KT_LIN(KC_GDT);
	if (kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, k.base[1], KC_DECLINED,
		    "paging on, r15 the user view, a user page"))
		goto out;
	k.kf->gdt_base = gdt_lin;
	*kv_entry(&k, KV_PT0 + 8 * 4) &= ~G_P;
	if (kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, b, KC_DECLINED,
		    "paging on, the GDT page not present"))
		goto out;
	*kv_entry(&k, KV_PT0 + 8 * 4) |= G_P;
	k.kf->ptu[0][0] = 0;
	if (kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, b, KC_DECLINED,
		    "paging on, the page table unpublished"))
		goto out;
	k.kf->ptu[0][0] = KV_PT0;
	/* A null selector reads no GDT: no view needed. */
	if (kc_seg1(&k, selbuf, 3, 0, 0, KC_GDT, 0x1234, KC_DONE, "paging on, null, r15 no view") ||
	    kc_seg1(&k, selbuf, 3, 0x10, 0x10, KC_GDT, b, KC_DONE, "paging on, after the declines"))
		goto out;
	ret = 0;
out:
	kv_close(&k);
	if (selbuf)
		munmap(selbuf, 4096);
	if (ro)
		munmap(ro, 4096);
	return ret;
}

/*
 * A GDT base that is not a multiple of 4: the CPU reads the descriptor at
 * gdt_base + index * 8 exactly.  Here that descriptor is a system
 * descriptor (access byte 0), so the load faults and must be declined;
 * the 8 bytes from the dword boundary below it look like a flat data
 * segment with the accessed bit clear, so a kernel that reads (or sets the
 * accessed bit) rounded down completes a load the CPU would refuse and
 * changes guest memory next to the descriptor.
 */
int t_kcall_seg_unaligned_gdt(void)
{
	/* Guest RAM from KC_GDT + 0x110: 2 bytes before the descriptor, then its 8 bytes. */
	static const uint8_t bytes[10] = { 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0x00, 0x00, 0xcf, 0x00 };
	uint16_t *selbuf = NULL;
	uint8_t before[16];
	struct bt86_regs *r;
	void *ro = NULL;
	struct kv k;
	int ret = -1;

	if (kc_open(&k) || kc_selbufs(&selbuf, &ro))
		goto out;
	k.kf->sel_uaddr = (uintptr_t)selbuf;
	k.kf->flags = 0;
	k.kf->cr[0] = 0x00000011;
	k.kf->gdt_base = KC_GDT + 0x102;	/* entry 2 at KC_GDT + 0x112 */
	k.kf->gdt_limit = 0xff;
	memcpy(k.h.v.ram + KC_GDT + 0x110, bytes, sizeof(bytes));
	memcpy(before, k.h.v.ram + KC_GDT + 0x110, sizeof(before));
	kc_publish(&k, 3, 0x10, 0, kc_gdt[2][0], kc_gdt[2][1]);
	r = kc_prep(&k, kc_word(BT86_KCALL_SEG, 3, KC_CODE_LIN));
	r->r11 = 0x10;
	if (kc_call(&k, KC_DECLINED, "a load of DS with a system descriptor at an unaligned GDT base"))
		goto out;
	if (memcmp(before, k.h.v.ram + KC_GDT + 0x110, sizeof(before))) {
		fail("guest RAM around the descriptor changed: byte 0x115 %#x, was %#x",
		     k.h.v.ram[KC_GDT + 0x115], before[5]);
		goto out;
	}
	ret = 0;
out:
	kv_close(&k);
	if (selbuf)
		munmap(selbuf, 4096);
	if (ro)
		munmap(ro, 4096);
	return ret;
}

/* ---- fuzzing ----------------------------------------------------------- */

static uint64_t kc_rnd_state = 0x2545f4914f6cdd1dull;

static uint64_t kc_rnd(void)
{
	kc_rnd_state ^= kc_rnd_state << 13;
	kc_rnd_state ^= kc_rnd_state >> 7;
	kc_rnd_state ^= kc_rnd_state << 17;
	return kc_rnd_state;
}

/* A random kfill field value: mostly near something meaningful, sometimes garbage. */
static uint32_t kc_pick32(uint32_t good)
{
	switch (kc_rnd() % 4) {
	case 0:
		return (uint32_t)kc_rnd();
	case 1:
		return good ^ (1u << (kc_rnd() % 32));
	default:
		return good;
	}
}

int t_kcall_fuzz(void)
{
	const int n = 20000;
	uint64_t views[3], b, done[BT86_KCALL_OPS] = { 0 }, declined = 0, sel_at[4];
	uint16_t *selbuf = NULL;
	struct bt86_kfill *kf;
	struct bt86_regs *r;
	void *ro = NULL;
	struct kv k;
	uint32_t i;
	int ret = -1, it;

	if (kc_open(&k) || kc_selbufs(&selbuf, &ro))
		goto out;
	kf = k.kf;
	/* Where bt_cpu's selectors may be: the page for them, read-only, nowhere, the kernel. */
	sel_at[0] = (uintptr_t)selbuf;
	sel_at[1] = (uintptr_t)ro;
	sel_at[2] = 0;
	sel_at[3] = 0xffffffff81000000ull;
	b = k.base[0];
	memcpy(views, k.base, sizeof(views));
	memcpy(k.h.v.ram + KC_GDT, kc_gdt, sizeof(kc_gdt));
	*kv_entry(&k, KV_PT0 + 8 * 4) = KC_GDT | G_P | G_RW;
	kv_set_kwrite(&k, KV_PT0, true);
	kv_set_kwrite(&k, KV_PT2, true);
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, k.base[1] + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, k.base[2] + KV_RW, 0x1111000000000000ull))
		goto out;
	for (i = 0; i < sizeof(kf->ibl_pages); i += 8)
		*(uint64_t *)&kf->ibl_pages[i] = kc_rnd() & kc_rnd() & kc_rnd();

	for (it = 0; it < n; it++) {
		unsigned int op, arg, s;
		uint64_t word;
		int got;

		/* Garbage in what the kernel reads. */
		kf->cr[kc_rnd() % 5] = kc_pick32(0x80050033);
		kf->cur_space = kc_rnd() % 3 ? kc_rnd() % 10 : (uint32_t)kc_rnd();
		kf->gdt_base = kc_pick32(kc_rnd() % 2 ? 0x8000 : KC_GDT);
		kf->gdt_limit = kc_pick32(KC_GDT_LIMIT);
		s = kc_rnd() % 6;
		i = kc_rnd() % (sizeof(kc_gdt) / sizeof(kc_gdt[0]));
		kf->seg[s].sel = kc_rnd() % 2 ? i << 3 | (uint32_t)(kc_rnd() % 8) :
						kc_pick32(0xffffffffu);
		kf->seg[s].base = kc_rnd() % 2 ? 0 : kc_pick32(KC_BASE_48);
		kf->seg[s].desc[0] = kc_pick32(kc_gdt[i][0]);
		kf->seg[s].desc[1] = kc_pick32(kc_gdt[i][1]);
		kf->ibl_pages[kc_rnd() % sizeof(kf->ibl_pages)] = kc_rnd();
		kf->flags = kc_rnd() % 8 ? kc_rnd() % 8 : (uint32_t)kc_rnd();
		kf->sel_uaddr = kc_rnd() % 4 ? sel_at[0] : sel_at[kc_rnd() % 4] + kc_rnd() % 4080;
		kf->seg_loaded = (uint32_t)kc_rnd();
		if (kc_rnd() % 64 == 0)
			kf->ptu[kc_rnd() % BT86_KV_SPACES][kc_rnd() % 1024] =
				kc_rnd() % 2 ? KV_PT0 : (uint32_t)kc_rnd();
		if (kc_rnd() % 64 == 0)
			kf->views[kc_rnd() % 3].space = kc_rnd() % 3;
		kf->log_tail = kc_rnd() % 16 ? kf->log_head :
					       kf->log_head - (uint32_t)(kc_rnd() % 600);
		if (kc_rnd() % 256 == 0) {
			/* A random GDT entry, or the good ones back. */
			if (kc_rnd() % 2)
				memcpy(k.h.v.ram + KC_GDT, kc_gdt, sizeof(kc_gdt));
			else
				((uint64_t *)(k.h.v.ram + KC_GDT))[kc_rnd() % 16] = kc_rnd();
		}

		op = kc_rnd() % 4 ? 1 + kc_rnd() % 4 : kc_rnd() % 16;
		arg = kc_rnd() % 256;
		if (op == BT86_KCALL_STORE && kc_rnd() % 2)
			arg = 1u << (kc_rnd() % 3);
		if (op == BT86_KCALL_SEG && kc_rnd() % 2)
			arg = (uint32_t)(kc_rnd() % 6) | (uint32_t)(kc_rnd() % 3) * 2 << 3;
		word = kc_word(op, arg, (uint32_t)kc_rnd());
		r = kc_prep(&k, word);
		r->r11 = kc_rnd() % 2 ? kc_rnd() : kf->seg[kc_rnd() % 6].sel;
		switch (kc_rnd() % 4) {
		case 0:
			r->r14 = kc_rnd();
			break;
		case 1:
			r->r14 = KT_LIN(KV_PT0) + kc_rnd() % 4096;
			break;
		case 2:
			r->r14 = (kc_rnd() % 1024) << 12 | kc_rnd() % 4096;
			break;
		default:
			r->r14 = 0x7000 + kc_rnd() % 4096;
			break;
		}
		r->r15 = kc_rnd() % 4 ? views[kc_rnd() % 3] : kc_rnd();
		r->r12 = kc_rnd();
		if (kc_rnd() % 2) {
			/* Half the time a state that makes sense, so completions happen too. */
			bool paging = kc_rnd() % 2;

			kf->flags = paging ? BT86_KF_PAGING | BT86_KF_WP | BT86_KF_PSE : 0;
			kf->log_tail = kf->log_head;
			r->r15 = views[kc_rnd() % 2];
			if (op == BT86_KCALL_SEG && (arg & 7) < 6) {
				i = kc_rnd() % (sizeof(kc_gdt) / sizeof(kc_gdt[0]));
				r->r11 = i << 3 | (uint32_t)(kc_rnd() % 4);
				kc_publish(&k, arg & 7, (uint16_t)r->r11,
					   kc_gdt[i][0] >> 16 | (kc_gdt[i][1] & 0xff) << 16 |
					   (kc_gdt[i][1] & 0xff000000u),
					   kc_gdt[i][0], kc_gdt[i][1]);
				kf->gdt_base = paging ? 0x8000 : KC_GDT;
				kf->gdt_limit = KC_GDT_LIMIT;
				kf->cr[0] |= 1;
				r->r15 = b;
			}
			if (op == BT86_KCALL_STORE && (arg == 1 || arg == 2 || arg == 4))
				r->r14 = KT_LIN(KV_PT0) + (kc_rnd() % 1024) * 4 +
					 (uint32_t)(kc_rnd() % (5 - arg));
			if (op == BT86_KCALL_MOV_FROM_CR)
				arg = (uint32_t)(kc_rnd() % 6) << 3 | (arg & 7);
			word = kc_word(op, arg, (uint32_t)word);
			r->r10 = word;
		}
		/* What a completion may change. */
		if (op == BT86_KCALL_MOV_FROM_CR && (arg >> 3) < 5)
			kc_expect_reg((arg & 7) == 4 ? 12 : arg & 7, kf->cr[arg >> 3]);
		if (op == BT86_KCALL_SEG && (arg >> 3))
			kc_expect_reg(12, (uint32_t)(r->r12 + (arg >> 3)));
		got = kc_run(&k, k.h.code);
		if (got < 0 || got == KC_PLAIN) {
			char w[sizeof(why)];

			strcpy(w, got < 0 ? why : "a plain #BP exit");
			fail("kcall %d (word %#llx r11 %#llx r14 %#llx r15 %#llx): %s", it,
			     (unsigned long long)word, (unsigned long long)r->r11,
			     (unsigned long long)r->r14, (unsigned long long)r->r15, w);
			goto out;
		}
		if (got == KC_DONE)
			done[op & (BT86_KCALL_OPS - 1)]++;
		else
			declined++;
	}
	printf("INFO kcall fuzz: %d kcalls; completed: %llu mov-from-cr, %llu invlpg, %llu store, %llu seg; %llu declined\n",
	       n, (unsigned long long)done[1], (unsigned long long)done[2],
	       (unsigned long long)done[3], (unsigned long long)done[4],
	       (unsigned long long)declined);
	for (i = 1; i <= 4; i++) {
		if (!done[i]) {
			fail("no kcall of op %u completed in %d: the fuzz misses it", i, n);
			goto out;
		}
	}
	/* Every log entry names a view the kernel has. */
	for (i = 0; i < BT86_KV_LOG; i++) {
		if (kf->log[i].view >= BT86_KV_MAX_VIEWS || kf->log[i].flags > BT86_KVLOG_UNMAPPED) {
			fail("log[%u] = {%u %#x %#x %u}", i, kf->log[i].view, kf->log[i].lin,
			     kf->log[i].gpa, kf->log[i].flags);
			goto out;
		}
	}

	/* The vcpu still works: a flat-view read, then a kcall that completes. */
	kf->version = 1;
	kf->flags = BT86_KF_PAGING | BT86_KF_WP | BT86_KF_PSE;
	kf->ram_frames = RAM_SIZE >> 12;
	kf->log_tail = kf->log_head;
	if (kv_read(&k, k.base[2] + KV_RW + 8, 0x1111000000000001ull))
		goto out;
	kf->cr[2] = 0x1234;
	kc_prep(&k, kc_word(BT86_KCALL_MOV_FROM_CR, 2 << 3 | 0, KC_CODE_LIN));
	kc_expect_reg(0, 0x1234);
	if (kc_call(&k, KC_DONE, "mov %%cr2, %%eax after the fuzz"))
		goto out;
	ret = 0;
out:
	kv_close(&k);
	if (selbuf)
		munmap(selbuf, 4096);
	if (ro)
		munmap(ro, 4096);
	return ret;
}

/* ---- what is not a kcall ----------------------------------------------- */

int t_kcall_not_kcalls(void)
{
	static const uint64_t words[] = {
		0xb787ull << 48 | 0x100 | 0,		/* the magic off by one */
		0x0000b78600000100ull,			/* the magic in the wrong place */
		0x00000000b7860100ull,
		0x7b86ull << 48 | 0x100,
		0x0000000000000100ull,
		0xffffffffffffffffull,
	};
	struct bt86_exec_region er = { 0 };
	struct hm h2 = { .v = { .dev = -1, .vm = -1, .vcpu = -1 } };
	uint8_t *other = NULL;
	struct bt86_run *run;
	struct kv k;
	unsigned int i;
	int ret = -1;

	if (kc_open(&k))
		goto out;
	k.kf->cr[0] = 0x80050033;
	/* Without the magic: a plain #BP, whatever the rest of r10 says. */
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		kc_prep(&k, words[i]);
		if (kc_call(&k, KC_PLAIN, "r10 %#llx", (unsigned long long)words[i]))
			goto out;
	}
	for (i = 0; i < 500; i++) {
		uint64_t w = kc_rnd();

		if (w >> 48 == BT86_KCALL_MAGIC)
			continue;
		kc_prep(&k, w);
		if (kc_call(&k, KC_PLAIN, "random r10 %#llx", (unsigned long long)w))
			goto out;
	}
	/* The same site in exec region 1: not the TC. */
	other = hm_page(4096);
	if (!other) {
		fail("mmap: %s", strerror(errno));
		goto out;
	}
	er.index = 1;
	er.uaddr = (uintptr_t)other;
	er.size = 4096;
	if (ioctl(k.h.v.vcpu, BT86_SET_EXEC, &er)) {
		fail("SET_EXEC 1: %s", strerror(errno));
		goto out;
	}
	kc_prep_at(&k.h, other, kc_word(BT86_KCALL_MOV_FROM_CR, 0 << 3 | 0, KC_CODE_LIN));
	if (kc_call_at(&k, other, KC_PLAIN, "mov from CR0 in exec region 1"))
		goto out;
	/* Region 0 gone: nothing is a kcall. */
	er.index = 0;
	er.size = 0;
	if (ioctl(k.h.v.vcpu, BT86_SET_EXEC, &er)) {
		fail("SET_EXEC 0, size 0: %s", strerror(errno));
		goto out;
	}
	kc_prep_at(&k.h, other, kc_word(BT86_KCALL_MOV_FROM_CR, 0 << 3 | 0, KC_CODE_LIN));
	if (kc_call_at(&k, other, KC_PLAIN, "exec region 1, region 0 deleted"))
		goto out;
	/* The code page as region 0 again: a kcall there completes. */
	er.uaddr = (uintptr_t)k.h.code;
	er.size = 4096;
	if (ioctl(k.h.v.vcpu, BT86_SET_EXEC, &er)) {
		fail("SET_EXEC 0 again: %s", strerror(errno));
		goto out;
	}
	kc_prep(&k, kc_word(BT86_KCALL_MOV_FROM_CR, 0 << 3 | 0, KC_CODE_LIN));
	kc_expect_reg(0, 0x80050033);
	if (kc_call(&k, KC_DONE, "mov from CR0 in region 0 again"))
		goto out;
	if (k.kf->kcalls[BT86_KCALL_MOV_FROM_CR] != 1 || k.kf->kcall_declines) {
		fail("kcalls[1] %llu declines %llu, want 1 and 0",
		     (unsigned long long)k.kf->kcalls[BT86_KCALL_MOV_FROM_CR],
		     (unsigned long long)k.kf->kcall_declines);
		goto out;
	}

	/* A host-mirror vcpu without kviews: every int3 is a plain #BP. */
	if (hm_open(&h2))
		goto out;
	kc_prep_at(&h2, h2.code, kc_word(BT86_KCALL_MOV_FROM_CR, 0 << 3 | 0, KC_CODE_LIN));
	if (vm_run(&h2.v))
		goto out;
	run = h2.v.run;
	if (run->exit_reason != BT86_EXIT_EXCEPTION || run->ex.vector != 3 ||
	    run->ex.rip != (uintptr_t)h2.code + 1 || run->regs.rax != kc_canary(0)) {
		fail("no kviews: exit %u vector %u rip %#llx rax %#llx, want a plain #BP",
		     run->exit_reason, run->ex.vector, (unsigned long long)run->ex.rip,
		     (unsigned long long)run->regs.rax);
		goto out;
	}
	ret = 0;
out:
	hm_close(&h2);
	kv_close(&k);
	if (other)
		munmap(other, 4096);
	return ret;
}
