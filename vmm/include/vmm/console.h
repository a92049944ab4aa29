/* Host console: the terminal (or a pipe) on the other side of COM1. */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/ctl.h"
#include "vmm/hw/uart.h"

#define CONSOLE_ESCAPE	0x01	/* Ctrl-A, as in QEMU */
#define CONSOLE_BUF	256

struct console {
	int in_fd;		/* -1: no input, or input ended */
	bool is_tty;		/* raw mode and Ctrl-A escapes apply */
	bool escape;		/* saw Ctrl-A, waiting for the command key */
	uint8_t pend[CONSOLE_BUF];	/* read but not yet taken by the UART */
	size_t pend_off, pend_len;
	uint64_t bytes_in;
};

/*
 * Take input from in_fd (-1: none).  A terminal is put in raw mode, restored
 * by console_close, at exit and on fatal signals whose handler is still the
 * default.  A terminal we do not own the foreground of is left alone and
 * gives no input.  Returns 0 or -1 after bt86_error.
 */
int console_open(struct console *c, int in_fd);
/*
 * The fd to poll for input, or -1 once input has ended.  Callers should only
 * wait on it while uart_rx_room() > 0, or a full FIFO keeps it readable.
 */
int console_fd(const struct console *c);
/*
 * Flush the UART's buffered output, then move what input is available (never
 * blocking, never more than the receiver has room for) into the UART.  On a
 * terminal, Ctrl-A x requests VM_STOP_USER, Ctrl-A Ctrl-A sends Ctrl-A and
 * Ctrl-A h prints help; other input, and all of a pipe's, goes through as-is.
 */
void console_poll(struct console *c, struct uart *u, struct vm_ctl *ctl);
void console_close(struct console *c);

#endif
