/* Guest runtime API for bt86 sample guests: console, printf, reports, exit, multiboot. */
#ifndef SAMPLES_RT_H
#define SAMPLES_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* serial.c: COM1, 115200 8N1, polled output. */
#define SERIAL_COM1	0x3f8
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
void serial_puts(const char *s);
/* Console output can be muted while a test reprograms the UART itself. */
void serial_set_enabled(bool on);

/* printf.c: %d %i %u %x %X %o %s %c %p %% with l/ll, width, '-' and '0'. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* string.c: what gcc may call even in freestanding mode, plus a few helpers. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *hay, const char *needle);

/* report.c: self-checking tests. */
bool report(bool cond, const char *name);
bool reportf(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned report_passed(void);
unsigned report_failed(void);
/* Print "N passed, N failed" and leave through the exit port (0 = all passed). */
void report_summary(void) __attribute__((noreturn));
/* crt0 calls this with main's return value. */
void report_finish(int main_ret) __attribute__((noreturn));

/* exit.c: isa-debug-exit at 0xf4: the VM exits with status (code << 1) | 1. */
#define EXIT_PORT	0xf4
void exit(int code) __attribute__((noreturn));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* multiboot.c: what the boot loader handed over. */
#define MULTIBOOT_BOOT_MAGIC	0x2badb002	/* in %eax at entry */
#define MB_INFO_MEM		(1u << 0)	/* mem_lower/mem_upper valid */
#define MB_INFO_CMDLINE		(1u << 2)	/* cmdline valid */
#define MB_INFO_MODS		(1u << 3)	/* mods_count/mods_addr valid */
#define MB_INFO_MMAP		(1u << 6)	/* mmap_length/mmap_addr valid */
#define MB_INFO_LOADER_NAME	(1u << 9)	/* boot_loader_name valid */

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;		/* KiB below 1 MiB */
	uint32_t mem_upper;		/* KiB from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
};

struct multiboot_mmap_entry {
	uint32_t size;			/* of the rest of the entry */
	uint64_t addr;
	uint64_t len;
	uint32_t type;			/* 1 = available RAM */
} __attribute__((packed));

extern uint32_t mb_magic;		/* saved by crt0 */
extern uint32_t mb_info_addr;

/* NULL unless the magic says a Multiboot loader started us. */
const struct multiboot_info *mb_info(void);
bool mb_mem(uint32_t *lower_kb, uint32_t *upper_kb);
const char *mb_cmdline(void);		/* "" when none */
const char *mb_loader_name(void);	/* "" when none */
/* Call fn for every memory-map entry; returns the number of entries. */
int mb_mmap_foreach(void (*fn)(const struct multiboot_mmap_entry *e, void *arg),
		    void *arg);

/* Linker-script symbols. */
extern char __image_start[], __image_end[], __bss_start[], __bss_end[];
extern char __stack_top[];

int main(void);

#endif
