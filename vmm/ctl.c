/* Stop/reset requests from devices, signals and engines to the run loop. */
#include <stdarg.h>
#include <stdio.h>

#include "vmm/ctl.h"

void ctl_request(struct vm_ctl *c, enum vm_stop why, int status, const char *fmt, ...)
{
	va_list ap;

	/* The first reason wins: a reset after an exit-port write must not undo it. */
	if (c->stop != VM_RUNNING)
		return;
	c->status = status;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->stop = why;
}
