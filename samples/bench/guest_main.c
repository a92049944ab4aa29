/* bt86 benchmarks, guest side: run the kernel once and print its checksum on COM1. */
#include "rt.h"
#include "bench.h"

int main(void)
{
	uint32_t sum = bench_run();

	/* bench.sh compares this exact line with the native program's. */
	printf("bench %s: checksum 0x%08x\n", bench_name, (unsigned)sum);
	return 0;
}
