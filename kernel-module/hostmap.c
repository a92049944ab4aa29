// SPDX-License-Identifier: GPL-2.0
/* hostmap.c: the host mirror (API v2): the caller's address space in the monitor's page tables. */

/*
 * Why and how
 * ===========
 *
 * Translated code addresses the vmm process's memory directly: the code
 * cache, struct bt86_cpu, the shadow MMU's views, a stack.  To run it in the
 * monitor world, the monitor's page tables must show those pages at the
 * same virtual addresses.  BT86_ENABLE_HOSTMAP makes a vcpu's tables a lazy
 * mirror of the enabling process's address space from 4 GiB up to the top
 * of the user half (below 4 GiB stay the guest RAM slots of API v1; the
 * monitor's own mappings live in the kernel half, so the two never meet).
 *
 * Fill.  Nothing is mapped up front.  A ring-3 #PF in the mirrored range
 * comes back to the run loop (world.c), which, outside the world and with
 * no lock held, asks get_user_pages_fast() for the page -- writable if
 * Linux allows it, else read-only for a read -- and installs one 4 KiB
 * leaf: user, accessed and dirty preset, writable as GUP granted, NX unless
 * the page lies in one of the vcpu's exec regions (BT86_SET_EXEC), where
 * it is executable and never writable.  Then it re-enters the guest without
 * a trip to user space.  A fault GUP cannot resolve (unmapped, protection,
 * a fetch outside the exec regions) is an ordinary exception exit: user
 * space fixes its own mapping and runs again, and the fault repeats.
 *
 * One reference per leaf.  The reference GUP takes is the leaf's: a page
 * stays allocated while any monitor leaf points at it, and every path that
 * clears a leaf (zap) drops exactly that reference, marking the page dirty
 * first when the leaf was writable (the monitor's D bit is preset, so
 * Linux cannot tell otherwise; KVM does the same).  The stats counter
 * hostmap_pages counts live leaves and returns to 0 when every vcpu is gone.
 *
 * Coherence, as in KVM.  An mmu_notifier on the mm tells us before Linux
 * changes or frees any mapping.  invalidate_range_start bumps mn_seq and
 * mn_active and zaps every mirrored leaf in the range (the walk skips
 * absent upper-level entries, so a 40 GiB view costs only what is mapped);
 * invalidate_range_end drops mn_active.  The fill path reads mn_seq before
 * GUP and installs only if, under pt_lock, no invalidation is in progress
 * and none started since; otherwise it drops the page and lets the fault
 * repeat.  So a leaf never points at a page Linux has unmapped.
 *
 * TLB.  The world run holds pt_lock (world.c, bt86_switch), so a zap on
 * another CPU waits until the world has exited -- at the latest at the
 * next host timer interrupt, which always exits.  No leaf is cleared while
 * a CPU runs on these tables, and stale translations die at the next
 * entry: its CR3 load (PCID 0, no-flush bit clear) flushes them.  Leaves
 * are never global.  Nothing under pt_lock sleeps, so even a non-blockable
 * invalidation may simply spin on it (see bt86_mn_start).
 *
 * Tables.  Only the vcpu's run loop (vcpu->lock) adds page-table pages; the
 * notifier only reads upper-level entries and clears leaves.  A new table
 * is zeroed before its entry is published, so a concurrent walk sees either
 * nothing or an empty table.  Intermediate tables live until the vcpu's
 * tables are rebuilt or freed; both zap the mirror first.
 *
 * FPU.  Hostmap vcpus run translated code, which uses x87/SSE itself: each
 * world entry is bracketed by kernel_fpu_begin() + fxrstor of the guest
 * image and fxsave + kernel_fpu_end(), and the world runs with CR0.TS
 * clear (struct bt86_world.guest_fpu).  The image lives in run->fx for user
 * space; the kernel works on its own copy, with MXCSR's reserved bits
 * cleared so fxrstor cannot fault.
 */

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mem_encrypt.h>
#include <linux/uaccess.h>
#include <linux/io.h>
#include <asm/trap_pf.h>
#include <asm/fpu/api.h>
#include "bt86.h"

/* FXSAVE image layout (SDM vol. 1 §10.5.1). */
#define BT86_FX_SIZE		512
#define BT86_FX_FCW		0	/* x87 control word */
#define BT86_FX_MXCSR		24	/* SSE control/status */
#define BT86_FX_MXCSR_MASK	28	/* writable MXCSR bits, 0: 0xffbf */
#define BT86_FCW_INIT		0x037f	/* FNINIT: all exceptions masked, 64-bit precision */
#define BT86_MXCSR_INIT		0x1f80	/* all SSE exceptions masked, round to nearest */
#define BT86_MXCSR_MASK_DEF	0xffbf	/* default mask: no DAZ (bit 6) */

static u32 bt86_mxcsr_mask;

int bt86_hostmap_init(void)
{
	u8 *fx = kzalloc(BT86_FX_SIZE, GFP_KERNEL);

	if (!fx)
		return -ENOMEM;
	/* kmalloc of a power-of-two size is naturally aligned (fxsave: 16). */
	kernel_fpu_begin();
	asm volatile("fxsaveq %0" : "=m" (*(u8 (*)[BT86_FX_SIZE])fx));
	kernel_fpu_end();
	bt86_mxcsr_mask = *(u32 *)(fx + BT86_FX_MXCSR_MASK) ?: BT86_MXCSR_MASK_DEF;
	kfree(fx);
	return 0;
}

/* ---- zapping ------------------------------------------------------------- */

/*
 * Clear one mirrored leaf and drop its page reference; pt_lock held.  The
 * caller has checked it is not a kview leaf (those hold no reference).
 */
void bt86_hostmap_drop_leaf(u64 *ptep)
{
	u64 pte = *ptep;
	struct page *page;

	if (!(pte & BT86_PTE_P))
		return;
	page = pfn_to_page((__sme_clr(pte) & BT86_PTE_ADDR) >> PAGE_SHIFT);
	WRITE_ONCE(*ptep, 0);
	if ((pte & BT86_PTE_RW) && !PageReserved(page))
		SetPageDirty(page);
	put_page(page);
	atomic64_dec(&bt86_stats.hostmap_pages);
}

/*
 * Clear one mirrored leaf; pt_lock held.  kview leaves (BT86_PTE_VIEW) are
 * left alone: they belong to kview.c, hold no page reference, and a view's
 * PROT_NONE reservation in the process says nothing about them.
 */
static void bt86_zap_leaf(u64 *ptep, void *unused)
{
	if (READ_ONCE(*ptep) & BT86_PTE_VIEW)
		return;
	bt86_hostmap_drop_leaf(ptep);
}

static void bt86_zap_range(u64 *root, unsigned long start, unsigned long end)
{
	start = max_t(unsigned long, start, BT86_HOSTMAP_START);
	end = min_t(unsigned long, end, TASK_SIZE_MAX);
	bt86_pt_for_each_leaf(root, start, end, bt86_zap_leaf, NULL);
}

/* Every mirrored leaf of the tables at root; pt_lock held. */
void bt86_hostmap_zap_all(struct bt86_vcpu *vcpu, u64 *root)
{
	lockdep_assert_held(&vcpu->pt_lock);
	if (vcpu->hm_mm)
		bt86_zap_range(root, 0, TASK_SIZE_MAX);
}

/* ---- the notifier -------------------------------------------------------- */

static struct bt86_vcpu *bt86_mn_vcpu(struct mmu_notifier *mn)
{
	return container_of(mn, struct bt86_vcpu, mn);
}

/*
 * Always succeeds, blockable or not: pt_lock is a spinlock and nothing
 * under it sleeps, so waiting for it is allowed in a non-blockable range
 * (and bounded by one world run).  Returning -EAGAIN is not an option
 * for a notifier with invalidate_range_end: the core WARNs about it.
 */
static int bt86_mn_start(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *range)
{
	struct bt86_vcpu *vcpu = bt86_mn_vcpu(mn);

	spin_lock(&vcpu->pt_lock);
	vcpu->mn_active++;
	vcpu->mn_seq++;
	bt86_zap_range(vcpu->root, range->start, range->end);
	spin_unlock(&vcpu->pt_lock);
	return 0;
}

static void bt86_mn_end(struct mmu_notifier *mn,
			const struct mmu_notifier_range *range)
{
	struct bt86_vcpu *vcpu = bt86_mn_vcpu(mn);

	spin_lock(&vcpu->pt_lock);
	vcpu->mn_active--;
	spin_unlock(&vcpu->pt_lock);
}

/* The mm is going away (exit, or our own unregister): drop everything. */
static void bt86_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct bt86_vcpu *vcpu = bt86_mn_vcpu(mn);

	spin_lock(&vcpu->pt_lock);
	vcpu->mn_seq++;
	bt86_zap_range(vcpu->root, 0, TASK_SIZE_MAX);
	spin_unlock(&vcpu->pt_lock);
}

static const struct mmu_notifier_ops bt86_mn_ops = {
	.invalidate_range_start	= bt86_mn_start,
	.invalidate_range_end	= bt86_mn_end,
	.release		= bt86_mn_release,
};

/* ---- ioctls -------------------------------------------------------------- */

/* BT86_ENABLE_HOSTMAP; vcpu->lock held. */
long bt86_hostmap_enable(struct bt86_vcpu *vcpu, unsigned long arg)
{
	u8 *fx = vcpu->run->fx;
	int r;

	if (arg || !current->mm)
		return -EINVAL;
	if (vcpu->hm_mm)
		return -EBUSY;
	vcpu->fx = kzalloc(BT86_FX_SIZE, GFP_KERNEL_ACCOUNT);
	if (!vcpu->fx)
		return -ENOMEM;
	vcpu->mn.ops = &bt86_mn_ops;
	r = mmu_notifier_register(&vcpu->mn, current->mm);
	if (r) {
		kfree(vcpu->fx);
		vcpu->fx = NULL;
		return r;
	}
	mmgrab(current->mm);
	vcpu->hm_mm = current->mm;

	/* The power-on (FNINIT) image; MXCSR as after reset. */
	memset(fx, 0, BT86_FX_SIZE);
	*(u16 *)(fx + BT86_FX_FCW) = BT86_FCW_INIT;
	*(u32 *)(fx + BT86_FX_MXCSR) = BT86_MXCSR_INIT;
	vcpu->w->guest_fpu = 1;
	return 0;
}

/* BT86_SET_EXEC; vcpu->lock held. */
long bt86_set_exec(struct bt86_vcpu *vcpu, void __user *argp)
{
	struct bt86_exec_region r;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (!vcpu->hm_mm || r.index >= BT86_MAX_EXEC || r.flags)
		return -EINVAL;
	if (r.size) {
		if (!PAGE_ALIGNED(r.uaddr) || !PAGE_ALIGNED(r.size) ||
		    r.uaddr < BT86_HOSTMAP_START || r.uaddr + r.size < r.uaddr ||
		    r.uaddr + r.size > TASK_SIZE_MAX)
			return -EINVAL;
	} else {
		r.uaddr = 0;
	}
	vcpu->exec[r.index] = r;
	/* Simplest correct: forget every permission decided so far. */
	spin_lock(&vcpu->pt_lock);
	vcpu->mn_seq++;
	bt86_zap_range(vcpu->root, 0, TASK_SIZE_MAX);
	spin_unlock(&vcpu->pt_lock);
	return 0;
}

/* ---- the fault path ------------------------------------------------------ */

/* A ring-3 #PF just came back: is it in the mirrored range? */
bool bt86_hostmap_fault_ours(struct bt86_vcpu *vcpu)
{
	u64 cr2 = vcpu->w->exit_cr2;

	return vcpu->hm_mm && cr2 >= BT86_HOSTMAP_START && cr2 < TASK_SIZE_MAX;
}

static bool bt86_in_exec(struct bt86_vcpu *vcpu, unsigned long va)
{
	int i;

	for (i = 0; i < BT86_MAX_EXEC; i++)
		if (vcpu->exec[i].size && va - vcpu->exec[i].uaddr < vcpu->exec[i].size)
			return true;
	return false;
}

/*
 * The leaf table for va, allocating missing levels (outside pt_lock: see
 * "Tables" above).  NULL on allocation failure.
 */
u64 *bt86_leaf_table(struct bt86_vcpu *vcpu, unsigned long va)
{
	u64 *pt = vcpu->root;
	int level;

	for (level = bt86_levels; level > 1; level--) {
		u64 *ep = &pt[(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511];
		u64 e = READ_ONCE(*ep);

		if (!(e & BT86_PTE_P)) {
			u64 *next = bt86_pt_alloc();

			if (!next)
				return NULL;
			e = __sme_set(__pa(next)) | BT86_PTE_P | BT86_PTE_RW |
			    BT86_PTE_US | BT86_PTE_A;
			smp_wmb();	/* the zeroed table before its entry */
			WRITE_ONCE(*ep, e);
		}
		pt = __va(__sme_clr(e) & BT86_PTE_ADDR);
	}
	return pt;
}

/*
 * Resolve the #PF the last world run ended with.  Returns true to re-enter
 * the guest (mirrored, or raced with an invalidation: the fault repeats),
 * false to report the exception to user space.  Called with vcpu->lock
 * held and no other lock.
 */
bool bt86_hostmap_fill(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	unsigned long va = w->exit_cr2 & PAGE_MASK;
	bool write = w->exit_error & X86_PF_WRITE;	/* error code bit 1 */
	bool fetch = w->exit_error & X86_PF_INSTR;	/* error code bit 4 */
	bool exec = bt86_in_exec(vcpu, va);
	bool rw = false;
	struct page *page;
	unsigned long seq;
	u64 *pt, *ptep, pte;
	int n = -EFAULT;

	if (fetch && !exec)
		goto fail;
	seq = READ_ONCE(vcpu->mn_seq);
	smp_rmb();		/* mn_seq before anything GUP sees */
	if (!exec) {
		n = get_user_pages_fast(va, 1, FOLL_WRITE, &page);
		rw = n == 1;
	}
	if (n != 1 && !write)
		n = get_user_pages_fast(va, 1, 0, &page);
	if (n != 1)
		goto fail;

	pt = bt86_leaf_table(vcpu, va);
	if (!pt) {
		put_page(page);
		goto fail;
	}
	ptep = &pt[(va >> PAGE_SHIFT) & 511];
	pte = __sme_set(page_to_phys(page)) | BT86_PTE_P | BT86_PTE_US |
	      BT86_PTE_A | BT86_PTE_D | (rw ? BT86_PTE_RW : 0) |
	      (exec ? 0 : bt86_nx);

	spin_lock(&vcpu->pt_lock);
	if (vcpu->mn_active || vcpu->mn_seq != seq) {
		spin_unlock(&vcpu->pt_lock);
		put_page(page);
		return true;
	}
	/* e.g. a read-only leaf a write now upgrades; a kview leaf is just replaced */
	bt86_zap_leaf(ptep, NULL);
	WRITE_ONCE(*ptep, pte);
	atomic64_inc(&bt86_stats.hostmap_pages);
	spin_unlock(&vcpu->pt_lock);

	vcpu->run->host_fills++;
	atomic64_inc(&bt86_stats.host_fills);
	return true;

fail:
	vcpu->run->host_fill_failures++;
	return false;
}

/* ---- FPU ------------------------------------------------------------------- */

/* Before a hostmap vcpu's world entry: the guest's x87/SSE state in the FPU. */
void bt86_fpu_enter(struct bt86_vcpu *vcpu)
{
	u32 *mxcsr = (u32 *)(vcpu->fx + BT86_FX_MXCSR);

	/* Reserved MXCSR bits would make fxrstor #GP. */
	*mxcsr &= bt86_mxcsr_mask;
	kernel_fpu_begin();
	asm volatile("fxrstorq %0" : : "m" (*(u8 (*)[BT86_FX_SIZE])vcpu->fx));
}

/* Right after the switch back, interrupts still off; kernel_fpu_end() follows. */
void bt86_fpu_exit(struct bt86_vcpu *vcpu)
{
	asm volatile("fxsaveq %0" : "=m" (*(u8 (*)[BT86_FX_SIZE])vcpu->fx));
}

/* ---- teardown ------------------------------------------------------------ */

/* vcpu release: page references back, notifier off, mm dropped. */
void bt86_hostmap_release(struct bt86_vcpu *vcpu)
{
	if (!vcpu->hm_mm)
		return;
	/* Waits for running callbacks; none start afterwards. */
	mmu_notifier_unregister(&vcpu->mn, vcpu->hm_mm);
	spin_lock(&vcpu->pt_lock);
	bt86_zap_range(vcpu->root, 0, TASK_SIZE_MAX);
	spin_unlock(&vcpu->pt_lock);
	mmdrop(vcpu->hm_mm);
	vcpu->hm_mm = NULL;
	kfree(vcpu->fx);
	vcpu->fx = NULL;
}
