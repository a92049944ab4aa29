/* Guest runtime: flat GDT, TSS, IDT and trap dispatch for bt86 sample guests. */
#ifndef SAMPLES_DESC_H
#define SAMPLES_DESC_H

#include <stdbool.h>
#include <stdint.h>

/* GDT layout set up by gdt_init(); slots from GDT_FIRST_FREE on are for tests. */
#define GDT_NULL	0
#define GDT_KCODE	1
#define GDT_KDATA	2
#define GDT_UCODE	3
#define GDT_UDATA	4
#define GDT_TSS		5
#define GDT_FIRST_FREE	6
#define GDT_ENTRIES	16

#define SEL_KCODE	(GDT_KCODE << 3)		/* 0x08 */
#define SEL_KDATA	(GDT_KDATA << 3)		/* 0x10 */
#define SEL_UCODE	((GDT_UCODE << 3) | 3)		/* 0x1b */
#define SEL_UDATA	((GDT_UDATA << 3) | 3)		/* 0x23 */
#define SEL_TSS		(GDT_TSS << 3)			/* 0x28 */

/* Descriptor access byte bits. */
#define DESC_P		0x80	/* present */
#define DESC_DPL(n)	((n) << 5)
#define DESC_S		0x10	/* code/data (not system) */
#define DESC_CODE	0x0a	/* execute/read */
#define DESC_DATA	0x02	/* read/write */
#define DESC_ACCESSED	0x01
#define DESC_TSS32	0x09	/* available 32-bit TSS */
/* Descriptor flags nibble. */
#define DESC_G		0x8	/* 4 KiB granularity */
#define DESC_DB		0x4	/* 32-bit default size */

struct gdt_desc {
	uint16_t limit_lo;
	uint16_t base_lo;
	uint8_t base_mid;
	uint8_t access;
	uint8_t limit_hi_flags;
	uint8_t base_hi;
} __attribute__((packed));

struct dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

/* 32-bit TSS followed by an I/O permission bitmap covering all 64K ports. */
struct tss {
	uint32_t link;
	uint32_t esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
	uint8_t iomap[65536 / 8 + 1];	/* +1: the terminating 0xff byte */
} __attribute__((packed));

extern struct gdt_desc gdt[GDT_ENTRIES];
extern struct tss tss;

void gdt_init(void);		/* load the flat GDT, reload segments, ltr */
void gdt_set_entry(int idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void tss_set_esp0(uint32_t esp0);
void tss_io_allow(uint16_t port, bool allow);

/* IDT gate types. */
#define IDT_INTR32	0x8e	/* present 32-bit interrupt gate */
#define IDT_TRAP32	0x8f	/* present 32-bit trap gate */
#define IDT_TASK	0x85	/* present task gate */

#define IDT_VECTORS	256
#define IRQ_BASE_MASTER	0x20	/* where pic_remap() puts IRQ0..7 */
#define IRQ_BASE_SLAVE	0x28	/* ... and IRQ8..15 */

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type_attr;
	uint16_t off_hi;
} __attribute__((packed));

/* What isr.S pushes; the last two fields exist only on a privilege change. */
struct trap_frame {
	uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
	uint32_t gs, fs, es, ds;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
	uint32_t user_esp, user_ss;
};

typedef void (*trap_handler_t)(struct trap_frame *f);

extern struct idt_gate idt[IDT_VECTORS];

/* Fill all 256 gates with the isr.S stubs (DPL 0 interrupt gates) and lidt. */
void idt_init(void);
void idt_set_gate(int vec, uint32_t handler, uint8_t type, int dpl);
/* Address of the common-entry stub for vec, for idt_set_gate(). */
uint32_t idt_stub(int vec);
/* C handler called from the common entry; NULL restores the default. */
void trap_set_handler(int vec, trap_handler_t fn);
/* Number of unhandled IRQ vectors seen (they are EOIed and otherwise ignored). */
extern volatile unsigned trap_stray_irqs;
const char *trap_name(int vec);

/* Drop to ring 3 at eip with stack esp (user selectors, IF as in eflags). */
void user_enter(uint32_t eip, uint32_t esp, uint32_t eflags) __attribute__((noreturn));

/* crt0 calls rt_init() before main: serial, GDT, TSS, IDT, PIC masked. */
void rt_init(void);

#endif
