/*
 * kvm_probe.c - can this host's /dev/kvm run a 32-bit protected-mode guest with paging?
 *
 * Some hosts expose a /dev/kvm that opens, creates VMs and vCPUs, and then
 * cannot run a 32-bit guest: nested software hypervisors that only handle
 * 64-bit guests, or that spin forever on the first entry.  Rather than let
 * `bt86 run --engine=kvm` hang in KVM_RUN, create() runs a tiny guest first:
 * from flat protected mode it turns on paging with one 4 MiB PSE identity
 * page, counts a loop down, reads a magic word through the new mapping and
 * writes it to a port.  It runs in a scratch VM in a child process, so a
 * KVM_RUN that never returns, even one a signal cannot interrupt, costs the
 * parent no more than BT86_KVM_PROBE_TOTAL_MS: it just stops waiting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor/kvm_probe.h"

#define PROBE_RAM	0x10000		/* 64 KiB of guest RAM at GPA 0 */
#define PROBE_CODE	0x1000		/* entry point, flat CS */
#define PROBE_PGDIR	0x2000		/* page directory for CR3 */
#define PROBE_MAGIC_AT	0x3000		/* the word the guest reads with paging on */
#define PROBE_STACK	0x8000
#define PROBE_PORT	0x0b86		/* where the guest reports */
#define PROBE_MAGIC	0x6b766d32u	/* "2mvk": proves the read went through paging */
#define PROBE_LOOPS	100000		/* dec/jnz pairs: 0.1 ms on hardware, ~10 ms under TCG */
#define PROBE_TSS	0xfffbd000	/* KVM_SET_TSS_ADDR: three pages below the BIOS */
#define PROBE_MAX_EXITS	64		/* the guest needs two (out, hlt) */

#define PDE_P		0x001		/* present */
#define PDE_RW		0x002		/* writable */
#define PDE_PS		0x080		/* 4 MiB page (CR4.PSE) */

/*
 * The probe guest, 32-bit code.  Hand-assembled; each line is one
 * instruction and its encoding.
 */
static const uint8_t probe_code[] = {
	0xb8, 0x00, 0x20, 0x00, 0x00,	/* mov eax, PROBE_PGDIR */
	0x0f, 0x22, 0xd8,		/* mov cr3, eax */
	0x0f, 0x20, 0xe0,		/* mov eax, cr4 */
	0x83, 0xc8, 0x10,		/* or eax, CR4.PSE */
	0x0f, 0x22, 0xe0,		/* mov cr4, eax */
	0x0f, 0x20, 0xc0,		/* mov eax, cr0 */
	0x0d, 0x00, 0x00, 0x00, 0x80,	/* or eax, CR0.PG */
	0x0f, 0x22, 0xc0,		/* mov cr0, eax: paging on */
	0xb9, PROBE_LOOPS & 0xff, (PROBE_LOOPS >> 8) & 0xff,
	(PROBE_LOOPS >> 16) & 0xff, 0x00,	/* mov ecx, PROBE_LOOPS */
	0x49,				/* 1: dec ecx */
	0x75, 0xfd,			/* jnz 1b */
	0xa1, 0x00, 0x30, 0x00, 0x00,	/* mov eax, [PROBE_MAGIC_AT] */
	0x66, 0xba, PROBE_PORT & 0xff, PROBE_PORT >> 8,	/* mov dx, PROBE_PORT */
	0xef,				/* out dx, eax */
	0xf4,				/* hlt */
};

static volatile struct kvm_run *probe_run;	/* for the timer signal */
static volatile sig_atomic_t probe_expired;

static void on_probe_timer(int sig)
{
	(void)sig;
	probe_expired = 1;
	if (probe_run)
		probe_run->immediate_exit = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static void probe_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

/* Flat protected mode with paging off: where both bt86 loaders leave the CPU. */
static int probe_state(int vcpu, char *why, size_t len)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(vcpu, KVM_GET_SREGS, &sr) < 0)
		return fail(why, len, "KVM_GET_SREGS: %s", strerror(errno));
	probe_seg(&sr.cs, 0x08, 0xb);		/* code, execute/read, accessed */
	probe_seg(&sr.ds, 0x10, 0x3);		/* data, read/write, accessed */
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.cr0 = 0x11;				/* PE | ET */
	sr.cr4 = 0;
	sr.efer = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sr) < 0)
		return fail(why, len, "KVM_SET_SREGS: %s", strerror(errno));
	memset(&r, 0, sizeof(r));
	r.rip = PROBE_CODE;
	r.rsp = PROBE_STACK;
	r.rflags = 0x2;				/* the fixed bit, IF=0 */
	if (ioctl(vcpu, KVM_SET_REGS, &r) < 0)
		return fail(why, len, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

/* Run the probe guest to its hlt; 0 with the elapsed time in why, or -1 and the reason. */
static int probe_guest(int vcpu, struct kvm_run *run, char *why, size_t len)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its;
	struct kvm_sregs sr;
	timer_t timer;
	bool reported = false;
	uint64_t t0;
	unsigned exits;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_probe_timer;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		return fail(why, len, "sigaction: %s", strerror(errno));
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGALRM;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0)
		return fail(why, len, "timer_create: %s", strerror(errno));
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = BT86_KVM_PROBE_GUEST_MS / 1000;
	its.it_value.tv_nsec = (BT86_KVM_PROBE_GUEST_MS % 1000) * 1000000L;
	probe_run = run;
	t0 = now_ns();
	timer_settime(timer, 0, &its, NULL);
	for (exits = 0; exits < PROBE_MAX_EXITS; exits++) {
		int ret = ioctl(vcpu, KVM_RUN, 0);

		if (probe_expired)
			return fail(why, len, "the probe guest did not finish within %d ms "
				    "(%u exits, last exit reason %u)", BT86_KVM_PROBE_GUEST_MS,
				    exits, run->exit_reason);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail(why, len, "KVM_RUN: %s", strerror(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint32_t v;

			if (run->io.port != PROBE_PORT || run->io.direction != KVM_EXIT_IO_OUT ||
			    run->io.size != 4)
				return fail(why, len, "the probe guest went astray (I/O to port "
					    "0x%x)", run->io.port);
			memcpy(&v, (uint8_t *)run + run->io.data_offset, 4);
			if (v != PROBE_MAGIC)
				return fail(why, len, "the probe guest read 0x%08x instead of "
					    "0x%08x through its page tables", v, PROBE_MAGIC);
			reported = true;
			break;
		}
		case KVM_EXIT_HLT:
			if (!reported)
				return fail(why, len, "the probe guest halted before reporting");
			if (ioctl(vcpu, KVM_GET_SREGS, &sr) < 0)
				return fail(why, len, "KVM_GET_SREGS: %s", strerror(errno));
			if (!(sr.cr0 & 0x80000000u) || !(sr.cr4 & 0x10))
				return fail(why, len, "paging did not stick (cr0 0x%llx cr4 0x%llx)",
					    (unsigned long long)sr.cr0,
					    (unsigned long long)sr.cr4);
			snprintf(why, len, "probe guest ran in %.3f ms", (now_ns() - t0) / 1e6);
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			return fail(why, len, "VM entry failed, hardware reason 0x%llx",
				    (unsigned long long)
				    run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			return fail(why, len, "KVM internal error, suberror %u",
				    run->internal.suberror);
		case KVM_EXIT_SHUTDOWN:
			return fail(why, len, "the probe guest triple-faulted");
		default:
			return fail(why, len, "unexpected KVM exit reason %u", run->exit_reason);
		}
	}
	return fail(why, len, "the probe guest took more than %d exits", PROBE_MAX_EXITS);
}

/* Everything the child does; it exits right after, so nothing is closed. */
static int probe_child(char *why, size_t len)
{
	struct kvm_userspace_memory_region mr;
	struct kvm_run *run;
	uint8_t *mem;
	uint32_t pde = 0 | PDE_PS | PDE_RW | PDE_P;	/* 4 MiB at 0 -> 0 */
	uint32_t magic = PROBE_MAGIC;
	int sys, vm, vcpu, api;
	long run_size;

	sys = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (sys < 0)
		return fail(why, len, "cannot open /dev/kvm: %s", strerror(errno));
	api = ioctl(sys, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		return fail(why, len, "KVM API version %d, expected %d", api, KVM_API_VERSION);
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail(why, len, "KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm, KVM_SET_TSS_ADDR, PROBE_TSS) < 0)
		return fail(why, len, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	mem = mmap(NULL, PROBE_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail(why, len, "mmap: %s", strerror(errno));
	memcpy(mem + PROBE_CODE, probe_code, sizeof(probe_code));
	memcpy(mem + PROBE_PGDIR, &pde, 4);
	memcpy(mem + PROBE_MAGIC_AT, &magic, 4);
	memset(&mr, 0, sizeof(mr));
	mr.memory_size = PROBE_RAM;
	mr.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
		return fail(why, len, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail(why, len, "KVM_CREATE_VCPU: %s", strerror(errno));
	run_size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return fail(why, len, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail(why, len, "mmap of the vCPU run page: %s", strerror(errno));
	if (probe_state(vcpu, why, len) < 0)
		return -1;
	return probe_guest(vcpu, run, why, len);
}

int bt86_kvm_probe(char *why, size_t len)
{
	char buf[256];
	size_t got = 0;
	uint64_t deadline = now_ns() + BT86_KVM_PROBE_TOTAL_MS * 1000000ull;
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return fail(why, len, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return fail(why, len, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* One line: '+' or '-', then the detail. */
		int ok = probe_child(buf + 1, sizeof(buf) - 1) == 0;
		ssize_t n;

		buf[0] = ok ? '+' : '-';
		n = write(p[1], buf, strlen(buf));
		_exit(n > 0 && ok ? 0 : 1);
	}
	close(p[1]);
	for (;;) {
		uint64_t now = now_ns();
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (now >= deadline)
			break;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!pfd.revents)
			continue;
		n = read(p[0], buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	close(p[0]);
	if (!got) {
		/*
		 * Stuck in KVM_RUN (or creating the VM) past the deadline.  Kill it;
		 * if the kernel will not let it die right away, leave it behind
		 * rather than hang here too.
		 */
		kill(pid, SIGKILL);
		for (int i = 0; i < 20 && waitpid(pid, &st, WNOHANG) == 0; i++)
			usleep(5000);
		return fail(why, len, "the probe did not finish within %d ms (KVM_RUN never "
			    "returned)", BT86_KVM_PROBE_TOTAL_MS);
	}
	waitpid(pid, &st, 0);
	snprintf(why, len, "%s", buf + 1);
	return buf[0] == '+' ? 0 : -1;
}
