/* Benchmark kernel: naive recursive Fibonacci (a call and a return per step: the translator's return path). */
#include "bench.h"

#define FIB_ARG		30
#define FIB_REPS	280

const char bench_name[] = "fib";

/* noinline/noclone: keep the real recursion gcc would otherwise partly unroll away. */
static __attribute__((noinline, noclone)) uint32_t fib(uint32_t n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* Volatile so the argument is not a compile-time constant. */
static volatile uint32_t fib_arg = FIB_ARG;

uint32_t bench_run(void)
{
	uint32_t sum = 0;
	unsigned rep;

	for (rep = 0; rep < FIB_REPS; rep++)
		sum = sum * 3 + fib(fib_arg + (rep & 1));
	return sum;
}
