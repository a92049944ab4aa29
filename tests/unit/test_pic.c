/* Unit tests for the 8259A PIC pair through the port-I/O dispatch API. */
#include <string.h>

#include "check.h"
#include "vmm/hw/pic.h"
#include "vmm/io.h"
#include "vmm/irq.h"

static struct io_bus bus;
static struct pic pic;

static void outb(uint32_t port, uint8_t v)
{
	io_out(&bus, port, 1, v);
}

static uint8_t inb(uint32_t port)
{
	return io_in(&bus, port, 1);
}

/* The sequence Linux's init_8259A() and every PC OS uses. */
static void program(uint8_t mbase, uint8_t sbase, uint8_t icw4)
{
	outb(0x20, 0x11);
	outb(0x21, mbase);
	outb(0x21, 0x04);
	outb(0x21, icw4);
	outb(0xa0, 0x11);
	outb(0xa1, sbase);
	outb(0xa1, 0x02);
	outb(0xa1, icw4);
	outb(0x21, 0x00);
	outb(0xa1, 0x00);
}

static void fresh(void)
{
	pic_init(&pic);
	program(0x20, 0x28, 0x01);
}

static uint8_t irr(uint32_t port)
{
	outb(port, 0x0a);
	return inb(port);
}

static uint8_t isr(uint32_t port)
{
	outb(port, 0x0b);
	return inb(port);
}

/*
 * Anything with a side effect (INTA cycles, poll reads) is taken into a
 * variable first, so a failure message shows the value that was checked.
 */
static void expect_inta(int want, const char *what)
{
	int vec = pic_inta(&pic);

	CHECK_EQ(vec, want, what);
}

static void expect_inb(uint32_t port, uint8_t want, const char *what)
{
	uint8_t v = inb(port);

	CHECK_EQ(v, want, what);
}

static void pulse(int irq)
{
	pic_set_irq(&pic, irq, 1);
	pic_set_irq(&pic, irq, 0);
}

static void test_register_and_power_on(void)
{
	CHECK(io_bus_init(&bus, "port", true) == 0, "bus init");
	pic_init(&pic);
	CHECK(pic_register(&pic, &bus) == 0, "pic_register");
	CHECK(pic_register(&pic, &bus) == -1, "second pic_register overlaps");
	expect_inb(0x21, 0xff, "master IMR at power-on");
	expect_inb(0xa1, 0xff, "slave IMR at power-on");
	CHECK(!pic_intr(&pic), "no INTR at power-on");
	pic_set_irq(&pic, 0, 1);
	CHECK(!pic_intr(&pic), "masked request does not raise INTR");
	pic_set_irq(&pic, 0, 0);
	expect_inb(0x20, 0x01, "IRR read by default after reset");
}

static void test_init_sequence(void)
{
	pic_init(&pic);
	program(0x20, 0x28, 0x01);
	expect_inb(0x21, 0x00, "OCW1 after ICWs is the IMR");
	outb(0x21, 0xa5);
	expect_inb(0x21, 0xa5, "IMR read back");
	outb(0xa1, 0x5a);
	expect_inb(0xa1, 0x5a, "slave IMR read back");
	CHECK_EQ(pic.chip[0].vector_base, 0x20, "ICW2 master base");
	CHECK_EQ(pic.chip[1].vector_base, 0x28, "ICW2 slave base");
	CHECK_EQ(pic.chip[0].icw3, 0x04, "ICW3 master cascade mask");
	CHECK_EQ(pic.chip[1].icw3, 0x02, "ICW3 slave id");

	/* ICW1 without IC4: ICW2, ICW3, then OCW1. */
	outb(0x20, 0x10);
	expect_inb(0x21, 0x00, "ICW1 clears the IMR");
	outb(0x21, 0x50);
	outb(0x21, 0x04);
	outb(0x21, 0x3c);
	expect_inb(0x21, 0x3c, "no ICW4 expected without IC4");
	CHECK_EQ(pic.chip[0].vector_base, 0x50, "vector base without ICW4");

	/* Single mode: ICW3 is skipped. */
	outb(0x20, 0x13);
	outb(0x21, 0x68);	/* low bits of ICW2 are ignored in 8086 mode */
	outb(0x21, 0x01);
	outb(0x21, 0xfe);
	expect_inb(0x21, 0xfe, "single mode: ICW4 then OCW1");
	CHECK_EQ(pic.chip[0].vector_base, 0x68, "single mode vector base");
	pic_set_irq(&pic, 0, 1);
	expect_inta(0x68, "single mode vector");
	pic_set_irq(&pic, 0, 0);
}

static void test_edge_and_eoi(void)
{
	fresh();
	pic_set_irq(&pic, 0, 1);
	CHECK(pic_intr(&pic), "IRQ0 rising edge raises INTR");
	CHECK_EQ(irr(0x20), 0x01, "IRR bit 0 set");
	CHECK_EQ(isr(0x20), 0x00, "ISR empty before INTA");
	expect_inb(0x20, 0x00, "OCW3 read select persists (ISR)");
	expect_inta(0x20, "IRQ0 vector");
	CHECK_EQ(isr(0x20), 0x01, "IRQ0 in service");
	CHECK_EQ(irr(0x20), 0x00, "edge request cleared by INTA");
	CHECK(!pic_intr(&pic), "line held high: no new request");
	outb(0x20, 0x20);
	CHECK_EQ(isr(0x20), 0x00, "non-specific EOI clears ISR");
	CHECK(!pic_intr(&pic), "still no edge while line stays high");
	pic_set_irq(&pic, 0, 0);
	pic_set_irq(&pic, 0, 1);
	CHECK(pic_intr(&pic), "new 0->1 edge latched");
	pic_set_irq(&pic, 0, 0);
	CHECK(pic_intr(&pic), "edge stays latched after the line drops");
	expect_inta(0x20, "pulsed IRQ0 delivered");
	outb(0x20, 0x20);

	/* Requests arriving while in service wait for the EOI. */
	pulse(0);
	expect_inta(0x20, "IRQ0 again");
	pulse(0);
	CHECK(!pic_intr(&pic), "same level blocked while in service");
	outb(0x20, 0x20);
	CHECK(pic_intr(&pic), "pending IRQ0 after EOI");
	expect_inta(0x20, "second IRQ0");
	outb(0x20, 0x20);
}

static void test_priority_and_specific_eoi(void)
{
	fresh();
	pulse(3);
	pulse(1);
	CHECK_EQ(irr(0x20), 0x0a, "IRR holds IRQ1 and IRQ3");
	expect_inta(0x21, "IRQ1 beats IRQ3");
	CHECK(!pic_intr(&pic), "IRQ3 blocked by IRQ1 in service");
	pulse(0);
	CHECK(pic_intr(&pic), "IRQ0 nests over IRQ1");
	expect_inta(0x20, "nested IRQ0");
	CHECK_EQ(isr(0x20), 0x03, "IRQ0 and IRQ1 in service");
	outb(0x20, 0x20);
	CHECK_EQ(isr(0x20), 0x02, "non-specific EOI retires the highest (IRQ0)");
	outb(0x20, 0x61);
	CHECK_EQ(isr(0x20), 0x00, "specific EOI for IRQ1");
	expect_inta(0x23, "IRQ3 after both EOIs");
	outb(0x20, 0x63);
	CHECK_EQ(isr(0x20), 0x00, "specific EOI for IRQ3");
	outb(0x20, 0x40);	/* OCW2 no-op */
	CHECK_EQ(isr(0x20), 0x00, "OCW2 no-op");

	/* Masking. */
	outb(0x21, 0x10);
	pulse(4);
	CHECK(!pic_intr(&pic), "masked IRQ4 does not interrupt");
	CHECK_EQ(irr(0x20), 0x10, "masked IRQ4 still in IRR");
	outb(0x21, 0x00);
	CHECK(pic_intr(&pic), "unmasking delivers IRQ4");
	expect_inta(0x24, "IRQ4 vector");
	outb(0x20, 0x20);
}

static void test_spurious(void)
{
	fresh();
	pic.spurious = 0;
	pulse(3);
	CHECK(pic_intr(&pic), "IRQ3 raised");
	outb(0x21, 0x08);	/* masked between INTR and INTA */
	expect_inta(0x27, "vanished request gives spurious IRQ7");
	CHECK_EQ(isr(0x20), 0x00, "spurious IRQ7 is not put in service");
	CHECK_EQ(pic.spurious, 1, "spurious counter");
	outb(0x21, 0x00);
	expect_inta(0x23, "IRQ3 still latched once unmasked");
	outb(0x20, 0x20);
	expect_inta(0x27, "INTA with nothing pending is spurious");

	/* Slave side: the master latched IRQ2, the slave lost its request. */
	pulse(10);
	CHECK(pic_intr(&pic), "IRQ10 raises INTR via cascade");
	outb(0xa1, 0x04);
	CHECK(pic_intr(&pic), "master keeps its latched IRQ2");
	expect_inta(0x2f, "spurious IRQ15 from the slave");
	CHECK_EQ(isr(0x20), 0x04, "master has IRQ2 in service");
	CHECK_EQ(isr(0xa0), 0x00, "slave has nothing in service");
	outb(0x20, 0x20);
	CHECK_EQ(isr(0x20), 0x00, "guest EOIs the master after spurious IRQ15");
	CHECK_EQ(pic.spurious, 3, "spurious counter after IRQ15");
}

static void test_cascade(void)
{
	fresh();
	pulse(12);
	CHECK(pic_intr(&pic), "IRQ12 raises INTR");
	CHECK_EQ(irr(0x20), 0x04, "master IRR sees the cascade input");
	CHECK_EQ(irr(0xa0), 0x10, "slave IRR bit 4");
	expect_inta(0x2c, "IRQ12 vector from the slave");
	CHECK_EQ(isr(0x20), 0x04, "master IRQ2 in service");
	CHECK_EQ(isr(0xa0), 0x10, "slave IRQ12 in service");
	pulse(9);
	CHECK(!pic_intr(&pic), "IRQ9 waits: master IRQ2 in service (fully nested)");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK(pic_intr(&pic), "IRQ9 after both EOIs");
	expect_inta(0x29, "IRQ9 vector");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);

	/* Two slave requests at once: both are delivered in priority order. */
	pulse(14);
	pulse(11);
	expect_inta(0x2b, "IRQ11 first");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK(pic_intr(&pic), "IRQ14 re-latched on the master");
	expect_inta(0x2e, "IRQ14 second");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);

	/* A master IRQ outranks the slave's after IRQ2, and IRQ0/1 before it. */
	pulse(8);
	pulse(3);
	pulse(1);
	expect_inta(0x21, "IRQ1 before the cascade");
	outb(0x20, 0x20);
	expect_inta(0x28, "IRQ8 before IRQ3");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	expect_inta(0x23, "IRQ3 last");
	outb(0x20, 0x20);

	/* The AT bus IRQ2 pin is IRQ9. */
	pulse(2);
	expect_inta(0x29, "IRQ2 is redirected to IRQ9");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK(!pic_intr(&pic), "idle after cascade tests");
}

static void test_sfnm(void)
{
	pic_init(&pic);
	program(0x20, 0x28, 0x11);
	pulse(10);
	expect_inta(0x2a, "IRQ10 under SFNM");
	pulse(9);
	CHECK(pic_intr(&pic), "SFNM: higher slave request nests under IRQ2 in service");
	expect_inta(0x29, "nested IRQ9");
	pulse(11);
	CHECK(!pic_intr(&pic), "lower slave request still blocked by the slave");
	outb(0xa0, 0x20);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	expect_inta(0x2b, "IRQ11 after EOIs");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
}

static void test_aeoi(void)
{
	pic_init(&pic);
	program(0x20, 0x28, 0x03);
	pulse(5);
	expect_inta(0x25, "AEOI IRQ5 vector");
	CHECK_EQ(isr(0x20), 0x00, "AEOI leaves nothing in service");
	pulse(6);
	CHECK(pic_intr(&pic), "lower priority IRQ6 not blocked under AEOI");
	expect_inta(0x26, "AEOI IRQ6");
	pulse(13);
	expect_inta(0x2d, "AEOI on both chips: IRQ13");
	CHECK_EQ(isr(0x20) | isr(0xa0), 0x00, "AEOI cascade leaves ISRs empty");

	/* Rotate in AEOI mode: the serviced input becomes lowest priority. */
	outb(0x20, 0x80);
	pulse(1);
	expect_inta(0x21, "IRQ1 with AEOI rotation");
	pulse(0);
	pulse(4);
	expect_inta(0x24, "after rotation IRQ4 outranks IRQ0");
	outb(0x20, 0x00);	/* rotate in AEOI off */
	expect_inta(0x20, "IRQ0");
}

static void test_rotation(void)
{
	fresh();
	outb(0x20, 0xc3);	/* IRQ3 lowest, IRQ4 highest */
	pulse(1);
	pulse(5);
	expect_inta(0x25, "set priority: IRQ5 beats IRQ1");
	outb(0x20, 0xa0);	/* rotate on non-specific EOI */
	CHECK_EQ(isr(0x20), 0x00, "rotating EOI clears ISR");
	pulse(6);
	expect_inta(0x26, "IRQ6 now highest after rotation");
	outb(0x20, 0xe6);	/* rotate on specific EOI: IRQ6 lowest */
	CHECK_EQ(isr(0x20), 0x00, "rotating specific EOI clears ISR");
	pulse(6);
	expect_inta(0x21, "IRQ1 beats IRQ6 (lowest)");
	outb(0x20, 0x20);
	expect_inta(0x26, "then IRQ6");
	outb(0x20, 0x20);
	outb(0x20, 0xc7);	/* back to IRQ0 highest */
}

static void test_special_mask(void)
{
	fresh();
	pulse(1);
	expect_inta(0x21, "IRQ1 in service");
	pulse(3);
	CHECK(!pic_intr(&pic), "IRQ3 blocked by IRQ1");
	outb(0x20, 0x68);	/* set special mask mode */
	outb(0x21, 0x02);	/* mask the in-service level */
	CHECK(pic_intr(&pic), "special mask mode enables lower IRQ3");
	expect_inta(0x23, "IRQ3 under special mask");
	outb(0x20, 0x63);
	outb(0x20, 0x48);	/* reset special mask mode */
	outb(0x21, 0x00);
	pulse(4);
	CHECK(!pic_intr(&pic), "normal mode again: IRQ1 blocks IRQ4");
	outb(0x20, 0x61);
	expect_inta(0x24, "IRQ4 after EOI");
	outb(0x20, 0x20);
}

static void test_poll(void)
{
	fresh();
	outb(0x20, 0x0c);
	expect_inb(0x20, 0x00, "poll with nothing pending");
	pulse(5);
	outb(0x20, 0x0c);
	expect_inb(0x20, 0x85, "poll returns 0x80|level");
	CHECK_EQ(isr(0x20), 0x20, "poll acknowledges: IRQ5 in service");
	CHECK_EQ(irr(0x20), 0x00, "poll clears the edge request");
	outb(0x20, 0x20);
	pulse(7);
	outb(0x20, 0x0c);
	expect_inb(0x21, 0x87, "poll answered on the data port too");
	expect_inb(0x21, 0x00, "poll is one-shot: IMR again");
	outb(0x20, 0x20);

	/* Polling through the cascade. */
	pulse(13);
	outb(0x20, 0x0c);
	expect_inb(0x20, 0x82, "master poll reports the cascade");
	outb(0xa0, 0x0c);
	expect_inb(0xa0, 0x85, "slave poll reports IRQ13");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK(!pic_intr(&pic), "idle after polling");
}

static void test_level_elcr(void)
{
	fresh();
	outb(0x4d0, 0xff);
	expect_inb(0x4d0, 0xf8, "ELCR master: IRQ0-2 forced edge");
	outb(0x4d1, 0xff);
	expect_inb(0x4d1, 0xde, "ELCR slave: IRQ8/13 forced edge");
	outb(0x4d0, 0x08);
	outb(0x4d1, 0x00);
	pic_set_irq(&pic, 3, 1);
	expect_inta(0x23, "level IRQ3");
	outb(0x20, 0x20);
	CHECK(pic_intr(&pic), "level still asserted: requested again after EOI");
	pic_set_irq(&pic, 3, 0);
	CHECK(!pic_intr(&pic), "level request withdrawn with the line");
	CHECK_EQ(irr(0x20), 0x00, "IRR follows a level input");
	outb(0x4d0, 0x00);

	/* ICW1 LTIM makes every input of the chip level-triggered. */
	outb(0x20, 0x19);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0x21, 0x00);
	pic_set_irq(&pic, 5, 1);
	pic_set_irq(&pic, 5, 0);
	CHECK(!pic_intr(&pic), "LTIM: a pulse gone before INTA leaves no request");
}

static void test_irq_line_and_counters(void)
{
	struct irq_line line = { .set = pic_irq_line, .opaque = &pic };

	fresh();
	memset(pic.raised, 0, sizeof(pic.raised));
	memset(pic.acked, 0, sizeof(pic.acked));
	irq_set(&line, 4, 1);
	irq_set(&line, 4, 1);
	irq_set(&line, 4, 0);
	CHECK(pic_intr(&pic), "irq_line drives the PIC");
	CHECK_EQ(pic.raised[4], 1, "one rising edge counted");
	expect_inta(0x24, "IRQ4 via irq_line");
	CHECK_EQ(pic.acked[4], 1, "acked counter");
	outb(0x20, 0x20);
	irq_set(&line, 15, 1);
	irq_set(&line, 15, 0);
	expect_inta(0x2f, "IRQ15 real request");
	CHECK_EQ(pic.acked[15], 1, "acked IRQ15 counted");
	CHECK_EQ(isr(0xa0), 0x80, "real IRQ15 in service");
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	pic_set_irq(&pic, 16, 1);
	pic_set_irq(&pic, -1, 1);
	CHECK(!pic_intr(&pic), "out-of-range IRQs ignored");

	pic_reset(&pic);
	expect_inb(0x21, 0xff, "pic_reset masks everything");
	CHECK(!pic_intr(&pic), "pic_reset: no INTR");
}

static void test_wide_access(void)
{
	fresh();
	/* A 16-bit out to 0x20 is split: 0x20 gets the low byte, 0x21 the high. */
	io_out(&bus, 0x20, 2, 0x5a0b);
	expect_inb(0x21, 0x5a, "word write reached the IMR");
	pulse(0);
	CHECK_EQ(io_in(&bus, 0x20, 2) & 0xff, 0x00, "word read: ISR low byte");
	CHECK_EQ(io_in(&bus, 0x20, 2) >> 8, 0x5a, "word read: IMR high byte");
}

int main(void)
{
	test_register_and_power_on();
	test_init_sequence();
	test_edge_and_eoi();
	test_priority_and_specific_eoi();
	test_spurious();
	test_cascade();
	test_sfnm();
	test_aeoi();
	test_rotation();
	test_special_mask();
	test_poll();
	test_level_elcr();
	test_irq_line_and_counters();
	test_wide_access();
	io_bus_destroy(&bus);
	return check_done();
}
