/* paging_fork: many address spaces created, forked, switched and destroyed; ring-3 tasks in separate address spaces. */
#include "pg.h"

#define NSPACES		32
#define NPAGES		4		/* private user pages per address space */
#define ROUNDS		3		/* create / switch / destroy cycles */
#define SWITCHES	4000		/* CR3 switches per round */
#define USER_VA		TEST_VA
#define INHERIT(pg)	(0xf0f0f000u | (pg))	/* the root's words every child copies */
#define TAG(as, pg)	(0x7a000000u | ((as) << 8) | (pg))

#define SYSCALL_VEC	0x80
#define SYS_YIELD	1
#define SYS_EXIT	2
#define NTASKS		3
#define TASK_ROUNDS	500
#define EFLAGS_FIXED	0x2	/* bit 1 always reads 1 */

struct space {
	volatile uint32_t *pd;
	uint32_t frames[NPAGES];
};

static struct space spaces[NSPACES];

static void space_create(struct space *s, int id, const struct space *parent)
{
	int p;

	s->pd = pg_new_pd();
	for (p = 0; p < NPAGES; p++) {
		s->frames[p] = pg_alloc();
		/* fork: the child starts as a copy of the parent's pages */
		if (parent)
			memcpy((void *)(uintptr_t)s->frames[p],
			       (const void *)(uintptr_t)parent->frames[p], PAGE_SIZE);
		else
			phys(s->frames[p])[5] = INHERIT(p);
		*phys(s->frames[p]) = TAG(id, p);
		pg_map(s->pd, USER_VA + p * PAGE_SIZE, s->frames[p], PTE_P | PTE_RW | PTE_US);
	}
}

static void test_spaces(void)
{
	unsigned base = pg_frames_used(), round, i, bad = 0, badcount = 0, inherit = 0;
	uint32_t lcg = 12345;
	int id, p;

	for (round = 0; round < ROUNDS; round++) {
		unsigned visits[NSPACES] = { 0 };

		for (id = 0; id < NSPACES; id++)
			space_create(&spaces[id], id, id ? &spaces[id - 1] : NULL);
		/* A forked child saw the parent's words beyond the tag. */
		for (id = 0; id < NSPACES; id++)
			if (phys(spaces[id].frames[1])[5] != INHERIT(1))
				inherit++;
		for (i = 0; i < SWITCHES; i++) {
			lcg = lcg * 1103515245u + 12345u;
			id = (lcg >> 16) % NSPACES;
			write_cr3(PA(spaces[id].pd));
			for (p = 0; p < NPAGES; p++)
				if (*phys(USER_VA + p * PAGE_SIZE) != TAG(id, p))
					bad++;
			/* a per-space counter kept in the space's own memory */
			phys(USER_VA + PAGE_SIZE)[1]++;
			visits[id]++;
		}
		write_cr3(PA(kernel_pd));
		for (id = 0; id < NSPACES; id++)
			if (phys(spaces[id].frames[1])[1] != visits[id])
				badcount++;
		for (id = 0; id < NSPACES; id++)
			pg_destroy_pd(spaces[id].pd, true);
	}
	reportf(bad == 0, "%d rounds x %d address spaces x %d CR3 switches: private pages right (%u bad)",
		ROUNDS, NSPACES, SWITCHES, bad);
	reportf(badcount == 0, "per-space counters match the visits (%u wrong)", badcount);
	reportf(inherit == 0, "forked children inherit their parent's contents (%u wrong)", inherit);
	reportf(pg_frames_used() == base, "all frames freed after destroy: %u in use, %u before",
		pg_frames_used(), base);
}

/* ---- ring-3 tasks, one per address space, switched by the kernel on int 0x80 ---- */

struct task {
	struct space sp;
	struct trap_frame frame;
	bool done;
};

static struct task tasks[NTASKS];
static int cur;
static volatile unsigned kernel_saw_wrong_space, switches;

static inline void sys(uint32_t nr)
{
	asm volatile("int $0x80" : : "a"(nr) : "memory");
}

/* CPL 3, in its own address space: page 0 holds tag, counter, errors; page 1 is the stack. */
static uint32_t task_main(void)
{
	volatile uint32_t *d = phys(USER_VA);
	uint32_t tag = d[0];
	unsigned i;

	for (i = 0; i < TASK_ROUNDS; i++) {
		volatile uint32_t local = tag ^ i;	/* lives on the private stack */

		d[1]++;
		sys(SYS_YIELD);
		if (d[0] != tag || local != (tag ^ i))
			d[2]++;
	}
	sys(SYS_EXIT);
	return 0;	/* never reached: exit does not come back */
}

/* Where the last task goes when every task is done: back to user_call. */
asm(".text\n"
    "all_done:\n\t"
    "int $0xfe\n\t"		/* USER_RETURN_VEC */
    "ud2\n");
extern char all_done[];

static int next_task(void)
{
	int i, n;

	for (i = 1; i <= NTASKS; i++) {
		n = (cur + i) % NTASKS;
		if (!tasks[n].done)
			return n;
	}
	return -1;
}

static void syscall_handler(struct trap_frame *f)
{
	int n;

	/* The kernel reads the caller's memory through the current CR3. */
	if (*phys(USER_VA) != tasks[cur].sp.frames[0] + 1)
		kernel_saw_wrong_space++;
	if (f->eax == SYS_EXIT)
		tasks[cur].done = true;
	else
		tasks[cur].frame = *f;
	n = next_task();
	if (n < 0) {
		f->eip = (uint32_t)(uintptr_t)all_done;
		return;
	}
	switches++;
	cur = n;
	write_cr3(PA(tasks[n].sp.pd));
	*f = tasks[n].frame;
}

static void test_tasks(void)
{
	unsigned t, count_ok = 0, err = 0;

	idt_set_gate(SYSCALL_VEC, idt_stub(SYSCALL_VEC), IDT_INTR32, 3);
	trap_set_handler(SYSCALL_VEC, syscall_handler);
	for (t = 0; t < NTASKS; t++) {
		struct task *k = &tasks[t];
		struct trap_frame *f = &k->frame;

		space_create(&k->sp, 100 + t, NULL);
		/* tag = the data frame's address + 1: unique and checkable by the kernel */
		*phys(k->sp.frames[0]) = k->sp.frames[0] + 1;
		memset(f, 0, sizeof(*f));
		f->eip = (uint32_t)(uintptr_t)task_main;
		f->cs = SEL_UCODE;
		f->eflags = EFLAGS_FIXED;
		f->user_esp = USER_VA + 2 * PAGE_SIZE - 16;
		f->user_ss = SEL_UDATA;
		f->ds = f->es = f->fs = f->gs = SEL_UDATA;
	}
	cur = 0;
	write_cr3(PA(tasks[0].sp.pd));
	/* Task 0 starts through user_call; the others are resumed from their frames. */
	user_call(task_main, (void *)(uintptr_t)(USER_VA + 2 * PAGE_SIZE), EFLAGS_FIXED);
	write_cr3(PA(kernel_pd));
	for (t = 0; t < NTASKS; t++) {
		volatile uint32_t *d = phys(tasks[t].sp.frames[0]);

		if (d[1] == TASK_ROUNDS)
			count_ok++;
		err += d[2];
	}
	reportf(count_ok == NTASKS, "%d ring-3 tasks in their own address spaces each ran %d rounds",
		NTASKS, TASK_ROUNDS);
	reportf(err == 0, "each task saw its own data and stack at the shared addresses (%u errors)",
		err);
	reportf(kernel_saw_wrong_space == 0 && switches >= NTASKS * TASK_ROUNDS - 1,
		"kernel saw the caller's space on every syscall; %u task switches", switches);
	for (t = 0; t < NTASKS; t++)
		pg_destroy_pd(tasks[t].sp.pd, true);
}

int main(void)
{
	pg_init(PTE_P | PTE_RW | PTE_US);
	pg_on(kernel_pd);
	test_spaces();
	test_tasks();
	pg_off();
	return 0;
}
