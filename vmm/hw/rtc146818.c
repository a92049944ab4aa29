/* MC146818 RTC/CMOS: host-derived time, periodic/alarm/update interrupts, PC CMOS layout. */
#include <string.h>
#include <time.h>

#include "vmm/hw/rtc.h"

#define RTC_PORT_INDEX		0	/* port offset: register index, NMI mask */
#define RTC_PORT_DATA		1	/* port offset: register data */
#define RTC_NMI_MASK		0x80	/* port 0x70: disable NMI */

#define RTC_SEC			0x00	/* seconds */
#define RTC_SEC_ALARM		0x01	/* seconds alarm */
#define RTC_MIN			0x02	/* minutes */
#define RTC_MIN_ALARM		0x03	/* minutes alarm */
#define RTC_HOUR		0x04	/* hours, bit 7 = PM in 12-hour mode */
#define RTC_HOUR_ALARM		0x05	/* hours alarm */
#define RTC_WDAY		0x06	/* day of week, Sunday = 1 */
#define RTC_MDAY		0x07	/* day of month */
#define RTC_MONTH		0x08	/* month */
#define RTC_YEAR		0x09	/* year within the century */
#define RTC_REG_A		0x0a	/* register A: UIP, divider, rate */
#define RTC_REG_B		0x0b	/* register B: control */
#define RTC_REG_C		0x0c	/* register C: interrupt flags, read-only */
#define RTC_REG_D		0x0d	/* register D: valid RAM and time */

#define RTC_A_UIP		0x80	/* A: update in progress */
#define RTC_A_DV		0x70	/* A: divider select */
#define RTC_A_DV_32K		0x20	/* A: 32.768 kHz time base, running */
#define RTC_A_DV_RESET		0x60	/* A: divider chain held in reset (11x) */
#define RTC_A_RS		0x0f	/* A: periodic rate select */
#define RTC_B_SET		0x80	/* B: halt updates to set the time */
#define RTC_B_PIE		0x40	/* B: periodic interrupt enable */
#define RTC_B_AIE		0x20	/* B: alarm interrupt enable */
#define RTC_B_UIE		0x10	/* B: update-ended interrupt enable */
#define RTC_B_SQWE		0x08	/* B: square-wave output enable */
#define RTC_B_DM		0x04	/* B: binary (not BCD) data mode */
#define RTC_B_24H		0x02	/* B: 24-hour mode */
#define RTC_B_DSE		0x01	/* B: daylight saving enable */
#define RTC_C_IRQF		0x80	/* C: an enabled flag is set, IRQ asserted */
#define RTC_C_PF		0x40	/* C: periodic interrupt flag */
#define RTC_C_AF		0x20	/* C: alarm flag */
#define RTC_C_UF		0x10	/* C: update-ended flag */
#define RTC_D_VRT		0x80	/* D: valid RAM and time (battery good) */
#define RTC_ALARM_ANY		0xc0	/* alarm byte >= 0xc0 matches any value */

#define CMOS_SHUTDOWN		0x0f	/* shutdown status byte */
#define CMOS_EQUIPMENT		0x14	/* equipment byte */
#define CMOS_BASE_LO		0x15	/* base memory KiB, low byte */
#define CMOS_BASE_HI		0x16	/* base memory KiB, high byte */
#define CMOS_EXT_LO		0x17	/* extended memory KiB above 1 MiB, low */
#define CMOS_EXT_HI		0x18	/* extended memory KiB above 1 MiB, high */
#define CMOS_CSUM_HI		0x2e	/* checksum of 0x10-0x2d, high byte */
#define CMOS_CSUM_LO		0x2f	/* checksum of 0x10-0x2d, low byte */
#define CMOS_EXT2_LO		0x30	/* extended memory KiB (POST copy), low */
#define CMOS_EXT2_HI		0x31	/* extended memory KiB (POST copy), high */
#define CMOS_CENTURY		0x32	/* century, same format as the year */
#define CMOS_HIGH_LO		0x34	/* memory above 16 MiB in 64 KiB, low */
#define CMOS_HIGH_HI		0x35	/* memory above 16 MiB in 64 KiB, high */

#define CMOS_EQUIP_FPU		0x02	/* equipment: math coprocessor present */
#define CMOS_EQUIP_CGA80	0x20	/* equipment: 80x25 colour display */

#define RTC_UIP_NS		244000ull	/* UIP leads the update by 244 us */
#define RTC_HZ			32768ull	/* time base the rates divide */
#define NSEC			1000000000ull

static int64_t host_wall_sec(void *unused)
{
	struct timespec ts;

	(void)unused;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static bool binary_mode(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_DM;
}

static uint8_t encode(const struct rtc *r, int v)
{
	return binary_mode(r) ? v : (v / 10) << 4 | v % 10;
}

static int decode(const struct rtc *r, uint8_t v)
{
	return binary_mode(r) ? v : (v >> 4) * 10 + (v & 0xf);
}

static int64_t guest_sec(const struct rtc *r, uint64_t now)
{
	return r->base_sec + (int64_t)((now - r->base_ns) / NSEC);
}

/* Divider chain stopped: time and periodic interrupts stand still. */
static bool divider_reset(const struct rtc *r)
{
	return (r->cmos[RTC_REG_A] & RTC_A_DV_RESET) == RTC_A_DV_RESET;
}

/* Periodic rate in 32.768 kHz ticks, 0 when off. */
static uint64_t periodic_ticks(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & RTC_A_RS;

	if (!rs)
		return 0;
	/* Rates 1 and 2 alias the 256 Hz and 128 Hz taps of the divider. */
	return rs <= 2 ? 1ull << (rs + 6) : 1ull << (rs - 1);
}

static uint64_t periodic_index(const struct rtc *r, uint64_t now)
{
	uint64_t p = periodic_ticks(r);

	if (!p)
		return 0;
	return (uint64_t)((unsigned __int128)(now - r->base_ns) * RTC_HZ / NSEC) / p;
}

/* Write the current guest time into the clock registers, in the B format. */
static void snapshot_time(struct rtc *r, uint64_t now)
{
	time_t t = guest_sec(r, now);
	struct tm tm;
	int h = 0;

	gmtime_r(&t, &tm);
	r->cmos[RTC_SEC] = encode(r, tm.tm_sec);
	r->cmos[RTC_MIN] = encode(r, tm.tm_min);
	if (r->cmos[RTC_REG_B] & RTC_B_24H) {
		r->cmos[RTC_HOUR] = encode(r, tm.tm_hour);
	} else {
		h = tm.tm_hour % 12;
		r->cmos[RTC_HOUR] = encode(r, h ? h : 12) | (tm.tm_hour >= 12 ? 0x80 : 0);
	}
	r->cmos[RTC_WDAY] = encode(r, tm.tm_wday + 1);
	r->cmos[RTC_MDAY] = encode(r, tm.tm_mday);
	r->cmos[RTC_MONTH] = encode(r, tm.tm_mon + 1);
	r->cmos[RTC_YEAR] = encode(r, tm.tm_year % 100);
	r->cmos[CMOS_CENTURY] = encode(r, (tm.tm_year + 1900) / 100);
}

/* Restart the clock at a second boundary now, showing guest time t. */
static void anchor(struct rtc *r, int64_t t, uint64_t now)
{
	r->base_sec = t;
	r->base_ns = now;
	r->uf_seen = t;
	r->pf_seen = periodic_index(r, now);
}

/* The guest finished setting the time registers: take them as the new time. */
static void set_from_regs(struct rtc *r, uint64_t now)
{
	struct tm tm;
	int h, century, year;

	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = decode(r, r->cmos[RTC_SEC]);
	tm.tm_min = decode(r, r->cmos[RTC_MIN]);
	h = decode(r, r->cmos[RTC_HOUR] & 0x7f);
	if (!(r->cmos[RTC_REG_B] & RTC_B_24H))
		h = h % 12 + (r->cmos[RTC_HOUR] & 0x80 ? 12 : 0);
	tm.tm_hour = h;
	tm.tm_mday = decode(r, r->cmos[RTC_MDAY]);
	tm.tm_mon = decode(r, r->cmos[RTC_MONTH]) - 1;
	year = decode(r, r->cmos[RTC_YEAR]);
	century = decode(r, r->cmos[CMOS_CENTURY]);
	/* Guests that never touch the century byte get the usual 1970-2069 window. */
	if (century < 19 || century > 29)
		century = year < 70 ? 20 : 19;
	tm.tm_year = century * 100 + year - 1900;
	anchor(r, timegm(&tm), now);
	r->offset = r->base_sec - r->wall_sec(r->wall_opaque);
}

static bool alarm_match(const struct rtc *r)
{
	static const int pairs[3][2] = {
		{ RTC_SEC_ALARM, RTC_SEC },
		{ RTC_MIN_ALARM, RTC_MIN },
		{ RTC_HOUR_ALARM, RTC_HOUR },
	};

	for (int i = 0; i < 3; i++) {
		uint8_t a = r->cmos[pairs[i][0]];

		if (a < RTC_ALARM_ANY && a != r->cmos[pairs[i][1]])
			return false;
	}
	return true;
}

/* Catch the flags up with the clock, then drive IRQ8 from IRQF. */
static void rtc_update_irq(struct rtc *r, uint64_t now)
{
	uint8_t b = r->cmos[RTC_REG_B], *c = &r->cmos[RTC_REG_C];
	uint64_t k;
	int64_t s;
	bool level;

	if (!divider_reset(r)) {
		k = periodic_index(r, now);
		if (periodic_ticks(r) && k > r->pf_seen) {
			r->pf_seen = k;
			*c |= RTC_C_PF;
		}
		s = guest_sec(r, now);
		if (!(b & RTC_B_SET) && s > r->uf_seen) {
			r->uf_seen = s;
			*c |= RTC_C_UF;
			snapshot_time(r, now);
			if (alarm_match(r))
				*c |= RTC_C_AF;
		}
	}
	if (((*c & RTC_C_PF) && (b & RTC_B_PIE)) || ((*c & RTC_C_AF) && (b & RTC_B_AIE)) ||
	    ((*c & RTC_C_UF) && (b & RTC_B_UIE)))
		*c |= RTC_C_IRQF;
	level = *c & RTC_C_IRQF;
	if (level != r->irq_level) {
		r->irq_level = level;
		if (level)
			r->irqs++;
		irq_set(r->irq, RTC_IRQ, level);
	}
}

static uint8_t reg_read(struct rtc *r, uint8_t idx, uint64_t now)
{
	uint8_t v;

	switch (idx) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_WDAY:
	case RTC_MDAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case CMOS_CENTURY:
		/* While SET is on the registers hold what the guest is writing. */
		if (!(r->cmos[RTC_REG_B] & RTC_B_SET))
			snapshot_time(r, now);
		return r->cmos[idx];
	case RTC_REG_A:
		v = r->cmos[RTC_REG_A] & ~RTC_A_UIP;
		if (!(r->cmos[RTC_REG_B] & RTC_B_SET) && !divider_reset(r) &&
		    (now - r->base_ns) % NSEC >= NSEC - RTC_UIP_NS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		rtc_update_irq(r, now);
		v = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0;
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return r->cmos[idx];
	}
}

static void reg_write(struct rtc *r, uint8_t idx, uint8_t v, uint64_t now)
{
	uint8_t old;

	switch (idx) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_WDAY:
	case RTC_MDAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case CMOS_CENTURY:
		if (r->cmos[RTC_REG_B] & RTC_B_SET) {
			r->cmos[idx] = v;
		} else {
			/* A lone field write changes just that field of the running clock. */
			snapshot_time(r, now);
			r->cmos[idx] = v;
			set_from_regs(r, now);
		}
		break;
	case RTC_REG_A:
		r->cmos[RTC_REG_A] = v & ~RTC_A_UIP;
		/* A new rate starts counting from here, no burst of old ticks. */
		r->pf_seen = periodic_index(r, now);
		break;
	case RTC_REG_B:
		old = r->cmos[RTC_REG_B];
		if ((v & RTC_B_SET) && !(old & RTC_B_SET)) {
			snapshot_time(r, now);
			v &= ~RTC_B_UIE;	/* SET clears UIE */
		}
		r->cmos[RTC_REG_B] = v;
		if (!(v & RTC_B_SET) && (old & RTC_B_SET))
			set_from_regs(r, now);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;		/* read-only */
	default:
		r->cmos[idx] = v;
		break;
	}
}

static void rtc_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct rtc *r = dev;
	uint64_t now = vclock_now(r->clk);

	(void)len;
	switch (addr - RTC_BASE) {
	case RTC_PORT_INDEX:
		if (is_write) {
			r->index = data[0] & (RTC_CMOS_SIZE - 1);
			r->nmi_masked = data[0] & RTC_NMI_MASK;
		} else {
			data[0] = 0xff;	/* write-only on PC chipsets */
		}
		return;
	case RTC_PORT_DATA:
		if (is_write)
			reg_write(r, r->index, data[0], now);
		else
			data[0] = reg_read(r, r->index, now);
		break;
	}
	rtc_update_irq(r, now);
}

static void set_word(struct rtc *r, int lo, int hi, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	r->cmos[lo] = v;
	r->cmos[hi] = v >> 8;
}

/* The memory-size bytes a PC BIOS leaves for the OS, and their checksum. */
static void fill_pc_cmos(struct rtc *r, uint64_t ram_size)
{
	uint64_t ext = ram_size > (1ull << 20) ? (ram_size - (1ull << 20)) >> 10 : 0;
	uint64_t high = ram_size > (16ull << 20) ? (ram_size - (16ull << 20)) >> 16 : 0;
	unsigned sum = 0;

	r->cmos[CMOS_SHUTDOWN] = 0;
	r->cmos[CMOS_EQUIPMENT] = CMOS_EQUIP_FPU | CMOS_EQUIP_CGA80;
	set_word(r, CMOS_BASE_LO, CMOS_BASE_HI, 640);
	set_word(r, CMOS_EXT_LO, CMOS_EXT_HI, ext);
	set_word(r, CMOS_EXT2_LO, CMOS_EXT2_HI, ext);
	set_word(r, CMOS_HIGH_LO, CMOS_HIGH_HI, high);
	for (int i = 0x10; i < CMOS_CSUM_HI; i++)
		sum += r->cmos[i];
	r->cmos[CMOS_CSUM_HI] = sum >> 8;
	r->cmos[CMOS_CSUM_LO] = sum;
}

void rtc_set_wall_clock(struct rtc *r, int64_t (*wall_sec)(void *), void *opaque)
{
	uint64_t now = vclock_now(r->clk);
	struct timespec ts;

	r->wall_sec = wall_sec ? wall_sec : host_wall_sec;
	r->wall_opaque = opaque;
	r->wall_default = !wall_sec;
	if (r->wall_default) {
		/* Line our second boundaries up with the host's. */
		clock_gettime(CLOCK_REALTIME, &ts);
		if (now >= (uint64_t)ts.tv_nsec)
			now -= ts.tv_nsec;
		anchor(r, ts.tv_sec + r->offset, now);
	} else {
		anchor(r, wall_sec(opaque) + r->offset, now);
	}
}

void rtc_init(struct rtc *r, const struct vclock *clk, const struct irq_line *irq,
	      uint64_t ram_size)
{
	memset(r, 0, sizeof(*r));
	r->clk = clk;
	r->irq = irq;
	r->cmos[RTC_REG_A] = RTC_A_DV_32K | 0x06;	/* 1024 Hz, as BIOSes leave it */
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->cmos[RTC_REG_D] = RTC_D_VRT;
	fill_pc_cmos(r, ram_size);
	rtc_set_wall_clock(r, NULL, NULL);
	snapshot_time(r, vclock_now(clk));
}

int rtc_register(struct rtc *r, struct io_bus *bus)
{
	return io_register(bus, RTC_BASE, 2, IO_W8, "rtc", rtc_io, r);
}

uint64_t rtc_poll(struct rtc *r)
{
	uint64_t now = vclock_now(r->clk);
	uint8_t b = r->cmos[RTC_REG_B];
	uint64_t next = VCLOCK_NEVER, p, t;

	rtc_update_irq(r, now);
	if (divider_reset(r))
		return VCLOCK_NEVER;
	p = periodic_ticks(r);
	if ((b & RTC_B_PIE) && p) {
		t = r->base_ns + (uint64_t)(((unsigned __int128)(r->pf_seen + 1) * p * NSEC +
					     RTC_HZ - 1) / RTC_HZ);
		next = t;
	}
	if ((b & (RTC_B_UIE | RTC_B_AIE)) && !(b & RTC_B_SET)) {
		t = r->base_ns + (uint64_t)(r->uf_seen - r->base_sec + 1) * NSEC;
		if (t < next)
			next = t;
	}
	return next;
}

bool rtc_nmi_masked(const struct rtc *r)
{
	return r->nmi_masked;
}
