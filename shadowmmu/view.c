/*
 * Views: reserving 4 GiB host windows and mapping guest RAM pages into them.
 *
 * Translated code addresses guest memory as [base + reg + disp] without the
 * 32-bit wrap, so a guest address that wraps (i386 Linux's __pa() adds
 * 0x40000000 to kernel addresses, for one) lands up to 4 GiB above the
 * window, or up to 2 GiB below it.  Those two ranges are mirrors of the
 * window: every page mapped at base + lin is also mapped at base + 4G + lin,
 * and, for lin >= 2 GiB, at base + lin - 4G.  The wrapped access then simply
 * works.  Beyond the mirrors (index*scale forms can reach 36 GiB) is a guard
 * where nothing is ever mapped; an access there is retranslated with lea.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shadowmmu/view.h"

#define TWO_G	(2ull << 30)

int smmu_view_create(struct smmu_view *v, const struct guest_ram *ram,
		     const struct smmu_kviews *k)
{
	uint64_t len = VIEW_BELOW + VIEW_ABOVE + VIEW_ALIGN;
	uint8_t *r;

	memset(v, 0, sizeof(*v));
	/* Reserve address space only: PROT_NONE, no memory is committed. */
	r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	v->reserve = r;
	v->reserve_len = len;
	v->base = (uint8_t *)(((uintptr_t)r + VIEW_BELOW + VIEW_ALIGN - 1) &
			      ~(uintptr_t)(VIEW_ALIGN - 1));
	v->ram = ram;
	v->k = k;
	if (k && k->attach(k->opaque, v) < 0) {
		munmap(r, len);
		memset(v, 0, sizeof(*v));
		return -1;
	}
	return 0;
}

void smmu_view_destroy(struct smmu_view *v)
{
	if (v->k && v->reserve)
		v->k->detach(v->k->opaque, v);
	if (v->reserve)
		munmap(v->reserve, v->reserve_len);
	memset(v, 0, sizeof(*v));
}

/*
 * The host addresses where guest linear range [lin, lin+len) lives: the
 * window, its mirror above and (for the top half) its mirror below.
 * Returns how many of out[] are filled.
 */
static int aliases(const struct smmu_view *v, uint32_t lin, uint64_t len, uint8_t *out[3],
		   uint64_t lens[3])
{
	int n = 0;

	out[n] = v->base + lin;
	lens[n++] = len;
	out[n] = v->base + VIEW_WINDOW + lin;
	lens[n++] = len;
	if ((uint64_t)lin + len > TWO_G) {
		uint64_t start = lin >= TWO_G ? lin : TWO_G;

		out[n] = v->base - VIEW_WINDOW + start;
		lens[n++] = lin + len - start;
	}
	return n;
}

void smmu_view_clear(struct smmu_view *v, uint32_t lin, uint64_t len)
{
	uint8_t *at[3];
	uint64_t lens[3];
	int n;

	if (v->k) {
		v->k->op(v->k->opaque, v, SMMU_KOP_CLEAR, lin, (uint32_t)((len + 4095) >> 12));
		return;
	}
	n = aliases(v, lin, len, at, lens);
	for (int i = 0; i < n; i++)
		mmap(at[i], lens[i], PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

static int map_range(struct smmu_view *v, uint32_t lin, uint64_t len, uint64_t off, int prot)
{
	uint8_t *at[3];
	uint64_t lens[3];
	int n = aliases(v, lin, len, at, lens);

	for (int i = 0; i < n; i++) {
		uint64_t skip = len - lens[i];	/* the low mirror starts at 2 GiB */

		if (mmap(at[i], lens[i], prot, MAP_SHARED | MAP_FIXED, v->ram->fd,
			 (off_t)(off + skip)) == MAP_FAILED)
			return -1;
	}
	return 0;
}

int smmu_view_map(struct smmu_view *v, uint32_t lin, uint32_t phys, int prot)
{
	if ((uint64_t)phys + 4096 > v->ram->size)
		return -1;
	if (v->k) {
		v->k->op(v->k->opaque, v, SMMU_KOP_MAP, lin & ~0xfffu,
			 (phys & ~0xfffu) | ((prot & PROT_WRITE) ? 1 : 0));
		return 0;
	}
	return map_range(v, lin & ~0xfffu, 4096, phys & ~0xfffu, prot);
}

int smmu_view_map_flat(struct smmu_view *v)
{
	v->flat = true;
	if (v->k) {
		/* The kernel maps a flat view's pages on first touch. */
		v->k->op(v->k->opaque, v, SMMU_KOP_RESET, 0, 0);
		return 0;
	}
	return map_range(v, 0, v->ram->size, 0, PROT_READ | PROT_WRITE);
}

int smmu_view_protect(struct smmu_view *v, uint32_t addr, bool read_only)
{
	uint8_t *at[3];
	uint64_t lens[3];
	int n, r = 0;

	if (v->k) {
		v->k->op(v->k->opaque, v, SMMU_KOP_PROTECT, addr & ~0xfffu, read_only);
		return 0;
	}
	n = aliases(v, addr & ~0xfffu, 4096, at, lens);
	for (int i = 0; i < n; i++)
		r |= mprotect(at[i], lens[i], read_only ? PROT_READ : PROT_READ | PROT_WRITE);
	return r;
}

int smmu_view_sink(struct smmu_view *v, uint32_t addr)
{
	uint8_t *at[3];
	uint64_t lens[3];
	int n;

	if (v->k) {
		v->k->op(v->k->opaque, v, SMMU_KOP_SINK, addr & ~0xfffu, 0);
		return 0;
	}
	n = aliases(v, addr & ~0xfffu, 4096, at, lens);
	/* One scratch page, shared by the aliases so a wrapped access sees it too. */
	for (int i = 0; i < n; i++) {
		if (mmap(at[i], lens[i], PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			return -1;
		memset(at[i], 0xff, lens[i]);
	}
	return 0;
}

void smmu_view_unsink(struct smmu_view *v, uint32_t addr)
{
	smmu_view_clear(v, addr & ~0xfffu, 4096);
}

enum smmu_where smmu_view_where(const struct smmu_view *v, const void *p, uint32_t *lin)
{
	const uint8_t *q = p;

	if (q < v->base - VIEW_BELOW || q >= v->base + VIEW_ABOVE)
		return SMMU_OUTSIDE;
	*lin = (uint32_t)(uintptr_t)(q - v->base);
	/* The window and its two mirrors behave alike; past them is the guard. */
	return q < v->base + 2 * VIEW_WINDOW ? SMMU_IN_WINDOW : SMMU_IN_GUARD;
}
