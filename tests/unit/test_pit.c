/* Unit tests for the 8254 PIT and port 0x61 with a hand-stepped clock. */
#include "check.h"
#include "vmm/hw/pit.h"
#include "vmm/io.h"
#include "vmm/irq.h"

#define BASE_NS		1000000000ull	/* a whole number of PIT ticks */
#define LATCH_100HZ	11932		/* what Linux programs for HZ=100 */

static struct io_bus bus;
static struct pit pit;
static uint64_t now_ns;

struct recorder {
	int rises;
	int level;
	int bad_irq;
};

static struct recorder rec;

static uint64_t fake_now(void *opaque)
{
	(void)opaque;
	return now_ns;
}

static void record(void *opaque, int irq, int level)
{
	struct recorder *r = opaque;

	if (irq != PIT_IRQ)
		r->bad_irq++;
	if (level && !r->level)
		r->rises++;
	r->level = level;
}

static const struct vclock clk = { .now = fake_now };
static const struct irq_line line = { .set = record, .opaque = &rec };

static void outb(uint32_t port, uint8_t v)
{
	io_out(&bus, port, 1, v);
}

static uint8_t inb(uint32_t port)
{
	return io_in(&bus, port, 1);
}

/* Read once, then compare: the read itself has side effects. */
static void expect_inb(uint32_t port, uint8_t want, const char *what)
{
	uint8_t v = inb(port);

	CHECK_EQ(v, want, what);
}

static uint16_t read_word(uint32_t port)
{
	uint8_t lo = inb(port);

	return lo | inb(port) << 8;
}

static void expect_word(uint32_t port, uint16_t want, const char *what)
{
	uint16_t v = read_word(port);

	CHECK_EQ(v, want, what);
}

/* First clock time at which k ticks have passed since BASE_NS. */
static uint64_t at_tick(uint64_t k)
{
	return BASE_NS + (k * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

static bool out2(void)
{
	return inb(0x61) & 0x20;
}

static void reset_all(void)
{
	now_ns = BASE_NS;
	pit_init(&pit, &clk, &line);
	rec.rises = 0;
	rec.level = 0;
}

static void program(int ch, uint8_t cw, uint16_t count)
{
	outb(0x43, cw);
	outb(0x40 + ch, count & 0xff);
	outb(0x40 + ch, count >> 8);
}

static void test_register_and_power_on(void)
{
	uint64_t d;

	CHECK(io_bus_init(&bus, "port", true) == 0, "bus init");
	reset_all();
	CHECK(pit_register(&pit, &bus) == 0, "pit_register");
	CHECK(pit_register(&pit, &bus) == -1, "second pit_register overlaps");
	CHECK(io_find(&bus, 0x61) != NULL, "port 0x61 claimed");
	expect_inb(0x43, 0xff, "control word register is write-only");

	/* As a BIOS leaves it: channel 0 mode 3, count 65536, 18.2 Hz. */
	d = pit_poll(&pit);
	CHECK_EQ(d, at_tick(65536), "power-on channel 0 period");
	CHECK_EQ(rec.rises, 0, "no IRQ0 before the first period");
	now_ns = d - 1;
	pit_poll(&pit);
	CHECK_EQ(rec.rises, 0, "no IRQ0 one ns early");
	now_ns = d;
	d = pit_poll(&pit);
	CHECK_EQ(rec.rises, 1, "IRQ0 at the end of the period");
	CHECK_EQ(rec.level, 0, "IRQ0 line dropped after the edge");
	CHECK_EQ(d, at_tick(2 * 65536), "next period");
	CHECK_EQ(rec.bad_irq, 0, "only IRQ0 driven");
}

/* Counters a guest never loaded can still be read (a hostile guest found this). */
static void test_unloaded_channels(void)
{
	reset_all();
	for (uint32_t ch = 1; ch <= 2; ch++) {
		uint16_t v;

		now_ns += 1000000;
		outb(0x43, (uint8_t)(ch << 6 | 3 << 4 | 3 << 1));	/* mode 3, lo/hi, no count */
		v = read_word(0x40 + ch);
		CHECK(v % 2 == 0, "channel %u mode 3 without a count reads an even value (0x%x)",
		      (unsigned)ch, v);
		outb(0x43, (uint8_t)(ch << 6 | 3 << 4 | 2 << 1));	/* mode 2 */
		(void)read_word(0x40 + ch);
		outb(0x43, (uint8_t)(ch << 6 | 3 << 4 | 2 << 1 | 1));	/* BCD */
		v = read_word(0x40 + ch);
		CHECK((v & 0xf) <= 9 && (v >> 4 & 0xf) <= 9 && (v >> 8 & 0xf) <= 9 &&
		      (v >> 12) <= 9, "channel %u BCD read without a count is BCD (0x%04x)",
		      (unsigned)ch, v);
	}
}

static void test_mode2_periodic(void)
{
	uint64_t d, start, ticks;
	int i;

	reset_all();
	program(0, 0x34, LATCH_100HZ);
	d = pit_poll(&pit);
	CHECK(d - BASE_NS >= 9999000 && d - BASE_NS <= 10001000, "100 Hz deadline ~10 ms");
	CHECK_EQ(d, at_tick(LATCH_100HZ), "deadline on the tick grid");

	/* Count read through the latch command. */
	now_ns = BASE_NS + 1000000;	/* 1 ms = 1193 whole ticks */
	outb(0x43, 0x00);
	expect_word(0x40, LATCH_100HZ - 1193, "latched mode 2 count after 1 ms");
	now_ns = at_tick(LATCH_100HZ - 1);
	expect_word(0x40, 1, "mode 2 count reaches 1");
	CHECK(!pit_out(&pit, 0), "mode 2 OUT low for the last tick");
	now_ns = at_tick(LATCH_100HZ);
	expect_word(0x40, LATCH_100HZ, "mode 2 reloads");
	CHECK(pit_out(&pit, 0), "mode 2 OUT high after reload");

	/* Polled at every deadline, the long-run rate is exact. */
	reset_all();
	program(0, 0x34, LATCH_100HZ);
	start = now_ns;
	for (i = 0; i < 1000; i++) {
		d = pit_poll(&pit);
		now_ns = d;
	}
	pit_poll(&pit);
	CHECK_EQ(rec.rises, 1000, "1000 edges in 1000 periods");
	ticks = (uint64_t)((unsigned __int128)(now_ns - start) * PIT_HZ / 1000000000ull);
	CHECK_EQ(ticks, 1000ull * LATCH_100HZ, "no drift over 1000 periods");
	CHECK_EQ(pit.coalesced, 0, "nothing coalesced when polled on time");

	/* Falling behind by 5.5 periods gives one edge, not a storm. */
	rec.rises = 0;
	now_ns += 55000000;
	d = pit_poll(&pit);
	CHECK_EQ(rec.rises, 1, "one edge after falling behind");
	CHECK_EQ(pit.coalesced, 4, "missed periods counted as coalesced");
	CHECK(d > now_ns && d - now_ns <= 10000000, "next deadline within one period");
	pit_poll(&pit);
	CHECK_EQ(rec.rises, 1, "polling again at the same time adds nothing");
	CHECK_EQ(pit.irqs, 1001, "irqs counter");

	/* Mode 6 is mode 2. */
	outb(0x43, 0x3c);
	CHECK_EQ(pit.ch[0].mode, 2, "mode 6 folds to mode 2");
}

static void test_latch_and_access_modes(void)
{
	reset_all();
	program(0, 0x34, 50000);
	now_ns = at_tick(100);
	outb(0x43, 0x00);
	now_ns = at_tick(300);
	outb(0x43, 0x00);	/* ignored: previous latch unread */
	expect_inb(0x40, (50000 - 100) & 0xff, "latched lsb");
	now_ns = at_tick(700);
	expect_inb(0x40, (50000 - 100) >> 8, "latched msb survives clock movement");
	expect_word(0x40, 50000 - 700, "live count after the latch is consumed");

	/* Live lsb, then a latch: the shared flip-flop wants the msb next. */
	now_ns = at_tick(1000);
	expect_inb(0x40, (50000 - 1000) & 0xff, "live lsb");
	now_ns = at_tick(1200);
	outb(0x43, 0x00);
	now_ns = at_tick(2000);
	expect_inb(0x40, (50000 - 1200) >> 8, "msb comes from the latch");
	expect_word(0x40, 50000 - 2000, "then live lsb/msb in step");

	/* lsb-only access. */
	outb(0x43, 0x14);
	outb(0x40, 0x80);
	now_ns = at_tick(2010);
	expect_inb(0x40, 0x80 - 10, "lsb-only count and read");
	expect_inb(0x40, 0x80 - 10, "lsb-only reads never toggle");

	/* msb-only access. */
	outb(0x43, 0x24);
	outb(0x40, 0x12);
	CHECK_EQ(pit.ch[0].count, 0x1200, "msb-only write loads count << 8");
	now_ns = at_tick(2010 + 0x100);
	expect_inb(0x40, 0x11, "msb-only read");

	/* Count 0 means 65536. */
	outb(0x43, 0x34);
	outb(0x40, 0);
	outb(0x40, 0);
	CHECK_EQ(pit.ch[0].count, 65536, "count 0 is 65536");
	expect_word(0x40, 0, "65536 reads as 0");
	now_ns = at_tick(2010 + 0x100 + 1);
	expect_word(0x40, 0xffff, "then 0xffff");
}

static void test_readback(void)
{
	uint8_t st;

	reset_all();
	outb(0x43, 0xb0);	/* channel 2, lo/hi, mode 0 */
	outb(0x43, 0xe8);	/* read-back: status only, channel 2 */
	st = inb(0x42);
	CHECK_EQ(st, 0x40 | 0x30, "status: null count, OUT low, RW=3 mode 0");
	outb(0x61, 0x01);
	outb(0x42, 0x10);
	outb(0x42, 0x00);
	outb(0x43, 0xe8);
	st = inb(0x42);
	CHECK_EQ(st, 0x30, "status after the count is loaded");

	/* Status and count together: status first, then the count. */
	now_ns = at_tick(0x10);
	outb(0x43, 0xc8);
	st = inb(0x42);
	CHECK_EQ(st, 0x80 | 0x30, "status: OUT high at terminal count");
	expect_word(0x42, 0, "count latched by read-back");
	now_ns = at_tick(0x20);
	outb(0x43, 0xd8);	/* count only */
	expect_word(0x42, 0xfff0, "mode 0 wraps past zero; latched count");

	/* Several channels at once, channel 0 mode 2 status. */
	program(0, 0x34, 1000);
	outb(0x43, 0xca);	/* count+status of channels 0 and 2 */
	st = inb(0x40);
	CHECK_EQ(st, 0x80 | 0x34, "channel 0 status mode 2, OUT high");
	expect_word(0x40, 1000, "channel 0 count via read-back");
	st = inb(0x42);
	CHECK_EQ(st, 0x80 | 0x30, "channel 2 status in the same command");
	outb(0x43, 0xe4);	/* status of channel 1: mode 3 from init */
	st = inb(0x41);
	CHECK_EQ(st, 0x40 | 0x80 | 0x36, "channel 1 power-on status: never loaded");
	outb(0x43, 0xe8);
	outb(0x43, 0xe8);	/* a second status latch is ignored */
	st = inb(0x42);
	CHECK_EQ(st, 0x80 | 0x30, "status read once");
	expect_word(0x42, 0xfff0, "then the count latched by the earlier read-back");
}

static void test_tsc_calibration_pattern(void)
{
	const uint16_t latch = 1193182 / 20;	/* 50 ms, as pit_calibrate_tsc() */
	uint8_t v;

	reset_all();
	/* Gate high, speaker off; then channel 2 mode 0 lo/hi. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, latch & 0xff);
	CHECK(!out2(), "OUT2 low after the control word");
	outb(0x42, latch >> 8);
	now_ns = at_tick(latch - 1);
	CHECK(!out2(), "OUT2 still low one tick before terminal count");
	now_ns = at_tick(latch);
	CHECK(out2(), "OUT2 high exactly at terminal count");
	now_ns = at_tick(latch + 5000);
	CHECK(out2(), "OUT2 stays high in mode 0");
	CHECK_EQ(rec.rises, 0, "channel 2 never drives IRQ0");

	/* quick_pit_calibrate(): 0xffff then watch the msb step down. */
	reset_all();
	outb(0x61, 0x01);
	program(2, 0xb0, 0xffff);
	inb(0x42);
	v = inb(0x42);
	CHECK_EQ(v, 0xff, "msb 0xff at start");
	now_ns = at_tick(256);
	inb(0x42);
	v = inb(0x42);
	CHECK_EQ(v, 0xfe, "msb 0xfe after 256 ticks");
	now_ns = at_tick(256 * 10 + 3);
	inb(0x42);
	v = inb(0x42);
	CHECK_EQ(v, 0xf5, "msb 0xf5 after 2563 ticks");

	/* Gate low suspends a mode 0 count; gate high resumes it. */
	now_ns = at_tick(1000);
	outb(0x61, 0x00);
	now_ns = at_tick(5000);
	expect_word(0x42, 0xffff - 1000, "count frozen while gate low");
	outb(0x61, 0x01);
	now_ns = at_tick(5000) + (at_tick(10) - at_tick(0));
	expect_word(0x42, 0xffff - 1010, "count resumes where it stopped");

	/* Port 0x61 bits. */
	outb(0x61, 0x0f);
	v = inb(0x61);
	CHECK_EQ(v & 0x0f, 0x0f, "0x61 low nibble reads back");
	outb(0x61, 0x02);
	v = inb(0x61);
	CHECK_EQ(v & 0x0f, 0x02, "speaker bit without gate");
	now_ns = 0;
	v = inb(0x61);
	now_ns = 15085;
	CHECK(((inb(0x61) ^ v) & 0x10) != 0, "refresh bit toggles every ~15 us");
	CHECK_EQ(v & 0xc0, 0, "no NMI sources reported");
}

static void test_mode0_irq(void)
{
	uint64_t d;

	reset_all();
	program(0, 0x30, 1000);
	d = pit_poll(&pit);
	CHECK_EQ(d, at_tick(1000), "mode 0 deadline");
	now_ns = d;
	d = pit_poll(&pit);
	CHECK_EQ(rec.rises, 1, "mode 0 fires once");
	CHECK_EQ(d, VCLOCK_NEVER, "mode 0: nothing more pending");
	now_ns = at_tick(200000);
	pit_poll(&pit);
	CHECK_EQ(rec.rises, 1, "mode 0 stays quiet after terminal count");

	/* Rewriting the count rearms; the first byte stops counting. */
	outb(0x40, 0x64);
	CHECK(!pit_out(&pit, 0), "OUT low while a new count is half written");
	now_ns = at_tick(300000);
	outb(0x40, 0x00);
	d = pit_poll(&pit);
	CHECK_EQ(d, at_tick(300000 + 100), "rearmed one-shot");
	now_ns = d;
	pit_poll(&pit);
	CHECK_EQ(rec.rises, 2, "second one-shot fired");

	/* A control word without a count stops the channel. */
	outb(0x43, 0x34);
	CHECK_EQ(pit_poll(&pit), VCLOCK_NEVER, "no deadline before the count is written");
}

static void test_mode3_and_bcd(void)
{
	uint64_t d;

	reset_all();
	outb(0x61, 0x01);
	program(2, 0xb6, 1000);
	now_ns = at_tick(499);
	CHECK(out2(), "mode 3 OUT high for the first half");
	expect_word(0x42, 2, "mode 3 counts by two");
	now_ns = at_tick(500);
	CHECK(!out2(), "mode 3 OUT low for the second half");
	now_ns = at_tick(1000);
	CHECK(out2(), "mode 3 OUT high again after a full period");
	/* Gate low forces OUT high in modes 2/3 and stops counting. */
	now_ns = at_tick(1600);
	CHECK(!out2(), "low half");
	outb(0x61, 0x00);
	CHECK(out2(), "gate low forces OUT high");
	outb(0x61, 0x01);
	now_ns = at_tick(1600 + 500);
	CHECK(!out2(), "gate high restarts the period");

	/* Channel 0 in mode 3 interrupts at its full period. */
	program(0, 0x36, 2000);
	d = pit_poll(&pit);
	CHECK_EQ(d, at_tick(2100 + 2000), "mode 3 IRQ0 period");

	/* BCD counting: 1000 decimal. */
	now_ns = at_tick(10000);
	program(0, 0x31, 0x1000);
	CHECK_EQ(pit.ch[0].count, 1000, "BCD count 1000");
	now_ns = at_tick(10001);
	expect_word(0x40, 0x0999, "BCD count reads 0999");
	now_ns = at_tick(10000 + 1000);
	expect_word(0x40, 0x0000, "BCD terminal count");
	now_ns = at_tick(10000 + 1001);
	expect_word(0x40, 0x9999, "BCD wraps to 9999");
	program(0, 0x31, 0x0000);
	CHECK_EQ(pit.ch[0].count, 10000, "BCD 0 means 10000");
}

static void test_modes_1_4_5(void)
{
	uint64_t d;

	reset_all();
	outb(0x61, 0x00);
	program(2, 0xb2, 100);	/* mode 1 */
	CHECK(out2(), "mode 1 OUT high before the trigger");
	now_ns = at_tick(50);
	CHECK(out2(), "mode 1 waits for the gate");
	outb(0x61, 0x01);
	CHECK(!out2(), "mode 1 OUT low after the trigger");
	now_ns = at_tick(50 + 99);
	CHECK(!out2(), "mode 1 still low before terminal count");
	now_ns = at_tick(50 + 100);
	CHECK(out2(), "mode 1 OUT high at terminal count");
	outb(0x61, 0x00);
	outb(0x61, 0x01);	/* retrigger */
	CHECK(!out2(), "mode 1 retriggered");

	program(2, 0xba, 100);	/* mode 5, gate already high: waits for an edge */
	now_ns = at_tick(1000);
	CHECK(out2(), "mode 5 idle before the trigger");
	outb(0x61, 0x00);
	outb(0x61, 0x01);
	now_ns = at_tick(1100);
	CHECK(!out2(), "mode 5 strobe at terminal count");
	now_ns = at_tick(1101);
	CHECK(out2(), "mode 5 strobe lasts one tick");

	/* Mode 4 on channel 0: the IRQ edge ends the strobe. */
	now_ns = BASE_NS;
	program(0, 0x38, 100);
	d = pit_poll(&pit);
	CHECK_EQ(d, at_tick(101), "mode 4 edge after the strobe");
	now_ns = at_tick(100);
	CHECK(!pit_out(&pit, 0), "mode 4 OUT low at terminal count");
	now_ns = d;
	d = pit_poll(&pit);
	CHECK_EQ(rec.rises, 1, "mode 4 interrupts once");
	CHECK_EQ(d, VCLOCK_NEVER, "mode 4 one-shot");
}

int main(void)
{
	test_register_and_power_on();
	test_unloaded_channels();
	test_mode2_periodic();
	test_latch_and_access_modes();
	test_readback();
	test_tsc_calibration_pattern();
	test_mode0_irq();
	test_mode3_and_bcd();
	test_modes_1_4_5();
	io_bus_destroy(&bus);
	return check_done();
}
