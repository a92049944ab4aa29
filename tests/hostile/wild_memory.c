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
	{
		/* Address arithmetic wraps modulo 2^32, however the operand is formed. */
		volatile uint32_t *low = (volatile uint32_t *)0x7f00;
		uint32_t a, b, c, idx = 0x40000000u + 0x7f00 / 4, base = 0x8000;

		*low = 0xcafef00d;
		__asm__ volatile("movl 0(,%1,4), %0" : "=r"(a) : "r"(idx));
		__asm__ volatile("movl -0x100(%1), %0" : "=r"(b) : "r"(base));
		__asm__ volatile("movl 0xfffff000(%1), %0" : "=r"(c) : "r"(base + 0xf00));
		reportf(a == 0xcafef00d, "[index*4] wraps past 4 GiB (0x%08x)", (unsigned)a);
		reportf(b == 0xcafef00d, "[base - disp] stays below (0x%08x)", (unsigned)b);
		reportf(c == 0xcafef00d, "[base + 0xfffff000] wraps (0x%08x)", (unsigned)c);
		base = 0x10;
		__asm__ volatile("movl -0x20(%1), %0" : "=r"(a) : "r"(base));
		reportf(a == 0xffffffff, "[0x10 - 0x20] wraps to the top of the address space");
	}
	{
		/* 16-bit addressing: [bx+si] wraps at 64 KiB before the segment base. */
		volatile uint8_t *b = (volatile uint8_t *)0x7f00;
		uint32_t bx = 0x7000, si = 0x0f00;
		uint8_t v;

		*b = 0;
		__asm__ volatile(".byte 0x67, 0x88, 0x00" : : "a"(0x5a), "b"(bx), "S"(si) : "memory");
		reportf(*b == 0x5a, "mov [bx+si], al stores at bx+si (0x%02x)", *b);
		bx = 0xffff;
		si = 0x7f01;
		__asm__ volatile(".byte 0x67, 0x8a, 0x00" : "=a"(v) : "b"(bx), "S"(si) : "memory");
		reportf(v == 0x5a, "mov al, [bx+si] wraps at 64 KiB (0x%02x)", v);
	}
	report_summary();
}
