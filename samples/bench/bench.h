/* bt86 benchmarks: the interface between a CPU-bound kernel and its guest or native main. */
#ifndef SAMPLES_BENCH_H
#define SAMPLES_BENCH_H

#include <stdint.h>

/*
 * Each kernel file (sieve.c, crc32.c, ...) is compiled ONCE, with the guest
 * flags, and that one object is linked both into the Multiboot guest
 * (guest_main.c) and into a 32-bit Linux program (native_main.c).  So the
 * kernel code is byte-for-byte the same machine code under every engine.
 * Kernels must therefore call nothing outside their own file (no memset, no
 * libgcc 64-bit division): bench.mk checks the object has no undefined symbols.
 */

/* Short name, printed in the result line. */
extern const char bench_name[];

/* Run the fixed amount of work and return a checksum of the results. */
uint32_t bench_run(void);

/* A tiny deterministic PRNG the kernels use to fill their inputs. */
static inline uint32_t bench_xorshift32(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

#endif
