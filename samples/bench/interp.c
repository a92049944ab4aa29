/* Benchmark kernel: a bytecode interpreter (switch dispatch through a jump table: indirect jumps). */
#include "bench.h"

#define INTERP_REPS	900

const char bench_name[] = "interp";

enum op { OP_LI, OP_ADD, OP_XOR, OP_MUL, OP_SHR, OP_ROL, OP_LD, OP_ST, OP_DJNZ, OP_MOV,
	  OP_HALT };

struct insn {
	uint8_t op, a, b, c;	/* c: immediate, shift count, or branch target */
};

/*
 * r0 = outer counter, r1 = inner counter, r2..r5 = state; r6 = memory index.
 * A few thousand steps per outer iteration, all through the dispatch switch.
 */
static const struct insn prog[] = {
	{ OP_LI, 0, 0, 200 },		/* 0: r0 = 200 */
	{ OP_LI, 2, 0, 7 },		/* 1 */
	{ OP_LI, 3, 0, 13 },		/* 2 */
	{ OP_LI, 1, 0, 250 },		/* 3: inner: r1 = 250 */
	{ OP_MUL, 2, 3, 0 },		/* 4: r2 *= r3 */
	{ OP_ADD, 2, 1, 0 },		/* 5: r2 += r1 */
	{ OP_ROL, 2, 0, 5 },		/* 6 */
	{ OP_XOR, 3, 2, 0 },		/* 7: r3 ^= r2 */
	{ OP_SHR, 4, 3, 3 },		/* 8: r4 = r3 >> 3 */
	{ OP_ADD, 5, 4, 0 },		/* 9: r5 += r4 */
	{ OP_MOV, 6, 2, 0 },		/* 10: r6 = r2 */
	{ OP_ST, 6, 5, 0 },		/* 11: mem[r6] = r5 */
	{ OP_LD, 4, 3, 0 },		/* 12: r4 = mem[r3] */
	{ OP_ADD, 3, 4, 0 },		/* 13: r3 += r4 */
	{ OP_DJNZ, 1, 0, 4 },		/* 14: if (--r1) goto 4 */
	{ OP_DJNZ, 0, 0, 3 },		/* 15: if (--r0) goto 3 */
	{ OP_HALT, 0, 0, 0 },		/* 16 */
};

#define MEM_WORDS	256

static uint32_t run(const struct insn *code, uint32_t seed)
{
	uint32_t r[8] = { 0 }, mem[MEM_WORDS];
	unsigned pc = 0, i;

	for (i = 0; i < MEM_WORDS; i++)
		mem[i] = seed + i;
	for (;;) {
		const struct insn *in = &code[pc++];

		switch (in->op) {
		case OP_LI:
			r[in->a] = in->c;
			break;
		case OP_ADD:
			r[in->a] += r[in->b];
			break;
		case OP_XOR:
			r[in->a] ^= r[in->b];
			break;
		case OP_MUL:
			r[in->a] *= r[in->b];
			break;
		case OP_SHR:
			r[in->a] = r[in->b] >> in->c;
			break;
		case OP_ROL:
			r[in->a] = (r[in->a] << in->c) | (r[in->a] >> (32 - in->c));
			break;
		case OP_LD:
			r[in->a] = mem[r[in->b] % MEM_WORDS];
			break;
		case OP_ST:
			mem[r[in->a] % MEM_WORDS] = r[in->b];
			break;
		case OP_DJNZ:
			if (--r[in->a])
				pc = in->c;
			break;
		case OP_MOV:
			r[in->a] = r[in->b];
			break;
		case OP_HALT:
			return r[2] ^ r[3] ^ r[5] ^ mem[r[5] % MEM_WORDS];
		default:
			return 0;
		}
	}
}

uint32_t bench_run(void)
{
	uint32_t sum = 0;
	unsigned rep;

	for (rep = 0; rep < INTERP_REPS; rep++)
		sum = sum * 7 + run(prog, rep);
	return sum;
}
