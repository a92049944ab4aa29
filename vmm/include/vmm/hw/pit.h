/* Intel 8254 programmable interval timer and the PC's port 0x61 (speaker/gate). */
#ifndef VMM_HW_PIT_H
#define VMM_HW_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/io.h"
#include "vmm/irq.h"

#define PIT_BASE	0x40		/* channel 0..2 data, 0x43 control */
#define PIT_PORT61	0x61		/* NMI status and control (gate 2, speaker) */
#define PIT_HZ		1193182ull	/* input clock: 14.31818 MHz / 12 */
#define PIT_IRQ		0		/* channel 0 OUT drives ISA IRQ0 */

struct pit_channel {
	uint32_t count;		/* programmed initial count, 1..65536 (or 10000 BCD) */
	uint8_t cw;		/* control word bits 5:0 as written (RW, mode, BCD) */
	uint8_t mode;		/* 0..5, modes 6/7 folded onto 2/3 */
	uint8_t rw;		/* 1 lsb, 2 msb, 3 lsb then msb */
	bool bcd;		/* count in four BCD digits */
	bool gate;		/* GATE input level */
	bool loaded;		/* a complete count was written since the control word */
	bool null_count;	/* written count not yet in the counting element */
	bool running;		/* counting element is decrementing */
	bool out_stopped;	/* OUT while not running */
	bool write_hi;		/* next count write is the msb */
	uint8_t write_lsb;	/* lsb held until the msb arrives */
	bool read_hi;		/* next read returns the msb (shared read flip-flop) */
	bool count_latched;	/* latch holds a count not yet fully read */
	bool status_latched;	/* status byte waiting to be read */
	uint16_t latch;		/* latched count (already BCD when bcd) */
	uint8_t status;		/* latched status byte */
	uint64_t start_ns;	/* clock time counting (re)started */
	uint64_t ticks_before;	/* ticks counted before start_ns (gate pauses) */
	uint64_t edges_seen;	/* OUT rising edges already reported (IRQ0) */
};

struct pit {
	struct pit_channel ch[3];
	const struct vclock *clk;
	const struct irq_line *irq;
	uint8_t port61;		/* writable low nibble of port 0x61 */
	uint64_t irqs;		/* IRQ0 edges delivered */
	uint64_t coalesced;	/* channel-0 periods folded into one edge */
};

void pit_init(struct pit *p, const struct vclock *clk, const struct irq_line *irq);
int pit_register(struct pit *p, struct io_bus *bus);

/*
 * Advance to vclock_now(): pulse IRQ0 once if channel 0 fired since the last
 * poll; return the absolute time (ns) of its next interrupt, or VCLOCK_NEVER.
 */
uint64_t pit_poll(struct pit *p);

/* Current OUT level of a channel (OUT2 is also visible in port 0x61 bit 5). */
bool pit_out(struct pit *p, int channel);

/* Drive a channel's GATE input (channel 2's is port 0x61 bit 0). */
void pit_set_gate(struct pit *p, int channel, bool level);

#endif
