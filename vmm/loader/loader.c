/* Kernel loading: format detection and dispatch, shared file, e820 and GDT helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/loader.h"
#include "vmm/log.h"

/* GDT descriptors for the flat segments both boot protocols expect. */
#define GDT_CODE32_FLAT	0x00cf9b000000ffffull	/* base 0, 4G, G D P DPL0 code er-a */
#define GDT_DATA32_FLAT	0x00cf93000000ffffull	/* base 0, 4G, G B P DPL0 data rw-a */
#define GDT_ENTRIES	4			/* null, unused, 0x10 code, 0x18 data */

#define ELF_MAGIC	"\177ELF"	/* e_ident[0..3] */

int loader_overlaps(uint64_t a, uint64_t len, uint64_t b, uint64_t blen)
{
	return len && blen && a < b + blen && b < a + len;
}

static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		bt86_error("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		bt86_error("%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		bt86_error("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* read() until len bytes arrived; short files and I/O errors are reported. */
static int read_all(int fd, const char *path, uint8_t *buf, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		size_t chunk = len - done > (1u << 30) ? (1u << 30) : (size_t)(len - done);
		ssize_t n = read(fd, buf + done, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bt86_error("%s: read error: %s", path, strerror(errno));
			return -1;
		}
		if (n == 0) {
			bt86_error("%s: file shrank while reading (%llu of %llu bytes)", path,
				   (unsigned long long)done, (unsigned long long)len);
			return -1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

int loader_read_file(const char *path, uint64_t max, struct loader_file *f)
{
	struct stat st;
	int fd, r;

	f->path = path;
	f->data = NULL;
	f->size = 0;
	fd = open_regular(path, &st);
	if (fd < 0)
		return -1;
	if ((uint64_t)st.st_size > max) {
		bt86_error("%s: kernel too big: %llu bytes, guest RAM is %llu MiB", path,
			   (unsigned long long)st.st_size, (unsigned long long)(max >> 20));
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		bt86_error("%s: empty file", path);
		close(fd);
		return -1;
	}
	f->size = (uint64_t)st.st_size;
	f->data = malloc(f->size);
	if (!f->data) {
		bt86_error("%s: out of memory reading %llu bytes", path,
			   (unsigned long long)f->size);
		close(fd);
		return -1;
	}
	r = read_all(fd, path, f->data, f->size);
	close(fd);
	if (r < 0)
		loader_free_file(f);
	return r;
}

void loader_free_file(struct loader_file *f)
{
	free(f->data);
	f->data = NULL;
	f->size = 0;
}

int loader_file_size(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open_regular(path, &st);

	if (fd < 0)
		return -1;
	close(fd);
	*size = (uint64_t)st.st_size;
	return 0;
}

int loader_read_into(struct guest_ram *ram, const char *path, uint64_t gpa, uint64_t size)
{
	struct stat st;
	uint8_t *dst = ram_ptr(ram, gpa, size);
	int fd, r;

	if (!dst) {
		bt86_error("%s: %llu bytes at 0x%llx do not fit in guest RAM", path,
			   (unsigned long long)size, (unsigned long long)gpa);
		return -1;
	}
	fd = open_regular(path, &st);
	if (fd < 0)
		return -1;
	if ((uint64_t)st.st_size != size) {
		bt86_error("%s: file changed size while loading", path);
		close(fd);
		return -1;
	}
	r = read_all(fd, path, dst, size);
	close(fd);
	return r;
}

/*
 * The PC memory map both loaders hand over: conventional memory up to the
 * EBDA, the EBDA itself, the BIOS ROM area (reserved even though no BIOS runs,
 * because guests expect it), then everything from 1 MiB to the end of RAM.
 * 0xa0000-0xf0000 (VGA window, option ROMs) is a hole, as on real PCs.
 */
int loader_e820(const struct guest_ram *ram, struct loader_e820 *e)
{
	e[0] = (struct loader_e820){ 0, LOADER_EBDA_START, LOADER_E820_RAM };
	e[1] = (struct loader_e820){ LOADER_EBDA_START, 0xa0000 - LOADER_EBDA_START,
				     LOADER_E820_RESERVED };
	e[2] = (struct loader_e820){ 0xf0000, LOADER_HIGH_START - 0xf0000,
				     LOADER_E820_RESERVED };
	e[3] = (struct loader_e820){ LOADER_HIGH_START, ram->size - LOADER_HIGH_START,
				     LOADER_E820_RAM };
	return LOADER_E820_MAX;
}

static void flat_seg(struct x86_seg *s, uint16_t sel, uint16_t attr)
{
	s->sel = sel;
	s->attr = attr;
	s->base = 0;
	s->limit = 0xffffffff;
}

/*
 * Multiboot allows an invalid GDTR and Linux demands one with 0x10/0x18, so
 * both get a real table: the cached descriptors then match memory and a guest
 * reloading a segment register before its own lgdt gets what it had.
 */
int loader_flat_entry(struct guest_ram *ram, struct x86_state *s, uint32_t eip)
{
	uint8_t gdt[GDT_ENTRIES * 8];
	int i;

	memset(gdt, 0, sizeof(gdt));
	loader_put64(gdt + LOADER_SEL_CODE, GDT_CODE32_FLAT);
	loader_put64(gdt + LOADER_SEL_DATA, GDT_DATA32_FLAT);
	if (ram_write(ram, LOADER_GDT, gdt, sizeof(gdt)) < 0)
		return -1;

	memset(s, 0, sizeof(*s));
	s->eip = eip;
	s->eflags = X86_EFLAGS_FIXED;	/* IF=0, VM=0 */
	s->cr0 = X86_CR0_PE;		/* protected mode, paging off */
	s->gpr[R_ESP] = LOADER_STACK_TOP;
	for (i = 0; i < 6; i++)
		flat_seg(&s->seg[i], LOADER_SEL_DATA, SEG_ATTR_DATA32_FLAT);
	flat_seg(&s->seg[S_CS], LOADER_SEL_CODE, SEG_ATTR_CODE32_FLAT);
	s->gdtr.base = LOADER_GDT;
	s->gdtr.limit = sizeof(gdt) - 1;
	s->idtr.base = 0;
	s->idtr.limit = 0;	/* no IDT until the kernel loads one */
	/* LDTR and TR as after reset: null selectors, usable-looking caches. */
	s->ldtr.attr = SEG_ATTR_LDT;
	s->ldtr.limit = 0xffff;
	s->tr.attr = SEG_ATTR_TSS32_BUSY;
	s->tr.limit = 0xffff;
	return 0;
}

enum loader_format { FMT_UNKNOWN, FMT_MULTIBOOT, FMT_LINUX };

/*
 * ELF files can only be Multiboot kernels here (raw vmlinux is not
 * supported); otherwise a PC boot sector or "HdrS" means a bzImage, checked
 * before scanning for the Multiboot magic so that a corrupted bzImage is
 * diagnosed as one.
 */
static enum loader_format detect(const struct loader_file *f)
{
	if (f->size >= 4 && !memcmp(f->data, ELF_MAGIC, 4))
		return FMT_MULTIBOOT;
	if (linux_detect(f))
		return FMT_LINUX;
	if (mb_detect(f))
		return FMT_MULTIBOOT;
	return FMT_UNKNOWN;
}

static void unknown_format(const struct loader_file *f)
{
	bt86_error("%s: not a kernel image: no Multiboot header in the first 8192 bytes "
		   "and no Linux boot sector (0xAA55 at 0x1fe, \"HdrS\" at 0x202)", f->path);
}

int loader_load(struct guest_ram *ram, const struct loader_args *a, struct x86_state *entry)
{
	struct loader_file f;
	int r = -1;

	if (!a || !a->kernel) {
		bt86_error("no kernel image given");
		return -1;
	}
	if (ram->size < RAM_MIN_SIZE) {
		bt86_error("%s: guest RAM of %llu KiB is too small to boot anything", a->kernel,
			   (unsigned long long)(ram->size >> 10));
		return -1;
	}
	if (loader_read_file(a->kernel, ram->size, &f) < 0)
		return -1;
	switch (detect(&f)) {
	case FMT_MULTIBOOT:
		r = mb_load(ram, &f, a, entry);
		break;
	case FMT_LINUX:
		r = linux_load(ram, &f, a, entry);
		break;
	default:
		unknown_format(&f);
		break;
	}
	loader_free_file(&f);
	return r;
}

int loader_info(const char *path, FILE *out)
{
	struct loader_file f;
	int r = -1;

	if (loader_read_file(path, RAM_MAX_SIZE, &f) < 0)
		return -1;
	fprintf(out, "file: %s\n", path);
	fprintf(out, "size: %llu\n", (unsigned long long)f.size);
	switch (detect(&f)) {
	case FMT_MULTIBOOT:
		r = mb_info(&f, out);
		break;
	case FMT_LINUX:
		r = linux_info(&f, out);
		break;
	default:
		unknown_format(&f);
		break;
	}
	loader_free_file(&f);
	return r;
}
