/*
 * link.c - chaining blocks and undoing it.
 *
 * A direct exit starts life as "jmp rel32 -> stub", the stub loading its
 * struct tc_exit into r11 and leaving the TC.  Linking rewrites the rel32 to
 * jump straight into the target block's entry and records the exit on the
 * target's incoming list, so invalidating the target can find and restore
 * every jump into it.  A block spanning two guest pages is never a target:
 * the second page's mapping could change under the jump (QEMU's rule).
 *
 * With paging on, a jump to another linear page is not linked either: it
 * would bake in that page's current mapping.  It is pointed instead at a
 * small stub appended to the TC that loads the target EIP and dispatches
 * through the IBL, which the monitor flushes whenever a mapping changes
 * (CR3, invlpg, a page-table write that changed an entry).  So the jump
 * stays inside the TC - an exit per cross-page transfer used to dominate a
 * Linux boot, and under bt-kmod every exit is a world switch.
 *
 * Invalidation (SMC, or a page that stops being RAM the guest executes)
 * unhashes the block, takes it off its page lists and its IBL slot, unlinks
 * the jumps into it and takes its own exits off their targets' lists.  The
 * code stays in the TC until the next flush; nothing can reach it.
 */
#include <string.h>

#include "bt/tc.h"
#include "bt/xl.h"
#include "vmm/cpu.h"

static void patch_rel32(struct tc *tc, uint32_t at, uint32_t to)
{
	int32_t rel = (int32_t)(to - (at + 4));

	/* A 4-byte aligned store would be atomic; one vCPU makes it moot. */
	memcpy(tc->rw + at, &rel, 4);
}

/* Point exit e at a new stub: mov r11d, target; IBL dispatch (see above). */
static bool route_via_ibl(struct tc *tc, struct tc_exit *e)
{
	struct emitter em = {
		.rw = tc->rw, .rx = (uint64_t)(uintptr_t)tc->rx,
		.off = (uint32_t)tc->used, .limit = (uint32_t)tc->size,
	};

	emit_mov32_imm(&em, H_R11, e->eip);
	bt_emit_ibl_dispatch(&em);
	if (em.overflow)
		return false;
	patch_rel32(tc, e->jmp_off, (uint32_t)tc->used);
	tc->used = em.off;
	e->via_ibl = 1;
	tc->st.ibl_routes++;
	return true;
}

bool tc_link(struct tc *tc, struct tc_exit *e, struct tc_block *to)
{
	if (e->to || !to->valid || to->two_pages || e->kind == TC_EXIT_CALLOUT)
		return false;
	/*
	 * With paging, a jump to another linear page would bake in that page's
	 * mapping; within the source block's own page it is the same mapping.
	 */
	if (tc->chain_same_page) {
		uint32_t cs = tc->modes[e->blk->mode].seg_base[S_CS];

		if (((e->blk->eip + cs) ^ (to->eip + cs)) & ~0xfffu) {
			if (!e->via_ibl && route_via_ibl(tc, e))
				tc_ibl_insert(tc, to);
			return false;
		}
	}
	patch_rel32(tc, e->jmp_off, to->code_off);
	e->to = to;
	e->in_next = to->incoming;
	to->incoming = e;
	tc->st.chains++;
	return true;
}

static void unlink_exit(struct tc *tc, struct tc_exit *e)
{
	struct tc_exit **pp;

	if (!e->to)
		return;
	for (pp = &e->to->incoming; *pp; pp = &(*pp)->in_next) {
		if (*pp == e) {
			*pp = e->in_next;
			break;
		}
	}
	patch_rel32(tc, e->jmp_off, e->stub_off);
	e->to = NULL;
	e->in_next = NULL;
	tc->st.unchains++;
}

static void page_remove(struct tc *tc, struct tc_block *b, uint32_t page)
{
	struct tc_block **pp;

	if (page >= tc->npages)
		return;
	for (pp = &tc->pages[page]; *pp; ) {
		struct tc_block *cur = *pp;
		int which = (cur->phys >> 12) == page ? 0 : 1;

		if (cur == b) {
			*pp = cur->page_next[which];
			break;
		}
		pp = &cur->page_next[which];
	}
	if (!tc->pages[page] && tc->host.code_page)
		tc->host.code_page(tc->host.opaque, page << 12, false);
}

void tc_invalidate_block(struct tc *tc, struct tc_block *b)
{
	uint64_t *slot = &tc->ibl[b->mode][b->eip & (TC_IBL_SIZE - 1)];

	b->valid = false;
	tc_unhash(tc, b);
	while (b->incoming)
		unlink_exit(tc, b->incoming);
	for (int i = 0; i < b->nexits; i++)
		unlink_exit(tc, &b->exits[i]);
	if (*slot == (uint64_t)(uintptr_t)tc_rx(tc, b->ind_off))
		*slot = (uint64_t)(uintptr_t)tc_rx(tc, tc->glue_miss_off);
	page_remove(tc, b, b->phys >> 12);
	if (b->two_pages)
		page_remove(tc, b, b->phys_end >> 12);
	tc->st.invalidations++;
}

int tc_invalidate_phys(struct tc *tc, uint32_t phys, uint32_t len)
{
	uint32_t first = phys >> 12, last = (uint32_t)(((uint64_t)phys + len - 1) >> 12);
	int n = 0;

	for (uint32_t p = first; p <= last && p < tc->npages; p++) {
		struct tc_block *b = tc->pages[p];

		while (b) {
			int which = (b->phys >> 12) == p ? 0 : 1;
			struct tc_block *next = b->page_next[which];

			if (b->phys <= phys + len - 1 && phys <= b->phys_end) {
				tc_invalidate_block(tc, b);
				n++;
			}
			b = next;
		}
	}
	return n;
}
