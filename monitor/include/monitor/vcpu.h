/* The virtual CPU the monitor keeps for the guest (uworld BT engine). */
#ifndef MONITOR_VCPU_H
#define MONITOR_VCPU_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bt/tc.h"
#include "shadowmmu/smmu.h"
#include "vmm/cpu.h"
#include "vmm/engine.h"

struct vm;

/* EFLAGS bits that live in the host RFLAGS while translated code runs. */
#define VCPU_HOST_FLAGS	BT_HOST_FLAGS

/* Exception vectors. */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
	EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13,
	EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* Why the last tc_enter came back, when a signal cut it short. */
enum vcpu_fault {
	VF_NONE,
	VF_POLL,	/* the poll page: the monitor asked for an exit */
	VF_IRQWIN,	/* sti/popf set IF while an interrupt was waiting */
	VF_WRAP,	/* a guest address wrapped past 4 GiB into the view's guard */
	VF_SEGV,	/* access to a non-RAM or protected address in the view */
	VF_DE,		/* divide error */
	VF_UD,		/* invalid opcode in translated code (a translator bug) */
	VF_OTHER,
};

#define VCPU_IO_BUF	4096

struct vcpu_stats {
	uint64_t enters, exits_chain, exits_callout, exits_ibl, exits_poll, exits_fault;
	uint64_t exceptions[32], interrupts, smc_faults, mmio, host_timer_signals;
	uint64_t unassigned;		/* accesses to physical memory nothing decodes */
	uint64_t cycles_tc, cycles_monitor;	/* TSC cycles inside / outside tc_enter */
	uint64_t hidden_in_handler;		/* filled without leaving the TC */
	uint64_t adaptive_retranslations;	/* stores turned into callouts */
	uint64_t wraps;				/* instructions retranslated with lea */
	uint64_t callouts[BT_NR_OPS];	/* executed, by instruction class */
};

struct vcpu {
	struct bt_cpu bt;		/* first: r13 in translated code points here */

	uint32_t eip;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	struct x86_seg seg[6];
	struct x86_seg ldtr, tr;
	struct x86_dtable gdtr, idtr;
	int cpl;
	bool intr_shadow;		/* after sti / mov ss: no interrupt before the next insn */
	int64_t tsc_offset;
	uint64_t msr_sysenter_cs, msr_sysenter_esp, msr_sysenter_eip;
	uint64_t msr_pat, msr_misc_enable, msr_apic_base;

	int mode;			/* interned translation mode (segment bases, CPL) */
	bool mode_dirty;
	int nested;			/* exception delivery depth, for #DF / triple fault */
	bool shutdown;			/* triple fault: the CPU stopped */
	char shutdown_why[160];

	struct vm *vm;
	struct tc tc;
	struct smmu mmu;
	struct smmu_view *cur_view;	/* the view translated code runs on now */
	uint8_t *ctl_pages;		/* poll page, then interrupt-window page */

	/* a #PF raised by the monitor's own guest-memory access */
	struct {
		bool pending;
		uint32_t cr2, err;
	} pf;
	bool fetch_pf;			/* the last code fetch page-faulted */
	uint32_t fetch_cr2, fetch_err;

	/* traced frames opened for one step, with their contents before it */
	struct {
		uint32_t lin, phys;
		uint32_t old[1024];
	} open[2];
	int nopen;

	/* adaptive translation: stores that keep hitting traces, by guest-physical EIP */
	struct {
		uint32_t phys;
		uint16_t faults;
		bool hot;
	} adapt[256];
	uint32_t wraps[1024];		/* instructions (guest-physical) that need lea: a hash */

	/* a port-I/O exit in flight: completed at the next run */
	struct {
		bool pending;
		bool is_in, string;
		uint16_t port;
		uint8_t size;
		uint32_t count;
		uint8_t buf[VCPU_IO_BUF];
	} io;

	/* filled by the signal handler */
	volatile sig_atomic_t poll_armed;
	enum vcpu_fault fault;
	int fault_sig;			/* the host signal (or its kworld equivalent) */
	uint64_t fault_host_rip;
	uint64_t fault_addr;
	bool fault_write;
	bool fault_string;		/* the faulting instruction is a string instruction */
	enum smmu_fault segv;		/* what the shadow MMU made of a view fault */
	uint32_t segv_err, segv_phys;
	struct tc_exit *last_exit;	/* chainable exit to link at the next lookup */
	bool irqwin_armed;
	bool single_pending;		/* next block is one instruction (a step) */
	uint8_t irqwin_shadow;		/* the window probe followed an sti */
	uint32_t sinks[4];		/* unassigned pages backed for the current step */
	int nsinks;

	struct vcpu_stats st;
};

/* Guest-visible EFLAGS from the host image plus the virtual bits. */
static inline uint32_t vcpu_eflags(const struct vcpu *v)
{
	return ((uint32_t)v->bt.hflags & VCPU_HOST_FLAGS) | (v->bt.vflags & BT_VFLAGS_MASK) |
	       (v->bt.vif ? X86_EFLAGS_IF : 0) | X86_EFLAGS_FIXED;
}

void vcpu_set_eflags(struct vcpu *v, uint32_t val);

/*
 * Guest linear memory as an instruction at the current CPL would access it
 * (sys: an implicit supervisor access, e.g. descriptor tables, the TSS, the
 * IDT).  Returns 0, or -1 when the access page-faults: the #PF is recorded
 * in v->pf for the caller to raise (mon_emulate does).  Memory that is not
 * RAM reads as all ones and drops writes.
 */
int vcpu_read(struct vcpu *v, uint32_t lin, void *buf, uint32_t len);
int vcpu_write(struct vcpu *v, uint32_t lin, const void *buf, uint32_t len);
int vcpu_sysread(struct vcpu *v, uint32_t lin, void *buf, uint32_t len);
int vcpu_syswrite(struct vcpu *v, uint32_t lin, const void *buf, uint32_t len);

/* Raise the #PF recorded in v->pf (CR2 and error code); true if there was one. */
bool vcpu_raise_pending_pf(struct vcpu *v);

/* New CR0/CR3/CR4 values: tell the shadow MMU and the translator. */
void vcpu_set_control(struct vcpu *v, uint32_t cr0, uint32_t cr3, uint32_t cr4);

/* uworld memory glue (monitor/umem.c). */
size_t umem_fetch(void *opaque, uint32_t lin, uint8_t *buf, size_t n, uint32_t *phys);
void umem_code_page(void *opaque, uint32_t phys_page, bool has_code);
/* A host fault in the view at lin: 0 to go on (maybe with a step), 1 with x filled. */
int umem_fault(struct vcpu *v, uint32_t lin, bool write, enum smmu_fault kind, uint32_t err,
	       uint32_t phys, struct vm_exit *x);
/* After a one-instruction step: close traced frames and sink pages it opened. */
void umem_step_done(struct vcpu *v);
bool umem_hot_store(void *opaque, uint32_t phys);
bool umem_wraps(void *opaque, uint32_t phys);
/* An access landed in the view's guard: retranslate that instruction with lea. */
int umem_wrapped(struct vcpu *v, struct vm_exit *x);
/* The callout for a store retranslated because it kept hitting traces. */
int umem_emulate_store(struct vcpu *v, const struct bt_insn *in);

/*
 * Deliver an exception or interrupt through the guest IDT, with the return
 * EIP next_eip.  soft: int n (gate DPL checked).  A fault while delivering
 * escalates to #DF, a fault while delivering #DF to shutdown: then -1 is
 * returned and v->shutdown is set with the reason.
 */
int vcpu_deliver(struct vcpu *v, int vector, bool has_err, uint32_t err, bool soft,
		 uint32_t next_eip);
/* Raise a fault at the current EIP; returns -1 on shutdown. */
int vcpu_fault(struct vcpu *v, int vector, bool has_err, uint32_t err);

/* Segment-register loads with protected-mode checks; 0 or -1 (fault raised). */
int seg_load(struct vcpu *v, int sreg, uint16_t sel);
int seg_read_desc(struct vcpu *v, uint16_t sel, uint32_t desc[2]);
void seg_from_desc(struct x86_seg *s, uint16_t sel, const uint32_t desc[2]);

/*
 * Emulate the instruction of a callout.  Returns 0 to continue in the
 * guest, 1 when x holds an exit for the run loop, -1 on shutdown/error
 * (x filled).
 */
int mon_emulate(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x);

/* Recompute the translation mode after segment/CPL changes. */
void vcpu_update_mode(struct vcpu *v);

/* A host fault in translated code (uworld.c): what the run loop must do. */
enum { UW_FAULT_FOREIGN = -1, UW_FAULT_EXIT = 0, UW_FAULT_RESUME = 1 };
int uw_host_fault(struct vcpu *v, int sig, uint8_t *addr, uint64_t err, long long *g);

/*
 * kworld.c: the bt-kmod engine runs the same translated code in bt86.ko's
 * monitor world.  kw_enter() is its tc_enter(): 0 when translated code came
 * back the way tc_enter() returns, -1 with x filled when bt86.ko failed.
 */
struct kworld;
struct kworld *kw_open(struct vcpu *v);
void kw_close(struct kworld *kw);
int kw_enter(struct kworld *kw, struct vcpu *v, void *code, struct vm_exit *x);
void kw_print_stats(const struct kworld *kw, FILE *o);


#endif
