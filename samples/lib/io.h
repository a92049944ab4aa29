/* Guest runtime: port I/O and privileged-instruction wrappers for i386 samples. */
#ifndef SAMPLES_IO_H
#define SAMPLES_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* A write to the POST port takes ~1 us on real ISA buses: the classic delay. */
static inline void io_delay(void)
{
	outb(0x80, 0);
}

static inline void cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void hlt(void)
{
	asm volatile("hlt" : : : "memory");
}

/* sti;hlt back to back: the sti shadow guarantees no wake-up is lost. */
static inline void sti_hlt(void)
{
	asm volatile("sti; hlt" : : : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline uint32_t read_eflags(void)
{
	uint32_t f;

	asm volatile("pushfl; popl %0" : "=r"(f) : : "memory");
	return f;
}

static inline void write_eflags(uint32_t f)
{
	asm volatile("pushl %0; popfl" : : "r"(f) : "memory", "cc");
}

#define EFLAGS_IF	0x00000200u	/* interrupt enable */
#define EFLAGS_IOPL	0x00003000u	/* I/O privilege level */

/* Disable interrupts and return the old EFLAGS for irq_restore(). */
static inline uint32_t irq_save(void)
{
	uint32_t f = read_eflags();

	cli();
	return f;
}

static inline void irq_restore(uint32_t f)
{
	if (f & EFLAGS_IF)
		sti();
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	asm volatile("cpuid"
		     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint32_t read_cr0(void)
{
	uint32_t v;

	asm volatile("movl %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint32_t read_cr2(void)
{
	uint32_t v;

	asm volatile("movl %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint32_t read_cr3(void)
{
	uint32_t v;

	asm volatile("movl %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint32_t read_cr4(void)
{
	uint32_t v;

	asm volatile("movl %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(uint32_t v)
{
	asm volatile("movl %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr3(uint32_t v)
{
	asm volatile("movl %0, %%cr3" : : "r"(v) : "memory");
}

static inline void write_cr4(uint32_t v)
{
	asm volatile("movl %0, %%cr4" : : "r"(v) : "memory");
}

static inline uint16_t read_cs(void)
{
	uint16_t v;

	asm volatile("movw %%cs, %0" : "=r"(v));
	return v;
}

static inline uint16_t read_ss(void)
{
	uint16_t v;

	asm volatile("movw %%ss, %0" : "=r"(v));
	return v;
}

#endif
