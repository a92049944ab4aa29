/* Guest runtime: the fault catcher used by tests that provoke exceptions on purpose. */
#include "rt.h"
#include "user.h"

volatile struct caught caught = { .vec = -1 };
volatile uint32_t catch_resume;
volatile uint32_t catch_at;
volatile uint32_t catch_end;

static void catch_handler(struct trap_frame *f)
{
	caught.vec = f->vector;
	caught.err = f->error;
	caught.eip = f->eip;
	caught.cs = f->cs;
	caught.eflags = f->eflags;
	/* Only a privilege change pushes SS:ESP. */
	caught.esp = (f->cs & 3) ? f->user_esp : 0;
	caught.ss = (f->cs & 3) ? f->user_ss : 0;
	caught.count++;
	if (!catch_resume)
		panic("%s (vector %u) error 0x%x at %04x:%08x outside a CATCH",
		      trap_name(f->vector), f->vector, f->error, f->cs, f->eip);
	f->eip = catch_resume;
	catch_resume = 0;
}

void catch_install(int vec)
{
	trap_set_handler(vec, catch_handler);
}

void catch_reset(void)
{
	caught.vec = -1;
	caught.err = caught.eip = caught.cs = caught.eflags = 0;
	caught.esp = caught.ss = 0;
	caught.count = 0;
}
