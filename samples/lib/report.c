/* Guest runtime: PASS/FAIL reporting, the summary line and leaving through the exit port. */
#include "rt.h"

static unsigned passed, failed;

bool report(bool cond, const char *name)
{
	printf("%s %s\n", cond ? "PASS" : "FAIL", name);
	if (cond)
		passed++;
	else
		failed++;
	return cond;
}

bool reportf(bool cond, const char *fmt, ...)
{
	char name[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return report(cond, name);
}

/* Informational lines are indented so they can never be taken for results. */
void report_info(const char *fmt, ...)
{
	va_list ap;

	printf("  ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

unsigned report_passed(void)
{
	return passed;
}

unsigned report_failed(void)
{
	return failed;
}

void report_summary(void)
{
	cli();
	printf("%u passed, %u failed\n", passed, failed);
	exit(failed ? 1 : 0);
}

void report_finish(int main_ret)
{
	if (!passed && !failed)
		exit(main_ret);
	if (main_ret)
		reportf(false, "main returned %d", main_ret);
	report_summary();
}

void exit(int code)
{
	cli();
	/*
	 * isa-debug-exit: the VM ends with status (code << 1) | 1.  If nothing
	 * listens on the port (real hardware, another VMM) halt forever instead.
	 */
	outb(EXIT_PORT, (uint8_t)code);
	for (;;)
		hlt();
}

void panic(const char *fmt, ...)
{
	va_list ap;

	cli();
	printf("FAIL panic: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed++;
	report_summary();
}
