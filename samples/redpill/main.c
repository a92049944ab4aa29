/* redpill: what a guest kernel at CPL 0 (and its CPL 3 code) sees of the CPU must be what it loaded. */
#include "rt.h"
#include "desc.h"
#include "pc.h"
#include "user.h"

#define CR0_PE		(1u << 0)	/* protection enable */
#define CR0_MP		(1u << 1)	/* monitor coprocessor */
#define CR0_TS		(1u << 3)	/* task switched */
#define CR0_ET		(1u << 4)	/* extension type: 387 present */
#define CR0_NE		(1u << 5)	/* native FPU errors */
#define CR0_WP		(1u << 16)	/* write protect */
#define CR0_AM		(1u << 18)	/* alignment mask */
#define CR4_TSD		(1u << 2)	/* rdtsc at CPL 0 only */
#define CR4_PSE		(1u << 4)	/* 4 MiB pages */
#define CR4_OSFXSR	(1u << 9)	/* fxsave/SSE enabled */
#define EFLAGS_ZF	(1u << 6)

#define CPUID_EDX_APIC	(1u << 9)
#define CPUID_EDX_SEP	(1u << 11)
#define CPUID_EDX_FXSR	(1u << 24)
#define CPUID_EDX_SSE2	(1u << 26)
#define CPUID_EDX_TSC	(1u << 4)
#define CPUID_EDX_PSE	(1u << 3)

/* Test descriptors in the free GDT slots. */
#define SLOT_CODE	6	/* DPL 0 execute/read */
#define SLOT_DATA	7	/* DPL 0 read/write, byte limit 0x12345 */
#define SLOT_RODATA	8	/* DPL 3 read-only, 4K limit */
#define SLOT_XCODE	9	/* DPL 0 execute-only */
#define SLOT_NP		10	/* DPL 0 read/write, not present */
#define SLOT_LDT	11	/* an LDT */
#define SLOT_TSS2	12	/* a second TSS */
#define SLOT_CGATE	13	/* a call gate */
#define SLOT_IGATE	14	/* an interrupt gate: not valid for lar */
#define SLOT_CONF	15	/* DPL 0 conforming code */

static struct gdt_desc ldt[4] __attribute__((aligned(8)));
static struct tss tss2;
static uint8_t user_stack[4096] __attribute__((aligned(16)));

static bool in_bt86;

/* ---- descriptor tables ---- */

static struct dtr sgdt(void)
{
	struct dtr d;

	asm volatile("sgdt %0" : "=m"(d));
	return d;
}

static struct dtr sidt(void)
{
	struct dtr d;

	asm volatile("sidt %0" : "=m"(d));
	return d;
}

static uint16_t str(void)
{
	uint16_t v = 0xdead;

	asm volatile("str %0" : "=r"(v));
	return v;
}

static uint16_t sldt(void)
{
	uint16_t v = 0xdead;

	asm volatile("sldt %0" : "=r"(v));
	return v;
}

static uint16_t smsw(void)
{
	uint16_t v;

	asm volatile("smsw %0" : "=r"(v));
	return v;
}

static void test_gdtr_idtr(void)
{
	/* Odd bases and limits: nothing may be rounded or cached from elsewhere. */
	static uint8_t gbuf[sizeof(gdt) + 16] __attribute__((aligned(8)));
	static uint8_t ibuf[sizeof(idt) + 16] __attribute__((aligned(8)));
	struct dtr real_g = sgdt(), real_i = sidt();
	struct dtr g = { sizeof(gdt) - 9, (uint32_t)(uintptr_t)(gbuf + 3) };
	struct dtr i = { 0x1a5, (uint32_t)(uintptr_t)(ibuf + 5) };
	struct dtr g2, i2;
	uint32_t fl = irq_save();

	report(real_g.base == (uint32_t)(uintptr_t)gdt && real_g.limit == sizeof(gdt) - 1,
	       "sgdt: returns the GDT the runtime loaded");
	report(real_i.base == (uint32_t)(uintptr_t)idt && real_i.limit == sizeof(idt) - 1,
	       "sidt: returns the IDT the runtime loaded");

	/* Nothing may fault or interrupt while the copies are live. */
	memcpy(gbuf + 3, gdt, sizeof(gdt));
	memcpy(ibuf + 5, idt, sizeof(idt));
	asm volatile("lgdt %0" : : "m"(g) : "memory");
	asm volatile("lidt %0" : : "m"(i) : "memory");
	g2 = sgdt();
	i2 = sidt();
	asm volatile("lgdt %0" : : "m"(real_g) : "memory");
	asm volatile("lidt %0" : : "m"(real_i) : "memory");
	irq_restore(fl);

	reportf(g2.base == g.base && g2.limit == g.limit,
		"sgdt: odd base/limit %08x/%04x read back (got %08x/%04x)",
		g.base, g.limit, g2.base, g2.limit);
	reportf(i2.base == i.base && i2.limit == i.limit,
		"sidt: odd base/limit %08x/%04x read back (got %08x/%04x)",
		i.base, i.limit, i2.base, i2.limit);
	g2 = sgdt();
	report(g2.base == real_g.base && g2.limit == real_g.limit, "sgdt: original GDTR back");
}

static void test_str_sldt(void)
{
	uint16_t v;

	v = str();
	reportf(v == SEL_TSS, "str: returns the runtime's TSS selector (got 0x%x)", v);
	v = sldt();
	reportf(v == 0, "sldt: 0 before any lldt (got 0x%x)", v);

	gdt_set_entry(SLOT_LDT, (uint32_t)(uintptr_t)ldt, sizeof(ldt) - 1, DESC_P | 0x02, 0);
	/* LDT entry 1: flat read/write data, so a TI=1 selector can be loaded. */
	ldt[1] = gdt[GDT_KDATA];
	asm volatile("lldt %w0" : : "r"(SLOT_LDT << 3));
	v = sldt();
	reportf(v == SLOT_LDT << 3, "sldt: returns the selector lldt loaded (got 0x%x)", v);
	{
		static volatile uint32_t probe = 0x5a5aa5a5;
		uint32_t got;

		asm volatile("movw %%fs, %%cx\n\t"
			     "movw %w2, %%fs\n\t"
			     "movl %%fs:%1, %0\n\t"
			     "movw %%cx, %%fs"
			     : "=r"(got) : "m"(probe), "r"(0x0c) : "ecx", "memory");
		report(got == 0x5a5aa5a5, "lldt: an LDT data selector (0x0c) loads and reads memory");
	}

	/* A second TSS; then back to the first (clear its busy bit to allow ltr). */
	memset(&tss2, 0, sizeof(tss2));
	tss2.ss0 = SEL_KDATA;
	tss2.esp0 = tss.esp0;
	tss2.iomap_base = sizeof(tss2);
	gdt_set_entry(SLOT_TSS2, (uint32_t)(uintptr_t)&tss2, 0x67, DESC_P | DESC_TSS32, 0);
	asm volatile("ltr %w0" : : "r"(SLOT_TSS2 << 3));
	v = str();
	reportf(v == SLOT_TSS2 << 3, "str: returns the selector ltr loaded (got 0x%x)", v);
	reportf((gdt[SLOT_TSS2].access & 0x0f) == 0x0b, "ltr: marks the TSS descriptor busy (type %x)",
		gdt[SLOT_TSS2].access & 0x0f);
	gdt[GDT_TSS].access = DESC_P | DESC_TSS32;
	asm volatile("ltr %w0" : : "r"(SEL_TSS));
	v = str();
	reportf(v == SEL_TSS, "str: runtime TSS back (got 0x%x)", v);
}

/* ---- control registers ---- */

static void test_control_regs(void)
{
	uint32_t cr0 = read_cr0(), cr4 = read_cr4(), v;
	struct cpuid_regs id = cpuid(1, 0);

	reportf(cr0 & CR0_PE, "cr0: PE set (cr0 %08x)", cr0);
	reportf(cr0 & CR0_ET, "cr0: ET set (cr0 %08x)", cr0);
	reportf(!(cr0 & 0x80000000u), "cr0: PG clear (cr0 %08x)", cr0);
	v = smsw();
	reportf(v == (cr0 & 0xffff), "smsw: low word of cr0 (%04x vs %04x)", v, cr0 & 0xffff);

	/* ET is hardwired to 1 on a P6: whatever is written, it reads back set. */
	write_cr0(cr0 | CR0_TS | CR0_MP | CR0_NE | CR0_WP | CR0_AM);
	v = read_cr0();
	reportf(v == (cr0 | CR0_ET | CR0_TS | CR0_MP | CR0_NE | CR0_WP | CR0_AM),
		"cr0: TS/MP/NE/WP/AM written read back (%08x)", v);
	reportf(smsw() == (v & 0xffff), "smsw: sees the new TS/MP/NE (%04x)", smsw());
	asm volatile("clts");
	reportf(!(read_cr0() & CR0_TS), "clts: clears CR0.TS (%08x)", read_cr0());
	asm volatile("lmsw %w0" : : "r"((uint16_t)(CR0_PE | CR0_TS)));
	v = read_cr0();
	reportf((v & CR0_TS) && (v & CR0_PE), "lmsw: sets TS, keeps PE (%08x)", v);
	asm volatile("lmsw %w0" : : "r"((uint16_t)0));
	reportf(read_cr0() & CR0_PE, "lmsw: cannot clear PE (%08x)", read_cr0());
	write_cr0(cr0 & ~CR0_ET);
	reportf(read_cr0() == (cr0 | CR0_ET), "cr0: original value back, ET stays set (%08x)",
		read_cr0());

	asm volatile("movl %0, %%cr2" : : "r"(0x12345678u));
	reportf(read_cr2() == 0x12345678u, "cr2: reads back what was written (%08x)", read_cr2());
	write_cr3(0x00123000u);
	reportf(read_cr3() == 0x00123000u, "cr3: reads back what was written, paging off (%08x)",
		read_cr3());
	write_cr3(0);

	v = cr4;
	if (id.edx & CPUID_EDX_PSE)
		v |= CR4_PSE;
	if (id.edx & CPUID_EDX_TSC)
		v |= CR4_TSD;
	if (id.edx & CPUID_EDX_FXSR)
		v |= CR4_OSFXSR;
	write_cr4(v);
	reportf(read_cr4() == v, "cr4: PSE/TSD/OSFXSR written read back (%08x, wrote %08x)",
		read_cr4(), v);
	write_cr4(cr4);
	reportf(read_cr4() == cr4, "cr4: original value back (%08x)", read_cr4());
}

/* ---- EFLAGS ---- */

static volatile unsigned ticks;

static void irq0(struct trap_frame *f)
{
	(void)f;
	ticks++;
	pic_eoi(0);
}

static void test_pushf_popf(void)
{
	uint32_t base = read_eflags() & ~(EFLAGS_IF | EFLAGS_IOPL), f;
	unsigned t0;
	bool ok;

	cli();
	reportf(!(read_eflags() & EFLAGS_IF), "pushf: IF=0 after cli (%08x)", read_eflags());
	sti();
	reportf(read_eflags() & EFLAGS_IF, "pushf: IF=1 after sti (%08x)", read_eflags());
	write_eflags(base);
	reportf(!(read_eflags() & EFLAGS_IF), "popf: clears IF at CPL 0 (%08x)", read_eflags());
	write_eflags(base | EFLAGS_IF);
	reportf(read_eflags() & EFLAGS_IF, "popf: sets IF at CPL 0 (%08x)", read_eflags());
	write_eflags(base | EFLAGS_IOPL);
	f = read_eflags();
	reportf((f & EFLAGS_IOPL) == EFLAGS_IOPL, "popf: sets IOPL=3 at CPL 0 (%08x)", f);
	write_eflags(base);
	reportf(!(read_eflags() & EFLAGS_IOPL), "popf: IOPL back to 0 (%08x)", read_eflags());

	/* And IF really gates interrupts: a 1000 Hz PIT, blocked then let through. */
	trap_set_handler(IRQ_BASE_MASTER + 0, irq0);
	pit_ch0_periodic(1000);
	pic_unmask(0);
	write_eflags(base);
	t0 = ticks;
	ok = pit_delay_ms(20);
	reportf(ok && ticks == t0, "popf IF=0: no timer interrupt in 20 ms (%u)", ticks - t0);
	write_eflags(base | EFLAGS_IF);
	/* Any tick proves IF took effect; a loaded host may merge missed periods into one. */
	ok = pit_delay_ms(20);
	reportf(ok && ticks - t0 >= 1, "popf IF=1: timer interrupts arrive (%u in 20 ms)", ticks - t0);
	cli();
	pic_mask(0);
	pit_ch0_stop();
	sti();
}

/* ---- segment registers ---- */

static void test_segment_regs(void)
{
	uint32_t pushed, moved, ss;

	asm volatile("pushl %%cs; popl %0" : "=r"(pushed));
	asm volatile("movl %%cs, %0" : "=r"(moved));
	asm volatile("movl %%ss, %0" : "=r"(ss));
	reportf((pushed & 0xffff) == SEL_KCODE, "push %%cs: 0x%x (RPL 0)", pushed & 0xffff);
	reportf((moved & 0xffff) == SEL_KCODE, "mov %%cs: 0x%x (RPL 0)", moved & 0xffff);
	reportf((ss & 0xffff) == SEL_KDATA, "mov %%ss: 0x%x (RPL 0)", ss & 0xffff);
}

/* ---- lar/lsl/verr/verw ---- */

struct probe {
	bool lar_ok, lsl_ok, verr_ok, verw_ok;
	uint32_t ar, limit;
};

static struct probe probe_sel(uint32_t sel)
{
	struct probe p;
	uint8_t z;

	p.ar = 0xdeadbeef;
	p.limit = 0xdeadbeef;
	asm volatile("larl %2, %0; setz %1" : "+r"(p.ar), "=q"(z) : "r"(sel) : "cc");
	p.lar_ok = z;
	asm volatile("lsll %2, %0; setz %1" : "+r"(p.limit), "=q"(z) : "r"(sel) : "cc");
	p.lsl_ok = z;
	asm volatile("verr %w1; setz %0" : "=q"(z) : "r"(sel) : "cc");
	p.verr_ok = z;
	asm volatile("verw %w1; setz %0" : "=q"(z) : "r"(sel) : "cc");
	p.verw_ok = z;
	return p;
}

/* What lar returns: the descriptor's second dword, masked (AR byte, flags nibble). */
static uint32_t desc_ar(int slot)
{
	/* Slot -1: LDT entry 1. */
	const uint32_t *w = (const uint32_t *)(slot < 0 ? &ldt[1] : &gdt[slot]);

	return w[1] & 0x00f0ff00;
}

static void check_sel(const char *what, uint32_t sel, bool lar, bool lsl, bool verr,
		      bool verw, int slot, uint32_t limit)
{
	struct probe p = probe_sel(sel);
	bool ok = p.lar_ok == lar && p.lsl_ok == lsl && p.verr_ok == verr && p.verw_ok == verw;

	/* Bits 16-19 (the limit nibble) are undefined in lar's result. */
	if (lar)
		ok = ok && (p.ar & 0xfff0ffff) == desc_ar(slot);
	else
		ok = ok && p.ar == 0xdeadbeef;
	if (lsl)
		ok = ok && p.limit == limit;
	else
		ok = ok && p.limit == 0xdeadbeef;
	reportf(ok, "lar/lsl/verr/verw %s (sel 0x%02x): ZF %d%d%d%d ar %08x limit %08x", what, sel,
		p.lar_ok, p.lsl_ok, p.verr_ok, p.verw_ok, p.ar, p.limit);
}

static void setup_probe_descs(void)
{
	const uint8_t s = DESC_P | DESC_S;
	struct gdt_desc *cg = &gdt[SLOT_CGATE];

	gdt_set_entry(SLOT_CODE, 0, 0xfffff, s | DESC_CODE, DESC_G | DESC_DB);
	gdt_set_entry(SLOT_DATA, 0x1000, 0x12345, s | DESC_DATA, DESC_DB);
	gdt_set_entry(SLOT_RODATA, 0, 0xabc, s | DESC_DPL(3) | 0x00, DESC_G | DESC_DB);
	gdt_set_entry(SLOT_XCODE, 0, 0xfffff, s | 0x08, DESC_G | DESC_DB);
	gdt_set_entry(SLOT_NP, 0, 0xfff, DESC_S | DESC_DATA, DESC_DB);
	gdt_set_entry(SLOT_CONF, 0, 0xfffff, s | 0x0e, DESC_G | DESC_DB);
	/* A call gate to kernel code, DPL 3, 0 parameters. */
	cg->limit_lo = 0x1234;
	cg->base_lo = SEL_KCODE;
	cg->base_mid = 0;
	cg->access = DESC_P | DESC_DPL(3) | 0x0c;
	cg->limit_hi_flags = 0x10;
	cg->base_hi = 0x00;
	gdt_set_entry(SLOT_IGATE, 0, 0, DESC_P | 0x0e, 0);
}

static void test_lar_lsl(void)
{
	setup_probe_descs();
	check_sel("code dpl0", SLOT_CODE << 3, true, true, true, false, SLOT_CODE, 0xffffffff);
	check_sel("data dpl0", SLOT_DATA << 3, true, true, true, true, SLOT_DATA, 0x12345);
	check_sel("ro data dpl3", SLOT_RODATA << 3, true, true, true, false, SLOT_RODATA, 0xabcfff);
	check_sel("exec-only code", SLOT_XCODE << 3, true, true, false, false, SLOT_XCODE,
		  0xffffffff);
	check_sel("not-present data", SLOT_NP << 3, true, true, true, true, SLOT_NP, 0xfff);
	check_sel("conforming code", SLOT_CONF << 3 | 3, true, true, true, false, SLOT_CONF,
		  0xffffffff);
	check_sel("TSS (busy)", SEL_TSS, true, true, false, false, GDT_TSS, sizeof(tss) - 1);
	check_sel("LDT", SLOT_LDT << 3, true, true, false, false, SLOT_LDT, sizeof(ldt) - 1);
	check_sel("call gate", SLOT_CGATE << 3, true, false, false, false, SLOT_CGATE, 0);
	check_sel("interrupt gate", SLOT_IGATE << 3, false, false, false, false, 0, 0);
	check_sel("data dpl0 with RPL 3", SLOT_DATA << 3 | 3, false, false, false, false, 0, 0);
	check_sel("null selector", 0, false, false, false, false, 0, 0);
	check_sel("beyond the GDT limit", GDT_ENTRIES << 3, false, false, false, false, 0, 0);
	check_sel("LDT selector 0x0c", 0x0c, true, true, true, true, -1, 0xffffffff);
}

/* ---- CPU identity and time ---- */

static void cpuid_string(char *out, uint32_t leaf_first)
{
	uint32_t l;

	for (l = 0; l < 3; l++) {
		struct cpuid_regs r = cpuid(leaf_first + l, 0);

		memcpy(out + 16 * l, &r, 16);
	}
	out[48] = 0;
}

static void test_cpuid(void)
{
	struct cpuid_regs r0 = cpuid(0, 0), r1 = cpuid(1, 0), x = cpuid(0x80000000u, 0);
	struct cpuid_regs again = cpuid(1, 0);
	char vendor[13], brand[49] = "";
	const char *b = brand;
	unsigned family, model;

	memcpy(vendor, &r0.ebx, 4);
	memcpy(vendor + 4, &r0.edx, 4);
	memcpy(vendor + 8, &r0.ecx, 4);
	vendor[12] = 0;
	if (x.eax >= 0x80000004u)
		cpuid_string(brand, 0x80000002u);
	while (*b == ' ')
		b++;
	family = (r1.eax >> 8) & 0xf;
	model = (r1.eax >> 4) & 0xf;
	in_bt86 = strstr(brand, "bt86") != NULL;
	report_info("cpuid: \"%s\" \"%s\" family %u model %u edx %08x ecx %08x", vendor, b,
		    family, model, r1.edx, r1.ecx);

	report(r0.eax >= 1, "cpuid: max basic leaf >= 1");
	report(again.eax == r1.eax && again.edx == r1.edx && again.ecx == r1.ecx,
	       "cpuid: leaf 1 stable across calls");
	report(family >= 6, "cpuid: family >= 6 (P6 class)");
	if (in_bt86) {
		report(strcmp(vendor, "GenuineIntel") == 0, "cpuid[bt86]: vendor GenuineIntel");
		reportf(family == 6 && model == 13, "cpuid[bt86]: family 6 model 13 (%u/%u)", family,
			model);
		report(r1.edx & CPUID_EDX_SSE2, "cpuid[bt86]: SSE2 present");
		report(!(r1.edx & CPUID_EDX_SEP), "cpuid[bt86]: SEP (sysenter) hidden");
		report(!(r1.edx & CPUID_EDX_APIC), "cpuid[bt86]: no local APIC");
		report(strcmp(b, "bt86 virtual P6-class CPU") == 0,
		       "cpuid[bt86]: brand string \"bt86 virtual P6-class CPU\"");
	} else {
		report_info("not bt86: the exact virtual model is not checked");
	}
}

static void test_rdtsc(void)
{
	uint64_t prev = rdtsc(), t, t0;
	bool mono = true;
	int i;

	for (i = 0; i < 10000; i++) {
		t = rdtsc();
		if (t < prev)
			mono = false;
		prev = t;
	}
	report(mono, "rdtsc: monotonic over 10000 reads");
	t0 = rdtsc();
	pit_delay_ms(10);
	t = rdtsc();
	reportf(t - t0 > 100000, "rdtsc: advances over 10 ms (%u)", (unsigned)(t - t0));
}

/* ---- what CPL 3 sees ---- */

static struct {
	uint32_t cs_push, cs_mov, ss;
	uint32_t fl_before, fl_after_popf;
	struct dtr g, i;
	uint16_t smsw, str, sldt;
	struct probe kdata, udata;
} u;

static uint32_t user_probe(void)
{
	asm volatile("pushl %%cs; popl %0" : "=r"(u.cs_push));
	asm volatile("movl %%cs, %0" : "=r"(u.cs_mov));
	asm volatile("movl %%ss, %0" : "=r"(u.ss));
	u.fl_before = read_eflags();
	/* IOPL 0: popf silently keeps IF (and IOPL), no fault. */
	write_eflags((u.fl_before & ~EFLAGS_IF) | EFLAGS_IOPL);
	u.fl_after_popf = read_eflags();
	u.g = sgdt();
	u.i = sidt();
	u.smsw = smsw();
	u.str = str();
	u.sldt = sldt();
	u.kdata = probe_sel(SLOT_DATA << 3);
	u.udata = probe_sel(SEL_UDATA);
	return 0x600d;
}

static uint32_t user_cli(void)
{
	CATCH("cli", : : : "memory");
	return 1;
}

static uint32_t user_sti(void)
{
	CATCH("sti", : : : "memory");
	return 2;
}

static struct {
	uint32_t after_cli, after_popf;
} u3;

/* At IOPL 3 the same CPL 3 code may change IF. */
static uint32_t user_iopl3(void)
{
	asm volatile("cli" : : : "memory");
	u3.after_cli = read_eflags();
	write_eflags(u3.after_cli | EFLAGS_IF);
	u3.after_popf = read_eflags();
	return 3;
}

static void test_user_mode(void)
{
	uint8_t *top = user_stack + sizeof(user_stack);
	uint32_t r;

	r = user_call(user_probe, top, EFLAGS_IF);
	report(r == 0x600d, "user_call: CPL 3 function ran and returned its value");
	reportf((u.cs_push & 0xffff) == SEL_UCODE, "CPL 3 push %%cs: 0x%x (RPL 3)", u.cs_push & 0xffff);
	reportf((u.cs_mov & 0xffff) == SEL_UCODE, "CPL 3 mov %%cs: 0x%x (RPL 3)", u.cs_mov & 0xffff);
	reportf((u.ss & 0xffff) == SEL_UDATA, "CPL 3 mov %%ss: 0x%x", u.ss & 0xffff);
	reportf((u.fl_before & EFLAGS_IF) && !(u.fl_before & EFLAGS_IOPL),
		"CPL 3 pushf: IF=1 IOPL=0 (%08x)", u.fl_before);
	reportf((u.fl_after_popf & EFLAGS_IF) && !(u.fl_after_popf & EFLAGS_IOPL),
		"CPL 3 IOPL 0 popf: IF and IOPL unchanged, no fault (%08x)", u.fl_after_popf);
	report(u.g.base == (uint32_t)(uintptr_t)gdt && u.g.limit == sizeof(gdt) - 1,
	       "CPL 3 sgdt: the guest's GDTR");
	report(u.i.base == (uint32_t)(uintptr_t)idt && u.i.limit == sizeof(idt) - 1,
	       "CPL 3 sidt: the guest's IDTR");
	reportf(u.smsw == (read_cr0() & 0xffff), "CPL 3 smsw: 0x%x", u.smsw);
	reportf(u.str == SEL_TSS, "CPL 3 str: 0x%x", u.str);
	reportf(u.sldt == SLOT_LDT << 3, "CPL 3 sldt: 0x%x", u.sldt);
	report(!u.kdata.lar_ok && !u.kdata.lsl_ok && !u.kdata.verr_ok && !u.kdata.verw_ok,
	       "CPL 3 lar/lsl/verr/verw on DPL 0 data: ZF=0");
	report(u.udata.lar_ok && u.udata.lsl_ok && u.udata.verr_ok && u.udata.verw_ok &&
	       u.udata.limit == 0xffffffff, "CPL 3 lar/lsl/verr/verw on DPL 3 data: ZF=1");

	catch_install(13);
	catch_reset();
	r = user_call(user_cli, top, EFLAGS_IF);
	reportf(r == 1 && caught.vec == 13 && caught.err == 0 && caught.eip == catch_at &&
		caught.cs == SEL_UCODE,
		"CPL 3 IOPL 0 cli: #GP(0) at the cli (vec %d err %x eip %08x/%08x cs %x)",
		caught.vec, caught.err, caught.eip, catch_at, caught.cs);
	catch_reset();
	r = user_call(user_sti, top, EFLAGS_IF);
	reportf(r == 2 && caught.vec == 13 && caught.err == 0 && caught.eip == catch_at,
		"CPL 3 IOPL 0 sti: #GP(0) at the sti (vec %d err %x)", caught.vec, caught.err);
	catch_reset();
	r = user_call(user_iopl3, top, EFLAGS_IF | EFLAGS_IOPL);
	reportf(r == 3 && caught.count == 0 && !(u3.after_cli & EFLAGS_IF) &&
		(u3.after_popf & EFLAGS_IF),
		"CPL 3 IOPL 3: cli clears IF, popf sets it, no fault (%08x, %08x)",
		u3.after_cli, u3.after_popf);
}

int main(void)
{
	catch_install(13);
	sti();
	test_cpuid();
	test_gdtr_idtr();
	test_str_sldt();
	test_control_regs();
	test_pushf_popf();
	test_segment_regs();
	test_lar_lsl();
	test_rdtsc();
	test_user_mode();
	report_info("running under %s", in_bt86 ? "bt86" : "another VMM or hardware");
	return 0;
}
