/* exceptions: every CPU exception a kernel meets, delivered through the guest IDT with the right frame. */
#include "rt.h"
#include "desc.h"
#include "user.h"

#define CR0_TS		(1u << 3)	/* task switched: next FPU insn -> #NM */
#define EFLAGS_FIXED	0x2u		/* bit 1 always set in a pushed EFLAGS */

#define SLOT_NP		6	/* not-present data, DPL 0 */
#define SLOT_XCODE	7	/* execute-only code: not loadable into DS */
#define SEL_NP		(SLOT_NP << 3)
#define SEL_XCODE	(SLOT_XCODE << 3)
#define SEL_BEYOND	(GDT_ENTRIES << 3)	/* first selector past the GDT limit */

#define VEC_NOGATE	0x41	/* IDT entry we mark not present */
#define VEC_DPL0	0x40	/* DPL 0 gate: int from CPL 3 must #GP */

/* IDT error code: selector index | IDT bit (2) | EXT (1). */
#define IDT_ERR(vec)	(((vec) << 3) | 2)

static uint8_t user_stack[4096] __attribute__((aligned(16)));

static const char *vname(int vec)
{
	return vec < 0 ? "none" : trap_name(vec);
}

/* Shared check for the common case: exception vec at catch_at (fault) with err. */
static void expect(const char *what, int vec, uint32_t err, uint32_t eip)
{
	reportf(caught.count == 1 && caught.vec == vec && caught.err == err && caught.eip == eip &&
		caught.cs == SEL_KCODE && (caught.eflags & EFLAGS_FIXED),
		"%s -> %s(0x%x) at %08x (got %s err 0x%x eip %08x cs %x, %u traps)", what,
		trap_name(vec), err, eip, vname(caught.vec), caught.err, caught.eip, caught.cs,
		caught.count);
}

static uint16_t read_ds(void)
{
	uint16_t v;

	asm volatile("movw %%ds, %0" : "=r"(v));
	return v;
}

static void test_de(void)
{
	uint32_t a = 1234, d = 0;
	int32_t ia = (int32_t)0x80000000, id = -1;

	catch_reset();
	CATCH("divl %2", : "+a"(a), "+d"(d) : "r"(0u) : "cc", "memory");
	expect("div by zero", 0, 0, catch_at);
	/* INT_MIN / -1 overflows the quotient: also #DE. */
	catch_reset();
	d = 0xffffffff;
	CATCH("idivl %2", : "+a"(ia), "+d"(d) : "r"(id) : "cc", "memory");
	expect("idiv INT_MIN/-1", 0, 0, catch_at);
	a = 100;
	d = 0;
	catch_reset();
	CATCH("divl %2", : "+a"(a), "+d"(d) : "r"(7u) : "cc", "memory");
	reportf(caught.count == 0 && a == 14 && d == 2, "div 100/7 = 14 r 2, no trap");
}

static void test_ud(void)
{
	catch_reset();
	CATCH("ud2", : : : "memory");
	expect("ud2", 6, 0, catch_at);
	catch_reset();
	CATCH(".byte 0x8d, 0xc0", : : : "memory");	/* lea with a register source */
	expect("lea %eax,%eax (8d c0)", 6, 0, catch_at);
	catch_reset();
	CATCH(".byte 0xf0, 0x90", : : : "memory");	/* lock nop */
	expect("lock nop", 6, 0, catch_at);
	catch_reset();
	CATCH(".byte 0x0f, 0xff", : : : "memory");	/* ud0 */
	expect("0f ff (ud0)", 6, 0, catch_at);
}

static void test_gp_np_ss(void)
{
	gdt_set_entry(SLOT_NP, 0, 0xfffff, DESC_S | DESC_DATA, DESC_G | DESC_DB);
	gdt_set_entry(SLOT_XCODE, 0, 0xfffff, DESC_P | DESC_S | 0x08, DESC_G | DESC_DB);

	catch_reset();
	CATCH("movw %w0, %%ds", : : "r"(SEL_BEYOND) : "memory");
	expect("mov ds, selector past the GDT limit", 13, SEL_BEYOND, catch_at);
	report(read_ds() == SEL_KDATA, "ds unchanged after the faulting load");
	catch_reset();
	CATCH("movw %w0, %%ds", : : "r"(SEL_TSS) : "memory");
	expect("mov ds, TSS selector", 13, SEL_TSS, catch_at);
	catch_reset();
	CATCH("movw %w0, %%es", : : "r"(SEL_XCODE) : "memory");
	expect("mov es, execute-only code", 13, SEL_XCODE, catch_at);
	catch_reset();
	CATCH("movw %w0, %%fs", : : "r"(SEL_KDATA | 3) : "memory");
	expect("mov fs, DPL 0 data with RPL 3", 13, SEL_KDATA, catch_at);
	catch_reset();
	CATCH("movw %w0, %%ss", : : "r"(SEL_UDATA) : "memory");
	expect("mov ss, DPL 3 data at CPL 0", 13, SEL_UDATA & ~3u, catch_at);
	catch_reset();
	CATCH("movw %w0, %%ss", : : "r"(0) : "memory");
	expect("mov ss, null selector", 13, 0, catch_at);
	catch_reset();
	CATCH("ljmp $0x10, $1f\n1:", : : : "memory");
	expect("ljmp to a data segment", 13, SEL_KDATA, catch_at);
	catch_reset();
	CATCH("lcall $0x28, $1f\n1:", : : : "memory");
	reportf(caught.count == 1 && caught.vec == 13 && caught.err == SEL_TSS,
		"lcall to a busy TSS -> #GP(0x28) (got %s err 0x%x)", vname(caught.vec),
		caught.err);

	catch_reset();
	CATCH("movw %w0, %%ds", : : "r"(SEL_NP) : "memory");
	expect("mov ds, not-present data", 11, SEL_NP, catch_at);
	report(read_ds() == SEL_KDATA, "ds unchanged after #NP");
	catch_reset();
	CATCH("movw %w0, %%gs", : : "r"(SEL_NP) : "memory");
	expect("mov gs, not-present data", 11, SEL_NP, catch_at);
	catch_reset();
	CATCH("movw %w0, %%ss", : : "r"(SEL_NP) : "memory");
	expect("mov ss, not-present data", 12, SEL_NP, catch_at);
}

static void test_traps(void)
{
	static const int32_t bounds[2] = { 10, 20 };

	catch_reset();
	CATCH("int3", : : : "memory");
	expect("int3", 3, 0, catch_end);
	report(catch_end == catch_at + 1, "int3 is one byte: EIP points after it");
	catch_reset();
	CATCH("int $3", : : : "memory");
	expect("int $3 (cd 03)", 3, 0, catch_end);

	catch_reset();
	CATCH("movl $0x7fffffff, %%eax\n\taddl $1, %%eax\n\tinto", : : : "eax", "cc", "memory");
	expect("into with OF=1", 4, 0, catch_end);
	catch_reset();
	CATCH("xorl %%eax, %%eax\n\tinto", : : : "eax", "cc", "memory");
	reportf(caught.count == 0, "into with OF=0: no trap");

	catch_reset();
	CATCH("boundl %0, (%1)", : : "r"(25), "r"(bounds) : "memory");
	expect("bound 25 in [10,20]", 5, 0, catch_end - 2);
	catch_reset();
	CATCH("boundl %0, (%1)", : : "r"(9), "r"(bounds) : "memory");
	expect("bound 9 in [10,20]", 5, 0, catch_end - 2);
	catch_reset();
	CATCH("boundl %0, (%1)", : : "r"(20), "r"(bounds) : "memory");
	reportf(caught.count == 0, "bound 20 in [10,20]: no trap");
}

static void test_nm(void)
{
	uint32_t cr0 = read_cr0();

	write_cr0(cr0 | CR0_TS);
	catch_reset();
	CATCH("fninit", : : : "memory");
	expect("fninit with CR0.TS=1", 7, 0, catch_at);
	asm volatile("clts");
	catch_reset();
	CATCH("fninit", : : : "memory");
	reportf(caught.count == 0, "fninit after clts: no trap");
	write_cr0(cr0);
}

static void test_gate_faults(void)
{
	struct idt_gate saved = idt[VEC_NOGATE], saved_gp = idt[13];

	/* A not-present gate: #NP with the IDT-flavoured error code. */
	idt[VEC_NOGATE].type_attr &= ~DESC_P;
	catch_install(11);
	catch_reset();
	CATCH("int $0x41", : : : "memory");
	expect("int $0x41 through a not-present gate", 11, IDT_ERR(VEC_NOGATE) , catch_at);
	idt[VEC_NOGATE] = saved;

	/*
	 * #GP with no present gate: delivering it raises #NP, a contributory
	 * fault during a contributory one: #DF with error code 0.
	 */
	catch_install(8);
	idt[13].type_attr &= ~DESC_P;
	catch_reset();
	CATCH("movw %w0, %%ds", : : "r"(SEL_BEYOND) : "memory");
	idt[13] = saved_gp;
	reportf(caught.count == 1 && caught.vec == 8 && caught.err == 0 && caught.cs == SEL_KCODE,
		"#GP with a not-present #GP gate -> #DF(0) (got %s err 0x%x cs %x, %u traps)",
		vname(caught.vec), caught.err, caught.cs, caught.count);
	report(read_ds() == SEL_KDATA, "ds unchanged after the #DF");

	/* #DE whose gate is missing: #NP is contributory too -> #DF. */
	idt[0].type_attr &= ~DESC_P;
	catch_reset();
	{
		uint32_t a = 1, d = 0;

		CATCH("divl %2", : "+a"(a), "+d"(d) : "r"(0u) : "cc", "memory");
	}
	idt[0] = saved;
	idt_set_gate(0, idt_stub(0), IDT_INTR32, 0);
	reportf(caught.count == 1 && caught.vec == 8 && caught.err == 0,
		"#DE with a not-present #DE gate -> #DF(0) (got %s err 0x%x)", vname(caught.vec),
		caught.err);

	/* int3 whose gate is missing is benign: a plain #NP, no #DF. */
	idt[3].type_attr &= ~DESC_P;
	catch_reset();
	CATCH("int3", : : : "memory");
	idt_set_gate(3, idt_stub(3), IDT_INTR32, 0);
	expect("int3 with a not-present gate", 11, IDT_ERR(3), catch_at);
}

static uint32_t user_int_dpl0(void)
{
	CATCH("int $0x40", : : : "memory");
	return 0x40;
}

static uint32_t user_int3(void)
{
	CATCH("int3", : : : "memory");
	return 3;
}

static uint32_t user_ud2(void)
{
	CATCH("ud2", : : : "memory");
	return 6;
}

static void expect_user(const char *what, uint32_t r, uint32_t want_r, int vec, uint32_t err,
			uint32_t eip)
{
	uint32_t top = (uint32_t)(uintptr_t)(user_stack + sizeof(user_stack));

	reportf(r == want_r && caught.count == 1 && caught.vec == vec && caught.err == err &&
		caught.eip == eip && caught.cs == SEL_UCODE && caught.ss == SEL_UDATA &&
		caught.esp < top && caught.esp > top - 512,
		"CPL 3 %s -> %s(0x%x) (got %s err 0x%x eip %08x/%08x cs %x ss:esp %x:%08x)", what,
		trap_name(vec), err, vname(caught.vec), caught.err, caught.eip, eip, caught.cs,
		caught.ss, caught.esp);
}

static void test_user(void)
{
	void *top = user_stack + sizeof(user_stack);
	uint32_t r;

	catch_install(3);
	catch_install(6);
	catch_reset();
	r = user_call(user_int_dpl0, top, EFLAGS_IF);
	expect_user("int $0x40 through a DPL 0 gate", r, 0x40, 13, IDT_ERR(VEC_DPL0), catch_at);
	catch_reset();
	r = user_call(user_int3, top, EFLAGS_IF);
	expect_user("int3 through a DPL 0 gate", r, 3, 13, IDT_ERR(3), catch_at);
	idt_set_gate(3, idt_stub(3), IDT_INTR32, 3);
	catch_reset();
	r = user_call(user_int3, top, EFLAGS_IF);
	expect_user("int3 through a DPL 3 gate", r, 3, 3, 0, catch_end);
	idt_set_gate(3, idt_stub(3), IDT_INTR32, 0);
	catch_reset();
	r = user_call(user_ud2, top, EFLAGS_IF);
	expect_user("ud2", r, 6, 6, 0, catch_at);
}

int main(void)
{
	static const int vecs[] = { 0, 3, 4, 5, 6, 7, 8, 11, 12, 13 };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(vecs); i++)
		catch_install(vecs[i]);
	test_de();
	test_ud();
	test_gp_np_ss();
	test_traps();
	test_nm();
	test_gate_faults();
	test_user();
	return 0;
}
