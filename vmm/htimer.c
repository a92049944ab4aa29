/* The host timer behind every engine's VMEXIT_POLL: SIGALRM at the next device deadline. */
#include <signal.h>
#include <string.h>

#include "vmm/htimer.h"
#include "vmm/irq.h"

int htimer_create(struct htimer *t, void (*handler)(int), int sa_flags)
{
	struct sigaction sa;
	struct sigevent sev;

	memset(t, 0, sizeof(*t));
	t->deadline = VCLOCK_NEVER;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = sa_flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		return -1;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGALRM;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) < 0)
		return -1;
	t->created = true;
	return 0;
}

void htimer_arm(struct htimer *t, uint64_t deadline)
{
	struct itimerspec its;

	if (deadline == t->deadline || !t->created)
		return;
	memset(&its, 0, sizeof(its));
	if (deadline != VCLOCK_NEVER) {
		its.it_value.tv_sec = (time_t)(deadline / 1000000000ull);
		its.it_value.tv_nsec = (long)(deadline % 1000000000ull);
	}
	timer_settime(t->id, TIMER_ABSTIME, &its, NULL);
	t->deadline = deadline;
}

void htimer_destroy(struct htimer *t)
{
	if (t->created)
		timer_delete(t->id);
	t->created = false;
}
