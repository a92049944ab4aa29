/*
 * Hostile guest: touches physical memory that is not RAM, in every way it
 * can.  A PC reads all ones from nothing and drops writes; bt86 must do the
 * same and keep running (self-checking: N passed, N failed).
 */
#include "hostile.h"

static const uint32_t holes[] = {
	0x10000000, 0x7ffffffc, 0xc0000000, 0xfec00000, 0xfee00000, 0xfffffff0, 0xfffffffc,
};

int main(void)
{
	for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		volatile uint32_t *p = (volatile uint32_t *)holes[i];
		volatile uint8_t *b = (volatile uint8_t *)holes[i];
		uint32_t v;

		*p = 0x12345678;
		v = *p;
		reportf(v == 0xffffffff, "dword at 0x%08x reads all ones after a write (0x%08x)",
			(unsigned)holes[i], (unsigned)v);
		reportf(b[1] == 0xff, "byte at 0x%08x reads 0xff", (unsigned)holes[i] + 1);
		__asm__ volatile("addl $1, (%0)" : : "r"(p) : "memory", "cc");
		reportf(*p == 0xffffffff, "read-modify-write at 0x%08x is dropped",
			(unsigned)holes[i]);
	}
	{
		/* A string copy out of nothing fills the buffer with ones. */
		static uint32_t buf[64];
		uint32_t *d = buf, n = 64;
		const void *src = (const void *)0xd0000000;
		int ok = 1;

		__asm__ volatile("rep movsl" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
		for (int i = 0; i < 64; i++)
			ok &= buf[i] == 0xffffffff;
		report(ok, "rep movsl from unassigned memory copies all ones");
		report(n == 0 && d == buf + 64, "rep movsl registers advance");
	}
	report_summary();
}
