/* Guest runtime: run a function at CPL 3 and come back, and catch expected faults. */
#ifndef SAMPLES_USER_H
#define SAMPLES_USER_H

#include <stdint.h>

#include "desc.h"

/* The DPL 3 gate user code returns through; user_call() installs it. */
#define USER_RETURN_VEC	0xfe

/*
 * Call fn at CPL 3 on the stack ending at stack_top with the given EFLAGS
 * (IOPL, IF as wanted; bit 1 is set for you).  When fn returns, user_call()
 * returns fn's value at CPL 0 with the caller's EFLAGS and segments back.
 * fn must not print: the serial port is not open to CPL 3.
 */
uint32_t user_call(uint32_t (*fn)(void), void *stack_top, uint32_t eflags);

/* What the catch handler saw for the last fault. */
struct caught {
	int vec;		/* -1: nothing caught since catch_reset() */
	uint32_t err, eip, cs, eflags, esp, ss;
	unsigned count;
};

extern volatile struct caught caught;
/* Where the handler resumes (set by CATCH); cleared once used. */
extern volatile uint32_t catch_resume;
/* Address of the instruction CATCH ran (for comparing with caught.eip). */
extern volatile uint32_t catch_at;
/* Address just past the CATCH body (where a trap's pushed EIP points). */
extern volatile uint32_t catch_end;

/* Route vec to the catch handler (records the frame, resumes at catch_resume). */
void catch_install(int vec);
void catch_reset(void);

/*
 * Run one asm statement expecting it may fault: the handler resumes right
 * after it.  Register outputs are then whatever the fault left.
 */
#define CATCH(insn, ...)						\
	asm volatile("movl $9f, catch_resume\n\t"			\
		     "movl $8f, catch_at\n\t"				\
		     "movl $9f, catch_end\n"				\
		     "8:\n\t" insn "\n"					\
		     "9:\n\t"						\
		     "movl $0, catch_resume"				\
		     __VA_ARGS__)

#endif
