/* difftest operations: integer, flags, BCD, string, atomic, x87 and SSE groups, each folded into a checksum. */
#include "ops.h"

/* EFLAGS arithmetic bits. */
#define FL_CF	0x001
#define FL_PF	0x004
#define FL_AF	0x010
#define FL_ZF	0x040
#define FL_SF	0x080
#define FL_DF	0x400
#define FL_OF	0x800
#define FL_ALL	(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define FL_FIXED	0x002	/* bit 1 is always set */

#define X87_CW_NEAREST	0x037f	/* all masked, 64-bit mantissa, round to nearest */
#define X87_CW_CHOP	0x0f7f	/* same, round toward zero */
#define MXCSR_DEFAULT	0x1f80	/* all masked, round to nearest, no FTZ/DAZ */

static uint32_t mix(uint32_t h, uint32_t v)
{
	h ^= v;
	h *= 16777619u;		/* FNV prime */
	return h ^ (h >> 13);
}

static const uint32_t edge[] = {
	0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
	0x7fffffff, 0x80000000u, 0x80000001u, 0xfffffffeu, 0xffffffffu,
	0x12345678, 0xdeadbeefu, 0x55555555, 0xaaaaaaaau, 31, 32, 33,
};
#define NEDGE	(sizeof(edge) / sizeof(edge[0]))
#define NRAND	300
#define NPAIRS	(NEDGE * NEDGE + NRAND)

static uint32_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Pair i: every edge value against every other, then random ones. */
static void pair(unsigned i, uint32_t *a, uint32_t *b)
{
	if (i < NEDGE * NEDGE) {
		*a = edge[i / NEDGE];
		*b = edge[i % NEDGE];
	} else {
		*a = rnd();
		*b = rnd();
		if (i & 1)
			*b >>= rnd() & 31;
	}
}

/* ---- add/sub/adc/sbb/logic with the flags they define ---- */

#define BINOP(pre, insn, a, b, mask)					\
	do {								\
		uint32_t r_ = (a), f_;					\
		asm(pre "\n\t" insn " %2, %0\n\tpushfl\n\tpopl %1"	\
		    : "+r"(r_), "=r"(f_) : "r"(b) : "cc");		\
		h = mix(h, r_);						\
		h = mix(h, f_ & (mask));				\
	} while (0)

#define UNOP(insn, a, mask)						\
	do {								\
		uint32_t r_ = (a), f_;					\
		asm("cmpl %0, %0\n\t" insn " %0\n\tpushfl\n\tpopl %1"	\
		    : "+r"(r_), "=r"(f_) : : "cc");			\
		h = mix(h, r_);						\
		h = mix(h, f_ & (mask));				\
	} while (0)

static uint32_t g_alu(void)
{
	uint32_t h = 1, a, b;
	unsigned i;

	rng = 0x1234567;
	for (i = 0; i < NPAIRS; i++) {
		pair(i, &a, &b);
		BINOP("", "addl", a, b, FL_ALL);
		BINOP("", "subl", a, b, FL_ALL);
		BINOP("clc", "adcl", a, b, FL_ALL);
		BINOP("stc", "adcl", a, b, FL_ALL);
		BINOP("clc", "sbbl", a, b, FL_ALL);
		BINOP("stc", "sbbl", a, b, FL_ALL);
		BINOP("", "cmpl", a, b, FL_ALL);
		/* Logic ops leave AF undefined. */
		BINOP("", "andl", a, b, FL_ALL & ~FL_AF);
		BINOP("", "orl", a, b, FL_ALL & ~FL_AF);
		BINOP("", "xorl", a, b, FL_ALL & ~FL_AF);
		BINOP("", "testl", a, b, FL_ALL & ~FL_AF);
		BINOP("", "addw %w2, %w0\n\t#", a, b, FL_ALL);
		BINOP("", "subw %w2, %w0\n\t#", a, b, FL_ALL);
		BINOP("stc", "sbbw %w2, %w0\n\t#", a, b, FL_ALL);
		/* CF is left from the cmp in UNOP: inc/dec do not touch it. */
		UNOP("negl", a, FL_ALL);
		UNOP("notl", a, FL_ALL);
		UNOP("incl", a, FL_ALL);
		UNOP("decl", a, FL_ALL);
		UNOP("negw %w0\n\t#", a, FL_ALL);
		UNOP("decw %w0\n\t#", a, FL_ALL);
	}
	return h;
}

/* ---- mul/imul/div/idiv ---- */

static uint32_t g_muldiv(void)
{
	uint32_t h = 2, a, b, lo, hi, f;
	unsigned i;

	rng = 0x2345678;
	for (i = 0; i < NPAIRS; i++) {
		pair(i, &a, &b);
		/* Only CF and OF are defined after multiplies. */
		asm("mull %3\n\tpushfl\n\tpopl %2" : "=a"(lo), "=d"(hi), "=r"(f) : "r"(b), "0"(a) : "cc");
		h = mix(mix(mix(h, lo), hi), f & (FL_CF | FL_OF));
		asm("imull %3\n\tpushfl\n\tpopl %2" : "=a"(lo), "=d"(hi), "=r"(f) : "r"(b), "0"(a) : "cc");
		h = mix(mix(mix(h, lo), hi), f & (FL_CF | FL_OF));
		lo = a;
		asm("imull %2, %0\n\tpushfl\n\tpopl %1" : "+r"(lo), "=r"(f) : "r"(b) : "cc");
		h = mix(mix(h, lo), f & (FL_CF | FL_OF));
		asm("imull $-1234567, %2, %0\n\tpushfl\n\tpopl %1" : "=r"(lo), "=r"(f) : "r"(a) : "cc");
		h = mix(mix(h, lo), f & (FL_CF | FL_OF));
		lo = a;
		asm("imulw %w2, %w0\n\tpushfl\n\tpopl %1" : "+r"(lo), "=r"(f) : "r"(b) : "cc");
		h = mix(mix(h, lo), f & (FL_CF | FL_OF));
		asm("mulb %b3\n\tpushfl\n\tpopl %1" : "=a"(lo), "=r"(f) : "0"(a), "q"(b) : "cc");
		h = mix(mix(h, lo & 0xffff), f & (FL_CF | FL_OF));
		if (b != 0) {
			uint32_t q, r;

			/* A high half below the divisor cannot overflow. */
			asm("divl %4" : "=a"(q), "=d"(r) : "0"(a), "1"((a ^ 0x5555) % b), "r"(b) : "cc");
			h = mix(mix(h, q), r);
			if (!(a == 0x80000000u && b == 0xffffffffu)) {
				asm("cltd\n\tidivl %3" : "=a"(q), "=d"(r) : "0"(a), "r"(b) : "cc");
				h = mix(mix(h, q), r);
			}
			if ((b & 0xff) > ((a >> 8) & 0xff)) {
				asm("divb %b2" : "=a"(q) : "0"(a & 0xffff), "q"(b) : "cc");
				h = mix(h, q & 0xffff);
			}
		}
	}
	return h;
}

/* ---- shifts and rotates, counts 0..40 ---- */

#define SHIFT(pre, insn, a, c, mask)					\
	do {								\
		uint32_t r_ = (a), f_;					\
		asm("cmpl %0, %0\n\t" pre "\n\t" insn " %%cl, %0\n\t"	\
		    "pushfl\n\tpopl %1"					\
		    : "+r"(r_), "=&r"(f_) : "c"(c) : "cc");		\
		h = mix(mix(h, r_), f_ & (mask));			\
	} while (0)

#define SHIFT2(insn, a, b, c, mask)					\
	do {								\
		uint32_t r_ = (a), f_;					\
		asm("cmpl %0, %0\n\t" insn " %%cl, %3, %0\n\t"		\
		    "pushfl\n\tpopl %1"					\
		    : "+r"(r_), "=&r"(f_) : "c"(c), "r"(b) : "cc");	\
		h = mix(mix(h, r_), f_ & (mask));			\
	} while (0)

static uint32_t g_shift(void)
{
	uint32_t h = 3, a, b, c, m, sm, rm;
	unsigned i;

	rng = 0x3456789;
	for (i = 0; i < NEDGE + 40; i++) {
		a = i < NEDGE ? edge[i] : rnd();
		b = rnd();
		for (c = 0; c <= 40; c++) {
			m = c & 31;
			/* Count 0 changes nothing; OF only for 1; AF never defined. */
			sm = m == 0 ? FL_ALL : (FL_CF | FL_SF | FL_ZF | FL_PF | (m == 1 ? FL_OF : 0));
			rm = m == 0 ? FL_ALL : (FL_ALL & ~FL_OF) | (m == 1 ? FL_OF : 0);
			SHIFT("", "shll", a, c, sm);
			SHIFT("", "shrl", a, c, sm);
			SHIFT("", "sarl", a, c, sm);
			SHIFT("", "roll", a, c, rm);
			SHIFT("", "rorl", a, c, rm);
			SHIFT("clc", "rcll", a, c, rm);
			SHIFT("stc", "rcll", a, c, rm);
			SHIFT("clc", "rcrl", a, c, rm);
			SHIFT("stc", "rcrl", a, c, rm);
			SHIFT2("shldl", a, b, c, sm);
			SHIFT2("shrdl", a, b, c, sm);
		}
		SHIFT("", "shll $1, %0\n\t#", a, 0, FL_ALL & ~FL_AF);
		SHIFT("", "sarl $31, %0\n\t#", a, 0, FL_ALL & ~(FL_AF | FL_OF));
		SHIFT("", "rorl $1, %0\n\t#", a, 0, FL_ALL);
		SHIFT("", "shrw $3, %w0\n\t#", a, 0, FL_ALL & ~(FL_AF | FL_OF));
	}
	return h;
}

/* ---- bt/bts/btr/btc, bsf/bsr, bswap ---- */

static uint32_t g_bits(void)
{
	uint32_t h = 4, a, b, r, f, arr[16];
	int32_t idx;
	unsigned i;

	rng = 0x456789a;
	for (i = 0; i < 16; i++)
		arr[i] = rnd();
	for (i = 0; i < NPAIRS; i++) {
		pair(i, &a, &b);
		r = a;
		asm("btl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=r"(f) : "r"(b) : "cc");
		h = mix(mix(h, r), f & FL_CF);
		asm("btsl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=r"(f) : "r"(b) : "cc");
		h = mix(mix(h, r), f & FL_CF);
		asm("btrl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=r"(f) : "r"(b + 7) : "cc");
		h = mix(mix(h, r), f & FL_CF);
		asm("btcl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=r"(f) : "r"(b * 3) : "cc");
		h = mix(mix(h, r), f & FL_CF);
		asm("btcl $17, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=r"(f) : : "cc");
		h = mix(mix(h, r), f & FL_CF);
		/* Bit strings in memory: the index reaches outside the addressed dword. */
		idx = (int32_t)(b % 508) - 256;	/* idx + 3 stays inside arr */
		asm("btcl %2, %0\n\tpushfl\n\tpopl %1" : "+m"(arr[8]), "=r"(f) : "r"(idx) : "cc", "memory");
		h = mix(h, f & FL_CF);
		asm("btsl %2, %0\n\tpushfl\n\tpopl %1" : "+m"(arr[8]), "=r"(f) : "r"(idx + 3) : "cc", "memory");
		h = mix(h, f & FL_CF);
		/* The destination is undefined for a zero source. */
		r = 0;
		asm("bsfl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=r"(f) : "r"(a) : "cc");
		h = mix(mix(h, a ? r : 0), f & FL_ZF);
		asm("bsrl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=r"(f) : "r"(a) : "cc");
		h = mix(mix(h, a ? r : 0), f & FL_ZF);
		r = a;
		asm("bswap %0" : "+r"(r));
		h = mix(h, r);
	}
	for (i = 0; i < 16; i++)
		h = mix(h, arr[i]);
	return h;
}

/* ---- setcc / cmovcc over all 16 conditions ---- */

#define CC_LIST(X) X(o) X(no) X(b) X(ae) X(e) X(ne) X(be) X(a) \
		   X(s) X(ns) X(p) X(np) X(l) X(ge) X(le) X(g)
#define SETCC(cc)	"set" #cc " (%0)\n\tleal 1(%0), %0\n\t"
#define CMOVCC(cc)	"movl %2, %%eax\n\tcmov" #cc " %3, %%eax\n\tmovl %%eax, (%1)\n\tleal 4(%1), %1\n\t"

/* Flags from op (cmp/add/sub) of a and b, then every setcc and cmovcc on them. */
#define COND_ASM(op)							\
	do {								\
		asm volatile("movl %2, %%edx\n\t" op " %3, %%edx\n\t"	\
			     CC_LIST(SETCC)				\
			     : "+r"(sp), "=m"(set) : "r"(a), "r"(b)	\
			     : "edx", "cc");				\
		asm volatile("movl %4, %%edx\n\t" op " %5, %%edx\n\t"	\
			     CC_LIST(CMOVCC)				\
			     : "=m"(mov), "+r"(mp)			\
			     : "m"(k1), "m"(k2), "r"(a), "r"(b)		\
			     : "eax", "edx", "cc");			\
	} while (0)

static uint32_t cond_fold(uint32_t h, int how, uint32_t a, uint32_t b)
{
	static const uint32_t k1 = 0x11111111, k2 = 0x22222222;
	uint8_t set[16];
	uint32_t mov[16], *mp = mov;
	uint8_t *sp = set;
	unsigned i;

	if (how == 0)
		COND_ASM("cmpl");
	else if (how == 1)
		COND_ASM("addl");
	else
		COND_ASM("subl");
	for (i = 0; i < 16; i++)
		h = mix(mix(h, set[i]), mov[i]);
	return h;
}

static uint32_t g_cond(void)
{
	uint32_t h = 5, a, b;
	unsigned i;

	rng = 0x56789ab;
	for (i = 0; i < NPAIRS; i++) {
		pair(i, &a, &b);
		h = cond_fold(h, 0, a, b);
		h = cond_fold(h, 1, a, b);
		h = cond_fold(h, 2, b, a);
	}
	return h;
}

/* ---- lahf/sahf ---- */

static uint32_t g_lahf(void)
{
	uint32_t h = 6, a, b, ax, f;
	unsigned i;

	for (i = 0; i < 256; i++) {
		asm("movb %b2, %%ah\n\tsahf\n\tlahf\n\tpushfl\n\tpopl %1"
		    : "=a"(ax), "=r"(f) : "q"(i), "0"(0x5a) : "cc");
		h = mix(mix(h, ax & 0xffff), f & FL_ALL);
	}
	rng = 0x6789abc;
	for (i = 0; i < NPAIRS; i++) {
		pair(i, &a, &b);
		asm("cmpl %2, %1\n\tlahf" : "=a"(ax) : "r"(a), "r"(b), "0"(0) : "cc");
		/* AH bit 4 is AF: defined after cmp. */
		h = mix(h, ax >> 8);
	}
	return h;
}

/* ---- decimal adjust ---- */

#define BCD(insn, in, ax0, mask)					\
	do {								\
		uint32_t r_ = (ax0), f_;				\
		asm("pushl %2\n\tpopfl\n\t" insn "\n\tpushfl\n\tpopl %1"	\
		    : "+a"(r_), "=r"(f_) : "r"((in) | FL_FIXED) : "cc");	\
		h = mix(mix(h, r_ & 0xffff), f_ & (mask));		\
	} while (0)

static uint32_t g_bcd(void)
{
	static const uint32_t fin[] = { 0, FL_CF, FL_AF, FL_CF | FL_AF };
	uint32_t h = 7, ax;
	unsigned i, j;

	for (i = 0; i < 256; i++) {
		for (j = 0; j < 4; j++) {
			ax = i | ((i * 7) & 0xff) << 8;
			BCD("daa", fin[j], ax, FL_CF | FL_AF | FL_SF | FL_ZF | FL_PF);
			BCD("das", fin[j], ax, FL_CF | FL_AF | FL_SF | FL_ZF | FL_PF);
			BCD("aaa", fin[j], ax, FL_CF | FL_AF);
			BCD("aas", fin[j], ax, FL_CF | FL_AF);
		}
		BCD("aam", 0, i, FL_SF | FL_ZF | FL_PF);
		BCD(".byte 0xd4, 0x10", 0, i, FL_SF | FL_ZF | FL_PF);	/* aam 16 */
		BCD("aad", 0, i | (i % 10) << 8, FL_SF | FL_ZF | FL_PF);
		BCD(".byte 0xd5, 0x07", 0, i | ((255 - i) << 8), FL_SF | FL_ZF | FL_PF);	/* aad 7 */
	}
	return h;
}

/* ---- string instructions, both directions ---- */

static uint32_t fold_buf(uint32_t h, const uint8_t *p, unsigned n)
{
	while (n--)
		h = mix(h, *p++);
	return h;
}

static uint32_t g_string(void)
{
	uint8_t src[96], dst[96], table[256];
	uint32_t h = 8, f, s, d, c, a;
	unsigned i, n, k;

	rng = 0x789abcd;
	for (i = 0; i < sizeof(src); i++)
		src[i] = rnd();
	for (i = 0; i < 256; i++)
		table[i] = rnd();
	for (n = 0; n < 20; n++) {
		for (k = 0; k < 3; k++) {
			for (i = 0; i < sizeof(dst); i++)
				dst[i] = i;
			s = (uint32_t)(uintptr_t)(src + k);
			d = (uint32_t)(uintptr_t)(dst + 2 * k);
			c = n;
			if (k == 0)
				asm volatile("rep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
			else if (k == 1)
				asm volatile("rep movsw" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
			else
				asm volatile("rep movsl" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
			h = mix(mix(mix(h, s - (uint32_t)(uintptr_t)src), d - (uint32_t)(uintptr_t)dst), c);
			h = fold_buf(h, dst, sizeof(dst));
			/* Backwards: start at the last element. */
			s = (uint32_t)(uintptr_t)(src + 80 - k);
			d = (uint32_t)(uintptr_t)(dst + 90 - k);
			c = n;
			if (k == 0)
				asm volatile("std\n\trep movsb\n\tcld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
			else if (k == 1)
				asm volatile("std\n\trep movsw\n\tcld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
			else
				asm volatile("std\n\trep movsl\n\tcld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
			h = mix(mix(mix(h, s - (uint32_t)(uintptr_t)src), d - (uint32_t)(uintptr_t)dst), c);
			h = fold_buf(h, dst, sizeof(dst));
		}
		d = (uint32_t)(uintptr_t)(dst + 3);
		c = n;
		asm volatile("rep stosb" : "+D"(d), "+c"(c) : "a"(0xabcdef12u) : "memory");
		d = (uint32_t)(uintptr_t)(dst + 92);
		c = n / 4;
		asm volatile("std\n\trep stosl\n\tcld" : "+D"(d), "+c"(c) : "a"(0x9abcdef0u) : "memory");
		h = mix(mix(h, d - (uint32_t)(uintptr_t)dst), c);
		h = fold_buf(h, dst, sizeof(dst));

		/* repe cmpsb stopping at a planted difference (or running out). */
		for (i = 0; i < sizeof(dst); i++)
			dst[i] = src[i];
		dst[n + 5] ^= 0x40;
		s = (uint32_t)(uintptr_t)src;
		d = (uint32_t)(uintptr_t)dst;
		c = 10 + n % 7;
		asm volatile("cmpl %%ecx, %%ecx\n\trepe cmpsb\n\tpushfl\n\tpopl %3"
			     : "+S"(s), "+D"(d), "+c"(c), "=r"(f) : : "memory", "cc");
		h = mix(mix(mix(mix(h, s - (uint32_t)(uintptr_t)src), d - (uint32_t)(uintptr_t)dst), c),
			f & FL_ALL);
		s = (uint32_t)(uintptr_t)(src + 60);
		d = (uint32_t)(uintptr_t)(dst + 60);
		c = 60;
		asm volatile("cmpl %%ecx, %%ecx\n\tstd\n\trepe cmpsl\n\tcld\n\tpushfl\n\tpopl %3"
			     : "+S"(s), "+D"(d), "+c"(c), "=r"(f) : : "memory", "cc");
		h = mix(mix(mix(h, s - (uint32_t)(uintptr_t)src), c), f & FL_ALL);
		/* repne scasb for a byte that is there, and one that may not be. */
		d = (uint32_t)(uintptr_t)src;
		c = sizeof(src);
		asm volatile("cmpl %%ecx, %%ecx\n\trepne scasb\n\tpushfl\n\tpopl %2"
			     : "+D"(d), "+c"(c), "=r"(f) : "a"(src[n * 3]) : "memory", "cc");
		h = mix(mix(mix(h, d - (uint32_t)(uintptr_t)src), c), f & FL_ALL);
		d = (uint32_t)(uintptr_t)(src + 95);
		c = 50;
		asm volatile("cmpl %%ecx, %%ecx\n\tstd\n\trepne scasb\n\tcld\n\tpushfl\n\tpopl %2"
			     : "+D"(d), "+c"(c), "=r"(f) : "a"(n * 13), "" "m"(src) : "cc");
		h = mix(mix(mix(h, d - (uint32_t)(uintptr_t)src), c), f & FL_ALL);
		/* lods both ways. */
		s = (uint32_t)(uintptr_t)(src + n);
		asm volatile("lodsl\n\tstd\n\tlodsw\n\tcld" : "+S"(s), "=a"(a) : "m"(src));
		h = mix(mix(h, a), s - (uint32_t)(uintptr_t)src);
	}
	for (i = 0; i < 256; i++) {
		asm("xlat" : "=a"(a) : "0"(i | 0x1200u), "b"(table), "m"(table));
		h = mix(h, a);
	}
	return h;
}

/* ---- cmpxchg/xadd/xchg/cmpxchg8b ---- */

static uint32_t g_atomic(void)
{
	uint32_t h = 9, a, b, m, r, f;
	uint64_t q;
	unsigned i;

	rng = 0x89abcde;
	for (i = 0; i < NPAIRS; i++) {
		pair(i, &a, &b);
		m = (i & 1) ? a : b;
		r = a;
		asm volatile("lock cmpxchgl %3, %1\n\tpushfl\n\tpopl %2"
			     : "+a"(r), "+m"(m), "=r"(f) : "r"(b ^ 0xf0f0) : "cc", "memory");
		h = mix(mix(mix(h, r), m), f & FL_ALL);
		r = a;
		asm volatile("lock xaddl %0, %1\n\tpushfl\n\tpopl %2"
			     : "+r"(r), "+m"(m), "=r"(f) : : "cc", "memory");
		h = mix(mix(mix(h, r), m), f & FL_ALL);
		r = b;
		asm volatile("xchgl %0, %1" : "+r"(r), "+m"(m) : : "memory");
		h = mix(mix(h, r), m);
		r = a;
		asm volatile("cmpxchgb %b3, %1\n\tpushfl\n\tpopl %2"
			     : "+a"(r), "+m"(m), "=r"(f) : "q"(b) : "cc", "memory");
		h = mix(mix(mix(h, r), m), f & FL_ALL);
		q = (i & 2) ? ((uint64_t)b << 32 | a) : 0;
		{
			uint32_t lo = a, hi = b;

			asm volatile("lock cmpxchg8b %2\n\tpushfl\n\tpopl %3"
				     : "+a"(lo), "+d"(hi), "+m"(q), "=r"(f)
				     : "b"(a ^ b), "c"(~a) : "cc", "memory");
			h = mix(mix(mix(mix(h, lo), hi), (uint32_t)q), f & FL_ZF);
		}
	}
	return h;
}

/* ---- x87: exactly rounded operations only ---- */

static uint64_t rnd_double_bits(void)
{
	/* Normal numbers with exponents near 1: no overflow, no denormals. */
	uint64_t m = (uint64_t)rnd() << 20 ^ rnd();
	uint64_t e = 1023 - 30 + rnd() % 60;

	return (uint64_t)(rnd() & 1) << 63 | e << 52 | (m & 0xfffffffffffffull);
}

static uint32_t fold64(uint32_t h, uint64_t v)
{
	return mix(mix(h, (uint32_t)v), (uint32_t)(v >> 32));
}

#define X87_BIN(insn, a, b)						\
	do {								\
		uint64_t r_;						\
		asm("fldl %1\n\t" insn " %2\n\tfstpl %0"		\
		    : "=m"(r_) : "m"(a), "m"(b));			\
		h = fold64(h, r_);					\
	} while (0)

static uint32_t g_x87(void)
{
	uint16_t cw = X87_CW_NEAREST, chop = X87_CW_CHOP, sw;
	uint32_t h = 10, f;
	unsigned i;

	rng = 0x9abcdef;
	asm volatile("fninit\n\tfldcw %0" : : "m"(cw));
	for (i = 0; i < 400; i++) {
		uint64_t a = rnd_double_bits(), b = rnd_double_bits(), r;
		uint8_t ext[10];
		int32_t n32;
		int64_t n64;
		int32_t k = (int32_t)(rnd() % 2000) - 1000;

		X87_BIN("faddl", a, b);
		X87_BIN("fsubl", a, b);
		X87_BIN("fmull", a, b);
		X87_BIN("fdivl", a, b);
		X87_BIN("fdivrl", a, b);
		/* The 80-bit result too: no double rounding to hide behind. */
		asm("fldl %1\n\tfmull %2\n\tfstpt %0" : "=m"(ext) : "m"(a), "m"(b));
		h = fold_buf(h, ext, 10);
		asm("fldl %1\n\tfabs\n\tfsqrt\n\tfstpl %0" : "=m"(r) : "m"(a));
		h = fold64(h, r);
		asm("fldl %1\n\tfchs\n\tfldl %2\n\tfxch\n\tfsubrp\n\tfstpl %0" : "=m"(r) : "m"(a), "m"(b));
		h = fold64(h, r);
		n32 = k / 32;	/* a small scale factor */
		asm("fildl %2\n\tfldl %1\n\tfscale\n\tfstp %%st(1)\n\tfstpl %0"
		    : "=m"(r) : "m"(a), "m"(n32));
		h = fold64(h, r);
		n32 = k;
		asm("fildl %2\n\tfldl %1\n\tfmulp\n\tfistpl %0" : "=m"(n32) : "m"(b), "m"(n32));
		h = mix(h, (uint32_t)n32);
		asm("fldcw %3\n\tfldl %1\n\tfistpll %0\n\tfldcw %2"
		    : "=m"(n64) : "m"(a), "m"(cw), "m"(chop));
		h = fold64(h, (uint64_t)n64);
		asm("fldl %1\n\tfrndint\n\tfstpl %0" : "=m"(r) : "m"(a));
		h = fold64(h, r);
		asm("fldl %2\n\tfldl %1\n\tfprem\n\tfstp %%st(1)\n\tfstpl %0" : "=m"(r) : "m"(a), "m"(b));
		h = fold64(h, r);
		/* fcomi sets ZF/PF/CF; fcom sets C0/C2/C3 in the status word. */
		asm("fldl %2\n\tfldl %1\n\tfcomip %%st(1), %%st\n\tfstp %%st(0)\n\tpushfl\n\tpopl %0"
		    : "=r"(f) : "m"(a), "m"((i & 3) ? b : a) : "cc");
		h = mix(h, f & (FL_ZF | FL_PF | FL_CF));
		asm("fldl %1\n\tfcompl %2\n\tfnstsw %0" : "=a"(sw) : "m"(a), "m"(b));
		h = mix(h, sw & 0x4500);
		n64 = (int64_t)((uint64_t)rnd() << 32 | rnd());
		asm("fildll %1\n\tfstpl %0" : "=m"(r) : "m"(n64));
		h = fold64(h, r);
	}
	return h;
}

/* ---- SSE/SSE2 ---- */

struct v128 {
	uint32_t w[4];
} __attribute__((aligned(16)));

#define SSE_BIN(insn, a, b)						\
	do {								\
		struct v128 r_;						\
		asm("movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\t"	\
		    insn " %%xmm1, %%xmm0\n\tmovdqu %%xmm0, %0"		\
		    : "=m"(r_) : "m"(a), "m"(b) : "xmm0", "xmm1");	\
		h = fold_v(h, &r_);					\
	} while (0)

static uint32_t fold_v(uint32_t h, const struct v128 *v)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		h = mix(h, v->w[i]);
	return h;
}

static uint32_t rnd_float_bits(void)
{
	return (rnd() & 0x807fffffu) | (127 - 20 + rnd() % 40) << 23;
}

static uint32_t g_sse(void)
{
	uint32_t mxcsr = MXCSR_DEFAULT, h = 11, f, n;
	unsigned i, j;

	rng = 0xabcdef1;
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
	for (i = 0; i < 300; i++) {
		struct v128 fa, fb, da, db, ia, ib;
		uint64_t d;

		for (j = 0; j < 4; j++) {
			fa.w[j] = rnd_float_bits();
			fb.w[j] = rnd_float_bits();
			ia.w[j] = rnd();
			ib.w[j] = rnd();
		}
		d = rnd_double_bits();
		da.w[0] = (uint32_t)d;
		da.w[1] = d >> 32;
		d = rnd_double_bits();
		da.w[2] = (uint32_t)d;
		da.w[3] = d >> 32;
		d = rnd_double_bits();
		db.w[0] = (uint32_t)d;
		db.w[1] = d >> 32;
		d = (i & 1) ? rnd_double_bits() : d;
		db.w[2] = (uint32_t)d;
		db.w[3] = d >> 32;

		SSE_BIN("addps", fa, fb);
		SSE_BIN("subps", fa, fb);
		SSE_BIN("mulps", fa, fb);
		SSE_BIN("divps", fa, fb);
		SSE_BIN("sqrtps", fa, fa);
		SSE_BIN("minps", fa, fb);
		SSE_BIN("maxps", fa, fb);
		SSE_BIN("shufps $0x4e,", fa, fb);
		SSE_BIN("unpcklps", fa, fb);
		SSE_BIN("xorps", fa, fb);
		SSE_BIN("cmpltps", fa, fb);
		SSE_BIN("addpd", da, db);
		SSE_BIN("mulpd", da, db);
		SSE_BIN("divpd", da, db);
		SSE_BIN("sqrtsd", da, db);
		SSE_BIN("andpd", da, db);
		SSE_BIN("cvtps2pd", da, fa);
		SSE_BIN("cvtpd2ps", fa, da);
		SSE_BIN("paddq", ia, ib);
		SSE_BIN("psubq", ia, ib);
		SSE_BIN("pmuludq", ia, ib);
		SSE_BIN("paddusb", ia, ib);
		SSE_BIN("psubusw", ia, ib);
		SSE_BIN("pcmpeqb", ia, ia);
		SSE_BIN("pcmpgtd", ia, ib);
		SSE_BIN("punpcklbw", ia, ib);
		SSE_BIN("pmaddwd", ia, ib);
		SSE_BIN("packsswb", ia, ib);
		SSE_BIN("pshufd $0x1b,", ia, ib);
		SSE_BIN("psllq $13, %%xmm0\n\tpor", ia, ib);
		SSE_BIN("psrad $7, %%xmm0\n\tpxor", ia, ib);
		asm("movdqu %1, %%xmm0\n\tpmovmskb %%xmm0, %0" : "=r"(n) : "m"(ia) : "xmm0");
		h = mix(h, n);
		asm("movdqu %1, %%xmm0\n\tmovmskps %%xmm0, %0" : "=r"(n) : "m"(fa) : "xmm0");
		h = mix(h, n);
		asm("cvtsi2sdl %2, %%xmm0\n\tsqrtsd %%xmm0, %%xmm0\n\tcvttsd2si %%xmm0, %0\n\t"
		    "cvtsd2si %%xmm0, %1"
		    : "=r"(n), "=r"(f) : "r"(ia.w[0] >> 1) : "xmm0");
		h = mix(mix(h, n), f);
		asm("movsd %1, %%xmm0\n\tcomisd %2, %%xmm0\n\tpushfl\n\tpopl %0"
		    : "=r"(f) : "m"(da.w[0]), "m"(db.w[2]) : "xmm0", "cc");
		h = mix(h, f & (FL_ZF | FL_PF | FL_CF));
		asm("movss %1, %%xmm0\n\tucomiss %2, %%xmm0\n\tpushfl\n\tpopl %0"
		    : "=r"(f) : "m"(fa.w[0]), "m"(fb.w[0]) : "xmm0", "cc");
		h = mix(h, f & (FL_ZF | FL_PF | FL_CF));
	}
	/* Inexact and friends must have been raised the same way. */
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	h = mix(h, mxcsr);
	return h;
}

const struct dt_group dt_groups[] = {
	{ "alu: add/sub/adc/sbb/logic/neg/inc/dec + flags", g_alu },
	{ "muldiv: mul/imul/div/idiv", g_muldiv },
	{ "shift: shl/shr/sar/rol/ror/rcl/rcr/shld/shrd, counts 0..40", g_shift },
	{ "bits: bt/bts/btr/btc (reg and memory), bsf/bsr, bswap", g_bits },
	{ "cond: setcc/cmovcc, all 16 conditions", g_cond },
	{ "lahf/sahf", g_lahf },
	{ "bcd: daa/das/aaa/aas/aam/aad", g_bcd },
	{ "string: rep movs/stos/cmps/scas/lods with DF=0/1, xlat", g_string },
	{ "atomic: cmpxchg/xadd/xchg/cmpxchg8b", g_atomic },
	{ "x87: fadd/fsub/fmul/fdiv/fsqrt/fscale/fprem/fist/fcomi", g_x87 },
	{ "sse: SSE/SSE2 packed and scalar", g_sse },
};
const unsigned dt_ngroups = sizeof(dt_groups) / sizeof(dt_groups[0]);
