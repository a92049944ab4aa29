/* Unit tests for the MC146818 RTC/CMOS with a hand-stepped clock and wall time. */
#include <time.h>

#include "check.h"
#include "vmm/hw/rtc.h"
#include "vmm/io.h"
#include "vmm/irq.h"

#define BASE_NS		5000000000ull
#define SEC		1000000000ull

static struct io_bus bus;
static struct rtc rtc;
static uint64_t now_ns;
static int64_t wall;

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

static int64_t fake_wall(void *opaque)
{
	(void)opaque;
	return wall;
}

static void record(void *opaque, int irq, int level)
{
	struct recorder *r = opaque;

	if (irq != RTC_IRQ)
		r->bad_irq++;
	if (level && !r->level)
		r->rises++;
	r->level = level;
}

static const struct vclock clk = { .now = fake_now };
static const struct irq_line line = { .set = record, .opaque = &rec };

static uint8_t cmos_read(uint8_t idx)
{
	io_out(&bus, 0x70, 1, idx);
	return io_in(&bus, 0x71, 1);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	io_out(&bus, 0x70, 1, idx);
	io_out(&bus, 0x71, 1, v);
}

/* Read once, then compare: register C reads clear it. */
static void expect_reg(uint8_t idx, uint8_t want, const char *what)
{
	uint8_t v = cmos_read(idx);

	CHECK_EQ(v, want, what);
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = s,
	};

	return timegm(&tm);
}

static void setup(uint64_t ram, int64_t t)
{
	now_ns = BASE_NS;
	wall = t;
	rec.rises = 0;
	rec.level = 0;
	rtc_init(&rtc, &clk, &line, ram);
	rtc_set_wall_clock(&rtc, fake_wall, NULL);
}

static void test_register(void)
{
	CHECK(io_bus_init(&bus, "port", true) == 0, "bus init");
	setup(64 << 20, utc(2024, 2, 29, 13, 45, 56));
	CHECK(rtc_register(&rtc, &bus) == 0, "rtc_register");
	CHECK(rtc_register(&rtc, &bus) == -1, "second rtc_register overlaps");
}

static void test_time_formats(void)
{
	setup(64 << 20, utc(2024, 2, 29, 13, 45, 56));
	expect_reg(0x0b, 0x02, "register B default: BCD, 24h");
	expect_reg(0x00, 0x56, "BCD seconds");
	expect_reg(0x02, 0x45, "BCD minutes");
	expect_reg(0x04, 0x13, "BCD hours 24h");
	expect_reg(0x06, 0x05, "day of week: Thursday = 5");
	expect_reg(0x07, 0x29, "BCD day of month");
	expect_reg(0x08, 0x02, "BCD month");
	expect_reg(0x09, 0x24, "BCD year");
	expect_reg(0x32, 0x20, "BCD century");

	cmos_write(0x0b, 0x06);	/* binary, 24h */
	expect_reg(0x00, 56, "binary seconds");
	expect_reg(0x04, 13, "binary hours");
	expect_reg(0x09, 24, "binary year");
	expect_reg(0x32, 20, "binary century");

	cmos_write(0x0b, 0x04);	/* binary, 12h */
	expect_reg(0x04, 0x81, "binary 12h: 1 PM");
	cmos_write(0x0b, 0x00);	/* BCD, 12h */
	expect_reg(0x04, 0x81, "BCD 12h: 1 PM");

	setup(64 << 20, utc(1999, 12, 31, 0, 30, 0));
	cmos_write(0x0b, 0x00);
	expect_reg(0x04, 0x12, "12h: half past midnight is 12 AM");
	expect_reg(0x09, 0x99, "year 99");
	expect_reg(0x32, 0x19, "century 19");
	expect_reg(0x06, 0x06, "Friday = 6");
	setup(64 << 20, utc(2000, 1, 2, 12, 0, 0));
	cmos_write(0x0b, 0x00);
	expect_reg(0x04, 0x92, "12h: noon is 12 PM");
	expect_reg(0x06, 0x01, "Sunday = 1");
	cmos_write(0x0b, 0x02);
	setup(64 << 20, utc(2000, 1, 2, 23, 59, 59));
	cmos_write(0x0b, 0x00);
	expect_reg(0x04, 0x91, "12h: 11 PM");
}

static void test_time_advances_and_uip(void)
{
	setup(64 << 20, utc(2024, 12, 31, 23, 59, 58));
	expect_reg(0x00, 0x58, "start second");
	now_ns = BASE_NS + SEC;
	expect_reg(0x00, 0x59, "one second later");
	now_ns = BASE_NS + 2 * SEC;
	expect_reg(0x00, 0x00, "rollover seconds");
	expect_reg(0x04, 0x00, "rollover hours");
	expect_reg(0x07, 0x01, "rollover day");
	expect_reg(0x08, 0x01, "rollover month");
	expect_reg(0x09, 0x25, "rollover year");

	now_ns = BASE_NS + 3 * SEC - 244001;
	expect_reg(0x0a, 0x26, "UIP clear 244 us + 1 ns before the update");
	now_ns = BASE_NS + 3 * SEC - 244000;
	expect_reg(0x0a, 0xa6, "UIP set 244 us before the update");
	now_ns = BASE_NS + 3 * SEC - 1;
	expect_reg(0x0a, 0xa6, "UIP set just before the update");
	expect_reg(0x00, 0x00, "old second during UIP");
	now_ns = BASE_NS + 3 * SEC;
	expect_reg(0x0a, 0x26, "UIP clear after the update");
	expect_reg(0x00, 0x01, "new second after UIP");

	cmos_write(0x0a, 0xaf);
	expect_reg(0x0a, 0x2f, "UIP is read-only, rate writable");
	cmos_write(0x0a, 0x26);
	expect_reg(0x0d, 0x80, "register D: VRT");
	cmos_write(0x0d, 0x00);
	expect_reg(0x0d, 0x80, "register D is read-only");
	cmos_read(0x0c);
	cmos_write(0x0c, 0xff);
	expect_reg(0x0c, 0x00, "register C is read-only");
}

static void test_set_time(void)
{
	setup(64 << 20, utc(2024, 6, 1, 10, 0, 0));
	now_ns = BASE_NS + SEC / 2;
	cmos_write(0x0b, 0x82);	/* SET, BCD, 24h */
	now_ns = BASE_NS + 2 * SEC - 1000;
	expect_reg(0x0a, 0x26, "no UIP while SET");
	cmos_write(0x00, 0x30);
	cmos_write(0x02, 0x59);
	cmos_write(0x04, 0x23);
	cmos_write(0x07, 0x31);
	cmos_write(0x08, 0x12);
	cmos_write(0x09, 0x99);
	cmos_write(0x32, 0x19);
	now_ns = BASE_NS + 5 * SEC;
	expect_reg(0x00, 0x30, "SET holds written seconds");
	cmos_write(0x0b, 0x02);	/* clear SET: the clock starts from here */
	expect_reg(0x00, 0x30, "new time seconds");
	expect_reg(0x09, 0x99, "new time year");
	CHECK_EQ(rtc.offset, utc(1999, 12, 31, 23, 59, 30) - wall, "guest offset from host");
	now_ns = BASE_NS + 5 * SEC + 30 * SEC;
	expect_reg(0x00, 0x00, "set clock runs: rollover");
	expect_reg(0x09, 0x00, "into year 00");
	expect_reg(0x32, 0x20, "century rolls too");

	/* A single field written without SET adjusts the running clock. */
	setup(64 << 20, utc(2024, 6, 1, 10, 20, 30));
	cmos_write(0x02, 0x05);
	expect_reg(0x02, 0x05, "minutes written directly");
	expect_reg(0x04, 0x10, "hours untouched");
	expect_reg(0x00, 0x30, "seconds untouched");
	CHECK_EQ(rtc.offset, -15 * 60, "offset after a direct write");

	/* 12-hour binary set. */
	setup(64 << 20, utc(2024, 6, 1, 10, 20, 30));
	cmos_write(0x0b, 0x06);	/* binary, 24h */
	cmos_write(0x0b, 0x84);	/* SET, binary, 12h: fields stay as they were */
	cmos_write(0x04, 0x80 | 11);	/* 11 PM */
	cmos_write(0x0b, 0x04);	/* clear SET, binary, 12h */
	expect_reg(0x04, 0x80 | 11, "12h PM hour after SET");
	cmos_write(0x0b, 0x06);	/* binary, 24h */
	expect_reg(0x04, 23, "12h PM write reads as 23 in 24h mode");
	expect_reg(0x02, 20, "minutes kept from the snapshot");

	/* SET clears UIE. */
	cmos_write(0x0b, 0x12);
	cmos_write(0x0b, 0x92);
	expect_reg(0x0b, 0x82, "SET clears UIE");
	cmos_write(0x0b, 0x02);
}

static void test_periodic(void)
{
	uint64_t d;
	uint8_t c;
	int i;

	setup(64 << 20, utc(2024, 1, 1, 0, 0, 0));
	CHECK_EQ(rtc_poll(&rtc), VCLOCK_NEVER, "no deadline with interrupts off");
	cmos_write(0x0b, 0x42);	/* PIE */
	d = rtc_poll(&rtc);
	CHECK_EQ(d, BASE_NS + 976563, "1024 Hz deadline");
	now_ns = d - 1;
	rtc_poll(&rtc);
	CHECK_EQ(rec.rises, 0, "no IRQ8 early");
	now_ns = d;
	rtc_poll(&rtc);
	CHECK_EQ(rec.rises, 1, "IRQ8 at the periodic tick");
	CHECK_EQ(rec.level, 1, "IRQ8 held until register C is read");
	now_ns = BASE_NS + 3 * 976563;
	rtc_poll(&rtc);
	CHECK_EQ(rec.rises, 1, "no new edge while register C is unread");
	expect_reg(0x0c, 0xc0, "register C: IRQF|PF");
	CHECK_EQ(rec.level, 0, "reading C lowers IRQ8");
	expect_reg(0x0c, 0x00, "register C cleared on read");

	/* Long-run rate: one interrupt per tick when serviced. */
	rec.rises = 0;
	for (i = 0; i < 1024; i++) {
		now_ns = rtc_poll(&rtc);
		rtc_poll(&rtc);
		c = cmos_read(0x0c);
		/* UF joins in at the second boundary; PF must be there every time. */
		if ((c & 0xc0) != 0xc0)
			break;
	}
	CHECK_EQ(i, 1024, "1024 serviced ticks");
	CHECK_EQ(rec.rises, 1024, "1024 IRQ8 edges");
	CHECK(now_ns - BASE_NS >= SEC && now_ns - BASE_NS < SEC + 4 * 976563,
	      "1024 ticks take ~1 s");

	/* Rate table. */
	cmos_write(0x0a, 0x2f);
	d = rtc_poll(&rtc);
	CHECK_EQ((d - BASE_NS) % (SEC / 2), 0, "rate 15: 2 Hz");
	CHECK(d > now_ns && d - now_ns <= SEC / 2, "rate 15 deadline");
	cmos_write(0x0a, 0x21);
	d = rtc_poll(&rtc);
	CHECK_EQ((d - BASE_NS) % 3906250, 0, "rate 1 aliases 256 Hz");
	cmos_write(0x0a, 0x22);
	d = rtc_poll(&rtc);
	CHECK_EQ((d - BASE_NS) % 7812500, 0, "rate 2 aliases 128 Hz");
	cmos_write(0x0a, 0x23);
	d = rtc_poll(&rtc);
	CHECK(d > now_ns && d - now_ns <= 122071, "rate 3: 8192 Hz");
	cmos_write(0x0a, 0x20);
	CHECK_EQ(rtc_poll(&rtc), VCLOCK_NEVER, "rate 0: periodic off");
	cmos_write(0x0a, 0x66);
	CHECK_EQ(rtc_poll(&rtc), VCLOCK_NEVER, "divider in reset: nothing runs");

	/* PF is set without PIE, but no interrupt. */
	setup(64 << 20, utc(2024, 1, 1, 0, 0, 0));
	cmos_write(0x0b, 0x02);
	now_ns += 2 * 976563;
	rtc_poll(&rtc);
	CHECK_EQ(rec.rises, 0, "no IRQ8 without PIE");
	expect_reg(0x0c, 0x40, "PF without IRQF when PIE is off");
	CHECK_EQ(rec.bad_irq, 0, "only IRQ8 driven");
}

static void test_update_and_alarm(void)
{
	uint64_t d;

	setup(64 << 20, utc(2024, 1, 1, 8, 0, 10));
	cmos_write(0x0a, 0x20);	/* periodic off, so PF stays out of register C */
	cmos_write(0x0b, 0x12);	/* UIE */
	d = rtc_poll(&rtc);
	CHECK_EQ(d, BASE_NS + SEC, "update-ended deadline at the next second");
	now_ns = d;
	rtc_poll(&rtc);
	CHECK_EQ(rec.rises, 1, "update-ended interrupt");
	expect_reg(0x0c, 0x90, "register C: IRQF|UF");
	cmos_write(0x0b, 0x02);

	/* Alarm at 08:00:13 with hour as don't-care. */
	cmos_write(0x01, 0x13);
	cmos_write(0x03, 0x00);
	cmos_write(0x05, 0xc0);
	cmos_write(0x0b, 0x22);	/* AIE */
	cmos_read(0x0c);
	now_ns = BASE_NS + 2 * SEC;
	rtc_poll(&rtc);
	expect_reg(0x0c, 0x10, "08:00:12: UF only, no alarm");
	CHECK_EQ(rec.level, 0, "no IRQ8 before the alarm");
	now_ns = BASE_NS + 3 * SEC;
	d = rtc_poll(&rtc);
	CHECK_EQ(rec.level, 1, "alarm raises IRQ8");
	expect_reg(0x0c, 0xb0, "register C: IRQF|AF|UF");
	CHECK_EQ(d, BASE_NS + 4 * SEC, "alarm checks each second");
	expect_reg(0x01, 0x13, "alarm registers are storage");
	expect_reg(0x05, 0xc0, "don't-care alarm byte kept");
}

static void test_memory_and_storage(void)
{
	unsigned sum = 0;

	setup(64ull << 20, 0);
	expect_reg(0x15, 0x80, "base memory low (640 KiB)");
	expect_reg(0x16, 0x02, "base memory high");
	expect_reg(0x17, 0x00, "64M: extended low");
	expect_reg(0x18, 0xfc, "64M: extended high (63 MiB)");
	expect_reg(0x30, 0x00, "64M: POST extended low");
	expect_reg(0x31, 0xfc, "64M: POST extended high");
	expect_reg(0x34, 0x00, "64M: above 16M low");
	expect_reg(0x35, 0x03, "64M: above 16M high (48 MiB / 64 KiB)");
	for (int i = 0x10; i < 0x2e; i++)
		sum += cmos_read(i);
	expect_reg(0x2e, sum >> 8, "checksum high");
	expect_reg(0x2f, sum & 0xff, "checksum low");

	setup(3ull << 30, 0);
	expect_reg(0x17, 0xff, "3G: extended capped low");
	expect_reg(0x18, 0xff, "3G: extended capped high");
	expect_reg(0x30, 0xff, "3G: POST extended capped low");
	expect_reg(0x31, 0xff, "3G: POST extended capped high");
	expect_reg(0x34, 0x00, "3G: above 16M low");
	expect_reg(0x35, 0xbf, "3G: above 16M high (0xbf00)");

	setup(20ull << 20, 0);
	expect_reg(0x18, 0x4c, "20M: extended 19 MiB high");
	expect_reg(0x35, 0x00, "20M: above 16M high");
	expect_reg(0x34, 0x40, "20M: above 16M low (4 MiB)");
	setup(1ull << 20, 0);
	expect_reg(0x17, 0x00, "1M: no extended memory");
	expect_reg(0x34, 0x00, "1M: none above 16M");
	setup(4ull << 30, 0);
	expect_reg(0x35, 0xff, "4G: above 16M capped");

	cmos_write(0x40, 0x5a);
	expect_reg(0x40, 0x5a, "CMOS storage byte");
	cmos_write(0x7f, 0xa5);
	expect_reg(0x7f, 0xa5, "last CMOS byte");
	cmos_write(0x0f, 0x0a);
	expect_reg(0x0f, 0x0a, "shutdown status byte");
	io_out(&bus, 0x70, 1, 0xc0);
	io_out(&bus, 0x71, 1, 0x77);
	expect_reg(0x40, 0x77, "index bit 7 is not part of the address");

	/* NMI mask bit of port 0x70. */
	io_out(&bus, 0x70, 1, 0x8d);
	CHECK(rtc_nmi_masked(&rtc), "port 0x70 bit 7 masks NMI");
	io_out(&bus, 0x70, 1, 0x0d);
	CHECK(!rtc_nmi_masked(&rtc), "NMI unmasked");
	CHECK_EQ(io_in(&bus, 0x70, 1), 0xff, "port 0x70 is write-only");
}

static void test_host_clock(void)
{
	struct timespec ts;
	uint8_t yy, cc;

	now_ns = BASE_NS;
	rtc_init(&rtc, &clk, &line, 64 << 20);
	clock_gettime(CLOCK_REALTIME, &ts);
	yy = cmos_read(0x09);
	cc = cmos_read(0x32);
	CHECK_EQ(cc, 0x20, "host clock: century 20");
	CHECK(yy >= 0x24 && yy <= 0x99, "host clock: plausible year (0x%x)", yy);
	CHECK(rtc.offset == 0, "no offset from the host by default");
}

int main(void)
{
	test_register();
	test_time_formats();
	test_time_advances_and_uip();
	test_set_time();
	test_periodic();
	test_update_and_alarm();
	test_memory_and_storage();
	test_host_clock();
	io_bus_destroy(&bus);
	return check_done();
}
