// SPDX-License-Identifier: GPL-2.0
/* ktrace.c: page-table writes completed in ring 0 ("ktraces"): TF single step, diff, zap. */

/*
 * Page-table writes in ring 0 ("ktraces")
 * =======================================
 *
 * Why: a guest page table is traced, read-only in every view, and a write
 * to one used to be an exit to user space, which opened the frame, ran the
 * instruction, compared old and new contents and dropped the shadow
 * entries derived from what changed.  Linux guests do that on every fork,
 * exit, mmap and page fault.  The kernel knows which (space, PDE) pairs a
 * page table feeds (ptu[][]) and owns the views, so for frames user space
 * marks in kwrite[] (traced only as a page table) it completes the write
 * itself.
 *
 * How: a write through a present read-only leaf (#PF error code P and W)
 * of a paging view is walked like a fill.  If the guest's tables allow it
 * and the data frame F is traced and in kwrite[], the kernel sets A (and D
 * in the leaf) as the guest's MMU would, copies F, makes that one leaf
 * writable and re-enters with TF (RFLAGS bit 8) set in the guest's frame.
 * The faulting host instruction runs once and the CPU raises #DB after it
 * (a trap: rip is past the instruction).  The #DB ends the step: the leaf
 * goes back to read-only, TF off, F is compared with its copy dword by
 * dword, and for every changed dword i and every (space s, PDE pde) with
 * ptu[s][pde] == F, linear page (pde << 22) | (i << 12) is zapped at every
 * alias of every paging view of space s, each leaf that was there logged
 * as BT86_KVLOG_UNMAPPED (gpa = F).  ktrace_writes counts these; a trace
 * write left to user space (kwrite clear, log nearly full, the guest's
 * own TF set, a step already under way) counts in ktrace_exits (and, as
 * every view fault for user space, in kfill_exits).
 *
 * Exits while stepping: a host interrupt or NMI re-enters, still stepping
 * (the frame keeps TF; the instruction may not have run yet).  A #PF the
 * kernel resolves (mirror or view fill) likewise: the instruction restarts
 * under TF.  Anything that returns to user space (a #PF it cannot fill, a
 * signal, an error) first ends the step the same way (the instruction did
 * not complete; the compare finds whatever is there) and then exits; the
 * guest faults again when it resumes.  A table rebuild while stepping
 * (a slot changed) drops the leaf with all the others: nothing to restore.
 * TF belongs to the kernel: BT86_SET_REGS never takes it, run->regs never
 * shows it, and it is cleared in the guest's frame at every return to user
 * space (guest code that sets TF with popf gets one ordinary #DB exit).  A
 * #DB outside a step is an exception exit as before; after any #DB exit
 * the kernel resets DR6, which the CPU never clears.
 *
 * What it builds on
 * =================
 *
 * The views are kview.c's: the guest walk, guest RAM, the traced[] bitmap,
 * leaf lookup and zap, and the fill log are used here through bt86.h.
 * kview.c's fault path calls bt86_ktrace_begin for a write through a
 * present read-only leaf of a paging view before it tries a fill; the run
 * loop (world.c) calls bt86_ktrace_step_done after every world exit and
 * bt86_ktrace_abort before BT86_RUN returns.
 *
 * Trust
 * =====
 *
 * The shared area is user-writable at any time (see kview.c's essay).
 * A step trusts nothing either: the leaf it opens is re-checked (present,
 * a view's, read-only, mapping F) and restored only if still as it left
 * it; F's copy is the kernel's own page; the zap loops are bounded (8192
 * ptu[][] entries x 1024 dwords x 32 views, rescheduling as they go); a
 * zap only ever removes leaves, so a lying ptu[][] or views[] costs the
 * guest refills, never the kernel.  If the log runs out mid-zap (more
 * than 64 zapped leaves for one instruction) the rest are zapped unlogged:
 * user space then believes a few pages mapped that are not, which only
 * costs it needless ops later.
 */

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/mem_encrypt.h>
#include <linux/bitmap.h>
#include <linux/io.h>
#include <asm/trapnr.h>
#include <asm/processor-flags.h>
#include "bt86.h"


bool bt86_kv_kwrite(struct bt86_kfill *kf, u64 gpa)
{
	u64 f = gpa >> PAGE_SHIFT;

	return f < BT86_KV_MAX_FRAMES &&
	       (READ_ONCE(kf->kwrite[f >> 3]) & (1u << (f & 7)));
}

/* The guest's MMU would set A, and D in the leaf, for a write through gw. */
void bt86_kv_write_bits(struct bt86_kv_ram *ram, struct bt86_kv_walk *gw)
{
	gw->pde = bt86_kv_set_bits(ram, gw->pde_gpa, gw->pde, BT86_G_A |
				   (gw->large ? BT86_G_D : 0));
	if (!gw->large)
		bt86_kv_set_bits(ram, gw->pte_gpa, gw->pte, BT86_G_A | BT86_G_D);
}

/*
 * A write (P and W) through a present leaf at linear lin of paging view v
 * came back; cr2 is the leaf's alias.  If it is a write to a traced page
 * table user space lets the kernel handle, open that one leaf and set TF.
 */
int bt86_ktrace_begin(struct bt86_vcpu *vcpu, const struct bt86_kview *v,
		      u32 lin)
{
	struct bt86_kv *kv = vcpu->kv;
	struct bt86_kfill *kf = kv->kf;
	struct bt86_world *w = vcpu->w;
	struct bt86_kv_ram ram;
	struct bt86_kv_walk gw;
	u32 kflags = READ_ONCE(kf->flags);
	u64 *ep, e = 0;
	void *p;

	if (READ_ONCE(kf->version) != 1 || !(kflags & BT86_KF_PAGING) ||
	    !bt86_kv_ram(vcpu, &ram) ||
	    !bt86_kv_walk_guest(kf, &ram, v, kflags, lin, true, &gw) ||
	    gw.frame >= ram.bytes || !bt86_kv_traced(kf, gw.frame))
		return BT86_KT_NONE;
	/* One step at a time; never under the guest's own TF; room to log the zaps. */
	if (kv->kt_stepping || !bt86_kv_kwrite(kf, gw.frame) ||
	    (w->guest_rflags & X86_EFLAGS_TF) ||
	    READ_ONCE(kf->log_head) - READ_ONCE(kf->log_tail) >
	    BT86_KV_LOG - BT86_KT_LOG_ROOM)
		return BT86_KT_EXIT;

	/* The faulting leaf: present, a view's, read-only, mapping the frame. */
	ep = bt86_kv_lookup(vcpu, w->exit_cr2 & PAGE_MASK);
	spin_lock(&vcpu->pt_lock);
	if (ep)
		e = READ_ONCE(*ep);
	if ((e & (BT86_PTE_P | BT86_PTE_VIEW | BT86_PTE_RW)) !=
	    (BT86_PTE_P | BT86_PTE_VIEW) ||
	    (__sme_clr(e) & BT86_PTE_ADDR) !=
	    page_to_phys(ram.pages[gw.frame >> PAGE_SHIFT])) {
		spin_unlock(&vcpu->pt_lock);
		return BT86_KT_EXIT;
	}
	WRITE_ONCE(*ep, e | BT86_PTE_RW);
	spin_unlock(&vcpu->pt_lock);

	bt86_kv_write_bits(&ram, &gw);

	p = kmap_local_page(ram.pages[gw.frame >> PAGE_SHIFT]);
	memcpy(page_address(kv->kt_old), p, PAGE_SIZE);
	kunmap_local(p);
	kv->kt_leaf = ep;
	kv->kt_pte = e;
	kv->kt_frame = gw.frame;
	kv->kt_stepping = true;
	w->guest_rflags |= X86_EFLAGS_TF;	/* RFLAGS bit 8: #DB after one instruction */
	return BT86_KT_STEP;
}

/*
 * The entries of page table frame that changed (bit i: dword i): every
 * (space, PDE) user space published it for derives linear page
 * (pde << 22) | (i << 12); zap it in each paging view of that space and
 * log each leaf that was there.
 */
void bt86_ktrace_zap(struct bt86_vcpu *vcpu, u32 frame, const unsigned long *changed)
{
	struct bt86_kv *kv = vcpu->kv;
	struct bt86_kfill *kf = kv->kf;
	u8 space[BT86_KV_MAX_VIEWS];
	unsigned int j, s, pde, idx;

	for (j = 0; j < BT86_KV_MAX_VIEWS; j++) {
		u32 flags = READ_ONCE(kf->views[j].flags);
		u32 sp = READ_ONCE(kf->views[j].space);

		/* No leaves, or flat: nothing derived from a page table. */
		space[j] = (!kv->kbase[j] || (flags & BT86_KV_FLAT) ||
			    sp >= BT86_KV_SPACES) ? U8_MAX : sp;
	}
	for (s = 0; s < BT86_KV_SPACES; s++) {
		for (pde = 0; pde < 1024; pde++) {
			if (READ_ONCE(kf->ptu[s][pde]) != frame)
				continue;
			for_each_set_bit(idx, changed, 1024) {
				u32 lin = (pde << 22) | (idx << 12);

				for (j = 0; j < BT86_KV_MAX_VIEWS; j++) {
					if (space[j] != s ||
					    !bt86_kv_zap_page(vcpu, kv->kbase[j], lin) ||
					    !bt86_kv_log_room(kf))
						continue;
					bt86_kv_log(kf, j, lin, frame,
						    BT86_KVLOG_UNMAPPED);
				}
			}
			cond_resched();	/* a hostile ptu[] can publish the frame 8192 times */
		}
	}
}

/*
 * End the step: the leaf read-only again, TF off, the frame compared with
 * its copy, derived entries zapped.  done: the #DB came (the write ran).
 * vm->mem_lock held for reading.
 */
static void bt86_ktrace_finish(struct bt86_vcpu *vcpu, bool done)
{
	struct bt86_kv *kv = vcpu->kv;
	DECLARE_BITMAP(changed, 1024);
	struct bt86_kv_ram ram;
	const u32 *old, *now;
	bool any = false;
	unsigned int i;
	u64 *ep;

	kv->kt_stepping = false;
	vcpu->w->guest_rflags &= ~X86_EFLAGS_TF;
	ep = kv->kt_leaf;
	kv->kt_leaf = NULL;
	if (!ep)
		return;		/* tables rebuilt: every view leaf is gone anyway */
	spin_lock(&vcpu->pt_lock);
	/* Unless something replaced it meanwhile (then that is its state). */
	if (READ_ONCE(*ep) == (kv->kt_pte | BT86_PTE_RW))
		WRITE_ONCE(*ep, kv->kt_pte);
	spin_unlock(&vcpu->pt_lock);

	if (!bt86_kv_ram(vcpu, &ram) || kv->kt_frame >= ram.bytes)
		return;
	bitmap_zero(changed, 1024);
	old = page_address(kv->kt_old);
	now = kmap_local_page(ram.pages[kv->kt_frame >> PAGE_SHIFT]);
	for (i = 0; i < 1024; i++) {
		if (READ_ONCE(now[i]) != old[i]) {
			__set_bit(i, changed);
			any = true;
		}
	}
	kunmap_local(now);
	if (any && kv->kt_frame)	/* ptu[][] == 0 means none */
		bt86_ktrace_zap(vcpu, kv->kt_frame, changed);
	if (done)
		kv->kf->ktrace_writes++;
}

/*
 * Right after a world exit, vm->mem_lock held: a #DB from the guest while
 * stepping ends the step; true to re-enter.
 */
bool bt86_ktrace_step_done(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;

	if (!vcpu->kv || !vcpu->kv->kt_stepping ||
	    w->exit_vector != X86_TRAP_DB || (w->guest_cs & 3) != 3)
		return false;
	bt86_ktrace_finish(vcpu, true);
	return true;
}

/* BT86_RUN returns to user space while stepping: end the step first. */
void bt86_ktrace_abort(struct bt86_vcpu *vcpu)
{
	if (!vcpu->kv || !vcpu->kv->kt_stepping)
		return;
	down_read(&vcpu->vm->mem_lock);
	bt86_ktrace_finish(vcpu, false);
	up_read(&vcpu->vm->mem_lock);
}
