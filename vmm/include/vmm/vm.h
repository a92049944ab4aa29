/* The virtual machine: guest RAM, the PC devices, the CPU engine and the run loop. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/cpu.h"
#include "vmm/ctl.h"
#include "vmm/engine.h"
#include "vmm/io.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/ram.h"
#include "vmm/hw/pic.h"
#include "vmm/hw/pit.h"
#include "vmm/hw/rtc.h"
#include "vmm/hw/uart.h"
#include "vmm/hw/i8042.h"
#include "vmm/hw/ide.h"
#include "vmm/hw/sysports.h"
#include "vmm/console.h"

enum serial_mode { SERIAL_STDIO, SERIAL_NONE, SERIAL_FILE };

struct vm_config {
	const char *kernel;
	const char *append;		/* kernel command line, "" when none */
	const char *initrd;		/* Multiboot module or Linux initrd */
	const char *engine;		/* "bt", "bt-kmod", "kvm" */
	const char *disk[2];		/* IDE primary master / slave images */
	const char *serial_path;	/* for SERIAL_FILE */
	enum serial_mode serial;
	uint64_t mem_size;
	bool stats;
	bool quiet;
	bool debug_io;
	bool trace_tc;			/* print each translated block */
	bool trace_mmu;			/* print each shadow-MMU event */
};

struct vm {
	struct vm_config cfg;
	struct guest_ram ram;
	struct io_bus pio;
	struct io_bus mmio;
	struct vm_ctl ctl;
	struct vclock clock;
	struct irq_line irq;		/* ISA IRQ lines -> PIC pair */

	struct pic pic;
	struct pit pit;
	struct rtc rtc;
	struct uart com1;
	struct i8042 kbc;
	struct ide ide;
	struct sysports sys;

	struct x86_state entry;		/* what the loader handed over, for resets */
	const struct engine_ops *eng_ops;
	struct engine *eng;

	struct console console;
	int serial_out_fd;		/* -1 for --serial none */
	uint64_t next_deadline;		/* CLOCK_MONOTONIC ns of the next device event */

	/* run-loop statistics, comparable across engines */
	uint64_t exits[VMEXIT_ERROR + 1];
	uint64_t io_exits, io_string_elems;
	uint64_t irqs_delivered;
	uint64_t ns_in_engine, ns_in_vmm;
	uint64_t resets;
};

/* Build RAM and devices for cfg; returns 0 or -1 after printing the reason. */
int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* Load the kernel (any supported format) into RAM and fill vm->entry. */
int vm_load(struct vm *vm);

/* Run until the guest stops; returns the process exit status (BT86_EXIT_*). */
int vm_run(struct vm *vm);

/* Engines call these to take PIC interrupts (the INTR line and the INTA cycle). */
bool vm_intr_pending(struct vm *vm);
int vm_intr_ack(struct vm *vm);

/*
 * Advance the timer devices and the console; returns the absolute
 * CLOCK_MONOTONIC deadline (ns) of the next device event, or VCLOCK_NEVER.
 */
uint64_t vm_poll_devices(struct vm *vm);


#endif
