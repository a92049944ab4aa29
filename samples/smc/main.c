/* smc: self-modifying code; after every store to code the CPU must run the new bytes. */
#include "rt.h"

#define OP_MOV_EAX_IMM	0xb8	/* mov $imm32, %eax */
#define OP_RET		0xc3
#define OP_ADD_EAX_IMM	0x05	/* add $imm32, %eax */
#define OP_INC_ECX	0x41
#define OP_LOOP		0xe2	/* loop rel8 */

/*
 * Functions in .text: no paging, so kernel text is writable like any RAM.
 * smc_next's store targets the immediate of the very next instruction, in
 * the same basic block.
 */
asm(".text\n"
    ".globl smc_imm\n"
    "smc_imm:\n\t"
    "movl $1, %eax\n\t"
    "ret\n"
    ".globl smc_next\n"
    "smc_next:\n\t"
    "movl 4(%esp), %ecx\n\t"
    "movl %ecx, 1f+1\n"
    "1:\tmovl $1, %eax\n\t"
    "ret\n"
    /* Patches the add in its own loop body: each pass sees the previous store. */
    ".globl smc_loop\n"
    "smc_loop:\n\t"
    "xorl %eax, %eax\n\t"
    "movl $10, %ecx\n"
    "2:\tmovl %ecx, 3f+1\n"
    "3:\t.byte 0x05\n\t.long 0\n\t"	/* add $imm32, %eax: force the long form */
    "loop 2b\n\t"
    "ret\n"
    /* Control: the same loop shape with nothing patched. */
    ".globl plain_loop\n"
    "plain_loop:\n\t"
    "xorl %eax, %eax\n\t"
    "movl $5, %ecx\n"
    "4:\taddl $3, %eax\n\t"
    "loop 4b\n\t"
    "ret\n");

extern char plain_loop[];
extern char smc_imm[], smc_next[], smc_loop[];
typedef uint32_t (*fn0_t)(void);
typedef uint32_t (*fn1_t)(uint32_t);

static uint8_t codebuf[2 * 4096] __attribute__((aligned(4096)));

static void emit_mov_ret(uint8_t *p, uint32_t imm)
{
	p[0] = OP_MOV_EAX_IMM;
	memcpy(p + 1, &imm, 4);
	p[5] = OP_RET;
}

static void set_imm(char *insn, uint32_t imm)
{
	/* The immediate follows a one-byte opcode. */
	*(volatile uint32_t *)(uintptr_t)(insn + 1) = imm;
}

static void test_patch_imm(void)
{
	fn0_t f = (fn0_t)(uintptr_t)smc_imm;
	uint32_t a, b, c;
	unsigned i, bad = 0;

	a = f();
	set_imm(smc_imm, 2);
	b = f();
	set_imm(smc_imm, 1);
	c = f();
	reportf(a == 1 && b == 2 && c == 1, "patch mov $1 -> $2 -> $1 in .text: %u %u %u", a, b, c);

	/* Many patches of the same instruction, each one run right after. */
	for (i = 0; i < 2000; i++) {
		set_imm(smc_imm, i * 7);
		if (f() != i * 7)
			bad++;
	}
	set_imm(smc_imm, 1);
	reportf(bad == 0, "2000 patch-and-call rounds: %u wrong", bad);

	/* A single byte store into the middle of the instruction. */
	smc_imm[2] = 0x12;
	a = f();
	smc_imm[2] = 0;
	reportf(a == 0x1201, "byte store into the immediate: 0x%x", a);
}

static void test_patch_next(void)
{
	fn1_t f = (fn1_t)(uintptr_t)smc_next;
	uint32_t a = f(5), b = f(7), c = f(0xdeadbeef);
	uint32_t l = ((fn0_t)(uintptr_t)smc_loop)();

	reportf(a == 5 && b == 7 && c == 0xdeadbeef,
		"store to the next instruction in the same block: %u %u %x", a, b, c);
	/* 10 + 9 + ... + 1: each pass adds the count it just stored. */
	reportf(l == 55, "loop patching its own body every pass: %u (want 55)", l);
}

static void test_new_code(void)
{
	fn0_t f = (fn0_t)(uintptr_t)codebuf;
	uint32_t a, b, c;
	uint8_t loopfn[] = {
		0x31, 0xc0,			/* xor %eax, %eax */
		0xb9, 5, 0, 0, 0,		/* mov $5, %ecx */
		OP_ADD_EAX_IMM, 3, 0, 0, 0,	/* add $3, %eax */
		OP_LOOP, (uint8_t)-7,		/* loop back to the add */
		OP_RET,
	};

	emit_mov_ret(codebuf, 0x1111);
	a = f();
	emit_mov_ret(codebuf, 0x2222);
	b = f();
	/* memcpy may use rep movs: that store path must be caught too. */
	memcpy(codebuf, loopfn, sizeof(loopfn));
	c = f();
	reportf(a == 0x1111 && b == 0x2222 && c == 15,
		"generated code in a buffer, rewritten twice: %x %x %u", a, b, c);
	memset(codebuf, OP_RET, 16);
	codebuf[0] = 0x31;		/* xor %eax, %eax */
	codebuf[1] = 0xc0;
	emit_mov_ret(codebuf + 8, 0x3333);
	a = ((fn0_t)(uintptr_t)(codebuf + 8))();
	b = f();
	reportf(a == 0x3333 && b == 0, "memset then a new function mid-buffer: %x, xor-ret %x", a, b);
}

static void test_same_page(void)
{
	uint8_t *pa = codebuf + 4096, *pb = codebuf + 4096 + 0x800;
	fn0_t fa = (fn0_t)(uintptr_t)pa, fb = (fn0_t)(uintptr_t)pb;
	uint32_t a1, b1, a2, b2, a3, b3;

	emit_mov_ret(pa, 0xa);
	emit_mov_ret(pb, 0xb);
	a1 = fa();
	b1 = fb();
	/* Modify A, then run B on the same page first. */
	emit_mov_ret(pa, 0xaa);
	b2 = fb();
	a2 = fa();
	reportf(a1 == 0xa && b1 == 0xb && b2 == 0xb && a2 == 0xaa,
		"patch A, run B on the same page, then A: %x %x %x %x", a1, b1, b2, a2);
	/* Data stores next to code on the page must not disturb either block. */
	memset(pa + 0x100, 0x5a, 0x100);
	b3 = fb();
	a3 = fa();
	reportf(a3 == 0xaa && b3 == 0xb, "data stores on a code page: A %x B %x unchanged", a3, b3);
	/* And B patched while A stays. */
	pb[1] = 0xbb;
	a3 = fa();
	b3 = fb();
	reportf(a3 == 0xaa && b3 == 0xbb, "patch B: A %x B %x", a3, b3);
}

int main(void)
{
	uint32_t l = ((fn0_t)(uintptr_t)plain_loop)();

	reportf(l == 15, "control: loop instruction, no SMC: %u (want 15)", l);
	test_patch_imm();
	test_patch_next();
	test_new_code();
	test_same_page();
	return 0;
}
