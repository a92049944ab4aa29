/* Guest runtime: flat GDT with ring-0/ring-3 segments and a TSS, the IDT, trap dispatch, rt_init. */
#include "rt.h"
#include "desc.h"
#include "pc.h"

struct gdt_desc gdt[GDT_ENTRIES] __attribute__((aligned(8)));
struct tss tss __attribute__((aligned(128)));
struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(8)));

/* Stack the CPU switches to (TSS.esp0) when ring-3 code traps. */
static uint8_t ring0_stack[8192] __attribute__((aligned(16)));

static trap_handler_t trap_handlers[IDT_VECTORS];
volatile unsigned trap_stray_irqs;

extern char isr_stubs[];	/* isr.S: 256 stubs of 16 bytes each */

void gdt_set_entry(int idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	struct gdt_desc *d = &gdt[idx];

	d->limit_lo = limit & 0xffff;
	d->base_lo = base & 0xffff;
	d->base_mid = (base >> 16) & 0xff;
	d->access = access;
	d->limit_hi_flags = ((limit >> 16) & 0x0f) | (flags << 4);
	d->base_hi = base >> 24;
}

void tss_set_esp0(uint32_t esp0)
{
	tss.esp0 = esp0;
}

void tss_io_allow(uint16_t port, bool allow)
{
	/* A clear bit permits the port at CPL > IOPL. */
	if (allow)
		tss.iomap[port / 8] &= ~(1u << (port % 8));
	else
		tss.iomap[port / 8] |= 1u << (port % 8);
}

void gdt_init(void)
{
	struct dtr gdtr = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt };
	const uint8_t code = DESC_P | DESC_S | DESC_CODE;
	const uint8_t data = DESC_P | DESC_S | DESC_DATA;

	memset(gdt, 0, sizeof(gdt));
	gdt_set_entry(GDT_KCODE, 0, 0xfffff, code | DESC_DPL(0), DESC_G | DESC_DB);
	gdt_set_entry(GDT_KDATA, 0, 0xfffff, data | DESC_DPL(0), DESC_G | DESC_DB);
	gdt_set_entry(GDT_UCODE, 0, 0xfffff, code | DESC_DPL(3), DESC_G | DESC_DB);
	gdt_set_entry(GDT_UDATA, 0, 0xfffff, data | DESC_DPL(3), DESC_G | DESC_DB);

	memset(&tss, 0, sizeof(tss));
	tss.ss0 = SEL_KDATA;
	tss.esp0 = (uint32_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	tss.iomap_base = offsetof(struct tss, iomap);
	memset(tss.iomap, 0xff, sizeof(tss.iomap));	/* deny all ports at CPL 3 */
	/* Rewriting the descriptor also clears the busy bit a previous ltr set. */
	gdt_set_entry(GDT_TSS, (uint32_t)(uintptr_t)&tss, sizeof(tss) - 1,
		      DESC_P | DESC_TSS32, 0);

	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\n\t"
		     "movw %w2, %%ax\n\t"
		     "movw %%ax, %%ds\n\t"
		     "movw %%ax, %%es\n\t"
		     "movw %%ax, %%fs\n\t"
		     "movw %%ax, %%gs\n\t"
		     "movw %%ax, %%ss\n\t"
		     "movw %w3, %%ax\n\t"
		     "ltr %%ax"
		     : : "m"(gdtr), "i"(SEL_KCODE), "i"(SEL_KDATA), "i"(SEL_TSS)
		     : "eax", "memory");
}

void idt_set_gate(int vec, uint32_t handler, uint8_t type, int dpl)
{
	struct idt_gate *g = &idt[vec];

	g->off_lo = handler & 0xffff;
	g->sel = SEL_KCODE;
	g->zero = 0;
	g->type_attr = (type & ~DESC_DPL(3)) | DESC_DPL(dpl & 3);
	g->off_hi = handler >> 16;
}

uint32_t idt_stub(int vec)
{
	return (uint32_t)(uintptr_t)(isr_stubs + vec * 16);
}

void idt_init(void)
{
	struct dtr idtr = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
	int v;

	for (v = 0; v < IDT_VECTORS; v++)
		idt_set_gate(v, idt_stub(v), IDT_INTR32, 0);
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

void trap_set_handler(int vec, trap_handler_t fn)
{
	trap_handlers[vec] = fn;
}

const char *trap_name(int vec)
{
	static const char *const names[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "res15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};

	if (vec >= 0 && vec < (int)ARRAY_SIZE(names))
		return names[vec];
	if (vec >= IRQ_BASE_MASTER && vec < IRQ_BASE_SLAVE + 8)
		return "IRQ";
	return "int";
}

static void trap_unexpected(struct trap_frame *f)
{
	printf("  eax %08x ebx %08x ecx %08x edx %08x esi %08x edi %08x ebp %08x cr2 %08x\n",
	       f->eax, f->ebx, f->ecx, f->edx, f->esi, f->edi, f->ebp, read_cr2());
	panic("unexpected %s (vector %u) error 0x%x at %04x:%08x eflags %08x",
	      trap_name(f->vector), f->vector, f->error, f->cs, f->eip, f->eflags);
}

/* Called from isr.S (so no prototype in a header) with the gate's IF state. */
void trap_dispatch(struct trap_frame *f)
{
	unsigned vec = f->vector;
	int irq;

	if (vec < IDT_VECTORS && trap_handlers[vec]) {
		trap_handlers[vec](f);
		return;
	}
	if (vec < IRQ_BASE_MASTER || vec >= IRQ_BASE_SLAVE + 8)
		trap_unexpected(f);

	/*
	 * A stray IRQ: acknowledge it and carry on.  A spurious IRQ7/15 has no
	 * ISR bit and must not be EOIed (that would end another interrupt).
	 */
	irq = vec - IRQ_BASE_MASTER;
	trap_stray_irqs++;
	if (pic_read_isr() & (1u << irq))
		pic_eoi(irq);
}

void user_enter(uint32_t eip, uint32_t esp, uint32_t eflags)
{
	asm volatile("movw %w0, %%ds\n\t"
		     "movw %w0, %%es\n\t"
		     "movw %w0, %%fs\n\t"
		     "movw %w0, %%gs\n\t"
		     "pushl %0\n\t"		/* ss */
		     "pushl %1\n\t"		/* esp */
		     "pushl %2\n\t"		/* eflags */
		     "pushl %3\n\t"		/* cs */
		     "pushl %4\n\t"		/* eip */
		     "iret"
		     : : "r"((uint32_t)SEL_UDATA), "r"(esp), "r"(eflags),
		       "i"(SEL_UCODE), "r"(eip)
		     : "memory");
	__builtin_unreachable();
}

void rt_init(void)
{
	serial_init();
	gdt_init();
	idt_init();
	/* Firmware-less boot: the PICs may be uninitialised; park them masked. */
	pic_remap(IRQ_BASE_MASTER, IRQ_BASE_SLAVE);
	pic_set_imr(0xffff);
}
