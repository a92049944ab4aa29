/* Host clocks the device models run on. */
#include <time.h>

#include "vmm/irq.h"

uint64_t host_monotonic_ns(void *unused)
{
	struct timespec ts;

	(void)unused;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
