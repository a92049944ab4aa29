/* Unit tests for the 16550A UART through the port-I/O dispatcher. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vmm/hw/uart.h"
#include "vmm/io.h"

#define BASE 0x3f8


static struct irq_rec rec;
static struct irq_line line = { irq_rec_set, &rec };
static struct io_bus bus;
static struct uart u;
static int pipefd[2];

static uint8_t rd(unsigned reg)
{
	return (uint8_t)io_in(&bus, BASE + reg, 1);
}

static void wr(unsigned reg, uint8_t v)
{
	io_out(&bus, BASE + reg, 1, v);
}

static void setup(int out_fd)
{
	memset(&rec, 0, sizeof(rec));
	io_bus_destroy(&bus);
	io_bus_init(&bus, "port", true);
	uart_init(&u, &line, 4, out_fd);
	CHECK(uart_register(&u, &bus, BASE) == 0, "register");
}

static void test_reset_values(void)
{
	setup(-1);
	CHECK_EQ(rd(UART_IER), 0, "IER after reset");
	CHECK_EQ(rd(UART_IIR), 0x01, "IIR after reset");
	CHECK_EQ(rd(UART_LCR), 0, "LCR after reset");
	CHECK_EQ(rd(UART_MCR), 0, "MCR after reset");
	CHECK_EQ(rd(UART_LSR), 0x60, "LSR after reset: THRE|TEMT");
	CHECK_EQ(rd(UART_MSR), 0xb0, "MSR: DCD|DSR|CTS, no deltas");
	CHECK(uart_register(&u, &bus, BASE + 4) < 0, "overlapping register refused");
	CHECK_EQ(io_in(&bus, BASE + 8, 1), 0xff, "port past the UART unclaimed");
}

static void test_scratch_and_dlab(void)
{
	setup(-1);
	wr(UART_SCR, 0x5a);
	CHECK_EQ(rd(UART_SCR), 0x5a, "SCR holds a byte");
	wr(UART_IER, 0x0f);
	wr(UART_LCR, 0x83);
	CHECK_EQ(rd(UART_DLL), 0x0c, "DLL default 9600 baud");
	CHECK_EQ(rd(UART_DLM), 0, "DLM default");
	wr(UART_DLL, 0x01);
	wr(UART_DLM, 0x02);
	CHECK_EQ(rd(UART_DLL), 0x01, "DLL written");
	CHECK_EQ(rd(UART_DLM), 0x02, "DLM written");
	CHECK_EQ(rd(UART_LCR), 0x83, "LCR readback");
	wr(UART_LCR, 0x03);
	CHECK_EQ(rd(UART_IER), 0x0f, "IER unaffected by DLM write");
	wr(UART_IER, 0xff);
	CHECK_EQ(rd(UART_IER), 0x0f, "IER upper bits read 0");
	wr(UART_MCR, 0xff);
	CHECK_EQ(rd(UART_MCR), 0x1f, "MCR upper bits read 0");
}

static void test_output(void)
{
	char buf[64];
	ssize_t n;

	CHECK(pipe(pipefd) == 0, "pipe");
	setup(pipefd[1]);
	wr(UART_THR, 'h');
	wr(UART_THR, 'i');
	CHECK_EQ(u.out_len, 2, "bytes buffered until newline");
	wr(UART_THR, '\n');
	n = read(pipefd[0], buf, sizeof(buf));
	CHECK(n == 3 && !memcmp(buf, "hi\n", 3), "newline flushes output");
	wr(UART_THR, 'x');
	uart_flush(&u);
	n = read(pipefd[0], buf, sizeof(buf));
	CHECK(n == 1 && buf[0] == 'x', "uart_flush writes the rest");
	for (int i = 0; i < UART_OUTBUF; i++)
		wr(UART_THR, 'a');
	CHECK_EQ(u.out_len, 0, "full buffer flushed");
	n = read(pipefd[0], buf, sizeof(buf));
	CHECK(n > 0, "full buffer reached the fd");
	close(pipefd[0]);
	close(pipefd[1]);
	CHECK_EQ(u.tx_bytes, 4 + UART_OUTBUF, "tx byte count");
}

static void test_thre_irq(void)
{
	setup(-1);
	wr(UART_IER, UART_IER_THRI);
	CHECK_EQ(rd(UART_IIR), 0x02, "enabling ETBEI with THR empty gives THRE");
	CHECK_EQ(rec.level[4], 0, "no IRQ without OUT2");
	CHECK_EQ(rd(UART_IIR), 0x01, "reading IIR cleared THRE");
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, 0);
	wr(UART_IER, UART_IER_THRI);
	CHECK_EQ(rec.level[4], 1, "THRE re-armed by IER write, IRQ with OUT2");
	CHECK_EQ(rec.rises[4], 1, "one rising edge");
	rd(UART_IIR);
	CHECK_EQ(rec.level[4], 0, "IIR read lowers the line");
	wr(UART_THR, 'a');
	CHECK_EQ(rec.rises[4], 2, "THR write gives a new edge");
	CHECK_EQ(rec.falls[4], 1, "line was low before");
	wr(UART_THR, 'b');
	CHECK_EQ(rec.rises[4], 3, "each THR write is a new edge");
	CHECK_EQ(rec.falls[4], 2, "with a fall in between");
	wr(UART_MCR, 0);
	CHECK_EQ(rec.level[4], 0, "clearing OUT2 gates the line");
	CHECK_EQ(rd(UART_IIR), 0x02, "still pending in IIR");
	wr(UART_THR, 'c');
	wr(UART_IER, 0);
	CHECK_EQ(rd(UART_IIR), 0x01, "disabling ETBEI clears THRE");
}

static void test_rx_nofifo(void)
{
	uint8_t two[2] = { 'A', 'B' };

	setup(-1);
	CHECK_EQ(uart_rx_room(&u), 1, "room 1 without FIFO");
	CHECK_EQ(uart_receive(&u, two, 2), 1, "1 byte accepted without FIFO");
	CHECK_EQ(rd(UART_LSR) & UART_LSR_DR, UART_LSR_DR, "DR set");
	CHECK_EQ(uart_rx_room(&u), 0, "no room");
	CHECK_EQ(rd(UART_IIR), 0x01, "no IRQ with IER 0");
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_RDI);
	CHECK_EQ(rd(UART_IIR), 0x04, "RDA in IIR");
	CHECK_EQ(rec.level[4], 1, "RDA raises IRQ");
	CHECK_EQ(rd(UART_RBR), 'A', "RBR");
	CHECK_EQ(rec.level[4], 0, "reading RBR lowers IRQ");
	CHECK_EQ(rd(UART_LSR) & UART_LSR_DR, 0, "DR cleared");
	CHECK_EQ(rd(UART_IIR), 0x01, "no interrupt");
	CHECK_EQ(uart_receive(&u, two + 1, 1), 1, "next byte");
	CHECK_EQ(rec.rises[4], 2, "new RDA edge");
	CHECK_EQ(rd(UART_RBR), 'B', "RBR second byte");
}

static void test_rx_fifo(void)
{
	uint8_t buf[20];

	for (int i = 0; i < 20; i++)
		buf[i] = (uint8_t)(0x30 + i);
	setup(-1);
	wr(UART_FCR, UART_FCR_ENABLE | 0x40);	/* trigger 4 */
	CHECK_EQ(rd(UART_IIR), 0xc1, "IIR FIFO bits");
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_RDI);
	CHECK_EQ(uart_rx_room(&u), 16, "room 16 with FIFO");
	CHECK_EQ(uart_receive(&u, buf, 2), 2, "2 bytes");
	CHECK_EQ(rd(UART_IIR), 0xcc, "below trigger: character timeout");
	CHECK_EQ(rec.level[4], 1, "timeout raises IRQ");
	CHECK_EQ(uart_receive(&u, buf + 2, 18), 14, "FIFO accepts 14 more");
	CHECK_EQ(rd(UART_IIR), 0xc4, "at trigger: RDA");
	CHECK_EQ(uart_rx_room(&u), 0, "FIFO full");
	for (int i = 0; i < 12; i++)
		CHECK_EQ(rd(UART_RBR), 0x30 + i, "FIFO order");
	CHECK_EQ(rd(UART_IIR), 0xc4, "4 left: still RDA");
	rd(UART_RBR);
	CHECK_EQ(rd(UART_IIR), 0xcc, "3 left: timeout");
	wr(UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX | 0xc0);
	CHECK_EQ(rd(UART_LSR) & UART_LSR_DR, 0, "RX FIFO reset clears DR");
	CHECK_EQ(rd(UART_IIR), 0xc1, "and the interrupt");
	CHECK_EQ(rec.level[4], 0, "line low");
	CHECK_EQ(uart_receive(&u, buf, 14), 14, "14 bytes");
	CHECK_EQ(rd(UART_IIR), 0xc4, "trigger 14 reached");
	rd(UART_RBR);
	CHECK_EQ(rd(UART_IIR), 0xcc, "13 below trigger 14");
	wr(UART_FCR, 0);
	CHECK_EQ(rd(UART_IIR), 0x01, "FIFO disable empties RX, IIR bits clear");
	CHECK_EQ(uart_rx_room(&u), 1, "room back to 1");
}

static void test_loopback(void)
{
	setup(-1);
	wr(UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(rd(UART_MSR), 0x0b, "entering loopback: CTS/DSR/DCD fell (deltas)");
	CHECK_EQ(rd(UART_MSR), 0x00, "deltas cleared by read");
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	CHECK_EQ(rd(UART_MSR) & 0xf0, 0x90, "Linux probe: MSR = DCD|CTS");
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	CHECK_EQ(rd(UART_MSR), 0x60 | UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD,
		 "DSR<-DTR, RI<-OUT1 with deltas");
	wr(UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(rd(UART_MSR), UART_MSR_DDSR | UART_MSR_TERI, "RI trailing edge");
	CHECK_EQ(uart_rx_room(&u), 0, "host input cut off in loopback");
	wr(UART_THR, 0x42);
	CHECK_EQ(rd(UART_LSR), 0x61, "looped byte: DR");
	CHECK_EQ(rd(UART_RBR), 0x42, "looped byte received");
	CHECK_EQ(u.tx_bytes, 1, "counted as transmitted");

	/* Overrun without FIFO: the new byte overwrites, OE is set. */
	wr(UART_THR, 1);
	wr(UART_THR, 2);
	CHECK_EQ(rd(UART_LSR), 0x63, "OE|DR");
	CHECK_EQ(rd(UART_LSR), 0x61, "OE cleared by LSR read");
	CHECK_EQ(rd(UART_RBR), 2, "non-FIFO overrun keeps newest");

	/* Overrun with FIFO: the 17th byte is lost. */
	wr(UART_FCR, UART_FCR_ENABLE);
	for (int i = 0; i < 17; i++)
		wr(UART_THR, (uint8_t)i);
	CHECK_EQ(rd(UART_LSR) & UART_LSR_OE, UART_LSR_OE, "FIFO overrun OE");
	for (int i = 0; i < 16; i++)
		CHECK_EQ(rd(UART_RBR), i, "FIFO kept the first 16");
	CHECK_EQ(rd(UART_LSR) & UART_LSR_DR, 0, "FIFO drained");
	CHECK_EQ(u.overruns, 2, "two overruns counted");

	/* Loopback interrupts: RLS on overrun, MSR on deltas. */
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	rd(UART_MSR);
	wr(UART_IER, UART_IER_RLSI | UART_IER_RDI | UART_IER_MSI);
	for (int i = 0; i < 17; i++)
		wr(UART_THR, (uint8_t)i);
	CHECK_EQ(rd(UART_IIR), 0xc6, "RLS outranks RDA");
	CHECK_EQ(rec.level[4], 1, "RLS raises IRQ");
	rd(UART_LSR);
	CHECK_EQ(rd(UART_IIR), 0xc4, "then RDA");
	wr(UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX);
	CHECK_EQ(rd(UART_IIR), 0xc1, "nothing left");
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	CHECK_EQ(rd(UART_IIR), 0xc0, "MSR interrupt (id 0)");
	CHECK_EQ(rec.level[4], 1, "MSR interrupt raises IRQ");
	rd(UART_MSR);
	CHECK_EQ(rd(UART_IIR), 0xc1, "MSR read clears it");
	CHECK_EQ(rec.level[4], 0, "line low");
	wr(UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(rd(UART_MSR) & 0xf0, 0xb0, "leaving loopback restores inputs");
}

static void test_priorities(void)
{
	uint8_t b = 'z';

	setup(-1);
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, 0x0f);
	CHECK_EQ(rd(UART_IIR), 0x02, "THRE first (MSR deltas clear)");
	uart_receive(&u, &b, 1);
	CHECK_EQ(rd(UART_IIR), 0x04, "RDA outranks THRE");
	rd(UART_RBR);
	wr(UART_THR, 'q');
	wr(UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(rd(UART_IIR), 0x02, "IIR readable with DLAB set");
	wr(UART_LCR, 0);
	CHECK_EQ(rd(UART_IIR), 0x01, "THRE acknowledged");
	CHECK_EQ(rec.level[4], 0, "line low at the end");
}

int main(void)
{
	test_reset_values();
	test_scratch_and_dlab();
	test_output();
	test_thre_irq();
	test_rx_nofifo();
	test_rx_fifo();
	test_loopback();
	test_priorities();
	io_bus_destroy(&bus);
	return check_done();
}
