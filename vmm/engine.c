/* The table of CPU engines, by --engine name. */
#include <string.h>

#include "vmm/engine.h"


/*
 * An engine not built would have a NULL entry: the run loop then says so
 * instead of pretending.  bt-kmod needs bt86.ko loaded, kvm needs /dev/kvm;
 * each says so when it cannot start.
 */
extern const struct engine_ops bt_engine_ops;
extern const struct engine_ops bt_kmod_engine_ops;
extern const struct engine_ops kvm_engine_ops;

static const struct {
	const char *name;
	const struct engine_ops *ops;
} engines[] = {
	{ "bt", &bt_engine_ops },
	{ "bt-kmod", &bt_kmod_engine_ops },
	{ "kvm", &kvm_engine_ops },
};

const struct engine_ops *engine_find(const char *name)
{
	for (unsigned i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (!strcmp(engines[i].name, name))
			return engines[i].ops;
	return NULL;
}
