/* difftest: operation groups shared by the guest and the host build that computes the expected checksums. */
#ifndef DIFFTEST_OPS_H
#define DIFFTEST_OPS_H

#include <stdint.h>

struct dt_group {
	const char *name;
	uint32_t (*run)(void);
};

extern const struct dt_group dt_groups[];
extern const unsigned dt_ngroups;

#endif
