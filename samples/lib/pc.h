/* Guest runtime: 8259A PIC, 8254 PIT and CMOS helpers for bt86 sample guests. */
#ifndef SAMPLES_PC_H
#define SAMPLES_PC_H

#include <stdbool.h>
#include <stdint.h>

#define PIC1_CMD	0x20	/* master: ICW1, OCW2, OCW3 */
#define PIC1_DATA	0x21	/* master: ICW2-4, OCW1 (IMR) */
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1

#define PIC_ICW1_INIT	0x10	/* ICW1: start initialisation */
#define PIC_ICW1_ICW4	0x01	/* ICW1: ICW4 follows */
#define PIC_ICW4_8086	0x01	/* ICW4: 8086 mode */
#define PIC_ICW4_AEOI	0x02	/* ICW4: automatic EOI */
#define PIC_OCW2_EOI	0x20	/* OCW2: non-specific EOI */
#define PIC_OCW2_SEOI	0x60	/* OCW2: specific EOI, level in bits 0-2 */
#define PIC_OCW3_IRR	0x0a	/* OCW3: next read of CMD returns IRR */
#define PIC_OCW3_ISR	0x0b	/* OCW3: next read of CMD returns ISR */
#define PIC_OCW3_POLL	0x0c	/* OCW3: poll command */

/* Reinitialise both PICs with the given vector bases; all IRQs masked but 2. */
void pic_remap(uint8_t master_base, uint8_t slave_base);
/* Same, with automatic EOI mode on the master (aeoi) for tests. */
void pic_init(uint8_t master_base, uint8_t slave_base, bool master_aeoi);
void pic_mask(int irq);
void pic_unmask(int irq);
void pic_set_imr(uint16_t imr);		/* bits 0-7 master, 8-15 slave */
uint16_t pic_get_imr(void);
uint16_t pic_read_irr(void);
uint16_t pic_read_isr(void);
/* Non-specific EOI to the right PIC(s) for irq. */
void pic_eoi(int irq);

#define PIT_CH0		0x40
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PIT_HZ		1193182u	/* input clock */
#define PORT_SYS_B	0x61	/* system control port B */
#define SYS_B_GATE2	0x01	/* PIT channel 2 gate */
#define SYS_B_SPKR	0x02	/* speaker data enable */
#define SYS_B_OUT2	0x20	/* PIT channel 2 output (read-only) */

/* Channel 0 periodic (mode 2) at hz. */
void pit_ch0_periodic(unsigned hz);
void pit_ch0_stop(void);
uint16_t pit_ch0_read(void);		/* latch and read the current count */
/* Channel 2 one-shot (mode 0, gated by port 0x61) for count ticks. */
void pit_ch2_start(uint16_t count);
bool pit_ch2_expired(void);
/*
 * Busy-wait ms milliseconds measured on PIT channel 2 (interrupts keep
 * running).  Returns false if channel 2 never expired: a broken timer must
 * fail a test, not hang it.
 */
bool pit_delay_ms(unsigned ms);

#define CMOS_INDEX	0x70	/* bit 7: NMI disable */
#define CMOS_DATA	0x71
#define CMOS_NMI_OFF	0x80

uint8_t cmos_read(uint8_t reg);
void cmos_write(uint8_t reg, uint8_t val);

#endif
