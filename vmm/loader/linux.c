/* Linux/i386 boot protocol loader: bzImage, zero page, e820, cmdline, initrd, 32-bit entry. */
#include <stdlib.h>
#include <string.h>

#include "vmm/loader.h"
#include "vmm/log.h"

/* Setup header fields, as offsets into the image and into boot_params alike. */
#define HDR_START		0x1f1	/* first setup header byte (setup_sects) */
#define HDR_SETUP_SECTS		0x1f1	/* setup_sects: real-mode sectors */
#define HDR_SYSSIZE		0x1f4	/* protected-mode size in 16-byte units */
#define HDR_BOOT_FLAG		0x1fe	/* 0xaa55 */
#define HDR_JUMP		0x200	/* short jmp; its byte 0x201 gives the header end */
#define HDR_MAGIC		0x202	/* "HdrS" */
#define HDR_VERSION		0x206	/* version: boot protocol, major << 8 | minor */
#define HDR_KERNEL_VERSION	0x20e	/* string offset, less 0x200 */
#define HDR_TYPE_OF_LOADER	0x210	/* type_of_loader */
#define HDR_LOADFLAGS		0x211	/* loadflags */
#define HDR_CODE32_START	0x214	/* code32_start: 32-bit entry / load address */
#define HDR_RAMDISK_IMAGE	0x218	/* ramdisk_image: initrd address */
#define HDR_RAMDISK_SIZE	0x21c	/* ramdisk_size */
#define HDR_HEAP_END_PTR	0x224	/* heap_end_ptr */
#define HDR_CMD_LINE_PTR	0x228	/* cmd_line_ptr */
#define HDR_INITRD_ADDR_MAX	0x22c	/* initrd_addr_max: highest initrd byte */
#define HDR_KERNEL_ALIGNMENT	0x230	/* kernel_alignment */
#define HDR_RELOCATABLE		0x234	/* relocatable_kernel */
#define HDR_MIN_ALIGNMENT	0x235	/* 2.10+ */
#define HDR_XLOADFLAGS		0x236	/* 2.12+ */
#define HDR_CMDLINE_SIZE	0x238	/* 2.06+ */
#define HDR_PAYLOAD_OFFSET	0x248	/* 2.08+ */
#define HDR_PAYLOAD_LENGTH	0x24c	/* 2.08+ */
#define HDR_PREF_ADDRESS	0x258	/* 2.10+ */
#define HDR_INIT_SIZE		0x260	/* 2.10+ */
#define HDR_HANDOVER_OFFSET	0x264	/* 2.11+ */

#define HDR_END_206		0x23c	/* header must reach past cmdline_size */
#define HDR_END_210		0x264	/* ... and past init_size */
#define HDR_END_MAX		0x290	/* boot_params space for the setup header */

#define BOOT_FLAG		0xaa55	/* boot_flag value: PC boot sector signature */
#define HDRS_MAGIC		0x53726448	/* "HdrS" little endian */
#define PROTO_MIN		0x0206	/* cmdline_size appeared here */
#define PROTO_2_10		0x020a	/* pref_address, init_size, min_alignment */
#define PROTO_2_12		0x020c	/* xloadflags */
#define SECTOR			512	/* setup_sects unit */
#define SETUP_SECTS_DEFAULT	4	/* setup_sects 0 means 4 */

/* loadflags */
#define LF_LOADED_HIGH		0x01	/* protected-mode code at 0x100000 */
#define LF_KASLR		0x02	/* set by the kernel itself */
#define LF_QUIET		0x20	/* no early messages */
#define LF_KEEP_SEGMENTS	0x40	/* obsolete */
#define LF_CAN_USE_HEAP		0x80	/* heap_end_ptr is valid */

#define LOADER_TYPE_UNDEF	0xff	/* type_of_loader: no assigned id */
#define HEAP_END		0xde00	/* heap_end_ptr: 0xe000 - 0x200, as spec suggests */
#define INITRD_MAX_DEFAULT	0x37ffffff	/* before 2.03 */

/* boot_params (zero page) fields outside the setup header */
#define BP_SIZE			4096	/* the zero page is one 4 KiB page */
#define BP_ORIG_X		0x000	/* screen_info.orig_x */
#define BP_ORIG_Y		0x001	/* screen_info.orig_y */
#define BP_EXT_MEM_K		0x002	/* screen_info.ext_mem_k, KiB above 1 MiB */
#define BP_VIDEO_MODE		0x006	/* screen_info.orig_video_mode */
#define BP_VIDEO_COLS		0x007	/* screen_info.orig_video_cols */
#define BP_VIDEO_EGA_BX		0x00a	/* screen_info.orig_video_ega_bx */
#define BP_VIDEO_LINES		0x00e	/* screen_info.orig_video_lines */
#define BP_VIDEO_ISVGA		0x00f	/* screen_info.orig_video_isVGA */
#define BP_VIDEO_POINTS		0x010	/* screen_info.orig_video_points */
#define BP_ALT_MEM_K		0x1e0	/* KiB above 1 MiB, 32 bits */
#define BP_E820_ENTRIES		0x1e8	/* e820_entries: count, 8 bits */
#define BP_E820_TABLE		0x2d0	/* 20-byte entries */
#define BP_E820_ENTRY		20	/* addr 8, size 8, type 4 */
#define EXT_MEM_K_MAX		0xfc00	/* 16-bit field saturates like the BIOS call */

struct linux_image {
	uint16_t version;
	uint32_t hdr_end;	/* one past the last setup header byte */
	uint32_t setup_sects;	/* after the 0 -> 4 rule */
	uint64_t setup_size;	/* real-mode part, boot sector included */
	uint32_t syssize;
	uint64_t pm_size;	/* protected-mode bytes in the file */
	char kver[128];
	uint32_t code32_start;
	uint8_t loadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t payload_offset, payload_length;
};

int linux_detect(const struct loader_file *f)
{
	if (f->size >= HDR_MAGIC + 4 && loader_get32(f->data + HDR_MAGIC) == HDRS_MAGIC)
		return 1;
	return f->size >= HDR_BOOT_FLAG + 2 && loader_get16(f->data + HDR_BOOT_FLAG) == BOOT_FLAG;
}

/* Copy the printable kernel version string, if the header points at one. */
static void read_kver(const struct loader_file *f, struct linux_image *im)
{
	uint16_t kv = loader_get16(f->data + HDR_KERNEL_VERSION);
	uint64_t off = (uint64_t)kv + 0x200, lim;
	size_t n = 0;

	im->kver[0] = '\0';
	if (!kv)
		return;
	lim = im->setup_size < f->size ? im->setup_size : f->size;
	while (off + n < lim && n + 1 < sizeof(im->kver)) {
		uint8_t c = f->data[off + n];

		if (c == '\0')
			break;
		im->kver[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	im->kver[n] = '\0';
}

static int parse(const struct loader_file *f, struct linux_image *im)
{
	const uint8_t *d = f->data;

	memset(im, 0, sizeof(*im));
	if (f->size < HDR_MAGIC + 4 + 2) {
		bt86_error("%s: truncated: %llu bytes is too short for a Linux setup header",
			   f->path, (unsigned long long)f->size);
		return -1;
	}
	if (loader_get32(d + HDR_MAGIC) != HDRS_MAGIC) {
		bt86_error("%s: bad magic: no \"HdrS\" setup header signature at 0x202 (found "
			   "0x%08x); not a bzImage with boot protocol 2.00+", f->path,
			   loader_get32(d + HDR_MAGIC));
		return -1;
	}
	im->version = loader_get16(d + HDR_VERSION);
	if (im->version < PROTO_MIN) {
		bt86_error("%s: unsupported boot protocol version %u.%02u (need 2.06 or newer)",
			   f->path, im->version >> 8, im->version & 0xff);
		return -1;
	}
	im->hdr_end = HDR_MAGIC + d[HDR_JUMP + 1];
	if (im->hdr_end < HDR_END_206 ||
	    (im->version >= PROTO_2_10 && im->hdr_end < HDR_END_210)) {
		bt86_error("%s: setup header ends at 0x%x, too short for protocol %u.%02u",
			   f->path, im->hdr_end, im->version >> 8, im->version & 0xff);
		return -1;
	}
	if (im->hdr_end > f->size) {
		bt86_error("%s: truncated: setup header ends at 0x%x, file has %llu bytes",
			   f->path, im->hdr_end, (unsigned long long)f->size);
		return -1;
	}
	im->setup_sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : SETUP_SECTS_DEFAULT;
	im->setup_size = (uint64_t)(im->setup_sects + 1) * SECTOR;
	im->syssize = loader_get32(d + HDR_SYSSIZE);
	if (f->size <= im->setup_size) {
		bt86_error("%s: truncated: %u setup sectors (%llu bytes) but the file has only "
			   "%llu bytes", f->path, im->setup_sects,
			   (unsigned long long)im->setup_size, (unsigned long long)f->size);
		return -1;
	}
	im->pm_size = f->size - im->setup_size;
	if ((uint64_t)im->syssize * 16 > im->pm_size) {
		bt86_error("%s: truncated: syssize promises %llu bytes of protected-mode kernel, "
			   "file has %llu", f->path, (unsigned long long)im->syssize * 16,
			   (unsigned long long)im->pm_size);
		return -1;
	}
	read_kver(f, im);
	im->code32_start = loader_get32(d + HDR_CODE32_START);
	im->loadflags = d[HDR_LOADFLAGS];
	im->relocatable = d[HDR_RELOCATABLE];
	im->kernel_alignment = loader_get32(d + HDR_KERNEL_ALIGNMENT);
	im->cmdline_size = loader_get32(d + HDR_CMDLINE_SIZE);
	im->initrd_addr_max = loader_get32(d + HDR_INITRD_ADDR_MAX);
	if (!im->initrd_addr_max)
		im->initrd_addr_max = INITRD_MAX_DEFAULT;
	if (im->version >= PROTO_2_10) {
		im->min_alignment = d[HDR_MIN_ALIGNMENT];
		im->pref_address = loader_get64(d + HDR_PREF_ADDRESS);
		im->init_size = loader_get32(d + HDR_INIT_SIZE);
		im->payload_offset = loader_get32(d + HDR_PAYLOAD_OFFSET);
		im->payload_length = loader_get32(d + HDR_PAYLOAD_LENGTH);
	}
	if (im->pref_address > 0xffffffffull) {
		bt86_error("%s: pref_address 0x%llx is above 4 GiB", f->path,
			   (unsigned long long)im->pref_address);
		return -1;
	}
	if (im->version >= PROTO_2_12)
		im->xloadflags = loader_get16(d + HDR_XLOADFLAGS);
	if (im->hdr_end >= HDR_HANDOVER_OFFSET + 4)
		im->handover_offset = loader_get32(d + HDR_HANDOVER_OFFSET);
	if (!(im->loadflags & LF_LOADED_HIGH)) {
		bt86_error("%s: loadflags 0x%02x lack LOADED_HIGH: zImage kernels that load at "
			   "0x10000 are not supported", f->path, im->loadflags);
		return -1;
	}
	if (im->relocatable && (im->kernel_alignment & (im->kernel_alignment - 1))) {
		bt86_error("%s: kernel_alignment 0x%x is not a power of two", f->path,
			   im->kernel_alignment);
		return -1;
	}
	return 0;
}

/*
 * Where the protected-mode code goes, and where the kernel will run from
 * (relocatable kernels decompress at max(aligned load address, pref_address),
 * others move to pref_address); the spec's init_size rule is applied to the
 * latter.
 */
static void placement(const struct linux_image *im, uint64_t *load, uint64_t *runtime)
{
	uint64_t align = im->kernel_alignment ? im->kernel_alignment : 1;

	*load = im->code32_start;
	if (im->relocatable && im->pref_address)
		*load = im->pref_address;
	if (im->relocatable) {
		*runtime = (*load + align - 1) & ~(align - 1);
		if (*runtime < im->pref_address)
			*runtime = im->pref_address;
	} else {
		*runtime = im->pref_address ? im->pref_address : *load;
	}
}

/* Highest end address the kernel may touch before it reads the memory map. */
static uint64_t kernel_end(const struct linux_image *im, uint64_t load, uint64_t runtime)
{
	uint64_t a = load + im->pm_size, b = runtime + im->init_size;

	return a > b ? a : b;
}

/* Load all initrd files back to back, 4-byte aligned, as one ramdisk high in RAM. */
static int load_initrd(struct guest_ram *ram, const struct loader_file *f,
		       const struct linux_image *im, const char *list, uint64_t low,
		       uint32_t *image, uint32_t *size)
{
	uint64_t total = 0, top, at, sz;
	char *copy, *name, *save = NULL;
	int r = -1;

	*image = *size = 0;
	if (!list || !*list)
		return 0;
	copy = strdup(list);
	if (!copy) {
		bt86_error("%s: out of memory", f->path);
		return -1;
	}
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (loader_file_size(name, &sz) < 0)
			goto out;
		if (sz > ram->size) {
			bt86_error("%s: initrd too big: %llu bytes, guest RAM is %llu MiB", name,
				   (unsigned long long)sz, (unsigned long long)(ram->size >> 20));
			goto out;
		}
		total = (total + 3) & ~3ull;
		total += sz;
	}
	if (total == 0) {
		bt86_error("%s: initrd is empty", list);
		goto out;
	}
	top = (uint64_t)im->initrd_addr_max + 1;
	if (top > ram->size)
		top = ram->size;
	at = total <= top ? (top - total) & ~0xfffull : 0;
	if (total > top || at < low) {
		bt86_error("%s: initrd (%llu bytes) does not fit between the kernel (ends 0x%llx) "
			   "and min(initrd_addr_max 0x%x, RAM end 0x%llx)", list,
			   (unsigned long long)total, (unsigned long long)low,
			   im->initrd_addr_max, (unsigned long long)ram->size);
		goto out;
	}
	free(copy);
	copy = strdup(list);
	if (!copy) {
		bt86_error("%s: out of memory", f->path);
		return -1;
	}
	memset(ram_ptr(ram, at, total), 0, total);	/* padding between archives */
	total = 0;
	save = NULL;
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		total = (total + 3) & ~3ull;
		if (loader_file_size(name, &sz) < 0 ||
		    loader_read_into(ram, name, at + total, sz) < 0)
			goto out;
		total += sz;
	}
	*image = (uint32_t)at;
	*size = (uint32_t)total;
	r = 0;
out:
	free(copy);
	return r;
}

/* screen_info: an 80x25 colour text mode on a CGA, which is what the machine has. */
static void fill_screen_info(uint8_t *bp)
{
	bp[BP_ORIG_X] = 0;
	bp[BP_ORIG_Y] = 0;
	bp[BP_VIDEO_MODE] = 3;				/* 80x25 colour text */
	bp[BP_VIDEO_COLS] = 80;
	loader_put16(bp + BP_VIDEO_EGA_BX, 0x10);	/* BL=0x10: no EGA, so CGA */
	bp[BP_VIDEO_LINES] = 25;
	bp[BP_VIDEO_ISVGA] = 0;
	loader_put16(bp + BP_VIDEO_POINTS, 8);		/* CGA character height */
}

int linux_load(struct guest_ram *ram, const struct loader_file *f,
	       const struct loader_args *a, struct x86_state *entry)
{
	struct loader_e820 e820[LOADER_E820_MAX];
	const char *cmdline = a->cmdline ? a->cmdline : "";
	uint64_t load, runtime, end, cmdlen = strlen(cmdline), above_1m;
	uint32_t rd_image, rd_size;
	struct linux_image im;
	uint8_t bp[BP_SIZE];
	int i, n;

	if (parse(f, &im) < 0)
		return -1;
	placement(&im, &load, &runtime);
	end = kernel_end(&im, load, runtime);
	if (load < LOADER_HIGH_START) {
		bt86_error("%s: protected-mode kernel would load at 0x%llx, below 1 MiB",
			   f->path, (unsigned long long)load);
		return -1;
	}
	if (end > ram->size) {
		bt86_error("%s: kernel too big for guest RAM: needs memory up to 0x%llx (load "
			   "0x%llx, %llu bytes; runs at 0x%llx, init_size 0x%x), RAM is %llu MiB",
			   f->path, (unsigned long long)end, (unsigned long long)load,
			   (unsigned long long)im.pm_size, (unsigned long long)runtime,
			   im.init_size, (unsigned long long)(ram->size >> 20));
		return -1;
	}
	if (cmdlen > im.cmdline_size) {
		bt86_error("%s: command line too long: %llu bytes, the kernel's cmdline_size is "
			   "%u", f->path, (unsigned long long)cmdlen, im.cmdline_size);
		return -1;
	}
	if (cmdlen >= LOADER_STRINGS_END - LOADER_STRINGS) {
		bt86_error("%s: command line too long: %llu bytes, bt86 passes at most %u",
			   f->path, (unsigned long long)cmdlen,
			   LOADER_STRINGS_END - LOADER_STRINGS - 1);
		return -1;
	}

	memcpy(ram_ptr(ram, load, im.pm_size), f->data + im.setup_size, im.pm_size);
	if (load_initrd(ram, f, &im, a->initrd, end, &rd_image, &rd_size) < 0)
		return -1;
	memcpy(ram_ptr(ram, LOADER_STRINGS, cmdlen + 1), cmdline, cmdlen + 1);

	/* The zero page: zeroes, the image's setup header, then what a loader fills in. */
	memset(bp, 0, sizeof(bp));
	memcpy(bp + HDR_START, f->data + HDR_START,
	       (im.hdr_end < HDR_END_MAX ? im.hdr_end : HDR_END_MAX) - HDR_START);
	bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEF;
	bp[HDR_LOADFLAGS] |= LF_CAN_USE_HEAP;
	loader_put16(bp + HDR_HEAP_END_PTR, HEAP_END);
	loader_put32(bp + HDR_CODE32_START, (uint32_t)load);
	loader_put32(bp + HDR_CMD_LINE_PTR, LOADER_STRINGS);
	loader_put32(bp + HDR_RAMDISK_IMAGE, rd_image);
	loader_put32(bp + HDR_RAMDISK_SIZE, rd_size);
	fill_screen_info(bp);
	above_1m = (ram->size - LOADER_HIGH_START) >> 10;
	loader_put16(bp + BP_EXT_MEM_K, (uint16_t)(above_1m > EXT_MEM_K_MAX ? EXT_MEM_K_MAX :
						   above_1m));
	loader_put32(bp + BP_ALT_MEM_K, (uint32_t)above_1m);
	n = loader_e820(ram, e820);
	for (i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY;

		loader_put64(e, e820[i].addr);
		loader_put64(e + 8, e820[i].size);
		loader_put32(e + 16, e820[i].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	if (ram_write(ram, LOADER_BOOTINFO, bp, sizeof(bp)) < 0 ||
	    loader_flat_entry(ram, entry, (uint32_t)load) < 0) {
		bt86_error("%s: guest RAM too small for the zero page", f->path);
		return -1;
	}
	/* 32-bit boot protocol: ESI = boot_params, EBP = EDI = EBX = 0. */
	entry->gpr[R_ESI] = LOADER_BOOTINFO;
	entry->gpr[R_EBP] = 0;
	entry->gpr[R_EDI] = 0;
	entry->gpr[R_EBX] = 0;
	return 0;
}

static void print_flags(FILE *out, const char *key, unsigned v, const char *const *names,
			int nbits)
{
	int b;

	fprintf(out, "%s: 0x%02x", key, v);
	for (b = 0; b < nbits; b++)
		if (v & (1u << b))
			fprintf(out, " %s", names[b] ? names[b] : "reserved");
	for (b = nbits; b < 16; b++)
		if (v & (1u << b))
			fprintf(out, " bit%d", b);
	fprintf(out, "\n");
}

static const char *const lf_names[8] = {
	"LOADED_HIGH", "KASLR_FLAG", NULL, NULL, NULL, "QUIET_FLAG", "KEEP_SEGMENTS",
	"CAN_USE_HEAP",
};

static const char *const xlf_names[7] = {
	"KERNEL_64", "CAN_BE_LOADED_ABOVE_4G", "EFI_HANDOVER_32", "EFI_HANDOVER_64",
	"EFI_KEXEC", "5LEVEL", "5LEVEL_ENABLED",
};

int linux_info(const struct loader_file *f, FILE *out)
{
	struct linux_image im;
	uint64_t load, runtime;

	if (parse(f, &im) < 0)
		return -1;
	placement(&im, &load, &runtime);
	fprintf(out, "format: linux-bzimage\n");
	fprintf(out, "boot_protocol: %u.%02u\n", im.version >> 8, im.version & 0xff);
	fprintf(out, "kernel_version: %s\n", im.kver[0] ? im.kver : "(none)");
	fprintf(out, "setup_sects: %u\n", im.setup_sects);
	fprintf(out, "setup_size: 0x%llx\n", (unsigned long long)im.setup_size);
	fprintf(out, "syssize: 0x%x (%llu bytes)\n", im.syssize,
		(unsigned long long)im.syssize * 16);
	fprintf(out, "protected_mode_size: %llu\n", (unsigned long long)im.pm_size);
	fprintf(out, "code32_start: 0x%08x\n", im.code32_start);
	fprintf(out, "relocatable: %s\n", im.relocatable ? "yes" : "no");
	fprintf(out, "kernel_alignment: 0x%x\n", im.kernel_alignment);
	if (im.version >= PROTO_2_10) {
		fprintf(out, "min_alignment: 0x%llx\n", im.min_alignment < 32 ?
			1ull << im.min_alignment : 0ull);
		fprintf(out, "pref_address: 0x%llx\n", (unsigned long long)im.pref_address);
		fprintf(out, "init_size: 0x%x\n", im.init_size);
		fprintf(out, "payload_offset: 0x%x\n", im.payload_offset);
		fprintf(out, "payload_length: 0x%x\n", im.payload_length);
	}
	fprintf(out, "load_address: 0x%llx\n", (unsigned long long)load);
	fprintf(out, "runtime_address: 0x%llx\n", (unsigned long long)runtime);
	fprintf(out, "memory_needed_end: 0x%llx\n",
		(unsigned long long)kernel_end(&im, load, runtime));
	fprintf(out, "entry: 0x%08llx\n", (unsigned long long)load);
	fprintf(out, "initrd_addr_max: 0x%08x\n", im.initrd_addr_max);
	fprintf(out, "cmdline_size: %u\n", im.cmdline_size);
	print_flags(out, "loadflags", im.loadflags, lf_names, 8);
	if (im.version >= PROTO_2_12)
		print_flags(out, "xloadflags", im.xloadflags, xlf_names, 7);
	if (im.handover_offset)
		fprintf(out, "handover_offset: 0x%x\n", im.handover_offset);
	return 0;
}
