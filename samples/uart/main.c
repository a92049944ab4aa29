/* uart: guest-side self-test of the 16550A on COM1: registers, DLAB, loopback, FIFO, THRE IRQ4. */
#include "rt.h"
#include "desc.h"
#include "pc.h"

#define COM1		SERIAL_COM1
#define UART_RBR	0	/* receive buffer (read, DLAB=0) */
#define UART_THR	0	/* transmit holding (write, DLAB=0) */
#define UART_DLL	0	/* divisor latch low (DLAB=1) */
#define UART_IER	1	/* interrupt enable (DLAB=0) */
#define UART_DLM	1	/* divisor latch high (DLAB=1) */
#define UART_IIR	2	/* interrupt identification (read) */
#define UART_FCR	2	/* FIFO control (write) */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */
#define UART_MSR	6	/* modem status */
#define UART_SCR	7	/* scratch */

#define IER_ERBFI	0x01	/* received data available interrupt */
#define IER_ETBEI	0x02	/* THR empty interrupt */
#define IER_ELSI	0x04	/* line status interrupt */
#define IIR_NO_INT	0x01	/* no interrupt pending */
#define IIR_ID_MASK	0x0e
#define IIR_ID_THRE	0x02	/* THR empty */
#define IIR_FIFO	0xc0	/* FIFOs enabled */
#define FCR_ENABLE	0x01
#define FCR_CLR_RX	0x02
#define FCR_CLR_TX	0x04
#define LCR_8N1		0x03
#define LCR_8E1		0x1b	/* 8 bits, even parity, 1 stop */
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08	/* gates IRQ4 on PCs */
#define MCR_LOOP	0x10
#define LSR_DR		0x01	/* data ready */
#define LSR_OE		0x02	/* overrun error */
#define LSR_THRE	0x20
#define LSR_TEMT	0x40	/* transmitter empty */
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define SPINS		1000000	/* bound on every status poll */

/*
 * The console is this UART, so nothing can be printed while the tests
 * reprogram it: results are collected here and reported afterwards.
 */
struct result {
	const char *name;
	bool ok;
};
static struct result results[32];
static unsigned nresults;
static char notes[512];
static size_t notes_len;

static void check(bool ok, const char *name)
{
	if (nresults < ARRAY_SIZE(results))
		results[nresults++] = (struct result){ name, ok };
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(notes + notes_len, sizeof(notes) - notes_len, fmt, ap);
	va_end(ap);
	if (n > 0 && notes_len + n < sizeof(notes))
		notes_len += n;
}

static uint8_t rd(int reg)
{
	return inb(COM1 + reg);
}

static void wr(int reg, uint8_t v)
{
	outb(COM1 + reg, v);
}

static bool wait_lsr(uint8_t mask, bool set)
{
	int i;

	for (i = 0; i < SPINS; i++) {
		if (!!(rd(UART_LSR) & mask) == set)
			return true;
	}
	return false;
}

static void test_registers(void)
{
	uint8_t a, b, c;

	wr(UART_SCR, 0x55);
	a = rd(UART_SCR);
	wr(UART_SCR, 0xaa);
	b = rd(UART_SCR);
	check(a == 0x55 && b == 0xaa, "uart: scratch register round trip");

	wr(UART_LCR, LCR_8E1);
	a = rd(UART_LCR);
	wr(UART_LCR, LCR_8N1);
	check(a == LCR_8E1 && rd(UART_LCR) == LCR_8N1, "uart: LCR reads back");

	wr(UART_LCR, LCR_DLAB | LCR_8N1);
	wr(UART_DLL, 0x0c);		/* 9600 baud */
	wr(UART_DLM, 0x01);
	a = rd(UART_DLL);
	b = rd(UART_DLM);
	c = rd(UART_LCR);
	wr(UART_DLL, 0x01);		/* back to 115200 */
	wr(UART_DLM, 0x00);
	wr(UART_LCR, LCR_8N1);
	note("divisor 0x%02x%02x LCR 0x%02x; ", b, a, c);
	check(a == 0x0c && b == 0x01 && c == (LCR_DLAB | LCR_8N1),
	      "uart: divisor latch round trip with DLAB=1");
	check(rd(UART_IER) == 0, "uart: IER (not DLM) visible again with DLAB=0");

	wr(UART_IER, IER_ERBFI | IER_ELSI);
	a = rd(UART_IER);
	wr(UART_IER, 0);
	check(a == (IER_ERBFI | IER_ELSI), "uart: IER reads back");

	wr(UART_MCR, MCR_DTR | MCR_OUT1 | MCR_OUT2);
	a = rd(UART_MCR);
	wr(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	check(a == (MCR_DTR | MCR_OUT1 | MCR_OUT2), "uart: MCR reads back");

	a = rd(UART_LSR);
	note("idle LSR 0x%02x; ", a);
	check((a & (LSR_THRE | LSR_TEMT | LSR_DR)) == (LSR_THRE | LSR_TEMT),
	      "uart: idle LSR has THRE and TEMT, no data");

	a = rd(UART_IIR);
	wr(UART_FCR, 0);
	b = rd(UART_IIR);
	wr(UART_FCR, FCR_ENABLE | FCR_CLR_RX | FCR_CLR_TX);
	note("IIR 0x%02x (FIFO) 0x%02x (no FIFO); ", a, b);
	check(a == (IIR_FIFO | IIR_NO_INT) && b == IIR_NO_INT,
	      "uart: IIR shows the FIFO state and no pending interrupt");
}

static void test_loopback(void)
{
	uint8_t got[16], lsr_before, lsr_after, msr_all, msr_dtr;
	bool ok = true;
	unsigned i;

	wr(UART_MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
	wr(UART_FCR, FCR_ENABLE | FCR_CLR_RX | FCR_CLR_TX);
	msr_all = rd(UART_MSR);
	wr(UART_MCR, MCR_LOOP | MCR_DTR);
	msr_dtr = rd(UART_MSR);
	note("loopback MSR 0x%02x / 0x%02x; ", msr_all, msr_dtr);
	check((msr_all & 0xf0) == (MSR_CTS | MSR_DSR | MSR_RI | MSR_DCD) &&
	      (msr_dtr & 0xf0) == MSR_DSR,
	      "uart: loopback routes DTR/RTS/OUT1/OUT2 to DSR/CTS/RI/DCD");

	lsr_before = rd(UART_LSR);
	for (i = 0; i < sizeof(got); i++) {
		ok = wait_lsr(LSR_THRE, true) && ok;
		wr(UART_THR, 0x30 + i * 7);
	}
	for (i = 0; i < sizeof(got); i++) {
		ok = wait_lsr(LSR_DR, true) && ok;
		got[i] = rd(UART_RBR);
	}
	lsr_after = rd(UART_LSR);
	for (i = 0; i < sizeof(got); i++)
		ok = ok && got[i] == 0x30 + i * 7;
	note("LSR 0x%02x before, 0x%02x after; ", lsr_before, lsr_after);
	check(ok, "uart: loopback returns 16 bytes in order through the FIFO");
	check(!(lsr_before & LSR_DR) && !(lsr_after & LSR_DR),
	      "uart: LSR DR clear once the FIFO is drained");

	/* Without FIFOs a second byte before the first is read overruns. */
	wr(UART_FCR, 0);
	wr(UART_THR, 0x11);
	wait_lsr(LSR_DR, true);
	wait_lsr(LSR_THRE, true);
	wr(UART_THR, 0x22);
	/* No LSR polling here: reading LSR would clear the OE under test. */
	pit_delay_ms(2);
	lsr_before = rd(UART_LSR);
	lsr_after = rd(UART_LSR);
	rd(UART_RBR);
	note("overrun LSR 0x%02x then 0x%02x; ", lsr_before, lsr_after);
	check((lsr_before & (LSR_OE | LSR_DR)) == (LSR_OE | LSR_DR) && !(lsr_after & LSR_OE),
	      "uart: overrun sets LSR OE without FIFOs; reading LSR clears it");

	wr(UART_FCR, FCR_ENABLE | FCR_CLR_RX | FCR_CLR_TX);
	wr(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	while (rd(UART_LSR) & LSR_DR)
		rd(UART_RBR);
}

static volatile unsigned irq4_count;
static volatile uint8_t irq4_iir;

static void irq4_handler(struct trap_frame *f)
{
	(void)f;
	/* Reading IIR with THRE as the source acknowledges it. */
	if (irq4_count++ == 0)
		irq4_iir = rd(UART_IIR);
	wr(UART_IER, 0);
	pic_eoi(4);
}

static void test_thre_irq(void)
{
	uint8_t a, b;
	bool timer_ok;

	trap_set_handler(IRQ_BASE_MASTER + 4, irq4_handler);
	cli();
	wait_lsr(LSR_TEMT, true);
	pic_unmask(4);
	/* THR is empty, so enabling ETBEI raises the THRE interrupt at once. */
	wr(UART_IER, IER_ETBEI);
	sti();
	timer_ok = pit_delay_ms(20);
	cli();
	pic_mask(4);
	note("IRQ4 x%u, IIR 0x%02x; ", irq4_count, irq4_iir);
	check(timer_ok && irq4_count == 1, "uart: THRE interrupt arrives once on IRQ4");
	check((irq4_iir & IIR_ID_MASK) == IIR_ID_THRE && !(irq4_iir & IIR_NO_INT),
	      "uart: IIR identifies the THRE interrupt");

	/* With IRQ4 masked: IIR shows THRE once, and that read clears it. */
	wr(UART_IER, IER_ETBEI);
	a = rd(UART_IIR);
	b = rd(UART_IIR);
	wr(UART_IER, 0);
	note("IIR 0x%02x then 0x%02x", a, b);
	check((a & 0x0f) == IIR_ID_THRE && (b & 0x0f) == IIR_NO_INT,
	      "uart: reading IIR clears a pending THRE interrupt");
	sti();
}

int main(void)
{
	unsigned i;

	printf("uart: 16550A self-test on COM1 (results follow once the console is restored)\n");
	/* Let the banner leave the transmitter before it is reprogrammed. */
	wait_lsr(LSR_TEMT, true);
	serial_set_enabled(false);

	test_registers();
	test_loopback();
	test_thre_irq();

	serial_init();
	serial_set_enabled(true);
	report_info("%s", notes);
	for (i = 0; i < nresults; i++)
		report(results[i].ok, results[i].name);
	report(trap_stray_irqs == 0, "uart: no stray interrupts");
	return 0;
}
