/* Diagnostics to stderr, so guest serial output on stdout stays clean. */
#include <stdarg.h>
#include <stdio.h>

#include "vmm/log.h"

bool log_quiet;

static void vlog(const char *tag, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One write per line so messages do not interleave with guest output. */
	fprintf(stderr, "bt86: %s%s\n", tag, buf);
}

void bt86_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

void bt86_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void bt86_info(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}
