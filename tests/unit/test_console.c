/* Unit tests for the host console: pipes as-is, EOF, flow control, a pty in raw mode. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "vmm/console.h"
#include "vmm/hw/uart.h"
#include "vmm/io.h"


#define BASE 0x3f8

static struct io_bus bus;
static struct uart u;
static struct vm_ctl ctl;

static void setup(int out_fd)
{
	memset(&ctl, 0, sizeof(ctl));
	io_bus_destroy(&bus);
	io_bus_init(&bus, "port", true);
	uart_init(&u, NULL, 4, out_fd);
	uart_register(&u, &bus, BASE);
	io_out(&bus, BASE + UART_FCR, 1, UART_FCR_ENABLE);
}

/* Read everything the guest would see. */
static size_t drain(char *buf, size_t max)
{
	size_t n = 0;

	while (n < max && (io_in(&bus, BASE + UART_LSR, 1) & UART_LSR_DR))
		buf[n++] = (char)io_in(&bus, BASE + UART_RBR, 1);
	return n;
}

static void test_pipe(void)
{
	struct console c;
	int p[2];
	char buf[64];
	const char *msg = "ab\001xcdefghijklmnopqrst";	/* 22 bytes */
	size_t n;

	setup(-1);
	CHECK(pipe(p) == 0, "pipe");
	CHECK(console_open(&c, p[0]) == 0, "open pipe");
	CHECK_EQ(console_fd(&c), p[0], "fd to poll");
	console_poll(&c, &u, &ctl);
	CHECK_EQ(drain(buf, sizeof(buf)), 0, "nothing yet, poll did not block");
	CHECK(write(p[1], msg, strlen(msg)) == (ssize_t)strlen(msg), "write");
	console_poll(&c, &u, &ctl);
	CHECK_EQ(uart_rx_room(&u), 0, "FIFO filled");
	console_poll(&c, &u, &ctl);
	n = drain(buf, sizeof(buf));
	CHECK_EQ(n, 16, "only what the FIFO had room for");
	console_poll(&c, &u, &ctl);
	n += drain(buf + n, sizeof(buf) - n);
	CHECK_EQ(n, strlen(msg), "the rest on the next poll");
	CHECK(!memcmp(buf, msg, strlen(msg)), "pipe bytes as-is, Ctrl-A included");
	CHECK_EQ(ctl.stop, VM_RUNNING, "no escapes on a pipe");
	close(p[1]);
	console_poll(&c, &u, &ctl);
	CHECK_EQ(console_fd(&c), -1, "EOF: nothing left to poll");
	console_poll(&c, &u, &ctl);
	console_close(&c);
	close(p[0]);

	CHECK(console_open(&c, -1) == 0, "no input");
	CHECK_EQ(console_fd(&c), -1, "no fd");
	console_poll(&c, &u, &ctl);
	console_close(&c);
}

static void test_flush(void)
{
	struct console c;
	int p[2];
	char buf[8];

	CHECK(pipe(p) == 0, "pipe");
	setup(p[1]);
	console_open(&c, -1);
	io_out(&bus, BASE + UART_THR, 1, '$');
	console_poll(&c, &u, &ctl);
	CHECK(read(p[0], buf, sizeof(buf)) == 1 && buf[0] == '$', "poll flushes a prompt");
	close(p[0]);
	close(p[1]);
}

static void wait_input(int fd)
{
	for (int i = 0; i < 100; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 10) > 0)
			return;
	}
}

/* Runs in a child that owns the pty as its controlling terminal. */
static void pty_child(int master, const char *name)
{
	struct console c;
	struct termios t;
	char buf[32];
	int slave;
	size_t n;

	setsid();
	slave = open(name, O_RDWR);
	CHECK(slave >= 0, "open pty slave");
	setup(-1);
	CHECK(console_open(&c, slave) == 0, "open tty");
	CHECK(c.is_tty, "is a tty");
	tcgetattr(slave, &t);
	CHECK(!(t.c_lflag & (ICANON | ECHO | ISIG)), "raw: no ICANON/ECHO/ISIG");
	CHECK(!(t.c_iflag & (ICRNL | IXON)), "raw: no ICRNL/IXON");

	CHECK(write(master, "a\001\001b\001hc\r", 8) == 8, "type");
	wait_input(slave);
	console_poll(&c, &u, &ctl);
	n = drain(buf, sizeof(buf));
	CHECK_EQ(n, 5, "escapes filtered");
	CHECK(!memcmp(buf, "a\001bc", 4), "C-a C-a sends C-a, C-a h eaten");
	CHECK(buf[4] == '\r', "Enter arrives as CR");
	CHECK(write(master, "\001", 1) == 1, "type C-a");
	wait_input(slave);
	console_poll(&c, &u, &ctl);
	CHECK_EQ(ctl.stop, VM_RUNNING, "escape pending across reads");
	CHECK(write(master, "x", 1) == 1, "type x");
	wait_input(slave);
	console_poll(&c, &u, &ctl);
	CHECK_EQ(ctl.stop, VM_STOP_USER, "C-a x quits");
	CHECK(!strcmp(ctl.why, "quit from console"), "reason");
	console_close(&c);
	tcgetattr(slave, &t);
	CHECK((t.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO), "termios restored");
}

static void test_pty(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY), sync[2], st;
	int counts[2] = { 0, 0 };
	pid_t pid;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
		CHECK(0, "no pty available");
		return;
	}
	CHECK(pipe(sync) == 0, "pipe");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		check_passed = check_failed = 0;
		pty_child(master, ptsname(master));
		counts[0] = check_passed;
		counts[1] = check_failed;
		fflush(stdout);
		_exit(write(sync[1], counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
	}
	close(sync[1]);
	CHECK(read(sync[0], counts, sizeof(counts)) == sizeof(counts), "child reported");
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exited cleanly");
	check_passed += counts[0];
	check_failed += counts[1];
	close(sync[0]);
	close(master);
}

int main(void)
{
	test_pipe();
	test_flush();
	test_pty();
	io_bus_destroy(&bus);
	return check_done();
}
