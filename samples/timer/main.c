/* timer: PIT IRQ0 at the programmed rate while the guest spins in a tight loop, and sti;hlt idling. */
#include "rt.h"
#include "desc.h"
#include "pc.h"

#define CALIB_MS	50		/* TSC calibration against PIT channel 2 */
#define SPIN_LIMIT	1500000000u	/* loop iterations before giving up on ticks */

static volatile unsigned ticks;
static uint32_t tsc_per_ms;

static void irq0(struct trap_frame *f)
{
	(void)f;
	ticks++;
	pic_eoi(0);
}

/* 64/32 division with divl: no libgcc in the guest; the quotient must fit 32 bits. */
static uint32_t div64(uint64_t n, uint32_t d)
{
	uint32_t q, r;

	if ((uint32_t)(n >> 32) >= d)
		return 0xffffffff;
	asm("divl %4" : "=a"(q), "=d"(r) : "a"((uint32_t)n), "d"((uint32_t)(n >> 32)), "rm"(d));
	(void)r;
	return q;
}

static bool within(uint32_t v, uint32_t want, unsigned pct)
{
	uint32_t slack = want * pct / 100;

	return v + slack >= want && v <= want + slack;
}

/* TSC ticks per millisecond, measured on PIT channel 2 (no interrupts involved). */
static bool calibrate(void)
{
	uint64_t t0, t1;
	bool ok;

	t0 = rdtsc();
	ok = pit_delay_ms(CALIB_MS);
	t1 = rdtsc();
	tsc_per_ms = div64(t1 - t0, CALIB_MS);
	report_info("TSC: %u ticks per ms", tsc_per_ms);
	return ok && tsc_per_ms > 0;
}

/*
 * The loop under test: only memory, no I/O or privileged instruction, so a
 * translator chains it into itself and only an asynchronous exit can break in.
 */
static __attribute__((noinline)) uint32_t spin_until(unsigned target)
{
	uint32_t i, acc = 0;

	for (i = 0; i < SPIN_LIMIT && ticks < target; i++)
		acc = acc * 33 + i;
	return acc;
}

static void measure_spin(unsigned hz, unsigned n)
{
	uint64_t t0, t1;
	uint32_t ms;
	unsigned got, start;

	cli();
	ticks = 0;
	pit_ch0_periodic(hz);
	pic_unmask(0);
	sti();
	/* Start on a tick edge so the window holds whole periods. */
	while (ticks == 0)
		;
	start = ticks;
	t0 = rdtsc();
	spin_until(start + n);
	t1 = rdtsc();
	got = ticks - start;
	cli();
	pic_mask(0);
	sti();
	ms = div64(t1 - t0, tsc_per_ms);
	reportf(got >= n, "spin @%u Hz: %u IRQ0s reached a tight loop", hz, got);
	reportf(ms > 0 && within(got * 1000 / ms, hz, 50),
		"spin @%u Hz: rate %u Hz over %u ms (want %u +-50%%)", hz,
		ms ? got * 1000 / ms : 0, ms, hz);
}

static void measure_hlt(unsigned hz, unsigned n)
{
	uint64_t t0, t1;
	uint32_t ms;
	unsigned halts = 0, start;

	cli();
	ticks = 0;
	pit_ch0_periodic(hz);
	pic_unmask(0);
	sti();
	while (ticks == 0)
		;
	start = ticks;
	t0 = rdtsc();
	while (ticks - start < n && halts < 10 * n) {
		sti_hlt();
		halts++;
	}
	t1 = rdtsc();
	cli();
	pic_mask(0);
	sti();
	ms = div64(t1 - t0, tsc_per_ms);
	reportf(ticks - start >= n && halts <= n + 2,
		"sti;hlt @%u Hz: %u halts woke for %u IRQ0s", hz, halts, ticks - start);
	reportf(ms > 0 && within((ticks - start) * 1000 / ms, hz, 50),
		"sti;hlt @%u Hz: rate %u Hz over %u ms", hz,
		ms ? (ticks - start) * 1000 / ms : 0, ms);
}

int main(void)
{
	trap_set_handler(IRQ_BASE_MASTER + 0, irq0);
	sti();
	if (!report(calibrate(), "PIT channel 2 calibrates the TSC"))
		return 1;
	measure_spin(1000, 500);
	measure_spin(250, 125);
	measure_hlt(1000, 300);
	measure_hlt(250, 100);
	pit_ch0_stop();
	return 0;
}
