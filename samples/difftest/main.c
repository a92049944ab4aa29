/* difftest: runs the shared operation groups in the guest and compares with checksums computed natively on the host. */
#include "rt.h"
#include "ops.h"
#include "difftest_expected.h"

#define CR0_MP		(1u << 1)	/* monitor coprocessor: wait honours TS */
#define CR0_EM		(1u << 2)	/* emulate FPU: must be clear */
#define CR0_TS		(1u << 3)
#define CR0_NE		(1u << 5)	/* native x87 error reporting */
#define CR4_OSFXSR	(1u << 9)	/* SSE instructions and fxsave enabled */
#define CR4_OSXMMEXCPT	(1u << 10)	/* SIMD exceptions as #XM */

int main(void)
{
	unsigned i;

	/* Turn on the FPU and SSE the way an OS does before any FP code runs. */
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	asm volatile("fninit");

	if (!report(dt_ngroups == ARRAY_SIZE(dt_expected), "difftest: host and guest agree on the group count"))
		return 1;
	for (i = 0; i < dt_ngroups; i++) {
		uint32_t got = dt_groups[i].run();

		reportf(got == dt_expected[i], "difftest %s: %08x (host %08x)", dt_groups[i].name, got,
			dt_expected[i]);
	}
	return 0;
}
