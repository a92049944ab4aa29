/* bt86 benchmarks, native side: the same kernel object as a 32-bit Linux program. */
#include <stdio.h>

#include "bench.h"

int main(void)
{
	uint32_t sum = bench_run();

	/* Same line as guest_main.c prints, so bench.sh can compare them. */
	printf("bench %s: checksum 0x%08x\n", bench_name, (unsigned)sum);
	return 0;
}
