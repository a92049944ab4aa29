/* Minimal host-side unit-test harness: CHECK() lines and a closing tally. */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int check_passed, check_failed;

static inline __attribute__((format(printf, 4, 5))) int
check_report(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		check_passed++;
		return 1;
	}
	check_failed++;
	fprintf(stdout, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return 0;
}

/* CHECK(cond, "what", ...): count a pass, or print the failure and go on. */
#define CHECK(cond, ...) check_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* CHECK_EQ for integers, printing both values on failure; evaluates each once. */
#define CHECK_EQ(got, want, what)                                                   \
	check_eq((unsigned long long)(got), (unsigned long long)(want), __FILE__,   \
		 __LINE__, what)

static inline int check_eq(unsigned long long got, unsigned long long want,
			   const char *file, int line, const char *what)
{
	return check_report(got == want, file, line, "%s: got 0x%llx want 0x%llx", what,
			    got, want);
}

/*
 * An interrupt line recorder for device tests: per ISA IRQ, the current
 * level and how many times it rose and fell.  Wire it with
 *   struct irq_line line = { irq_rec_set, &rec };
 */
struct irq_rec {
	int level[16];
	int rises[16];
	int falls[16];
};

static inline void irq_rec_set(void *opaque, int irq, int level)
{
	struct irq_rec *r = opaque;

	if (irq < 0 || irq > 15)
		return;
	if (level && !r->level[irq])
		r->rises[irq]++;
	if (!level && r->level[irq])
		r->falls[irq]++;
	r->level[irq] = level;
}

/* Print the tally line the runner reads and return the process status. */
static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
