/*
 * kworld.c - the bt-kmod engine: the bt engine's translated code, run in bt86.ko's monitor world.
 *
 * Everything above the TC is the bt engine's (uworld.c: the run loop, the
 * translator, the shadow MMU, the callouts, the devices in this process).
 * What changes is how translated code runs and how its faults come back.
 * Instead of jumping into the TC on this process's stack and page tables,
 * kw_enter() asks bt86.ko (BT86_RUN) to world-switch into its ring-0
 * monitor and iretq to the block at ring 3 on the monitor's page tables.
 * Those tables mirror this process's address space lazily (bt86.ko's
 * "hostmap", docs/KWORLD.md): the TC, the bt_cpu, the control pages and the
 * stack appear at the same addresses as here, kept coherent with this
 * process's mappings by an MMU notifier.
 *
 * The shadow views are the monitor's own page tables ("kviews"): the
 * shadow MMU changes them through operations queued in a shared area and
 * applied at the next entry, and bt86.ko fills hidden faults in them
 * itself, walking the guest's page tables, wherever the shadow MMU has
 * published that it traces the page table involved; it also completes
 * writes to page tables that only the shadow MMU's page-table traces
 * protect.  What it did comes back in a log that kv_replay() books into the
 * shadow MMU after every return, before anything looks at it.  With an
 * older module, or BT86_KVIEWS=0, the views stay mmap()ed here and reach
 * the monitor through the mirror.
 *
 * A trap in the monitor world returns from BT86_RUN with the guest
 * registers in the run page; kw_enter() turns it into what a host signal
 * would have been in uworld and lets uw_host_fault() decide: a hidden fault
 * the shadow MMU fills (then run the same instruction again), or an exit
 * to the run loop.  The TC's own exits (exit stubs, IBL misses) land here
 * through the int3 in kworld_stubs.S.  A host signal (the guest timer, a
 * stop request) interrupts BT86_RUN with EINTR; its handler arms the poll
 * page as in uworld and the next backward edge of translated code comes out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "../kernel-module/bt86_uapi.h"
#include "monitor/vcpu.h"
#include "vmm/log.h"

#define KW_STACK_SIZE	(64u << 10)	/* the host stack translated code pushes temporaries on */
#define KW_DEV		"/dev/bt86"

extern const char kw_stub_page[], kw_stub_page_end[];
extern const char kw_tc_exit[], kw_tc_exit_trap[];
extern const char kw_ibl_miss[], kw_ibl_miss_trap[];
extern const char kw_fpu_load[];

struct kworld {
	int dev, vm, vcpu;
	struct bt86_run *run;
	uint8_t *stack;
	struct bt86_regs want;		/* registers kw_enter() asked for, until bt86.ko takes them */
	uint64_t runs, eintr, tc_exits, faults, resumed, switches_at_open;
	/* Kernel-owned views (kviews); kf NULL: views are mirrored mappings of this process. */
	struct bt86_kfill *kf;
	size_t kf_len;
	struct vcpu *v;
	struct smmu_view *views[BT86_KV_MAX_VIEWS];
	struct smmu_kviews kops;
	const char *kviews_off;		/* why kviews are not used, for --stats */
	const char *kcalls_off;		/* why no kcall sites are emitted, for --stats */
	uint32_t caps;			/* BT86_CAP_* of the loaded module */
	uint64_t syncs;
};

static int kw_ioctl(int fd, unsigned long req, unsigned long arg, const char *what)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		bt86_error("bt-kmod: %s: %s", what, strerror(errno));
	return r;
}

static int set_exec(struct kworld *kw, uint32_t index, const void *start, const void *end)
{
	struct bt86_exec_region er = {
		.index = index,
		.uaddr = (uint64_t)(uintptr_t)start,
		.size = (uint64_t)((const char *)end - (const char *)start),
	};

	return kw_ioctl(kw->vcpu, BT86_SET_EXEC, (unsigned long)&er, "BT86_SET_EXEC");
}

void kw_close(struct kworld *kw)
{
	if (!kw)
		return;
	if (kw->kf) {
		/* The views outlive us in the shadow MMU, which is destroyed next. */
		kw->v->mmu.kviews = NULL;
		tc_share_ibl_pages(&kw->v->tc, NULL);
		kw->v->tc.kcalls = false;
		for (int i = 0; i < BT86_KV_MAX_VIEWS; i++)
			if (kw->views[i])
				kw->views[i]->k = NULL;
		munmap(kw->kf, kw->kf_len);
	}
	if (kw->run)
		munmap(kw->run, BT86_RUN_SIZE);
	if (kw->stack)
		munmap(kw->stack, KW_STACK_SIZE);
	if (kw->vcpu >= 0)
		close(kw->vcpu);
	if (kw->vm >= 0)
		close(kw->vm);
	if (kw->dev >= 0)
		close(kw->dev);
	free(kw);
}

static int open_dev(struct kworld *kw)
{
	struct bt86_version ver;

	kw->dev = open(KW_DEV, O_RDWR | O_CLOEXEC);
	if (kw->dev < 0) {
		if (errno == ENOENT)
			bt86_error("bt-kmod: %s does not exist: load the module first "
				   "(insmod kernel-module/bt86.ko)", KW_DEV);
		else
			bt86_error("bt-kmod: cannot open %s: %s%s", KW_DEV, strerror(errno),
				   errno == EACCES ? " (it needs root or access to the device)" : "");
		return -1;
	}
	if (kw_ioctl(kw->dev, BT86_GET_VERSION, (unsigned long)&ver, "BT86_GET_VERSION") < 0)
		return -1;
	if (ver.api_version < 2 || !(ver.caps & BT86_CAP_HOSTMAP) ||
	    !(ver.caps & BT86_CAP_LONG64)) {
		bt86_error("bt-kmod: the loaded bt86.ko speaks API v%u (caps %#x); the bt-kmod "
			   "engine needs v2 with host mirroring: rebuild and reload the module",
			   ver.api_version, ver.caps);
		return -1;
	}
	kw->caps = ver.caps;
	return 0;
}

/* ---- kernel-owned views ---- */

static int kv_sync(struct kworld *kw)
{
	kw->syncs++;
	return kw_ioctl(kw->vcpu, BT86_KVIEWS_SYNC, 0, "BT86_KVIEWS_SYNC");
}

static void kv_op(void *opaque, const struct smmu_view *v, enum smmu_kop op, uint32_t lin,
		  uint32_t arg)
{
	struct kworld *kw = opaque;
	struct bt86_kfill *kf = kw->kf;

	_Static_assert(BT86_KVOP_MAP == SMMU_KOP_MAP && BT86_KVOP_CLEAR == SMMU_KOP_CLEAR &&
		       BT86_KVOP_PROTECT == SMMU_KOP_PROTECT && BT86_KVOP_SINK == SMMU_KOP_SINK &&
		       BT86_KVOP_RESET == SMMU_KOP_RESET, "view operations as bt86.ko numbers them");
	if (kf->nops >= BT86_KV_OPS && kv_sync(kw) < 0)
		abort();	/* our own operations refused: a bug on one side or the other */
	kf->ops[kf->nops] = (struct bt86_kvop){ .op = op, .view = (uint32_t)v->kidx, .lin = lin,
						 .arg = arg };
	kf->nops++;
}

static int kv_attach(void *opaque, struct smmu_view *v)
{
	struct kworld *kw = opaque;

	for (int i = 0; i < BT86_KV_MAX_VIEWS; i++) {
		if (kw->views[i])
			continue;
		kw->views[i] = v;
		v->kidx = i;
		memset(&kw->kf->views[i], 0, sizeof(kw->kf->views[i]));
		kw->kf->views[i].base = (uint64_t)(uintptr_t)v->base;
		kv_op(kw, v, SMMU_KOP_RESET, 0, 0);
		return 0;
	}
	bt86_error("bt-kmod: more than %d shadow views", BT86_KV_MAX_VIEWS);
	return -1;
}

static void kv_detach(void *opaque, struct smmu_view *v)
{
	struct kworld *kw = opaque;

	kv_op(kw, v, SMMU_KOP_RESET, 0, 0);
	kv_sync(kw);
	kw->views[v->kidx] = NULL;
	memset(&kw->kf->views[v->kidx], 0, sizeof(kw->kf->views[0]));
}

/*
 * A segment register as the kernel's segment-load kcall sees it: its base,
 * and its selector and descriptor (seg_from_desc() read backwards) so the
 * kernel can tell a load that changes nothing.  What cannot be told - an
 * LDT selector, a limit no descriptor gives, a null selector over a
 * segment that is not empty - gets a selector no load matches
 * (UINT32_MAX) or a zero descriptor: the kernel then hands back whatever
 * it loads.
 */
static void kseg_publish(struct bt86_kseg *k, const struct x86_seg *s)
{
	bool g = s->attr & SEG_ATTR_G;
	uint32_t raw = g ? s->limit >> 12 : s->limit;

	k->sel = s->sel;
	k->base = s->base;
	k->desc[0] = k->desc[1] = 0;
	if (!(s->sel & ~3u) && (s->base || s->limit || s->attr))
		k->sel = UINT32_MAX;
	if (!(s->sel & ~3u) || (s->sel & 4) || raw > 0xfffff ||
	    (g && (s->limit & 0xfff) != 0xfff))
		return;
	k->desc[0] = (raw & 0xffff) | s->base << 16;
	k->desc[1] = ((s->base >> 16) & 0xff) | (uint32_t)(s->attr & 0xf0ff) << 8 |
		     (raw & 0xf0000) | (s->base & 0xff000000);
}

/* Before each entry: what each view shows and how the guest pages now. */
static void kv_prepare(struct kworld *kw)
{
	struct bt86_kfill *kf = kw->kf;
	const struct smmu *m = &kw->v->mmu;

	for (int i = 0; i < BT86_KV_MAX_VIEWS; i++) {
		const struct smmu_view *v = kw->views[i];

		if (!v)
			continue;
		kf->views[i].flags = (v->user ? BT86_KV_USER : 0) | (v->flat ? BT86_KV_FLAT : 0);
		kf->views[i].space = v->space;
		kf->views[i].cr3 = v->cr3;
	}
	kf->flags = (m->paging ? BT86_KF_PAGING : 0) | (m->pg.wp ? BT86_KF_WP : 0) |
		    (m->pg.pse ? BT86_KF_PSE : 0);
	/* For kcalls: what mov from CRn reads, and whose views an invlpg drops from. */
	kf->cr[0] = kw->v->cr0;
	kf->cr[2] = kw->v->cr2;
	kf->cr[3] = kw->v->cr3;
	kf->cr[4] = kw->v->cr4;
	kf->cur_space = m->paging && m->cur ? (uint32_t)(m->cur - m->space) : UINT32_MAX;
	kf->gdt_base = kw->v->gdtr.base;
	kf->gdt_limit = kw->v->gdtr.limit;
	kf->sel_uaddr = (uint64_t)(uintptr_t)kw->v->bt.sel;
	for (int i = 0; i < 6; i++)
		kseg_publish(&kf->seg[i], &kw->v->seg[i]);
}

/* Segment registers the kernel loaded (same base, so the same translation mode). */
static void kseg_replay(struct kworld *kw)
{
	struct bt86_kfill *kf = kw->kf;

	for (int i = 0; i < 6; i++) {
		struct x86_seg *s = &kw->v->seg[i];

		if (!(kf->seg_loaded & (1u << i)))
			continue;
		if (kf->seg[i].sel & ~3u) {
			seg_from_desc(s, (uint16_t)kf->seg[i].sel, kf->seg[i].desc);
		} else {
			memset(s, 0, sizeof(*s));
			s->sel = (uint16_t)kf->seg[i].sel;
		}
	}
	kf->seg_loaded = 0;
}

/*
 * After each return: book the entries the kernel filled, and those it
 * dropped completing page-table writes.  A dropped entry may have been
 * present, so the IBL goes as it would after a write emulated here, if an
 * IBL entry leads into that page.
 */
static void kv_replay(struct kworld *kw)
{
	struct bt86_kfill *kf = kw->kf;
	uint32_t head = kf->log_head;
	bool dropped = false;

	if (head - kf->log_tail > BT86_KV_LOG)
		kf->log_tail = head - BT86_KV_LOG;	/* cannot happen; stay bounded */
	for (; kf->log_tail != head; kf->log_tail++) {
		const struct bt86_kvlog *e = &kf->log[kf->log_tail % BT86_KV_LOG];
		struct smmu_view *v = e->view < BT86_KV_MAX_VIEWS ? kw->views[e->view] : NULL;

		if (!v)
			continue;
		if (e->flags & BT86_KVLOG_UNMAPPED) {
			smmu_kunmap_note(&kw->v->mmu, v, e->lin);
			dropped |= tc_ibl_page(&kw->v->tc, e->lin);
		} else {
			smmu_kfill_note(&kw->v->mmu, v, e->lin, e->gpa);
		}
	}
	if (dropped)
		tc_ibl_flush(&kw->v->tc);
	if (kf->seg_loaded)
		kseg_replay(kw);
}

/* Guest RAM as slot 0, the shared area, and the shadow MMU switched over. */
static int kv_setup(struct kworld *kw, struct vcpu *v)
{
	struct guest_ram *ram = v->mmu.ram;
	struct bt86_memory_region mr = { .slot = 0, .gpa = 0, .size = ram->size,
					 .uaddr = (uint64_t)(uintptr_t)ram->host };
	struct bt86_kviews_reg reg;
	void *p;

	if (ram->size > (uint64_t)BT86_KV_MAX_FRAMES << 12) {
		kw->kviews_off = "guest RAM above what bt86.ko fills views for";
		return 0;
	}
	if (kw_ioctl(kw->vm, BT86_SET_MEMORY, (unsigned long)&mr, "BT86_SET_MEMORY") < 0)
		return -1;
	kw->kf_len = (sizeof(struct bt86_kfill) + 4095) & ~(size_t)4095;
	p = mmap(NULL, kw->kf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		bt86_error("bt-kmod: out of memory");
		return -1;
	}
	kw->kf = p;
	kw->kf->version = 1;
	kw->kf->ram_frames = (uint32_t)(ram->size >> 12);
	reg = (struct bt86_kviews_reg){ .uaddr = (uint64_t)(uintptr_t)p, .size = kw->kf_len };
	if (kw_ioctl(kw->vcpu, BT86_SET_KVIEWS, (unsigned long)&reg, "BT86_SET_KVIEWS") < 0)
		return -1;
	kw->v = v;
	kw->kops = (struct smmu_kviews){ .opaque = kw, .attach = kv_attach, .detach = kv_detach,
					 .op = kv_op };
	if (smmu_use_kviews(&v->mmu, &kw->kops, kw->kf->traced, kw->kf->kwrite, kw->kf->ptu) < 0) {
		bt86_error("bt-kmod: cannot set up kernel-owned views");
		return -1;
	}
	/* The kernel reads the IBL page bitmap to decline invlpgs only user space can do. */
	tc_share_ibl_pages(&v->tc, kw->kf->ibl_pages);
	/* BT86_KCALLS=0 leaves every callout to user space (to compare the two). */
	if (!(kw->caps & BT86_CAP_KCALL))
		kw->kcalls_off = "the loaded bt86.ko completes no callouts";
	else if (getenv("BT86_KCALLS") && !strcmp(getenv("BT86_KCALLS"), "0"))
		kw->kcalls_off = "BT86_KCALLS=0";
	else
		v->tc.kcalls = true;
	return 0;
}

struct kworld *kw_open(struct vcpu *v)
{
	struct kworld *kw = calloc(1, sizeof(*kw));
	void *p;

	if (!kw) {
		bt86_error("bt-kmod: out of memory");
		return NULL;
	}
	kw->dev = kw->vm = kw->vcpu = -1;
	if (open_dev(kw) < 0)
		goto fail;
	kw->vm = kw_ioctl(kw->dev, BT86_CREATE_VM, 0, "BT86_CREATE_VM");
	if (kw->vm < 0)
		goto fail;
	kw->vcpu = kw_ioctl(kw->vm, BT86_CREATE_VCPU, 0, "BT86_CREATE_VCPU");
	if (kw->vcpu < 0)
		goto fail;
	p = mmap(NULL, BT86_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, kw->vcpu, 0);
	if (p == MAP_FAILED) {
		bt86_error("bt-kmod: cannot map the run page: %s", strerror(errno));
		goto fail;
	}
	kw->run = p;
	p = mmap(NULL, KW_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		bt86_error("bt-kmod: out of memory");
		goto fail;
	}
	kw->stack = p;
	/* The monitor mirrors only addresses above the 4 GiB it keeps for guest RAM slots. */
	if ((uintptr_t)kw_stub_page < (1ull << 32) || (uintptr_t)v->tc.rx < (1ull << 32)) {
		bt86_error("bt-kmod: the bt86 binary or its TC lies below 4 GiB, which bt86.ko "
			   "keeps for guest RAM (build bt86 as a position-independent executable)");
		goto fail;
	}
	if (kw_ioctl(kw->vcpu, BT86_ENABLE_HOSTMAP, 0, "BT86_ENABLE_HOSTMAP") < 0 ||
	    set_exec(kw, 0, v->tc.rx, v->tc.rx + v->tc.size) < 0 ||
	    set_exec(kw, 1, kw_stub_page, kw_stub_page_end) < 0)
		goto fail;
	v->bt.tc_exit = (uint64_t)(uintptr_t)kw_tc_exit;
	v->bt.ibl_miss = (uint64_t)(uintptr_t)kw_ibl_miss;
	v->bt.fpu_load = (uint64_t)(uintptr_t)kw_fpu_load;
	memcpy(kw->run->fx, v->bt.fx_guest, sizeof(kw->run->fx));
	kw->switches_at_open = kw->run->world_switches;
	/* BT86_KVIEWS=0 keeps the views as mirrored mappings (to compare the two). */
	if (!(kw->caps & BT86_CAP_KVIEWS))
		kw->kviews_off = "the loaded bt86.ko cannot fill views";
	else if (getenv("BT86_KVIEWS") && !strcmp(getenv("BT86_KVIEWS"), "0"))
		kw->kviews_off = "BT86_KVIEWS=0";
	else if (kv_setup(kw, v) < 0)
		goto fail;
	return kw;
fail:
	kw_close(kw);
	return NULL;
}

/* Translated code's registers, as a signal frame would hold them. */
static void regs_to_greg(const struct bt86_regs *r, long long *g)
{
	g[REG_RAX] = (long long)r->rax;
	g[REG_RCX] = (long long)r->rcx;
	g[REG_RDX] = (long long)r->rdx;
	g[REG_RBX] = (long long)r->rbx;
	g[REG_RSP] = (long long)r->rsp;
	g[REG_RBP] = (long long)r->rbp;
	g[REG_RSI] = (long long)r->rsi;
	g[REG_RDI] = (long long)r->rdi;
	g[REG_R8] = (long long)r->r8;
	g[REG_R9] = (long long)r->r9;
	g[REG_R10] = (long long)r->r10;
	g[REG_R11] = (long long)r->r11;
	g[REG_R12] = (long long)r->r12;
	g[REG_R13] = (long long)r->r13;
	g[REG_R14] = (long long)r->r14;
	g[REG_R15] = (long long)r->r15;
	g[REG_RIP] = (long long)r->rip;
	g[REG_EFL] = (long long)r->rflags;
}

static void greg_to_regs(const long long *g, struct bt86_regs *r)
{
	r->rax = (uint64_t)g[REG_RAX];
	r->rcx = (uint64_t)g[REG_RCX];
	r->rdx = (uint64_t)g[REG_RDX];
	r->rbx = (uint64_t)g[REG_RBX];
	r->rsp = (uint64_t)g[REG_RSP];
	r->rbp = (uint64_t)g[REG_RBP];
	r->rsi = (uint64_t)g[REG_RSI];
	r->rdi = (uint64_t)g[REG_RDI];
	r->r8 = (uint64_t)g[REG_R8];
	r->r9 = (uint64_t)g[REG_R9];
	r->r10 = (uint64_t)g[REG_R10];
	r->r11 = (uint64_t)g[REG_R11];
	r->r12 = (uint64_t)g[REG_R12];
	r->r13 = (uint64_t)g[REG_R13];
	r->r14 = (uint64_t)g[REG_R14];
	r->r15 = (uint64_t)g[REG_R15];
	r->rip = (uint64_t)g[REG_RIP];
	r->rflags = (uint64_t)g[REG_EFL];
}

/* What glue.S's tc_save does: the guest registers and flags back into the vCPU. */
static void save_guest(struct vcpu *v, const struct bt86_regs *r)
{
	v->bt.gpr[R_EAX] = (uint32_t)r->rax;
	v->bt.gpr[R_ECX] = (uint32_t)r->rcx;
	v->bt.gpr[R_EDX] = (uint32_t)r->rdx;
	v->bt.gpr[R_EBX] = (uint32_t)r->rbx;
	v->bt.gpr[R_ESP] = (uint32_t)r->r12;
	v->bt.gpr[R_EBP] = (uint32_t)r->rbp;
	v->bt.gpr[R_ESI] = (uint32_t)r->rsi;
	v->bt.gpr[R_EDI] = (uint32_t)r->rdi;
	v->bt.hflags = r->rflags;
}

static int fail_exit(struct vm_exit *x, const char *what, unsigned long long a,
		     unsigned long long rip)
{
	x->kind = VMEXIT_ERROR;
	snprintf(x->error, sizeof(x->error), "bt86.ko: %s %llu at %#llx", what, a, rip);
	return -1;
}

/* The exception vectors translated code can raise, as the signals uworld would get. */
static int vector_signal(uint32_t vector)
{
	switch (vector) {
	case EXC_DE:
		return SIGFPE;
	case EXC_UD:
		return SIGILL;
	case EXC_PF:
		return SIGSEGV;
	case EXC_AC:
		return SIGBUS;
	case EXC_DB:
		return SIGTRAP;
	default:
		return 0;
	}
}

/*
 * A #BP the kernel returned from a kcall site (it declined, or cannot do
 * kcalls): the callout record its exit would have put in r11, or 0.
 */
static uint64_t kcall_declined(const struct vcpu *v, const struct bt86_run *run)
{
	uint64_t site = run->ex.rip - 1, tc = (uint64_t)(uintptr_t)v->tc.rx;
	const uint8_t *p = (const uint8_t *)(uintptr_t)site;
	uint64_t rec;

	_Static_assert(BT86_KCALL_MAGIC == TC_KCALL_MAGIC && BT86_KCALL_SKIP == TC_KCALL_SKIP &&
		       BT86_KCALL_MOV_FROM_CR == TC_KCALL_MOV_FROM_CR &&
		       BT86_KCALL_INVLPG == TC_KCALL_INVLPG &&
		       BT86_KCALL_STORE == TC_KCALL_STORE && BT86_KCALL_SEG == TC_KCALL_SEG,
		       "kcalls as bt86.ko numbers them");
	if (site - tc >= v->tc.used - TC_KCALL_SKIP || run->regs.r10 >> 48 != TC_KCALL_MAGIC ||
	    p[0] != 0xcc || p[1] != 0x49 || p[2] != 0xbb)	/* int3; mov r11, imm64 */
		return 0;
	memcpy(&rec, p + 3, sizeof(rec));
	return rec;
}

int kw_enter(struct kworld *kw, struct vcpu *v, void *code, struct vm_exit *x)
{
	struct bt86_run *run = kw->run;
	struct bt86_regs *w = &kw->want;
	long long g[NGREG];

	memset(w, 0, sizeof(*w));
	w->rax = v->bt.gpr[R_EAX];
	w->rcx = v->bt.gpr[R_ECX];
	w->rdx = v->bt.gpr[R_EDX];
	w->rbx = v->bt.gpr[R_EBX];
	w->r12 = v->bt.gpr[R_ESP];
	w->rbp = v->bt.gpr[R_EBP];
	w->rsi = v->bt.gpr[R_ESI];
	w->rdi = v->bt.gpr[R_EDI];
	w->r13 = (uint64_t)(uintptr_t)&v->bt;
	w->r15 = v->bt.view_base;
	w->rsp = (uint64_t)(uintptr_t)(kw->stack + KW_STACK_SIZE - 64);
	w->rip = (uint64_t)(uintptr_t)code;
	w->rflags = v->bt.hflags;
	w->mode = BT86_MODE_LONG64;
	/* The guest's x87/SSE image is live in the monitor world from the first instruction. */
	v->bt.fpu_loaded = 1;
	for (;;) {
		run->regs = *w;
		run->regs_dirty = 1;
		for (;;) {
			int r, err;

			kw->runs++;
			if (kw->kf)
				kv_prepare(kw);
			r = ioctl(kw->vcpu, BT86_RUN, 0);
			err = errno;
			if (kw->kf)
				kv_replay(kw);
			if (r == 0)
				break;
			if (err != EINTR) {
				bt86_error("bt-kmod: BT86_RUN: %s", strerror(err));
				return fail_exit(x, "BT86_RUN failed, errno", (unsigned long long)err,
						 run->regs.rip);
			}
			/* A host signal: its handler ran (the poll page may be armed now). */
			kw->eintr++;
			if (run->regs_dirty)
				run->regs = *w;	/* not taken yet: the exit copy overwrote them */
		}
		if (run->exit_reason != BT86_EXIT_EXCEPTION)
			return fail_exit(x, "unexpected exit reason", run->exit_reason,
					 run->regs.rip);
		if (run->ex.vector == EXC_BP && (run->ex.rip == (uintptr_t)kw_tc_exit_trap ||
						 run->ex.rip == (uintptr_t)kw_ibl_miss_trap)) {
			kw->tc_exits++;
			save_guest(v, &run->regs);
			return 0;
		}
		if (run->ex.vector == EXC_BP && (v->bt.exit_rec = kcall_declined(v, run))) {
			/* Its callout exit, as the code after the int3 would have taken it. */
			kw->tc_exits++;
			save_guest(v, &run->regs);
			return 0;
		}
		kw->faults++;
		regs_to_greg(&run->regs, g);
		g[REG_ERR] = run->ex.error_code;
		g[REG_TRAPNO] = run->ex.vector;
		switch (vector_signal(run->ex.vector) ?
			uw_host_fault(v, vector_signal(run->ex.vector),
				      (uint8_t *)(uintptr_t)run->ex.cr2, run->ex.error_code, g) :
			UW_FAULT_FOREIGN) {
		case UW_FAULT_RESUME:
			/* The shadow MMU mapped the page here; bt86.ko mirrors it on the retry. */
			kw->resumed++;
			greg_to_regs(g, w);
			continue;
		case UW_FAULT_EXIT:
			greg_to_regs(g, w);
			save_guest(v, w);
			return 0;
		default:
			return fail_exit(x, "unexpected exception outside translated code: vector",
					 run->ex.vector, run->ex.rip);
		}
	}
}

void kw_print_stats(const struct kworld *kw, FILE *o)
{
	fprintf(o, "== bt86.ko monitor world\n");
	fprintf(o, "  BT86_RUN calls        %10llu (interrupted by host signals %llu)\n",
		(unsigned long long)kw->runs, (unsigned long long)kw->eintr);
	fprintf(o, "  world switches        %10llu\n",
		(unsigned long long)(kw->run->world_switches - kw->switches_at_open));
	fprintf(o, "  exits: TC stubs       %10llu\n", (unsigned long long)kw->tc_exits);
	fprintf(o, "  exits: faults         %10llu (hidden, filled in this process %llu)\n",
		(unsigned long long)kw->faults, (unsigned long long)kw->resumed);
	fprintf(o, "  pages mirrored by bt86.ko %6llu (not mirrorable: %llu)\n",
		(unsigned long long)kw->run->host_fills,
		(unsigned long long)kw->run->host_fill_failures);
	if (!kw->kf) {
		fprintf(o, "  shadow views          mirrored from this process (%s)\n",
			kw->kviews_off ? kw->kviews_off : "?");
		return;
	}
	fprintf(o, "  shadow views          owned by bt86.ko\n");
	fprintf(o, "  view entries filled by bt86.ko %llu, view faults it handed back %llu\n",
		(unsigned long long)kw->kf->kfills, (unsigned long long)kw->kf->kfill_exits);
	fprintf(o, "  page-table writes completed by bt86.ko %llu, handed back %llu\n",
		(unsigned long long)kw->kf->ktrace_writes, (unsigned long long)kw->kf->ktrace_exits);
	fprintf(o, "  view operations synced early %llu\n", (unsigned long long)kw->syncs);
	if (kw->kcalls_off) {
		fprintf(o, "  kcalls                off (%s)\n", kw->kcalls_off);
		return;
	}
	fprintf(o, "  kcalls completed by bt86.ko: mov-from-cr %llu, invlpg %llu, store %llu, "
		"segment %llu; declined %llu\n",
		(unsigned long long)kw->kf->kcalls[BT86_KCALL_MOV_FROM_CR],
		(unsigned long long)kw->kf->kcalls[BT86_KCALL_INVLPG],
		(unsigned long long)kw->kf->kcalls[BT86_KCALL_STORE],
		(unsigned long long)kw->kf->kcalls[BT86_KCALL_SEG],
		(unsigned long long)kw->kf->kcall_declines);
	fprintf(o, "  kcall sites translated %llu\n",
		(unsigned long long)kw->v->tc.st.kcall_sites);
}
