/* Guest physical RAM backed by a memfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/ram.h"

int ram_create(struct guest_ram *ram, uint64_t size)
{
	ram->fd = -1;
	ram->host = NULL;
	ram->size = 0;
	if (size < RAM_MIN_SIZE || size > RAM_MAX_SIZE || (size & 0xfff)) {
		errno = EINVAL;
		return -1;
	}
	/* A memfd, not anonymous memory, so shadow views can map the same pages. */
	ram->fd = memfd_create("bt86-guest-ram", MFD_CLOEXEC);
	if (ram->fd < 0)
		return -1;
	if (ftruncate(ram->fd, (off_t)size) < 0)
		goto fail;
	ram->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			 ram->fd, 0);
	if (ram->host == MAP_FAILED) {
		ram->host = NULL;
		goto fail;
	}
	ram->size = size;
	return 0;
fail:
	{
		int e = errno;

		close(ram->fd);
		ram->fd = -1;
		errno = e;
	}
	return -1;
}

void ram_destroy(struct guest_ram *ram)
{
	if (ram->host)
		munmap(ram->host, ram->size);
	if (ram->fd >= 0)
		close(ram->fd);
	ram->host = NULL;
	ram->fd = -1;
	ram->size = 0;
}

/* Drop every page so a reset starts from zeroed memory without a big memset. */
void ram_clear(struct guest_ram *ram)
{
	if (fallocate(ram->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)ram->size) < 0)
		memset(ram->host, 0, ram->size);
}

void *ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	if (gpa > ram->size || len > ram->size - gpa)
		return NULL;
	return ram->host + gpa;
}

int ram_read(const struct guest_ram *ram, uint64_t gpa, void *buf, uint64_t len)
{
	const void *p = ram_ptr(ram, gpa, len);

	if (!p)
		return -1;
	memcpy(buf, p, len);
	return 0;
}

int ram_write(struct guest_ram *ram, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p = ram_ptr(ram, gpa, len);

	if (!p)
		return -1;
	memcpy(p, buf, len);
	return 0;
}

int ram_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case '\0': mul = 1ull << 20; break;	/* bare numbers are MiB, as in QEMU */
	default: return -1;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}
