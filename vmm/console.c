/* Host console: raw terminal mode, the Ctrl-A escape, input into the UART. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/console.h"
#include "vmm/log.h"

/*
 * One terminal per process, so the saved settings live in statics the atexit
 * and signal handlers can reach.  tcsetattr is async-signal-safe.
 */
static struct termios saved_tio;
static volatile sig_atomic_t saved_fd = -1;
static bool atexit_done;

static const int fatal_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT,
				     SIGFPE, SIGBUS, SIGSEGV, SIGTERM };

static void restore_tty(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved_tio);
}

static void fatal_signal(int sig)
{
	/* SA_RESETHAND made the action default again: re-raise to die as we would have. */
	restore_tty();
	raise(sig);
}

/*
 * Only signals nobody handles yet: the run loop's own SIGINT/SIGTERM handling
 * and an engine's SIGSEGV handler must not be replaced.
 */
static void install_signal_handlers(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		if (sigaction(fatal_signals[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

static int make_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &saved_tio) < 0)
		return -1;
	t = saved_tio;
	/*
	 * Every key goes to the guest, Ctrl-C and Ctrl-S included; Enter sends
	 * CR as a serial terminal would.  Output processing stays as it was so
	 * guests that print bare LF still start lines at column 0.
	 */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	saved_fd = fd;
	if (!atexit_done) {
		atexit(restore_tty);
		atexit_done = true;
	}
	install_signal_handlers();
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		saved_fd = -1;
		return -1;
	}
	return 0;
}

int console_open(struct console *c, int in_fd)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	if (in_fd < 0 || !isatty(in_fd))
		return 0;
	/* In the background, touching the terminal would stop us with SIGTTOU/SIGTTIN. */
	if (tcgetpgrp(in_fd) != getpgrp()) {
		bt86_info("not in the terminal's foreground: serial input disabled");
		c->in_fd = -1;
		return 0;
	}
	if (make_raw(in_fd) < 0) {
		bt86_error("console: cannot set raw mode on fd %d: %s", in_fd, strerror(errno));
		c->in_fd = -1;
		return -1;
	}
	c->is_tty = true;
	return 0;
}

int console_fd(const struct console *c)
{
	return c->in_fd;
}

static void print_help(void)
{
	static const char help[] =
		"\r\nC-a h    print this help\r\n"
		"C-a x    exit bt86\r\n"
		"C-a C-a  send C-a to the guest\r\n";
	ssize_t n = write(STDERR_FILENO, help, sizeof(help) - 1);

	(void)n;
}

/* Apply the escape commands in place; returns the bytes left for the guest. */
static size_t filter_escapes(struct console *c, uint8_t *buf, size_t n, struct vm_ctl *ctl)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = buf[i];

		if (!c->escape) {
			if (b == CONSOLE_ESCAPE)
				c->escape = true;
			else
				buf[out++] = b;
			continue;
		}
		c->escape = false;
		switch (b) {
		case 'x':
		case 'X':
			if (ctl)
				ctl_request(ctl, VM_STOP_USER, 0, "quit from console");
			return out;
		case CONSOLE_ESCAPE:
			buf[out++] = b;
			break;
		case 'h':
		case 'H':
		case '?':
			print_help();
			break;
		default:
			/* Unknown commands are swallowed, as in QEMU. */
			break;
		}
	}
	return out;
}

static void end_input(struct console *c)
{
	/* The fd is not ours to close (it is usually stdin); just stop polling it. */
	c->in_fd = -1;
	c->pend_len = c->pend_off = 0;
}

void console_poll(struct console *c, struct uart *u, struct vm_ctl *ctl)
{
	struct pollfd p;
	size_t room;
	ssize_t n;

	/* Prompts and echoes end without a newline; they must not sit in the buffer. */
	uart_flush(u);
	if (c->in_fd < 0)
		return;
	if (c->pend_off < c->pend_len) {
		c->pend_off += uart_receive(u, c->pend + c->pend_off, c->pend_len - c->pend_off);
		if (c->pend_off < c->pend_len)
			return;
	}
	c->pend_off = c->pend_len = 0;
	room = uart_rx_room(u);
	if (!room)
		return;
	if (room > sizeof(c->pend))
		room = sizeof(c->pend);
	p.fd = c->in_fd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, 0) <= 0)
		return;
	if (p.revents & POLLNVAL) {
		end_input(c);
		return;
	}
	n = read(c->in_fd, c->pend, room);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		bt86_warn("console input: %s; serial input disabled", strerror(errno));
		end_input(c);
		return;
	}
	if (n == 0) {
		end_input(c);
		return;
	}
	c->bytes_in += (uint64_t)n;
	c->pend_len = c->is_tty ? filter_escapes(c, c->pend, (size_t)n, ctl) : (size_t)n;
	c->pend_off = uart_receive(u, c->pend, c->pend_len);
}

void console_close(struct console *c)
{
	if (c->is_tty) {
		restore_tty();
		saved_fd = -1;
	}
	c->is_tty = false;
	c->in_fd = -1;
}
