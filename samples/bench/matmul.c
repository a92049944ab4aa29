/* Benchmark kernel: integer matrix multiply, repeated (nested loops, imul, strided loads). */
#include "bench.h"

#define MM_N		128
#define MM_REPS		600

const char bench_name[] = "matmul";

static uint32_t ma[MM_N][MM_N], mb[MM_N][MM_N], mc[MM_N][MM_N];

uint32_t bench_run(void)
{
	uint32_t seed = 0xc0ffee, sum = 0;
	unsigned rep, i, j, k;

	for (i = 0; i < MM_N; i++)
		for (j = 0; j < MM_N; j++) {
			ma[i][j] = bench_xorshift32(&seed) & 0xffff;
			mb[i][j] = bench_xorshift32(&seed) & 0xffff;
		}
	for (rep = 0; rep < MM_REPS; rep++) {
		for (i = 0; i < MM_N; i++)
			for (j = 0; j < MM_N; j++) {
				uint32_t acc = 0;

				for (k = 0; k < MM_N; k++)
					acc += ma[i][k] * mb[k][j];
				mc[i][j] = acc;
			}
		/* Feed the product back so each pass needs the previous one. */
		for (i = 0; i < MM_N; i++)
			for (j = 0; j < MM_N; j++) {
				sum = sum * 33 + mc[i][j];
				ma[i][j] = (mc[i][j] >> 7) & 0xffff;
			}
	}
	return sum;
}
