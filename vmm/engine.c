/* The table of CPU engines, by --engine name. */
#include <string.h>

#include "vmm/engine.h"


/*
 * Engines not built yet have a NULL entry: the run loop then says so instead
 * of pretending.  bt-kmod needs bt86.ko, kvm needs /dev/kvm.
 */
extern const struct engine_ops bt_engine_ops;
extern const struct engine_ops kvm_engine_ops;

static const struct {
	const char *name;
	const struct engine_ops *ops;
} engines[] = {
	{ "bt", &bt_engine_ops },
	{ "bt-kmod", NULL },
	{ "kvm", &kvm_engine_ops },
};

const struct engine_ops *engine_find(const char *name)
{
	for (unsigned i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (!strcmp(engines[i].name, name))
			return engines[i].ops;
	return NULL;
}
