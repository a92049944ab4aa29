/* The host timer an engine arms so the guest comes back for its next device event. */
#ifndef VMM_HTIMER_H
#define VMM_HTIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct htimer {
	timer_t id;
	bool created;
	uint64_t deadline;	/* armed for (absolute CLOCK_MONOTONIC ns), or VCLOCK_NEVER */
};

/*
 * Install handler for SIGALRM (with sa_flags) and create a CLOCK_MONOTONIC
 * timer that raises it.  Returns 0 or -1 (errno set).
 */
int htimer_create(struct htimer *t, void (*handler)(int), int sa_flags);
/* Fire at the absolute time deadline (VCLOCK_NEVER: disarm); cheap if unchanged. */
void htimer_arm(struct htimer *t, uint64_t deadline);
void htimer_destroy(struct htimer *t);

#endif
