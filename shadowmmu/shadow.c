/*
 * shadow.c - guest address spaces as views, filled on hidden faults and kept
 * coherent with traces.
 *
 * Each guest address space (keyed by its page-directory frame, CR3) gets two
 * views: the kernel view holds what the guest may touch at CPL 0-2, the user
 * view only user pages, so a user-mode access to a supervisor page faults in
 * the host exactly where it would fault on the guest's hardware.  Views
 * start empty.  A host fault in a view is a *hidden* fault when the guest's
 * own tables allow the access: the page is mapped from the guest-RAM memfd
 * (with its neighbours from the same page table, if the guest has used them
 * already) and the access is retried.  Otherwise it is a *true* fault and
 * becomes the guest's #PF.
 *
 * A shadow entry is a copy of guest PTEs, so it goes stale when the guest
 * writes its page tables.  Every frame a shadow entry was derived from (the
 * page directory, the page tables) is *traced*: mapped read-only in every
 * view.  A write to it faults; the caller performs the store and hands the
 * old contents to smmu_frame_written(), which drops exactly the shadow
 * entries whose guest entries changed.  Frames holding translated code use
 * the same traces for self-modifying code.
 *
 * Book-keeping is deliberately forgiving: the reverse map (frame -> where it
 * is mapped) may hold stale entries, which at worst protect or unmap a page
 * that then faults once more.  When the pools fill up, or the host's map
 * count nears vm.max_map_count, address spaces are evicted (LRU) or
 * everything is flushed: a flush costs hidden faults, never correctness.
 * Mode bits are simple: changing CR0.WP, CR4.PSE or CR4.PGE flushes.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shadowmmu/smmu.h"
#include "vmm/cpu.h"

#define RMAP_CAP	(1u << 18)
#define PTU_CAP		(1u << 16)
#define PREFETCH	8	/* neighbours each side taken from the same page table */

static void mmu_log(struct smmu *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mmu_log(struct smmu *m, const char *fmt, ...)
{
	va_list ap;

	if (!m->trace_log)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "mmu: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t read_map_count_limit(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned long long v = 65530;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 65530;
		fclose(f);
	}
	return v;
}

int smmu_init(struct smmu *m, struct guest_ram *ram)
{
	memset(m, 0, sizeof(*m));
	m->ram = ram;
	m->nframes = (uint32_t)(ram->size >> 12);
	m->frames = calloc(m->nframes, sizeof(*m->frames));
	m->rmap_cap = RMAP_CAP;
	m->rmap = calloc(m->rmap_cap, sizeof(*m->rmap));
	m->ptu_cap = PTU_CAP;
	m->ptu = calloc(m->ptu_cap, sizeof(*m->ptu));
	/* Leave room for the VMM's own mappings; each shadow page may be one VMA. */
	m->map_budget = read_map_count_limit() / 6;	/* a page is up to 3 mappings */
	/* Tests squeeze it to make eviction happen on small guests. */
	if (getenv("BT86_SHADOW_PAGES"))
		m->map_budget = strtoull(getenv("BT86_SHADOW_PAGES"), NULL, 0);
	if (!m->frames || !m->rmap || !m->ptu)
		return -1;
	m->nrmap = 1;	/* index 0 means "none" */
	m->nptu = 1;
	if (smmu_view_create(&m->flat, ram, NULL) < 0 || smmu_view_map_flat(&m->flat) < 0)
		return -1;
	return 0;
}

void smmu_destroy(struct smmu *m)
{
	for (int i = 0; i < SMMU_MAX_SPACES; i++) {
		smmu_view_destroy(&m->space[i].view[0]);
		smmu_view_destroy(&m->space[i].view[1]);
		free(m->space[i].mapped[0]);
		free(m->space[i].mapped[1]);
	}
	smmu_view_destroy(&m->flat);
	free(m->frames);
	free(m->rmap);
	free(m->ptu);
	memset(m, 0, sizeof(*m));
}

static struct smmu_frame *frame_of(struct smmu *m, uint32_t phys)
{
	uint32_t f = phys >> 12;

	return f < m->nframes ? &m->frames[f] : NULL;
}

static void set_bit8(uint8_t *map, uint32_t f, bool on)
{
	if (on)
		map[f >> 3] |= (uint8_t)(1u << (f & 7));
	else
		map[f >> 3] &= (uint8_t)~(1u << (f & 7));
}

/*
 * Publish a frame's traced state to a kernel that fills views; and whether
 * it may complete writes to it itself: a frame traced only as a page table,
 * whose users it can find in the published page tables.
 */
static void ktraced_sync(struct smmu *m, uint32_t f)
{
	if (!m->ktraced || f >= m->nframes)
		return;
	set_bit8(m->ktraced, f, m->frames[f].trace != 0);
	if (m->kwrite)
		set_bit8(m->kwrite, f, m->frames[f].trace == SMMU_TRACE_PT);
}

/* Withdraw what space s published: the kernel stops filling it on its own. */
static void kptu_clear(struct smmu *m, const struct smmu_space *s, int pde)
{
	if (!m->kptu)
		return;
	if (pde < 0)
		memset(m->kptu[s - m->space], 0, sizeof(m->kptu[0]));
	else
		m->kptu[s - m->space][pde] = 0;
}

static bool test_mapped(const struct smmu_space *s, int view, uint32_t page)
{
	return s->mapped[view][page >> 3] & (1u << (page & 7));
}

static void set_mapped(struct smmu *m, struct smmu_space *s, int view, uint32_t page, bool on)
{
	uint8_t bit = (uint8_t)(1u << (page & 7));
	bool was = s->mapped[view][page >> 3] & bit;

	if (on && !was) {
		s->mapped[view][page >> 3] |= bit;
		s->nmapped++;
		m->mapped_total++;
	} else if (!on && was) {
		s->mapped[view][page >> 3] &= (uint8_t)~bit;
		s->nmapped--;
		m->mapped_total--;
	}
}

static void unmap_page(struct smmu *m, struct smmu_space *s, int view, uint32_t page)
{
	if (!test_mapped(s, view, page))
		return;
	smmu_view_clear(&s->view[view], page << 12, 4096);
	set_mapped(m, s, view, page, false);
	m->st.unmapped++;
}

/* Forget every shadow entry of a space: two mmap calls, whatever it held. */
static void space_clear(struct smmu *m, struct smmu_space *s)
{
	kptu_clear(m, s, -1);
	for (int v = 0; v < 2; v++) {
		if (s->view[v].base)
			smmu_view_clear(&s->view[v], 0, 1ull << 32);
		if (s->mapped[v])
			memset(s->mapped[v], 0, 1u << 17);
	}
	m->mapped_total -= s->nmapped;
	s->nmapped = 0;
}

static void protect_frame_mappings(struct smmu *m, struct smmu_frame *fr, bool unmap)
{
	for (uint32_t r = fr->rmap; r; r = m->rmap[r].next) {
		struct smmu_rmap *n = &m->rmap[r];
		struct smmu_space *s = &m->space[n->space];

		if (!s->used || !test_mapped(s, n->view, n->lin_page))
			continue;
		if (unmap)
			unmap_page(m, s, n->view, n->lin_page);
		else
			smmu_view_protect(&s->view[n->view], n->lin_page << 12, true);
	}
	if (unmap)
		fr->rmap = 0;
}

static void trace_add(struct smmu *m, uint32_t phys, uint8_t why)
{
	struct smmu_frame *fr = frame_of(m, phys);

	if (!fr || (fr->trace & why))
		return;
	if (!fr->trace) {
		m->st.traces_added++;
		protect_frame_mappings(m, fr, false);
		smmu_view_protect(&m->flat, phys, true);
	}
	fr->trace |= why;
	ktraced_sync(m, phys >> 12);
}

static void trace_remove(struct smmu *m, uint32_t phys, uint8_t why)
{
	struct smmu_frame *fr = frame_of(m, phys);

	if (!fr || !(fr->trace & why))
		return;
	fr->trace &= (uint8_t)~why;
	ktraced_sync(m, phys >> 12);
	if (!fr->trace) {
		/* Mapped read-only everywhere: let those mappings fault in afresh. */
		m->st.traces_removed++;
		protect_frame_mappings(m, fr, true);
		smmu_view_protect(&m->flat, phys, false);
	}
}

bool smmu_frame_traced(const struct smmu *m, uint32_t phys)
{
	uint32_t f = phys >> 12;

	return f < m->nframes && m->frames[f].trace;
}

void smmu_trace_code(struct smmu *m, uint32_t phys, bool on)
{
	if (on)
		trace_add(m, phys, SMMU_TRACE_CODE);
	else
		trace_remove(m, phys, SMMU_TRACE_CODE);
}

/* Drop every space and every page-table trace (code traces stay). */
void smmu_flush(struct smmu *m)
{
	m->st.flushes++;
	for (int i = 0; i < SMMU_MAX_SPACES; i++)
		if (m->space[i].used)
			space_clear(m, &m->space[i]);
	for (uint32_t f = 0; f < m->nframes; f++) {
		struct smmu_frame *fr = &m->frames[f];

		fr->rmap = 0;
		fr->ptusers = 0;
		if (fr->trace & (SMMU_TRACE_PD | SMMU_TRACE_PT)) {
			fr->trace &= SMMU_TRACE_CODE;
			ktraced_sync(m, f);
			if (!fr->trace)
				smmu_view_protect(&m->flat, f << 12, false);
		}
	}
	m->nrmap = 1;
	m->nptu = 1;
	if (m->kptu)
		memset(m->kptu, 0, SMMU_MAX_SPACES * sizeof(m->kptu[0]));
	/* The current address space's directory is traced again right away. */
	for (int i = 0; i < SMMU_MAX_SPACES; i++)
		if (m->space[i].used)
			trace_add(m, m->space[i].cr3, SMMU_TRACE_PD);
}

static void ensure_room(struct smmu *m);

static struct smmu_space *space_get(struct smmu *m, uint32_t cr3)
{
	struct smmu_space *s, *victim = NULL;

	cr3 &= PTE_FRAME;
	for (int i = 0; i < SMMU_MAX_SPACES; i++) {
		s = &m->space[i];
		if (s->used && s->cr3 == cr3) {
			m->st.space_hits++;
			s->lru = ++m->tick;
			return s;
		}
	}
	m->st.space_misses++;
	for (int i = 0; i < SMMU_MAX_SPACES; i++) {
		s = &m->space[i];
		if (!s->used) {
			victim = s;
			break;
		}
		if (s != m->cur && (!victim || s->lru < victim->lru))
			victim = s;
	}
	if (victim->used) {
		m->st.space_evictions++;
		mmu_log(m, "evict address space cr3=%08x", victim->cr3);
		space_clear(m, victim);
		trace_remove(m, victim->cr3, SMMU_TRACE_PD);
	} else {
		for (int v = 0; v < 2; v++) {
			if (smmu_view_create(&victim->view[v], m->ram, m->kviews) < 0)
				abort();
			victim->mapped[v] = calloc(1, 1u << 17);
			if (!victim->mapped[v])
				abort();
		}
	}
	victim->used = true;
	victim->gen++;
	victim->cr3 = cr3;
	kptu_clear(m, victim, -1);
	for (int v = 0; v < 2; v++) {
		victim->view[v].user = v == SMMU_USER;
		victim->view[v].space = (uint8_t)(victim - m->space);
		victim->view[v].cr3 = cr3;
	}
	victim->lru = ++m->tick;
	trace_add(m, cr3, SMMU_TRACE_PD);
	mmu_log(m, "new address space cr3=%08x", cr3);
	return victim;
}

static void rmap_add(struct smmu *m, uint32_t phys, struct smmu_space *s, int view, uint32_t page)
{
	struct smmu_frame *fr = frame_of(m, phys);
	struct smmu_rmap *n;

	if (!fr)
		return;
	if (m->nrmap == m->rmap_cap) {
		smmu_flush(m);
		return;		/* the caller's mapping went too; it will fault again */
	}
	n = &m->rmap[m->nrmap];
	n->next = fr->rmap;
	n->lin_page = page;
	n->space = (uint8_t)(s - m->space);
	n->view = (uint8_t)view;
	fr->rmap = m->nrmap++;
}

/* Record that space s derived entries of PDE pde from page table pt; trace it. */
static void ptuser_add(struct smmu *m, uint32_t pt, struct smmu_space *s, uint32_t pde)
{
	struct smmu_frame *fr = frame_of(m, pt);
	uint8_t idx = (uint8_t)(s - m->space);
	struct smmu_ptuser *n;

	if (!fr)
		return;
	for (uint32_t u = fr->ptusers; u; u = m->ptu[u].next) {
		if (m->ptu[u].space == idx && m->ptu[u].pde == pde && m->ptu[u].gen == s->gen) {
			/* Known already; a page-directory write may have withdrawn it. */
			if (m->kptu)
				m->kptu[idx][pde] = pt & PTE_FRAME;
			return;
		}
	}
	if (m->nptu == m->ptu_cap) {
		smmu_flush(m);
		return;
	}
	n = &m->ptu[m->nptu];
	n->next = fr->ptusers;
	n->pde = (uint16_t)pde;
	n->space = idx;
	n->gen = s->gen;
	fr->ptusers = m->nptu++;
	trace_add(m, pt, SMMU_TRACE_PT);
	if (m->kptu)
		m->kptu[idx][pde] = pt & PTE_FRAME;
}

static void ensure_room(struct smmu *m)
{
	struct smmu_space *victim = NULL;

	if (m->mapped_total < m->map_budget)
		return;
	/* Near vm.max_map_count: evict, never fail. */
	for (int i = 0; i < SMMU_MAX_SPACES; i++) {
		struct smmu_space *s = &m->space[i];

		if (s->used && s != m->cur && s->nmapped && (!victim || s->lru < victim->lru))
			victim = s;
	}
	m->st.space_evictions++;
	if (victim) {
		space_clear(m, victim);
	} else if (m->cur) {
		space_clear(m, m->cur);
	}
}

static int prot_for(const struct smmu *m, const struct smmu_walk *w, int view, uint32_t phys)
{
	unsigned acc = WALK_WRITE | (view == SMMU_USER ? WALK_USER : 0);
	uint32_t f = phys >> 12;

	/* Writable only once dirty (so the first write sets D) and when not traced. */
	if (w->dirty && smmu_walk_allows(&m->pg, w, acc) && f < m->nframes && !m->frames[f].trace)
		return PROT_READ | PROT_WRITE;
	return PROT_READ;
}

static void map_one(struct smmu *m, struct smmu_space *s, int view, uint32_t lin,
		    const struct smmu_walk *w)
{
	uint32_t page = lin >> 12, phys = w->phys & PTE_FRAME;

	ensure_room(m);
	if (smmu_view_map(&s->view[view], lin, phys, prot_for(m, w, view, phys)) < 0)
		return;
	set_mapped(m, s, view, page, true);
	rmap_add(m, phys, s, view, page);
}

/*
 * Map neighbours of lin that the guest has already used (A set), from the
 * same page table (or the same 4 MiB page): one fault instead of many.
 */
static void prefetch(struct smmu *m, struct smmu_space *s, int view, uint32_t lin,
		     const struct smmu_walk *w0)
{
	unsigned acc = WALK_NO_AD | (view == SMMU_USER ? WALK_USER : 0);
	uint32_t base = lin & ~0x3fffffu;
	uint32_t idx = (lin >> 12) & 0x3ff;

	for (int d = -PREFETCH; d <= PREFETCH; d++) {
		uint32_t i = idx + (uint32_t)d, l = base + (i << 12);
		struct smmu_walk w;

		if (d == 0 || i > 0x3ff || test_mapped(s, view, l >> 12))
			continue;
		if (!w0->large) {
			uint32_t pte;

			if (ram_read(m->ram, (w0->pde & PTE_FRAME) + i * 4, &pte, 4) < 0 ||
			    !(pte & PTE_P) || !(pte & PTE_A))
				continue;
		}
		if (smmu_walk(m->ram, &m->pg, l, acc, &w) < 0 ||
		    (uint64_t)(w.phys & PTE_FRAME) + 4096 > m->ram->size)
			continue;
		map_one(m, s, view, l, &w);
		m->st.prefetched++;
	}
}

enum smmu_fault smmu_fault(struct smmu *m, uint32_t lin, bool write, int cpl, uint32_t *err,
			   uint32_t *phys)
{
	int view = cpl == 3 ? SMMU_USER : SMMU_KERNEL;
	struct smmu_space *s = m->cur;
	struct smmu_frame *fr;
	struct smmu_walk w;

	if (!m->paging) {
		*phys = lin;
		fr = frame_of(m, lin);
		if (!fr)
			return SMMU_NOT_RAM;
		if (write && fr->trace)
			return SMMU_TRACED;
		smmu_view_protect(&m->flat, lin, false);
		return SMMU_FILLED;
	}
	if (smmu_walk(m->ram, &m->pg, lin, (write ? WALK_WRITE : 0) | (view ? WALK_USER : 0),
		      &w) < 0) {
		*err = w.err;
		m->st.true_faults[w.err & 7]++;
		mmu_log(m, "true #PF lin=%08x err=%x cpl=%d", lin, w.err, cpl);
		return SMMU_GUEST_PF;
	}
	*phys = w.phys;
	fr = frame_of(m, w.phys);
	if (!fr || (uint64_t)(w.phys & PTE_FRAME) + 4096 > m->ram->size)
		return SMMU_NOT_RAM;
	if (write && fr->trace) {
		mmu_log(m, "trace write lin=%08x phys=%08x (%s)", lin, w.phys,
			(fr->trace & SMMU_TRACE_CODE) ? "code" : "page table");
		return SMMU_TRACED;
	}
	if (write && test_mapped(s, view, lin >> 12))
		m->st.dirty_faults++;
	m->st.hidden_faults++;
	mmu_log(m, "hidden fault lin=%08x -> phys=%08x %s %s", lin, w.phys,
		view ? "user" : "kernel", write ? "write" : "read");
	map_one(m, s, view, lin, &w);
	if (!w.large)
		ptuser_add(m, w.pde & PTE_FRAME, s, lin >> 22);
	prefetch(m, s, view, lin, &w);
	return SMMU_FILLED;
}

int smmu_translate(struct smmu *m, uint32_t lin, unsigned access, uint32_t *phys, uint32_t *err)
{
	struct smmu_walk w;

	if (!m->paging) {
		*phys = lin;
		return 0;
	}
	if (smmu_walk(m->ram, &m->pg, lin, access, &w) < 0) {
		*err = w.err;
		return -1;
	}
	*phys = w.phys;
	return 0;
}

static void unmap_both(struct smmu *m, struct smmu_space *s, uint32_t page)
{
	unmap_page(m, s, SMMU_KERNEL, page);
	unmap_page(m, s, SMMU_USER, page);
}

static bool ptuser_live(struct smmu *m, const struct smmu_ptuser *n, uint32_t pt)
{
	const struct smmu_space *s = &m->space[n->space];
	uint32_t pde;

	if (!s->used || s->gen != n->gen)
		return false;
	if (ram_read(m->ram, s->cr3 + n->pde * 4u, &pde, 4) < 0)
		return false;
	return (pde & PTE_P) && !((pde & PTE_PS) && m->pg.pse) &&
	       (pde & PTE_FRAME) == (pt & PTE_FRAME);
}

/* Is anything of the 4 MiB region pde mapped in this view? (128 bytes of bitmap) */
static bool region_mapped(const struct smmu_space *s, int view, uint32_t pde)
{
	const uint64_t *w = (const uint64_t *)(s->mapped[view] + pde * 128);

	for (int i = 0; i < 16; i++)
		if (w[i])
			return true;
	return false;
}

static void clear_region(struct smmu *m, struct smmu_space *s, uint32_t pde)
{
	kptu_clear(m, s, (int)pde);
	for (int v = 0; v < 2; v++) {
		if (!region_mapped(s, v, pde))
			continue;
		smmu_view_clear(&s->view[v], pde << 22, 1u << 22);
		for (uint32_t p = 0; p < 1024; p++)
			set_mapped(m, s, v, (pde << 10) | p, false);
	}
}

/* Is linear page (or, region: any page of 4 MiB region) in the watch bitmap? NULL watches all. */
static bool watched(const uint8_t *watch, uint32_t page, bool region)
{
	const uint64_t *w;

	if (!watch)
		return true;
	if (!region)
		return watch[page >> 3] & (1u << (page & 7));
	w = (const uint64_t *)(watch + (page >> 3));
	for (int i = 0; i < 16; i++)
		if (w[i])
			return true;
	return false;
}

int smmu_entries_written(struct smmu *m, uint32_t phys, uint32_t first, uint32_t count,
			 const uint32_t *old, const uint8_t *watch)
{
	struct smmu_frame *fr = frame_of(m, phys);
	const uint32_t *now = ram_ptr(m->ram, phys & PTE_FRAME, 4096);
	static uint16_t diff[1024];
	static bool was_present[1024];
	uint32_t ndiff = 0, dropped = 0;
	int changed = 0, live = 0;

	if (!fr || !now || first >= 1024)
		return 0;
	if (count > 1024 - first)
		count = 1024 - first;
	m->st.trace_writes++;
	/* Which entries changed: once, whatever number of users they have. */
	for (uint32_t i = 0; i < count; i++) {
		if (old[i] == now[first + i])
			continue;
		was_present[ndiff] = old[i] & PTE_P;
		diff[ndiff++] = (uint16_t)(first + i);
	}
	if (fr->trace & SMMU_TRACE_PT) {
		uint32_t *pp = &fr->ptusers;

		while (*pp) {
			struct smmu_ptuser *n = &m->ptu[*pp];
			struct smmu_space *s = &m->space[n->space];

			/* Still a user only if that space's PDE still points here. */
			if (!ptuser_live(m, n, phys)) {
				*pp = n->next;
				continue;
			}
			pp = &n->next;
			live++;
			for (uint32_t k = 0; k < ndiff; k++) {
				uint32_t page = ((uint32_t)n->pde << 10) | diff[k];

				unmap_both(m, s, page);
				dropped += was_present[k] && watched(watch, page, false);
			}
			changed += (int)ndiff;
		}
		if (!live) {
			/* Nobody derives anything from this frame now: stop tracing it. */
			fr->ptusers = 0;
			trace_remove(m, phys, SMMU_TRACE_PT);
		}
	}
	if (fr->trace & SMMU_TRACE_PD) {
		for (int k = 0; k < SMMU_MAX_SPACES; k++) {
			struct smmu_space *s = &m->space[k];

			if (!s->used || s->cr3 != (phys & PTE_FRAME))
				continue;
			/* A whole 4 MiB region may now come from elsewhere. */
			for (uint32_t d = 0; d < ndiff; d++) {
				clear_region(m, s, diff[d]);
				dropped += was_present[d] && watched(watch, (uint32_t)diff[d] << 10, true);
			}
			changed += (int)ndiff;
		}
	}
	if (!changed)
		m->st.trace_unchanged++;
	/*
	 * What a TLB could still hold: only entries that were present.  A
	 * not-present entry that became present was never cached by anyone.
	 */
	return (int)dropped;
}

int smmu_frame_written(struct smmu *m, uint32_t phys, const uint32_t *old, const uint8_t *watch)
{
	return smmu_entries_written(m, phys, 0, 1024, old, watch);
}

int smmu_use_kviews(struct smmu *m, const struct smmu_kviews *k, uint8_t *traced,
		    uint8_t *kwrite, uint32_t (*ptu)[1024])
{
	smmu_view_destroy(&m->flat);
	m->kviews = k;
	m->ktraced = traced;
	m->kwrite = kwrite;
	m->kptu = ptu;
	memset(ptu, 0, SMMU_MAX_SPACES * sizeof(ptu[0]));
	for (uint32_t f = 0; f < m->nframes; f++)
		ktraced_sync(m, f);
	/* No host mappings per page: only the kernel's page-table memory limits them. */
	if (!getenv("BT86_SHADOW_PAGES"))
		m->map_budget = 1u << 20;
	if (smmu_view_create(&m->flat, m->ram, k) < 0 || smmu_view_map_flat(&m->flat) < 0)
		return -1;
	return 0;
}

/* The space and view kind a view belongs to; NULL for the flat view. */
static struct smmu_space *view_owner(struct smmu *m, const struct smmu_view *v, int *kind)
{
	for (int i = 0; i < SMMU_MAX_SPACES; i++) {
		struct smmu_space *s = &m->space[i];

		if (!s->used)
			continue;
		for (int k = 0; k < 2; k++) {
			if (v == &s->view[k]) {
				*kind = k;
				return s;
			}
		}
	}
	return NULL;
}

void smmu_kfill_note(struct smmu *m, const struct smmu_view *v, uint32_t lin, uint32_t phys)
{
	int kind;
	struct smmu_space *s = view_owner(m, v, &kind);

	if (!s)
		return;
	m->kfills++;
	m->st.hidden_faults++;
	set_mapped(m, s, kind, lin >> 12, true);
	rmap_add(m, phys, s, kind, lin >> 12);
}

void smmu_kunmap_note(struct smmu *m, const struct smmu_view *v, uint32_t lin)
{
	int kind;
	struct smmu_space *s = view_owner(m, v, &kind);

	if (!s)
		return;
	if (test_mapped(s, kind, lin >> 12))
		m->st.unmapped++;
	set_mapped(m, s, kind, lin >> 12, false);
}

void smmu_invlpg(struct smmu *m, uint32_t lin)
{
	m->st.invlpg++;
	if (m->paging && m->cur)
		unmap_both(m, m->cur, lin >> 12);
}

void smmu_set_control(struct smmu *m, uint32_t cr0, uint32_t cr3, uint32_t cr4)
{
	bool paging = cr0 & X86_CR0_PG;
	bool wp = cr0 & X86_CR0_WP, pse = cr4 & X86_CR4_PSE, pge = cr4 & X86_CR4_PGE;

	if (paging != m->paging || wp != m->pg.wp || pse != m->pg.pse || pge != m->pg.pge) {
		if (m->paging || paging)
			smmu_flush(m);
		mmu_log(m, "paging %s, WP=%d PSE=%d PGE=%d", paging ? "on" : "off", wp, pse, pge);
	}
	m->paging = paging;
	m->pg.wp = wp;
	m->pg.pse = pse;
	m->pg.pge = pge;
	if (!paging)
		return;
	if (!m->cur || m->cur->cr3 != (cr3 & PTE_FRAME) || m->pg.cr3 != cr3)
		m->st.cr3_writes++;
	m->pg.cr3 = cr3;
	m->cur = space_get(m, cr3);
}

struct smmu_view *smmu_view_for(struct smmu *m, int cpl)
{
	if (!m->paging)
		return &m->flat;
	return &m->cur->view[cpl == 3 ? SMMU_USER : SMMU_KERNEL];
}

void smmu_print_stats(const struct smmu *m, FILE *o)
{
	const struct smmu_stats *s = &m->st;
	uint64_t tf = 0;

	for (int i = 0; i < 8; i++)
		tf += s->true_faults[i];
	fprintf(o, "== shadow MMU\n");
	fprintf(o, "  hidden faults         %10llu (%llu entries prefetched, %llu dirty-bit)\n",
		(unsigned long long)s->hidden_faults, (unsigned long long)s->prefetched,
		(unsigned long long)s->dirty_faults);
	if (m->kviews)
		fprintf(o, "  ... filled by bt86.ko %10llu\n", (unsigned long long)m->kfills);
	fprintf(o, "  true faults (#PF)     %10llu\n", (unsigned long long)tf);
	for (int i = 0; i < 8; i++)
		if (s->true_faults[i])
			fprintf(o, "    %s %s %s        %10llu\n", i & PF_P ? "protection " : "not-present",
				i & PF_W ? "write" : "read ", i & PF_U ? "user  " : "kernel",
				(unsigned long long)s->true_faults[i]);
	fprintf(o, "  trace writes          %10llu (%llu left entries unchanged, %llu by adaptive callouts)\n",
		(unsigned long long)s->trace_writes, (unsigned long long)s->trace_unchanged,
		(unsigned long long)s->adaptive_stores);
	fprintf(o, "  traces added/removed  %10llu / %llu\n", (unsigned long long)s->traces_added,
		(unsigned long long)s->traces_removed);
	fprintf(o, "  address spaces        %10llu hits, %llu misses, %llu evictions, %llu flushes\n",
		(unsigned long long)s->space_hits, (unsigned long long)s->space_misses,
		(unsigned long long)s->space_evictions, (unsigned long long)s->flushes);
	fprintf(o, "  CR3 writes / invlpg   %10llu / %llu\n", (unsigned long long)s->cr3_writes,
		(unsigned long long)s->invlpg);
	fprintf(o, "  pages mapped now      %10llu (budget %llu)\n",
		(unsigned long long)m->mapped_total, (unsigned long long)m->map_budget);
}
