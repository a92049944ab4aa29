/* Intel 8259A programmable interrupt controller pair (PC/AT master + slave). */
#ifndef VMM_HW_PIC_H
#define VMM_HW_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/io.h"

#define PIC_MASTER_BASE	0x20	/* master command/data ports */
#define PIC_SLAVE_BASE	0xa0	/* slave command/data ports */
#define PIC_ELCR_BASE	0x4d0	/* PIIX edge/level control, master then slave */
#define PIC_CASCADE_IRQ	2	/* master input the slave's INT drives */

/* One 8259A. */
struct pic_chip {
	uint8_t irr;		/* interrupt request register */
	uint8_t isr;		/* in-service register */
	uint8_t imr;		/* interrupt mask register */
	uint8_t lines;		/* current input levels, for edge detection */
	uint8_t elcr;		/* level-triggered inputs (ELCR) */
	uint8_t elcr_mask;	/* ELCR bits that may be set */
	uint8_t vector_base;	/* ICW2 & 0xf8 */
	uint8_t icw3;		/* cascade configuration as written */
	uint8_t icw_step;	/* next ICW expected on the data port, 0 = none */
	uint8_t prio_base;	/* input with the highest priority (rotation) */
	bool icw4_needed;	/* ICW1 IC4 */
	bool single;		/* ICW1 SNGL: no cascade */
	bool ltim;		/* ICW1 LTIM: all inputs level-triggered */
	bool aeoi;		/* ICW4 AEOI */
	bool sfnm;		/* ICW4 special fully nested mode */
	bool rotate_aeoi;	/* OCW2 rotate in automatic EOI mode */
	bool special_mask;	/* OCW3 special mask mode */
	bool read_isr;		/* OCW3: status reads return ISR, not IRR */
	bool poll;		/* OCW3 poll command armed for the next read */
};

struct pic {
	struct pic_chip chip[2];	/* [0] master, [1] slave */
	uint64_t raised[16];		/* requests latched per ISA IRQ */
	uint64_t acked[16];		/* INTA cycles / polls that delivered it */
	uint64_t spurious;		/* INTA cycles answered with IRQ7/IRQ15 */
};

void pic_init(struct pic *p);
void pic_reset(struct pic *p);
int pic_register(struct pic *p, struct io_bus *bus);

/* Drive ISA IRQ 0..15; IRQ2 is the AT bus pin routed to the slave's IRQ9. */
void pic_set_irq(struct pic *p, int irq, int level);
void pic_irq_line(void *opaque, int irq, int level);

/* Master INTR output: an unmasked request outranks everything in service. */
bool pic_intr(const struct pic *p);

/* INTA cycle: acknowledge the winning request and return its vector. */
int pic_inta(struct pic *p);

#endif
