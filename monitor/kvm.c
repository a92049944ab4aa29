/*
 * kvm.c - the `kvm` engine: the guest CPU runs under hardware assist through /dev/kvm.
 *
 * Only the CPU moves into the kernel.  Guest RAM is the VMM's own memfd
 * mapping (vm->ram.host) registered as memory slot 0, so loaders, devices
 * and snapshots see exactly the bytes the guest sees.  There is no in-kernel
 * irqchip, PIT or APIC: every port access and every access to a physical
 * address that is not RAM comes back to the run loop and the bt86 device
 * model, and PIC interrupts are injected one at a time with KVM_INTERRUPT,
 * as the 8259A's INTR/INTA handshake would deliver them.  docs/KVM.md has
 * the whole mapping.
 *
 * A host timer (SIGALRM at vm->next_deadline) and kick() both work through
 * kvm_run.immediate_exit: set from a signal handler, it makes a KVM_RUN
 * that is about to start return EINTR at once, and a signal arriving during
 * KVM_RUN makes it return EINTR anyway.  Either way the run loop gets
 * VMEXIT_POLL and polls the devices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "monitor/cpuid.h"
#include "monitor/kvm_probe.h"
#include "vmm/htimer.h"
#include "vmm/vm.h"

/*
 * Intel VMX needs three pages for the real-mode TSS KVM keeps (KVM_SET_TSS_ADDR)
 * and one for its EPT identity map, which KVM puts just below the TSS.  Both
 * sit below the BIOS area at the top of 4 GiB, far above any bt86 RAM
 * (RAM_MAX_SIZE is 3 GiB).
 */
#define KVMENG_TSS_ADDR		0xfffbd000

#define KVMENG_MSR_IA32_TSC	0x010	/* time-stamp counter */
#define KVMENG_APIC_BASE	0xfee00000	/* IA32_APIC_BASE: default xAPIC MMIO page */
#define KVMENG_APIC_BSP		0x100	/* IA32_APIC_BASE bit 8: bootstrap processor */

/* The CPUID leaves of the shared model (monitor/cpuid.c), in KVM_SET_CPUID2 order. */
static const uint32_t kvmeng_leaves[] = {
	0x00000000, 0x00000001,
	0x80000000, 0x80000001, 0x80000002, 0x80000003, 0x80000004,
	/*
	 * Above the model's highest extended leaf KVM would answer with the
	 * highest basic leaf (what Intel CPUs do); the model answers zeros for
	 * the extended range.  Spelling out the leaves guests actually ask for
	 * keeps the two engines identical there.
	 */
	0x80000005, 0x80000006, 0x80000007, 0x80000008,
};
#define KVMENG_NR_LEAVES	(sizeof(kvmeng_leaves) / sizeof(kvmeng_leaves[0]))

/* Exit reasons counted one by one; anything else lands in "other". */
enum kvmeng_exit {
	KX_IO, KX_MMIO, KX_HLT, KX_IRQ_WINDOW, KX_INTR, KX_SHUTDOWN, KX_FAIL_ENTRY,
	KX_INTERNAL, KX_OTHER, KX_NR
};

static const char *const kvmeng_exit_names[KX_NR] = {
	[KX_IO] = "io",
	[KX_MMIO] = "mmio",
	[KX_HLT] = "hlt",
	[KX_IRQ_WINDOW] = "irq window",
	[KX_INTR] = "signal/kick",
	[KX_SHUTDOWN] = "shutdown",
	[KX_FAIL_ENTRY] = "entry failure",
	[KX_INTERNAL] = "internal error",
	[KX_OTHER] = "other",
};

struct kvmeng_stats {
	uint64_t runs;			/* KVM_RUN calls */
	uint64_t exits[KX_NR];
	uint64_t io_in, io_out, io_string;	/* port I/O exits by direction; rep ins/outs */
	uint64_t mmio_read, mmio_write;
	uint64_t injected;		/* KVM_INTERRUPT calls */
	uint64_t window_requests;	/* runs entered with request_interrupt_window */
	uint64_t timer_signals;		/* SIGALRM at a device deadline */
	uint64_t polls_early;		/* deadline already past when run() was called */
	uint64_t deadline_refreshes;	/* device polls after a guest write */
	uint64_t ns_in_run;		/* inside the KVM_RUN ioctl: guest plus KVM */
	uint64_t ns_probe;		/* the capability probe at create() */
};

struct engine {
	struct vm *vm;
	int sys_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct htimer timer;
	/*
	 * KVM finishes an IN or an MMIO read only at the next KVM_RUN.  Until
	 * then the register state is not final, so get_state/set_state first
	 * complete it (see flush_pending).  An MMIO read's data comes from the
	 * run loop's struct vm_exit, which it passes back to the next run().
	 */
	bool completion_pending;
	struct vm_exit *mmio_read;
	bool device_written;		/* last exit was an OUT or MMIO write */
	char probe_result[160];
	struct kvmeng_stats st;
};

static struct engine *volatile kvmeng_cur;	/* for the timer signal: one vCPU per process */

static uint64_t kvmeng_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- host timer: a signal at the next device deadline ---- */

static void on_kvmeng_timer(int sig)
{
	struct engine *e = kvmeng_cur;

	(void)sig;
	if (e && e->run) {
		e->run->immediate_exit = 1;
		e->st.timer_signals++;
	}
}

static int install_timer(struct engine *e)
{
	/* SA_RESTART: KVM_RUN still returns EINTR, KVM never restarts it. */
	return htimer_create(&e->timer, on_kvmeng_timer, SA_RESTART);
}

/* ---- architectural state <-> KVM ---- */

static bool seg_null(const struct x86_seg *s)
{
	return (s->sel & ~3) == 0;
}

/*
 * A bt86 segment (descriptor bytes 5-6 as attr) to KVM's.  VMX checks
 * guest segment state on entry, stricter than a CPU loading a selector
 * would: a null selector's cache must be marked unusable, usable code and
 * data segments must have the accessed bit set, and TR must be a busy TSS.
 * KVM passes all of that to the hardware as is, so it is fixed up here.
 */
static void seg_to_kvm(struct kvm_segment *k, const struct x86_seg *s, bool may_be_null)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->sel;
	k->type = s->attr & SEG_ATTR_TYPE_MASK;
	k->s = !!(s->attr & SEG_ATTR_S);
	k->dpl = (s->attr >> SEG_ATTR_DPL_SHIFT) & 3;
	k->present = !!(s->attr & SEG_ATTR_P);
	k->avl = (s->attr >> 12) & 1;		/* attr bit 12: AVL */
	k->l = (s->attr >> 13) & 1;		/* attr bit 13: L (64-bit code) */
	k->db = !!(s->attr & SEG_ATTR_DB);
	k->g = !!(s->attr & SEG_ATTR_G);
	k->unusable = !k->present || (may_be_null && seg_null(s));
	if (!k->unusable && k->s)
		k->type |= 1;			/* type bit 0: accessed */
}

static void seg_from_kvm(struct x86_seg *s, const struct kvm_segment *k)
{
	s->sel = k->selector;
	s->base = (uint32_t)k->base;
	s->limit = k->limit;
	s->attr = (uint16_t)((k->type & 0xf) | (k->s ? SEG_ATTR_S : 0) |
			     ((k->dpl & 3) << SEG_ATTR_DPL_SHIFT) |
			     (k->present && !k->unusable ? SEG_ATTR_P : 0) |
			     (k->avl << 12) | (k->l << 13) |
			     (k->db ? SEG_ATTR_DB : 0) | (k->g ? SEG_ATTR_G : 0));
}

/* Segment registers in x86_state order (ES, CS, SS, DS, FS, GS). */
static struct kvm_segment *sreg_slot(struct kvm_sregs *sr, int i)
{
	struct kvm_segment *slots[6] = { &sr->es, &sr->cs, &sr->ss, &sr->ds, &sr->fs, &sr->gs };

	return slots[i];
}

/* General registers in x86_state (instruction-encoding) order. */
static __u64 *gpr_slot(struct kvm_regs *r, int i)
{
	__u64 *slots[8] = { &r->rax, &r->rcx, &r->rdx, &r->rbx,
			    &r->rsp, &r->rbp, &r->rsi, &r->rdi };

	return slots[i];
}

/*
 * Make KVM finish an IN or MMIO read it is holding (the KVM API's
 * documented way: KVM_RUN with immediate_exit set completes the pending
 * operation and returns EINTR without entering the guest).
 */
static int flush_pending(struct engine *e)
{
	if (!e->completion_pending)
		return 0;
	if (e->mmio_read) {
		memcpy(e->run->mmio.data, e->mmio_read->mmio.data, sizeof(e->run->mmio.data));
		e->mmio_read = NULL;
	}
	e->completion_pending = false;
	e->run->immediate_exit = 1;
	if (ioctl(e->vcpu_fd, KVM_RUN, 0) < 0 && errno != EINTR) {
		e->run->immediate_exit = 0;
		return -1;
	}
	e->run->immediate_exit = 0;
	return 0;
}

/*
 * A new state (the entry state, or a machine reset) starts with nothing in
 * flight: no interrupt or exception KVM still holds for the old one, no
 * interrupt shadow.  flags 0: leave the optional fields (SMM, NMI pending) be.
 */
static int clear_events(struct engine *e)
{
	struct kvm_vcpu_events ev;

	if (ioctl(e->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		goto fail;
	memset(&ev.exception, 0, sizeof(ev.exception));
	memset(&ev.interrupt, 0, sizeof(ev.interrupt));
	ev.nmi.injected = 0;
	ev.flags = 0;
	if (ioctl(e->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		goto fail;
	return 0;
fail:
	bt86_error("kvm: cannot clear the vCPU's pending events: %s", strerror(errno));
	return -1;
}

static int kvmeng_set_state(struct engine *e, const struct x86_state *s)
{
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct kvm_segment *tr = &sr.tr;

	if (flush_pending(e) < 0 || ioctl(e->vcpu_fd, KVM_GET_SREGS, &sr) < 0) {
		bt86_error("kvm: cannot read the vCPU state: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 6; i++)
		seg_to_kvm(sreg_slot(&sr, i), &s->seg[i], i != S_CS);
	seg_to_kvm(&sr.ldt, &s->ldtr, true);
	seg_to_kvm(tr, &s->tr, false);
	if (tr->unusable || !tr->present) {
		/* No task register yet: what the CPU has after reset. */
		tr->unusable = 0;
		tr->present = 1;
		tr->limit = 0xffff;
	}
	tr->type |= 2;			/* TSS type bit 1: busy, as VMX requires */
	tr->s = 0;
	sr.gdt.base = s->gdtr.base;
	sr.gdt.limit = s->gdtr.limit;
	sr.idt.base = s->idtr.base;
	sr.idt.limit = s->idtr.limit;
	sr.cr0 = s->cr0 | X86_CR0_ET;	/* ET is hardwired to 1 since the 486 */
	sr.cr2 = s->cr2;
	sr.cr3 = s->cr3;
	sr.cr4 = s->cr4;
	sr.efer = 0;
	/*
	 * The machine has no local APIC yet: a disabled one keeps KVM from
	 * setting CPUID.1:EDX.APIC, which it mirrors from IA32_APIC_BASE.EN.
	 */
	sr.apic_base = KVMENG_APIC_BASE | KVMENG_APIC_BSP;
	memset(sr.interrupt_bitmap, 0, sizeof(sr.interrupt_bitmap));
	if (ioctl(e->vcpu_fd, KVM_SET_SREGS, &sr) < 0) {
		bt86_error("kvm: KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 8; i++)
		*gpr_slot(&r, i) = s->gpr[i];
	r.rip = s->eip;
	r.rflags = s->eflags | X86_EFLAGS_FIXED;
	if (ioctl(e->vcpu_fd, KVM_SET_REGS, &r) < 0) {
		bt86_error("kvm: KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return clear_events(e);
}

static int kvmeng_get_state(struct engine *e, struct x86_state *s)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (flush_pending(e) < 0 || ioctl(e->vcpu_fd, KVM_GET_SREGS, &sr) < 0 ||
	    ioctl(e->vcpu_fd, KVM_GET_REGS, &r) < 0) {
		bt86_error("kvm: cannot read the vCPU state: %s", strerror(errno));
		return -1;
	}
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 8; i++)
		s->gpr[i] = (uint32_t)*gpr_slot(&r, i);
	s->eip = (uint32_t)r.rip;
	s->eflags = (uint32_t)r.rflags;
	for (int i = 0; i < 6; i++)
		seg_from_kvm(&s->seg[i], sreg_slot(&sr, i));
	seg_from_kvm(&s->ldtr, &sr.ldt);
	seg_from_kvm(&s->tr, &sr.tr);
	s->gdtr.base = (uint32_t)sr.gdt.base;
	s->gdtr.limit = sr.gdt.limit;
	s->idtr.base = (uint32_t)sr.idt.base;
	s->idtr.limit = sr.idt.limit;
	s->cr0 = (uint32_t)sr.cr0;
	s->cr2 = (uint32_t)sr.cr2;
	s->cr3 = (uint32_t)sr.cr3;
	s->cr4 = (uint32_t)sr.cr4;
	return 0;
}

/* ---- creation ---- */

/* The shared CPU model, leaf by leaf, so CPUID reads the same under every engine. */
static int set_cpuid(struct engine *e)
{
	struct kvm_cpuid2 *c;
	int ret;

	c = calloc(1, sizeof(*c) + KVMENG_NR_LEAVES * sizeof(c->entries[0]));
	if (!c)
		return -1;
	c->nent = KVMENG_NR_LEAVES;
	for (unsigned i = 0; i < KVMENG_NR_LEAVES; i++) {
		struct kvm_cpuid_entry2 *ent = &c->entries[i];
		uint32_t out[4];

		cpuid_query(kvmeng_leaves[i], 0, false, out);
		ent->function = kvmeng_leaves[i];
		ent->eax = out[0];
		ent->ebx = out[1];
		ent->ecx = out[2];
		ent->edx = out[3];
	}
	ret = ioctl(e->vcpu_fd, KVM_SET_CPUID2, c);
	free(c);
	return ret;
}

/*
 * The guest TSC starts at the host's value, as under the bt engine (which
 * adds an offset of 0 until the guest writes IA32_TSC); both then tick at
 * the host TSC rate.  KVM would otherwise start it at 0 at vCPU creation.
 */
static int set_tsc(struct engine *e)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry ent;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.ent.index = KVMENG_MSR_IA32_TSC;
	m.ent.data = __rdtsc();
	return ioctl(e->vcpu_fd, KVM_SET_MSRS, &m) == 1 ? 0 : -1;
}

static void kvmeng_destroy(struct engine *e)
{
	if (!e)
		return;
	if (kvmeng_cur == e)
		kvmeng_cur = NULL;
	htimer_destroy(&e->timer);
	if (e->run)
		munmap(e->run, e->run_size);
	if (e->vcpu_fd >= 0)
		close(e->vcpu_fd);
	if (e->vm_fd >= 0)
		close(e->vm_fd);
	if (e->sys_fd >= 0)
		close(e->sys_fd);
	free(e);
}

/* Print why and give up; create() returns NULL so the run loop exits with status 8. */
static struct engine *create_failed(struct engine *e, const char *what)
{
	bt86_error("kvm: %s: %s", what, strerror(errno));
	kvmeng_destroy(e);
	return NULL;
}

static struct engine *kvmeng_create(struct vm *vm)
{
	struct kvm_userspace_memory_region mr;
	struct engine *e;
	uint64_t t0;
	long run_size;
	int api;

	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->vm = vm;
	e->sys_fd = e->vm_fd = e->vcpu_fd = -1;
	e->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (e->sys_fd < 0)
		return create_failed(e, "cannot open /dev/kvm (no hardware virtualization "
				     "here, or no permission)");
	api = ioctl(e->sys_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		bt86_error("kvm: /dev/kvm speaks API version %d, bt86 needs %d", api,
			   KVM_API_VERSION);
		kvmeng_destroy(e);
		return NULL;
	}
	if (ioctl(e->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		bt86_error("kvm: this host's KVM lacks KVM_CAP_IMMEDIATE_EXIT (Linux >= 4.11)");
		kvmeng_destroy(e);
		return NULL;
	}
	t0 = kvmeng_now();
	if (bt86_kvm_probe(e->probe_result, sizeof(e->probe_result)) < 0) {
		bt86_error("kvm: this host's /dev/kvm cannot run 32-bit protected-mode guests "
			   "(%s); use --engine=bt", e->probe_result);
		kvmeng_destroy(e);
		return NULL;
	}
	e->st.ns_probe = kvmeng_now() - t0;
	e->vm_fd = ioctl(e->sys_fd, KVM_CREATE_VM, 0);
	if (e->vm_fd < 0)
		return create_failed(e, "KVM_CREATE_VM");
	if (ioctl(e->vm_fd, KVM_SET_TSS_ADDR, KVMENG_TSS_ADDR) < 0)
		return create_failed(e, "KVM_SET_TSS_ADDR");
	/* The VMM's own mapping of the memfd: one copy of guest RAM for everyone. */
	memset(&mr, 0, sizeof(mr));
	mr.slot = 0;
	mr.guest_phys_addr = 0;
	mr.memory_size = vm->ram.size;
	mr.userspace_addr = (uint64_t)(uintptr_t)vm->ram.host;
	if (ioctl(e->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
		return create_failed(e, "KVM_SET_USER_MEMORY_REGION");
	e->vcpu_fd = ioctl(e->vm_fd, KVM_CREATE_VCPU, 0);
	if (e->vcpu_fd < 0)
		return create_failed(e, "KVM_CREATE_VCPU");
	run_size = ioctl(e->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(struct kvm_run))
		return create_failed(e, "KVM_GET_VCPU_MMAP_SIZE");
	e->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, e->vcpu_fd, 0);
	if (e->run == MAP_FAILED) {
		e->run = NULL;
		return create_failed(e, "mmap of the vCPU run page");
	}
	e->run_size = (size_t)run_size;
	if (set_cpuid(e) < 0)
		return create_failed(e, "KVM_SET_CPUID2");
	if (set_tsc(e) < 0)
		return create_failed(e, "KVM_SET_MSRS (IA32_TSC)");
	if (install_timer(e) < 0)
		return create_failed(e, "host timer");
	kvmeng_cur = e;
	return e;
}

/* ---- running ---- */

/*
 * The PIC's INTR line: inject when the guest can take an interrupt right
 * now (IF=1, no interrupt shadow, nothing else being delivered: KVM says so
 * in ready_for_interrupt_injection and if_flag, as of the last exit), else
 * ask KVM to exit as soon as it can (KVM_EXIT_IRQ_WINDOW_OPEN).  Only an
 * injected interrupt is acknowledged at the PIC, so none is lost.
 */
static int offer_interrupt(struct engine *e)
{
	struct kvm_run *r = e->run;
	struct kvm_interrupt irq;

	r->request_interrupt_window = 0;
	if (!vm_intr_pending(e->vm))
		return 0;
	if (r->ready_for_interrupt_injection && r->if_flag) {
		irq.irq = (uint32_t)vm_intr_ack(e->vm);
		if (ioctl(e->vcpu_fd, KVM_INTERRUPT, &irq) < 0)
			return -1;
		e->st.injected++;
		/* One per entry: the next waits for the window after this one. */
		if (!vm_intr_pending(e->vm))
			return 0;
	}
	r->request_interrupt_window = 1;
	e->st.window_requests++;
	return 0;
}

static int run_error(struct vm_exit *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int run_error(struct vm_exit *x, const char *fmt, ...)
{
	va_list ap;

	x->kind = VMEXIT_ERROR;
	va_start(ap, fmt);
	vsnprintf(x->error, sizeof(x->error), fmt, ap);
	va_end(ap);
	return -1;
}

static void io_exit(struct engine *e, struct vm_exit *x)
{
	struct kvm_run *r = e->run;

	x->kind = VMEXIT_IO;
	x->io.port = r->io.port;
	x->io.size = r->io.size;
	x->io.is_write = r->io.direction == KVM_EXIT_IO_OUT;
	x->io.count = r->io.count;
	x->io.data = (uint8_t *)r + r->io.data_offset;
	if (x->io.is_write) {
		e->st.io_out++;
		e->device_written = true;
	} else {
		e->st.io_in++;
		e->completion_pending = true;
	}
	if (r->io.count > 1)
		e->st.io_string++;
}

static void mmio_exit(struct engine *e, struct vm_exit *x)
{
	struct kvm_run *r = e->run;

	x->kind = VMEXIT_MMIO;
	x->mmio.gpa = (uint32_t)r->mmio.phys_addr;
	x->mmio.size = (uint8_t)r->mmio.len;
	x->mmio.is_write = r->mmio.is_write;
	memcpy(x->mmio.data, r->mmio.data, sizeof(x->mmio.data));
	if (r->mmio.is_write) {
		e->st.mmio_write++;
		e->device_written = true;
	} else {
		e->st.mmio_read++;
		e->completion_pending = true;
		e->mmio_read = x;
	}
}

static int internal_error(struct kvm_run *r, struct vm_exit *x)
{
	static const char *const sub[] = {
		[KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
		[KVM_INTERNAL_ERROR_SIMUL_EX] = "exception while delivering an exception",
		[KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
	};
	const char *what = r->internal.suberror < sizeof(sub) / sizeof(sub[0]) &&
			   sub[r->internal.suberror] ? sub[r->internal.suberror] : "unknown";
	int n = snprintf(x->error, sizeof(x->error), "KVM internal error %u (%s)",
			 r->internal.suberror, what);

	for (unsigned i = 0; i < r->internal.ndata && i < 4 && n > 0 &&
	     (size_t)n < sizeof(x->error); i++)
		n += snprintf(x->error + n, sizeof(x->error) - (size_t)n, " %#llx",
			      (unsigned long long)r->internal.data[i]);
	x->kind = VMEXIT_ERROR;
	return -1;
}

static int kvmeng_run(struct engine *e, struct vm_exit *x)
{
	struct kvm_run *r = e->run;
	struct vm *vm = e->vm;

	if (e->mmio_read) {
		memcpy(r->mmio.data, e->mmio_read->mmio.data, sizeof(r->mmio.data));
		e->mmio_read = NULL;
	}
	/*
	 * The run loop refreshes vm->next_deadline only when it polls, but a
	 * device write can move the next event: reprogramming PIT channel 0
	 * stops it between the control word and the count (a poll in between
	 * says "never"), a new RTC rate starts a new period.  Under KVM the
	 * guest may run for a long time without another exit, so poll again
	 * after every write rather than sleep on a stale deadline.
	 */
	if (e->device_written) {
		e->device_written = false;
		e->st.deadline_refreshes++;
		vm_poll_devices(vm);
	}
	for (;;) {
		uint64_t t0, t1;
		int ret;

		/*
		 * Clear before the checks: a timer or kick signal from now on
		 * sets it again and KVM_RUN returns at once.
		 */
		r->immediate_exit = 0;
		t0 = kvmeng_now();
		if (vm->ctl.stop != VM_RUNNING || t0 >= vm->next_deadline) {
			if (vm->ctl.stop == VM_RUNNING)
				e->st.polls_early++;
			x->kind = VMEXIT_POLL;
			return 0;
		}
		htimer_arm(&e->timer, vm->next_deadline);
		if (offer_interrupt(e) < 0)
			return run_error(x, "KVM_INTERRUPT: %s", strerror(errno));
		e->st.runs++;
		ret = ioctl(e->vcpu_fd, KVM_RUN, 0);
		t1 = kvmeng_now();
		e->st.ns_in_run += t1 - t0;
		/* Whatever was pending, KVM_RUN has consumed it. */
		e->completion_pending = false;
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				e->st.exits[KX_INTR]++;
				x->kind = VMEXIT_POLL;
				return 0;
			}
			return run_error(x, "KVM_RUN: %s", strerror(errno));
		}
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			e->st.exits[KX_IO]++;
			io_exit(e, x);
			return 0;
		case KVM_EXIT_MMIO:
			e->st.exits[KX_MMIO]++;
			mmio_exit(e, x);
			return 0;
		case KVM_EXIT_HLT:
			e->st.exits[KX_HLT]++;
			x->kind = VMEXIT_HLT;
			x->hlt.halted_forever = !r->if_flag;
			return 0;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			e->st.exits[KX_IRQ_WINDOW]++;
			continue;
		case KVM_EXIT_INTR:
			e->st.exits[KX_INTR]++;
			x->kind = VMEXIT_POLL;
			return 0;
		case KVM_EXIT_SHUTDOWN:
			e->st.exits[KX_SHUTDOWN]++;
			x->kind = VMEXIT_SHUTDOWN;
			snprintf(x->shutdown, sizeof(x->shutdown), "triple fault");
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			e->st.exits[KX_FAIL_ENTRY]++;
			return run_error(x, "VM entry failed: hardware reason %#llx on host cpu %u",
					 (unsigned long long)
					 r->fail_entry.hardware_entry_failure_reason,
					 r->fail_entry.cpu);
		case KVM_EXIT_INTERNAL_ERROR:
			e->st.exits[KX_INTERNAL]++;
			return internal_error(r, x);
		default:
			e->st.exits[KX_OTHER]++;
			return run_error(x, "unexpected KVM exit reason %u", r->exit_reason);
		}
	}
}

/* Signal-safe: a store to the run page. */
static void kvmeng_kick(struct engine *e)
{
	if (e->run)
		e->run->immediate_exit = 1;
}

/*
 * Where the vCPU stopped and what KVM still holds for it: an interrupt
 * injected but not yet delivered, an interrupt shadow.  With the PIC's
 * registers beside it, a guest that stopped taking interrupts shows why.
 */
static void print_final_state(struct engine *e, FILE *o)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs r;
	const struct pic_chip *m = &e->vm->pic.chip[0], *sl = &e->vm->pic.chip[1];

	if (ioctl(e->vcpu_fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(e->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return;
	fprintf(o, "  final vcpu            eip %#llx eflags %#llx, KVM interrupt %s",
		(unsigned long long)r.rip, (unsigned long long)r.rflags,
		ev.interrupt.injected ? "queued" : "none");
	if (ev.interrupt.injected)
		fprintf(o, " (vector %u)", ev.interrupt.nr);
	fprintf(o, "%s\n", ev.interrupt.shadow ? ", in shadow" : "");
	fprintf(o, "  final PIC             irr %02x/%02x isr %02x/%02x imr %02x/%02x\n",
		m->irr, sl->irr, m->isr, sl->isr, m->imr, sl->imr);
}

static void kvmeng_print_stats(struct engine *e, FILE *o)
{
	const struct kvmeng_stats *s = &e->st;

	fprintf(o, "== kvm engine\n");
	fprintf(o, "  probe                 %10.3f ms (%s)\n", s->ns_probe / 1e6,
		e->probe_result);
	fprintf(o, "  KVM_RUN calls         %10llu\n", (unsigned long long)s->runs);
	fprintf(o, "  time in KVM_RUN       %10.3f ms\n", s->ns_in_run / 1e6);
	for (int k = 0; k < KX_NR; k++)
		if (s->exits[k])
			fprintf(o, "  exits: %-14s %10llu\n", kvmeng_exit_names[k],
				(unsigned long long)s->exits[k]);
	fprintf(o, "  port I/O exits        %10llu (in %llu, out %llu, string %llu)\n",
		(unsigned long long)(s->io_in + s->io_out), (unsigned long long)s->io_in,
		(unsigned long long)s->io_out, (unsigned long long)s->io_string);
	if (s->mmio_read + s->mmio_write)
		fprintf(o, "  MMIO exits            %10llu (read %llu, write %llu)\n",
			(unsigned long long)(s->mmio_read + s->mmio_write),
			(unsigned long long)s->mmio_read, (unsigned long long)s->mmio_write);
	fprintf(o, "  interrupts delivered  %10llu (KVM_INTERRUPT; window requests %llu)\n",
		(unsigned long long)s->injected, (unsigned long long)s->window_requests);
	fprintf(o, "  host timer signals    %10llu (deadline already past %llu)\n",
		(unsigned long long)s->timer_signals, (unsigned long long)s->polls_early);
	fprintf(o, "  device polls on write %10llu\n", (unsigned long long)s->deadline_refreshes);
	print_final_state(e, o);
}

const struct engine_ops kvm_engine_ops = {
	.name = "kvm",
	.create = kvmeng_create,
	.destroy = kvmeng_destroy,
	.set_state = kvmeng_set_state,
	.get_state = kvmeng_get_state,
	.run = kvmeng_run,
	.kick = kvmeng_kick,
	.print_stats = kvmeng_print_stats,
};
