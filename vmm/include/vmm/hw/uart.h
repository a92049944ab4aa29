/* 16550A UART: COM1 for the guest, with the host terminal or a file on the other side. */
#ifndef VMM_HW_UART_H
#define VMM_HW_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/io.h"
#include "vmm/irq.h"

#define UART_NR_PORTS	8
#define UART_FIFO_SIZE	16
#define UART_OUTBUF	256

/* Register offsets from the base port. */
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

#define UART_IER_RDI	0x01	/* received data available */
#define UART_IER_THRI	0x02	/* transmit holding register empty */
#define UART_IER_RLSI	0x04	/* receiver line status */
#define UART_IER_MSI	0x08	/* modem status */
#define UART_IER_MASK	0x0f	/* bits a 16550A implements */

#define UART_IIR_NO_INT	0x01	/* no interrupt pending */
#define UART_IIR_MSI	0x00	/* modem status change */
#define UART_IIR_THRI	0x02	/* transmit holding register empty */
#define UART_IIR_RDI	0x04	/* received data at trigger level */
#define UART_IIR_RLSI	0x06	/* receiver line status */
#define UART_IIR_CTI	0x0c	/* character timeout */
#define UART_IIR_FIFO	0xc0	/* FIFOs enabled */

#define UART_FCR_ENABLE	0x01	/* FIFO enable */
#define UART_FCR_CLR_RX	0x02	/* clear receive FIFO */
#define UART_FCR_CLR_TX	0x04	/* clear transmit FIFO */
#define UART_FCR_DMA	0x08	/* DMA mode select */
#define UART_FCR_TRIG	0xc0	/* receive trigger level: 1, 4, 8, 14 */

#define UART_LCR_WLEN	0x03	/* word length */
#define UART_LCR_STOP	0x04	/* stop bits */
#define UART_LCR_PARITY	0x38	/* parity enable, even, stick */
#define UART_LCR_SBC	0x40	/* set break */
#define UART_LCR_DLAB	0x80	/* divisor latch access */

#define UART_MCR_DTR	0x01	/* data terminal ready */
#define UART_MCR_RTS	0x02	/* request to send */
#define UART_MCR_OUT1	0x04	/* user output 1 */
#define UART_MCR_OUT2	0x08	/* user output 2: gates the IRQ on a PC */
#define UART_MCR_LOOP	0x10	/* loopback */
#define UART_MCR_MASK	0x1f	/* bits a 16550A implements */

#define UART_LSR_DR	0x01	/* data ready */
#define UART_LSR_OE	0x02	/* overrun error */
#define UART_LSR_PE	0x04	/* parity error */
#define UART_LSR_FE	0x08	/* framing error */
#define UART_LSR_BI	0x10	/* break interrupt */
#define UART_LSR_THRE	0x20	/* transmit holding register empty */
#define UART_LSR_TEMT	0x40	/* transmitter empty */
#define UART_LSR_FIFOE	0x80	/* error in receive FIFO */
#define UART_LSR_ERRS	(UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS	0x01	/* delta clear to send */
#define UART_MSR_DDSR	0x02	/* delta data set ready */
#define UART_MSR_TERI	0x04	/* trailing edge ring indicator */
#define UART_MSR_DDCD	0x08	/* delta data carrier detect */
#define UART_MSR_CTS	0x10	/* clear to send */
#define UART_MSR_DSR	0x20	/* data set ready */
#define UART_MSR_RI	0x40	/* ring indicator */
#define UART_MSR_DCD	0x80	/* data carrier detect */
#define UART_MSR_DELTA	0x0f	/* all delta bits */

struct uart {
	const struct irq_line *irq;
	int irq_nr;
	int irq_level;		/* what we last drove onto the line */

	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint8_t dll, dlm;
	bool thr_ipending;	/* THRE interrupt armed, until IIR read or THR write */

	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;

	int out_fd;		/* -1 discards */
	uint8_t out[UART_OUTBUF];
	size_t out_len;

	uint64_t tx_bytes, rx_bytes, overruns;
};

/* out_fd -1 discards output; the UART never closes out_fd. */
void uart_init(struct uart *u, const struct irq_line *irq, int irq_nr, int out_fd);
/* Claim the 8 ports at base; returns 0 or -1. */
int uart_register(struct uart *u, struct io_bus *bus, uint16_t base);

/* Host -> guest bytes; returns how many the receiver accepted. */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t n);
size_t uart_rx_room(const struct uart *u);

/* Write out buffered guest output; the run loop calls this when it polls. */
void uart_flush(struct uart *u);

#endif
