/* Shared bits of the hostile guests: a seed from the command line and a PRNG. */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdint.h>

#include "rt.h"

/* "seed=N" anywhere in the Multiboot command line, else 1. */
static inline uint32_t hostile_seed(void)
{
	const char *c = mb_cmdline();

	for (; c && *c; c++) {
		if (!strncmp(c, "seed=", 5)) {
			uint32_t s = 0;

			for (c += 5; *c >= '0' && *c <= '9'; c++)
				s = s * 10 + (uint32_t)(*c - '0');
			return s ? s : 1;
		}
	}
	return 1;
}

/* xorshift32: reproducible garbage for a given seed. */
static inline uint32_t hostile_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

#endif
