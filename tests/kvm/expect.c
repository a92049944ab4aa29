/* expect.c: what tests/kvm/engine.S must print under any engine, from the shared CPU model (monitor/cpuid.c). */
#include <stdint.h>
#include <stdio.h>

#include "monitor/cpuid.h"

/* The leaves engine.S asks for, in its order (keep the two lists equal). */
static const uint32_t leaves[] = {
	0x00000000, 0x00000001, 0x00000002, 0x00000004, 0x0000000d,
	0x40000000, 0x80000000, 0x80000001, 0x80000002, 0x80000003,
	0x80000004, 0x80000005, 0x80000006, 0x80000007, 0x80000008,
};

int main(void)
{
	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		uint32_t r[4];

		/* The machine has no local APIC yet: both engines pass apic=false. */
		cpuid_query(leaves[i], 0, false, r);
		printf("cpuid %08x %08x %08x %08x %08x\n", leaves[i], r[0], r[1], r[2], r[3]);
	}
	printf("cr0 00000011\n");			/* PE, and ET hardwired on a P6 */
	printf("unassigned mmio ffffffff ffffffff\n");	/* PC-like: all ones, writes dropped */
	printf("rep insb scratch 5a5a5a5a\n");
	printf("tsc advances\n");
	return 0;
}
