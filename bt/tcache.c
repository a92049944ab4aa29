/*
 * tcache.c - translation-cache memory, block lookup, page lists, mode ids.
 *
 * The TC is one memfd mapped twice: a read/write view the translator and the
 * linker write through, and a read/execute view translated code runs from.
 * Guest code therefore never runs from writable memory, and nothing the guest
 * controls is ever mapped executable: it can only run what the translator
 * emitted.  Blocks are appended in TC order, so a host RIP maps back to its
 * block by binary search.  When the TC fills up, everything is flushed at
 * once (simpler and, per DynamoRIO's experience, not much worse than FIFO).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bt/tc.h"
#include "vmm/cpu.h"

#define TC_HASH_SIZE	(1u << 16)

static size_t hash_of(uint32_t eip, uint32_t phys, int mode)
{
	uint32_t h = eip * 0x9e3779b1u ^ phys * 0x85ebca6bu ^ (uint32_t)mode * 0xc2b2ae35u;

	return h ^ (h >> 16);
}

/*
 * The block and map arrays are sized for a full TC (hundreds of MiB) but a
 * guest touches a small part: reserve them without committing, so bt86
 * starts on a small host under the kernel's overcommit heuristic.
 */
static void *reserve_zeroed(size_t n, size_t each)
{
	void *p = mmap(NULL, n * each, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int tc_create(struct tc *tc, size_t size, uint64_t ram_size, const struct tc_host *host)
{
	memset(tc, 0, sizeof(*tc));
	tc->fd = memfd_create("bt86-tc", MFD_CLOEXEC);
	if (tc->fd < 0 || ftruncate(tc->fd, (off_t)size) < 0)
		return -1;
	tc->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, tc->fd, 0);
	tc->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, tc->fd, 0);
	if (tc->rw == MAP_FAILED || tc->rx == MAP_FAILED)
		return -1;
	tc->size = size;
	tc->max_blocks = size / 64;
	tc->max_maps = size / 8;
	tc->blocks = reserve_zeroed(tc->max_blocks, sizeof(*tc->blocks));
	tc->maps = reserve_zeroed(tc->max_maps, sizeof(*tc->maps));
	tc->hash = calloc(TC_HASH_SIZE, sizeof(*tc->hash));
	tc->hash_mask = TC_HASH_SIZE - 1;
	tc->npages = (uint32_t)(ram_size >> 12);
	tc->pages = calloc(tc->npages, sizeof(*tc->pages));
	tc->ibl_used = calloc(TC_IBL_TRACK, sizeof(*tc->ibl_used));
	tc->ibl_pages_own = calloc(1, TC_IBL_PAGES_BYTES);
	tc->ibl_pages = tc->ibl_pages_own;
	tc->ibl_page_list = calloc(TC_IBL_TRACK, sizeof(*tc->ibl_page_list));
	tc->host = *host;
	if (!tc->blocks || !tc->maps || !tc->hash || !tc->pages || !tc->ibl_used ||
	    !tc->ibl_pages_own || !tc->ibl_page_list)
		return -1;
	tc_flush(tc);
	return 0;
}

void tc_destroy(struct tc *tc)
{
	if (tc->rw && tc->rw != MAP_FAILED)
		munmap(tc->rw, tc->size);
	if (tc->rx && tc->rx != MAP_FAILED)
		munmap(tc->rx, tc->size);
	if (tc->fd >= 0)
		close(tc->fd);
	for (int i = 0; i < TC_MAX_MODES; i++)
		free(tc->ibl[i]);
	if (tc->blocks)
		munmap(tc->blocks, tc->max_blocks * sizeof(*tc->blocks));
	if (tc->maps)
		munmap(tc->maps, tc->max_maps * sizeof(*tc->maps));
	free(tc->hash);
	free(tc->pages);
	free(tc->ibl_used);
	free(tc->ibl_pages_own);
	free(tc->ibl_page_list);
	memset(tc, 0, sizeof(*tc));
	tc->fd = -1;
}

static void ibl_reset(struct tc *tc, int mode)
{
	uint64_t miss = (uint64_t)(uintptr_t)tc_rx(tc, tc->glue_miss_off);

	for (size_t i = 0; i < TC_IBL_SIZE; i++)
		tc->ibl[mode][i] = miss;
}

static void ibl_pages_clear(struct tc *tc)
{
	if (tc->nibl_pages > TC_IBL_TRACK) {
		memset(tc->ibl_pages, 0, TC_IBL_PAGES_BYTES);
	} else {
		for (uint32_t i = 0; i < tc->nibl_pages; i++)
			tc->ibl_pages[tc->ibl_page_list[i] >> 3] = 0;
	}
	tc->nibl_pages = 0;
}

static void ibl_page_mark(struct tc *tc, uint32_t lin)
{
	uint32_t page = lin >> 12;
	uint8_t *byte = &tc->ibl_pages[page >> 3];

	if (*byte & (1u << (page & 7)))
		return;
	*byte |= (uint8_t)(1u << (page & 7));
	if (tc->nibl_pages < TC_IBL_TRACK)
		tc->ibl_page_list[tc->nibl_pages] = page;
	tc->nibl_pages++;
}

void tc_share_ibl_pages(struct tc *tc, uint8_t *bitmap)
{
	if (!bitmap)
		bitmap = tc->ibl_pages_own;
	if (bitmap != tc->ibl_pages)
		memcpy(bitmap, tc->ibl_pages, TC_IBL_PAGES_BYTES);
	tc->ibl_pages = bitmap;
}

/*
 * Drop every translation.  Code pages lose their write protection through
 * the code_page callback so the guest stops paying for traces it no longer
 * needs.
 */
void tc_flush(struct tc *tc)
{
	for (uint32_t p = 0; p < tc->npages; p++) {
		if (tc->pages[p] && tc->host.code_page)
			tc->host.code_page(tc->host.opaque, p << 12, false);
		tc->pages[p] = NULL;
	}
	memset(tc->hash, 0, TC_HASH_SIZE * sizeof(*tc->hash));
	tc->nblocks = 0;
	tc->nmaps = 0;
	/* The IBL-miss trampoline sits at offset 0: jmp [r13 + BTC_IBL_MISS]. */
	tc->rw[0] = 0x41;
	tc->rw[1] = 0xff;
	tc->rw[2] = 0x65;		/* modrm: mod=01 /4 rm=r13 */
	tc->rw[3] = BTC_IBL_MISS;
	tc->glue_miss_off = 0;
	tc->used = 64;
	for (int m = 0; m < tc->nmodes; m++)
		ibl_reset(tc, m);
	tc->nibl_used = 0;
	ibl_pages_clear(tc);
	if (tc->nblocks || tc->st.blocks)
		tc->st.flushes++;
}

int tc_mode_id(struct tc *tc, const struct bt_mode *m)
{
	for (int i = 0; i < tc->nmodes; i++)
		if (!memcmp(&tc->modes[i], m, sizeof(*m)))
			return i;
	if (tc->nmodes == TC_MAX_MODES) {
		/* Every id may be baked into blocks: only a flush frees them. */
		tc->nmodes = 0;
		tc_flush(tc);
	}
	if (!tc->ibl[tc->nmodes]) {
		tc->ibl[tc->nmodes] = malloc(TC_IBL_SIZE * sizeof(uint64_t));
		if (!tc->ibl[tc->nmodes])
			abort();
	}
	tc->modes[tc->nmodes] = *m;
	ibl_reset(tc, tc->nmodes);
	return tc->nmodes++;
}

struct tc_block *tc_lookup(struct tc *tc, uint32_t eip, uint32_t phys, int mode)
{
	struct tc_block *b = tc->hash[hash_of(eip, phys, mode) & tc->hash_mask];

	for (; b; b = b->hash_next)
		if (b->eip == eip && b->phys == phys && b->mode == mode)
			return b;
	return NULL;
}

static void page_add(struct tc *tc, struct tc_block *b, int which, uint32_t page)
{
	if (page >= tc->npages)
		return;
	if (!tc->pages[page] && tc->host.code_page) {
		tc->st.smc_pages++;
		tc->host.code_page(tc->host.opaque, page << 12, true);
	}
	b->page_next[which] = tc->pages[page];
	tc->pages[page] = b;
}

/* Enter a finished block in the hash, the page lists and the IBL table. */
void tc_insert(struct tc *tc, struct tc_block *b)
{
	size_t h = hash_of(b->eip, b->phys, b->mode) & tc->hash_mask;

	b->hash_next = tc->hash[h];
	tc->hash[h] = b;
	page_add(tc, b, 0, b->phys >> 12);
	if (b->two_pages)
		page_add(tc, b, 1, b->phys_end >> 12);
	tc_ibl_insert(tc, b);
}

void tc_unhash(struct tc *tc, struct tc_block *b)
{
	struct tc_block **pp = &tc->hash[hash_of(b->eip, b->phys, b->mode) & tc->hash_mask];

	for (; *pp; pp = &(*pp)->hash_next) {
		if (*pp == b) {
			*pp = b->hash_next;
			return;
		}
	}
}

void tc_ibl_insert(struct tc *tc, struct tc_block *b)
{
	uint32_t slot = b->eip & (TC_IBL_SIZE - 1);
	uint32_t lin = b->eip + tc->modes[b->mode].seg_base[S_CS];

	tc->ibl[b->mode][slot] = (uint64_t)(uintptr_t)tc_rx(tc, b->ind_off);
	/* A block may run onto the next page: a remap of either makes it stale. */
	ibl_page_mark(tc, lin);
	ibl_page_mark(tc, lin + b->glen - 1);
	if (tc->nibl_used < TC_IBL_TRACK)
		tc->ibl_used[tc->nibl_used] = (uint32_t)b->mode << 16 | slot;
	tc->nibl_used++;
}

void tc_ibl_flush(struct tc *tc)
{
	uint64_t miss = (uint64_t)(uintptr_t)tc_rx(tc, tc->glue_miss_off);

	if (tc->nibl_used > TC_IBL_TRACK) {
		for (int m = 0; m < tc->nmodes; m++)
			ibl_reset(tc, m);
	} else {
		for (uint32_t i = 0; i < tc->nibl_used; i++)
			tc->ibl[tc->ibl_used[i] >> 16][tc->ibl_used[i] & 0xffff] = miss;
	}
	tc->nibl_used = 0;
	ibl_pages_clear(tc);
	tc->st.ibl_flushes++;
}

bool tc_page_has_code(const struct tc *tc, uint32_t phys)
{
	uint32_t p = phys >> 12;

	return p < tc->npages && tc->pages[p];
}

struct tc_block *tc_find_block(struct tc *tc, uint64_t host_rip)
{
	uint64_t base = (uint64_t)(uintptr_t)tc->rx;
	size_t lo = 0, hi = tc->nblocks;
	uint32_t off;

	if (host_rip < base || host_rip >= base + tc->used)
		return NULL;
	off = (uint32_t)(host_rip - base);
	/* Last block whose IBL entry starts at or before off. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tc->blocks[mid].ind_off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &tc->blocks[lo - 1] : NULL;
}

const struct tc_map *tc_find_insn(struct tc *tc, const struct tc_block *b, uint64_t host_rip)
{
	uint64_t code = (uint64_t)(uintptr_t)tc_rx(tc, b->code_off);
	const struct tc_map *best = NULL;

	if (host_rip < code)
		return NULL;
	for (uint32_t i = 0; i < b->ninsn; i++) {
		const struct tc_map *m = &tc->maps[b->map_idx + i];

		if (code + m->host_off > host_rip)
			break;
		best = m;
	}
	return best;
}

void tc_print_stats(const struct tc *tc, FILE *o)
{
	const struct tc_stats *s = &tc->st;

	fprintf(o, "  blocks translated     %10llu (%llu guest insns, %llu guest bytes)\n",
		(unsigned long long)s->blocks, (unsigned long long)s->insns,
		(unsigned long long)s->guest_bytes);
	fprintf(o, "  TC bytes              %10llu (%.1f%% of %zu KiB in use, %llu flushes)\n",
		(unsigned long long)s->host_bytes, 100.0 * (double)tc->used / (double)tc->size,
		tc->size >> 10, (unsigned long long)s->flushes);
	fprintf(o, "  translation time      %10.3f ms (%.0f ns per guest insn)\n",
		(double)s->translate_ns / 1e6,
		s->insns ? (double)s->translate_ns / (double)s->insns : 0.0);
	fprintf(o, "  chains / unchains     %10llu / %llu\n", (unsigned long long)s->chains,
		(unsigned long long)s->unchains);
	fprintf(o, "  IBL misses            %10llu (flushes %llu)\n", (unsigned long long)s->ibl_misses,
		(unsigned long long)s->ibl_flushes);
	fprintf(o, "  cross-page jumps routed through the IBL %llu\n",
		(unsigned long long)s->ibl_routes);
	fprintf(o, "  SMC invalidations     %10llu blocks (%llu pages traced)\n",
		(unsigned long long)s->invalidations, (unsigned long long)s->smc_pages);
	for (int i = 1; i < BT_NR_OPS; i++)
		if (s->translated[i])
			fprintf(o, "  inline %-14s %10llu\n", bt_op_name(i),
				(unsigned long long)s->translated[i]);
	for (int i = 0; i < BT_NR_OPS; i++)
		if (s->callouts[i])
			fprintf(o, "  callout %-13s %10llu (translated sites)\n", bt_op_name(i),
				(unsigned long long)s->callouts[i]);
}
