/* hello: the smallest bt86 guest: greet over COM1 and leave through the exit port. */
#include "rt.h"

int main(void)
{
	const char *loader = mb_loader_name();
	uint32_t lo, hi;

	printf("Hello from a bt86 guest\n");
	printf("cmdline: \"%s\"\n", mb_cmdline());
	if (*loader)
		printf("loader: %s\n", loader);
	if (mb_mem(&lo, &hi))
		printf("memory: %u KiB low, %u KiB high\n", lo, hi);
	return 0;
}
