/* Guest runtime: polled 16550A driver for the COM1 console. */
#include "rt.h"

#define UART_THR	0	/* transmit holding (DLAB=0) */
#define UART_IER	1	/* interrupt enable (DLAB=0) */
#define UART_DLL	0	/* divisor latch low (DLAB=1) */
#define UART_DLM	1	/* divisor latch high (DLAB=1) */
#define UART_FCR	2	/* FIFO control (write) */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */

#define LCR_8N1		0x03	/* 8 data bits, no parity, 1 stop bit */
#define LCR_DLAB	0x80	/* divisor latch access */
#define FCR_ENABLE	0x07	/* enable FIFOs, clear RX and TX */
#define FCR_TRIG14	0xc0	/* RX trigger level 14 bytes */
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT2	0x08	/* gates the IRQ line on PCs */
#define LSR_THRE	0x20	/* transmit holding register empty */

/*
 * Bound on THRE polling: a UART that never drains must not hang the guest.
 * Each inb is a VM exit under bt86, so this is generous wall-clock time.
 */
#define THRE_SPINS	100000

static bool serial_enabled = true;

void serial_init(void)
{
	outb(SERIAL_COM1 + UART_IER, 0);		/* polled: no interrupts */
	outb(SERIAL_COM1 + UART_LCR, LCR_DLAB);
	outb(SERIAL_COM1 + UART_DLL, 1);		/* 115200 = 115200 / 1 */
	outb(SERIAL_COM1 + UART_DLM, 0);
	outb(SERIAL_COM1 + UART_LCR, LCR_8N1);
	outb(SERIAL_COM1 + UART_FCR, FCR_ENABLE | FCR_TRIG14);
	outb(SERIAL_COM1 + UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
}

void serial_set_enabled(bool on)
{
	serial_enabled = on;
}

void serial_putc(char c)
{
	int i;

	if (!serial_enabled)
		return;
	for (i = 0; i < THRE_SPINS; i++) {
		if (inb(SERIAL_COM1 + UART_LSR) & LSR_THRE)
			break;
		cpu_relax();
	}
	outb(SERIAL_COM1 + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		serial_putc(s[i]);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
