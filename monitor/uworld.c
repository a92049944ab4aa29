/*
 * uworld.c - the `bt` engine: monitor and translated code in the bt86 process.
 *
 * The run loop looks up (or translates) the block at the guest EIP, links
 * the exit it arrived through, and enters the TC.  Translated code comes
 * back in one of four ways: a chainable exit whose target was not linked
 * yet, a callout for an instruction the monitor emulates, an IBL miss, or a
 * host signal.  Signals are how the hardware talks to a user-space monitor:
 * SIGSEGV for an access the view does not allow (a write to a page holding
 * translations, memory that is not RAM, the poll page), SIGFPE for #DE, and
 * SIGALRM from the host timer that stands in for the guest's timer interrupt
 * line.  The handler never unwinds: it maps the host RIP back to the guest
 * instruction (the per-block map), repairs what the translation keeps
 * differently (string registers moved into the view, swapped byte
 * registers), and rewrites the context to return into tc_fault_exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>

#include "monitor/vcpu.h"
#include "vmm/htimer.h"
#include "vmm/vm.h"

#define TC_SIZE		(256u << 20)	/* address space; only what is used costs memory */

void tc_enter(struct bt_cpu *cpu, void *code);
void tc_exit(void);
void tc_ibl_miss(void);
void tc_fault_exit(void);
void tc_fpu_load(void);

struct engine {
	struct vcpu v;			/* first, and 64-byte aligned */
	struct vm *vm;
	struct htimer timer;
	uint8_t *altstack;
	struct kworld *kw;		/* bt-kmod: the TC runs in bt86.ko's monitor world */
};

static struct vcpu *cur_vcpu;	/* for the signal handlers: one vCPU per process */

void vcpu_set_eflags(struct vcpu *v, uint32_t val)
{
	v->bt.hflags = (val & VCPU_HOST_FLAGS) | X86_EFLAGS_FIXED | X86_EFLAGS_IF;
	v->bt.vflags = val & BT_VFLAGS_MASK;
	v->bt.vif = (val & X86_EFLAGS_IF) != 0;
}

void vcpu_update_mode(struct vcpu *v)
{
	struct bt_mode m;

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 6; i++)
		m.seg_base[i] = v->seg[i].base;
	m.cpl = (uint8_t)v->cpl;
	m.cs32 = (v->seg[S_CS].attr & SEG_ATTR_DB) != 0;
	m.ss32 = (v->seg[S_SS].attr & SEG_ATTR_DB) != 0;
	m.fpu_trap = (v->cr0 & (X86_CR0_TS | X86_CR0_EM)) != 0;
	m.tsc_raw = v->tsc_offset == 0 && !((v->cr4 & X86_CR4_TSD) && v->cpl);
	v->mode = tc_mode_id(&v->tc, &m);
	v->mode_dirty = false;
	v->last_exit = NULL;
}

/* ---- signals ---- */

static bool in_tc(const struct vcpu *v, uint64_t rip)
{
	uint64_t base = (uint64_t)(uintptr_t)v->tc.rx;

	return rip >= base && rip < base + v->tc.used;
}

static void fix_string(struct vcpu *v, const struct tc_block *b, const struct tc_map *m,
		       greg_t *g)
{
	const struct bt_mode *mode = &v->tc.modes[b->mode];

	if (m->aux & 1)
		g[REG_RSI] = (uint32_t)((uint32_t)g[REG_RSI] - mode->seg_base[m->aux >> 2]);
	if (m->aux & 2)
		g[REG_RDI] = (uint32_t)((uint32_t)g[REG_RDI] - mode->seg_base[S_ES]);
}

static void fix_hswap(const struct tc_map *m, greg_t *g)
{
	static const int regs[4] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX };
	uint64_t r = (uint64_t)g[regs[m->aux]];
	uint64_t lo = r & 0xff, hi = (r >> 8) & 0xff;

	g[regs[m->aux]] = (greg_t)((r & ~0xffffull) | (lo << 8) | hi);
}

/*
 * A host fault in translated code, from either world: sig as a signal would
 * name it, addr the faulting address, err the page-fault error code, g the
 * host registers (gregset order).  Returns UW_FAULT_RESUME when it was a
 * hidden fault filled on the spot (run the same host instruction again),
 * UW_FAULT_EXIT when the run loop must see it (v->fault says why, v->eip is
 * the guest instruction, g has been repaired), UW_FAULT_FOREIGN when the
 * fault is not in translated code at all.
 */
int uw_host_fault(struct vcpu *v, int sig, uint8_t *addr, uint64_t err, long long *g)
{
	uint64_t rip = (uint64_t)g[REG_RIP];
	struct tc_block *b;
	const struct tc_map *m;
	uint32_t lin = 0;
	enum smmu_where where = SMMU_OUTSIDE;

	if (!v || !in_tc(v, rip) || !(b = tc_find_block(&v->tc, rip)))
		return UW_FAULT_FOREIGN;
	v->fault = VF_OTHER;
	v->fault_sig = sig;
	v->fault_host_rip = rip;
	if (sig == SIGSEGV && addr >= v->ctl_pages && addr < v->ctl_pages + 4096) {
		/* A backward edge's probe: the branch is done, resume at its target. */
		uint64_t off = rip - (uint64_t)(uintptr_t)v->tc.rx;

		v->fault = VF_POLL;
		v->eip = b->eip;	/* the IBL entry's probe: at the block */
		for (int i = 0; i < b->nexits; i++)
			if (b->exits[i].probe_off && off >= b->exits[i].probe_off &&
			    off < b->exits[i].probe_off + 16)
				v->eip = b->exits[i].eip;
		return UW_FAULT_EXIT;
	}
	if (sig == SIGSEGV && addr >= v->ctl_pages + 4096 && addr < v->ctl_pages + 8192) {
		v->fault = VF_IRQWIN;
	} else if (sig == SIGSEGV &&
		   (where = smmu_view_where(v->cur_view, addr, &lin)) == SMMU_IN_GUARD) {
		v->fault = VF_WRAP;	/* an address that wrapped past 4 GiB */
		v->fault_addr = lin;
	} else if (sig == SIGSEGV && where == SMMU_IN_WINDOW) {
		bool write = (err & 2) != 0;	/* page-fault error code: W */

		/*
		 * Most faults are hidden: the shadow entry is filled right here and
		 * the host instruction simply runs again, no exit at all.
		 */
		v->segv = smmu_fault(&v->mmu, lin, write, v->cpl, &v->segv_err, &v->segv_phys);
		if (v->segv == SMMU_FILLED) {
			v->fault = VF_NONE;
			v->st.hidden_in_handler++;
			return UW_FAULT_RESUME;
		}
		v->fault = VF_SEGV;
		v->fault_addr = lin;
		v->fault_write = write;
	} else if (sig == SIGFPE) {
		v->fault = VF_DE;
	} else if (sig == SIGILL) {
		v->fault = VF_UD;
	}
	m = tc_find_insn(&v->tc, b, rip);
	if (!m)
		return UW_FAULT_FOREIGN;
	v->fault_string = m->fixup == TC_FIX_STRING;
	if (m->fixup == TC_FIX_STRING)
		fix_string(v, b, m, g);
	else if (m->fixup == TC_FIX_HSWAP)
		fix_hswap(m, g);
	v->eip = b->eip + m->guest_off;
	if (v->fault == VF_IRQWIN) {
		/* The probe follows a completed sti/popf: resume after it. */
		const struct tc_map *next = m + 1;

		v->eip = m + 1 < &v->tc.maps[b->map_idx + b->ninsn] ? b->eip + next->guest_off :
			 b->eip + b->glen;
		v->irqwin_shadow = m->aux;
	}
	return UW_FAULT_EXIT;
}

_Static_assert(sizeof(greg_t) == sizeof(long long), "gregset entries are long long");

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;

	switch (uw_host_fault(cur_vcpu, sig, (uint8_t *)si->si_addr, (uint64_t)g[REG_ERR], g)) {
	case UW_FAULT_RESUME:
		return;
	case UW_FAULT_EXIT:
		g[REG_RIP] = (greg_t)(uintptr_t)tc_fault_exit;
		return;
	default: {
		/* A fault in the VMM itself: a bug.  Say where, die with the default action. */
		char msg[160];
		int n = snprintf(msg, sizeof(msg), "bt86: internal error: signal %d at host rip "
				 "%#llx (tc_enter%+lld, address %p)\n", sig,
				 (unsigned long long)g[REG_RIP],
				 (long long)(g[REG_RIP] - (greg_t)(uintptr_t)tc_enter), si->si_addr);

		if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
			n = 0;
		signal(sig, SIG_DFL);
		return;
	}
	}
}

/* The poll page makes the next block boundary an exit; async-signal-safe. */
static void poll_arm(struct vcpu *v, bool armed)
{
	mprotect(v->ctl_pages, 4096, armed ? PROT_NONE : PROT_READ);
}

static void irqwin_arm(struct vcpu *v, bool armed)
{
	mprotect(v->ctl_pages + 4096, 4096, armed ? PROT_NONE : PROT_READ);
}

static void on_timer(int sig)
{
	(void)sig;
	if (cur_vcpu) {
		cur_vcpu->poll_armed = 1;
		cur_vcpu->st.host_timer_signals++;
		poll_arm(cur_vcpu, true);
	}
}

static int install_signals(struct engine *e)
{
	struct sigaction sa;
	stack_t ss = { .ss_size = 1 << 16 };

	e->altstack = malloc(ss.ss_size);
	if (!e->altstack)
		return -1;
	ss.ss_sp = e->altstack;
	if (sigaltstack(&ss, NULL) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	if (sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGFPE, &sa, NULL) < 0 ||
	    sigaction(SIGILL, &sa, NULL) < 0 || sigaction(SIGBUS, &sa, NULL) < 0 ||
	    sigaction(SIGTRAP, &sa, NULL) < 0)
		return -1;
	return htimer_create(&e->timer, on_timer, SA_ONSTACK | SA_RESTART);
}

/* ---- engine ops ---- */

static void save_fx(uint8_t *area)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t (*)[512])area));
}

static void restore_fx(const uint8_t *area)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t (*)[512])area));
}

_Static_assert(offsetof(struct bt_cpu, vflags) == BTC_VFLAGS, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, fx_guest) == BTC_FX_GUEST, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, fx_host) == BTC_FX_HOST, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, vif) == BTC_VIF, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, if_of_byte1) == BTC_IFTAB, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, exit_eip) == BTC_EXIT_EIP, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, sel) == BTC_SEL, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, fpu_loaded) == BTC_FPU_LOADED, "bt_cpu layout");
_Static_assert(offsetof(struct bt_cpu, fpu_load) == BTC_FPU_LOAD, "bt_cpu layout");

static void init_fpu_images(struct vcpu *v)
{
	uint32_t mxcsr = 0x1f80;	/* power-on MXCSR: all exceptions masked */

	save_fx(v->bt.fx_host);
	__asm__ volatile("fninit; ldmxcsr %0" : : "m"(mxcsr));
	save_fx(v->bt.fx_guest);
	restore_fx(v->bt.fx_host);
}

static void bt_destroy(struct engine *e)
{
	if (!e)
		return;
	if (cur_vcpu == &e->v)
		cur_vcpu = NULL;
	htimer_destroy(&e->timer);
	kw_close(e->kw);
	tc_destroy(&e->v.tc);
	smmu_destroy(&e->v.mmu);
	free(e->altstack);
	munmap((uint8_t *)e - 8192, 8192 + sizeof(*e));
}

static struct engine *create(struct vm *vm, bool kmod)
{
	struct engine *e = NULL;
	struct vcpu *v;
	struct tc_host host;

	uint8_t *region;

	/* The two control pages sit right below the vCPU: r13 - 8192 and r13 - 4096. */
	region = mmap(NULL, 8192 + sizeof(*e), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		bt86_error("bt: out of memory");
		return NULL;
	}
	mprotect(region, 8192, PROT_READ);
	e = (struct engine *)(region + 8192);
	e->vm = vm;
	v = &e->v;
	v->vm = vm;
	v->tc.fd = -1;
	if (smmu_init(&v->mmu, &vm->ram) < 0) {
		bt86_error("bt: cannot set up the shadow MMU: %s", strerror(errno));
		goto fail;
	}
	v->mmu.trace_log = vm->cfg.trace_mmu;
	v->cur_view = &v->mmu.flat;
	v->ctl_pages = region;
	host.fetch = umem_fetch;
	host.code_page = umem_code_page;
	host.hot_store = umem_hot_store;
	host.wraps = umem_wraps;
	host.opaque = v;
	if (tc_create(&v->tc, TC_SIZE, vm->ram.size, &host) < 0) {
		bt86_error("bt: cannot create the translation cache: %s", strerror(errno));
		goto fail;
	}
	v->tc.trace = vm->cfg.trace_tc;
	v->bt.tc_exit = (uint64_t)(uintptr_t)tc_exit;
	v->bt.fpu_load = (uint64_t)(uintptr_t)tc_fpu_load;
	v->bt.ibl_miss = (uint64_t)(uintptr_t)tc_ibl_miss;
	init_fpu_images(v);
	for (int i = 0; i < 256; i++)
		v->bt.if_of_byte1[i] = (i >> 1) & 1;	/* IF is bit 9 = bit 1 of byte 1 */
	if (install_signals(e) < 0) {
		bt86_error("bt: cannot install signal handlers: %s", strerror(errno));
		goto fail;
	}
	cur_vcpu = v;
	if (kmod && !(e->kw = kw_open(v)))
		goto fail;
	return e;
fail:
	bt_destroy(e);
	return NULL;
}

static struct engine *bt_create(struct vm *vm)
{
	return create(vm, false);
}

static struct engine *btk_create(struct vm *vm)
{
	return create(vm, true);
}

static int bt_set_state(struct engine *e, const struct x86_state *s)
{
	struct vcpu *v = &e->v;

	memcpy(v->bt.gpr, s->gpr, sizeof(v->bt.gpr));
	v->eip = s->eip;
	vcpu_set_eflags(v, s->eflags);
	vcpu_set_control(v, s->cr0 | X86_CR0_ET, s->cr3, s->cr4);	/* ET: hardwired to 1 */
	v->cr2 = s->cr2;
	memcpy(v->seg, s->seg, sizeof(v->seg));
	v->ldtr = s->ldtr;
	v->tr = s->tr;
	v->gdtr = s->gdtr;
	v->idtr = s->idtr;
	v->cpl = (v->seg[S_CS].attr >> SEG_ATTR_DPL_SHIFT) & 3;
	v->shutdown = false;
	v->io.pending = false;
	v->mode_dirty = true;
	v->last_exit = NULL;
	return 0;
}

static int bt_get_state(struct engine *e, struct x86_state *s)
{
	struct vcpu *v = &e->v;

	memcpy(s->gpr, v->bt.gpr, sizeof(s->gpr));
	s->eip = v->eip;
	s->eflags = vcpu_eflags(v);
	s->cr0 = v->cr0;
	s->cr2 = v->cr2;
	s->cr3 = v->cr3;
	s->cr4 = v->cr4;
	memcpy(s->seg, v->seg, sizeof(s->seg));
	s->ldtr = v->ldtr;
	s->tr = v->tr;
	s->gdtr = v->gdtr;
	s->idtr = v->idtr;
	return 0;
}

static void bt_kick(struct engine *e)
{
	e->v.poll_armed = 1;
	poll_arm(&e->v, true);
}

/* Finish a port-I/O exit: IN data goes to EAX or to memory (ins). */
static void complete_io(struct vcpu *v)
{
	uint32_t val = 0;

	if (!v->io.pending)
		return;
	v->io.pending = false;
	if (!v->io.is_in)
		return;
	if (!v->io.string) {
		memcpy(&val, v->io.buf, v->io.size);
		if (v->io.size == 4)
			v->bt.gpr[R_EAX] = val;
		else if (v->io.size == 2)
			v->bt.gpr[R_EAX] = (v->bt.gpr[R_EAX] & 0xffff0000) | (val & 0xffff);
		else
			v->bt.gpr[R_EAX] = (v->bt.gpr[R_EAX] & 0xffffff00) | (val & 0xff);
		return;
	}
	/* ins: store each element at ES:EDI, stepping by DF. */
	for (uint32_t i = 0; i < v->io.count; i++) {
		int32_t step = (v->bt.hflags & X86_EFLAGS_DF) ? -(int32_t)v->io.size : v->io.size;

		vcpu_write(v, v->seg[S_ES].base + v->bt.gpr[R_EDI], v->io.buf + i * v->io.size,
			   v->io.size);
		v->bt.gpr[R_EDI] += (uint32_t)step;
	}
}

static int shutdown_exit(struct vcpu *v, struct vm_exit *x)
{
	x->kind = VMEXIT_SHUTDOWN;
	snprintf(x->shutdown, sizeof(x->shutdown), "%s", v->shutdown_why);
	return 0;
}

/* Returns 0 to continue, 1 with an exit in x. */
static int handle_fault(struct vcpu *v, struct vm_exit *x)
{
	enum vcpu_fault f = v->fault;

	v->fault = VF_NONE;
	v->last_exit = NULL;
	switch (f) {
	case VF_POLL:
		v->st.exits_poll++;
		return 0;
	case VF_IRQWIN:
		/* sti's shadow: one more instruction before the interrupt. */
		if (v->irqwin_shadow) {
			v->intr_shadow = true;
			v->single_pending = true;
		}
		return 0;
	case VF_WRAP:
		return umem_wrapped(v, x);
	case VF_DE:
		vcpu_fault(v, EXC_DE, false, 0);
		return 0;
	case VF_UD:
		vcpu_fault(v, EXC_UD, false, 0);
		return 0;
	case VF_SEGV:
		v->st.exits_fault++;
		return umem_fault(v, (uint32_t)v->fault_addr, v->fault_write, v->segv,
				  v->segv_err, v->segv_phys, x);
	default:
		x->kind = VMEXIT_ERROR;
		snprintf(x->error, sizeof(x->error), "unexpected host fault in translated code "
			 "at guest eip 0x%08x (signal %d at TC offset %#llx)", v->eip, v->fault_sig,
			 (unsigned long long)(v->fault_host_rip - (uint64_t)(uintptr_t)v->tc.rx));
		return 1;
	}
}

/* Find or make the block at the current EIP; NULL with x filled on failure. */
static struct tc_block *get_block(struct vcpu *v, bool single, struct vm_exit *x)
{
	uint32_t lin = v->eip + v->seg[S_CS].base, phys, err;
	struct tc_block *b = NULL;
	bool fetch_fault;

	if (smmu_translate(&v->mmu, lin, v->cpl == 3 ? WALK_USER : 0, &phys, &err) < 0) {
		v->cr2 = lin;
		vcpu_fault(v, EXC_PF, true, err);
		return NULL;
	}
	if (!single)
		b = tc_lookup(&v->tc, v->eip, phys, v->mode);
	if (b && b->two_pages) {
		/* Its second page may be mapped elsewhere now. */
		uint32_t p2;

		if (smmu_translate(&v->mmu, lin + b->glen - 1, v->cpl == 3 ? WALK_USER : 0, &p2,
				   &err) < 0 || (p2 & ~0xfffu) != (b->phys_end & ~0xfffu)) {
			tc_invalidate_block(&v->tc, b);
			b = NULL;
		}
	}
	if (b)
		return b;
	for (int attempt = 0; attempt < 2; attempt++) {
		b = bt_translate(&v->tc, v->eip, v->mode, single, &fetch_fault);
		if (b || fetch_fault)
			break;
		/* The TC is full: start over. */
		tc_flush(&v->tc);
		v->last_exit = NULL;
	}
	if (!b && fetch_fault && v->fetch_pf) {
		v->cr2 = v->fetch_cr2;
		vcpu_fault(v, EXC_PF, true, v->fetch_err);
	} else if (!b && fetch_fault) {
		/* Unassigned memory fetches as 0xFF bytes: FF FF is an invalid opcode. */
		vcpu_fault(v, EXC_UD, false, 0);
	} else if (!b) {
		x->kind = VMEXIT_ERROR;
		snprintf(x->error, sizeof(x->error), "cannot translate the block at eip 0x%08x "
			 "(linear 0x%08x): translation cache exhausted", v->eip, lin);
	}
	return b;
}

/* Let inline sti/popf trap only while an interrupt is actually waiting. */
static void update_irqwin(struct vcpu *v)
{
	bool want = vm_intr_pending(v->vm);

	if (want != v->irqwin_armed) {
		irqwin_arm(v, want);
		v->irqwin_armed = want;
	}
}

static bool take_interrupt(struct vcpu *v)
{
	int vec;

	if (!v->bt.vif || v->intr_shadow || !vm_intr_pending(v->vm))
		return false;
	vec = vm_intr_ack(v->vm);
	vcpu_deliver(v, vec, false, 0, false, v->eip);
	return true;
}

static int bt_run(struct engine *e, struct vm_exit *x)
{
	struct vcpu *v = &e->v;
	bool single, ibl_fill = false;
	uint64_t t_out = __rdtsc(), t_in;

	complete_io(v);
	for (;;) {
		struct tc_block *b;
		struct tc_exit *rec;

		if (v->shutdown)
			return shutdown_exit(v, x);
		if (v->poll_armed || v->vm->ctl.stop != VM_RUNNING) {
			v->poll_armed = 0;
			poll_arm(v, false);
			x->kind = VMEXIT_POLL;
			return 0;
		}
		htimer_arm(&e->timer, v->vm->next_deadline);
		single = v->single_pending;
		if (!single && take_interrupt(v))
			continue;
		update_irqwin(v);
		if (v->mode_dirty)
			vcpu_update_mode(v);
		b = get_block(v, single, x);
		if (!b && v->shutdown)
			continue;
		if (!b && x->kind == VMEXIT_ERROR)
			return -1;
		if (!b)
			continue;
		if (v->last_exit && v->last_exit->blk->valid && !single)
			tc_link(&v->tc, v->last_exit, b);
		if (ibl_fill && !single)
			tc_ibl_insert(&v->tc, b);	/* the slot may hold a namesake */
		ibl_fill = false;
		v->last_exit = NULL;
		v->single_pending = false;
		v->cur_view = smmu_view_for(&v->mmu, v->cpl);
		for (int i = 0; i < 6; i++)
			v->bt.sel[i] = v->seg[i].sel;
		v->bt.view_base = (uint64_t)(uintptr_t)v->cur_view->base;
		v->bt.ibl_table = (uint64_t)(uintptr_t)v->tc.ibl[v->mode];
		v->bt.exit_rec = 0;
		v->fault = VF_NONE;
		v->st.enters++;
		t_in = __rdtsc();
		v->st.cycles_monitor += t_in - t_out;
		if (!e->kw)
			tc_enter(&v->bt, tc_rx(&v->tc, b->code_off));
		else if (kw_enter(e->kw, v, tc_rx(&v->tc, b->code_off), x) < 0)
			return -1;
		t_out = __rdtsc();
		v->st.cycles_tc += t_out - t_in;
		v->intr_shadow = false;
		/* A step that completed (or failed other than on memory) closes what it opened. */
		if ((v->nopen || v->nsinks) && v->fault != VF_SEGV)
			umem_step_done(v);

		if (v->fault != VF_NONE) {
			if (handle_fault(v, x))
				return 0;
			continue;
		}
		rec = (struct tc_exit *)(uintptr_t)v->bt.exit_rec;
		if (!rec) {
			/* IBL miss: translate (or find) the target, then fill its slot. */
			v->st.exits_ibl++;
			v->tc.st.ibl_misses++;
			v->eip = v->bt.exit_eip;
			ibl_fill = true;
			continue;
		}
		v->eip = rec->eip;
		if (rec->kind != TC_EXIT_CALLOUT) {
			v->st.exits_chain++;
			v->last_exit = rec;
			continue;
		}
		v->st.exits_callout++;
		switch (mon_emulate(v, &rec->insn, x)) {
		case 0:
			continue;
		case 1:
			return 0;
		default:
			if (v->shutdown)
				return shutdown_exit(v, x);
			return -1;
		}
	}
}

static void bt_print_stats(struct engine *e, FILE *o)
{
	const struct vcpu *v = &e->v;

	fprintf(o, "== bt engine%s\n", e->kw ? " (translated code in bt86.ko's monitor world)" : "");
	fprintf(o, "  guest at the end      CPL %d, CS:EIP %04x:%08x\n", v->cpl, v->seg[S_CS].sel,
		v->eip);
	fprintf(o, "  TC enters             %10llu\n", (unsigned long long)v->st.enters);
	fprintf(o, "  cycles in TC          %10.1f%% of %llu (the rest in the monitor)\n",
		v->st.cycles_tc + v->st.cycles_monitor ?
		100.0 * (double)v->st.cycles_tc / (double)(v->st.cycles_tc + v->st.cycles_monitor) : 0.0,
		(unsigned long long)(v->st.cycles_tc + v->st.cycles_monitor));
	fprintf(o, "  exits: unchained      %10llu\n", (unsigned long long)v->st.exits_chain);
	fprintf(o, "  exits: callout        %10llu\n", (unsigned long long)v->st.exits_callout);
	fprintf(o, "  exits: IBL miss       %10llu\n", (unsigned long long)v->st.exits_ibl);
	fprintf(o, "  exits: poll           %10llu (host timer signals %llu)\n",
		(unsigned long long)v->st.exits_poll,
		(unsigned long long)v->st.host_timer_signals);
	fprintf(o, "  exits: host fault     %10llu (SMC %llu, unassigned memory %llu)\n",
		(unsigned long long)v->st.exits_fault, (unsigned long long)v->st.smc_faults,
		(unsigned long long)v->st.unassigned);
	fprintf(o, "  interrupts delivered  %10llu\n", (unsigned long long)v->st.interrupts);
	for (int i = 0; i < 32; i++)
		if (v->st.exceptions[i])
			fprintf(o, "  exception %-2d          %10llu\n", i,
				(unsigned long long)v->st.exceptions[i]);
	for (int i = 0; i < BT_NR_OPS; i++)
		if (v->st.callouts[i])
			fprintf(o, "  callouts: %-12s %10llu\n", bt_op_name(i),
				(unsigned long long)v->st.callouts[i]);
	fprintf(o, "  hidden faults in the signal handler %llu\n",
		(unsigned long long)v->st.hidden_in_handler);
	fprintf(o, "  adaptive retranslations %8llu (stores that kept hitting traces)\n",
		(unsigned long long)v->st.adaptive_retranslations);
	fprintf(o, "  wrapped addresses     %10llu (instructions retranslated with lea)\n",
		(unsigned long long)v->st.wraps);
	tc_print_stats(&v->tc, o);
	smmu_print_stats(&v->mmu, o);
	if (e->kw)
		kw_print_stats(e->kw, o);
}

const struct engine_ops bt_engine_ops = {
	.name = "bt",
	.create = bt_create,
	.destroy = bt_destroy,
	.set_state = bt_set_state,
	.get_state = bt_get_state,
	.run = bt_run,
	.kick = bt_kick,
	.print_stats = bt_print_stats,
};

const struct engine_ops bt_kmod_engine_ops = {
	.name = "bt-kmod",
	.create = btk_create,
	.destroy = bt_destroy,
	.set_state = bt_set_state,
	.get_state = bt_get_state,
	.run = bt_run,
	.kick = bt_kick,
	.print_stats = bt_print_stats,
};
