/* Multiboot v1 loader: ELF32 (or a.out-kludge) kernels, multiboot_info, modules. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/loader.h"
#include "vmm/log.h"

#define MB_HEADER_MAGIC		0x1badb002	/* in the kernel image */
#define MB_BOOT_MAGIC		0x2badb002	/* in EAX at entry */
#define MB_SEARCH_LEN		8192		/* header must start in this prefix */

/* Header flags */
#define MB_HF_PAGE_ALIGN	0x00000001	/* bit 0: modules page aligned */
#define MB_HF_MEMINFO		0x00000002	/* bit 1: mem_* and mmap wanted */
#define MB_HF_VIDEO		0x00000004	/* bit 2: video mode wanted */
#define MB_HF_AOUT_KLUDGE	0x00010000	/* bit 16: address fields valid */
#define MB_HF_REQUIRED		0x0000ffff	/* bits 0-15: loader must honour */
/* Required bits bt86 honours. */
#define MB_HF_KNOWN		(MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_VIDEO)

/* Header layout: magic, flags, checksum, then optional fields. */
#define MB_HDR_BASE_LEN		12	/* magic, flags, checksum */
#define MB_HDR_AOUT_LEN		32	/* + header/load/load_end/bss_end/entry */
#define MB_HDR_VIDEO_LEN	48	/* + mode_type/width/height/depth */

/* multiboot_info flags */
#define MB_IF_MEM		0x00000001	/* mem_lower, mem_upper */
#define MB_IF_CMDLINE		0x00000004	/* cmdline */
#define MB_IF_MODS		0x00000008	/* mods_count, mods_addr */
#define MB_IF_MMAP		0x00000040	/* mmap_length, mmap_addr */
#define MB_IF_LOADER_NAME	0x00000200	/* boot_loader_name */

/* multiboot_info field offsets */
#define MBI_FLAGS		0	/* flags: which fields are valid */
#define MBI_MEM_LOWER		4	/* mem_lower: KiB below 1 MiB */
#define MBI_MEM_UPPER		8	/* mem_upper: KiB above 1 MiB */
#define MBI_CMDLINE		16	/* cmdline: string address */
#define MBI_MODS_COUNT		20	/* mods_count */
#define MBI_MODS_ADDR		24	/* mods_addr: module list address */
#define MBI_MMAP_LENGTH		44	/* mmap_length: bytes */
#define MBI_MMAP_ADDR		48	/* mmap_addr: first entry's size field */
#define MBI_LOADER_NAME		64	/* boot_loader_name: string address */

/* Where things sit inside the LOADER_BOOTINFO page. */
#define MBI_SIZE		0x80		/* struct is 116 bytes through framebuffer */
#define MBI_MMAP_OFF		0x80	/* memory map entries */
#define MBI_MMAP_ENTRY		24		/* size field + 20-byte entry */
#define MBI_NAME_OFF		0x100	/* "bt86" */
#define MB_MOD_ENTRY		16		/* mod_start, mod_end, string, reserved */
/* The module list fills its page. */
#define MB_MAX_MODULES		((LOADER_STRINGS - LOADER_MODLIST) / MB_MOD_ENTRY)
#define MB_MEM_LOWER_KB		640		/* as QEMU reports it */

#define MB_MAX_SEGS		32	/* PT_LOAD segments accepted */
#define PAGE_SIZE		4096ull	/* module alignment, boot info page */

struct mb_seg {
	uint64_t paddr, vaddr, offset, filesz, memsz;
	uint32_t pflags;	/* ELF p_flags, 0 for a.out */
};

struct mb_image {
	uint32_t hdr_off;
	uint32_t flags;
	uint32_t aout[5];	/* header, load, load_end, bss_end, entry addresses */
	uint32_t video[4];	/* mode_type, width, height, depth */
	int has_video_fields;
	int is_elf;
	uint32_t entry;
	uint32_t entry_virt;	/* e_entry when it had to be translated */
	int nseg;
	struct mb_seg seg[MB_MAX_SEGS];
};

/* Offset of the first header whose checksum holds; -1 none, -2 only bad checksums. */
static int64_t find_header(const struct loader_file *f, uint32_t *bad_off)
{
	uint64_t lim = f->size < MB_SEARCH_LEN ? f->size : MB_SEARCH_LEN;
	int64_t result = -1;
	uint64_t off;

	for (off = 0; off + MB_HDR_BASE_LEN <= lim; off += 4) {
		const uint8_t *p = f->data + off;
		uint32_t sum;

		if (loader_get32(p) != MB_HEADER_MAGIC)
			continue;
		sum = loader_get32(p) + loader_get32(p + 4) + loader_get32(p + 8);
		if (sum == 0)
			return (int64_t)off;
		if (result == -1) {
			*bad_off = (uint32_t)off;
			result = -2;
		}
	}
	return result;
}

int mb_detect(const struct loader_file *f)
{
	uint32_t bad;

	return find_header(f, &bad) != -1;
}

static int parse_aout(const struct loader_file *f, struct mb_image *im)
{
	uint32_t hdr = im->aout[0], load = im->aout[1], load_end = im->aout[2];
	uint32_t bss_end = im->aout[3];
	struct mb_seg *s = &im->seg[0];
	uint64_t delta;

	if (load > hdr || hdr - load > im->hdr_off) {
		bt86_error("%s: multiboot address fields inconsistent: header_addr 0x%x, "
			   "load_addr 0x%x, header at file offset 0x%x", f->path, hdr, load,
			   im->hdr_off);
		return -1;
	}
	delta = hdr - load;
	s->offset = im->hdr_off - delta;
	s->paddr = s->vaddr = load;
	if (load_end == 0) {
		s->filesz = f->size - s->offset;
	} else if (load_end < load) {
		bt86_error("%s: multiboot load_end_addr 0x%x below load_addr 0x%x", f->path,
			   load_end, load);
		return -1;
	} else {
		s->filesz = load_end - load;
	}
	if (s->offset + s->filesz > f->size) {
		bt86_error("%s: truncated: multiboot header promises %llu bytes from offset "
			   "0x%llx, file has %llu", f->path, (unsigned long long)s->filesz,
			   (unsigned long long)s->offset, (unsigned long long)f->size);
		return -1;
	}
	s->memsz = s->filesz;
	if (bss_end) {
		if (bss_end < load + s->filesz) {
			bt86_error("%s: multiboot bss_end_addr 0x%x below end of load 0x%llx",
				   f->path, bss_end, (unsigned long long)(load + s->filesz));
			return -1;
		}
		s->memsz = bss_end - (uint64_t)load;
	}
	if (s->paddr + s->memsz > 0x100000000ull) {
		bt86_error("%s: multiboot image extends past 4 GiB", f->path);
		return -1;
	}
	s->pflags = 0;
	im->nseg = 1;
	im->entry = im->aout[4];
	return 0;
}

/* An entry point given as a virtual address is moved into its segment's paddr. */
static void translate_entry(struct mb_image *im, uint32_t e_entry)
{
	int i;

	im->entry = e_entry;
	for (i = 0; i < im->nseg; i++)
		if (e_entry >= im->seg[i].paddr &&
		    e_entry - im->seg[i].paddr < im->seg[i].memsz)
			return;
	for (i = 0; i < im->nseg; i++) {
		const struct mb_seg *s = &im->seg[i];

		if (e_entry >= s->vaddr && e_entry - s->vaddr < s->memsz) {
			im->entry = (uint32_t)(e_entry - s->vaddr + s->paddr);
			im->entry_virt = e_entry;
			return;
		}
	}
}

static int parse_elf(const struct loader_file *f, struct mb_image *im)
{
	Elf32_Ehdr eh;
	uint64_t i;

	if (f->size < sizeof(eh)) {
		bt86_error("%s: truncated: ELF header needs %zu bytes, file has %llu", f->path,
			   sizeof(eh), (unsigned long long)f->size);
		return -1;
	}
	memcpy(&eh, f->data, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS32) {
		bt86_error("%s: not a 32-bit ELF (EI_CLASS %u); Multiboot v1 kernels are ELF32",
			   f->path, eh.e_ident[EI_CLASS]);
		return -1;
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_386) {
		bt86_error("%s: not a little-endian i386 ELF (e_machine %u)", f->path,
			   eh.e_machine);
		return -1;
	}
	if (eh.e_type != ET_EXEC) {
		bt86_error("%s: ELF type %u is not an executable (ET_EXEC)", f->path, eh.e_type);
		return -1;
	}
	if (eh.e_phnum == 0 || eh.e_phentsize < sizeof(Elf32_Phdr)) {
		bt86_error("%s: ELF has no usable program headers (e_phnum %u, e_phentsize %u)",
			   f->path, eh.e_phnum, eh.e_phentsize);
		return -1;
	}
	if ((uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize > f->size) {
		bt86_error("%s: truncated: %u program headers at 0x%x run past end of file "
			   "(%llu bytes)", f->path, eh.e_phnum, eh.e_phoff,
			   (unsigned long long)f->size);
		return -1;
	}
	im->nseg = 0;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;
		struct mb_seg *s;

		memcpy(&ph, f->data + eh.e_phoff + i * eh.e_phentsize, sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			bt86_error("%s: program header %llu: p_filesz 0x%x > p_memsz 0x%x",
				   f->path, (unsigned long long)i, ph.p_filesz, ph.p_memsz);
			return -1;
		}
		if ((uint64_t)ph.p_offset + ph.p_filesz > f->size) {
			bt86_error("%s: truncated: segment %llu wants file bytes 0x%x-0x%llx, "
				   "file has %llu", f->path, (unsigned long long)i, ph.p_offset,
				   (unsigned long long)ph.p_offset + ph.p_filesz,
				   (unsigned long long)f->size);
			return -1;
		}
		if ((uint64_t)ph.p_paddr + ph.p_memsz > 0x100000000ull) {
			bt86_error("%s: segment %llu (paddr 0x%x, memsz 0x%x) extends past 4 GiB",
				   f->path, (unsigned long long)i, ph.p_paddr, ph.p_memsz);
			return -1;
		}
		if (im->nseg == MB_MAX_SEGS) {
			bt86_error("%s: more than %d PT_LOAD segments", f->path, MB_MAX_SEGS);
			return -1;
		}
		s = &im->seg[im->nseg++];
		s->paddr = ph.p_paddr;
		s->vaddr = ph.p_vaddr;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->memsz = ph.p_memsz;
		s->pflags = ph.p_flags;
	}
	if (im->nseg == 0) {
		bt86_error("%s: ELF has no PT_LOAD segments", f->path);
		return -1;
	}
	translate_entry(im, eh.e_entry);
	return 0;
}

static void bit_list(uint32_t v, char *buf, size_t len)
{
	size_t n = 0;
	int b;

	buf[0] = '\0';
	for (b = 0; b < 32 && n < len; b++)
		if (v & (1u << b))
			n += (size_t)snprintf(buf + n, len - n, "%s%d", n ? ", " : "", b);
}

static int parse(const struct loader_file *f, struct mb_image *im)
{
	uint32_t bad_off = 0;
	int64_t off;
	const uint8_t *h;
	char bits[128];
	int i;

	memset(im, 0, sizeof(*im));
	off = find_header(f, &bad_off);
	if (off == -1 && f->size >= 4 && !memcmp(f->data, "\177ELF", 4) &&
	    f->size >= MB_SEARCH_LEN) {
		bt86_error("%s: bad magic: ELF file without a Multiboot header (0x%08x) in its "
			   "first %d bytes; raw vmlinux is not supported, boot the bzImage",
			   f->path, MB_HEADER_MAGIC, MB_SEARCH_LEN);
		return -1;
	}
	if (off == -1 && f->size < MB_SEARCH_LEN) {
		bt86_error("%s: bad magic: no Multiboot header (0x%08x) in the whole file, "
			   "only %llu bytes long: truncated?", f->path, MB_HEADER_MAGIC,
			   (unsigned long long)f->size);
		return -1;
	}
	if (off == -1) {
		bt86_error("%s: bad magic: no Multiboot header (0x%08x) in the first %d bytes",
			   f->path, MB_HEADER_MAGIC, MB_SEARCH_LEN);
		return -1;
	}
	if (off == -2) {
		h = f->data + bad_off;
		bt86_error("%s: multiboot header at 0x%x: checksum mismatch (magic+flags+"
			   "checksum = 0x%08x, must be 0)", f->path, bad_off,
			   loader_get32(h) + loader_get32(h + 4) + loader_get32(h + 8));
		return -1;
	}
	im->hdr_off = (uint32_t)off;
	h = f->data + off;
	im->flags = loader_get32(h + 4);
	if (im->flags & MB_HF_REQUIRED & ~MB_HF_KNOWN) {
		bit_list(im->flags & MB_HF_REQUIRED & ~MB_HF_KNOWN, bits, sizeof(bits));
		bt86_error("%s: multiboot header requires unsupported features: flag bits %s",
			   f->path, bits);
		return -1;
	}
	if (im->flags & (MB_HF_AOUT_KLUDGE | MB_HF_VIDEO)) {
		uint64_t need = im->flags & MB_HF_VIDEO ? MB_HDR_VIDEO_LEN : MB_HDR_AOUT_LEN;

		if (off + need > f->size) {
			bt86_error("%s: truncated: multiboot header at 0x%llx needs %llu bytes",
				   f->path, (unsigned long long)off, (unsigned long long)need);
			return -1;
		}
		for (i = 0; i < 5; i++)
			im->aout[i] = loader_get32(h + 12 + 4 * i);
		if (im->flags & MB_HF_VIDEO) {
			for (i = 0; i < 4; i++)
				im->video[i] = loader_get32(h + 32 + 4 * i);
			im->has_video_fields = 1;
		}
	}
	im->is_elf = f->size >= 4 && !memcmp(f->data, "\177ELF", 4);
	/* Like GRUB, the address fields win over ELF headers when bit 16 is set. */
	if (im->flags & MB_HF_AOUT_KLUDGE)
		return parse_aout(f, im);
	if (!im->is_elf) {
		bt86_error("%s: multiboot kernel is not ELF and header flag bit 16 (address "
			   "fields) is clear: nothing says where to load it", f->path);
		return -1;
	}
	return parse_elf(f, im);
}

static uint64_t image_end(const struct mb_image *im)
{
	uint64_t end = 0;
	int i;

	for (i = 0; i < im->nseg; i++)
		if (im->seg[i].paddr + im->seg[i].memsz > end)
			end = im->seg[i].paddr + im->seg[i].memsz;
	return end;
}

static int entry_loaded(const struct mb_image *im)
{
	int i;

	for (i = 0; i < im->nseg; i++)
		if (im->entry >= im->seg[i].paddr &&
		    im->entry - im->seg[i].paddr < im->seg[i].filesz)
			return 1;
	return 0;
}

static int place_segments(struct guest_ram *ram, const struct loader_file *f,
			  const struct mb_image *im)
{
	int i;

	for (i = 0; i < im->nseg; i++) {
		const struct mb_seg *s = &im->seg[i];
		uint8_t *dst;

		if (s->paddr + s->memsz > ram->size) {
			bt86_error("%s: kernel too big: segment %d (0x%llx-0x%llx) is outside "
				   "guest RAM (%llu MiB)", f->path, i,
				   (unsigned long long)s->paddr,
				   (unsigned long long)(s->paddr + s->memsz),
				   (unsigned long long)(ram->size >> 20));
			return -1;
		}
		if (loader_overlaps(s->paddr, s->memsz, LOADER_AREA_START,
				    LOADER_AREA_END - LOADER_AREA_START)) {
			bt86_error("%s: segment %d (0x%llx-0x%llx) overlaps the boot information "
				   "area 0x%x-0x%x", f->path, i, (unsigned long long)s->paddr,
				   (unsigned long long)(s->paddr + s->memsz), LOADER_AREA_START,
				   LOADER_AREA_END);
			return -1;
		}
		if (loader_overlaps(s->paddr, s->memsz, LOADER_EBDA_START,
				    LOADER_HIGH_START - LOADER_EBDA_START)) {
			bt86_error("%s: segment %d (0x%llx-0x%llx) overlaps the EBDA/VGA/BIOS "
				   "area 0x%x-0x%x", f->path, i, (unsigned long long)s->paddr,
				   (unsigned long long)(s->paddr + s->memsz), LOADER_EBDA_START,
				   LOADER_HIGH_START);
			return -1;
		}
		dst = ram_ptr(ram, s->paddr, s->memsz);
		memcpy(dst, f->data + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);	/* bss */
	}
	return 0;
}

/* Append a NUL-terminated string to the string area; its address or 0 when full. */
static uint32_t put_string(struct guest_ram *ram, uint32_t *next, const char *a,
			   const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	uint64_t len = la + (b ? 1 + lb : 0) + 1;
	uint32_t at = *next;
	uint8_t *p;

	if (len > LOADER_STRINGS_END - at)
		return 0;
	p = ram_ptr(ram, at, len);
	memcpy(p, a, la);
	if (b) {
		p[la] = ' ';
		memcpy(p + la + 1, b, lb);
	}
	p[len - 1] = '\0';
	*next = at + (uint32_t)len;
	return at;
}

/* Modules from the comma-separated --initrd list, page aligned above the kernel. */
static int load_modules(struct guest_ram *ram, const char *path, const char *list,
			uint64_t kernel_end, uint32_t *strings, uint32_t *count)
{
	uint8_t *mods = ram_ptr(ram, LOADER_MODLIST, LOADER_STRINGS - LOADER_MODLIST);
	uint64_t at = kernel_end < LOADER_HIGH_START ? LOADER_HIGH_START : kernel_end;
	char *copy, *name, *save = NULL;
	int r = -1;

	*count = 0;
	if (!list || !*list)
		return 0;
	copy = strdup(list);
	if (!copy) {
		bt86_error("%s: out of memory", path);
		return -1;
	}
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		uint64_t size;
		uint32_t str;
		uint8_t *m;

		if (*count == MB_MAX_MODULES) {
			bt86_error("%s: more than %u modules", path, (unsigned)MB_MAX_MODULES);
			goto out;
		}
		if (loader_file_size(name, &size) < 0)
			goto out;
		at = (at + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		if (size > ram->size || at > ram->size - size) {
			bt86_error("%s: module does not fit: %llu bytes at 0x%llx, guest RAM is "
				   "%llu MiB", name, (unsigned long long)size,
				   (unsigned long long)at, (unsigned long long)(ram->size >> 20));
			goto out;
		}
		if (loader_read_into(ram, name, at, size) < 0)
			goto out;
		str = put_string(ram, strings, name, NULL);
		if (!str) {
			bt86_error("%s: module names overflow the %u-byte string area", name,
				   LOADER_STRINGS_END - LOADER_STRINGS);
			goto out;
		}
		m = mods + *count * MB_MOD_ENTRY;
		loader_put32(m, (uint32_t)at);			/* mod_start */
		loader_put32(m + 4, (uint32_t)(at + size));	/* mod_end, exclusive */
		loader_put32(m + 8, str);			/* string */
		loader_put32(m + 12, 0);			/* reserved */
		at += size;
		(*count)++;
	}
	r = 0;
out:
	free(copy);
	return r;
}

int mb_load(struct guest_ram *ram, const struct loader_file *f, const struct loader_args *a,
	    struct x86_state *entry)
{
	struct loader_e820 e820[LOADER_E820_MAX];
	uint8_t info[PAGE_SIZE];
	struct mb_image *im;
	uint32_t strings = LOADER_STRINGS, cmdline, nmods;
	int i, n, r = -1;

	im = malloc(sizeof(*im));
	if (!im) {
		bt86_error("%s: out of memory", f->path);
		return -1;
	}
	if (parse(f, im) < 0 || place_segments(ram, f, im) < 0)
		goto out;
	if (!entry_loaded(im))
		bt86_warn("%s: entry point 0x%08x is outside every loaded segment", f->path,
			  im->entry);
	if (im->flags & MB_HF_VIDEO)
		bt86_warn("%s: multiboot video mode request ignored (bt86 offers a text console "
			  "only); booting anyway", f->path);

	/* GRUB passes the kernel's own path first; kernels parse options after it. */
	cmdline = put_string(ram, &strings, f->path, a->cmdline && *a->cmdline ? a->cmdline :
			     NULL);
	if (!cmdline) {
		bt86_error("%s: command line too long (more than %u bytes)", f->path,
			   LOADER_STRINGS_END - LOADER_STRINGS - 1);
		goto out;
	}
	memset(ram_ptr(ram, LOADER_MODLIST, LOADER_STRINGS - LOADER_MODLIST), 0,
	       LOADER_STRINGS - LOADER_MODLIST);
	if (load_modules(ram, f->path, a->initrd, image_end(im), &strings, &nmods) < 0)
		goto out;

	memset(info, 0, sizeof(info));
	n = loader_e820(ram, e820);
	for (i = 0; i < n; i++) {
		uint8_t *e = info + MBI_MMAP_OFF + i * MBI_MMAP_ENTRY;

		loader_put32(e, MBI_MMAP_ENTRY - 4);	/* size, not counting itself */
		loader_put64(e + 4, e820[i].addr);
		loader_put64(e + 12, e820[i].size);
		loader_put32(e + 20, e820[i].type);
	}
	memcpy(info + MBI_NAME_OFF, "bt86", 5);
	loader_put32(info + MBI_FLAGS, MB_IF_MEM | MB_IF_CMDLINE | MB_IF_MODS | MB_IF_MMAP |
		     MB_IF_LOADER_NAME);
	loader_put32(info + MBI_MEM_LOWER, MB_MEM_LOWER_KB);
	loader_put32(info + MBI_MEM_UPPER, (uint32_t)((ram->size - LOADER_HIGH_START) >> 10));
	loader_put32(info + MBI_CMDLINE, cmdline);
	loader_put32(info + MBI_MODS_COUNT, nmods);
	loader_put32(info + MBI_MODS_ADDR, LOADER_MODLIST);
	loader_put32(info + MBI_MMAP_LENGTH, (uint32_t)(n * MBI_MMAP_ENTRY));
	loader_put32(info + MBI_MMAP_ADDR, LOADER_BOOTINFO + MBI_MMAP_OFF);
	loader_put32(info + MBI_LOADER_NAME, LOADER_BOOTINFO + MBI_NAME_OFF);
	if (ram_write(ram, LOADER_BOOTINFO, info, sizeof(info)) < 0 ||
	    loader_flat_entry(ram, entry, im->entry) < 0) {
		bt86_error("%s: guest RAM too small for the boot information", f->path);
		goto out;
	}
	entry->gpr[R_EAX] = MB_BOOT_MAGIC;
	entry->gpr[R_EBX] = LOADER_BOOTINFO;
	r = 0;
out:
	free(im);
	return r;
}

static const char *const hf_names[] = {
	[0] = "page_align_modules", [1] = "memory_info", [2] = "video_mode",
	[16] = "address_fields",
};

int mb_info(const struct loader_file *f, FILE *out)
{
	struct mb_image *im = malloc(sizeof(*im));
	uint64_t bss = 0;
	int i;

	if (!im) {
		bt86_error("%s: out of memory", f->path);
		return -1;
	}
	if (parse(f, im) < 0) {
		free(im);
		return -1;
	}
	fprintf(out, "format: multiboot\n");
	fprintf(out, "image: %s\n", im->flags & MB_HF_AOUT_KLUDGE ?
		"address fields (a.out kludge)" : "elf32-i386");
	fprintf(out, "header_offset: 0x%x\n", im->hdr_off);
	fprintf(out, "flags: 0x%08x", im->flags);
	for (i = 0; i < 32; i++) {
		const char *name = NULL;

		if (i < (int)(sizeof(hf_names) / sizeof(hf_names[0])))
			name = hf_names[i];
		if (im->flags & (1u << i))
			fprintf(out, " %s", name ? name : "reserved");
	}
	fprintf(out, "\n");
	if (im->flags & MB_HF_AOUT_KLUDGE)
		fprintf(out, "address_fields: header=0x%08x load=0x%08x load_end=0x%08x "
			"bss_end=0x%08x entry=0x%08x\n", im->aout[0], im->aout[1],
			im->aout[2], im->aout[3], im->aout[4]);
	if (im->has_video_fields)
		fprintf(out, "video: mode_type=%u width=%u height=%u depth=%u (ignored)\n",
			im->video[0], im->video[1], im->video[2], im->video[3]);
	fprintf(out, "entry: 0x%08x\n", im->entry);
	if (im->entry_virt)
		fprintf(out, "entry_virtual: 0x%08x\n", im->entry_virt);
	fprintf(out, "segments: %d\n", im->nseg);
	for (i = 0; i < im->nseg; i++) {
		const struct mb_seg *s = &im->seg[i];

		fprintf(out, "segment%d: paddr=0x%08llx vaddr=0x%08llx offset=0x%llx "
			"filesz=0x%llx memsz=0x%llx bss=0x%llx flags=%c%c%c\n", i,
			(unsigned long long)s->paddr, (unsigned long long)s->vaddr,
			(unsigned long long)s->offset, (unsigned long long)s->filesz,
			(unsigned long long)s->memsz,
			(unsigned long long)(s->memsz - s->filesz),
			s->pflags & PF_R ? 'r' : '-', s->pflags & PF_W ? 'w' : '-',
			s->pflags & PF_X ? 'x' : '-');
		bss += s->memsz - s->filesz;
	}
	fprintf(out, "bss: 0x%llx\n", (unsigned long long)bss);
	fprintf(out, "load_end: 0x%08llx\n", (unsigned long long)image_end(im));
	fprintf(out, "cmdline: supported (kernel path followed by --append)\n");
	fprintf(out, "modules: supported (--initrd, comma-separated)\n");
	free(im);
	return 0;
}
