/* paging_smc: self-modifying code under paging: patches through other linear aliases, remapped and per-space code pages. */
#include "pg.h"

#define OP_MOV_EAX_IMM	0xb8	/* mov $imm32, %eax */
#define OP_RET		0xc3	/* ret */
#define XV		(TEST_VA + 0x10000)	/* where code runs */
#define WV		(TEST_VA + 0x20000)	/* a writable alias of the same frame */
#define XV2		(TEST_VA + 0x500000)	/* a second execution alias, another page table */

typedef uint32_t (*fn0_t)(void);
typedef uint32_t (*fn1_t)(uint32_t);

static volatile uint8_t *bytes(uint32_t va)
{
	return (volatile uint8_t *)(uintptr_t)va;
}

static void put32(uint32_t va, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)va = v;	/* unaligned is fine on x86 */
}

/* mov $imm, %eax; ret  at va */
static void emit_mov_ret(uint32_t va, uint32_t imm)
{
	bytes(va)[0] = OP_MOV_EAX_IMM;
	put32(va + 1, imm);
	bytes(va)[5] = OP_RET;
}

static uint32_t call0(uint32_t va)
{
	return ((fn0_t)(uintptr_t)va)();
}

static void test_alias_patch(void)
{
	uint32_t a, b, i, bad = 0;

	emit_mov_ret(WV, 0x1111);
	a = call0(XV);
	put32(WV + 1, 0x2222);
	b = call0(XV);
	reportf(a == 0x1111 && b == 0x2222, "written via alias W, run via X, patched via W: %x %x", a, b);
	for (i = 0; i < 1000; i++) {
		put32(WV + 1, i * 3);
		if (call0(XV) != i * 3)
			bad++;
	}
	reportf(bad == 0, "1000 patch-via-W / run-via-X rounds: %u wrong", bad);
	/* And patching through the execution alias itself. */
	put32(XV + 1, 0x3333);
	a = call0(XV);
	b = *(volatile uint32_t *)(uintptr_t)(WV + 1);
	reportf(a == 0x3333 && b == 0x3333, "patch via X itself, run via X: %x (W reads %x)", a, b);
}

/*
 * Generated code that stores into the immediate of its next instruction
 * through the W alias, within one basic block:
 *   mov 4(%esp), %ecx ; mov %ecx, WV+off+1 ; mov $0, %eax ; ret
 */
static void test_in_block(void)
{
	const uint32_t off = 0x100, next = off + 10;
	volatile uint8_t *p = bytes(WV + off);
	uint32_t a, b, c;

	p[0] = 0x8b; p[1] = 0x4c; p[2] = 0x24; p[3] = 0x04;	/* mov 4(%esp), %ecx */
	p[4] = 0x89; p[5] = 0x0d;				/* mov %ecx, abs32 */
	put32(WV + off + 6, WV + next + 1);
	emit_mov_ret(WV + next, 0);
	a = ((fn1_t)(uintptr_t)(XV + off))(5);
	b = ((fn1_t)(uintptr_t)(XV + off))(7);
	c = ((fn1_t)(uintptr_t)(XV + off))(0xdeadbeef);
	reportf(a == 5 && b == 7 && c == 0xdeadbeef,
		"store via W into the next instruction run via X, same block: %x %x %x", a, b, c);
}

/* The X alias moved to another frame, and back: each time the right code runs. */
static void test_remap(uint32_t f, uint32_t g)
{
	volatile uint32_t *pte = pg_pte(kernel_pd, XV, false, 0);
	uint32_t a, b, c;

	emit_mov_ret(WV, 0xf0f0);
	emit_mov_ret(g, 0x9090);	/* g is reached through the identity map */
	a = call0(XV);
	*pte = g | PTE_P | PTE_RW | PTE_US;
	invlpg(XV);
	b = call0(XV);
	*pte = f | PTE_P | PTE_RW | PTE_US;
	invlpg(XV);
	c = call0(XV);
	reportf(a == 0xf0f0 && b == 0x9090 && c == 0xf0f0,
		"X remapped to another code frame and back: %x %x %x", a, b, c);
	/* Patch the frame while it is not mapped at X, then map it back. */
	*pte = g | PTE_P | PTE_RW | PTE_US;
	invlpg(XV);
	put32(WV + 1, 0xf1f1);
	b = call0(XV);
	*pte = f | PTE_P | PTE_RW | PTE_US;
	invlpg(XV);
	c = call0(XV);
	reportf(b == 0x9090 && c == 0xf1f1, "frame patched while unmapped at X runs new code: %x %x", b, c);
}

/* The same linear address holds different code in two address spaces. */
static void test_two_spaces(uint32_t g)
{
	volatile uint32_t *pd2 = pg_new_pd();
	unsigned i, bad = 0;

	emit_mov_ret(WV, 0xaaaa);
	emit_mov_ret(g, 0xbbbb);
	pg_map(pd2, XV, g, PTE_P | PTE_RW | PTE_US);
	for (i = 0; i < 200; i++) {
		write_cr3(PA(i & 1 ? pd2 : kernel_pd));
		if (call0(XV) != (i & 1 ? 0xbbbbu : 0xaaaau))
			bad++;
	}
	write_cr3(PA(kernel_pd));
	reportf(bad == 0, "same address, different code in two spaces, 200 switches: %u wrong", bad);
	pg_destroy_pd(pd2, false);
}

/* One frame run at two linear addresses: EIP-relative code sees each. */
static void test_two_aliases(uint32_t f)
{
	/* call 1f; 1: pop %eax; ret  -> the address of label 1 */
	static const uint8_t get_eip[] = { 0xe8, 0, 0, 0, 0, 0x58, OP_RET };
	uint32_t a, b, i;

	pg_map(kernel_pd, XV2, f, PTE_P | PTE_US);	/* read-only execution alias */
	for (i = 0; i < sizeof(get_eip); i++)
		bytes(WV + 0x200)[i] = get_eip[i];
	a = call0(XV + 0x200);
	b = call0(XV2 + 0x200);
	reportf(a == XV + 0x205 && b == XV2 + 0x205, "one frame run at two addresses: eip %08x and %08x",
		a, b);
	put32(WV + 1, 0x4444);
	emit_mov_ret(WV, 0x5555);
	a = call0(XV);
	b = call0(XV2);
	reportf(a == 0x5555 && b == 0x5555, "patch via W seen by both execution aliases: %x %x", a, b);
}

/* CPL 3 stores new code through a user-writable alias; the kernel runs it. */
static volatile uint32_t user_imm;

static uint32_t user_patch(void)
{
	put32(WV + 0x300 + 1, user_imm);
	return 0;
}

static void test_user_patch(void)
{
	static uint8_t ustack[1024] __attribute__((aligned(16)));
	uint32_t a, b;

	emit_mov_ret(WV + 0x300, 1);
	a = call0(XV + 0x300);
	user_imm = 0x7777;
	user_call(user_patch, ustack + sizeof(ustack), 0);
	b = call0(XV + 0x300);
	reportf(a == 1 && b == 0x7777, "code patched by a ring-3 store through a user alias: %x %x", a, b);
}

int main(void)
{
	uint32_t f, g;

	pg_init(PTE_P | PTE_RW | PTE_US);
	f = pg_alloc();
	g = pg_alloc();
	pg_map(kernel_pd, XV, f, PTE_P | PTE_RW | PTE_US);
	pg_map(kernel_pd, WV, f, PTE_P | PTE_RW | PTE_US);
	pg_on(kernel_pd);
	test_alias_patch();
	test_in_block();
	test_remap(f, g);
	test_two_spaces(g);
	test_two_aliases(f);
	test_user_patch();
	pg_off();
	return 0;
}
