/* 16550A UART model: register file, 16-byte receive FIFO, loopback and interrupts. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "vmm/hw/uart.h"
#include "vmm/log.h"

/*
 * Transmission is instantaneous: a byte written to THR is on the wire (or in
 * the receiver, in loopback) before the write returns, so THRE and TEMT are
 * always set and there is no transmit FIFO to model.  The receiver is real: a
 * 16-byte FIFO (1 byte with FIFOs off) that the host side fills at whatever
 * rate the guest drains it, which gives the host flow control for free.
 *
 * The character-timeout interrupt fires when fewer bytes than the trigger
 * level wait in the FIFO and nothing else arrives.  Host bytes arrive in
 * bursts, so after any burst "nothing else arrives" is already true: the
 * timeout is reported at once instead of after four character times.
 */

static const uint8_t rx_trigger[4] = { 1, 4, 8, 14 };

static unsigned rx_capacity(const struct uart *u)
{
	return (u->fcr & UART_FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static void rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->lsr &= ~UART_LSR_DR;
}

static void rx_push(struct uart *u, uint8_t b)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->lsr |= UART_LSR_OE;
		u->overruns++;
		/*
		 * Without FIFOs the new character overwrites the holding
		 * register; with them the FIFO is kept and the character in the
		 * shift register is the one lost.
		 */
		if (!(u->fcr & UART_FCR_ENABLE))
			u->rx[u->rx_head] = b;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
	u->rx_count++;
	u->rx_bytes++;
	u->lsr |= UART_LSR_DR;
}

static uint8_t rx_pop(struct uart *u)
{
	uint8_t b;

	if (!u->rx_count)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	if (!--u->rx_count)
		u->lsr &= ~UART_LSR_DR;
	return b;
}

/* The highest-priority pending source, as IIR bits 3:0. */
static uint8_t iir_id(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && (u->lsr & UART_LSR_ERRS))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		if (!(u->fcr & UART_FCR_ENABLE) || u->rx_count >= rx_trigger[u->fcr >> 6])
			return UART_IIR_RDI;
		return UART_IIR_CTI;
	}
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & UART_MSR_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/*
 * On a PC the UART's INTR pin reaches the PIC through a buffer enabled by
 * OUT2, which is why drivers set OUT2 before expecting interrupts.  In
 * loopback the real OUT2 pin goes inactive; we keep gating on the MCR bit
 * (as Bochs does) so a guest can test loopback interrupts.  The PIC is edge
 * triggered, so only level changes are driven onto the line.
 */
static void update_irq(struct uart *u)
{
	int level = iir_id(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	irq_set(u->irq, u->irq_nr, level);
}

/* Recompute the modem inputs and latch the delta bits of what changed. */
static void update_msr(struct uart *u)
{
	uint8_t in, old = u->msr, chg;

	if (u->mcr & UART_MCR_LOOP) {
		in = 0;
		if (u->mcr & UART_MCR_RTS)
			in |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_DTR)
			in |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_OUT1)
			in |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			in |= UART_MSR_DCD;
	} else {
		/* A terminal is always attached: carrier, DSR and CTS asserted. */
		in = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	}
	chg = (old ^ in) & 0xf0;
	u->msr = in | (old & UART_MSR_DELTA);
	if (chg & UART_MSR_CTS)
		u->msr |= UART_MSR_DCTS;
	if (chg & UART_MSR_DSR)
		u->msr |= UART_MSR_DDSR;
	if (chg & UART_MSR_DCD)
		u->msr |= UART_MSR_DDCD;
	if ((old & UART_MSR_RI) && !(in & UART_MSR_RI))
		u->msr |= UART_MSR_TERI;
}

void uart_flush(struct uart *u)
{
	size_t off = 0;

	while (off < u->out_len && u->out_fd >= 0) {
		ssize_t n = write(u->out_fd, u->out + off, u->out_len - off);

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			/* Someone made the fd non-blocking: wait rather than drop output. */
			struct pollfd p = { .fd = u->out_fd, .events = POLLOUT };

			poll(&p, 1, 1000);
		} else {
			bt86_warn("serial output: %s; discarding further output",
				  n < 0 ? strerror(errno) : "short write");
			u->out_fd = -1;
		}
	}
	u->out_len = 0;
}

static void tx_byte(struct uart *u, uint8_t b)
{
	u->tx_bytes++;
	if (u->mcr & UART_MCR_LOOP) {
		rx_push(u, b);
		return;
	}
	if (u->out_fd < 0)
		return;
	u->out[u->out_len++] = b;
	if (b == '\n' || u->out_len == sizeof(u->out))
		uart_flush(u);
}

static uint8_t uart_in(struct uart *u, unsigned reg)
{
	uint8_t v = 0xff, id;

	switch (reg) {
	case UART_RBR:
		if (u->lcr & UART_LCR_DLAB)
			v = u->dll;
		else
			v = rx_pop(u);
		break;
	case UART_IER:
		v = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		id = iir_id(u);
		v = id | ((u->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
		/* Reading IIR is what acknowledges a THRE interrupt. */
		if (id == UART_IIR_THRI)
			u->thr_ipending = false;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr | UART_LSR_THRE | UART_LSR_TEMT;
		u->lsr &= ~UART_LSR_ERRS;
		break;
	case UART_MSR:
		v = u->msr;
		u->msr &= ~UART_MSR_DELTA;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	return v;
}

static void uart_out(struct uart *u, unsigned reg, uint8_t v)
{
	uint8_t old;

	switch (reg) {
	case UART_THR:
		if (u->lcr & UART_LCR_DLAB) {
			u->dll = v;
			break;
		}
		/*
		 * The holding register is momentarily full: drop the THRE
		 * interrupt so the edge-triggered PIC sees a fresh edge when
		 * it empties again.
		 */
		u->thr_ipending = false;
		update_irq(u);
		tx_byte(u, v);
		u->thr_ipending = true;
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = v;
			break;
		}
		old = u->ier;
		u->ier = v & UART_IER_MASK;
		/* Enabling ETBEI with THR empty raises THRE at once. */
		if ((u->ier & UART_IER_THRI) && !(old & UART_IER_THRI))
			u->thr_ipending = true;
		else if (!(u->ier & UART_IER_THRI))
			u->thr_ipending = false;
		break;
	case UART_FCR:
		/* Toggling FIFO enable empties the FIFOs. */
		if ((v ^ u->fcr) & UART_FCR_ENABLE)
			rx_clear(u);
		if (!(v & UART_FCR_ENABLE)) {
			u->fcr = 0;
			break;
		}
		if (v & UART_FCR_CLR_RX)
			rx_clear(u);
		u->fcr = v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIG);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & UART_MCR_MASK;
		update_msr(u);
		break;
	case UART_LSR:
		/* Writable only in factory test mode; ignore. */
		break;
	case UART_MSR:
		break;
	case UART_SCR:
		u->scr = v;
		break;
	}
}

static void uart_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct uart *u = dev;
	unsigned reg = addr & (UART_NR_PORTS - 1);

	(void)len;	/* registered byte-wide: the bus splits wider accesses */
	if (is_write)
		uart_out(u, reg, data[0]);
	else
		data[0] = uart_in(u, reg);
	update_irq(u);
}

size_t uart_rx_room(const struct uart *u)
{
	/* In loopback the serial input pin is disconnected from the receiver. */
	if (u->mcr & UART_MCR_LOOP)
		return 0;
	return rx_capacity(u) - u->rx_count;
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t n)
{
	size_t room = uart_rx_room(u), i;

	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		rx_push(u, buf[i]);
	update_irq(u);
	return n;
}

void uart_init(struct uart *u, const struct irq_line *irq, int irq_nr, int out_fd)
{
	memset(u, 0, sizeof(*u));
	u->irq = irq;
	u->irq_nr = irq_nr;
	u->out_fd = out_fd;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	/* 9600 baud, what a BIOS would have programmed; no BIOS runs here. */
	u->dll = 0x0c;
	u->dlm = 0;
	update_msr(u);
	u->msr &= ~UART_MSR_DELTA;
}

int uart_register(struct uart *u, struct io_bus *bus, uint16_t base)
{
	return io_register(bus, base, UART_NR_PORTS, IO_W8, "uart16550", uart_io, u);
}
