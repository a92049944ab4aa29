/* Intel 8254 PIT: three counters computed from the clock, plus port 0x61. */
#include <string.h>

#include "vmm/hw/pit.h"

#define PIT_CH0			0	/* port offset: channel 0 data */
#define PIT_CH1			1	/* port offset: channel 1 data */
#define PIT_CH2			2	/* port offset: channel 2 data */
#define PIT_CTRL		3	/* port offset: control word register */

#define PIT_CW_SC_SHIFT		6	/* control word: select counter bits 7:6 */
#define PIT_CW_SC_READBACK	3	/* select counter 11: read-back command */
#define PIT_CW_RW_SHIFT		4	/* control word: read/write bits 5:4 */
#define PIT_CW_RW_LATCH		0	/* RW 00: counter latch command */
#define PIT_CW_RW_LSB		1	/* RW 01: lsb only */
#define PIT_CW_RW_MSB		2	/* RW 10: msb only */
#define PIT_CW_RW_WORD		3	/* RW 11: lsb then msb */
#define PIT_CW_MODE_SHIFT	1	/* control word: mode bits 3:1 */
#define PIT_CW_BCD		0x01	/* control word: BCD counting */

#define PIT_RB_LATCH_COUNT	0x20	/* read-back: latch count (active low) */
#define PIT_RB_LATCH_STATUS	0x10	/* read-back: latch status (active low) */
#define PIT_RB_CNT2		0x08	/* read-back: select counter 2 */
#define PIT_RB_CNT1		0x04	/* read-back: select counter 1 */
#define PIT_RB_CNT0		0x02	/* read-back: select counter 0 */

#define PIT_ST_OUT		0x80	/* status: OUT pin level */
#define PIT_ST_NULL		0x40	/* status: null count */

#define PIT_61_GATE2		0x01	/* port 0x61: timer 2 gate */
#define PIT_61_SPKR		0x02	/* port 0x61: speaker data enable */
#define PIT_61_WRITABLE		0x0f	/* port 0x61: bits 3:0 read back as written */
#define PIT_61_REFRESH		0x10	/* port 0x61: refresh request toggle */
#define PIT_61_OUT2		0x20	/* port 0x61: timer 2 OUT */

#define PIT_REFRESH_NS		15085	/* DRAM refresh toggles every ~15 us */
#define NSEC			1000000000ull

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / NSEC);
}

/* First instant at which ns_to_ticks() reaches t. */
static uint64_t ticks_to_ns(uint64_t t)
{
	return (uint64_t)(((unsigned __int128)t * NSEC + PIT_HZ - 1) / PIT_HZ);
}

static uint64_t elapsed(const struct pit_channel *c, uint64_t now)
{
	if (!c->running)
		return c->ticks_before;
	return c->ticks_before + ns_to_ticks(now) - ns_to_ticks(c->start_ns);
}

static bool out_at(const struct pit_channel *c, uint64_t e)
{
	uint64_t n = c->count;

	if (!c->running)
		return c->out_stopped;
	switch (c->mode) {
	case 0:
	case 1:
		return e >= n;
	case 2:
		return n < 2 || e % n != n - 1;
	case 3:
		return e % n < (n + 1) / 2;
	default:	/* 4, 5: one-clock low strobe at terminal count */
		return e != n;
	}
}

/* OUT rising edges since counting started: what IRQ0 sees. */
static uint64_t edges_at(const struct pit_channel *c, uint64_t e)
{
	switch (c->mode) {
	case 0:
	case 1:
		return e >= c->count;
	case 2:
	case 3:
		return e / c->count;
	default:
		return e >= (uint64_t)c->count + 1;
	}
}

static uint16_t to_bcd(uint32_t v)
{
	return (v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12;
}

static uint32_t from_bcd(uint16_t v)
{
	return (v & 0xf) + (v >> 4 & 0xf) * 10 + (v >> 8 & 0xf) * 100 + (v >> 12 & 0xf) * 1000;
}

/* The counting element as a read would see it, in the channel's number base. */
static uint16_t read_count(const struct pit_channel *c, uint64_t now)
{
	uint64_t e = elapsed(c, now), n = c->count, wrap = c->bcd ? 10000 : 65536;
	uint64_t v, phase, half;

	if (!n)
		n = wrap;	/* a counter no count was ever written to */
	switch (c->mode) {
	case 2:
		v = n - e % n;
		break;
	case 3:
		/* Decrements by two, reloading at each half period. */
		phase = e % n;
		half = (n + 1) / 2;
		v = phase < half ? n - 2 * phase : n - 2 * (phase - half);
		v &= ~1ull;
		break;
	default:
		v = (n + wrap - e % wrap) % wrap;
		break;
	}
	v %= wrap;
	return c->bcd ? to_bcd(v) : v;
}

static void start(struct pit_channel *c, uint64_t now)
{
	c->ticks_before = 0;
	c->start_ns = now;
	c->edges_seen = 0;
	c->running = true;
	c->null_count = false;
}

/* The count register just became complete. */
static void load_count(struct pit_channel *c, uint32_t raw, uint64_t now)
{
	uint32_t n = c->bcd ? from_bcd(raw) : raw;

	c->count = n ? n : c->bcd ? 10000 : 65536;
	c->loaded = true;
	c->null_count = true;
	switch (c->mode) {
	case 1:
	case 5:
		/* Waits for a trigger on GATE; a running one-shot is not disturbed. */
		if (!c->running)
			c->out_stopped = true;
		return;
	case 0:
		c->out_stopped = false;
		break;
	default:
		c->out_stopped = true;
		break;
	}
	if (c->gate) {
		start(c, now);
	} else {
		c->running = false;
		c->ticks_before = 0;
		c->edges_seen = 0;
	}
}

static void write_count(struct pit_channel *c, uint8_t v, uint64_t now)
{
	switch (c->rw) {
	case PIT_CW_RW_LSB:
		load_count(c, v, now);
		break;
	case PIT_CW_RW_MSB:
		load_count(c, (uint32_t)v << 8, now);
		break;
	case PIT_CW_RW_WORD:
		if (!c->write_hi) {
			c->write_lsb = v;
			c->write_hi = true;
			/* Mode 0 stops counting after the first byte of a new count. */
			if (c->mode == 0 && c->running) {
				c->ticks_before = elapsed(c, now);
				c->out_stopped = false;
				c->running = false;
			}
		} else {
			c->write_hi = false;
			load_count(c, c->write_lsb | (uint32_t)v << 8, now);
		}
		break;
	}
}

static uint8_t read_data(struct pit_channel *c, uint64_t now)
{
	uint16_t v;
	uint8_t b;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	v = c->count_latched ? c->latch : read_count(c, now);
	switch (c->rw) {
	case PIT_CW_RW_LSB:
		b = v;
		c->count_latched = false;
		break;
	case PIT_CW_RW_MSB:
		b = v >> 8;
		c->count_latched = false;
		break;
	default:
		b = c->read_hi ? v >> 8 : v;
		if (c->read_hi)
			c->count_latched = false;
		c->read_hi = !c->read_hi;
		break;
	}
	return b;
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latch = read_count(c, now);
	c->count_latched = true;
}

static void latch_status(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = c->cw | (out_at(c, elapsed(c, now)) ? PIT_ST_OUT : 0) |
		    (c->null_count ? PIT_ST_NULL : 0);
	c->status_latched = true;
}

static void write_control(struct pit *p, uint8_t v, uint64_t now)
{
	unsigned sc = v >> PIT_CW_SC_SHIFT;
	unsigned rw = (v >> PIT_CW_RW_SHIFT) & 3;
	struct pit_channel *c;

	if (sc == PIT_CW_SC_READBACK) {
		for (int i = 0; i < 3; i++) {
			if (!(v & (PIT_RB_CNT0 << i)))
				continue;
			/* Status first: it is what the next read returns. */
			if (!(v & PIT_RB_LATCH_STATUS))
				latch_status(&p->ch[i], now);
			if (!(v & PIT_RB_LATCH_COUNT))
				latch_count(&p->ch[i], now);
		}
		return;
	}
	c = &p->ch[sc];
	if (rw == PIT_CW_RW_LATCH) {
		latch_count(c, now);
		return;
	}
	c->cw = v & 0x3f;
	c->rw = rw;
	c->mode = (v >> PIT_CW_MODE_SHIFT) & 7;
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = v & PIT_CW_BCD;
	c->loaded = false;
	c->null_count = true;
	c->running = false;
	c->ticks_before = 0;
	c->edges_seen = 0;
	c->write_hi = false;
	c->read_hi = false;
	c->count_latched = false;
	c->status_latched = false;
	c->out_stopped = c->mode != 0;
}

bool pit_out(struct pit *p, int channel)
{
	struct pit_channel *c = &p->ch[channel];

	return out_at(c, elapsed(c, vclock_now(p->clk)));
}

void pit_set_gate(struct pit *p, int channel, bool level)
{
	struct pit_channel *c = &p->ch[channel];
	uint64_t now = vclock_now(p->clk);

	if (c->gate == level)
		return;
	c->gate = level;
	if (!c->loaded)
		return;
	switch (c->mode) {
	case 0:
	case 4:
		/* GATE low suspends counting; high resumes where it left off. */
		if (level) {
			c->start_ns = now;
			c->running = true;
		} else if (c->running) {
			c->out_stopped = out_at(c, elapsed(c, now));
			c->ticks_before = elapsed(c, now);
			c->running = false;
		}
		break;
	case 1:
	case 5:
		/* Rising edge (re)triggers the one-shot. */
		if (level)
			start(c, now);
		break;
	default:
		/* Modes 2/3: low stops and forces OUT high, high reloads. */
		if (level) {
			start(c, now);
		} else if (c->running) {
			c->ticks_before = elapsed(c, now);
			c->out_stopped = true;
			c->running = false;
		}
		break;
	}
}

static void pit_update_irq(struct pit *p, uint64_t now)
{
	struct pit_channel *c = &p->ch[0];
	uint64_t n;

	if (!c->running)
		return;
	n = edges_at(c, elapsed(c, now));
	if (n <= c->edges_seen)
		return;
	/* However many periods passed, the edge-triggered PIC latches one. */
	p->coalesced += n - c->edges_seen - 1;
	c->edges_seen = n;
	p->irqs++;
	irq_set(p->irq, PIT_IRQ, 1);
	irq_set(p->irq, PIT_IRQ, 0);
}

static void pit_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct pit *p = dev;
	uint64_t now = vclock_now(p->clk);
	unsigned reg = addr - PIT_BASE;

	(void)len;
	switch (reg) {
	case PIT_CH0:
	case PIT_CH1:
	case PIT_CH2:
		if (is_write)
			write_count(&p->ch[reg], data[0], now);
		else
			data[0] = read_data(&p->ch[reg], now);
		break;
	case PIT_CTRL:
		if (is_write)
			write_control(p, data[0], now);
		else
			data[0] = 0xff;	/* the control register is write-only */
		break;
	}
	pit_update_irq(p, now);
}

static void pit_port61_io(void *dev, uint32_t addr, uint8_t *data, unsigned len,
			  bool is_write)
{
	struct pit *p = dev;
	uint64_t now = vclock_now(p->clk);

	(void)addr;
	(void)len;
	if (is_write) {
		p->port61 = data[0] & PIT_61_WRITABLE;
		pit_set_gate(p, 2, data[0] & PIT_61_GATE2);
		return;
	}
	data[0] = p->port61;
	if ((now / PIT_REFRESH_NS) & 1)
		data[0] |= PIT_61_REFRESH;
	if (out_at(&p->ch[2], elapsed(&p->ch[2], now)))
		data[0] |= PIT_61_OUT2;
}

uint64_t pit_poll(struct pit *p)
{
	struct pit_channel *c = &p->ch[0];
	uint64_t now = vclock_now(p->clk);
	uint64_t target;

	pit_update_irq(p, now);
	if (!c->running)
		return VCLOCK_NEVER;
	switch (c->mode) {
	case 2:
	case 3:
		target = (c->edges_seen + 1) * c->count;
		break;
	case 0:
	case 1:
		if (c->edges_seen)
			return VCLOCK_NEVER;
		target = c->count;
		break;
	default:
		if (c->edges_seen)
			return VCLOCK_NEVER;
		target = c->count + 1;
		break;
	}
	return ticks_to_ns(ns_to_ticks(c->start_ns) + target - c->ticks_before);
}

void pit_init(struct pit *p, const struct vclock *clk, const struct irq_line *irq)
{
	uint64_t now;

	memset(p, 0, sizeof(*p));
	p->clk = clk;
	p->irq = irq;
	p->ch[0].gate = true;
	p->ch[1].gate = true;
	for (int i = 0; i < 3; i++) {
		write_control(p, i << PIT_CW_SC_SHIFT | PIT_CW_RW_WORD << PIT_CW_RW_SHIFT |
			      3 << PIT_CW_MODE_SHIFT, 0);
		/* Never loaded: reads see a full count, not a division by zero. */
		p->ch[i].count = 65536;
	}
	/* As a PC BIOS leaves it: channel 0 in mode 3 at 18.2 Hz. */
	now = vclock_now(clk);
	load_count(&p->ch[0], 0, now);
}

int pit_register(struct pit *p, struct io_bus *bus)
{
	if (io_register(bus, PIT_BASE, 4, IO_W8, "pit", pit_io, p) ||
	    io_register(bus, PIT_PORT61, 1, IO_W8, "port61", pit_port61_io, p))
		return -1;
	return 0;
}
