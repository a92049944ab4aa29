/* The machine: builds RAM and devices, loads the kernel, runs the engine loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/loader.h"
#include "vmm/vm.h"

/* The console is polled at least this often while the guest runs. */
#define CONSOLE_POLL_NS	(10 * 1000 * 1000)

static struct vm *signal_vm;	/* for SIGINT/SIGTERM */

static void on_stop_signal(int sig)
{
	(void)sig;
	if (!signal_vm)
		return;
	if (signal_vm->ctl.stop == VM_RUNNING)
		signal_vm->ctl.stop = VM_STOP_USER;
	if (signal_vm->eng && signal_vm->eng_ops->kick)
		signal_vm->eng_ops->kick(signal_vm->eng);
}

static int open_serial(struct vm *vm)
{
	switch (vm->cfg.serial) {
	case SERIAL_STDIO:
		vm->serial_out_fd = STDOUT_FILENO;
		return 0;
	case SERIAL_NONE:
		vm->serial_out_fd = -1;
		return 0;
	case SERIAL_FILE:
		vm->serial_out_fd = open(vm->cfg.serial_path,
					 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->serial_out_fd < 0) {
			bt86_error("--serial file:%s: %s", vm->cfg.serial_path, strerror(errno));
			return -1;
		}
		return 0;
	}
	return -1;
}

/*
 * The explicit device table: every port range the PC decodes, in one place.
 * A device that fails to claim its ports is a bug, not a guest problem.
 */
static int register_devices(struct vm *vm)
{
	int err = 0;

	err |= pic_register(&vm->pic, &vm->pio);	/* 0x20-0x21, 0xa0-0xa1, 0x4d0 ELCR */
	err |= pit_register(&vm->pit, &vm->pio);	/* 0x40-0x43, 0x61 */
	err |= i8042_register(&vm->kbc, &vm->pio);	/* 0x60, 0x64 */
	err |= rtc_register(&vm->rtc, &vm->pio);	/* 0x70-0x71 */
	err |= sysports_register(&vm->sys, &vm->pio);	/* 0x80, 0x92, 0xf4 exit */
	err |= ide_register(&vm->ide, &vm->pio);	/* 0x1f0-0x1f7, 0x3f6 */
	err |= uart_register(&vm->com1, &vm->pio, 0x3f8);	/* COM1 */
	if (err)
		bt86_error("internal: overlapping device port ranges");
	return err ? -1 : 0;
}

static void init_devices(struct vm *vm)
{
	pic_init(&vm->pic);
	pit_init(&vm->pit, &vm->clock, &vm->irq);
	rtc_init(&vm->rtc, &vm->clock, &vm->irq, vm->ram.size);
	uart_init(&vm->com1, &vm->irq, 4, vm->serial_out_fd);
	i8042_init(&vm->kbc, &vm->irq, &vm->ctl);
	sysports_init(&vm->sys, &vm->ctl, &vm->kbc);
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->serial_out_fd = -1;
	if (ram_create(&vm->ram, cfg->mem_size) < 0) {
		bt86_error("cannot allocate %llu MiB of guest RAM: %s",
			   (unsigned long long)(cfg->mem_size >> 20), strerror(errno));
		return -1;
	}
	if (io_bus_init(&vm->pio, "port", true) < 0 || io_bus_init(&vm->mmio, "mmio", false) < 0) {
		bt86_error("out of memory");
		goto fail;
	}
	vm->pio.debug = vm->mmio.debug = cfg->debug_io;
	vm->clock.now = host_monotonic_ns;
	vm->irq.set = pic_irq_line;
	vm->irq.opaque = &vm->pic;
	if (open_serial(vm) < 0)
		goto fail;
	init_devices(vm);
	ide_init(&vm->ide, &vm->irq);
	for (int i = 0; i < 2; i++)
		if (cfg->disk[i] && ide_attach(&vm->ide, i, cfg->disk[i]) < 0)
			goto fail;
	if (register_devices(vm) < 0)
		goto fail;
	if (console_open(&vm->console, cfg->serial == SERIAL_STDIO ? STDIN_FILENO : -1) < 0)
		goto fail;
	return 0;
fail:
	vm_destroy(vm);
	return -1;
}

void vm_destroy(struct vm *vm)
{
	if (vm->eng) {
		vm->eng_ops->destroy(vm->eng);
		vm->eng = NULL;
	}
	console_close(&vm->console);
	uart_flush(&vm->com1);
	ide_destroy(&vm->ide);
	if (vm->serial_out_fd > STDERR_FILENO)
		close(vm->serial_out_fd);
	vm->serial_out_fd = -1;
	io_bus_destroy(&vm->pio);
	io_bus_destroy(&vm->mmio);
	ram_destroy(&vm->ram);
}

int vm_load(struct vm *vm)
{
	struct loader_args a = {
		.kernel = vm->cfg.kernel,
		.cmdline = vm->cfg.append,
		.initrd = vm->cfg.initrd,
	};

	return loader_load(&vm->ram, &a, &vm->entry);
}

bool vm_intr_pending(struct vm *vm)
{
	return pic_intr(&vm->pic);
}

int vm_intr_ack(struct vm *vm)
{
	vm->irqs_delivered++;
	return pic_inta(&vm->pic);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t vm_poll_devices(struct vm *vm)
{
	uint64_t next = min_u64(pit_poll(&vm->pit), rtc_poll(&vm->rtc));

	/* Prompts without a newline must appear even when nobody types. */
	uart_flush(&vm->com1);
	if (console_fd(&vm->console) >= 0) {
		console_poll(&vm->console, &vm->com1, &vm->ctl);
		next = min_u64(next, vclock_now(&vm->clock) + CONSOLE_POLL_NS);
	}
	vm->next_deadline = next;
	return next;
}

/*
 * hlt with interrupts enabled: sleep in the host until a device deadline,
 * console input or a signal, never busy-wait.
 */
static void wait_for_interrupt(struct vm *vm)
{
	while (vm->ctl.stop == VM_RUNNING) {
		uint64_t next = vm_poll_devices(vm), now;
		/* A full RX FIFO must not make buffered input spin this loop. */
		struct pollfd pfd = {
			.fd = uart_rx_room(&vm->com1) ? console_fd(&vm->console) : -1,
			.events = POLLIN,
		};
		struct timespec ts, *tsp = NULL;

		if (vm_intr_pending(vm) || vm->ctl.stop != VM_RUNNING)
			return;
		now = vclock_now(&vm->clock);
		if (next != VCLOCK_NEVER) {
			uint64_t d = next > now ? next - now : 0;

			ts.tv_sec = (time_t)(d / 1000000000ull);
			ts.tv_nsec = (long)(d % 1000000000ull);
			tsp = &ts;
		}
		if (ppoll(pfd.fd >= 0 ? &pfd : NULL, pfd.fd >= 0 ? 1 : 0, tsp, NULL) < 0 &&
		    errno != EINTR)
			return;
	}
}

/*
 * A device write can start, stop or reprogram a timer (a PIT count, an RTC
 * rate): the engine's host timer must follow at once, or a deadline taken
 * between the PIT's control word and its count would say "never".
 */
static void update_timer_deadline(struct vm *vm)
{
	uint64_t next = min_u64(pit_poll(&vm->pit), rtc_poll(&vm->rtc));

	if (console_fd(&vm->console) >= 0)
		next = min_u64(next, vclock_now(&vm->clock) + CONSOLE_POLL_NS);
	vm->next_deadline = next;
}

static void handle_io(struct vm *vm, struct vm_exit *x)
{
	vm->io_exits++;
	if (x->io.count > 1) {
		vm->io_string_elems += x->io.count;
		io_string(&vm->pio, x->io.port, x->io.size, x->io.count, x->io.data,
			  x->io.is_write);
	} else {
		io_access(&vm->pio, x->io.port, x->io.data, x->io.size, x->io.is_write);
	}
	if (x->io.is_write)
		update_timer_deadline(vm);
}

/* Reset the whole machine as the 0xFE pulse would: devices, RAM, the kernel again. */
static int vm_reset(struct vm *vm)
{
	vm->resets++;
	bt86_info("guest reset (%s)", vm->ctl.why);
	ram_clear(&vm->ram);
	uart_flush(&vm->com1);
	pic_reset(&vm->pic);
	init_devices(vm);
	ide_reset(&vm->ide);
	if (vm_load(vm) < 0)
		return -1;
	vm->ctl.stop = VM_RUNNING;
	vm->ctl.why[0] = '\0';
	return vm->eng_ops->set_state(vm->eng, &vm->entry);
}

static const char *const exit_names[] = {
	[VMEXIT_IO] = "io",
	[VMEXIT_MMIO] = "mmio",
	[VMEXIT_HLT] = "hlt",
	[VMEXIT_SHUTDOWN] = "shutdown",
	[VMEXIT_POLL] = "poll",
	[VMEXIT_ERROR] = "error",
};

static void print_stats(struct vm *vm)
{
	FILE *o = stderr;
	double total = (double)(vm->ns_in_engine + vm->ns_in_vmm);

	fprintf(o, "== bt86 statistics (engine %s)\n", vm->cfg.engine);
	fprintf(o, "  time in engine        %10.3f ms (%.1f%%)\n", vm->ns_in_engine / 1e6,
		total > 0 ? 100.0 * vm->ns_in_engine / total : 0.0);
	fprintf(o, "  time in vmm           %10.3f ms\n", vm->ns_in_vmm / 1e6);
	for (int k = 0; k <= VMEXIT_ERROR; k++)
		if (vm->exits[k])
			fprintf(o, "  exits: %-14s %10llu\n", exit_names[k],
				(unsigned long long)vm->exits[k]);
	fprintf(o, "  port I/O exits        %10llu (%llu string elements)\n",
		(unsigned long long)vm->io_exits, (unsigned long long)vm->io_string_elems);
	fprintf(o, "  port accesses         %10llu (%llu unclaimed)\n",
		(unsigned long long)vm->pio.accesses, (unsigned long long)vm->pio.unclaimed);
	fprintf(o, "  interrupts delivered  %10llu\n", (unsigned long long)vm->irqs_delivered);
	for (int i = 0; i < 16; i++)
		if (vm->pic.raised[i])
			fprintf(o, "    irq %-2d raised       %10llu\n", i,
				(unsigned long long)vm->pic.raised[i]);
	if (vm->resets)
		fprintf(o, "  resets                %10llu\n", (unsigned long long)vm->resets);
	if (vm->eng && vm->eng_ops->print_stats)
		vm->eng_ops->print_stats(vm->eng, o);
}

static int stop_status(struct vm *vm)
{
	switch (vm->ctl.stop) {
	case VM_STOP_EXITPORT:
		return vm->ctl.status;
	case VM_STOP_POWEROFF:
		bt86_info("guest powered off (%s)", vm->ctl.why);
		return BT86_EXIT_POWEROFF;
	case VM_STOP_SHUTDOWN:
		bt86_error("guest triple fault: %s", vm->ctl.why);
		return BT86_EXIT_TRIPLE;
	case VM_STOP_USER:
		bt86_info("stopped%s%s", vm->ctl.why[0] ? ": " : "", vm->ctl.why);
		return BT86_EXIT_INTERRUPTED;
	case VM_STOP_ERROR:
		bt86_error("%s", vm->ctl.why);
		return BT86_EXIT_ERROR;
	default:
		return BT86_EXIT_ERROR;
	}
}

static void install_signals(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	signal_vm = vm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int vm_run(struct vm *vm)
{
	struct vm_exit x;
	uint64_t t0, t1;
	int status;

	vm->eng_ops = engine_find(vm->cfg.engine);
	if (!vm->eng_ops) {
		bt86_error("engine '%s' is not available in this build yet: no CPU engine "
			   "can run the guest", vm->cfg.engine);
		return BT86_EXIT_NOENGINE;
	}
	vm->eng = vm->eng_ops->create(vm);
	if (!vm->eng)
		return BT86_EXIT_NOENGINE;
	if (vm->eng_ops->set_state(vm->eng, &vm->entry) < 0) {
		bt86_error("engine '%s' refused the entry state", vm->cfg.engine);
		return BT86_EXIT_ERROR;
	}
	install_signals(vm);
	vm_poll_devices(vm);
	t0 = vclock_now(&vm->clock);
	while (vm->ctl.stop == VM_RUNNING || vm->ctl.stop == VM_STOP_RESET) {
		if (vm->ctl.stop == VM_STOP_RESET && vm_reset(vm) < 0)
			break;
		memset(&x, 0, offsetof(struct vm_exit, io));
		vm->eng_ops->run(vm->eng, &x);
		t1 = vclock_now(&vm->clock);
		vm->ns_in_engine += t1 - t0;
		vm->exits[x.kind]++;
		switch (x.kind) {
		case VMEXIT_IO:
			handle_io(vm, &x);
			break;
		case VMEXIT_MMIO:
			io_access(&vm->mmio, x.mmio.gpa, x.mmio.data, x.mmio.size, x.mmio.is_write);
			if (x.mmio.is_write)
				update_timer_deadline(vm);
			break;
		case VMEXIT_HLT:
			if (x.hlt.halted_forever)
				ctl_request(&vm->ctl, VM_STOP_POWEROFF, 0,
					    "hlt with interrupts disabled");
			else
				wait_for_interrupt(vm);
			break;
		case VMEXIT_SHUTDOWN:
			ctl_request(&vm->ctl, VM_STOP_SHUTDOWN, 0, "%s", x.shutdown);
			break;
		case VMEXIT_POLL:
			vm_poll_devices(vm);
			break;
		case VMEXIT_ERROR:
			ctl_request(&vm->ctl, VM_STOP_ERROR, 0, "engine %s: %s", vm->cfg.engine,
				    x.error);
			break;
		}
		t0 = vclock_now(&vm->clock);
		vm->ns_in_vmm += t0 - t1;
	}
	uart_flush(&vm->com1);
	status = stop_status(vm);
	if (vm->cfg.stats)
		print_stats(vm);
	signal_vm = NULL;
	return status;
}
