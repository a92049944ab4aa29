// SPDX-License-Identifier: GPL-2.0
/* kview.c: kernel-owned shadow views ("kviews"): hidden faults filled in ring 0. */

/*
 * Why views are kernel-owned
 * ==========================
 *
 * The shadow MMU (shadowmmu/) gives every guest address space a "view": a
 * region of host addresses where guest linear page L appears at base + L,
 * mapped only once the guest's own page tables allow the access.  Under
 * the bt-kmod engine a view used to be vmm memory: a missing page went
 * monitor #PF -> GUP fails (PROT_NONE) -> exit to user space -> guest
 * walk -> mmap -> BT86_RUN -> #PF again -> GUP -> mirror.  Here the views
 * exist only in the vcpu's monitor page tables.  User space keeps a
 * PROT_NONE reservation over each view range so nothing else lands there,
 * describes the views in the shared area (struct bt86_kfill), and the
 * kernel resolves the common hidden fault itself: walk, install, re-enter,
 * no trip to user space.  What the kernel did is appended to a fill log
 * that user space replays to keep its book-keeping (mapped bitmaps,
 * reverse maps) exact; what it must not decide (true faults, trace hits,
 * page tables not yet traced) still goes to user space as a #PF exit.
 *
 * How a fill works
 * ================
 *
 * A ring-3 #PF whose cr2 lies in view V's range [base - 2G, base + 36G)
 * comes back to the run loop with vm->mem_lock held for reading (the slot
 * pages stay put).  The guest linear address follows from where in the
 * range it hit.  A flat view (paging off) maps gpa == L.  A paging view
 * walks the guest's two-level tables in guest RAM exactly as
 * shadowmmu/walk.c does: PDE, 4 MiB page if CR4.PSE and PS, else the PTE
 * from a page table user space has published for that (space, PDE) and
 * traces; U/S and R/W are the AND of both levels, a supervisor write
 * ignores R/W while CR0.WP is clear; A goes into the PDE and PTE, D into
 * the leaf on a write, each with one locked OR as the guest's own page
 * walker would.  A leaf is writable only if the access kind allows
 * writes, D is already set (so the guest's first write still sets D) and
 * the frame is not traced (page tables and pages with translated code are
 * read-only everywhere: a write there is a trace hit for user space).
 * Then the leaf goes in at every alias, a log entry records it, and the
 * guest resumes.  Up to 8 neighbours on each side that the guest has
 * already used (P and A set) are filled along, as user space does.
 *
 * Aliases
 * =======
 *
 * Translated code addresses base + (32-bit linear address) with 64-bit
 * arithmetic, so an access that wraps around 4 GiB lands in the mirror
 * [base + 4G, base + 8G), and a negative 32-bit displacement from a high
 * address in the low mirror [base - 2G, base) (= linear [2G, 4G)).  Every
 * leaf operation acts on all aliases of a page.  The guard above
 * base + 8G is never mapped: a fault there is for user space.
 *
 * No page references
 * ==================
 *
 * A view leaf points at guest RAM, which the VM's slot pins for as long as
 * it exists, or at the vcpu's scratch page.  A slot change rebuilds the
 * tables (dropping every view leaf) before the next entry, and the vcpu
 * frees its tables before its scratch page; so a leaf never outlives its
 * page and holds no reference of its own: installing or zapping one is a
 * plain store under pt_lock.  TLB: as for the host mirror, the world runs
 * under pt_lock and every entry reloads CR3 with PCID 0 and the no-flush
 * bit clear, so a leaf changed outside the world is never stale inside.
 *
 * Apart from the host mirror
 * ==========================
 *
 * Views lie in the mirrored half (>= 4 GiB), where hostmap.c fills from the
 * process's memory and drops references on zap.  View leaves carry
 * BT86_PTE_VIEW (AVL bit 9, ignored by the MMU): the notifier's zaps and
 * the mirror's zap-alls skip them, so munmap or mprotect on the PROT_NONE
 * reservation never touches a view, and a view operation that meets a
 * mirrored leaf inside a view range drops it the mirror's way (reference
 * and all).  A fault inside a view never reaches GUP.  The kernel also
 * remembers where each view's leaves are (kbase): if user space moves or
 * clears a view's base, the next RESET or install for that view zaps the
 * old range, so no leaf lingers where the process may map something else.
 *
 * Page-table writes
 * =================
 *
 * A write through a present read-only leaf of a paging view may be a write
 * to a traced page table the kernel completes itself ("ktraces", ktrace.c):
 * bt86_kview_fault offers it to bt86_ktrace_begin before trying a fill.
 * For that, the guest walk, guest RAM, the traced[] bitmap, leaf lookup
 * and zap and the fill log below are shared through bt86.h.
 *
 * Trust
 * =====
 *
 * The shared area is ordinary user memory, writable by any thread of the
 * process at any time.  Each field is read once (READ_ONCE) into a local
 * and checked before use: view and space indices, bases (aligned, the
 * whole range inside [4 GiB, TASK_SIZE_MAX)), gpas against ram_frames,
 * slot 0 and BT86_KV_MAX_FRAMES, op codes and counts, the log indices
 * (always taken modulo BT86_KV_LOG).  Bad values make an op fail with
 * EINVAL or a fault go to user space; they never reach a kernel address.
 */

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/highmem.h>
#include <linux/vmalloc.h>
#include <linux/sched/mm.h>
#include <linux/mem_encrypt.h>
#include <linux/uaccess.h>
#include <linux/io.h>
#include <asm/trap_pf.h>
#include "bt86.h"

#define BT86_KF_SIZE		PAGE_ALIGN(sizeof(struct bt86_kfill))

#define BT86_KV_4G		(1ULL << 32)
#define BT86_KV_2G		(1ULL << 31)
#define BT86_KV_BELOW		BT86_KV_2G		/* low mirror below base */
#define BT86_KV_MAPPED		(2 * BT86_KV_4G)	/* window + mirror above base */
#define BT86_KV_ABOVE		(36ULL << 30)		/* window, mirror and guard */
#define BT86_KV_PREFETCH	8	/* neighbours each side, as shadow.c */

enum { BT86_KV_ZAP, BT86_KV_RDONLY };

/* ---- reading the shared area ------------------------------------------- */

static bool bt86_kv_base_ok(u64 base)
{
	return base && !(base & (BT86_KV_4G - 1)) &&
	       base - BT86_KV_BELOW >= BT86_HOSTMAP_START &&
	       base < TASK_SIZE_MAX && TASK_SIZE_MAX - base >= BT86_KV_ABOVE;
}

/* One copy of views[i]; user space may change it meanwhile. */
void bt86_kv_view(struct bt86_kfill *kf, unsigned int i, struct bt86_kview *v)
{
	v->base = READ_ONCE(kf->views[i].base);
	v->flags = READ_ONCE(kf->views[i].flags);
	v->space = READ_ONCE(kf->views[i].space);
	v->cr3 = READ_ONCE(kf->views[i].cr3);
}

bool bt86_kv_ram(struct bt86_vcpu *vcpu, struct bt86_kv_ram *ram)
{
	struct bt86_slot *s = &vcpu->vm->slots[0];
	u64 frames = READ_ONCE(vcpu->kv->kf->ram_frames);

	if (!s->size || s->gpa)
		return false;
	frames = min3(frames, (u64)BT86_KV_MAX_FRAMES, (u64)s->npages);
	ram->pages = s->pages;
	ram->bytes = frames << PAGE_SHIFT;
	return ram->bytes != 0;
}

bool bt86_kv_traced(struct bt86_kfill *kf, u64 gpa)
{
	u64 f = gpa >> PAGE_SHIFT;

	return f < BT86_KV_MAX_FRAMES &&
	       (READ_ONCE(kf->traced[f >> 3]) & (1u << (f & 7)));
}

/* A guest paging entry at gpa (< ram->bytes, 4-byte aligned). */
u32 bt86_kv_read_entry(struct bt86_kv_ram *ram, u64 gpa)
{
	u32 *p = kmap_local_page(ram->pages[gpa >> PAGE_SHIFT]);
	u32 e = READ_ONCE(p[offset_in_page(gpa) / 4]);

	kunmap_local(p);
	return e;
}

/* Set bits in a guest paging entry with one locked OR, as the guest's MMU; returns the new value. */
u32 bt86_kv_set_bits(struct bt86_kv_ram *ram, u64 gpa, u32 e, u32 bits)
{
	u32 *p;

	if ((e & bits) == bits)
		return e;
	p = kmap_local_page(ram->pages[gpa >> PAGE_SHIFT]);
	e = atomic_fetch_or(bits, (atomic_t *)&p[offset_in_page(gpa) / 4]) | bits;
	kunmap_local(p);
	return e;
}

/* ---- leaves -------------------------------------------------------------- */

/* The host addresses of guest linear page lin in the view at base. */
static int bt86_kv_aliases(u64 base, u32 lin, unsigned long va[3])
{
	int n = 0;

	va[n++] = base + lin;
	va[n++] = base + BT86_KV_4G + lin;
	if (lin >= BT86_KV_2G)
		va[n++] = base - BT86_KV_4G + lin;
	return n;
}

/* One leaf in a view range; pt_lock held. */
static void bt86_kv_leaf(u64 *ep, int how)
{
	u64 e = READ_ONCE(*ep);

	if (!(e & BT86_PTE_P))
		return;
	if (!(e & BT86_PTE_VIEW)) {
		/* A mirrored page has no business in a view: drop it, ref and all. */
		bt86_hostmap_drop_leaf(ep);
		return;
	}
	if (how == BT86_KV_ZAP)
		WRITE_ONCE(*ep, 0);
	else
		WRITE_ONCE(*ep, e & ~BT86_PTE_RW);
}

static void bt86_kv_leaf_cb(u64 *ep, void *how)
{
	bt86_kv_leaf(ep, *(int *)how);
}

/* [start, end) of a view range (>= 4 GiB, user half by construction); pt_lock held. */
static void bt86_kv_range(struct bt86_vcpu *vcpu, unsigned long start,
			  unsigned long end, int how)
{
	lockdep_assert_held(&vcpu->pt_lock);
	if (vcpu->root && start >= BT86_HOSTMAP_START && start < end &&
	    end <= TASK_SIZE_MAX)
		bt86_pt_for_each_leaf(vcpu->root, start, end, bt86_kv_leaf_cb, &how);
}

/* Pages [lin, lin + n) of the view whose leaves are at base, every alias; pt_lock held. */
static void bt86_kv_pages(struct bt86_vcpu *vcpu, u64 base, u64 lin, u64 n,
			  int how)
{
	u64 end = lin + (n << PAGE_SHIFT);

	bt86_kv_range(vcpu, base + lin, base + end, how);
	bt86_kv_range(vcpu, base + BT86_KV_4G + lin, base + BT86_KV_4G + end, how);
	if (end > BT86_KV_2G)
		bt86_kv_range(vcpu, base - BT86_KV_4G + max(lin, BT86_KV_2G),
			      base - BT86_KV_4G + end, how);
}

/* Everything view i ever installed; pt_lock held. */
static void bt86_kv_forget(struct bt86_vcpu *vcpu, unsigned int i)
{
	u64 base = vcpu->kv->kbase[i];

	if (base)
		bt86_kv_range(vcpu, base - BT86_KV_BELOW, base + BT86_KV_MAPPED,
			      BT86_KV_ZAP);
	vcpu->kv->kbase[i] = 0;
}

/* The leaf entry of va if its tables exist (no allocation), else NULL. */
u64 *bt86_kv_lookup(struct bt86_vcpu *vcpu, unsigned long va)
{
	u64 *pt = vcpu->root;
	int level;

	for (level = bt86_levels; level > 1; level--) {
		u64 e = READ_ONCE(pt[(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511]);

		if (!(e & BT86_PTE_P))
			return NULL;
		pt = __va(__sme_clr(e) & BT86_PTE_ADDR);
	}
	return &pt[(va >> PAGE_SHIFT) & 511];
}

/*
 * Install a leaf for page lin of view i (base already checked) at every
 * alias: user, NX, accessed/dirty preset, RW iff rw.  Tables are allocated
 * first, outside pt_lock (only this vcpu's ioctls add tables).
 */
static int bt86_kv_install(struct bt86_vcpu *vcpu, unsigned int i, u64 base,
			   u32 lin, struct page *page, bool rw)
{
	unsigned long va[3];
	u64 *ptep[3], pte;
	int n, k;

	n = bt86_kv_aliases(base, lin, va);
	for (k = 0; k < n; k++) {
		u64 *pt = bt86_leaf_table(vcpu, va[k]);

		if (!pt)
			return -ENOMEM;
		ptep[k] = &pt[(va[k] >> PAGE_SHIFT) & 511];
	}
	pte = __sme_set(page_to_phys(page)) | BT86_PTE_P | BT86_PTE_US |
	      BT86_PTE_A | BT86_PTE_D | BT86_PTE_VIEW | bt86_nx |
	      (rw ? BT86_PTE_RW : 0);

	spin_lock(&vcpu->pt_lock);
	if (vcpu->kv->kbase[i] != base) {
		/* The view moved: its old leaves go first. */
		bt86_kv_forget(vcpu, i);
		vcpu->kv->kbase[i] = base;
	}
	for (k = 0; k < n; k++) {
		bt86_kv_leaf(ptep[k], BT86_KV_ZAP);
		WRITE_ONCE(*ptep[k], pte);
	}
	spin_unlock(&vcpu->pt_lock);
	return 0;
}

/* Zap page lin of the view whose leaves are at base, every alias; true if a leaf was there. */
bool bt86_kv_zap_page(struct bt86_vcpu *vcpu, u64 base, u32 lin)
{
	unsigned long va[3];
	bool present = false;
	int n, k;

	n = bt86_kv_aliases(base, lin, va);
	spin_lock(&vcpu->pt_lock);
	for (k = 0; k < n; k++) {
		u64 *ep = bt86_kv_lookup(vcpu, va[k]);

		if (ep && (READ_ONCE(*ep) & BT86_PTE_P)) {
			present = true;
			bt86_kv_leaf(ep, BT86_KV_ZAP);
		}
	}
	spin_unlock(&vcpu->pt_lock);
	return present;
}

/* ---- ops ------------------------------------------------------------------- */

static int bt86_kv_op(struct bt86_vcpu *vcpu, const struct bt86_kvop *op)
{
	struct bt86_kv *kv = vcpu->kv;
	struct bt86_kv_ram ram;
	struct bt86_kview v;
	u64 lin = op->lin & PAGE_MASK;
	u64 base;

	if (op->view >= BT86_KV_MAX_VIEWS)
		return -EINVAL;
	base = kv->kbase[op->view];

	switch (op->op) {
	case BT86_KVOP_MAP:
	case BT86_KVOP_SINK:
		bt86_kv_view(kv->kf, op->view, &v);
		if (!bt86_kv_base_ok(v.base))
			return -EINVAL;
		if (op->op == BT86_KVOP_SINK) {
			if (op->arg)
				return -EINVAL;
			memset(page_address(kv->scratch), 0xff, PAGE_SIZE);
			return bt86_kv_install(vcpu, op->view, v.base, lin,
					       kv->scratch, true);
		}
		if ((op->arg & ~PAGE_MASK & ~1u) || !bt86_kv_ram(vcpu, &ram) ||
		    (op->arg & PAGE_MASK) >= ram.bytes)
			return -EINVAL;
		return bt86_kv_install(vcpu, op->view, v.base, lin,
				       ram.pages[op->arg >> PAGE_SHIFT],
				       op->arg & 1);
	case BT86_KVOP_CLEAR:
		if (!op->arg || op->arg > (1u << 20) ||
		    lin + ((u64)op->arg << PAGE_SHIFT) > BT86_KV_4G)
			return -EINVAL;
		if (base) {
			spin_lock(&vcpu->pt_lock);
			bt86_kv_pages(vcpu, base, lin, op->arg, BT86_KV_ZAP);
			spin_unlock(&vcpu->pt_lock);
		}
		return 0;
	case BT86_KVOP_PROTECT:
		if (op->arg > 1)
			return -EINVAL;
		if (base) {
			spin_lock(&vcpu->pt_lock);
			bt86_kv_pages(vcpu, base, lin, 1,
				      op->arg ? BT86_KV_RDONLY : BT86_KV_ZAP);
			spin_unlock(&vcpu->pt_lock);
		}
		return 0;
	case BT86_KVOP_RESET:
		if (op->arg)
			return -EINVAL;
		spin_lock(&vcpu->pt_lock);
		bt86_kv_forget(vcpu, op->view);
		spin_unlock(&vcpu->pt_lock);
		return 0;
	default:
		return -EINVAL;
	}
}

/* Apply ops[0 .. nops) in order; vm->mem_lock held, tables valid. */
static int bt86_kv_apply(struct bt86_vcpu *vcpu)
{
	struct bt86_kfill *kf = vcpu->kv->kf;
	u32 n = READ_ONCE(kf->nops), i;
	int r = 0;

	if (!n)
		return 0;
	if (n > BT86_KV_OPS || READ_ONCE(kf->version) != 1) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < n && !r; i++) {
		struct bt86_kvop op = {
			.op = READ_ONCE(kf->ops[i].op),
			.view = READ_ONCE(kf->ops[i].view),
			.lin = READ_ONCE(kf->ops[i].lin),
			.arg = READ_ONCE(kf->ops[i].arg),
		};

		r = bt86_kv_op(vcpu, &op);
		cond_resched();		/* 1024 CLEARs of 4 GiB take a while */
	}
out:
	WRITE_ONCE(kf->nops, 0);
	return r;
}

/* At the start of BT86_RUN and on BT86_KVIEWS_SYNC; vcpu->lock held. */
int bt86_kview_run_ops(struct bt86_vcpu *vcpu)
{
	struct bt86_vm *vm = vcpu->vm;
	int r;

	if (!READ_ONCE(vcpu->kv->kf->nops))
		return 0;
	down_read(&vm->mem_lock);
	r = bt86_vcpu_tables(vcpu);
	if (!r)
		r = bt86_kv_apply(vcpu);
	up_read(&vm->mem_lock);
	return r;
}

long bt86_kviews_sync(struct bt86_vcpu *vcpu, unsigned long arg)
{
	if (arg || !vcpu->kv)
		return -EINVAL;
	return bt86_kview_run_ops(vcpu);
}

/* ---- the fill ---------------------------------------------------------------- */

/* Append a log entry if there is room; false when the log is full. */
bool bt86_kv_log_room(struct bt86_kfill *kf)
{
	return READ_ONCE(kf->log_head) - READ_ONCE(kf->log_tail) < BT86_KV_LOG;
}

void bt86_kv_log(struct bt86_kfill *kf, u32 view, u32 lin, u32 gpa, u32 flags)
{
	u32 head = READ_ONCE(kf->log_head);
	struct bt86_kvlog *l = &kf->log[head % BT86_KV_LOG];

	WRITE_ONCE(l->view, view);
	WRITE_ONCE(l->lin, lin);
	WRITE_ONCE(l->gpa, gpa);
	WRITE_ONCE(l->flags, flags);
	smp_wmb();		/* the entry before the head that publishes it */
	WRITE_ONCE(kf->log_head, head + 1);
}

/*
 * Walk guest linear page lin for view v as shadowmmu/walk.c does, without
 * touching A/D; true if present and the access is allowed.
 */
bool bt86_kv_walk_guest(struct bt86_kfill *kf, struct bt86_kv_ram *ram,
			const struct bt86_kview *v, u32 kflags, u32 lin,
			bool write, struct bt86_kv_walk *gw)
{
	u32 pt, pde, pte;

	gw->pde_gpa = (u64)(v->cr3 & BT86_G_FRAME) + (lin >> 22) * 4;
	if (gw->pde_gpa >= ram->bytes)
		return false;
	pde = bt86_kv_read_entry(ram, gw->pde_gpa);
	if (!(pde & BT86_G_P))
		return false;
	gw->large = (kflags & BT86_KF_PSE) && (pde & BT86_G_PS);
	if (gw->large) {
		pte = pde;
		gw->frame = (pde & BT86_G_FRAME_4M) | (lin & 0x3ff000);
	} else {
		pt = pde & BT86_G_FRAME;
		/* Only a page table user space traces for this PDE (so it sees its writes). */
		if (!pt || v->space >= BT86_KV_SPACES ||
		    READ_ONCE(kf->ptu[v->space][lin >> 22]) != pt ||
		    pt >= ram->bytes || !bt86_kv_traced(kf, pt))
			return false;
		gw->pte_gpa = pt + ((lin >> 12) & 0x3ff) * 4;
		pte = bt86_kv_read_entry(ram, gw->pte_gpa);
		if (!(pte & BT86_G_P))
			return false;
		gw->frame = pte & BT86_G_FRAME;
	}
	gw->pde = pde;
	gw->pte = pte;
	if (v->flags & BT86_KV_USER) {
		if (!(pde & pte & BT86_G_US))
			return false;
		gw->wallow = pde & pte & BT86_G_RW;
	} else {
		gw->wallow = (pde & pte & BT86_G_RW) || !(kflags & BT86_KF_WP);
	}
	return !write || gw->wallow;
}

/*
 * Neighbours of lin in the same page table (or 4 MiB page) that the guest
 * has used already (P and A), as shadow.c's prefetch: read access, no A/D
 * changes, each logged.  Pages already mapped in the view are left alone.
 */
static void bt86_kv_prefetch(struct bt86_vcpu *vcpu, unsigned int i,
			     const struct bt86_kview *v, u32 kflags,
			     struct bt86_kv_ram *ram, u32 lin)
{
	struct bt86_kfill *kf = vcpu->kv->kf;
	u32 idx = (lin >> 12) & 0x3ff, l;
	struct bt86_kv_walk gw;
	int d;

	for (d = -BT86_KV_PREFETCH; d <= BT86_KV_PREFETCH; d++) {
		u32 k = idx + d;
		u64 *ep;
		bool rw;

		if (!d || k > 0x3ff || !bt86_kv_log_room(kf))
			continue;
		l = (lin & ~0x3fffffu) | (k << 12);
		ep = bt86_kv_lookup(vcpu, v->base + l);
		if (ep && (READ_ONCE(*ep) & BT86_PTE_P))
			continue;
		if (!bt86_kv_walk_guest(kf, ram, v, kflags, l, false, &gw) ||
		    gw.frame >= ram->bytes)
			continue;
		if (!gw.large && !(gw.pte & BT86_G_A))
			continue;
		rw = gw.wallow && (gw.pte & BT86_G_D) &&
		     !bt86_kv_traced(kf, gw.frame);
		if (bt86_kv_install(vcpu, i, v->base, l,
				    ram->pages[gw.frame >> PAGE_SHIFT], rw))
			return;
		bt86_kv_log(kf, i, l, gw.frame, rw ? BT86_KVLOG_WRITABLE : 0);
		kf->kfills++;
	}
}

/* Resolve a fault at linear lin of view i, or return false for user space. */
static bool bt86_kv_fill(struct bt86_vcpu *vcpu, unsigned int i,
			 const struct bt86_kview *v, u32 lin, u64 err)
{
	struct bt86_kfill *kf = vcpu->kv->kf;
	bool write = err & X86_PF_WRITE;	/* error code bit 1 */
	struct bt86_kv_ram ram;
	struct bt86_kv_walk gw;
	u32 kflags;
	bool traced, rw;

	if ((err & X86_PF_INSTR) ||		/* error code bit 4: a fetch */
	    READ_ONCE(kf->version) != 1 || !bt86_kv_ram(vcpu, &ram))
		return false;

	if (v->flags & BT86_KV_FLAT) {
		if (lin >= ram.bytes)
			return false;
		traced = bt86_kv_traced(kf, lin);
		if (write && traced)
			return false;
		if (bt86_kv_install(vcpu, i, v->base, lin,
				    ram.pages[lin >> PAGE_SHIFT], !traced))
			return false;
		kf->kfills++;
		return true;
	}

	kflags = READ_ONCE(kf->flags);
	if (!(kflags & BT86_KF_PAGING) ||
	    !bt86_kv_walk_guest(kf, &ram, v, kflags, lin, write, &gw) ||
	    gw.frame >= ram.bytes)
		return false;
	traced = bt86_kv_traced(kf, gw.frame);
	if ((write && traced) || !bt86_kv_log_room(kf))
		return false;

	/* The guest's MMU: A at both levels, D in the leaf on a write. */
	gw.pde = bt86_kv_set_bits(&ram, gw.pde_gpa, gw.pde, BT86_G_A |
				  (gw.large && write ? BT86_G_D : 0));
	if (gw.large)
		gw.pte = gw.pde;
	else
		gw.pte = bt86_kv_set_bits(&ram, gw.pte_gpa, gw.pte, BT86_G_A |
					  (write ? BT86_G_D : 0));

	rw = gw.wallow && (gw.pte & BT86_G_D) && !traced;
	if (bt86_kv_install(vcpu, i, v->base, lin,
			    ram.pages[gw.frame >> PAGE_SHIFT], rw))
		return false;
	bt86_kv_log(kf, i, lin, gw.frame, rw ? BT86_KVLOG_WRITABLE : 0);
	kf->kfills++;
	bt86_kv_prefetch(vcpu, i, v, kflags, &ram, lin);
	return true;
}

/*
 * A ring-3 #PF at or above 4 GiB came back; vcpu->lock and vm->mem_lock
 * (read) held.  BT86_KV_NONE if cr2 is in no view (the host mirror's),
 * BT86_KV_FILLED to re-enter, BT86_KV_EXIT to report it to user space.
 */
int bt86_kview_fault(struct bt86_vcpu *vcpu)
{
	struct bt86_kfill *kf = vcpu->kv->kf;
	u64 cr2 = vcpu->w->exit_cr2;
	struct bt86_kview v;
	unsigned int i;
	s64 where;
	u32 lin;
	u64 err;

	for (i = 0; i < BT86_KV_MAX_VIEWS; i++) {
		bt86_kv_view(kf, i, &v);
		if (bt86_kv_base_ok(v.base) &&
		    cr2 - (v.base - BT86_KV_BELOW) < BT86_KV_BELOW + BT86_KV_ABOVE)
			break;
	}
	if (i == BT86_KV_MAX_VIEWS)
		return BT86_KV_NONE;

	where = cr2 - v.base;
	/* The guard: a wrap translated code must handle itself. */
	if (where >= (s64)BT86_KV_MAPPED)
		goto out;
	lin = (u32)where & PAGE_MASK;
	err = vcpu->w->exit_error;
	/* A write through a present read-only leaf: perhaps a page-table write to complete here. */
	if (!(v.flags & BT86_KV_FLAT) && !(err & X86_PF_INSTR) &&
	    (err & (X86_PF_PROT | X86_PF_WRITE)) == (X86_PF_PROT | X86_PF_WRITE)) {
		switch (bt86_ktrace_begin(vcpu, &v, lin)) {
		case BT86_KT_STEP:
			return BT86_KV_FILLED;
		case BT86_KT_EXIT:
			kf->ktrace_exits++;
			goto out;
		}
	}
	if (bt86_kv_fill(vcpu, i, &v, lin, err))
		return BT86_KV_FILLED;
out:
	kf->kfill_exits++;
	return BT86_KV_EXIT;
}

/* ---- setup and teardown -------------------------------------------------------- */

/* BT86_SET_KVIEWS; vcpu->lock held. */
long bt86_set_kviews(struct bt86_vcpu *vcpu, void __user *argp)
{
	struct bt86_kviews_reg reg;
	struct bt86_kv *kv;
	long pinned;
	int r;

	/* The layout user space hard-codes. */
	BUILD_BUG_ON(sizeof(struct bt86_kview) != 24);
	BUILD_BUG_ON(sizeof(struct bt86_kvop) != 16);
	BUILD_BUG_ON(sizeof(struct bt86_kvlog) != 16);
	BUILD_BUG_ON(sizeof(struct bt86_kviews_reg) != 24);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, kfills) != 24);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, views) != 72);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, ops) != 840);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, log) != 17224);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, ptu) != 25416);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, traced) != 58184);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, cr) != 123720);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, seg) != 123752);
	BUILD_BUG_ON(offsetof(struct bt86_kfill, ibl_pages) != 123936);
	BUILD_BUG_ON(sizeof(struct bt86_kfill) != 255008);

	if (copy_from_user(&reg, argp, sizeof(reg)))
		return -EFAULT;
	if (reg.flags || reg.pad || !vcpu->hm_mm || !PAGE_ALIGNED(reg.uaddr) ||
	    reg.uaddr < BT86_HOSTMAP_START || reg.size != BT86_KF_SIZE ||
	    reg.uaddr >= TASK_SIZE_MAX || TASK_SIZE_MAX - reg.uaddr < reg.size)
		return -EINVAL;
	if (vcpu->kv)
		return -EBUSY;
	if (current->mm != vcpu->hm_mm)
		return -EIO;		/* charged to, and shared with, the enabling process */

	kv = kzalloc(sizeof(*kv), GFP_KERNEL_ACCOUNT);
	if (!kv)
		return -ENOMEM;
	kv->npages = reg.size >> PAGE_SHIFT;
	r = -ENOMEM;
	kv->pages = kvcalloc(kv->npages, sizeof(*kv->pages), GFP_KERNEL_ACCOUNT);
	kv->scratch = alloc_page(GFP_KERNEL_ACCOUNT);
	kv->kt_old = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!kv->pages || !kv->scratch || !kv->kt_old)
		goto fail;
	r = account_locked_vm(current->mm, kv->npages, true);
	if (r)
		goto fail;
	pinned = pin_user_pages_fast(reg.uaddr, kv->npages,
				     FOLL_WRITE | FOLL_LONGTERM, kv->pages);
	if (pinned != kv->npages) {
		if (pinned > 0)
			unpin_user_pages(kv->pages, pinned);
		r = pinned < 0 ? pinned : -EFAULT;
		goto fail_account;
	}
	kv->kf = vmap(kv->pages, kv->npages, VM_MAP, PAGE_KERNEL);
	if (!kv->kf) {
		unpin_user_pages(kv->pages, kv->npages);
		r = -ENOMEM;
		goto fail_account;
	}
	atomic64_add(kv->npages, &bt86_stats.pinned_pages);
	vcpu->kv = kv;
	/* Rebuild without the guest RAM slots at gpa. */
	vcpu->tables_valid = false;
	return 0;

fail_account:
	account_locked_vm(current->mm, kv->npages, false);
fail:
	if (kv->scratch)
		__free_page(kv->scratch);
	if (kv->kt_old)
		__free_page(kv->kt_old);
	kvfree(kv->pages);
	kfree(kv);
	return r;
}

/*
 * A new set of tables: no view has leaves anywhere, and a step under way
 * lost its leaf (the old tables are freed); pt_lock held.
 */
void bt86_kview_tables_reset(struct bt86_vcpu *vcpu)
{
	if (vcpu->kv) {
		memset(vcpu->kv->kbase, 0, sizeof(vcpu->kv->kbase));
		vcpu->kv->kt_leaf = NULL;
	}
}

/*
 * vcpu release, before the host mirror's (which drops the mm).  The view
 * leaves still in the tables point at the scratch page; nothing runs on
 * them any more and the tables are freed right after.
 */
void bt86_kview_release(struct bt86_vcpu *vcpu)
{
	struct bt86_kv *kv = vcpu->kv;

	if (!kv)
		return;
	vunmap(kv->kf);
	unpin_user_pages_dirty_lock(kv->pages, kv->npages, true);
	/* After a kill the mm may be gone already: nothing to uncharge. */
	if (mmget_not_zero(vcpu->hm_mm)) {
		account_locked_vm(vcpu->hm_mm, kv->npages, false);
		mmput(vcpu->hm_mm);
	}
	atomic64_sub(kv->npages, &bt86_stats.pinned_pages);
	__free_page(kv->scratch);
	__free_page(kv->kt_old);
	kvfree(kv->pages);
	kfree(kv);
	vcpu->kv = NULL;
}
