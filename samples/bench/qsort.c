/* Benchmark kernel: recursive quicksort through a comparison function pointer (calls, returns, indirect calls). */
#include "bench.h"

#define QS_N		(64u << 10)
#define QS_REPS		140

const char bench_name[] = "qsort";

typedef int (*cmp_fn)(uint32_t a, uint32_t b);

static uint32_t data[QS_N];

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

/*
 * Read through a volatile so gcc cannot prove the target and inline it:
 * the benchmark is meant to make indirect calls, the hard case for a translator.
 */
static cmp_fn volatile the_cmp = cmp_u32;

static void quicksort(uint32_t *a, int lo, int hi, cmp_fn cmp)
{
	while (lo < hi) {
		uint32_t pivot = a[lo + (hi - lo) / 2];
		int i = lo, j = hi;

		while (i <= j) {
			while (cmp(a[i], pivot) < 0)
				i++;
			while (cmp(a[j], pivot) > 0)
				j--;
			if (i <= j) {
				uint32_t t = a[i];

				a[i++] = a[j];
				a[j--] = t;
			}
		}
		/* Recurse into the smaller half, loop on the larger: bounded stack depth. */
		if (j - lo < hi - i) {
			quicksort(a, lo, j, cmp);
			lo = i;
		} else {
			quicksort(a, i, hi, cmp);
			hi = j;
		}
	}
}

uint32_t bench_run(void)
{
	uint32_t seed = 0x9e3779b9, sum = 0;
	unsigned rep, i;

	for (rep = 0; rep < QS_REPS; rep++) {
		uint32_t h = 0;

		for (i = 0; i < QS_N; i++)
			data[i] = bench_xorshift32(&seed) % 1000003u;
		quicksort(data, 0, QS_N - 1, the_cmp);
		/* Order-sensitive hash; an unsorted pair poisons it. */
		for (i = 0; i < QS_N; i++) {
			h = h * 16777619u ^ data[i];
			if (i && data[i - 1] > data[i])
				h ^= 0xdeadbeef;
		}
		sum += h;
	}
	return sum;
}
