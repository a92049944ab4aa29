/* Guest runtime: 8259A PIC, 8254 PIT and CMOS helpers. */
#include "rt.h"
#include "pc.h"

void pic_init(uint8_t master_base, uint8_t slave_base, bool master_aeoi)
{
	outb(PIC1_CMD, PIC_ICW1_INIT | PIC_ICW1_ICW4);	/* ICW1: edge, cascade */
	outb(PIC2_CMD, PIC_ICW1_INIT | PIC_ICW1_ICW4);
	outb(PIC1_DATA, master_base);			/* ICW2: vector base */
	outb(PIC2_DATA, slave_base);
	outb(PIC1_DATA, 1u << 2);			/* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 2);				/* ICW3: slave id 2 */
	outb(PIC1_DATA, PIC_ICW4_8086 | (master_aeoi ? PIC_ICW4_AEOI : 0));
	outb(PIC2_DATA, PIC_ICW4_8086);
	pic_set_imr(0xffff & ~(1u << 2));		/* cascade open, rest masked */
}

void pic_remap(uint8_t master_base, uint8_t slave_base)
{
	pic_init(master_base, slave_base, false);
}

void pic_set_imr(uint16_t imr)
{
	outb(PIC1_DATA, imr & 0xff);			/* OCW1 */
	outb(PIC2_DATA, imr >> 8);
}

uint16_t pic_get_imr(void)
{
	return inb(PIC1_DATA) | (inb(PIC2_DATA) << 8);
}

void pic_mask(int irq)
{
	pic_set_imr(pic_get_imr() | (1u << irq));
}

void pic_unmask(int irq)
{
	uint16_t imr = pic_get_imr() & ~(1u << irq);

	if (irq >= 8)
		imr &= ~(1u << 2);	/* slave IRQs need the cascade input */
	pic_set_imr(imr);
}

static uint16_t pic_read_ocw3(uint8_t ocw3)
{
	uint16_t v;

	outb(PIC1_CMD, ocw3);
	outb(PIC2_CMD, ocw3);
	v = inb(PIC1_CMD) | (inb(PIC2_CMD) << 8);
	return v;
}

uint16_t pic_read_irr(void)
{
	return pic_read_ocw3(PIC_OCW3_IRR);
}

uint16_t pic_read_isr(void)
{
	return pic_read_ocw3(PIC_OCW3_ISR);
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_OCW2_EOI);
	outb(PIC1_CMD, PIC_OCW2_EOI);
}

void pit_ch0_periodic(unsigned hz)
{
	uint32_t div = PIT_HZ / hz;

	if (div > 0xffff)
		div = 0;		/* 0 means 65536 */
	outb(PIT_CMD, 0x34);		/* ch0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, div & 0xff);
	outb(PIT_CH0, div >> 8);
}

/* Mode 0 with count 1: one last edge right away, then OUT stays high. Mask IRQ0 first. */
void pit_ch0_stop(void)
{
	outb(PIT_CMD, 0x30);		/* ch0, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH0, 1);
	outb(PIT_CH0, 0);
}

uint16_t pit_ch0_read(void)
{
	uint8_t lo, hi;

	outb(PIT_CMD, 0x00);		/* counter latch command, ch0 */
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return lo | (hi << 8);
}

void pit_ch2_start(uint16_t count)
{
	uint8_t b = inb(PORT_SYS_B) & ~(SYS_B_GATE2 | SYS_B_SPKR);

	outb(PORT_SYS_B, b);		/* gate low: hold the counter */
	outb(PIT_CMD, 0xb0);		/* ch2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	outb(PORT_SYS_B, b | SYS_B_GATE2);	/* gate high: count down, speaker off */
}

bool pit_ch2_expired(void)
{
	return inb(PORT_SYS_B) & SYS_B_OUT2;
}

/* Spins allowed per 50 ms chunk before channel 2 is declared dead. */
#define PIT_CH2_SPINS	20000000u

bool pit_delay_ms(unsigned ms)
{
	while (ms) {
		unsigned chunk = ms > 50 ? 50 : ms;
		uint32_t spins = 0;

		pit_ch2_start(chunk * PIT_HZ / 1000);
		while (!pit_ch2_expired()) {
			if (++spins > PIT_CH2_SPINS)
				return false;
		}
		ms -= chunk;
	}
	return true;
}

/*
 * Index then data, with interrupts off in between: an IRQ8 handler that
 * reads register C would otherwise move the index under our feet.
 */
uint8_t cmos_read(uint8_t reg)
{
	uint32_t flags = irq_save();
	uint8_t v;

	outb(CMOS_INDEX, reg);
	v = inb(CMOS_DATA);
	irq_restore(flags);
	return v;
}

void cmos_write(uint8_t reg, uint8_t val)
{
	uint32_t flags = irq_save();

	outb(CMOS_INDEX, reg);
	outb(CMOS_DATA, val);
	irq_restore(flags);
}
