/* cmos_mem: guest-side check that the CMOS memory-size bytes agree with Multiboot mem_upper and real RAM. */
#include "rt.h"
#include "pc.h"

#define CMOS_BASE_LO	0x15	/* base memory KiB, low byte */
#define CMOS_BASE_HI	0x16
#define CMOS_EXT_LO	0x17	/* extended memory KiB (1 MiB..), low byte */
#define CMOS_EXT_HI	0x18
#define CMOS_EXT2_LO	0x30	/* same, as found by POST */
#define CMOS_EXT2_HI	0x31
#define CMOS_HIGH_LO	0x34	/* memory above 16 MiB in 64 KiB units */
#define CMOS_HIGH_HI	0x35

#define KIB		1024u
#define MIB		(1024u * 1024u)

/* Firmware may keep up to this much at the top of RAM out of mem_upper (ACPI tables). */
#define TOP_RESERVE_KB	1024u

static uint16_t cmos_read16(uint8_t lo)
{
	return cmos_read(lo) | (cmos_read(lo + 1) << 8);
}

struct mmap_scan {
	uint64_t len_at_1m;	/* length of the available region starting at 1 MiB */
	unsigned entries;
};

static void mmap_entry(const struct multiboot_mmap_entry *e, void *arg)
{
	struct mmap_scan *s = arg;

	report_info("mmap 0x%09llx len 0x%09llx type %u", e->addr, e->len, e->type);
	if (e->type == 1 && e->addr <= MIB && e->addr + e->len > MIB)
		s->len_at_1m = e->addr + e->len - MIB;
	s->entries++;
}

/* Write a distinct word into every MiB from the image end to the top, then check all. */
static bool probe_ram(uint32_t top)
{
	uint32_t start = ((uint32_t)(uintptr_t)__image_end + MIB - 1) & ~(MIB - 1);
	uint32_t a;
	bool ok = true;

	for (a = start; a + 4 <= top; a += MIB)
		*(volatile uint32_t *)(uintptr_t)a = a ^ 0x5a5a5a5a;
	*(volatile uint32_t *)(uintptr_t)(top - 4) = 0xc0ffee00;
	for (a = start; a + 4 <= top; a += MIB)
		ok = ok && *(volatile uint32_t *)(uintptr_t)a == (a ^ 0x5a5a5a5a);
	return ok && *(volatile uint32_t *)(uintptr_t)(top - 4) == 0xc0ffee00;
}

int main(void)
{
	uint16_t base = cmos_read16(CMOS_BASE_LO), ext = cmos_read16(CMOS_EXT_LO);
	uint16_t ext2 = cmos_read16(CMOS_EXT2_LO), high = cmos_read16(CMOS_HIGH_LO);
	uint32_t lower, upper, cmos_total_kb, mb_total_kb, ext_expect;
	struct mmap_scan scan = { 0, 0 };

	printf("cmos_mem: CMOS memory size vs. Multiboot\n");
	if (!report(mb_mem(&lower, &upper), "multiboot: loader passed magic and mem_lower/mem_upper"))
		return 0;

	/* CMOS total: above 16 MiB from 0x34/0x35, else 1 MiB + extended. */
	cmos_total_kb = high ? 16 * KIB + high * 64u : KIB + ext;
	mb_total_kb = KIB + upper;
	report_info("multiboot: mem_lower %u KiB, mem_upper %u KiB (%u MiB total)", lower,
		    upper, mb_total_kb / KIB);
	report_info("cmos: base %u KiB, ext %u KiB, ext(POST) %u KiB, above 16M %u x 64 KiB",
		    base, ext, ext2, high);

	report(base == 640, "cmos: base memory (0x15/0x16) is 640 KiB");
	report(lower <= base && lower >= 512, "multiboot: mem_lower fits the CMOS base memory");
	report(ext == ext2, "cmos: extended memory at 0x17/0x18 and 0x30/0x31 agree");

	/* 0x17/0x18 saturate at 0xffff KiB; some BIOSes stop at 15 MiB instead. */
	ext_expect = cmos_total_kb - KIB;
	if (ext_expect > 0xffff)
		ext_expect = 0xffff;
	report(ext == ext_expect || (cmos_total_kb > 16 * KIB && ext == 15 * KIB),
	       "cmos: extended memory is consistent with the 64 KiB-unit count");
	report(cmos_total_kb > 16 * KIB || high == 0,
	       "cmos: no memory above 16 MiB is claimed below 16 MiB");
	report(mb_total_kb <= cmos_total_kb && cmos_total_kb - mb_total_kb <= TOP_RESERVE_KB,
	       "cmos: memory size agrees with multiboot mem_upper");

	if (mb_mmap_foreach(mmap_entry, &scan) > 0)
		report(scan.len_at_1m / KIB >= upper,
		       "multiboot: mmap has available RAM from 1 MiB covering mem_upper");
	else
		report_info("no multiboot memory map");

	report(probe_ram(MIB + upper * KIB), "memory: every MiB up to mem_upper keeps what was written");
	return 0;
}
