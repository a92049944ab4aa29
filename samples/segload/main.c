/* segload: DS/ES/FS/GS reloaded with the selector they hold must still do all a load does. */
#include "rt.h"
#include "desc.h"
#include "user.h"

/*
 * Why this guest: bt86.ko completes a mov to / pop of DS, ES, FS or GS at
 * CPL 0 in ring 0 when "nothing changes" (the same selector, the GDT entry
 * still the descriptor it was loaded from).  Every check here reloads the
 * selector the register already holds - most through the same few
 * instruction sites in reload(), made hot by many plain reloads first -
 * and looks for the cases where that reload is not a no-op: a rewritten
 * GDT entry (base, DPL, P, type), a cleared accessed bit, another GDT or
 * LDT.  DS and SS stay flat for the C code; ES does too outside of single
 * asm statements (gcc's string instructions use it).
 */

#define ROUNDS		1000	/* plain same-selector reloads: hot paths */
#define SWAPS		120	/* GDT rewrites under a loaded segment */
#define FAULT_ROUNDS	20	/* per form: hot reloads, then a reload that must fault */
#define HOT		5	/* plain reloads before each faulting one */

/* One test slot per register so no check leans on another's leftovers. */
#define SLOT_FS		6
#define SLOT_GS		7
#define SLOT_ES		8
#define SLOT_PCPU	9	/* the Linux-like loop's per-CPU FS */
#define SLOT_LDT0	10	/* two LDTs, same index, different bases */
#define SLOT_LDT1	11
#define SLOT_SCRATCH	15	/* desc_words() encodes through it */
#define SEL_FS		(SLOT_FS << 3)
#define SEL_GS		(SLOT_GS << 3)
#define SEL_ES		(SLOT_ES << 3)
#define SEL_PCPU	(SLOT_PCPU << 3)
#define SEL_LDT0	(SLOT_LDT0 << 3)
#define SEL_LDT1	(SLOT_LDT1 << 3)
#define LDT_IDX		1
#define SEL_LDT_DATA	((LDT_IDX << 3) | 4)	/* TI = 1 */

#define DATA0		(DESC_P | DESC_S | DESC_DATA)		/* DPL 0 read/write */
#define CODE_XO		(DESC_P | DESC_S | 0x08)		/* execute-only code */
#define CODE_RX		(DESC_P | DESC_S | DESC_CODE)		/* execute/read code */
#define LDT_TYPE	(DESC_P | 0x02)				/* system: LDT */
#define LIMIT		0xfff	/* byte granular: every access here is far inside */

/* ES 0, DS 3, FS 4, GS 5: the hardware numbering, as in the error reports. */
enum { R_ES, R_DS = 3, R_FS, R_GS };

/*
 * The reload forms reload() knows.  gas drops the operand-size prefix of
 * "movw %ax, %fs", so mov r16 is spelt out: 66 8e /r.
 */
#define MOV16	".byte 0x66\n\tmovl"
enum { F_MOV16, F_MOV32, F_MOVM, F_POP32, F_POP16, NFORMS };
static const char *const form_name[NFORMS] = {
	"mov r16", "mov r32", "mov m16", "pushl/popl", "pushw/popw",
};

/*
 * The faulting checks run the mov forms and the pop forms as two passes:
 * a faulting pop must also leave ESP alone, and if a VMM gets that wrong
 * the guest loses its stack, so the pops go last (see main).
 */
struct forms {
	int first, last;
	const char *name;
};
static const struct forms movs = { F_MOV16, F_MOVM, "3 mov forms" };
static const struct forms pops = { F_POP32, F_POP16, "2 pop forms" };

/* Bytes a faulting pop of this form leaves on the stack (the pushed selector). */
static uint32_t pop_bytes(int form)
{
	return form == F_POP32 ? 4 : form == F_POP16 ? 2 : 0;
}

/*
 * Memory the test segments point at: for area a, base k = 0 is area[a],
 * k = 1 is 32 bytes in (differs from k = 0 in the descriptor's low dword
 * only), k = 2 is FAR_DELTA away (differs in base 23:16 and 31:24, so in
 * the high dword only).  Each base holds its own tag at offset 0, and a
 * counter at offset 60 for writes through the segment.
 */
#define NAREA		4
#define FAR_DELTA	0x01010000u	/* ~17 MiB: plain RAM, the guest needs 32 MiB */
#define A_FS		0
#define A_GS		1
#define A_ES		2
#define A_PCPU		3
#define TAG(a, k)	(0x5e600000u | (a) << 8 | (k))
#define COUNTER_OFF	60
#define JUNK		0x5e9a0000u	/* above a selector in a 32-bit register / stack slot */

static uint32_t area[NAREA][16] __attribute__((aligned(64)));
static uint32_t ds_probe[16];	/* DS stays flat: its reads go to this */
static struct gdt_desc gdt2[GDT_ENTRIES] __attribute__((aligned(8)));
static struct gdt_desc ldt[2][4] __attribute__((aligned(8)));

/* Operand of the mov-from-memory form. */
static volatile uint16_t reload_sel;

static uint32_t base_of(int a, int k)
{
	uint32_t b = (uint32_t)(uintptr_t)area[a];

	return k == 0 ? b : k == 1 ? b + 32 : b + FAR_DELTA;
}

static volatile uint32_t *at(uint32_t lin)
{
	return (volatile uint32_t *)(uintptr_t)lin;
}

/* A descriptor's two dwords, encoded by the runtime's gdt_set_entry(). */
static void desc_words(uint32_t w[2], uint32_t base, uint8_t access)
{
	gdt_set_entry(SLOT_SCRATCH, base, LIMIT, access, DESC_DB);
	memcpy(w, &gdt[SLOT_SCRATCH], 8);
	memset(&gdt[SLOT_SCRATCH], 0, 8);
}

/* Store a descriptor into a table the CPU reads (volatile: the order matters). */
static void put_desc(void *d, const uint32_t w[2])
{
	volatile uint32_t *p = d;

	p[0] = w[0];
	p[1] = w[1];
}

static void set_data(void *d, uint32_t base, uint8_t access)
{
	uint32_t w[2];

	desc_words(w, base, access);
	put_desc(d, w);
}

static volatile uint8_t *access_byte(int slot)
{
	return &((volatile struct gdt_desc *)gdt)[slot].access;
}

/* ---- fault entry that leaves FS and GS alone ---- */

/*
 * The runtime's common entry pushes and pops DS/ES/FS/GS around the
 * handler.  Popping an FS whose GDT entry a test just broke would fault
 * again, and any reload would hide whether the failed load kept the old
 * segment.  This entry for #GP and #NP touches only DS and ES (flat and
 * consistent whenever a test may fault) and fills the runtime's catch
 * state, so CATCH-style resumption works as usual.
 */
#define STR_(x)	#x
#define STR(x)	STR_(x)

asm(".text\n"
    "seg_gp_entry:\n\t"
    "pushl $13\n\t"
    "jmp seg_trap_common\n"
    "seg_np_entry:\n\t"
    "pushl $11\n"
    "seg_trap_common:\n\t"
    "pushal\n\t"
    "pushl %ds\n\t"
    "pushl %es\n\t"
    "movl $" STR(SEL_KDATA) ", %eax\n\t"
    "movl %eax, %ds\n\t"
    "movl %eax, %es\n\t"
    "cld\n\t"
    "pushl %esp\n\t"
    "call seg_trap\n\t"
    "addl $4, %esp\n\t"
    "popl %es\n\t"
    "popl %ds\n\t"
    "popal\n\t"
    "addl $8, %esp\n\t"		/* vector and error code */
    "iret\n");
extern char seg_gp_entry[], seg_np_entry[];

struct seg_frame {
	uint32_t es, ds;
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, error, eip, cs, eflags;
};

void seg_trap(struct seg_frame *f);	/* called from seg_trap_common only */

void seg_trap(struct seg_frame *f)
{
	caught.vec = f->vector;
	caught.err = f->error;
	caught.eip = f->eip;
	caught.cs = f->cs;
	caught.eflags = f->eflags;
	caught.count++;
	/*
	 * A fault at CPL 0 pushes EFLAGS, CS, EIP and the error code right
	 * below ESP.  Anything but our code selector in the CS slot means the
	 * handler was entered with ESP off its frame: the stack is lost.
	 */
	if (f->cs != SEL_KCODE)
		panic("%s handler entered with ESP off its frame: error/EIP/CS/EFLAGS slots "
		      "%x %x %x %x", trap_name(f->vector), f->error, f->eip, f->cs, f->eflags);
	if (!catch_resume)
		panic("%s error 0x%x at %04x:%08x outside a catch", trap_name(f->vector), f->error,
		      f->cs, f->eip);
	f->eip = catch_resume;
	catch_resume = 0;
}

/* ---- reloading, reading ---- */

/*
 * One reload of seg in one form, fault caught.  ESP is put back from a
 * register whatever happened; the result is how far the reload left it
 * (a faulting pop leaves the pushed selector on the stack, a completed one
 * nothing).  The pop forms reload what the register holds, so sel matters
 * only to the mov forms; a 32-bit mov gets junk above the selector.
 */
#define RELOAD(save, insn)						\
	asm volatile("movl %%esp, %[e]\n\t"				\
		     save "\n\t"					\
		     "movl $9f, catch_resume\n\t"			\
		     "movl $8f, catch_at\n\t"				\
		     "movl $9f, catch_end\n"				\
		     "8:\n\t" insn "\n"					\
		     "9:\n\t"						\
		     "movl $0, catch_resume\n\t"			\
		     "subl %%esp, %[e]\n\t"				\
		     "addl %[e], %%esp"					\
		     : [e] "=&r"(left)					\
		     : [s] "r"(JUNK | sel), [m] "m"(reload_sel)		\
		     : "cc", "memory")

#define RELOAD_FORMS(seg)						\
	case F_MOV16: RELOAD("", MOV16 " %[s], %%" seg); break;	\
	case F_MOV32: RELOAD("", "movl %[s], %%" seg); break;		\
	case F_MOVM: RELOAD("", "movw %[m], %%" seg); break;		\
	case F_POP32: RELOAD("pushl %%" seg, "popl %%" seg); break;	\
	case F_POP16: RELOAD("pushw %%" seg, "popw %%" seg); break

static uint32_t reload(int sreg, int form, uint16_t sel)
{
	uint32_t left = 0;

	reload_sel = sel;
	switch (sreg) {
	case R_DS:
		switch (form) { RELOAD_FORMS("ds"); }
		break;
	case R_ES:
		switch (form) { RELOAD_FORMS("es"); }
		break;
	case R_FS:
		switch (form) { RELOAD_FORMS("fs"); }
		break;
	case R_GS:
		switch (form) { RELOAD_FORMS("gs"); }
		break;
	}
	return left;
}

static uint16_t read_sel(int sreg)
{
	uint16_t v = 0;

	switch (sreg) {
	case R_DS: asm volatile("movw %%ds, %0" : "=r"(v)); break;
	case R_ES: asm volatile("movw %%es, %0" : "=r"(v)); break;
	case R_FS: asm volatile("movw %%fs, %0" : "=r"(v)); break;
	case R_GS: asm volatile("movw %%gs, %0" : "=r"(v)); break;
	}
	return v;
}

/* The dword at offset 0 of FS or GS. */
static uint32_t seg_read(int sreg)
{
	uint32_t v;

	if (sreg == R_FS)
		asm volatile("movl %%fs:0, %0" : "=r"(v) : : "memory");
	else
		asm volatile("movl %%gs:0, %0" : "=r"(v) : : "memory");
	return v;
}

static const char *rname(int sreg)
{
	return sreg == R_DS ? "DS" : sreg == R_ES ? "ES" : sreg == R_FS ? "FS" : "GS";
}

/* ---- tallies: one report line per check, with the first thing that went wrong ---- */

struct tally {
	unsigned bad;
	char first[120];
};

static void tally_reset(struct tally *t)
{
	t->bad = 0;
	t->first[0] = 0;
}

static bool note(struct tally *t, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool note(struct tally *t, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	if (!t->bad++) {
		va_start(ap, fmt);
		vsnprintf(t->first, sizeof(t->first), fmt, ap);
		va_end(ap);
	}
	return false;
}

/* The check's result line; what went wrong first goes on an info line below it. */
static void tally_report(const struct tally *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tally_report(const struct tally *t, const char *fmt, ...)
{
	char name[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (!report(t->bad == 0, name))
		report_info("%u wrong, the first: %s", t->bad, t->first);
}

/* A reload that must complete: no fault, ESP balanced. */
static void expect_ok(struct tally *t, int sreg, int form, uint16_t sel, uint32_t left,
		      const char *when)
{
	note(t, caught.count == 0 && left == 0,
	     "%s %s %s 0x%x: %s (err 0x%x) and %u bytes left on the stack", when, form_name[form],
	     rname(sreg), sel, caught.count ? trap_name(caught.vec) : "no fault", caught.err, left);
}

/* A reload that must fault with vec(err) at the reload, the pop's selector left pushed. */
static void expect_fault(struct tally *t, int sreg, int form, uint16_t sel, uint32_t left,
			 int vec, uint32_t err, const char *when)
{
	note(t, caught.count == 1 && caught.vec == vec && caught.err == err &&
		caught.eip == catch_at && caught.cs == SEL_KCODE && left == pop_bytes(form),
	     "%s %s %s 0x%x: want %s(0x%x), got %u traps, %s(0x%x) at %08x (load %08x), "
	     "%u bytes left", when, form_name[form], rname(sreg), sel, trap_name(vec), err,
	     caught.count, caught.vec < 0 ? "none" : trap_name(caught.vec), caught.err,
	     caught.eip, catch_at, left);
}

/* ---- 1: same-selector reloads in every form, with accesses in between ---- */

#define CC_BAD	"je 2f\n\tincl %[bad]\n2:\n\t"
#define READ_OK(seg)	"cmpl %[want], %%" seg ":%c[off]\n\t" CC_BAD

/*
 * ROUNDS times: reload seg with what it holds through mov r16, mov r32
 * (junk above the selector), mov m16, pushl/popl and pushw/popw (ESP
 * moves by 4 and by 2, the pushed word is the selector), and a popl of a
 * dword with junk above the selector; read through seg after each and
 * count one write per round at COUNTER_OFF.
 */
#define SAME_ROUNDS(seg, pre, post, sel_, off_, want_)			\
	asm volatile(pre "\n\t"						\
		     "movl %[n], %[i]\n"				\
		     "1:\n\t"						\
		     MOV16 " %[s], %%" seg "\n\t"			\
		     READ_OK(seg)					\
		     "movl %[s], %%" seg "\n\t"				\
		     READ_OK(seg)					\
		     "movw %[m], %%" seg "\n\t"				\
		     READ_OK(seg)					\
		     "movl %%esp, %[t]\n\t"				\
		     "pushl %%" seg "\n\t"				\
		     "subl $4, %[t]\n\t"				\
		     "cmpl %%esp, %[t]\n\t" CC_BAD			\
		     "cmpw %w[s], (%%esp)\n\t" CC_BAD			\
		     "popl %%" seg "\n\t"				\
		     "addl $4, %[t]\n\t"				\
		     "cmpl %%esp, %[t]\n\t" CC_BAD			\
		     READ_OK(seg)					\
		     "pushw %%" seg "\n\t"				\
		     "subl $2, %[t]\n\t"				\
		     "cmpl %%esp, %[t]\n\t" CC_BAD			\
		     "cmpw %w[s], (%%esp)\n\t" CC_BAD			\
		     "popw %%" seg "\n\t"				\
		     "addl $2, %[t]\n\t"				\
		     "cmpl %%esp, %[t]\n\t" CC_BAD			\
		     READ_OK(seg)					\
		     "pushl %[s]\n\t"					\
		     "popl %%" seg "\n\t"				\
		     READ_OK(seg)					\
		     "movw %%" seg ", %w[t]\n\t"			\
		     "cmpw %w[s], %w[t]\n\t" CC_BAD			\
		     "addl $1, %%" seg ":" STR(COUNTER_OFF) "+%c[off]\n\t" \
		     "decl %[i]\n\t"					\
		     "jnz 1b\n\t"					\
		     post						\
		     : [bad] "+r"(bad), [i] "=&r"(i_), [t] "=&r"(t_)	\
		     : [s] "r"(JUNK | (sel_)), [m] "m"(reload_sel), [off] "i"(off_), \
		       [want] "ri"(want_), [n] "i"(ROUNDS)		\
		     : "cc", "memory")

static void test_same_selector(void)
{
	uint32_t bad, i_, t_;

	/* DS: only ever its own flat selector. */
	bad = 0;
	ds_probe[0] = 0x5e6d5000;
	ds_probe[COUNTER_OFF / 4] = 0;
	reload_sel = SEL_KDATA;
	SAME_ROUNDS("ds", "", "", SEL_KDATA, ds_probe, 0x5e6d5000);
	reportf(bad == 0 && ds_probe[COUNTER_OFF / 4] == ROUNDS && read_sel(R_DS) == SEL_KDATA,
		"1 DS 0x%x reloaded with itself %u x 6 ways: reads, writes, ESP, pushed selector "
		"(%u wrong, %u writes)", SEL_KDATA, ROUNDS, bad, ds_probe[COUNTER_OFF / 4]);

	/* ES: a test segment inside the one asm statement, flat again after it. */
	bad = 0;
	area[A_ES][COUNTER_OFF / 4] = 0;
	reload_sel = SEL_ES;
	SAME_ROUNDS("es", "movw %w[s], %%es", "pushl %%ds\n\tpopl %%es", SEL_ES, 0, TAG(A_ES, 0));
	reportf(bad == 0 && area[A_ES][COUNTER_OFF / 4] == ROUNDS && read_sel(R_ES) == SEL_KDATA,
		"1 ES 0x%x (base %08x) reloaded with itself %u x 6 ways (%u wrong, %u writes)",
		SEL_ES, base_of(A_ES, 0), ROUNDS, bad, area[A_ES][COUNTER_OFF / 4]);

	/* FS and GS: the C code never uses them; they stay loaded. */
	bad = 0;
	area[A_FS][COUNTER_OFF / 4] = 0;
	reload_sel = SEL_FS;
	SAME_ROUNDS("fs", "movw %w[s], %%fs", "", SEL_FS, 0, TAG(A_FS, 0));
	reportf(bad == 0 && area[A_FS][COUNTER_OFF / 4] == ROUNDS && read_sel(R_FS) == SEL_FS,
		"1 FS 0x%x (base %08x) reloaded with itself %u x 6 ways (%u wrong, %u writes)",
		SEL_FS, base_of(A_FS, 0), ROUNDS, bad, area[A_FS][COUNTER_OFF / 4]);

	bad = 0;
	area[A_GS][COUNTER_OFF / 4] = 0;
	reload_sel = SEL_GS;
	SAME_ROUNDS("gs", "movw %w[s], %%gs", "", SEL_GS, 0, TAG(A_GS, 0));
	reportf(bad == 0 && area[A_GS][COUNTER_OFF / 4] == ROUNDS && read_sel(R_GS) == SEL_GS,
		"1 GS 0x%x (base %08x) reloaded with itself %u x 6 ways (%u wrong, %u writes)",
		SEL_GS, base_of(A_GS, 0), ROUNDS, bad, area[A_GS][COUNTER_OFF / 4]);
}

/* ---- 2: the GDT entry rewritten under a loaded segment ---- */

/*
 * Round j: the entry goes from base k = j % 3 to (j + 1) % 3 (low dword,
 * high dword, both) while the register holds it.  Before the reload the
 * old base must still be in effect (the CPU keeps its copy), after it
 * the new one.
 */
static void test_swap_fs_gs(int sreg)
{
	int slot = sreg == R_FS ? SLOT_FS : SLOT_GS, a = sreg == R_FS ? A_FS : A_GS;
	uint16_t sel = sreg == R_FS ? SEL_FS : SEL_GS;
	struct tally t, ts;
	uint32_t w[2], left, stale, now;
	unsigned j;

	tally_reset(&t);
	tally_reset(&ts);
	set_data(&gdt[slot], base_of(a, 0), DATA0);
	catch_reset();
	left = reload(sreg, F_MOV16, sel);
	expect_ok(&t, sreg, F_MOV16, sel, left, "first load");
	for (j = 0; j < SWAPS; j++) {
		int k = j % 3, kn = (j + 1) % 3, form = j % NFORMS;

		/* One of the three with A set already: a load then writes nothing. */
		desc_words(w, base_of(a, kn), DATA0 | (kn == 2 ? DESC_ACCESSED : 0));
		put_desc(&gdt[slot], w);
		stale = seg_read(sreg);
		catch_reset();
		left = reload(sreg, form, sel);
		expect_ok(&t, sreg, form, sel, left, "swap");
		now = seg_read(sreg);
		note(&ts, stale == TAG(a, k), "round %u: read %08x before the reload, want %08x",
		     j, stale, TAG(a, k));
		note(&t, now == TAG(a, kn), "round %u %s: read %08x, want %08x (new base %08x)", j,
		     form_name[form], now, TAG(a, kn), base_of(a, kn));
	}
	tally_report(&t, "2 %s 0x%x: GDT entry's base rewritten %u times, each same-selector "
		     "reload (5 forms) takes the new base", rname(sreg), sel, SWAPS);
	tally_report(&ts, "2 %s: until reloaded, the old base stays in effect", rname(sreg));
	/* Leave it at base 0 for the next tests. */
	set_data(&gdt[slot], base_of(a, 0), DATA0);
	reload(sreg, F_MOV16, sel);
}

/* ES: loaded, rewritten, reloaded and made flat again in one statement. */
#define ES_SWAP(save, insn)						\
	asm volatile("movw %w[s], %%es\n\t"				\
		     save "\n\t"					\
		     "movl %[lo], %c[g]\n\t"				\
		     "movl %[hi], 4+%c[g]\n\t"				\
		     "movl %%es:0, %[stale]\n\t"			\
		     insn "\n\t"					\
		     "movl %%es:0, %[now]\n\t"				\
		     "pushl %%ds\n\t"					\
		     "popl %%es"					\
		     : [stale] "=&r"(stale), [now] "=&r"(now)		\
		     : [s] "r"(JUNK | SEL_ES), [lo] "r"(w[0]), [hi] "r"(w[1]), \
		       [g] "i"(&gdt[SLOT_ES]), [m] "m"(reload_sel)	\
		     : "memory")

static void test_swap_es(void)
{
	uint32_t w[2], stale, now;
	struct tally t, ts;
	unsigned j;

	tally_reset(&t);
	tally_reset(&ts);
	reload_sel = SEL_ES;
	set_data(&gdt[SLOT_ES], base_of(A_ES, 0), DATA0);
	for (j = 0; j < SWAPS; j++) {
		int k = j % 3, kn = (j + 1) % 3, form = j % NFORMS;

		desc_words(w, base_of(A_ES, kn), DATA0);
		switch (form) {
		case F_MOV16: ES_SWAP("", MOV16 " %[s], %%es"); break;
		case F_MOV32: ES_SWAP("", "movl %[s], %%es"); break;
		case F_MOVM: ES_SWAP("", "movw %[m], %%es"); break;
		case F_POP32: ES_SWAP("pushl %%es", "popl %%es"); break;
		case F_POP16: ES_SWAP("pushw %%es", "popw %%es"); break;
		}
		note(&ts, stale == TAG(A_ES, k), "round %u: read %08x before the reload, want %08x",
		     j, stale, TAG(A_ES, k));
		note(&t, now == TAG(A_ES, kn), "round %u %s: read %08x, want %08x", j,
		     form_name[form], now, TAG(A_ES, kn));
	}
	note(&t, read_sel(R_ES) == SEL_KDATA, "ES 0x%x at the end, want 0x%x", read_sel(R_ES),
	     SEL_KDATA);
	tally_report(&t, "2 ES 0x%x: GDT entry's base rewritten %u times, each same-selector "
		     "reload (5 forms) takes the new base", SEL_ES, SWAPS);
	tally_report(&ts, "2 ES: until reloaded, the old base stays in effect");
	set_data(&gdt[SLOT_ES], base_of(A_ES, 0), DATA0);
}

/* ---- 3: the accessed bit ---- */

static void test_accessed(int sreg, int slot, uint16_t sel)
{
	struct tally t;
	unsigned j;
	uint32_t left;

	tally_reset(&t);
	for (j = 0; j < 100; j++) {
		int form = j % NFORMS;

		*access_byte(slot) &= ~DESC_ACCESSED;
		catch_reset();
		left = reload(sreg, form, sel);
		expect_ok(&t, sreg, form, sel, left, "accessed");
		note(&t, *access_byte(slot) & DESC_ACCESSED,
		     "round %u %s: access byte %02x after the reload", j, form_name[form],
		     *access_byte(slot));
	}
	tally_report(&t, "3 %s 0x%x: accessed bit cleared in the GDT, set again by each "
		     "same-selector reload (100, 5 forms)", rname(sreg), sel);
}

/* ---- 4: null selectors ---- */

static void test_null(int sreg)
{
	uint16_t sel = sreg == R_FS ? SEL_FS : SEL_GS;
	uint32_t want = TAG(sreg == R_FS ? A_FS : A_GS, 0), left;
	struct tally t;
	unsigned j;

	tally_reset(&t);
	for (j = 0; j < 100; j++) {
		int form = j % NFORMS;

		/* valid -> null, then the null reloaded with itself, then valid again */
		catch_reset();
		left = reload(sreg, F_MOV16, 0);
		expect_ok(&t, sreg, F_MOV16, 0, left, "to null");
		catch_reset();
		left = reload(sreg, form, 0);
		expect_ok(&t, sreg, form, 0, left, "null again");
		note(&t, read_sel(sreg) == 0, "round %u %s: selector %x after a null reload", j,
		     form_name[form], read_sel(sreg));
		catch_reset();
		left = reload(sreg, form == F_POP32 || form == F_POP16 ? F_MOV32 : form, sel);
		expect_ok(&t, sreg, form, sel, left, "back to valid");
		note(&t, seg_read(sreg) == want, "round %u: read %08x after the valid load", j,
		     seg_read(sreg));
	}
	tally_report(&t, "4 %s: null selector loaded, reloaded with itself (100, 5 forms), a "
		     "valid one again: no fault, the right base", rname(sreg));
}

/* ---- 5, 6, 7: the entry rewritten so that the same reload must fault ---- */

/*
 * For each form, FAULT_ROUNDS times: HOT plain reloads, brk(slot) on the
 * GDT entry, the same reload must fault with vec(sel & ~3) and leave the
 * register as it was (selector, and reads through the old base), then
 * mend(slot) and reload fine.
 */
static void fault_rounds(struct tally *t, const struct forms *fs, int sreg, int slot,
			 uint16_t sel, uint32_t want, void (*brk)(int slot),
			 void (*mend)(int slot), int vec, const char *what)
{
	uint32_t left;
	int form, r, h;

	tally_reset(t);
	/* The pop forms reload what the register holds: make that sel. */
	catch_reset();
	left = reload(sreg, F_MOV16, sel);
	expect_ok(t, sreg, F_MOV16, sel, left, "first load");
	for (form = fs->first; form <= fs->last; form++) {
		for (r = 0; r < FAULT_ROUNDS; r++) {
			for (h = 0; h < HOT; h++) {
				catch_reset();
				left = reload(sreg, form, sel);
				expect_ok(t, sreg, form, sel, left, "hot");
			}
			brk(slot);
			catch_reset();
			left = reload(sreg, form, sel);
			expect_fault(t, sreg, form, sel, left, vec, sel & ~3u, what);
			note(t, read_sel(sreg) == sel && seg_read(sreg) == want,
			     "%s %s: after the fault %s %x reads %08x, want %x / %08x", what,
			     form_name[form], rname(sreg), read_sel(sreg), seg_read(sreg), sel, want);
			mend(slot);
			catch_reset();
			left = reload(sreg, form, sel);
			expect_ok(t, sreg, form, sel, left, "mended");
			note(t, seg_read(sreg) == want, "%s %s: read %08x after mending, want %08x",
			     what, form_name[form], seg_read(sreg), want);
		}
	}
}

static void dpl_to_0(int slot)
{
	*access_byte(slot) &= ~DESC_DPL(3);
}

static void dpl_to_3(int slot)
{
	*access_byte(slot) |= DESC_DPL(3);
}

static void p_clear(int slot)
{
	*access_byte(slot) &= ~DESC_P;
}

static void p_set(int slot)
{
	*access_byte(slot) |= DESC_P;
}

/* 5: RPL 3 into a DPL 3 entry is legal at CPL 0; with DPL 0 it is not (RPL > DPL). */
static void test_dpl(const struct forms *fs)
{
	uint16_t sel = SEL_FS | 3;
	struct tally t;

	set_data(&gdt[SLOT_FS], base_of(A_FS, 0), DATA0 | DESC_DPL(3));
	fault_rounds(&t, fs, R_FS, SLOT_FS, sel, TAG(A_FS, 0), dpl_to_0, dpl_to_3, 13, "DPL 0");
	tally_report(&t, "5 FS 0x%x, entry's DPL 3 -> 0: the same reload -> #GP(0x%x), FS keeps "
		     "its segment; DPL 3 again: loads (%u x %s)", sel, SEL_FS, FAULT_ROUNDS,
		     fs->name);
	set_data(&gdt[SLOT_FS], base_of(A_FS, 0), DATA0);
	reload(R_FS, F_MOV16, SEL_FS);
}

/* 6: not present -> #NP, not #GP. */
static void test_present(const struct forms *fs)
{
	struct tally t;

	fault_rounds(&t, fs, R_GS, SLOT_GS, SEL_GS, TAG(A_GS, 0), p_clear, p_set, 11, "P clear");
	tally_report(&t, "6 GS 0x%x, entry's P cleared: the same reload -> #NP(0x%x), GS keeps "
		     "its segment; P set again: loads (%u x %s)", SEL_GS, SEL_GS, FAULT_ROUNDS,
		     fs->name);
}

/*
 * 7: the entry becomes execute-only code (not loadable into a data
 * register: #GP), then readable code at another base (loadable, reads
 * through it), then the data entry again.
 */
static void test_type(const struct forms *fs)
{
	uint32_t xo[2], rx[2], data[2], left;
	int form, r, h;
	struct tally t;

	desc_words(xo, base_of(A_FS, 1), CODE_XO);
	desc_words(rx, base_of(A_FS, 1), CODE_RX);
	desc_words(data, base_of(A_FS, 0), DATA0);
	tally_reset(&t);
	put_desc(&gdt[SLOT_FS], data);
	catch_reset();
	left = reload(R_FS, F_MOV16, SEL_FS);
	expect_ok(&t, R_FS, F_MOV16, SEL_FS, left, "first load");
	for (form = fs->first; form <= fs->last; form++) {
		for (r = 0; r < FAULT_ROUNDS; r++) {
			for (h = 0; h < HOT; h++) {
				catch_reset();
				left = reload(R_FS, form, SEL_FS);
				expect_ok(&t, R_FS, form, SEL_FS, left, "hot");
			}
			put_desc(&gdt[SLOT_FS], xo);
			catch_reset();
			left = reload(R_FS, form, SEL_FS);
			expect_fault(&t, R_FS, form, SEL_FS, left, 13, SEL_FS, "execute-only");
			note(&t, read_sel(R_FS) == SEL_FS && seg_read(R_FS) == TAG(A_FS, 0),
			     "execute-only %s: FS %x reads %08x after the fault", form_name[form],
			     read_sel(R_FS), seg_read(R_FS));
			put_desc(&gdt[SLOT_FS], rx);
			catch_reset();
			left = reload(R_FS, form, SEL_FS);
			expect_ok(&t, R_FS, form, SEL_FS, left, "readable code");
			note(&t, seg_read(R_FS) == TAG(A_FS, 1),
			     "readable code %s: read %08x, want %08x (its base)", form_name[form],
			     seg_read(R_FS), TAG(A_FS, 1));
			put_desc(&gdt[SLOT_FS], data);
			catch_reset();
			left = reload(R_FS, form, SEL_FS);
			expect_ok(&t, R_FS, form, SEL_FS, left, "data again");
			note(&t, seg_read(R_FS) == TAG(A_FS, 0), "data again %s: read %08x, want %08x",
			     form_name[form], seg_read(R_FS), TAG(A_FS, 0));
		}
	}
	tally_report(&t, "7 FS 0x%x, entry made execute-only code: the same reload -> #GP(0x%x), "
		     "FS kept; readable code: loads, reads its base (%u x %s)", SEL_FS, SEL_FS,
		     FAULT_ROUNDS, fs->name);
}

/*
 * 8 (segment limits) and a fault on an access through a null FS/GS are
 * left out: QEMU TCG, the reference, checks neither on data accesses, so
 * a smaller limit or a null selector is not visible to a guest there.
 */

/* ---- 9: the segment traffic of a Linux (i386) kernel entry and exit ---- */

/*
 * Entry saves DS/ES/FS and loads __USER_DS into DS and ES (the value they
 * already hold: the no-op case) and the per-CPU segment into FS; exit pops
 * them back.  Per-CPU data is read and counted through FS, and the user's
 * FS must be back after each exit.
 */
static void test_linux_loop(void)
{
	uint32_t bad = 0, i_;

	area[A_PCPU][COUNTER_OFF / 4] = 0;
	ds_probe[1] = 0x5e6d5001;
	reload(R_FS, F_MOV32, SEL_FS);		/* the "user's" FS (a TLS segment) */
	asm volatile("movl %[uds], %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %[n], %[i]\n"
		     "1:\n\t"
		     "pushl %%ds\n\t"
		     "pushl %%es\n\t"
		     "pushl %%fs\n\t"
		     "movl %[uds], %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %[pcpu], %%eax\n\t"
		     "movl %%eax, %%fs\n\t"
		     "addl $1, %%fs:" STR(COUNTER_OFF) "\n\t"
		     "cmpl %[tpcpu], %%fs:0\n\t" CC_BAD
		     "cmpl %[tds], %%ds:%c[probe]\n\t" CC_BAD
		     "cmpl %[tds], %%es:%c[probe]\n\t" CC_BAD
		     "popl %%fs\n\t"
		     "popl %%es\n\t"
		     "popl %%ds\n\t"
		     "cmpl %[tfs], %%fs:0\n\t" CC_BAD
		     "decl %[i]\n\t"
		     "jnz 1b\n\t"
		     "movl %[kds], %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es"
		     : [bad] "+r"(bad), [i] "=&r"(i_)
		     : [uds] "i"(SEL_UDATA), [kds] "i"(SEL_KDATA), [pcpu] "i"(SEL_PCPU),
		       [n] "i"(ROUNDS), [tpcpu] "i"(TAG(A_PCPU, 0)), [tfs] "i"(TAG(A_FS, 0)),
		       [tds] "i"(0x5e6d5001), [probe] "i"(&ds_probe[1])
		     : "eax", "cc", "memory");
	reportf(bad == 0 && area[A_PCPU][COUNTER_OFF / 4] == ROUNDS && read_sel(R_FS) == SEL_FS,
		"9 Linux-like entry/exit x%u: push DS/ES/FS, __USER_DS into DS/ES, per-CPU FS, "
		"pop (%u wrong, %u per-CPU writes, FS %x)", ROUNDS, bad,
		area[A_PCPU][COUNTER_OFF / 4], read_sel(R_FS));
}

/* ---- 10: another GDT, the same selector ---- */

static void load_gdt(struct gdt_desc *table)
{
	struct dtr d = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)table };

	asm volatile("lgdt %0" : : "m"(d) : "memory");
}

/* lgdt of a copy whose FS entry has another base: reloading FS must read the new table. */
static void test_other_gdt(void)
{
	struct tally t;
	uint32_t left;
	unsigned j;

	memcpy(gdt2, gdt, sizeof(gdt2));
	set_data(&gdt2[SLOT_FS], base_of(A_FS, 1), DATA0);
	tally_reset(&t);
	for (j = 0; j < SWAPS; j++) {
		int form = j % NFORMS;

		load_gdt(gdt2);
		note(&t, seg_read(R_FS) == TAG(A_FS, 0), "round %u, second GDT: read %08x before "
		     "the reload", j, seg_read(R_FS));
		catch_reset();
		left = reload(R_FS, form, SEL_FS);
		expect_ok(&t, R_FS, form, SEL_FS, left, "second GDT");
		note(&t, seg_read(R_FS) == TAG(A_FS, 1), "round %u %s, second GDT: read %08x",
		     j, form_name[form], seg_read(R_FS));
		load_gdt(gdt);
		note(&t, seg_read(R_FS) == TAG(A_FS, 1), "round %u, first GDT: read %08x before "
		     "the reload", j, seg_read(R_FS));
		catch_reset();
		left = reload(R_FS, form, SEL_FS);
		expect_ok(&t, R_FS, form, SEL_FS, left, "first GDT");
		note(&t, seg_read(R_FS) == TAG(A_FS, 0), "round %u %s, first GDT: read %08x",
		     j, form_name[form], seg_read(R_FS));
	}
	tally_report(&t, "10 FS 0x%x, lgdt to and fro between two tables %u times: each "
		     "same-selector reload takes the current table's entry, the old base until then",
		     SEL_FS, SWAPS);
}

/* ---- 11: an LDT selector, the entry rewritten and the LDT switched ---- */

static void load_ldt(uint16_t sel)
{
	asm volatile("lldt %0" : : "r"(sel) : "memory");
}

static void test_ldt(void)
{
	uint16_t sel = SEL_LDT_DATA;
	struct tally t;
	uint32_t left;
	unsigned j;

	set_data(&ldt[0][LDT_IDX], base_of(A_FS, 0), DATA0);
	set_data(&ldt[1][LDT_IDX], base_of(A_FS, 1), DATA0);
	gdt_set_entry(SLOT_LDT0, (uint32_t)(uintptr_t)ldt[0], sizeof(ldt[0]) - 1, LDT_TYPE, 0);
	gdt_set_entry(SLOT_LDT1, (uint32_t)(uintptr_t)ldt[1], sizeof(ldt[1]) - 1, LDT_TYPE, 0);
	tally_reset(&t);
	load_ldt(SEL_LDT0);
	catch_reset();
	left = reload(R_FS, F_MOV16, sel);
	expect_ok(&t, R_FS, F_MOV16, sel, left, "LDT");
	for (j = 0; j < SWAPS; j++) {
		int form = j % NFORMS;

		/* the entry rewritten in place */
		set_data(&ldt[0][LDT_IDX], base_of(A_FS, 2), DATA0);
		note(&t, seg_read(R_FS) == TAG(A_FS, 0), "round %u, entry rewritten: read %08x "
		     "before the reload", j, seg_read(R_FS));
		catch_reset();
		left = reload(R_FS, form, sel);
		expect_ok(&t, R_FS, form, sel, left, "LDT entry rewritten");
		note(&t, seg_read(R_FS) == TAG(A_FS, 2), "round %u %s, entry rewritten: read %08x",
		     j, form_name[form], seg_read(R_FS));
		/* another LDT */
		load_ldt(SEL_LDT1);
		note(&t, seg_read(R_FS) == TAG(A_FS, 2), "round %u, other LDT: read %08x before "
		     "the reload", j, seg_read(R_FS));
		catch_reset();
		left = reload(R_FS, form, sel);
		expect_ok(&t, R_FS, form, sel, left, "other LDT");
		note(&t, seg_read(R_FS) == TAG(A_FS, 1), "round %u %s, other LDT: read %08x",
		     j, form_name[form], seg_read(R_FS));
		/* back to the first, as it was */
		set_data(&ldt[0][LDT_IDX], base_of(A_FS, 0), DATA0);
		load_ldt(SEL_LDT0);
		catch_reset();
		left = reload(R_FS, form, sel);
		expect_ok(&t, R_FS, form, sel, left, "first LDT");
		note(&t, seg_read(R_FS) == TAG(A_FS, 0), "round %u %s, first LDT: read %08x",
		     j, form_name[form], seg_read(R_FS));
	}
	tally_report(&t, "11 FS 0x%x (LDT): entry rewritten, lldt of another LDT, %u times: "
		     "each same-selector reload takes the new entry, the old base until then", sel,
		     SWAPS);
	load_ldt(0);
	reload(R_FS, F_MOV16, SEL_FS);
}

int main(void)
{
	uint32_t lo = 0, hi = 0;
	int a, k;

	/* The far bases need RAM up to about 17 MiB + the image. */
	if (!mb_mem(&lo, &hi) || hi < 31 * 1024)
		panic("needs 32 MiB of RAM (mem_upper %u KiB)", hi);
	for (a = 0; a < NAREA; a++)
		for (k = 0; k < 3; k++)
			*at(base_of(a, k)) = TAG(a, k);
	/* #GP and #NP through the entry that leaves FS and GS alone. */
	idt_set_gate(13, (uint32_t)(uintptr_t)seg_gp_entry, IDT_INTR32, 0);
	idt_set_gate(11, (uint32_t)(uintptr_t)seg_np_entry, IDT_INTR32, 0);
	set_data(&gdt[SLOT_FS], base_of(A_FS, 0), DATA0);
	set_data(&gdt[SLOT_GS], base_of(A_GS, 0), DATA0);
	set_data(&gdt[SLOT_ES], base_of(A_ES, 0), DATA0);
	set_data(&gdt[SLOT_PCPU], base_of(A_PCPU, 0), DATA0);

	test_same_selector();
	test_swap_fs_gs(R_FS);
	test_swap_fs_gs(R_GS);
	test_swap_es();
	test_accessed(R_DS, GDT_KDATA, SEL_KDATA);
	test_accessed(R_ES, GDT_KDATA, SEL_KDATA);
	test_accessed(R_FS, SLOT_FS, SEL_FS);
	test_accessed(R_GS, SLOT_GS, SEL_GS);
	test_null(R_FS);
	test_null(R_GS);
	test_dpl(&movs);
	test_present(&movs);
	test_type(&movs);
	test_linux_loop();
	test_other_gdt();
	test_ldt();
	/* Faulting pops last: see struct forms. */
	test_dpl(&pops);
	test_present(&pops);
	test_type(&pops);

	report_summary();
}
