/* Motorola MC146818 real-time clock and its 128 bytes of CMOS RAM. */
#ifndef VMM_HW_RTC_H
#define VMM_HW_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/io.h"
#include "vmm/irq.h"

#define RTC_BASE	0x70	/* index (bit 7 = NMI mask) and data ports */
#define RTC_IRQ		8	/* ISA IRQ of the periodic/alarm/update interrupt */
#define RTC_CMOS_SIZE	128

struct rtc {
	uint8_t cmos[RTC_CMOS_SIZE];
	uint8_t index;			/* register selected through port 0x70 */
	bool nmi_masked;		/* port 0x70 bit 7 */
	const struct vclock *clk;
	const struct irq_line *irq;
	int64_t (*wall_sec)(void *opaque);	/* host wall clock, seconds since 1970 UTC */
	void *wall_opaque;
	bool wall_default;		/* wall_sec is the host CLOCK_REALTIME */
	int64_t base_sec;		/* guest time (UTC seconds) at base_ns */
	uint64_t base_ns;		/* clock time of a second boundary */
	int64_t offset;			/* guest clock minus host clock, seconds */
	uint64_t pf_seen;		/* periodic ticks already reflected in PF */
	int64_t uf_seen;		/* last second whose update was reflected in UF */
	bool irq_level;			/* IRQ8 line as last driven */
	uint64_t irqs;			/* IRQ8 assertions */
};

void rtc_init(struct rtc *r, const struct vclock *clk, const struct irq_line *irq,
	      uint64_t ram_size);

/*
 * Replace the host wall clock (tests).  The clock is sampled now; from then
 * on guest time advances with the vclock.
 */
void rtc_set_wall_clock(struct rtc *r, int64_t (*wall_sec)(void *), void *opaque);

int rtc_register(struct rtc *r, struct io_bus *bus);

/* Advance to vclock_now(): raise IRQ8 as flags demand; next deadline or VCLOCK_NEVER. */
uint64_t rtc_poll(struct rtc *r);

bool rtc_nmi_masked(const struct rtc *r);

#endif
