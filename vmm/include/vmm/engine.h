/*
 * The CPU-engine interface: how the run loop drives bt, bt-kmod or kvm.
 * docs/ENGINE.md describes the contract in prose.
 */
#ifndef VMM_ENGINE_H
#define VMM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/cpu.h"

struct vm;
struct engine;

enum vm_exit_kind {
	VMEXIT_IO,		/* port I/O the run loop must dispatch */
	VMEXIT_MMIO,		/* access to a non-RAM physical range */
	VMEXIT_HLT,		/* guest halted with IF=1: sleep until an interrupt */
	VMEXIT_SHUTDOWN,	/* triple fault */
	VMEXIT_POLL,		/* host timer or signal: let the run loop poll devices */
	VMEXIT_ERROR,		/* engine failure; message in error */
};

/*
 * One exit.  For IO the engine points data at count * size bytes; for an IN
 * the run loop fills them and the engine consumes them on the next run call
 * (the KVM convention, so rep ins/outs cost one exit).
 */
struct vm_exit {
	enum vm_exit_kind kind;
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2 or 4 */
			bool is_write;
			uint32_t count;		/* > 1 for rep ins/outs */
			uint8_t *data;
		} io;
		struct {
			uint32_t gpa;
			uint8_t size;
			bool is_write;
			uint8_t data[8];	/* filled by the run loop on reads */
		} mmio;
		struct {
			bool halted_forever;	/* hlt with IF=0: nothing can wake it */
		} hlt;
		char error[200];
		char shutdown[200];		/* why the CPU shut down */
	};
};

struct engine_ops {
	const char *name;
	/* Return NULL and print the reason when this engine cannot run here. */
	struct engine *(*create)(struct vm *vm);
	void (*destroy)(struct engine *e);
	/* Load the architectural state, e.g. the loader's entry state or a reset. */
	int (*set_state)(struct engine *e, const struct x86_state *s);
	int (*get_state)(struct engine *e, struct x86_state *s);
	/*
	 * Run guest code until an exit.  Pending PIC interrupts are pulled by the
	 * engine itself (vm_intr_pending / vm_intr_ack) whenever the guest can
	 * take them, so the run loop needs no injection call.  Return 0, or -1
	 * with x->kind == VMEXIT_ERROR.
	 */
	int (*run)(struct engine *e, struct vm_exit *x);
	/* Make a concurrent run() return soon with VMEXIT_POLL (signal-safe). */
	void (*kick)(struct engine *e);
	/* Print --stats counters. */
	void (*print_stats)(struct engine *e, FILE *out);
};

/* Registry of engines by name; NULL entries for engines not built yet. */
const struct engine_ops *engine_find(const char *name);

#endif
