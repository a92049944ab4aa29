/* The virtual CPU model (CPUID leaves) shared by every engine. */
#ifndef MONITOR_CPUID_H
#define MONITOR_CPUID_H

#include <stdbool.h>
#include <stdint.h>

/* out = { EAX, EBX, ECX, EDX } for leaf/subleaf. */
void cpuid_query(uint32_t leaf, uint32_t sub, bool apic, uint32_t out[4]);

#endif
