/* Intel 8259A PIC pair: master at 0x20, slave at 0xa0 cascaded on IRQ2, PIIX ELCR. */
#include <string.h>

#include "vmm/hw/pic.h"
#include "vmm/log.h"

#define PIC_CMD			0	/* port offset: ICW1, OCW2, OCW3; IRR/ISR reads */
#define PIC_DATA		1	/* port offset: ICW2-4, OCW1; IMR reads */

#define PIC_ICW1		0x10	/* command port: this byte is ICW1 */
#define PIC_ICW1_LTIM		0x08	/* ICW1: level-triggered mode */
#define PIC_ICW1_ADI		0x04	/* ICW1: call address interval (8080 only) */
#define PIC_ICW1_SNGL		0x02	/* ICW1: single PIC, no ICW3 */
#define PIC_ICW1_IC4		0x01	/* ICW1: ICW4 follows */
#define PIC_ICW4_SFNM		0x10	/* ICW4: special fully nested mode */
#define PIC_ICW4_BUF		0x08	/* ICW4: buffered mode */
#define PIC_ICW4_AEOI		0x02	/* ICW4: automatic end of interrupt */
#define PIC_ICW4_UPM		0x01	/* ICW4: 8086/88 mode (8080 mode otherwise) */

#define PIC_OCW3		0x08	/* command port with bit 4 clear: OCW3, else OCW2 */
#define PIC_OCW3_ESMM		0x40	/* OCW3: enable special mask mode change */
#define PIC_OCW3_SMM		0x20	/* OCW3: special mask mode on/off */
#define PIC_OCW3_POLL		0x04	/* OCW3: poll command */
#define PIC_OCW3_RR		0x02	/* OCW3: read register command */
#define PIC_OCW3_RIS		0x01	/* OCW3: read ISR (IRR otherwise) */

#define PIC_OCW2_LEVEL		0x07	/* OCW2: level for specific commands */
#define PIC_OCW2_ROT_AEOI_CLR	0	/* OCW2 R/SL/EOI=000: rotate in AEOI mode off */
#define PIC_OCW2_EOI		1	/* OCW2 001: non-specific EOI */
#define PIC_OCW2_NOP		2	/* OCW2 010: no operation */
#define PIC_OCW2_SEOI		3	/* OCW2 011: specific EOI */
#define PIC_OCW2_ROT_AEOI_SET	4	/* OCW2 100: rotate in AEOI mode on */
#define PIC_OCW2_ROT_EOI	5	/* OCW2 101: rotate on non-specific EOI */
#define PIC_OCW2_SET_PRIO	6	/* OCW2 110: set priority (level = lowest) */
#define PIC_OCW2_ROT_SEOI	7	/* OCW2 111: rotate on specific EOI */

#define PIC_POLL_INT		0x80	/* poll result: an interrupt was pending */
#define PIC_SPURIOUS		7	/* input reported when a request vanished */

#define PIC_ELCR_MASK_MASTER	0xf8	/* IRQ0-2 are always edge on PIIX */
#define PIC_ELCR_MASK_SLAVE	0xde	/* IRQ8 and IRQ13 are always edge on PIIX */

static bool chip_level(const struct pic_chip *c, int irq)
{
	return c->ltim || (c->elcr & (1u << irq));
}

/* Priority rank (0 = highest) of the best input in mask, 8 when empty. */
static int best_rank(const struct pic_chip *c, uint8_t mask)
{
	for (int r = 0; r < 8; r++)
		if (mask & (1u << ((c->prio_base + r) & 7)))
			return r;
	return 8;
}

static int rank_irq(const struct pic_chip *c, int rank)
{
	return (c->prio_base + rank) & 7;
}

/* The input this chip would present on INT, or -1. */
static int chip_pending(const struct pic_chip *c, bool master)
{
	uint8_t req = c->irr & ~c->imr;
	uint8_t busy = c->isr;
	int r, rs;

	if (!req)
		return -1;
	r = best_rank(c, req);
	/* Special mask mode lets masked in-service levels stop blocking. */
	if (c->special_mask)
		busy &= ~c->imr;
	rs = best_rank(c, busy);
	if (r < rs)
		return rank_irq(c, r);
	/*
	 * Fully nested slaves may interrupt their own in-service handler;
	 * the slave itself already enforced priority among its inputs.
	 */
	if (master && c->sfnm && !c->single && r == rs &&
	    rank_irq(c, r) == PIC_CASCADE_IRQ)
		return PIC_CASCADE_IRQ;
	return -1;
}

/*
 * The slave's INT output drives the master's cascade input, which latches on
 * the rising edge like any other input: a slave request that vanishes before
 * INTA then yields the slave's spurious IRQ15, as on real hardware.
 */
static void pic_update_irq(struct pic *p)
{
	struct pic_chip *m = &p->chip[0];
	uint8_t bit = 1u << PIC_CASCADE_IRQ;

	if (m->single)
		return;
	if (chip_pending(&p->chip[1], false) >= 0) {
		if (!(m->lines & bit))
			m->irr |= bit;
		m->lines |= bit;
	} else {
		m->lines &= ~bit;
		if (chip_level(m, PIC_CASCADE_IRQ))
			m->irr &= ~bit;
	}
}

/* What an INTA pulse or a poll does to the chip for the chosen input. */
static void chip_ack(struct pic_chip *c, int irq)
{
	uint8_t bit = 1u << irq;

	if (!chip_level(c, irq))
		c->irr &= ~bit;
	if (!c->aeoi)
		c->isr |= bit;
	else if (c->rotate_aeoi)
		c->prio_base = (irq + 1) & 7;
}

static void chip_reset(struct pic_chip *c)
{
	uint8_t elcr = c->elcr, elcr_mask = c->elcr_mask, lines = c->lines;

	memset(c, 0, sizeof(*c));
	c->elcr = elcr;
	c->elcr_mask = elcr_mask;
	c->lines = lines;
}

/* ICW1 resets the chip's modes; the edge detector must see a fresh 0->1. */
static void chip_icw1(struct pic_chip *c, uint8_t v)
{
	if (v & PIC_ICW1_ADI)
		bt86_warn("pic: ICW1 8080 call address interval ignored");
	c->irr = 0;
	c->isr = 0;
	c->imr = 0;
	c->prio_base = 0;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->aeoi = false;
	c->sfnm = false;
	c->rotate_aeoi = false;
	c->icw3 = 7;
	c->ltim = v & PIC_ICW1_LTIM;
	c->single = v & PIC_ICW1_SNGL;
	c->icw4_needed = v & PIC_ICW1_IC4;
	c->icw_step = 2;
}

static void chip_data_write(struct pic_chip *c, uint8_t v)
{
	switch (c->icw_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->icw_step = !c->single ? 3 : c->icw4_needed ? 4 : 0;
		break;
	case 3:
		c->icw3 = v;
		c->icw_step = c->icw4_needed ? 4 : 0;
		break;
	case 4:
		if (!(v & PIC_ICW4_UPM))
			bt86_warn("pic: ICW4 8080 mode not supported, using 8086 mode");
		c->aeoi = v & PIC_ICW4_AEOI;
		c->sfnm = v & PIC_ICW4_SFNM;
		c->icw_step = 0;
		break;
	default:
		c->imr = v;	/* OCW1 */
		break;
	}
}

static void chip_ocw2(struct pic_chip *c, uint8_t v)
{
	int level = v & PIC_OCW2_LEVEL;
	int r;

	switch (v >> 5) {
	case PIC_OCW2_ROT_AEOI_CLR:
		c->rotate_aeoi = false;
		break;
	case PIC_OCW2_ROT_AEOI_SET:
		c->rotate_aeoi = true;
		break;
	case PIC_OCW2_EOI:
	case PIC_OCW2_ROT_EOI:
		r = best_rank(c, c->isr);
		if (r == 8)
			break;
		level = rank_irq(c, r);
		c->isr &= ~(1u << level);
		if ((v >> 5) == PIC_OCW2_ROT_EOI)
			c->prio_base = (level + 1) & 7;
		break;
	case PIC_OCW2_SEOI:
		c->isr &= ~(1u << level);
		break;
	case PIC_OCW2_ROT_SEOI:
		c->isr &= ~(1u << level);
		c->prio_base = (level + 1) & 7;
		break;
	case PIC_OCW2_SET_PRIO:
		c->prio_base = (level + 1) & 7;
		break;
	case PIC_OCW2_NOP:
		break;
	}
}

static void chip_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & PIC_OCW3_ESMM)
		c->special_mask = v & PIC_OCW3_SMM;
	if (v & PIC_OCW3_POLL)
		c->poll = true;
	if (v & PIC_OCW3_RR)
		c->read_isr = v & PIC_OCW3_RIS;
}

/* A poll read is an INTA the CPU performs by hand: it acknowledges too. */
static uint8_t chip_poll(struct pic *p, int which)
{
	struct pic_chip *c = &p->chip[which];
	int irq;

	c->poll = false;
	irq = chip_pending(c, which == 0);
	if (irq < 0)
		return 0;
	chip_ack(c, irq);
	if (which == 1)
		p->chip[0].lines &= ~(1u << PIC_CASCADE_IRQ);
	if (!(which == 0 && irq == PIC_CASCADE_IRQ && !c->single))
		p->acked[which * 8 + irq]++;
	return PIC_POLL_INT | irq;
}

static void pic_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct pic *p = dev;
	int which = addr >= PIC_SLAVE_BASE;
	struct pic_chip *c = &p->chip[which];
	uint8_t v = data[0];

	(void)len;
	if (!is_write) {
		if (c->poll)
			data[0] = chip_poll(p, which);
		else if ((addr & 1) == PIC_DATA)
			data[0] = c->imr;
		else
			data[0] = c->read_isr ? c->isr : c->irr;
		pic_update_irq(p);
		return;
	}
	switch (addr & 1) {
	case PIC_CMD:
		if (v & PIC_ICW1)
			chip_icw1(c, v);
		else if (v & PIC_OCW3)
			chip_ocw3(c, v);
		else
			chip_ocw2(c, v);
		break;
	case PIC_DATA:
		chip_data_write(c, v);
		break;
	}
	pic_update_irq(p);
}

static void pic_elcr_io(void *dev, uint32_t addr, uint8_t *data, unsigned len,
			bool is_write)
{
	struct pic *p = dev;
	struct pic_chip *c = &p->chip[addr - PIC_ELCR_BASE];

	(void)len;
	if (is_write)
		c->elcr = data[0] & c->elcr_mask;
	else
		data[0] = c->elcr;
}

void pic_reset(struct pic *p)
{
	for (int i = 0; i < 2; i++)
		chip_reset(&p->chip[i]);
	/*
	 * No BIOS runs before the guest, so leave the chips the way a PC BIOS
	 * would: programmed, cascaded, vectors 0x08/0x70, every input masked
	 * so nothing fires before the guest reprograms them.
	 */
	p->chip[0].vector_base = 0x08;
	p->chip[0].icw3 = 1u << PIC_CASCADE_IRQ;
	p->chip[0].imr = 0xff;
	p->chip[1].vector_base = 0x70;
	p->chip[1].icw3 = PIC_CASCADE_IRQ;
	p->chip[1].imr = 0xff;
	pic_update_irq(p);
}

void pic_init(struct pic *p)
{
	memset(p, 0, sizeof(*p));
	p->chip[0].elcr_mask = PIC_ELCR_MASK_MASTER;
	p->chip[1].elcr_mask = PIC_ELCR_MASK_SLAVE;
	pic_reset(p);
}

int pic_register(struct pic *p, struct io_bus *bus)
{
	if (io_register(bus, PIC_MASTER_BASE, 2, IO_W8, "pic-master", pic_io, p) ||
	    io_register(bus, PIC_SLAVE_BASE, 2, IO_W8, "pic-slave", pic_io, p) ||
	    io_register(bus, PIC_ELCR_BASE, 2, IO_W8, "pic-elcr", pic_elcr_io, p))
		return -1;
	return 0;
}

void pic_set_irq(struct pic *p, int irq, int level)
{
	struct pic_chip *c;
	uint8_t bit;

	/* On the AT bus the old IRQ2 pin became IRQ9 when the slave took IRQ2. */
	if (irq == PIC_CASCADE_IRQ)
		irq = 9;
	if (irq < 0 || irq > 15)
		return;
	c = &p->chip[irq >> 3];
	bit = 1u << (irq & 7);
	if (level && !(c->lines & bit)) {
		c->irr |= bit;
		p->raised[irq]++;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
	/* Level inputs withdraw their request with the line; edges stay latched. */
	if (!level && chip_level(c, irq & 7))
		c->irr &= ~bit;
	pic_update_irq(p);
}

void pic_irq_line(void *opaque, int irq, int level)
{
	pic_set_irq(opaque, irq, level);
}

bool pic_intr(const struct pic *p)
{
	return chip_pending(&p->chip[0], true) >= 0;
}

int pic_inta(struct pic *p)
{
	struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
	int irq = chip_pending(m, true);
	int vec;

	if (irq < 0) {
		/* The request went away between INTR and INTA. */
		p->spurious++;
		return m->vector_base | PIC_SPURIOUS;
	}
	chip_ack(m, irq);
	if (irq == PIC_CASCADE_IRQ && !m->single) {
		int sirq = chip_pending(s, false);

		if (sirq < 0) {
			/* The master has IRQ2 in service; guests EOI it. */
			p->spurious++;
			vec = s->vector_base | PIC_SPURIOUS;
		} else {
			chip_ack(s, sirq);
			p->acked[8 + sirq]++;
			vec = s->vector_base + sirq;
		}
		/* The cascade handshake ends; a further slave request re-latches. */
		m->lines &= ~(1u << PIC_CASCADE_IRQ);
	} else {
		p->acked[irq]++;
		vec = m->vector_base + irq;
	}
	pic_update_irq(p);
	return vec;
}
