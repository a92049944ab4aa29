/* Views: reserving 4 GiB host windows and mapping guest RAM into them. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shadowmmu/view.h"

int smmu_view_create_flat(struct smmu_view *v, const struct guest_ram *ram)
{
	uint64_t len = VIEW_SPAN + 2 * VIEW_ALIGN;
	uint8_t *r, *base;

	memset(v, 0, sizeof(*v));
	/* Reserve address space only: PROT_NONE, no memory is committed. */
	r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	base = (uint8_t *)(((uintptr_t)r + VIEW_ALIGN + VIEW_ALIGN - 1) & ~(uintptr_t)(VIEW_ALIGN - 1));
	v->reserve = r;
	v->reserve_len = len;
	v->base = base;
	v->poll = base - 4096;
	v->irqwin = base - 8192;
	v->ram = ram;
	if (mmap(base, ram->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ram->fd, 0) ==
	    MAP_FAILED)
		goto fail;
	if (mmap(v->irqwin, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		goto fail;
	return 0;
fail:
	{
		int e = errno;

		munmap(r, len);
		memset(v, 0, sizeof(*v));
		errno = e;
	}
	return -1;
}

void smmu_view_destroy(struct smmu_view *v)
{
	if (v->reserve)
		munmap(v->reserve, v->reserve_len);
	memset(v, 0, sizeof(*v));
}

int smmu_view_protect(struct smmu_view *v, uint32_t addr, bool read_only)
{
	if ((uint64_t)addr >= v->ram->size)
		return -1;
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
	mmap(v->base + (addr & ~0xfffu), 4096, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

void smmu_poll_arm(struct smmu_view *v, bool armed)
{
	mprotect(v->poll, 4096, armed ? PROT_NONE : PROT_READ);
}

void smmu_irqwin_arm(struct smmu_view *v, bool armed)
{
	mprotect(v->irqwin, 4096, armed ? PROT_NONE : PROT_READ);
}

enum smmu_hit smmu_view_classify(const struct smmu_view *v, const void *p, uint32_t *lin)
{
	const uint8_t *q = p;

	if (q >= v->poll && q < v->poll + 4096)
		return SMMU_POLL;
	if (q >= v->irqwin && q < v->irqwin + 4096)
		return SMMU_IRQWIN;
	if (q >= v->base && q < v->base + VIEW_SPAN) {
		/* Past 4 GiB is the guard: a string op that wrapped; same offset mod 2^32. */
		*lin = (uint32_t)(q - v->base);
		return SMMU_WINDOW;
	}
	return SMMU_MISS;
}
