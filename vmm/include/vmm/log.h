/* Diagnostics: every message the VMM prints goes through here. */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdbool.h>

extern bool log_quiet;		/* -q: only errors */

/* "bt86: error: ..." on stderr, always printed. */
void bt86_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "bt86: warning: ..." on stderr, always printed. */
void bt86_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "bt86: ..." on stderr unless -q. */
void bt86_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
