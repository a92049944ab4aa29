/* Views: reserving 4 GiB host windows and mapping guest RAM pages into them. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shadowmmu/view.h"

int smmu_view_create(struct smmu_view *v, const struct guest_ram *ram)
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
	return 0;
}

void smmu_view_destroy(struct smmu_view *v)
{
	if (v->reserve)
		munmap(v->reserve, v->reserve_len);
	memset(v, 0, sizeof(*v));
}

void smmu_view_clear(struct smmu_view *v, uint32_t lin, uint64_t len)
{
	mmap(v->base + lin, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
	     -1, 0);
}

int smmu_view_map(struct smmu_view *v, uint32_t lin, uint32_t phys, int prot)
{
	if ((uint64_t)phys + 4096 > v->ram->size)
		return -1;
	if (mmap(v->base + (lin & ~0xfffu), 4096, prot, MAP_SHARED | MAP_FIXED, v->ram->fd,
		 phys & ~0xfffu) == MAP_FAILED)
		return -1;
	return 0;
}

int smmu_view_map_flat(struct smmu_view *v)
{
	if (mmap(v->base, v->ram->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 v->ram->fd, 0) == MAP_FAILED)
		return -1;
	return 0;
}

int smmu_view_protect(struct smmu_view *v, uint32_t addr, bool read_only)
{
	return mprotect(v->base + (addr & ~0xfffu), 4096,
			read_only ? PROT_READ : PROT_READ | PROT_WRITE);
}

int smmu_view_sink(struct smmu_view *v, uint32_t addr)
{
	uint8_t *p = v->base + (addr & ~0xfffu);

	if (mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		return -1;
	memset(p, 0xff, 4096);
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
	return q >= v->base && q < v->base + VIEW_WINDOW ? SMMU_IN_WINDOW : SMMU_IN_GUARD;
}
