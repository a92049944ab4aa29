/* Unit tests for the kernel loaders: synthetic Multiboot ELFs and bzImages in temp files. */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vmm/loader.h"

#define MIB		(1ull << 20)	/* bytes in a MiB */
#define POISON		0xcc	/* RAM is pre-filled so bss zeroing is visible */

static char tmpdir[] = "/tmp/bt86-test-loader.XXXXXX";
static char errbuf[4096];	/* stderr of the last quiet call */

static uint32_t rd32(const struct guest_ram *ram, uint64_t gpa)
{
	uint8_t b[4] = { 0 };

	ram_read(ram, gpa, b, 4);
	return loader_get32(b);
}

static uint64_t rd64(const struct guest_ram *ram, uint64_t gpa)
{
	return rd32(ram, gpa) | (uint64_t)rd32(ram, gpa + 4) << 32;
}

static const char *rdstr(const struct guest_ram *ram, uint64_t gpa)
{
	const char *p = ram_ptr(ram, gpa, 1);

	return p ? p : "";
}

static char *write_tmp(const char *name, const void *data, size_t len)
{
	static char paths[32][256];
	static int n;
	char *p = paths[n++ % 32];
	FILE *f;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	f = fopen(p, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(p);
		exit(2);
	}
	fclose(f);
	return p;
}

static void fresh_ram(struct guest_ram *ram, uint64_t size)
{
	if (ram->host)
		ram_destroy(ram);
	if (ram_create(ram, size) < 0) {
		perror("ram_create");
		exit(2);
	}
	memset(ram->host, POISON, ram->size);
}

/* Run loader_load with stderr captured into errbuf. */
static int load_quiet(struct guest_ram *ram, const char *kernel, const char *cmdline,
		      const char *initrd, struct x86_state *s)
{
	struct loader_args a = { kernel, cmdline, initrd };
	char path[300];
	int saved, fd, r;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	r = loader_load(ram, &a, s);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, errbuf, sizeof(errbuf) - 1);
	errbuf[n > 0 ? n : 0] = '\0';
	close(fd);
	return r;
}

/* A load that must fail with a message naming the file and containing what. */
static void expect_fail(struct guest_ram *ram, const char *kernel, const char *cmdline,
			const char *initrd, const char *what, const char *name)
{
	struct x86_state s;
	int r = load_quiet(ram, kernel, cmdline, initrd, &s);

	CHECK(r == -1, "%s: load should fail", name);
	CHECK(strstr(errbuf, what) != NULL, "%s: message should say '%s', got: %s", name, what,
	      errbuf);
	CHECK(strstr(errbuf, "bt86: error: ") != NULL && strchr(errbuf, '\n') ==
	      errbuf + strlen(errbuf) - 1, "%s: one error line, got: %s", name, errbuf);
}

/* loader_info into a buffer; returns its status. */
static int info_of(const char *path, char *out, size_t len)
{
	FILE *f = fmemopen(out, len, "w");
	int saved = dup(2), r;
	int null = open("/dev/null", O_WRONLY);

	dup2(null, 2);
	r = loader_info(path, f);
	dup2(saved, 2);
	close(saved);
	close(null);
	fclose(f);
	return r;
}

/* ---- entry state shared by both protocols ---- */

/* Decode a GDT descriptor into the x86_seg attr layout. */
static uint16_t desc_attr(uint64_t d)
{
	return (uint16_t)(((d >> 40) & 0xff) | ((d >> 52) & 0xf) << 12);
}

static void check_flat_entry(const struct guest_ram *ram, const struct x86_state *s,
			     const char *who)
{
	static const int data_segs[] = { S_DS, S_ES, S_FS, S_GS, S_SS };
	uint64_t code = rd64(ram, s->gdtr.base + 0x10), data = rd64(ram, s->gdtr.base + 0x18);
	unsigned i;

	CHECK(s->seg[S_CS].sel == 0x10 && s->seg[S_CS].attr == SEG_ATTR_CODE32_FLAT &&
	      s->seg[S_CS].base == 0 && s->seg[S_CS].limit == 0xffffffff, "%s: CS flat", who);
	for (i = 0; i < sizeof(data_segs) / sizeof(data_segs[0]); i++) {
		const struct x86_seg *g = &s->seg[data_segs[i]];

		CHECK(g->sel == 0x18 && g->attr == SEG_ATTR_DATA32_FLAT && g->base == 0 &&
		      g->limit == 0xffffffff, "%s: data segment %d flat", who, data_segs[i]);
	}
	CHECK_EQ(s->cr0, X86_CR0_PE, "CR0 = PE only");
	CHECK_EQ(s->cr3, 0, "CR3");
	CHECK_EQ(s->cr4, 0, "CR4");
	CHECK_EQ(s->eflags, X86_EFLAGS_FIXED, "EFLAGS (IF=0, VM=0)");
	CHECK_EQ(s->gdtr.base, LOADER_GDT, "GDTR base");
	CHECK(s->gdtr.limit >= 0x1f, "%s: GDTR covers 0x18", who);
	CHECK_EQ(s->idtr.limit, 0, "IDTR limit");
	CHECK_EQ(desc_attr(code), SEG_ATTR_CODE32_FLAT, "GDT 0x10 matches cached CS");
	CHECK_EQ(desc_attr(data), SEG_ATTR_DATA32_FLAT, "GDT 0x18 matches cached DS");
	CHECK_EQ(code & 0x000f00000000ffffull, 0x000f00000000ffffull, "GDT code limit 4G");
	CHECK_EQ(data & 0xff0000ffffff0000ull, 0, "GDT data base 0");
	CHECK_EQ(rd64(ram, s->gdtr.base), 0, "GDT null descriptor");
}

static void check_e820(const struct guest_ram *ram, uint64_t at, unsigned stride,
		       unsigned type_off, const char *who)
{
	static const uint64_t want[4][3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
		{ 0x100000, 0, 1 },
	};
	int i;

	for (i = 0; i < 4; i++) {
		uint64_t e = at + (uint64_t)i * stride;
		uint64_t len = i == 3 ? ram->size - MIB : want[i][1];

		CHECK(rd64(ram, e) == want[i][0] && rd64(ram, e + 8) == len &&
		      rd32(ram, e + type_off) == want[i][2], "%s: e820 entry %d", who, i);
	}
}

/* ---- Multiboot ---- */

struct mb_opts {
	uint32_t flags;
	int bad_checksum;
	int bad_magic;
	uint32_t paddr;		/* first segment */
	uint32_t vaddr;
	uint32_t entry;
	int elf64;
};

#define MB_TEXT_OFF	0x1000	/* file offset of the text segment (holds the header) */
#define MB_TEXT_FILESZ	0x2000	/* text p_filesz */
#define MB_TEXT_MEMSZ	0x3000	/* text p_memsz: 0x1000 of bss */
#define MB_LOW_OFF	0x3000	/* file offset of the below-1-MiB segment */
#define MB_LOW_PADDR	0x10000	/* its p_paddr */
#define MB_LOW_SIZE	0x100	/* its p_filesz = p_memsz */
#define MB_FILE_SIZE	(MB_LOW_OFF + MB_LOW_SIZE)	/* whole synthetic ELF */

/* ELF32 with a PT_NOTE, a text+bss segment (holding the header) and a low one. */
static size_t make_mb_elf(uint8_t *img, const struct mb_opts *o)
{
	Elf32_Ehdr eh = { 0 };
	Elf32_Phdr ph[3] = { { 0 } };
	uint8_t *h = img + MB_TEXT_OFF + 0x40;
	uint32_t i;

	memset(img, 0, MB_FILE_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = o->elf64 ? ELFCLASS64 : ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_entry = o->entry ? o->entry : 0x100010;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	eh.e_phnum = 3;
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = 0x200;
	ph[0].p_filesz = 0x10;
	ph[1].p_type = PT_LOAD;
	ph[1].p_offset = MB_TEXT_OFF;
	ph[1].p_paddr = o->paddr ? o->paddr : 0x100000;
	ph[1].p_vaddr = o->vaddr ? o->vaddr : ph[1].p_paddr;
	ph[1].p_filesz = MB_TEXT_FILESZ;
	ph[1].p_memsz = MB_TEXT_MEMSZ;
	ph[1].p_flags = PF_R | PF_X;
	ph[2].p_type = PT_LOAD;
	ph[2].p_offset = MB_LOW_OFF;
	ph[2].p_paddr = ph[2].p_vaddr = MB_LOW_PADDR;
	ph[2].p_filesz = ph[2].p_memsz = MB_LOW_SIZE;
	ph[2].p_flags = 0;	/* flags 0 is normal */
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	for (i = 0; i < MB_TEXT_FILESZ; i++)
		img[MB_TEXT_OFF + i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < MB_LOW_SIZE; i++)
		img[MB_LOW_OFF + i] = (uint8_t)(0xa0 + i);
	loader_put32(h, o->bad_magic ? 0x1badb003 : 0x1badb002);
	loader_put32(h + 4, o->flags);
	loader_put32(h + 8, -(0x1badb002u + o->flags) + (o->bad_checksum ? 1 : 0));
	return MB_FILE_SIZE;
}

static void test_multiboot(struct guest_ram *ram)
{
	static uint8_t img[MB_FILE_SIZE];
	static uint8_t mod_a[5000], mod_b[100];
	struct mb_opts o = { .flags = 0x3 };
	struct x86_state s;
	char *k, *ma, *mb, *big, mods[600], want[600];
	uint32_t mbi, mmap, m;
	size_t i;

	k = write_tmp("mb.elf", img, make_mb_elf(img, &o));
	memset(mod_a, 0x5a, sizeof(mod_a));
	memset(mod_b, 0x6b, sizeof(mod_b));
	ma = write_tmp("mod-a", mod_a, sizeof(mod_a));
	mb = write_tmp("mod-b", mod_b, sizeof(mod_b));
	snprintf(mods, sizeof(mods), "%s,%s", ma, mb);

	fresh_ram(ram, 64 * MIB);
	CHECK(load_quiet(ram, k, "root=/dev/x quiet", mods, &s) == 0, "multiboot load: %s",
	      errbuf);
	CHECK_EQ(s.gpr[R_EAX], 0x2badb002, "EAX magic");
	CHECK_EQ(s.gpr[R_EBX], LOADER_BOOTINFO, "EBX = info");
	CHECK_EQ(s.eip, 0x100010, "EIP = e_entry");
	check_flat_entry(ram, &s, "multiboot");

	/* Segments: text copied, bss zeroed, the low one copied too. */
	CHECK(!memcmp(ram_ptr(ram, 0x100000, MB_TEXT_FILESZ), img + MB_TEXT_OFF,
		      MB_TEXT_FILESZ), "text segment copied");
	for (i = MB_TEXT_FILESZ; i < MB_TEXT_MEMSZ; i++)
		if (ram->host[0x100000 + i])
			break;
	CHECK_EQ(i, MB_TEXT_MEMSZ, "bss zeroed");
	CHECK(!memcmp(ram_ptr(ram, MB_LOW_PADDR, MB_LOW_SIZE), img + MB_LOW_OFF, MB_LOW_SIZE),
	      "segment below 1 MiB loaded");

	/* multiboot_info */
	mbi = s.gpr[R_EBX];
	CHECK_EQ(rd32(ram, mbi), 0x1 | 0x4 | 0x8 | 0x40 | 0x200, "info flags");
	CHECK_EQ(rd32(ram, mbi + 4), 640, "mem_lower");
	CHECK_EQ(rd32(ram, mbi + 8), (64 * MIB - MIB) / 1024, "mem_upper");
	snprintf(want, sizeof(want), "%s root=/dev/x quiet", k);
	CHECK(!strcmp(rdstr(ram, rd32(ram, mbi + 16)), want), "cmdline = path + append: %s",
	      rdstr(ram, rd32(ram, mbi + 16)));
	CHECK(!strcmp(rdstr(ram, rd32(ram, mbi + 64)), "bt86"), "boot_loader_name");
	CHECK_EQ(rd32(ram, mbi + 44), 4 * 24, "mmap_length");
	mmap = rd32(ram, mbi + 48);
	for (i = 0; i < 4; i++)
		CHECK_EQ(rd32(ram, mmap + i * 24), 20, "mmap entry size field");
	check_e820(ram, mmap + 4, 24, 16, "multiboot mmap");

	/* Modules: page aligned above the kernel, each with its file name. */
	CHECK_EQ(rd32(ram, mbi + 20), 2, "mods_count");
	m = rd32(ram, mbi + 24);
	CHECK_EQ(rd32(ram, m), 0x103000, "module 0 start: page above kernel end");
	CHECK_EQ(rd32(ram, m + 4), 0x103000 + sizeof(mod_a), "module 0 end");
	CHECK(!strcmp(rdstr(ram, rd32(ram, m + 8)), ma), "module 0 string");
	CHECK_EQ(rd32(ram, m + 16), 0x105000, "module 1 start page aligned");
	CHECK_EQ(rd32(ram, m + 20), 0x105000 + sizeof(mod_b), "module 1 end");
	CHECK(!strcmp(rdstr(ram, rd32(ram, m + 24)), mb), "module 1 string");
	CHECK(!memcmp(ram_ptr(ram, 0x103000, sizeof(mod_a)), mod_a, sizeof(mod_a)),
	      "module 0 contents");
	CHECK(!memcmp(ram_ptr(ram, 0x105000, sizeof(mod_b)), mod_b, sizeof(mod_b)),
	      "module 1 contents");

	/* No --append: cmdline is still there, just the path. */
	fresh_ram(ram, 64 * MIB);
	CHECK(load_quiet(ram, k, NULL, NULL, &s) == 0, "load without cmdline");
	CHECK(!strcmp(rdstr(ram, rd32(ram, s.gpr[R_EBX] + 16)), k), "cmdline = path");
	CHECK_EQ(rd32(ram, s.gpr[R_EBX] + 20), 0, "no modules");
	CHECK_EQ(ram->host[0x100000 + MB_TEXT_MEMSZ], POISON, "nothing written past bss");

	/* Flags 0 is normal; the video bit is ignored with a warning. */
	o.flags = 0;
	k = write_tmp("mb0.elf", img, make_mb_elf(img, &o));
	CHECK(load_quiet(ram, k, NULL, NULL, &s) == 0, "flags 0 loads: %s", errbuf);
	o.flags = 0x4;
	k = write_tmp("mbv.elf", img, make_mb_elf(img, &o));
	CHECK(load_quiet(ram, k, NULL, NULL, &s) == 0 && strstr(errbuf, "warning") &&
	      strstr(errbuf, "video"), "video bit: boots with a warning: %s", errbuf);

	/* Higher-half ELF: e_entry virtual, translated through its segment. */
	o = (struct mb_opts){ .flags = 0x2, .vaddr = 0xc0100000, .entry = 0xc0100020 };
	k = write_tmp("mbhh.elf", img, make_mb_elf(img, &o));
	CHECK(load_quiet(ram, k, NULL, NULL, &s) == 0, "higher-half load: %s", errbuf);
	CHECK_EQ(s.eip, 0x100020, "virtual entry translated to paddr");

	/* Broken headers */
	o = (struct mb_opts){ .flags = 0x3, .bad_checksum = 1 };
	k = write_tmp("mbsum.elf", img, make_mb_elf(img, &o));
	expect_fail(ram, k, NULL, NULL, "checksum", "bad checksum");
	CHECK(strstr(errbuf, k) != NULL, "error names the file");
	o = (struct mb_opts){ .flags = 0x3, .bad_magic = 1 };
	k = write_tmp("mbmagic.elf", img, make_mb_elf(img, &o));
	expect_fail(ram, k, NULL, NULL, "magic", "bad magic");
	o = (struct mb_opts){ .flags = 0x3 | 0x8 | 0x100 };
	k = write_tmp("mbreq.elf", img, make_mb_elf(img, &o));
	expect_fail(ram, k, NULL, NULL, "bits 3, 8", "unknown required flag bits");
	o = (struct mb_opts){ .flags = 0x3, .elf64 = 1 };
	k = write_tmp("mb64.elf", img, make_mb_elf(img, &o));
	expect_fail(ram, k, NULL, NULL, "32-bit", "ELF64");
	o = (struct mb_opts){ .flags = 0x3, .paddr = 0x4000000 - 0x1000 };
	k = write_tmp("mbbig.elf", img, make_mb_elf(img, &o));
	expect_fail(ram, k, NULL, NULL, "outside guest RAM", "segment past RAM end");
	o = (struct mb_opts){ .flags = 0x3, .paddr = 0x2000, .entry = 0x2010 };
	k = write_tmp("mblow.elf", img, make_mb_elf(img, &o));
	expect_fail(ram, k, NULL, NULL, "boot information area", "segment over info area");
	o = (struct mb_opts){ .flags = 0x3, .paddr = 0xfffff000 };
	k = write_tmp("mbwrap.elf", img, make_mb_elf(img, &o));
	expect_fail(ram, k, NULL, NULL, "4 GiB", "segment wrapping 4 GiB");

	o = (struct mb_opts){ .flags = 0x3 };
	make_mb_elf(img, &o);
	k = write_tmp("mbtrunc.elf", img, MB_FILE_SIZE - 1);
	expect_fail(ram, k, NULL, NULL, "truncated", "truncated segment");
	k = write_tmp("mbph.elf", img, 60);
	expect_fail(ram, k, NULL, NULL, "truncated", "truncated program headers");
	k = write_tmp("mbok.elf", img, MB_FILE_SIZE);
	expect_fail(ram, k, NULL, "/nonexistent/initrd", "/nonexistent/initrd",
		    "missing module");
	expect_fail(ram, "/nonexistent/kernel", NULL, NULL, "cannot open", "missing kernel");
	big = write_tmp("mod-big", "", 0);
	CHECK(truncate(big, 3 * MIB / 2) == 0, "make a sparse 1.5 MiB module");
	fresh_ram(ram, 2 * MIB);
	expect_fail(ram, k, NULL, big, "does not fit", "module past RAM end");
}

/* a.out kludge: a flat binary described by the header's address fields. */
static void test_aout_kludge(struct guest_ram *ram)
{
	static uint8_t img[0x1800];
	struct x86_state s;
	uint8_t *h = img + 0x20;
	uint32_t flags = 0x10003, i;
	char *k;

	for (i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i ^ 0x55);
	loader_put32(h, 0x1badb002);
	loader_put32(h + 4, flags);
	loader_put32(h + 8, -(0x1badb002u + flags));
	loader_put32(h + 12, 0x200020);			/* header_addr */
	loader_put32(h + 16, 0x200000);			/* load_addr */
	loader_put32(h + 20, 0x201000);			/* load_end_addr */
	loader_put32(h + 24, 0x203000);			/* bss_end_addr */
	loader_put32(h + 28, 0x200100);			/* entry_addr */
	k = write_tmp("aout.bin", img, sizeof(img));
	fresh_ram(ram, 64 * MIB);
	CHECK(load_quiet(ram, k, NULL, NULL, &s) == 0, "a.out kludge load: %s", errbuf);
	CHECK_EQ(s.eip, 0x200100, "a.out entry_addr");
	CHECK(!memcmp(ram_ptr(ram, 0x200000, 0x1000), img, 0x1000), "a.out text copied");
	CHECK(ram->host[0x201000] == 0 && ram->host[0x202fff] == 0, "a.out bss zeroed");
	CHECK_EQ(ram->host[0x203000], POISON, "a.out nothing past bss_end");

	loader_put32(h + 20, 0x202000);			/* load_end past end of file */
	k = write_tmp("aout-trunc.bin", img, sizeof(img));
	expect_fail(ram, k, NULL, NULL, "truncated", "a.out load_end past EOF");
	loader_put32(h + 12, 0x100000);			/* header_addr < load_addr */
	k = write_tmp("aout-bad.bin", img, sizeof(img));
	expect_fail(ram, k, NULL, NULL, "inconsistent", "a.out inconsistent addresses");
}

/* ---- Linux ---- */

struct bz_opts {
	uint16_t version;
	uint8_t setup_sects;
	uint8_t loadflags;
	uint8_t relocatable;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t init_size;
	int bad_magic;
};

#define BZ_PM_SIZE	0x3000	/* protected-mode part of the synthetic bzImage */
#define BZ_MAX		(256 * 512 + BZ_PM_SIZE)	/* biggest synthetic bzImage */

static size_t make_bz(uint8_t *img, const struct bz_opts *o)
{
	unsigned sects = o->setup_sects ? o->setup_sects : 4;
	size_t setup = (sects + 1) * 512, i;
	uint8_t hdr_len = o->version >= 0x20a ? 0x6a : 0x3a;	/* header end 0x26c / 0x23c */

	memset(img, 0, setup);
	img[0x1f1] = o->setup_sects;
	loader_put32(img + 0x1f4, BZ_PM_SIZE / 16);	/* syssize */
	loader_put16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = hdr_len;
	memcpy(img + 0x202, o->bad_magic ? "HdrZ" : "HdrS", 4);
	loader_put16(img + 0x206, o->version);
	loader_put16(img + 0x20e, 0x300);		/* kernel_version - 0x200 */
	strcpy((char *)img + 0x500, "6.1.0-test (bt86@unit) #1");
	img[0x211] = o->loadflags;
	loader_put32(img + 0x214, 0x100000);		/* code32_start */
	loader_put32(img + 0x22c, o->initrd_addr_max);
	loader_put32(img + 0x230, 0x1000000);		/* kernel_alignment */
	img[0x234] = o->relocatable;
	img[0x235] = 13;				/* min_alignment */
	loader_put16(img + 0x236, 0x1);			/* xloadflags */
	loader_put32(img + 0x238, o->cmdline_size);
	if (o->version >= 0x20a) {
		loader_put64(img + 0x258, 0x1000000);	/* pref_address */
		loader_put32(img + 0x260, o->init_size);
	}
	for (i = 0; i < BZ_PM_SIZE; i++)
		img[setup + i] = (uint8_t)(i * 13 + 3);
	return setup + BZ_PM_SIZE;
}

static const struct bz_opts bz_default = {
	.version = 0x20f, .setup_sects = 4, .loadflags = 0x01, .relocatable = 1,
	.initrd_addr_max = 0x37ffffff, .cmdline_size = 255, .init_size = 0x400000,
};

static void test_linux(struct guest_ram *ram)
{
	static uint8_t img[BZ_MAX], rd_a[5001], rd_b[3000];
	struct bz_opts o = bz_default;
	struct x86_state s;
	char *k, *ra, *rb, rds[600];
	uint32_t bp = LOADER_BOOTINFO, rd, rdsz;
	size_t len = make_bz(img, &o);

	k = write_tmp("bzImage", img, len);
	memset(rd_a, 0x11, sizeof(rd_a));
	memset(rd_b, 0x22, sizeof(rd_b));
	ra = write_tmp("initrd-a", rd_a, sizeof(rd_a));
	rb = write_tmp("initrd-b", rd_b, sizeof(rd_b));
	snprintf(rds, sizeof(rds), "%s,%s", ra, rb);

	fresh_ram(ram, 64 * MIB);
	CHECK(load_quiet(ram, k, "console=ttyS0 acpi=off", rds, &s) == 0, "bzImage load: %s",
	      errbuf);
	CHECK_EQ(s.eip, 0x1000000, "EIP = pref_address (relocatable)");
	CHECK_EQ(s.gpr[R_ESI], bp, "ESI = zero page");
	CHECK(s.gpr[R_EBP] == 0 && s.gpr[R_EDI] == 0 && s.gpr[R_EBX] == 0, "EBP=EDI=EBX=0");
	check_flat_entry(ram, &s, "linux");
	CHECK(!memcmp(ram_ptr(ram, 0x1000000, BZ_PM_SIZE), img + 5 * 512, BZ_PM_SIZE),
	      "protected-mode kernel copied");

	/* Zero page */
	CHECK(!memcmp(ram_ptr(ram, bp + 0x202, 4), "HdrS", 4), "setup header copied");
	CHECK_EQ(rd32(ram, bp + 0x206) & 0xffff, 0x20f, "version in zero page");
	CHECK_EQ(rd32(ram, bp + 0x260), 0x400000, "init_size in zero page");
	CHECK_EQ(ram->host[bp + 0x210], 0xff, "type_of_loader");
	CHECK_EQ(ram->host[bp + 0x211], 0x81, "loadflags LOADED_HIGH|CAN_USE_HEAP");
	CHECK_EQ(rd32(ram, bp + 0x224) & 0xffff, 0xde00, "heap_end_ptr");
	CHECK_EQ(rd32(ram, bp + 0x214), 0x1000000, "code32_start = load address");
	CHECK(!strcmp(rdstr(ram, rd32(ram, bp + 0x228)), "console=ttyS0 acpi=off"),
	      "cmd_line_ptr string");
	CHECK_EQ(ram->host[bp + 0x1e8], 4, "e820_entries");
	check_e820(ram, bp + 0x2d0, 20, 16, "boot_params e820");
	CHECK_EQ(rd32(ram, bp + 0x2) & 0xffff, 63 * 1024, "ext_mem_k");
	CHECK_EQ(rd32(ram, bp + 0x1e0), 63 * 1024, "alt_mem_k");
	CHECK(ram->host[bp + 0x6] == 3 && ram->host[bp + 0x7] == 80 &&
	      ram->host[bp + 0xe] == 25 && ram->host[bp + 0xf] == 0, "screen_info 80x25 text");
	CHECK_EQ(ram->host[bp + 0x1ef], 0, "sentinel zero");

	/* Initrd: both files, 4-byte aligned, page aligned at the top of RAM. */
	rd = rd32(ram, bp + 0x218);
	rdsz = rd32(ram, bp + 0x21c);
	CHECK_EQ(rdsz, 5004 + sizeof(rd_b), "ramdisk_size");
	CHECK_EQ(rd & 0xfff, 0, "ramdisk page aligned");
	CHECK(rd + rdsz <= 64 * MIB && rd + rdsz > 64 * MIB - 4096, "ramdisk at top of RAM");
	CHECK(rd >= 0x1000000 + 0x400000, "ramdisk above kernel init_size");
	CHECK(!memcmp(ram_ptr(ram, rd, sizeof(rd_a)), rd_a, sizeof(rd_a)) &&
	      !memcmp(ram_ptr(ram, rd + 5004, sizeof(rd_b)), rd_b, sizeof(rd_b)) &&
	      ram->host[rd + 5001] == 0, "ramdisk contents with padding");

	/* initrd_addr_max below RAM end bounds the placement. */
	o.initrd_addr_max = 0x17fffff;
	k = write_tmp("bz-imax", img, make_bz(img, &o));
	fresh_ram(ram, 128 * MIB);
	CHECK(load_quiet(ram, k, NULL, ra, &s) == 0, "load with low initrd_addr_max: %s",
	      errbuf);
	rd = rd32(ram, bp + 0x218);
	CHECK(rd + rd32(ram, bp + 0x21c) <= 0x1800000 && rd >= 0x1400000,
	      "initrd under initrd_addr_max");
	CHECK(!strcmp(rdstr(ram, rd32(ram, bp + 0x228)), ""), "empty cmdline passed");
	o.initrd_addr_max = 0x1400fff;	/* room for one page only */
	k = write_tmp("bz-imax2", img, make_bz(img, &o));
	expect_fail(ram, k, NULL, ra, "does not fit", "initrd window too small");

	/* Non-relocatable 2.06 kernel: at code32_start. */
	o = bz_default;
	o.version = 0x206;
	o.relocatable = 0;
	o.setup_sects = 0;	/* means 4 */
	k = write_tmp("bz206", img, make_bz(img, &o));
	fresh_ram(ram, 64 * MIB);
	CHECK(load_quiet(ram, k, NULL, NULL, &s) == 0, "2.06 load: %s", errbuf);
	CHECK_EQ(s.eip, 0x100000, "non-relocatable at code32_start");
	CHECK(!memcmp(ram_ptr(ram, 0x100000, BZ_PM_SIZE), img + 5 * 512, BZ_PM_SIZE),
	      "setup_sects 0 treated as 4");
	CHECK_EQ(rd32(ram, bp + 0x218), 0, "no initrd: ramdisk_image 0");

	/* Command line limit is the kernel's cmdline_size. */
	o = bz_default;
	o.cmdline_size = 16;
	k = write_tmp("bz-cmd", img, make_bz(img, &o));
	CHECK(load_quiet(ram, k, "0123456789abcdef", NULL, &s) == 0, "cmdline of cmdline_size");
	expect_fail(ram, k, "0123456789abcdefg", NULL, "too long", "cmdline over cmdline_size");

	/* Broken images */
	o = bz_default;
	o.version = 0x205;
	k = write_tmp("bz-old", img, make_bz(img, &o));
	expect_fail(ram, k, NULL, NULL, "version 2.05", "old protocol");
	o = bz_default;
	o.bad_magic = 1;
	k = write_tmp("bz-magic", img, make_bz(img, &o));
	expect_fail(ram, k, NULL, NULL, "magic", "bad HdrS");
	o = bz_default;
	o.loadflags = 0;
	k = write_tmp("bz-low", img, make_bz(img, &o));
	expect_fail(ram, k, NULL, NULL, "LOADED_HIGH", "zImage");
	o = bz_default;
	len = make_bz(img, &o);
	k = write_tmp("bz-trunc", img, len - 16);
	expect_fail(ram, k, NULL, NULL, "truncated", "truncated protected-mode part");
	k = write_tmp("bz-trunc2", img, 0x300);
	expect_fail(ram, k, NULL, NULL, "truncated", "truncated setup");
	o.setup_sects = 0xff;
	k = write_tmp("bz-sects", img, make_bz(img, &o) - BZ_PM_SIZE);
	expect_fail(ram, k, NULL, NULL, "truncated", "setup_sects past EOF");
	o = bz_default;
	k = write_tmp("bz-ok", img, make_bz(img, &o));
	expect_fail(ram, k, NULL, "/nonexistent/initrd", "/nonexistent/initrd",
		    "missing initrd");
	fresh_ram(ram, 16 * MIB);
	expect_fail(ram, k, NULL, NULL, "too big", "kernel needs more than RAM");
}

static void test_info(void)
{
	static uint8_t img[BZ_MAX];
	static char out[8192];
	struct mb_opts mo = { .flags = 0x3 };
	struct bz_opts bo = bz_default;
	char *k;

	k = write_tmp("info.bz", img, make_bz(img, &bo));
	CHECK(info_of(k, out, sizeof(out)) == 0, "info on bzImage");
	CHECK(strstr(out, "format: linux-bzimage\n") != NULL, "info format linux");
	CHECK(strstr(out, "boot_protocol: 2.15\n") != NULL, "info protocol version");
	CHECK(strstr(out, "kernel_version: 6.1.0-test (bt86@unit) #1\n") != NULL,
	      "info kernel version");
	CHECK(strstr(out, "setup_sects: 4\n") && strstr(out, "code32_start: 0x00100000\n") &&
	      strstr(out, "relocatable: yes\n") && strstr(out, "kernel_alignment: 0x1000000\n") &&
	      strstr(out, "pref_address: 0x1000000\n") && strstr(out, "init_size: 0x400000\n") &&
	      strstr(out, "initrd_addr_max: 0x37ffffff\n") && strstr(out, "cmdline_size: 255\n"),
	      "info linux fields: %s", out);
	CHECK(strstr(out, "loadflags: 0x01 LOADED_HIGH\n") &&
	      strstr(out, "xloadflags: 0x01 KERNEL_64\n"), "info flags decoded");

	k = write_tmp("info.elf", img, make_mb_elf(img, &mo));
	CHECK(info_of(k, out, sizeof(out)) == 0, "info on multiboot");
	CHECK(strstr(out, "format: multiboot\n") && strstr(out, "header_offset: 0x1040\n") &&
	      strstr(out, "flags: 0x00000003 page_align_modules memory_info\n") &&
	      strstr(out, "entry: 0x00100010\n") && strstr(out, "segments: 2\n") &&
	      strstr(out, "segment0: paddr=0x00100000") &&
	      strstr(out, "filesz=0x2000 memsz=0x3000 bss=0x1000") &&
	      strstr(out, "segment1: paddr=0x00010000"), "info multiboot fields: %s", out);
	k = write_tmp("info.txt", "hello, world\n", 13);
	CHECK(info_of(k, out, sizeof(out)) == -1, "info on a text file fails");
}

/* Hostile input: every truncation and many random corruptions; never crash. */
static void test_hostile(struct guest_ram *ram)
{
	static uint8_t img[BZ_MAX], mut[BZ_MAX];
	struct mb_opts mo = { .flags = 0x3 };
	struct x86_state s;
	size_t len, cut;
	int kind, iter, bad = 0, ok;
	char *k;

	fresh_ram(ram, 64 * MIB);
	srand(1234);
	for (kind = 0; kind < 2; kind++) {
		len = kind ? make_bz(img, &bz_default) : make_mb_elf(img, &mo);
		ok = 1;
		for (cut = 0; cut < len; cut += 61) {
			k = write_tmp("cut", img, cut);
			if (load_quiet(ram, k, NULL, NULL, &s) != -1 || !errbuf[0])
				ok = 0;
		}
		CHECK(ok, "kind %d: every truncated copy fails with a message", kind);
		for (iter = 0; iter < 1500; iter++) {
			int n = 1 + rand() % 8, j;

			memcpy(mut, img, len);
			for (j = 0; j < n; j++) {
				/* Hit the headers most of the time: that is where parsing is. */
				size_t at = (size_t)rand() % (rand() % 4 ? 0x280 : len);

				mut[at] = (uint8_t)(rand() % 3 ? rand() : 0xff);
			}
			k = write_tmp("fuzz", mut, len);
			if (load_quiet(ram, k, "x", NULL, &s) == -1 && !errbuf[0])
				bad++;
		}
	}
	CHECK_EQ(bad, 0, "failed fuzzed loads always explain themselves");
}

/* Debian's bzImage, when tests/suite-loader.sh has cached it: a real load. */
static void test_real_bzimage(struct guest_ram *ram)
{
	static const char *path = "build/cache/vmlinuz-686";
	struct x86_state s;
	uint32_t bp = LOADER_BOOTINFO, pref;
	uint8_t hdr[0x270];
	FILE *f = fopen(path, "rb");

	if (!f) {
		printf("skip: %s not cached yet\n", path);
		return;
	}
	CHECK(fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr), "read vmlinuz header");
	fclose(f);
	pref = loader_get32(hdr + 0x258);
	fresh_ram(ram, 64 * MIB);
	CHECK(load_quiet(ram, path, "console=ttyS0 pci=off acpi=off noapic nolapic", NULL,
			 &s) == 0, "Debian vmlinuz loads in 64 MiB: %s", errbuf);
	CHECK_EQ(s.eip, pref, "entry at pref_address");
	CHECK_EQ(s.gpr[R_ESI], bp, "ESI = zero page");
	check_flat_entry(ram, &s, "vmlinuz");
	CHECK(!memcmp(ram_ptr(ram, bp + 0x1f1, 0x10), hdr + 0x1f1, 0x10) &&
	      !memcmp(ram_ptr(ram, bp + 0x202, 4), "HdrS", 4), "real setup header copied");
	CHECK_EQ(rd32(ram, bp + 0x214), pref, "code32_start = load address");
	CHECK(!strcmp(rdstr(ram, rd32(ram, bp + 0x228)),
		      "console=ttyS0 pci=off acpi=off noapic nolapic"), "real cmdline");
	fresh_ram(ram, 16 * MIB);
	expect_fail(ram, path, NULL, NULL, "too big", "Debian vmlinuz in 16 MiB");
}

int main(void)
{
	struct guest_ram ram = { .fd = -1 };
	char cmd[300];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_multiboot(&ram);
	test_aout_kludge(&ram);
	test_linux(&ram);
	test_info();
	test_real_bzimage(&ram);
	test_hostile(&ram);
	ram_destroy(&ram);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_done();
}
