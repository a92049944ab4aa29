/* demo: a tiny teaching kernel: two ring-3 tasks, time-sliced by the PIT, printing through int 0x80. */
#include "rt.h"
#include "desc.h"
#include "pc.h"

#define HZ		100	/* timer rate */
#define SLICE		5	/* ticks per time slice */
#define MSGS		4	/* lines each task prints */
#define SYSCALL_VEC	0x80
#define SYS_EXIT	0
#define SYS_WRITE	1	/* ebx = string */
#define SYS_TICKS	2
#define MAX_TICKS	(10 * HZ)	/* give up after 10 s whatever happens */

struct task {
	const char *name;
	struct trap_frame frame;	/* saved user state while not running */
	bool done;
	unsigned syscalls;
};

static struct task tasks[2];
static int current;
static volatile unsigned ticks;
static unsigned switches, shown_switches;
static uint8_t stack_a[4096] __attribute__((aligned(16)));
static uint8_t stack_b[4096] __attribute__((aligned(16)));

static inline uint32_t sys(uint32_t nr, uint32_t arg)
{
	uint32_t r;

	asm volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(arg) : "memory");
	return r;
}

/* ---- user side (CPL 3): no I/O allowed, everything goes through int 0x80 ---- */

static void task_body(const char *const *lines, unsigned wait)
{
	unsigned i;

	for (i = 0; i < MSGS; i++) {
		uint32_t t0 = sys(SYS_TICKS, 0);

		sys(SYS_WRITE, (uint32_t)(uintptr_t)lines[i]);
		/* Busy work: only the timer can take the CPU away from us. */
		while (sys(SYS_TICKS, 0) - t0 < wait) {
			volatile uint32_t spin;

			for (spin = 0; spin < 20000; spin++)
				;
		}
	}
	sys(SYS_EXIT, 0);
}

static void task_a(void)
{
	static const char *const lines[MSGS] = {
		"task A: hello from ring 3 (cs=0x1b)",
		"task A: spinning; the PIT will preempt me",
		"task A: still here after a few time slices",
		"task A: done",
	};

	task_body(lines, 3 * SLICE);
}

static void task_b(void)
{
	static const char *const lines[MSGS] = {
		"task B: hello, I started on my first time slice",
		"task B: my registers were saved in a trap frame",
		"task B: and restored by iret from the timer handler",
		"task B: done",
	};

	task_body(lines, 4 * SLICE);
}

/* ---- kernel side (CPL 0) ---- */

static void finish(void)
{
	uint32_t fl = read_eflags();
	struct dtr g;

	pit_ch0_stop();
	asm volatile("sgdt %0" : "=m"(g));
	printf("kernel: both tasks exited after %u ticks, %u context switches, %u+%u syscalls\n",
	       ticks, switches, tasks[0].syscalls, tasks[1].syscalls);
	printf("kernel: sgdt says GDT at 0x%x limit 0x%x (ours: 0x%x), pushf says IF=%u\n",
	       g.base, g.limit, (uint32_t)(uintptr_t)gdt, (fl & EFLAGS_IF) ? 1 : 0);
	printf("kernel: goodbye (exit port 0xf4, status 1)\n");
	exit(0);
}

/* Swap the interrupted task's frame for the other one's: iret resumes it. */
static void switch_to(struct trap_frame *f, int next)
{
	if (next == current)
		return;
	tasks[current].frame = *f;
	*f = tasks[next].frame;
	if (shown_switches < 3) {
		printf("kernel: tick %u: switch %s -> %s (saved eip %08x, resume eip %08x)\n",
		       ticks, tasks[current].name, tasks[next].name, tasks[current].frame.eip, f->eip);
		shown_switches++;
	}
	current = next;
	switches++;
}

static void irq0(struct trap_frame *f)
{
	ticks++;
	pic_eoi(0);
	if (ticks >= MAX_TICKS) {
		printf("kernel: out of time\n");
		exit(1);
	}
	/* Only preempt user code; a slice ends every SLICE ticks. */
	if ((f->cs & 3) == 3 && ticks % SLICE == 0 && !tasks[!current].done)
		switch_to(f, !current);
}

static void syscall(struct trap_frame *f)
{
	struct task *t = &tasks[current];

	t->syscalls++;
	switch (f->eax) {
	case SYS_WRITE:
		printf("  [%s] %s\n", t->name, (const char *)(uintptr_t)f->ebx);
		f->eax = 0;
		break;
	case SYS_TICKS:
		f->eax = ticks;
		break;
	case SYS_EXIT:
		printf("kernel: %s exits (syscall 0)\n", t->name);
		t->done = true;
		if (tasks[!current].done)
			finish();
		switch_to(f, !current);
		break;
	default:
		f->eax = (uint32_t)-1;
	}
}

int main(void)
{
	struct trap_frame *b = &tasks[1].frame;
	uint32_t fl;

	printf("kernel: bt86 demo: ring-0 kernel, two ring-3 tasks, PIT at %u Hz\n", HZ);
	tasks[0].name = "A";
	tasks[1].name = "B";

	/* int 0x80: DPL 3 so user code may call it; an interrupt gate so IRQ0 cannot nest. */
	idt_set_gate(SYSCALL_VEC, idt_stub(SYSCALL_VEC), IDT_INTR32, 3);
	trap_set_handler(SYSCALL_VEC, syscall);
	trap_set_handler(IRQ_BASE_MASTER + 0, irq0);

	/* Task B has never run: give it the frame iret expects for a ring-3 return. */
	b->eip = (uint32_t)(uintptr_t)task_b;
	b->cs = SEL_UCODE;
	b->eflags = EFLAGS_IF | 0x2;
	b->user_esp = (uint32_t)(uintptr_t)(stack_b + sizeof(stack_b));
	b->user_ss = SEL_UDATA;
	b->ds = b->es = b->fs = b->gs = SEL_UDATA;

	/* pushf/popf at CPL 0: the guest kernel really controls IF. */
	fl = irq_save();
	printf("kernel: cli; pushf says IF=%u (a VMM must not let the real IF show)\n",
	       (read_eflags() & EFLAGS_IF) ? 1 : 0);
	pit_ch0_periodic(HZ);
	pic_unmask(0);
	irq_restore(fl);
	printf("kernel: timer on, entering task A at CPL 3 via iret\n");
	user_enter((uint32_t)(uintptr_t)task_a, (uint32_t)(uintptr_t)(stack_a + sizeof(stack_a)),
		   EFLAGS_IF | 0x2);
}
