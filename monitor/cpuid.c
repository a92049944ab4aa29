/*
 * The virtual CPU model every engine presents: a P6-class CPU with what
 * i386 Linux and gcc-built guests need (FPU, TSC, PSE, CX8, PGE, CMOV, PAT,
 * CLFLUSH, MMX, FXSR, SSE, SSE2) and nothing that would reveal the host.
 * SYSENTER (SEP) is hidden, so guests use int 0x80; the APIC bit follows
 * the machine (no local APIC yet).  docs/CPU.md describes it.
 */
#include <string.h>

#include "monitor/cpuid.h"

#define CPUID_1_EDX_FPU		(1u << 0)
#define CPUID_1_EDX_PSE		(1u << 3)
#define CPUID_1_EDX_TSC		(1u << 4)
#define CPUID_1_EDX_MSR		(1u << 5)
#define CPUID_1_EDX_CX8		(1u << 8)
#define CPUID_1_EDX_APIC	(1u << 9)
#define CPUID_1_EDX_PGE		(1u << 13)
#define CPUID_1_EDX_CMOV	(1u << 15)
#define CPUID_1_EDX_PAT		(1u << 16)
#define CPUID_1_EDX_CLFSH	(1u << 19)
#define CPUID_1_EDX_MMX		(1u << 23)
#define CPUID_1_EDX_FXSR	(1u << 24)
#define CPUID_1_EDX_SSE		(1u << 25)
#define CPUID_1_EDX_SSE2	(1u << 26)

#define CPUID_SIGNATURE		0x000006d8	/* family 6, model 13, stepping 8 */

static const char brand[48] = "bt86 virtual P6-class CPU";

void cpuid_query(uint32_t leaf, uint32_t sub, bool apic, uint32_t out[4])
{
	(void)sub;
	memset(out, 0, 16);
	switch (leaf) {
	case 0:
		out[0] = 1;			/* highest basic leaf */
		memcpy(&out[1], "Genu", 4);	/* EBX, EDX, ECX spell GenuineIntel */
		memcpy(&out[3], "ineI", 4);
		memcpy(&out[2], "ntel", 4);
		break;
	case 1:
		out[0] = CPUID_SIGNATURE;
		out[1] = 8 << 8;		/* CLFLUSH line size: 8 * 8 = 64 bytes */
		out[3] = CPUID_1_EDX_FPU | CPUID_1_EDX_PSE | CPUID_1_EDX_TSC | CPUID_1_EDX_MSR |
			 CPUID_1_EDX_CX8 | CPUID_1_EDX_PGE | CPUID_1_EDX_CMOV | CPUID_1_EDX_PAT |
			 CPUID_1_EDX_CLFSH | CPUID_1_EDX_MMX | CPUID_1_EDX_FXSR |
			 CPUID_1_EDX_SSE | CPUID_1_EDX_SSE2 | (apic ? CPUID_1_EDX_APIC : 0);
		break;
	case 0x80000000:
		out[0] = 0x80000004;		/* highest extended leaf */
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		memcpy(out, brand + (leaf - 0x80000002) * 16, 16);
		break;
	default:
		/* Intel answers out-of-range basic leaves with the highest basic leaf. */
		if (leaf < 0x80000000)
			cpuid_query(1, 0, apic, out);
		break;
	}
}
