/* Benchmark kernel: sieve of Eratosthenes over a byte array, repeated (loops, byte stores). */
#include "bench.h"

/* 1 MiB: fits the host's L2, so the loop measures code, not DRAM. */
#define SIEVE_N		(1u << 20)
#define SIEVE_REPS	300

const char bench_name[] = "sieve";

static uint8_t composite[SIEVE_N];

uint32_t bench_run(void)
{
	uint32_t sum = 0;
	unsigned rep, i, j;

	for (rep = 0; rep < SIEVE_REPS; rep++) {
		/* Sieve a slightly different range each time so no pass can be skipped. */
		unsigned n = SIEVE_N - (rep & 63);
		uint32_t count = 0, mix = 0;

		for (i = 0; i < n; i++)
			composite[i] = 0;
		for (i = 2; i * i < n; i++) {
			if (composite[i])
				continue;
			for (j = i * i; j < n; j += i)
				composite[j] = 1;
		}
		for (i = 2; i < n; i++) {
			if (!composite[i]) {
				count++;
				mix ^= i * 2654435761u;
			}
		}
		sum = sum * 31 + count + mix;
	}
	return sum;
}
