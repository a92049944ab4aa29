/* Interrupt lines from devices to the interrupt controller, and the host clock. */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#include <stdint.h>

/*
 * A device drives its ISA IRQ line through this; the machine wires it to the
 * 8259A pair, unit tests wire it to a recorder.  level is 0 or 1.
 */
struct irq_line {
	void (*set)(void *opaque, int irq, int level);
	void *opaque;
};

static inline void irq_set(const struct irq_line *l, int irq, int level)
{
	if (l && l->set)
		l->set(l->opaque, irq, level);
}

/*
 * Nanosecond clock the timer devices read.  The machine passes the host
 * CLOCK_MONOTONIC; tests pass a clock they step by hand.
 */
struct vclock {
	uint64_t (*now)(void *opaque);
	void *opaque;
};

static inline uint64_t vclock_now(const struct vclock *c)
{
	return c->now(c->opaque);
}

uint64_t host_monotonic_ns(void *unused);

#define VCLOCK_NEVER	UINT64_MAX	/* "no timer event pending" */

#endif
