/* Guest physical RAM: one memfd, mapped read/write into the VMM. */
#ifndef VMM_RAM_H
#define VMM_RAM_H

#include <stddef.h>
#include <stdint.h>

#define RAM_MIN_SIZE	(2ull << 20)	/* below this no loader fits */
#define RAM_MAX_SIZE	(3ull << 30)	/* keep clear of the 0xC0000000+ MMIO hole */

struct guest_ram {
	int fd;			/* memfd: later mapped into shadow views */
	uint8_t *host;		/* the VMM's own read/write mapping */
	uint64_t size;		/* bytes, multiple of 4 KiB */
};

int ram_create(struct guest_ram *ram, uint64_t size);
void ram_destroy(struct guest_ram *ram);
void ram_clear(struct guest_ram *ram);

/*
 * Return a host pointer to [gpa, gpa+len) when the whole range is RAM, else NULL.
 * The pointer stays valid for the life of the RAM.
 */
void *ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM; return 0, or -1 when any byte is outside RAM. */
int ram_read(const struct guest_ram *ram, uint64_t gpa, void *buf, uint64_t len);
int ram_write(struct guest_ram *ram, uint64_t gpa, const void *buf, uint64_t len);

/* Parse "64M", "1G", "131072K", "67108864"; return 0 or -1 on junk. */
int ram_parse_size(const char *s, uint64_t *out);

#endif
