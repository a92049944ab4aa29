// SPDX-License-Identifier: GPL-2.0
/* kcall.c: callouts of translated code that bt86.ko completes in ring 0 ("kcalls"). */

/*
 * Kcalls
 * ======
 *
 * Why: a callout is an instruction translated code cannot run itself
 * (mov from CR0, invlpg, ...).  In the bt-kmod engine each one used to be
 * an exit to user space: the world switch back, the return from BT86_RUN,
 * the run loop, the emulator, and BT86_RUN again.  Some callouts need
 * nothing user space alone has: the value of a control register, or
 * dropping one page from the views of the current address space, which
 * the kernel owns anyway (kview.c).  Those the kernel completes here and
 * re-enters the guest without leaving BT86_RUN.
 *
 * How: the translator emits a kcall site instead of a callout exit (the
 * layout is in bt86_uapi.h): operands in r14/r11, the kcall word in r10,
 * int3, then the ordinary callout exit.  The #BP comes back through the
 * monitor IDT like any trap; a #BP from ring 3 right after an int3 in the
 * TC (exec region 0) with the magic in r10 is a kcall.  Completed, the
 * guest resumes BT86_KCALL_SKIP bytes past the int3, over the exit.
 * Declined, BT86_RUN returns the #BP as an exception exit and user space
 * treats it as the callout exit that follows would have (kworld.c).
 *
 * What is completed here:
 *
 *  - mov from CR0/CR2/CR3/CR4 to a register: the value user space
 *    published in kf->cr[] before BT86_RUN.  Only user space changes
 *    those registers, always outside BT86_RUN, so the copy is exact.
 *  - invlpg: the page is dropped from every paging view of the current
 *    space (kf->cur_space), each leaf that was there logged as
 *    BT86_KVLOG_UNMAPPED, as the shadow MMU's own invlpg would do.  Two
 *    cases go to user space: a page some indirect-branch lookup entry may
 *    lead into (kf->ibl_pages; only user space can flush that table), and
 *    the page of the invlpg itself or the next one (translated code goes
 *    on from there; a new mapping of it needs a new lookup).
 *  - a mov of 1, 2 or 4 bytes to a page table (a store adaptive
 *    translation made a callout because it kept hitting page-table
 *    traces): what a ktrace does around its single step (ktrace.c),
 *    without the step: walk the guest's tables for a write through the
 *    view in r15, set A and D, write the bytes and, if the dword changed,
 *    zap and log what was derived from it.  Only stores within one dword
 *    to frames user space lets the kernel write (kwrite[]) and some space
 *    still uses as a page table; an untraced or unused frame (user space
 *    may stop tracing it and turn the store back into native code), a
 *    code page or a store the guest's tables forbid (a #PF) go to user
 *    space.
 *
 *  - a load of DS/ES/FS/GS (mov or pop) that keeps the segment's base,
 *    as Linux's on every kernel entry and exit (user and kernel data
 *    segments are both flat): translation modes fold only the bases in,
 *    so translated code goes on as it is.  The load itself is made as the
 *    CPU makes it; what it loaded goes back to user space in kf->seg[].
 *
 * The site's layout puts the ordinary callout exit right after the int3,
 * so whatever the kernel declines leaves exactly as a callout would.
 *
 * Everything read from the shared area is untrusted: a bad value makes
 * the kernel decline or touch only this vcpu's own views.
 */

#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include "bt86.h"

/* The host register translated code keeps guest GPR n in (ESP lives in r12). */
static u64 *bt86_kc_gpr(struct bt86_world *w, unsigned int n)
{
	return &w->gpr[n == 4 ? BT86_GPR_R12 : n];
}

static bool bt86_kc_mov_from_cr(struct bt86_kfill *kf, struct bt86_world *w, u32 arg)
{
	unsigned int cr = arg >> 3;

	if (cr == 1 || cr > 4)
		return false;
	/* A 32-bit register write zero-extends, as the mov would. */
	*bt86_kc_gpr(w, arg & 7) = READ_ONCE(kf->cr[cr]);
	return true;
}

static bool bt86_kc_invlpg(struct bt86_vcpu *vcpu, u32 code_page)
{
	struct bt86_kv *kv = vcpu->kv;
	struct bt86_kfill *kf = kv->kf;
	u32 lin = (u32)vcpu->w->gpr[BT86_GPR_R14] & PAGE_MASK;
	u32 space = READ_ONCE(kf->cur_space);
	u32 page = lin >> PAGE_SHIFT;
	bool ours[BT86_KV_MAX_VIEWS];
	unsigned int j, n = 0;

	/* Without paging no view caches a translation. */
	if (!(READ_ONCE(kf->flags) & BT86_KF_PAGING))
		return true;
	if (READ_ONCE(kf->ibl_pages[page >> 3]) & (1u << (page & 7)))
		return false;
	if (page - code_page < 2 || space >= BT86_KV_SPACES)
		return false;
	for (j = 0; j < BT86_KV_MAX_VIEWS; j++) {
		ours[j] = kv->kbase[j] && !(READ_ONCE(kf->views[j].flags) & BT86_KV_FLAT) &&
			  READ_ONCE(kf->views[j].space) == space;
		n += ours[j];
	}
	/* Every leaf dropped must reach user space's book-keeping. */
	if (READ_ONCE(kf->log_head) - READ_ONCE(kf->log_tail) > BT86_KV_LOG - n)
		return false;
	for (j = 0; j < BT86_KV_MAX_VIEWS; j++)
		if (ours[j] && bt86_kv_zap_page(vcpu, kv->kbase[j], lin))
			bt86_kv_log(kf, j, lin, 0, BT86_KVLOG_UNMAPPED);
	return true;
}

/* The paging view translated code runs on (r15), copied into v; false if none. */
static bool bt86_kc_view(struct bt86_vcpu *vcpu, struct bt86_kview *v)
{
	u64 base = vcpu->w->gpr[BT86_GPR_R15];
	unsigned int j;

	for (j = 0; j < BT86_KV_MAX_VIEWS; j++) {
		if (!base || vcpu->kv->kbase[j] != base)
			continue;
		bt86_kv_view(vcpu->kv->kf, j, v);
		return v->base == base && !(v->flags & BT86_KV_FLAT);
	}
	return false;
}

/*
 * Does some space still use page table frame through a PDE user space
 * published it for?  A published pair goes stale when the guest reuses
 * the page directory or the table; user space finds out (and stops
 * tracing the frame, so stores to it run natively again) only when it
 * sees a write itself, so a store to a table nobody uses is left to it.
 */
static bool bt86_kc_table_live(struct bt86_vcpu *vcpu, struct bt86_kv_ram *ram, u32 frame)
{
	struct bt86_kfill *kf = vcpu->kv->kf;
	u32 cr3[BT86_KV_SPACES] = { 0 }, pde;
	unsigned int s, i, j;
	struct bt86_kview v;

	for (j = 0; j < BT86_KV_MAX_VIEWS; j++) {
		bt86_kv_view(kf, j, &v);
		if (vcpu->kv->kbase[j] && !(v.flags & BT86_KV_FLAT) && v.space < BT86_KV_SPACES)
			cr3[v.space] = (v.cr3 & BT86_G_FRAME) | 1;	/* 1: known */
	}
	for (s = 0; s < BT86_KV_SPACES; s++) {
		if (!cr3[s])
			continue;
		for (i = 0; i < 1024; i++) {
			if (READ_ONCE(kf->ptu[s][i]) != frame)
				continue;
			if ((cr3[s] & BT86_G_FRAME) + i * 4 >= ram->bytes)
				continue;
			pde = bt86_kv_read_entry(ram, (cr3[s] & BT86_G_FRAME) + i * 4);
			if ((pde & BT86_G_P) && (pde & BT86_G_FRAME) == frame &&
			    !((pde & BT86_G_PS) && (READ_ONCE(kf->flags) & BT86_KF_PSE)))
				return true;
		}
	}
	return false;
}

static bool bt86_kc_store(struct bt86_vcpu *vcpu, u32 size)
{
	struct bt86_kv *kv = vcpu->kv;
	struct bt86_kfill *kf = kv->kf;
	struct bt86_world *w = vcpu->w;
	u32 lin = (u32)w->gpr[BT86_GPR_R14], val = (u32)w->gpr[BT86_GPR_R11];
	u32 kflags = READ_ONCE(kf->flags), idx = (lin & ~PAGE_MASK) / 4, old, new;
	u32 shift = (lin & 3) * 8, mask;
	DECLARE_BITMAP(changed, 1024);
	struct bt86_kv_ram ram;
	struct bt86_kv_walk gw;
	struct bt86_kview v;
	u32 *p;

	/*
	 * Only what a page-table trace write would take (ktrace.c): bytes
	 * within one dword the guest may write, in a frame traced only as a
	 * page table.  Untraced: user space decides whether the store goes
	 * back to native code; a code page: the translator's business.
	 */
	if ((size != 1 && size != 2 && size != 4) || (lin & 3) + size > 4 ||
	    !(kflags & BT86_KF_PAGING) || kv->kt_stepping ||
	    !bt86_kc_view(vcpu, &v) || !bt86_kv_ram(vcpu, &ram) ||
	    !bt86_kv_walk_guest(kf, &ram, &v, kflags, lin, true, &gw) ||
	    gw.frame >= ram.bytes || !bt86_kv_traced(kf, gw.frame) ||
	    !bt86_kv_kwrite(kf, gw.frame) ||
	    READ_ONCE(kf->log_head) - READ_ONCE(kf->log_tail) > BT86_KV_LOG - BT86_KT_LOG_ROOM ||
	    !bt86_kc_table_live(vcpu, &ram, (u32)gw.frame))
		return false;
	mask = size == 4 ? ~0u : ((1u << (size * 8)) - 1) << shift;
	bt86_kv_write_bits(&ram, &gw);
	p = kmap_local_page(ram.pages[gw.frame >> PAGE_SHIFT]);
	old = READ_ONCE(p[idx]);
	new = (old & ~mask) | ((val << shift) & mask);
	WRITE_ONCE(p[idx], new);
	kunmap_local(p);
	/* Frame 0 is never a published page table: ptu[][] 0 means none. */
	if (old != new && gw.frame) {
		bitmap_zero(changed, 1024);
		__set_bit(idx, changed);
		bt86_ktrace_zap(vcpu, (u32)gw.frame, changed);
	}
	return true;
}

/*
 * The guest-physical address of the GDT descriptor of sel, read as the CPU
 * reads it: a supervisor access through the guest's paging (the view in
 * r15 gives the address space), A set on the tables it goes through.
 */
static bool bt86_kc_desc_gpa(struct bt86_vcpu *vcpu, struct bt86_kv_ram *ram, u32 sel,
			     u64 *gpa)
{
	struct bt86_kfill *kf = vcpu->kv->kf;
	u32 kflags = READ_ONCE(kf->flags), off = sel & ~7u;
	u32 lin = READ_ONCE(kf->gdt_base) + off;
	struct bt86_kv_walk gw;
	struct bt86_kview v;

	/* Read as two aligned dwords: a GDT that is not 4-byte aligned is user space's. */
	if (off + 7 > READ_ONCE(kf->gdt_limit) || (lin & 3) || (lin & ~PAGE_MASK) > PAGE_SIZE - 8)
		return false;
	*gpa = lin;
	if (kflags & BT86_KF_PAGING) {
		if (!bt86_kc_view(vcpu, &v) || (v.flags & BT86_KV_USER) ||
		    !bt86_kv_walk_guest(kf, ram, &v, kflags, lin, false, &gw))
			return false;
		bt86_kv_set_bits(ram, gw.pde_gpa, gw.pde, BT86_G_A);
		if (!gw.large)
			bt86_kv_set_bits(ram, gw.pte_gpa, gw.pte, BT86_G_A);
		*gpa = gw.frame | (lin & ~PAGE_MASK);
	}
	return *gpa < ram->bytes;
}

/* Descriptor bits (SDM vol. 3 §3.4.5), in the high dword. */
#define BT86_D_ACCESSED		(1u << 8)
#define BT86_D_READ		(1u << 9)	/* code: readable */
#define BT86_D_CONFORMING	(1u << 10)
#define BT86_D_CODE		(1u << 11)
#define BT86_D_S		(1u << 12)	/* code or data, not system */
#define BT86_D_DPL_SHIFT	13
#define BT86_D_P		(1u << 15)

/* Would loading sel (RPL) with descriptor high dword hi into DS/ES/FS/GS at CPL 0 succeed? */
static bool bt86_kc_loadable(u32 sel, u32 hi)
{
	if ((hi & (BT86_D_P | BT86_D_S)) != (BT86_D_P | BT86_D_S))
		return false;			/* #NP, or a system descriptor: #GP */
	if ((hi & BT86_D_CODE) && !(hi & BT86_D_READ))
		return false;			/* execute-only code: #GP */
	return ((hi & BT86_D_CODE) && (hi & BT86_D_CONFORMING)) ||
	       (sel & 3) <= ((hi >> BT86_D_DPL_SHIFT) & 3);
}

/*
 * mov to / pop of DS, ES, FS or GS at CPL 0 in protected mode whose new
 * base is the segment's current base: the translation mode folds only
 * the bases in, so translated code goes on unchanged.  The load is made
 * as the CPU makes it - the GDT entry read through the guest's paging,
 * the checks, the accessed bit set in memory - and its result (selector
 * and descriptor) goes to kf->seg[] with the register's bit in seg_loaded
 * for user space, and the selector to bt_cpu.sel[] (kf->sel_uaddr), where
 * translated code's push %sreg reads it.  A load that would fault, change
 * the base, use the LDT, or set the accessed bit in a traced frame is user
 * space's.
 */
static bool bt86_kc_seg(struct bt86_vcpu *vcpu, u32 arg)
{
	struct bt86_kfill *kf = vcpu->kv->kf;
	struct bt86_world *w = vcpu->w;
	u32 sreg = arg & 7, pop = arg >> 3, sel = (u16)w->gpr[BT86_GPR_R11];
	u32 d[2] = { 0, 0 }, base = 0, *p;
	struct bt86_kv_ram ram;
	u64 gpa;

	/* ES 0, DS 3, FS 4, GS 5: CS and SS are never loaded here. */
	if ((sreg != 0 && sreg < 3) || sreg > 5 || (pop != 0 && pop != 2 && pop != 4) ||
	    !(READ_ONCE(kf->cr[0]) & X86_CR0_PE) || (sel & 4))
		return false;
	if (sel & ~3u) {
		if (!bt86_kv_ram(vcpu, &ram) || !bt86_kc_desc_gpa(vcpu, &ram, sel, &gpa))
			return false;
		p = kmap_local_page(ram.pages[gpa >> PAGE_SHIFT]);
		d[0] = READ_ONCE(p[offset_in_page(gpa) / 4]);
		d[1] = READ_ONCE(p[offset_in_page(gpa) / 4 + 1]);
		base = (d[0] >> 16) | ((d[1] & 0xff) << 16) | (d[1] & 0xff000000);
		if (!bt86_kc_loadable(sel, d[1]) || base != READ_ONCE(kf->seg[sreg].base) ||
		    (!(d[1] & BT86_D_ACCESSED) && bt86_kv_traced(kf, gpa))) {
			kunmap_local(p);
			return false;
		}
		/* The CPU marks the descriptor accessed; a locked OR, as it does. */
		if (!(d[1] & BT86_D_ACCESSED))
			d[1] = atomic_fetch_or(BT86_D_ACCESSED,
					       (atomic_t *)&p[offset_in_page(gpa) / 4 + 1]) |
			       BT86_D_ACCESSED;
		kunmap_local(p);
	} else if (READ_ONCE(kf->seg[sreg].base)) {
		return false;			/* a null load makes the base 0 */
	}
	if (sel != READ_ONCE(kf->seg[sreg].sel) || d[0] != READ_ONCE(kf->seg[sreg].desc[0]) ||
	    d[1] != READ_ONCE(kf->seg[sreg].desc[1])) {
		if (put_user((u16)sel, (u16 __user *)(READ_ONCE(kf->sel_uaddr) + 2 * sreg)))
			return false;
		WRITE_ONCE(kf->seg[sreg].sel, sel);
		WRITE_ONCE(kf->seg[sreg].desc[0], d[0]);
		WRITE_ONCE(kf->seg[sreg].desc[1], d[1]);
		WRITE_ONCE(kf->seg_loaded, READ_ONCE(kf->seg_loaded) | (1u << sreg));
	}
	if (pop)
		w->gpr[BT86_GPR_R12] = (u32)(w->gpr[BT86_GPR_R12] + pop);
	return true;
}

/*
 * A #BP from ring 3 came back; vm->mem_lock held for reading.
 * BT86_KC_NONE: not a kcall; BT86_KC_DONE: completed, re-enter;
 * BT86_KC_DECLINED: user space completes it.
 */
int bt86_kcall(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	const struct bt86_exec_region *tc = &vcpu->exec[0];
	u64 word = w->gpr[BT86_GPR_R10];
	u64 site = w->guest_rip - 1;
	unsigned int op = (word >> 8) & 15;
	struct bt86_kfill *kf;
	bool done;

	if (!vcpu->kv || !tc->size || site - tc->uaddr >= tc->size ||
	    word >> 48 != BT86_KCALL_MAGIC)
		return BT86_KC_NONE;
	kf = vcpu->kv->kf;
	if (READ_ONCE(kf->version) != 1)
		op = 0;			/* an area we do not understand: decline */
	switch (op) {
	case BT86_KCALL_MOV_FROM_CR:
		done = bt86_kc_mov_from_cr(kf, w, word & 0xff);
		break;
	case BT86_KCALL_INVLPG:
		done = bt86_kc_invlpg(vcpu, (u32)word >> PAGE_SHIFT);
		break;
	case BT86_KCALL_STORE:
		done = bt86_kc_store(vcpu, word & 0xff);
		break;
	case BT86_KCALL_SEG:
		done = bt86_kc_seg(vcpu, word & 0xff);
		break;
	default:
		done = false;
		break;
	}
	if (!done || op >= BT86_KCALL_OPS) {
		WRITE_ONCE(kf->kcall_declines, kf->kcall_declines + 1);
		return BT86_KC_DECLINED;
	}
	WRITE_ONCE(kf->kcalls[op], kf->kcalls[op] + 1);
	w->guest_rip += BT86_KCALL_SKIP;
	return BT86_KC_DONE;
}
