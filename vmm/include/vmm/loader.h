/* Kernel loaders: Multiboot v1 and the Linux/i386 boot protocol, plus `bt86 info`. */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stdint.h>
#include <stdio.h>

#include "vmm/cpu.h"
#include "vmm/ram.h"

/*
 * Guest-physical layout the loaders use below 1 MiB (all inside usable e820
 * RAM, clear of the real-mode IVT/BDA page and of the EBDA at 0x9fc00):
 *
 *   0x1000-0x101f  GDT: null, null, 0x10 flat code, 0x18 flat data
 *   0x2000-0x2fff  boot information: multiboot_info + mmap + loader name,
 *                  or the Linux zero page (struct boot_params)
 *   0x3000-0x3fff  multiboot module list (16 bytes per module)
 *   0x4000-0x7fff  strings: kernel command line, module names
 *   0x8000-0x8fff  a small stack; ESP starts at 0x9000 (neither spec
 *                  defines ESP, a usable one costs nothing)
 *
 * Kernel images may not overlap LOADER_AREA_START..LOADER_AREA_END.
 */
#define LOADER_AREA_START	0x1000u	/* first byte kernels may not use */
#define LOADER_GDT		0x1000u	/* GDTR base */
#define LOADER_BOOTINFO		0x2000u	/* multiboot_info / boot_params: EBX / ESI */
#define LOADER_MODLIST		0x3000u	/* multiboot mods_addr */
#define LOADER_STRINGS		0x4000u	/* command line first, then module names */
#define LOADER_STRINGS_END	0x8000u	/* one past the string area */
#define LOADER_STACK_TOP	0x9000u	/* initial ESP */
#define LOADER_AREA_END		0x9000u	/* one past the loader area */

#define LOADER_SEL_CODE		0x10	/* __BOOT_CS */
#define LOADER_SEL_DATA		0x18	/* __BOOT_DS */

/* Low-memory holes every loader reports and keeps kernels out of. */
#define LOADER_EBDA_START	0x9fc00u	/* 639 KiB: extended BIOS data area */
#define LOADER_HIGH_START	0x100000u	/* 1 MiB */

/* e820 entry types, shared by the multiboot mmap and boot_params.e820_table */
#define LOADER_E820_RAM		1	/* usable RAM */
#define LOADER_E820_RESERVED	2	/* reserved */

struct loader_args {
	const char *kernel;
	const char *cmdline;	/* --append text, may be NULL */
	const char *initrd;	/* --initrd: one file, or a comma-separated list */
};

struct loader_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

#define LOADER_E820_MAX		4	/* entries loader_e820() produces */

/*
 * Load the kernel into RAM and fill *entry with the exact CPU state its boot
 * protocol defines.  Returns 0, or -1 after bt86_error() naming the file and
 * the problem.
 */
int loader_load(struct guest_ram *ram, const struct loader_args *a, struct x86_state *entry);

/* `bt86 info IMAGE`: print what the loader understood to out; 0, or -1 after bt86_error(). */
int loader_info(const char *path, FILE *out);

/* Shared helpers for the format back ends (loader.c). */

/* A whole image file in memory. */
struct loader_file {
	const char *path;
	uint8_t *data;
	uint64_t size;
};

int loader_read_file(const char *path, uint64_t max, struct loader_file *f);
void loader_free_file(struct loader_file *f);

/* Size of a file (an initrd or module) that must exist, be regular and readable. */
int loader_file_size(const char *path, uint64_t *size);

/* Read a whole file into guest RAM at gpa; size is what loader_file_size() said. */
int loader_read_into(struct guest_ram *ram, const char *path, uint64_t gpa, uint64_t size);

/* Fill e with the machine's memory map; returns the number of entries. */
int loader_e820(const struct guest_ram *ram, struct loader_e820 *e);

/* Write the GDT and set the flat 32-bit protected-mode entry state, paging off. */
int loader_flat_entry(struct guest_ram *ram, struct x86_state *s, uint32_t eip);

/* 1 when [a, a+len) overlaps [b, b+blen). */
int loader_overlaps(uint64_t a, uint64_t len, uint64_t b, uint64_t blen);

/* Little-endian field reads from a buffer the caller has bounds-checked. */
static inline uint16_t loader_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t loader_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t loader_get64(const uint8_t *p)
{
	return loader_get32(p) | (uint64_t)loader_get32(p + 4) << 32;
}

static inline void loader_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void loader_put32(uint8_t *p, uint32_t v)
{
	loader_put16(p, (uint16_t)v);
	loader_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void loader_put64(uint8_t *p, uint64_t v)
{
	loader_put32(p, (uint32_t)v);
	loader_put32(p + 4, (uint32_t)(v >> 32));
}

/* Format back ends. */
int mb_detect(const struct loader_file *f);	/* 1 when a multiboot magic is present */
int mb_load(struct guest_ram *ram, const struct loader_file *f, const struct loader_args *a,
	    struct x86_state *entry);
int mb_info(const struct loader_file *f, FILE *out);

int linux_detect(const struct loader_file *f);	/* 1 for a bzImage boot sector */
int linux_load(struct guest_ram *ram, const struct loader_file *f, const struct loader_args *a,
	       struct x86_state *entry);
int linux_info(const struct loader_file *f, FILE *out);

#endif
