/* bt86test.c: in-VM tests of bt86.ko: exits, signals, round trips, processes, cleanup, fuzzing. */

/*
 * Runs inside the qemu harness (tests/suite-kmod.sh) as root with bt86.ko
 * loaded.  Prints "PASS name" / "FAIL name: why" per test and "INFO ..."
 * lines with measurements; the init script counts the verdicts.  The vm,
 * host-mirror and kview helpers are in kvtest.c, the kcall tests in
 * kcalltest.c (declared in kvtest.h); all are listed in tests[] below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvtest.h"

#define LOAD_ADDR	0x1000u
#define STACK_TOP	0x80000u

/* tests/kmod/payloads.S */
extern const unsigned char name[], name_end[];
extern const unsigned char p32_io[], p32_io_end[];
extern const unsigned char p32_int3[], p32_int3_end[];
extern const unsigned char p32_int80[], p32_int80_end[];
extern const unsigned char p32_cli[], p32_cli_end[];
extern const unsigned char p32_pf_write[], p32_pf_write_end[];
extern const unsigned char p32_pf_read[], p32_pf_read_end[];
extern const unsigned char p32_ud[], p32_ud_end[];
extern const unsigned char p32_de[], p32_de_end[];
extern const unsigned char p32_syscall[], p32_syscall_end[];
extern const unsigned char p32_sysenter[], p32_sysenter_end[];
extern const unsigned char p32_ljmp64[], p32_ljmp64_end[];
extern const unsigned char p32_fpu[], p32_fpu_end[];
extern const unsigned char p32_stack[], p32_stack_end[];
extern const unsigned char p32_loop[], p32_loop_end[];
extern const unsigned char p32_count[], p32_count_end[];
extern const unsigned char p64_io[], p64_io_end[];
extern const unsigned char p64_int3[], p64_int3_end[];
extern const unsigned char p64_int80[], p64_int80_end[];
extern const unsigned char p64_pf_write[], p64_pf_write_end[];
extern const unsigned char p64_kernel[], p64_kernel_end[];
extern const unsigned char p64_ud[], p64_ud_end[];
extern const unsigned char p64_syscall[], p64_syscall_end[];
extern const unsigned char p64_wrgsbase[], p64_wrgsbase_end[];
extern const unsigned char p64_to32[], p64_to32_end[];

static int failures;

static void report(const char *name, int r)
{
	if (r == 0) {
		printf("PASS %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, why);
		failures++;
	}
	fflush(stdout);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int get_stats(struct bt86_stats *s)
{
	int dev = open("/dev/bt86", O_RDWR);
	int r;

	if (dev < 0)
		return -1;
	r = ioctl(dev, BT86_GET_STATS, s);
	close(dev);
	return r;
}

static int vm_load(struct vm *v, const unsigned char *code,
		   const unsigned char *end, uint32_t mode)
{
	struct bt86_regs regs = { 0 };
	size_t len = end - code;

	memset(v->ram + LOAD_ADDR, 0xf4, 4096);		/* hlt after the payload */
	memcpy(v->ram + LOAD_ADDR, code, len);
	regs.rip = LOAD_ADDR;
	regs.rsp = STACK_TOP;
	regs.rflags = 2;
	regs.mode = mode;
	if (ioctl(v->vcpu, BT86_SET_REGS, &regs))
		return fail("SET_REGS: %s", strerror(errno));
	return 0;
}

static int expect_io(struct vm *v, int dir, int size, int port, uint32_t data)
{
	if (vm_run(v))
		return -1;
	if (v->run->exit_reason != BT86_EXIT_IO)
		return fail("exit %u (vector %u), want IO port %#x",
			    v->run->exit_reason, v->run->ex.vector, port);
	if (v->run->io.direction != dir || v->run->io.size != size ||
	    v->run->io.port != port ||
	    (dir == BT86_IO_OUT && v->run->io.data != data))
		return fail("io dir %u size %u port %#x data %#x, want %d %d %#x %#x",
			    v->run->io.direction, v->run->io.size,
			    v->run->io.port, v->run->io.data, dir, size, port,
			    data);
	return 0;
}

static int expect_hlt(struct vm *v)
{
	if (vm_run(v))
		return -1;
	if (v->run->exit_reason != BT86_EXIT_HLT)
		return fail("exit %u (vector %u error %#x cr2 %#llx rip %#llx), want HLT",
			    v->run->exit_reason, v->run->ex.vector,
			    v->run->ex.error_code,
			    (unsigned long long)v->run->ex.cr2,
			    (unsigned long long)v->run->ex.rip);
	return 0;
}

/* expect_exc() err: an IDT-slot error code for int $0x80 (see main()). */
#define ERR_IDT_0X80	(-2)

/* Expect an exception exit; vector2 is an acceptable alternative (or -1). */
static int expect_exc(struct vm *v, int vector, int vector2, long err,
		      uint64_t cr2)
{
	if (vm_run(v))
		return -1;
	if (v->run->exit_reason != BT86_EXIT_EXCEPTION)
		return fail("exit %u, want exception %d", v->run->exit_reason,
			    vector);
	if ((int)v->run->ex.vector != vector &&
	    (int)v->run->ex.vector != vector2)
		return fail("vector %u error %#x, want %d", v->run->ex.vector,
			    v->run->ex.error_code, vector);
	if (err == ERR_IDT_0X80 && !((v->run->ex.error_code & 7) == 2 &&
				     (v->run->ex.error_code >> 3 == 0x80 ||
				      v->run->ex.error_code >> 4 == 0x80)))
		return fail("error code %#x does not name IDT slot 0x80",
			    v->run->ex.error_code);
	if (err >= 0 && v->run->ex.error_code != (uint32_t)err)
		return fail("error code %#x, want %#lx", v->run->ex.error_code,
			    err);
	if (vector == 14 && v->run->ex.cr2 != cr2)
		return fail("cr2 %#llx, want %#llx",
			    (unsigned long long)v->run->ex.cr2,
			    (unsigned long long)cr2);
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

static int t_version(void)
{
	struct bt86_version ver;
	int dev = open("/dev/bt86", O_RDWR);

	if (dev < 0)
		return fail("open: %s", strerror(errno));
	if (ioctl(dev, BT86_GET_VERSION, &ver)) {
		close(dev);
		return fail("GET_VERSION: %s", strerror(errno));
	}
	close(dev);
	printf("INFO api %u caps %#x max_mem %llu la57 %d\n", ver.api_version,
	       ver.caps, (unsigned long long)ver.max_mem,
	       !!(ver.caps & BT86_CAP_LA57));
	if (ver.api_version != BT86_API_VERSION || ver.run_size != BT86_RUN_SIZE)
		return fail("version %u run_size %u", ver.api_version,
			    ver.run_size);
	if (!(ver.caps & BT86_CAP_COMPAT32) || !(ver.caps & BT86_CAP_LONG64))
		return fail("caps %#x", ver.caps);
	return 0;
}

static int t_io32(void)
{
	struct vm v;
	int r = -1;

	if (vm_open(&v) || vm_load(&v, p32_io, p32_io_end, BT86_MODE_COMPAT32))
		goto out;
	if (expect_io(&v, BT86_IO_OUT, 4, 0x80, 0x12345678) ||
	    expect_io(&v, BT86_IO_OUT, 1, 0x3f8, 0x41) ||
	    expect_io(&v, BT86_IO_OUT, 2, 0x3f8, 0xbeef) ||
	    expect_io(&v, BT86_IO_IN, 1, 0x60, 0))
		goto out;
	v.run->io.data = 0x42;
	if (expect_io(&v, BT86_IO_OUT, 1, 0x81, 0x42) ||
	    expect_io(&v, BT86_IO_IN, 4, 0x3f8, 0))
		goto out;
	v.run->io.data = 0xcafef00d;
	if (expect_io(&v, BT86_IO_OUT, 4, 0x82, 0xcafef00d) || expect_hlt(&v))
		goto out;
	r = 0;
out:
	vm_close(&v);
	return r;
}

/* A payload that must end in one exception exit. */
struct exc_case {
	const char *name;
	const unsigned char *code, *end;
	uint32_t mode;
	int vector, vector2;	/* vector2: an acceptable alternative, or -1 */
	long err;		/* -1: not checked; ERR_IDT_0X80 */
	uint64_t cr2;		/* checked for #PF */
	uint64_t rip;		/* 0: not checked */
};

static int t_exc(const struct exc_case *c)
{
	struct vm v;
	struct bt86_regs regs;
	int r = -1;

	if (vm_open(&v) || vm_load(&v, c->code, c->end, c->mode) ||
	    expect_exc(&v, c->vector, c->vector2, c->err, c->cr2))
		goto out;
	if (c->rip && v.run->ex.rip != c->rip) {
		fail("rip %#llx, want %#llx", (unsigned long long)v.run->ex.rip,
		     (unsigned long long)c->rip);
		goto out;
	}
	if (ioctl(v.vcpu, BT86_GET_REGS, &regs) || regs.rip != v.run->ex.rip) {
		fail("GET_REGS rip mismatch");
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

static int t_stack32(void)
{
	struct vm v;
	struct bt86_regs regs;
	int r = -1;

	if (vm_open(&v) || vm_load(&v, p32_stack, p32_stack_end, BT86_MODE_COMPAT32))
		goto out;
	if (ioctl(v.vcpu, BT86_GET_REGS, &regs))
		goto out;
	regs.rbx = 0x11111111;
	regs.rsi = 0x5151;
	regs.rdi = 0xd1d1;
	regs.rbp = 0xb0b0;
	if (ioctl(v.vcpu, BT86_SET_REGS, &regs) || expect_hlt(&v))
		goto out;
	if (ioctl(v.vcpu, BT86_GET_REGS, &regs)) {
		fail("GET_REGS: %s", strerror(errno));
		goto out;
	}
	if ((uint32_t)regs.rax != 0x1234abcd + 0x11111111 ||
	    regs.rsp != STACK_TOP || regs.rsi != 0x5151 || regs.rdi != 0xd1d1 ||
	    regs.rbp != 0xb0b0 || regs.mode != BT86_MODE_COMPAT32 ||
	    regs.rip != LOAD_ADDR + (size_t)(p32_stack_end - p32_stack)) {
		fail("regs rax %#llx rsp %#llx rip %#llx",
		     (unsigned long long)regs.rax, (unsigned long long)regs.rsp,
		     (unsigned long long)regs.rip);
		goto out;
	}
	if (*(uint32_t *)(v.ram + STACK_TOP - 4) != 0x1234abcd) {
		fail("guest push did not reach guest RAM");
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

static int t_io64(void)
{
	struct vm v;
	struct bt86_regs regs;
	int r = -1;

	if (vm_open(&v) || vm_load(&v, p64_io, p64_io_end, BT86_MODE_LONG64) ||
	    expect_io(&v, BT86_IO_OUT, 4, 0x80, 0x87654321) || expect_hlt(&v))
		goto out;
	if (ioctl(v.vcpu, BT86_GET_REGS, &regs) ||
	    regs.r15 != 0x123456789abcdef0ull || regs.mode != BT86_MODE_LONG64) {
		fail("r15 %#llx mode %u", (unsigned long long)regs.r15,
		     regs.mode);
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

static int t_to32(void)
{
	struct vm v;
	struct bt86_regs regs;
	int r = -1;

	if (vm_open(&v) || vm_load(&v, p64_to32, p64_to32_end, BT86_MODE_LONG64) ||
	    expect_hlt(&v))
		goto out;
	if (ioctl(v.vcpu, BT86_GET_REGS, &regs) ||
	    regs.mode != BT86_MODE_COMPAT32) {
		fail("mode %u after lret to 0x23", regs.mode);
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

static int t_regs_validation(void)
{
	struct vm v;
	struct bt86_regs regs = { 0 };
	int r = -1;

	if (vm_open(&v))
		goto out;
	regs.mode = 7;
	if (ioctl(v.vcpu, BT86_SET_REGS, &regs) != -1 || errno != EINVAL) {
		fail("bad mode accepted");
		goto out;
	}
	regs.mode = BT86_MODE_COMPAT32;
	regs.rip = 0x100000000ull;
	if (ioctl(v.vcpu, BT86_SET_REGS, &regs) != -1 || errno != EINVAL) {
		fail("compat rip above 4G accepted");
		goto out;
	}
	regs.mode = BT86_MODE_LONG64;
	regs.rip = 0xffffffff81000000ull;
	if (ioctl(v.vcpu, BT86_SET_REGS, &regs) != -1 || errno != EINVAL) {
		fail("kernel rip accepted");
		goto out;
	}
	regs.rip = 0x1000;
	regs.reserved[3] = 1;
	if (ioctl(v.vcpu, BT86_SET_REGS, &regs) != -1 || errno != EINVAL) {
		fail("reserved field accepted");
		goto out;
	}
	regs.reserved[3] = 0;
	regs.rflags = ~0ull;		/* IOPL, TF, VM, NT... must be filtered */
	if (ioctl(v.vcpu, BT86_SET_REGS, &regs) ||
	    ioctl(v.vcpu, BT86_GET_REGS, &regs)) {
		fail("SET/GET_REGS: %s", strerror(errno));
		goto out;
	}
	if ((regs.rflags & 0x3000) || (regs.rflags & 0x100) ||
	    !(regs.rflags & 0x200)) {
		fail("rflags %#llx: IOPL/TF kept or IF clear",
		     (unsigned long long)regs.rflags);
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void catch_alarm(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: RUN returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
}

static int t_signal(void)
{
	struct vm v;
	struct bt86_stats s0, s1;
	double t0, dt;
	int r = -1, ret;

	if (vm_open(&v) || vm_load(&v, p32_loop, p32_loop_end, BT86_MODE_COMPAT32))
		goto out;
	catch_alarm();
	get_stats(&s0);
	alarms = 0;
	alarm(1);
	t0 = now();
	ret = ioctl(v.vcpu, BT86_RUN, 0);
	dt = now() - t0;
	alarm(0);
	get_stats(&s1);
	printf("INFO signal: RUN returned after %.2f s, %llu host interrupts taken in the monitor\n",
	       dt, (unsigned long long)(s1.host_irqs - s0.host_irqs));
	if (ret != -1 || errno != EINTR) {
		fail("RUN returned %d errno %d, want EINTR", ret, errno);
		goto out;
	}
	if (v.run->exit_reason != BT86_EXIT_SIGNAL || alarms != 1) {
		fail("exit %u alarms %d", v.run->exit_reason, (int)alarms);
		goto out;
	}
	if (dt < 0.5 || dt > 5) {
		fail("took %.2f s", dt);
		goto out;
	}
	if (s1.host_irqs == s0.host_irqs) {
		fail("no host interrupt was taken in the monitor world");
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

/* Sum of the "NMI:" row of /proc/interrupts: NMIs Linux's handler saw. */
static long long linux_nmis(void)
{
	char line[1024];
	long long sum = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		while (*p == ' ')
			p++;
		if (strncmp(p, "NMI:", 4))
			continue;
		sum = 0;
		for (p += 4;; p = end) {
			long long n = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += n;
		}
	}
	if (f)
		fclose(f);
	return sum;
}

/*
 * The harness injects NMIs from the qemu monitor while this runs: those the
 * monitor world takes must reach Linux's NMI handler after the switch back.
 * qemu delivers them on LINT1, which Linux leaves unmasked on CPU 0 only.
 */
static int t_nmi(void)
{
	struct vm v;
	struct bt86_stats s0, s1;
	long long n0, n1;
	cpu_set_t cpus, old;
	int r = -1;

	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		return fail("cannot run on CPU 0: %s", strerror(errno));
	if (vm_open(&v) || vm_load(&v, p32_loop, p32_loop_end, BT86_MODE_COMPAT32))
		goto out;
	catch_alarm();
	get_stats(&s0);
	n0 = linux_nmis();
	alarm(3);
	if (ioctl(v.vcpu, BT86_RUN, 0) != -1 || errno != EINTR) {
		fail("RUN did not end with EINTR");
		goto out;
	}
	get_stats(&s1);
	n1 = linux_nmis();
	printf("INFO nmi: %llu NMIs taken in the monitor world, Linux counted %lld\n",
	       (unsigned long long)(s1.host_nmis - s0.host_nmis), n1 - n0);
	if (s1.host_nmis == s0.host_nmis) {
		fail("no NMI was taken in the monitor world");
		goto out;
	}
	if (n0 < 0 || n1 - n0 < (long long)(s1.host_nmis - s0.host_nmis)) {
		fail("Linux saw fewer NMIs than were handed to it");
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	sched_setaffinity(0, sizeof(old), &old);
	return r;
}

/* n round trips on p32_count; checks the guest counter; returns ns/trip. */
static int round_trips(int n, double *ns)
{
	struct vm v;
	struct bt86_regs regs;
	double t0;
	int i, r = -1;

	if (vm_open(&v) || vm_load(&v, p32_count, p32_count_end, BT86_MODE_COMPAT32))
		goto out;
	t0 = now();
	for (i = 0; i < n; i++) {
		if (vm_run(&v))
			goto out;
		if (v.run->exit_reason != BT86_EXIT_IO) {
			fail("trip %d: exit %u vector %u", i,
			     v.run->exit_reason, v.run->ex.vector);
			goto out;
		}
	}
	if (ns)
		*ns = (now() - t0) * 1e9 / n;
	if (ioctl(v.vcpu, BT86_GET_REGS, &regs) || regs.rbx != (uint64_t)n) {
		fail("guest counter %llu, want %d", (unsigned long long)regs.rbx,
		     n);
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

/* The cost of an ioctl that does not switch worlds, for comparison. */
static double null_ioctl_ns(int n)
{
	struct vm v;
	struct bt86_regs regs;
	double t0, ns = -1;
	int i;

	if (vm_open(&v) == 0) {
		t0 = now();
		for (i = 0; i < n; i++)
			ioctl(v.vcpu, BT86_GET_REGS, &regs);
		ns = (now() - t0) * 1e9 / n;
	}
	vm_close(&v);
	return ns;
}

static int t_roundtrips(void)
{
	double ns = 0;

	if (round_trips(10000, &ns))
		return -1;
	printf("INFO round trip (RUN ioctl + world switch + out exit): %.0f ns; GET_REGS ioctl alone: %.0f ns\n",
	       ns, null_ioctl_ns(10000));
	return 0;
}

static int t_two_processes(void)
{
	pid_t pid[2];
	int i, st, bad = 0;

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			return fail("fork: %s", strerror(errno));
		if (pid[i] == 0)
			_exit(round_trips(5000, NULL) ? 1 : 0);
	}
	for (i = 0; i < 2; i++) {
		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			bad++;
	}
	return bad ? fail("%d of 2 processes failed", bad) : 0;
}

/*
 * One VM, two vcpus running in two processes at once, while the parent
 * keeps adding and deleting a memory slot under them (each change makes
 * the running vcpu rebuild its monitor page tables before the next entry).
 */
static int t_two_vcpus(void)
{
	struct vm v;
	struct bt86_memory_region mr = { 0 };
	struct bt86_regs regs = { 0 };
	struct bt86_run *run1;
	uint8_t *extra;
	int vcpu1, st, i, r = -1;
	pid_t pid;

	if (vm_open(&v) || vm_load(&v, p32_count, p32_count_end,
				   BT86_MODE_COMPAT32))
		goto out;
	vcpu1 = ioctl(v.vm, BT86_CREATE_VCPU, 1);
	run1 = mmap(NULL, BT86_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vcpu1, 0);
	extra = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vcpu1 < 0 || run1 == MAP_FAILED || extra == MAP_FAILED) {
		fail("second vcpu: %s", strerror(errno));
		goto out;
	}
	regs.rip = LOAD_ADDR;
	regs.rsp = STACK_TOP - 0x1000;
	regs.mode = BT86_MODE_COMPAT32;
	if (ioctl(vcpu1, BT86_SET_REGS, &regs)) {
		fail("SET_REGS vcpu 1");
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 4000; i++)
			if (ioctl(vcpu1, BT86_RUN, 0) ||
			    run1->exit_reason != BT86_EXIT_IO)
				_exit(1);
		if (ioctl(vcpu1, BT86_GET_REGS, &regs) || regs.rbx != 4000)
			_exit(2);
		_exit(0);
	}
	mr.slot = 2;
	mr.gpa = 0x400000;
	mr.uaddr = (uintptr_t)extra;
	for (i = 0; i < 4000; i++) {
		if (i % 100 == 0) {
			mr.size = (i / 100) % 2 ? 0 : 1 << 16;
			if (ioctl(v.vm, BT86_SET_MEMORY, &mr)) {
				fail("SET_MEMORY while running: %s",
				     strerror(errno));
				break;
			}
		}
		if (vm_run(&v) || v.run->exit_reason != BT86_EXIT_IO) {
			fail("vcpu 0 trip %d: exit %u", i, v.run->exit_reason);
			break;
		}
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fail("vcpu 1 process status %#x", st);
		goto out;
	}
	if (i < 4000)
		goto out;
	if (ioctl(v.vcpu, BT86_GET_REGS, &regs) || regs.rbx != 4000) {
		fail("vcpu 0 counter %llu", (unsigned long long)regs.rbx);
		goto out;
	}
	munmap(run1, BT86_RUN_SIZE);
	close(vcpu1);
	munmap(extra, 1 << 16);
	r = 0;
out:
	vm_close(&v);
	return r;
}

static int expect_clean(const char *when)
{
	struct bt86_stats s;

	if (get_stats(&s))
		return fail("GET_STATS: %s", strerror(errno));
	if (s.vms || s.vcpus || s.pinned_pages || s.pt_pages || s.hostmap_pages)
		return fail("%s: %llu vms %llu vcpus %llu pinned %llu pt pages %llu mirrored pages live",
			    when, (unsigned long long)s.vms,
			    (unsigned long long)s.vcpus,
			    (unsigned long long)s.pinned_pages,
			    (unsigned long long)s.pt_pages,
			    (unsigned long long)s.hostmap_pages);
	return 0;
}

static int t_kill(void)
{
	int pfd[2], st;
	pid_t pid;
	char c;

	if (pipe(pfd))
		return fail("pipe");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		struct vm v;

		if (vm_open(&v) ||
		    vm_load(&v, p32_loop, p32_loop_end, BT86_MODE_COMPAT32))
			_exit(1);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		ioctl(v.vcpu, BT86_RUN, 0);
		_exit(2);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		waitpid(pid, &st, 0);
		return fail("child could not set up");
	}
	close(pfd[0]);
	usleep(300 * 1000);
	kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) ||
	    WTERMSIG(st) != SIGKILL)
		return fail("child status %#x", st);
	return expect_clean("after SIGKILL");
}

static int t_close_frees(void)
{
	struct vm v;
	struct bt86_stats s;
	int vcpu2;
	struct bt86_run *run;

	if (vm_open(&v) || vm_load(&v, p32_int3, p32_int3_end, BT86_MODE_COMPAT32) ||
	    expect_exc(&v, 3, -1, 0, 0))
		return -1;
	vcpu2 = ioctl(v.vm, BT86_CREATE_VCPU, 5);
	if (vcpu2 < 0)
		return fail("second vcpu: %s", strerror(errno));
	if (get_stats(&s) || s.vms != 1 || s.vcpus != 2 ||
	    s.pinned_pages != RAM_SIZE / 4096 || !s.pt_pages)
		return fail("stats while live: vms %llu vcpus %llu pinned %llu",
			    (unsigned long long)s.vms,
			    (unsigned long long)s.vcpus,
			    (unsigned long long)s.pinned_pages);
	/* Close the VM first: the vcpus keep it alive and still run. */
	close(v.vm);
	v.vm = -1;
	if (vm_load(&v, p32_ud, p32_ud_end, BT86_MODE_COMPAT32) ||
	    expect_exc(&v, 6, -1, 0, 0))
		return -1;
	run = v.run;
	v.run = NULL;
	close(vcpu2);
	vm_close(&v);
	/* The run page outlives its fd while mapped. */
	if (run->exit_reason != BT86_EXIT_EXCEPTION)
		return fail("run page changed after close");
	munmap(run, BT86_RUN_SIZE);
	return expect_clean("after close");
}

/* SET_MEMORY with these values must fail with errno err. */
static int bad_region(const char *what, int vm, uint32_t slot, uint32_t flags,
		      uint64_t gpa, uint64_t size, const void *uaddr, int err)
{
	struct bt86_memory_region mr = {
		.slot = slot, .flags = flags, .gpa = gpa, .size = size,
		.uaddr = (uintptr_t)uaddr,
	};

	if (ioctl(vm, BT86_SET_MEMORY, &mr) != -1 || errno != err)
		return fail("%s: SET_MEMORY slot %u gpa %#llx size %#llx: errno %d, want %d",
			    what, slot, (unsigned long long)gpa,
			    (unsigned long long)size, errno, err);
	return 0;
}

static int t_memory_validation(void)
{
	struct vm v;
	struct bt86_memory_region mr;
	uint8_t *ro, *buf;
	int r = -1;

	if (vm_open(&v))
		goto out;
	buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 1 << 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || ro == MAP_FAILED) {
		fail("mmap");
		goto out;
	}
	{
		const struct {
			const char *what;
			uint32_t slot, flags;
			uint64_t gpa, size;
			const void *uaddr;
			int err;
		} bad[] = {
			{ "unaligned gpa", 1, 0, 0x100001, 4096, buf, EINVAL },
			{ "unaligned size", 1, 0, 0x100000, 100, buf, EINVAL },
			{ "unaligned uaddr", 1, 0, 0x100000, 4096, buf + 8, EINVAL },
			{ "slot 8", 8, 0, 0x100000, 4096, buf, EINVAL },
			{ "flags", 1, 1, 0x100000, 4096, buf, EINVAL },
			{ "past 4 GiB", 1, 0, 0xfffff000, 0x2000, buf, EINVAL },
			{ "2 GiB", 1, 0, 0x100000, 1ull << 31, buf, EINVAL },
			{ "overlap", 1, 0, 0x80000, 4096, buf, EEXIST },
			{ "unmapped", 1, 0, 0x100000, 4096, (void *)0x10000, EFAULT },
			{ "kernel", 1, 0, 0x100000, 4096,
			  (void *)0xffffffff81000000ull, EFAULT },
			{ "read-only", 1, 0, 0x100000, 1 << 16, ro, EFAULT },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (bad_region(bad[i].what, v.vm, bad[i].slot,
				       bad[i].flags, bad[i].gpa, bad[i].size,
				       bad[i].uaddr, bad[i].err))
				goto out;
		}
	}
	munmap(buf + 4096, 4096);
	if (bad_region("hole", v.vm, 1, 0, 0x100000, 3 * 4096, buf, EFAULT))
		goto out;
	if (mmap(buf + 4096, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		fail("remap hole");
		goto out;
	}
	memset(&mr, 0, sizeof(mr));
	mr.slot = 1;
	mr.gpa = 0x200000;
	mr.size = 1 << 20;
	mr.uaddr = (uintptr_t)buf;
	if (ioctl(v.vm, BT86_SET_MEMORY, &mr)) {
		fail("valid slot 1: %s", strerror(errno));
		goto out;
	}
	/* Guest code in slot 1 runs; then delete it and the same code faults. */
	memcpy(buf, p32_int3, 1);
	{
		struct bt86_regs regs = { .rip = 0x200000, .rsp = STACK_TOP,
					  .mode = BT86_MODE_COMPAT32 };

		if (ioctl(v.vcpu, BT86_SET_REGS, &regs) ||
		    expect_exc(&v, 3, -1, 0, 0))
			goto out;
		mr.size = 0;
		if (ioctl(v.vm, BT86_SET_MEMORY, &mr)) {
			fail("delete slot 1: %s", strerror(errno));
			goto out;
		}
		if (ioctl(v.vcpu, BT86_SET_REGS, &regs) ||
		    expect_exc(&v, 14, -1, -1, 0x200000))
			goto out;
		/* Instruction fetch: P=0, U=1; I/D is set only with NX or SMEP. */
		if ((v.run->ex.error_code & ~0x10u) != 4) {
			fail("fetch fault error code %#x", v.run->ex.error_code);
			goto out;
		}
	}
	r = 0;
out:
	vm_close(&v);
	return r;
}

static int t_fd_types(void)
{
	struct vm v;
	struct bt86_version ver;
	struct bt86_regs regs;
	int r = -1, devnull;
	void *p;

	if (vm_open(&v))
		goto out;
	if (ioctl(v.dev, BT86_RUN, 0) != -1 || errno != ENOTTY ||
	    ioctl(v.dev, BT86_SET_MEMORY, NULL) != -1 || errno != ENOTTY ||
	    ioctl(v.vm, BT86_RUN, 0) != -1 || errno != ENOTTY ||
	    ioctl(v.vm, BT86_GET_VERSION, &ver) != -1 || errno != ENOTTY ||
	    ioctl(v.vcpu, BT86_CREATE_VCPU, 1) != -1 || errno != ENOTTY ||
	    ioctl(v.vcpu, BT86_CREATE_VM, 0) != -1 || errno != ENOTTY) {
		fail("wrong fd type not refused with ENOTTY");
		goto out;
	}
	if (ioctl(v.dev, BT86_GET_VERSION, NULL) != -1 || errno != EFAULT ||
	    ioctl(v.dev, BT86_GET_VERSION, (void *)0xffffffff81000000ull) != -1 ||
	    errno != EFAULT ||
	    ioctl(v.vcpu, BT86_SET_REGS, (void *)8) != -1 || errno != EFAULT ||
	    ioctl(v.vcpu, BT86_GET_REGS, (void *)0xffff888000000000ull) != -1 ||
	    errno != EFAULT) {
		fail("bad pointer not refused with EFAULT");
		goto out;
	}
	if (ioctl(v.dev, BT86_CREATE_VM, 1) != -1 || errno != EINVAL ||
	    ioctl(v.vcpu, BT86_RUN, 1) != -1 || errno != EINVAL ||
	    ioctl(v.vm, BT86_CREATE_VCPU, 0) != -1 || errno != EEXIST ||
	    ioctl(v.vm, BT86_CREATE_VCPU, 8) != -1 || errno != EINVAL ||
	    ioctl(v.vm, BT86_CREATE_VCPU, -1L) != -1 || errno != EINVAL) {
		fail("bad argument not refused");
		goto out;
	}
	p = mmap(NULL, 2 * BT86_RUN_SIZE, PROT_READ, MAP_SHARED, v.vcpu, 0);
	if (p != MAP_FAILED) {
		fail("2-page run mapping accepted");
		goto out;
	}
	p = mmap(NULL, BT86_RUN_SIZE, PROT_READ, MAP_SHARED, v.vcpu, 4096);
	if (p != MAP_FAILED) {
		fail("run mapping at offset 4096 accepted");
		goto out;
	}
	p = mmap(NULL, BT86_RUN_SIZE, PROT_READ, MAP_SHARED, v.vm, 0);
	if (p != MAP_FAILED) {
		fail("VM fd mmap accepted");
		goto out;
	}
	devnull = open("/dev/null", O_RDWR);
	if (ioctl(devnull, BT86_GET_REGS, &regs) != -1) {
		fail("/dev/null took BT86_GET_REGS");
		goto out;
	}
	close(devnull);
	r = 0;
out:
	vm_close(&v);
	return r;
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void quick_itimer(int usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static int t_fuzz_ioctl(void)
{
	static const unsigned long cmds[] = {
		BT86_GET_VERSION, BT86_CREATE_VM, BT86_GET_STATS,
		BT86_SET_MEMORY, BT86_CREATE_VCPU, BT86_GET_REGS,
		BT86_SET_REGS, BT86_RUN,
	};
	struct vm v;
	uint64_t buf[64];
	uint8_t *mem;
	int fds[4], i, iters = 20000, base, r = -1;

	if (vm_open(&v))
		goto out;
	vm_load(&v, p32_loop, p32_loop_end, BT86_MODE_COMPAT32);
	mem = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fds[0] = v.dev;
	fds[1] = v.vm;
	fds[2] = v.vcpu;
	fds[3] = open("/dev/null", O_RDWR);
	base = fcntl(0, F_DUPFD, 0);
	close(base);
	catch_alarm();
	quick_itimer(20000);
	for (i = 0; i < iters; i++) {
		unsigned long cmd, arg;
		uint64_t k = rnd();
		int fd = fds[k % 4], ret, j;

		switch ((k >> 8) % 4) {
		case 0:
			cmd = cmds[(k >> 16) % 8];
			break;
		case 1:	/* our type, random number, size and direction */
			cmd = _IOC((k >> 16) & 3, BT86_IO, (k >> 20) & 0x3f,
				   (k >> 28) & 0x3fff);
			break;
		case 2:	/* a known command with a wrong size */
			cmd = (cmds[(k >> 16) % 8] & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			      ((k >> 24) & _IOC_SIZEMASK) << _IOC_SIZESHIFT;
			break;
		default:
			cmd = (uint32_t)rnd();
			break;
		}
		for (j = 0; j < 64; j++)
			buf[j] = rnd();
		/* Sometimes make SET_MEMORY / SET_REGS plausible. */
		if (k & (1ull << 40)) {
			buf[0] = rnd() % 10;			/* slot, flags */
			buf[1] = (rnd() % 64) << 12;		/* gpa */
			buf[2] = (rnd() % 17) << 12;		/* size */
			buf[3] = (uintptr_t)mem + ((rnd() % 20) << 12);
		}
		if (k & (1ull << 41)) {
			memset(&buf[18], 0, 8 * 8);
			buf[16] = rnd() % 0x20000;		/* rip */
			buf[18] = 1 + rnd() % 2;		/* mode */
		}
		switch ((k >> 44) % 6) {
		case 0:
			arg = 0;
			break;
		case 1:
			arg = rnd() % 16;
			break;
		case 2:
			arg = rnd();
			break;
		case 3:
			arg = 0xffffffff81000000ull + (rnd() & 0xffff);
			break;
		default:
			arg = (uintptr_t)buf;
			break;
		}
		ret = ioctl(fd, cmd, arg);
		if (ret > fds[3])	/* a new VM or vcpu fd */
			close(ret);
		if (i % 5000 == 0) {	/* the vcpu still works */
			vm_load(&v, p32_int3, p32_int3_end, BT86_MODE_COMPAT32);
			if (ioctl(v.vcpu, BT86_RUN, 0) == 0 &&
			    v.run->exit_reason == BT86_EXIT_INTERNAL) {
				fail("monitor fault during fuzzing");
				goto out_timer;
			}
		}
	}
	r = 0;
out_timer:
	quick_itimer(0);
	close(fds[3]);
	munmap(mem, 1 << 16);
out:
	vm_close(&v);
	if (r == 0)
		r = expect_clean("after ioctl fuzzing");
	return r;
}

/* Random bytes as guest code: every exception kind through the monitor. */
static int t_fuzz_code(void)
{
	struct vm v;
	struct bt86_regs regs;
	unsigned int seen[256] = { 0 };
	int i, j, r = -1, kinds = 0;

	if (vm_open(&v))
		goto out;
	catch_alarm();
	quick_itimer(20000);
	for (i = 0; i < 1500; i++) {
		for (j = 0; j < 4096; j += 8)
			*(uint64_t *)(v.ram + LOAD_ADDR + j) = rnd();
		memset(&regs, 0, sizeof(regs));
		regs.rax = rnd();
		regs.rbx = rnd() % RAM_SIZE;
		regs.rcx = rnd() % 64;
		regs.rsi = rnd() % RAM_SIZE;
		regs.rdi = rnd() % RAM_SIZE;
		regs.rsp = STACK_TOP;
		regs.rip = LOAD_ADDR + rnd() % 4000;
		regs.rflags = rnd();
		regs.mode = (i & 1) ? BT86_MODE_LONG64 : BT86_MODE_COMPAT32;
		if (ioctl(v.vcpu, BT86_SET_REGS, &regs)) {
			fail("SET_REGS: %s", strerror(errno));
			goto out_timer;
		}
		for (j = 0; j < 20; j++) {
			if (ioctl(v.vcpu, BT86_RUN, 0))
				break;		/* EINTR: a runaway loop */
			if (v.run->exit_reason == BT86_EXIT_INTERNAL) {
				fail("monitor fault: vector %u error %#x rip %#llx",
				     v.run->ex.vector, v.run->ex.error_code,
				     (unsigned long long)v.run->ex.rip);
				goto out_timer;
			}
			if (v.run->exit_reason == BT86_EXIT_EXCEPTION) {
				if (!seen[v.run->ex.vector & 255]++)
					kinds++;
				break;
			}
		}
	}
	printf("INFO random code: %d exception kinds:", kinds);
	for (i = 0; i < 256; i++)
		if (seen[i])
			printf(" %d(x%u)", i, seen[i]);
	printf("\n");
	r = kinds >= 4 ? 0 : fail("only %d exception kinds", kinds);
out_timer:
	quick_itimer(0);
out:
	vm_close(&v);
	return r;
}

static const struct exc_case exc_cases[] = {
	{ "int3-32", p32_int3, p32_int3_end, BT86_MODE_COMPAT32, 3, -1, 0, 0,
	  LOAD_ADDR + 1 },
	/*
	 * The error code of a #GP for a DPL-violating int $n names IDT slot n
	 * (n * 8 + 2); qemu's TCG reports n * 16 + 2 in long mode, so both
	 * are accepted.
	 */
	{ "gp-int80-32", p32_int80, p32_int80_end, BT86_MODE_COMPAT32, 13, -1,
	  ERR_IDT_0X80, 0, LOAD_ADDR },
	{ "gp-cli-32", p32_cli, p32_cli_end, BT86_MODE_COMPAT32, 13, -1, 0, 0,
	  LOAD_ADDR },
	{ "pf-write-32", p32_pf_write, p32_pf_write_end, BT86_MODE_COMPAT32, 14,
	  -1, 6, 0x40000000, LOAD_ADDR },	/* 6: write, user, not present */
	{ "pf-read-32", p32_pf_read, p32_pf_read_end, BT86_MODE_COMPAT32, 14,
	  -1, 4, 0x40001000, LOAD_ADDR },	/* 4: read, user, not present */
	{ "ud-32", p32_ud, p32_ud_end, BT86_MODE_COMPAT32, 6, -1, 0, 0,
	  LOAD_ADDR },
	{ "de-32", p32_de, p32_de_end, BT86_MODE_COMPAT32, 0, -1, 0, 0, 0 },
	{ "syscall-32", p32_syscall, p32_syscall_end, BT86_MODE_COMPAT32, 6, -1,
	  -1, 0, LOAD_ADDR },
	{ "sysenter-32", p32_sysenter, p32_sysenter_end, BT86_MODE_COMPAT32, 13,
	  6, -1, 0, LOAD_ADDR },
	{ "no-64bit-cs-32", p32_ljmp64, p32_ljmp64_end, BT86_MODE_COMPAT32, 13,
	  11, 0x30, 0, LOAD_ADDR },
	{ "fpu-nm-32", p32_fpu, p32_fpu_end, BT86_MODE_COMPAT32, 7, -1, 0, 0,
	  LOAD_ADDR },
	{ "int3-64", p64_int3, p64_int3_end, BT86_MODE_LONG64, 3, -1, 0, 0,
	  LOAD_ADDR + 1 },
	{ "gp-int80-64", p64_int80, p64_int80_end, BT86_MODE_LONG64, 13, -1,
	  ERR_IDT_0X80, 0, LOAD_ADDR },
	{ "pf-write-64", p64_pf_write, p64_pf_write_end, BT86_MODE_LONG64, 14,
	  -1, 6, 0x40000000, LOAD_ADDR },
	{ "pf-kernel-64", p64_kernel, p64_kernel_end, BT86_MODE_LONG64, 14, -1,
	  -1, 0xffffffff81000000ull, LOAD_ADDR },
	{ "ud-64", p64_ud, p64_ud_end, BT86_MODE_LONG64, 6, -1, 0, 0,
	  LOAD_ADDR },
	{ "syscall-64", p64_syscall, p64_syscall_end, BT86_MODE_LONG64, 6, -1,
	  -1, 0, LOAD_ADDR },
	{ "wrgsbase-64", p64_wrgsbase, p64_wrgsbase_end, BT86_MODE_LONG64, 6,
	  -1, -1, 0, LOAD_ADDR },
};

/* ---- API v2: host mirroring --------------------------------------------- */

static int t_hm_rw(void)
{
	struct hm h;
	struct bt86_regs regs;
	struct bt86_stats s;
	uint64_t *buf = NULL, *buf2 = NULL;
	int r = -1;

	if (hm_open(&h))
		goto out;
	buf = hm_page(8192);
	buf2 = hm_page(4096);
	if (!buf || !buf2) {
		fail("mmap");
		goto out;
	}
	buf[0] = 41;
	hm_load(&h, h64_rw, h64_rw_end, (uintptr_t)buf, (uintptr_t)buf2, 0, 0);
	if (hm_int3(&h, h64_rw, h64_rw_end))
		goto out;
	if (buf[1] != 42 || buf2[0] != 42) {
		fail("user space sees %llu %llu, want 42 42",
		     (unsigned long long)buf[1], (unsigned long long)buf2[0]);
		goto out;
	}
	/* code, stack, buf, buf2 */
	if (h.v.run->host_fills < 4 || h.v.run->host_fill_failures) {
		fail("host_fills %llu failures %llu",
		     (unsigned long long)h.v.run->host_fills,
		     (unsigned long long)h.v.run->host_fill_failures);
		goto out;
	}
	if (ioctl(h.v.vcpu, BT86_GET_REGS, &regs) ||
	    memcmp(&regs, &h.v.run->regs, sizeof(regs)) || regs.rax != 42 ||
	    regs.rbx != 42 || regs.rdi != (uintptr_t)buf ||
	    regs.rsp != (uintptr_t)h.stack + HM_STACK ||
	    regs.mode != BT86_MODE_LONG64) {
		fail("run->regs: rax %llu rbx %llu rsp %#llx, or differs from GET_REGS",
		     (unsigned long long)h.v.run->regs.rax,
		     (unsigned long long)h.v.run->regs.rbx,
		     (unsigned long long)h.v.run->regs.rsp);
		goto out;
	}
	if (get_stats(&s) || s.hostmap_pages < 4 || s.host_fills < 4) {
		fail("stats: hostmap_pages %llu host_fills %llu",
		     (unsigned long long)s.hostmap_pages,
		     (unsigned long long)s.host_fills);
		goto out;
	}
	/* The same payload again: everything is mirrored, no new fill. */
	{
		uint64_t fills = h.v.run->host_fills;

		hm_load(&h, h64_rw, h64_rw_end, (uintptr_t)buf,
			(uintptr_t)buf2, 0, 0);
		buf[0] = 99;
		if (hm_int3(&h, h64_rw, h64_rw_end))
			goto out;
		if (buf[1] != 100 || h.v.run->host_fills != fills) {
			fail("second run: buf[1] %llu, %llu new fills",
			     (unsigned long long)buf[1],
			     (unsigned long long)(h.v.run->host_fills - fills));
			goto out;
		}
	}
	hm_close(&h);
	if (get_stats(&s) || s.hostmap_pages) {
		fail("%llu mirrored pages live after close",
		     (unsigned long long)s.hostmap_pages);
		goto out;
	}
	r = 0;
out:
	hm_close(&h);
	if (buf)
		munmap(buf, 8192);
	if (buf2)
		munmap(buf2, 4096);
	return r;
}

static int t_hm_mprotect(void)
{
	struct hm h;
	uint64_t *buf = NULL, fails;
	int r = -1;

	if (hm_open(&h) || !(buf = hm_page(4096)))
		goto out;
	hm_load(&h, h64_store, h64_store_end, (uintptr_t)buf, 0, 0x1111, 0);
	if (hm_int3(&h, h64_store, h64_store_end))
		goto out;
	if (buf[0] != 0x1111) {
		fail("first store: %#llx", (unsigned long long)buf[0]);
		goto out;
	}
	if (mprotect(buf, 4096, PROT_READ)) {
		fail("mprotect: %s", strerror(errno));
		goto out;
	}
	fails = h.v.run->host_fill_failures;
	hm_load(&h, h64_store, h64_store_end, (uintptr_t)buf, 0, 0x2222, 0);
	if (hm_pf(&h, (uintptr_t)buf, 2 | 4))	/* W, U */
		goto out;
	if (buf[0] != 0x1111 || h.v.run->ex.rip != (uintptr_t)h.code ||
	    h.v.run->host_fill_failures != fails + 1) {
		fail("after the refused store: %#llx, rip %#llx, %llu failures",
		     (unsigned long long)buf[0],
		     (unsigned long long)h.v.run->ex.rip,
		     (unsigned long long)(h.v.run->host_fill_failures - fails));
		goto out;
	}
	if (mprotect(buf, 4096, PROT_READ | PROT_WRITE)) {
		fail("mprotect back: %s", strerror(errno));
		goto out;
	}
	if (hm_int3(&h, h64_store, h64_store_end))
		goto out;
	if (buf[0] != 0x2222) {
		fail("store after mprotect back: %#llx", (unsigned long long)buf[0]);
		goto out;
	}
	r = 0;
out:
	hm_close(&h);
	if (buf)
		munmap(buf, 4096);
	return r;
}

static int t_hm_remap(void)
{
	const uint64_t gib = 1ull << 30;
	struct hm h;
	struct bt86_stats s0, s1;
	uint64_t *buf = NULL;
	uint8_t *big = NULL;
	double t0, dt;
	int r = -1;

	if (hm_open(&h) || !(buf = hm_page(4096)))
		goto out;
	buf[0] = 0xaaaa;
	hm_load(&h, h64_load, h64_load_end, (uintptr_t)buf, 0, 0, 0);
	if (hm_int3(&h, h64_load, h64_load_end))
		goto out;
	if (h.v.run->regs.rax != 0xaaaa) {
		fail("read %#llx", (unsigned long long)h.v.run->regs.rax);
		goto out;
	}
	if (munmap(buf, 4096) ||
	    mmap(buf, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf) {
		fail("remap: %s", strerror(errno));
		goto out;
	}
	buf[0] = 0xbbbb;
	hm_load(&h, h64_load, h64_load_end, (uintptr_t)buf, 0, 0, 0);
	if (hm_int3(&h, h64_load, h64_load_end))
		goto out;
	if (h.v.run->regs.rax != 0xbbbb) {
		fail("after munmap + mmap the payload read %#llx, want 0xbbbb (stale mirror)",
		     (unsigned long long)h.v.run->regs.rax);
		goto out;
	}

	/* A 64 GiB view touched at both ends: the zap walk skips the hole. */
	big = mmap(NULL, 64 * gib, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big == MAP_FAILED) {
		big = NULL;
		fail("mmap 64 GiB: %s", strerror(errno));
		goto out;
	}
	big[0] = 1;
	big[40 * gib] = 2;
	hm_load(&h, h64_load, h64_load_end, (uintptr_t)big, 0, 0, 0);
	if (hm_int3(&h, h64_load, h64_load_end) || h.v.run->regs.rax != 1)
		goto out;
	hm_load(&h, h64_load, h64_load_end, (uintptr_t)(big + 40 * gib), 0, 0, 0);
	if (hm_int3(&h, h64_load, h64_load_end) || h.v.run->regs.rax != 2) {
		fail("read %#llx at +40 GiB", (unsigned long long)h.v.run->regs.rax);
		goto out;
	}
	get_stats(&s0);
	t0 = now();
	munmap(big, 64 * gib);
	dt = now() - t0;
	big = NULL;
	get_stats(&s1);
	printf("INFO hostmap: munmap of a 64 GiB view with 2 mirrored pages: %.0f us\n",
	       dt * 1e6);
	if (s0.hostmap_pages - s1.hostmap_pages != 2) {
		fail("munmap of the view zapped %lld mirrored pages, want 2",
		     (long long)(s0.hostmap_pages - s1.hostmap_pages));
		goto out;
	}
	r = 0;
out:
	hm_close(&h);
	if (buf)
		munmap(buf, 4096);
	if (big)
		munmap(big, 64 * gib);
	return r;
}

static int t_hm_nx(void)
{
	struct hm h;
	uint64_t *buf = NULL, *buf2 = NULL;
	int r = -1;

	if (hm_open(&h) || !(buf = hm_page(4096)) || !(buf2 = hm_page(4096)))
		goto out;
	buf[0] = 0xc3c3c3c3c3c3c3c3ull;		/* ret ret ... */
	buf2[0] = 0xc3c3c3c3c3c3c3c3ull;
	/* Not mirrored yet: refused without a fill. */
	hm_load(&h, h64_jmp, h64_jmp_end, (uintptr_t)buf2, 0, 0, 0);
	if (hm_pf(&h, (uintptr_t)buf2, 0x10 | 4))	/* I/D, U */
		goto out;
	/* Mirrored (by a read) and NX: a protection fault. */
	hm_load(&h, h64_load, h64_load_end, (uintptr_t)buf, 0, 0, 0);
	if (hm_int3(&h, h64_load, h64_load_end))
		goto out;
	hm_load(&h, h64_jmp, h64_jmp_end, (uintptr_t)buf, 0, 0, 0);
	if (hm_pf(&h, (uintptr_t)buf, 0x10 | 4 | 1))	/* I/D, U, P */
		goto out;
	/* The exec page is never writable through the mirror. */
	hm_load(&h, h64_store, h64_store_end, (uintptr_t)h.code + 2048, 0, 7, 0);
	if (hm_pf(&h, (uintptr_t)h.code + 2048, 2 | 4 | 1))	/* W, U, P */
		goto out;
	if (h.code[2048] != 0xcc) {
		fail("guest wrote into its exec page");
		goto out;
	}
	r = 0;
out:
	hm_close(&h);
	if (buf)
		munmap(buf, 4096);
	if (buf2)
		munmap(buf2, 4096);
	return r;
}

/* A slot change rebuilds the monitor tables: the mirror is zapped, not leaked. */
static int t_hm_rebuild(void)
{
	struct hm h;
	struct bt86_memory_region mr = { 0 };
	struct bt86_stats s0, s1;
	uint64_t *buf = NULL, *buf2 = NULL, fills;
	uint8_t *extra = NULL;
	int r = -1;

	if (hm_open(&h) || !(buf = hm_page(4096)) || !(buf2 = hm_page(4096)) ||
	    !(extra = hm_page(1 << 16)))
		goto out;
	hm_load(&h, h64_rw, h64_rw_end, (uintptr_t)buf, (uintptr_t)buf2, 0, 0);
	if (hm_int3(&h, h64_rw, h64_rw_end) || get_stats(&s0))
		goto out;
	mr.slot = 3;
	mr.gpa = 0x400000;
	mr.size = 1 << 16;
	mr.uaddr = (uintptr_t)extra;
	if (ioctl(h.v.vm, BT86_SET_MEMORY, &mr)) {
		fail("SET_MEMORY: %s", strerror(errno));
		goto out;
	}
	fills = h.v.run->host_fills;
	hm_load(&h, h64_rw, h64_rw_end, (uintptr_t)buf, (uintptr_t)buf2, 0, 0);
	if (hm_int3(&h, h64_rw, h64_rw_end) || get_stats(&s1))
		goto out;
	if (h.v.run->host_fills - fills < 4 ||
	    s1.hostmap_pages != s0.hostmap_pages) {
		fail("after the rebuild: %llu refills, mirrored pages %llu -> %llu",
		     (unsigned long long)(h.v.run->host_fills - fills),
		     (unsigned long long)s0.hostmap_pages,
		     (unsigned long long)s1.hostmap_pages);
		goto out;
	}
	r = 0;
out:
	hm_close(&h);
	if (buf)
		munmap(buf, 4096);
	if (buf2)
		munmap(buf2, 4096);
	if (extra)
		munmap(extra, 1 << 16);
	return r;
}

/* BT86_RUN by hand with the caller's own %xmm0 = mine; returns it after. */
static long run_with_xmm0(int vcpu, const uint8_t mine[16], uint8_t after[16])
{
	long ret;

	asm volatile("movdqu %[mine], %%xmm0\n\t"
		     "syscall\n\t"
		     "movdqu %%xmm0, %[after]"
		     : "=a" (ret), [after] "=m" (*(uint8_t (*)[16])after)
		     : "a" ((long)__NR_ioctl), "D" ((long)vcpu),
		       "S" ((long)BT86_RUN), "d" (0L),
		       [mine] "m" (*(const uint8_t (*)[16])mine)
		     : "rcx", "r11", "memory", "xmm0");
	return ret;
}

static int t_hm_sse(void)
{
	static const uint8_t pat[16] = "guest xmm0 ok!!";
	static const uint8_t pat1[16] = "xmm1 via run.fx";
	static const uint8_t junk[16] = "host's own xmm0";
	struct hm h;
	uint8_t *out = NULL, after[16];
	uint32_t mxcsr;
	int r = -1;

	if (hm_open(&h) || !(out = hm_page(4096)))
		goto out;
	memcpy(&mxcsr, h.v.run->fx + 24, 4);
	if (*(uint16_t *)h.v.run->fx != 0x37f || mxcsr != 0x1f80) {
		fail("initial fx: FCW %#x MXCSR %#x",
		     *(uint16_t *)h.v.run->fx, mxcsr);
		goto out;
	}
	memcpy(out + 64, pat, 16);
	hm_load(&h, h64_sse_load, h64_sse_load_end, (uintptr_t)out + 64, 0, 0, 0);
	if (hm_int3(&h, h64_sse_load, h64_sse_load_end))
		goto out;
	if (memcmp(h.v.run->fx + 160, pat, 16)) {	/* XMM0 in the image */
		fail("run->fx does not show the guest's xmm0");
		goto out;
	}
	/* User space edits xmm1 in the image; reserved MXCSR bits are dropped. */
	memcpy(h.v.run->fx + 176, pat1, 16);
	mxcsr = 0xffffffff;
	memcpy(h.v.run->fx + 24, &mxcsr, 4);
	hm_load(&h, h64_sse_store, h64_sse_store_end, 0, (uintptr_t)out, 0, 0);
	if (run_with_xmm0(h.v.vcpu, junk, after)) {
		fail("RUN failed");
		goto out;
	}
	if (h.v.run->exit_reason != BT86_EXIT_EXCEPTION || h.v.run->ex.vector != 3) {
		fail("exit %u vector %u, want int3", h.v.run->exit_reason,
		     h.v.run->ex.vector);
		goto out;
	}
	if (memcmp(out, pat, 16) || memcmp(out + 16, pat1, 16)) {
		fail("guest xmm0/xmm1 did not survive the exit / the fx edit");
		goto out;
	}
	if (memcmp(after, junk, 16)) {
		fail("the guest clobbered the host process's xmm0");
		goto out;
	}
	memcpy(&mxcsr, h.v.run->fx + 24, 4);
	if (mxcsr & 0xffff0000) {
		fail("reserved MXCSR bits kept: %#x", mxcsr);
		goto out;
	}
	r = 0;
out:
	hm_close(&h);
	if (out)
		munmap(out, 4096);
	return r;
}

static int t_hm_api(void)
{
	struct vm v;
	struct bt86_version ver;
	struct bt86_exec_region er = { 0 };
	struct hm h;
	int r = -1, st;
	pid_t pid;
	size_t i;
	static const struct {
		const char *what;
		struct bt86_exec_region er;
	} bad[] = {
		{ "index 4", { 4, 0, 1ull << 40, 4096 } },
		{ "flags", { 0, 1, 1ull << 40, 4096 } },
		{ "unaligned uaddr", { 0, 0, (1ull << 40) + 8, 4096 } },
		{ "unaligned size", { 0, 0, 1ull << 40, 100 } },
		{ "below 4 GiB", { 0, 0, 0x100000, 4096 } },
		{ "wraps", { 0, 0, 0xfffffffffffff000ull, 0x2000 } },
		{ "kernel half", { 0, 0, 1ull << 60, 4096 } },
	};

	memset(&h, 0, sizeof(h));
	h.v.dev = h.v.vm = h.v.vcpu = -1;
	if (vm_open(&v))
		goto out;
	if (ioctl(v.dev, BT86_GET_VERSION, &ver) || ver.api_version != 2 ||
	    !(ver.caps & BT86_CAP_HOSTMAP)) {
		fail("version %u caps %#x", ver.api_version, ver.caps);
		goto out;
	}
	er.uaddr = 1ull << 40;
	er.size = 4096;
	if (ioctl(v.vcpu, BT86_SET_EXEC, &er) != -1 || errno != EINVAL) {
		fail("SET_EXEC before ENABLE_HOSTMAP accepted");
		goto out;
	}
	if (ioctl(v.vcpu, BT86_ENABLE_HOSTMAP, 1) != -1 || errno != EINVAL) {
		fail("ENABLE_HOSTMAP arg 1 accepted");
		goto out;
	}
	if (ioctl(v.vcpu, BT86_ENABLE_HOSTMAP, 0)) {
		fail("ENABLE_HOSTMAP: %s", strerror(errno));
		goto out;
	}
	if (ioctl(v.vcpu, BT86_ENABLE_HOSTMAP, 0) != -1 || errno != EBUSY) {
		fail("second ENABLE_HOSTMAP: errno %d, want EBUSY", errno);
		goto out;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ioctl(v.vcpu, BT86_SET_EXEC, &bad[i].er) != -1 ||
		    errno != EINVAL) {
			fail("SET_EXEC %s accepted", bad[i].what);
			goto out;
		}
	}
	if (ioctl(v.vcpu, BT86_SET_EXEC, &er) ||
	    (er.size = 0, ioctl(v.vcpu, BT86_SET_EXEC, &er))) {
		fail("valid SET_EXEC / delete: %s", strerror(errno));
		goto out;
	}
	vm_close(&v);

	if (hm_open(&h))
		goto out;
	/* A bad regs_dirty load: EINVAL, nothing changes, still dirty. */
	hm_load(&h, h64_load, h64_load_end, (uintptr_t)h.stack, 0, 0, 0);
	h.v.run->regs.mode = 7;
	if (ioctl(h.v.vcpu, BT86_RUN, 0) != -1 || errno != EINVAL ||
	    h.v.run->regs_dirty != 1 || h.v.run->regs.mode != 7) {
		fail("bad regs_dirty load: errno %d dirty %u", errno,
		     h.v.run->regs_dirty);
		goto out;
	}
	h.v.run->regs.mode = BT86_MODE_LONG64;
	h.v.run->regs.rax = 0x5555;
	h.v.run->regs.r15 = 0xf15;
	((uint64_t *)h.stack)[0] = 0x7777;
	if (hm_int3(&h, h64_load, h64_load_end))
		goto out;
	if (h.v.run->regs.rax != 0x7777 || h.v.run->regs.r15 != 0xf15) {
		fail("regs_dirty reload: rax %#llx r15 %#llx",
		     (unsigned long long)h.v.run->regs.rax,
		     (unsigned long long)h.v.run->regs.r15);
		goto out;
	}
	/* Another process (a fork: another mm) may not run this vcpu. */
	pid = fork();
	if (pid == 0)
		_exit(ioctl(h.v.vcpu, BT86_RUN, 0) == -1 && errno == EIO ? 0 : 1);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		fail("RUN from a forked child was not refused with EIO");
		goto out;
	}
	/* The parent still runs it (the fork's COW zapped its mirror). */
	hm_load(&h, h64_load, h64_load_end, (uintptr_t)h.stack, 0, 0, 0);
	((uint64_t *)h.stack)[0] = 0x8888;
	if (hm_int3(&h, h64_load, h64_load_end) || h.v.run->regs.rax != 0x8888) {
		fail("after fork: rax %#llx", (unsigned long long)h.v.run->regs.rax);
		goto out;
	}
	r = 0;
out:
	vm_close(&v);
	hm_close(&h);
	return r;
}

/* A signal ends a RUN in mirrored code; run->regs still has the state. */
static int t_hm_signal(void)
{
	struct hm h;
	int r = -1;

	if (hm_open(&h))
		goto out;
	catch_alarm();
	alarms = 0;
	hm_load(&h, h64_spin, h64_spin_end, 0, 0, 0, 0x1234);
	alarm(1);
	if (ioctl(h.v.vcpu, BT86_RUN, 0) != -1 || errno != EINTR ||
	    h.v.run->exit_reason != BT86_EXIT_SIGNAL) {
		fail("RUN did not end with EINTR / EXIT_SIGNAL");
		goto out;
	}
	if (h.v.run->regs.rip != (uintptr_t)h.code || h.v.run->regs.rcx != 0x1234) {
		fail("run->regs after EINTR: rip %#llx rcx %#llx",
		     (unsigned long long)h.v.run->regs.rip,
		     (unsigned long long)h.v.run->regs.rcx);
		goto out;
	}
	r = 0;
out:
	alarm(0);
	hm_close(&h);
	return r;
}

/* SIGKILL while in mirrored code: exit_mmap's release, then the fd's. */
static int t_hm_kill(void)
{
	int pfd[2], st;
	pid_t pid;
	char c;

	if (pipe(pfd))
		return fail("pipe");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		struct hm h;

		if (hm_open(&h))
			_exit(1);
		hm_load(&h, h64_spin, h64_spin_end, 0, 0, 0, 0);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		ioctl(h.v.vcpu, BT86_RUN, 0);
		_exit(2);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		waitpid(pid, &st, 0);
		return fail("child could not set up");
	}
	close(pfd[0]);
	usleep(300 * 1000);
	kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) ||
	    WTERMSIG(st) != SIGKILL)
		return fail("child status %#x", st);
	return expect_clean("after SIGKILL of a hostmap vcpu");
}

/* A kernel-resolved fill round trip against a plain RUN round trip. */
static int t_hm_timing(void)
{
	const int pages = 1024, trips = 2000;
	struct hm h;
	uint8_t *buf = NULL;
	uint64_t fills;
	double t0, plain, first, second;
	int i, r = -1;

	if (hm_open(&h) || !(buf = hm_page((size_t)pages * 4096)))
		goto out;
	memset(buf, 1, (size_t)pages * 4096);	/* GUP finds them present */

	hm_load(&h, h64_int3_loop, h64_int3_loop_end, 0, 0, 0, 0);
	if (hm_int3(&h, h64_int3_loop, h64_int3_loop + 1))
		goto out;
	t0 = now();
	for (i = 0; i < trips; i++)
		if (vm_run(&h.v) || h.v.run->ex.vector != 3)
			goto out;
	plain = (now() - t0) * 1e9 / trips;

	fills = h.v.run->host_fills;
	hm_load(&h, h64_touch, h64_touch_end, (uintptr_t)buf, 0, 0, pages);
	t0 = now();
	if (hm_int3(&h, h64_touch, h64_touch_end))
		goto out;
	first = (now() - t0) * 1e9;
	if (h.v.run->host_fills - fills < (uint64_t)pages) {
		fail("%llu fills for %d new pages",
		     (unsigned long long)(h.v.run->host_fills - fills), pages);
		goto out;
	}
	fills = h.v.run->host_fills;
	hm_load(&h, h64_touch, h64_touch_end, (uintptr_t)buf, 0, 0, pages);
	t0 = now();
	if (hm_int3(&h, h64_touch, h64_touch_end))
		goto out;
	second = (now() - t0) * 1e9;
	printf("INFO hostmap fill (kernel-resolved #PF: exit, GUP, leaf, re-entry): %.0f ns/page; plain RUN round trip (int3 exit): %.0f ns; %llu refills on the second pass\n",
	       (first - second) / pages, plain,
	       (unsigned long long)(h.v.run->host_fills - fills));
	r = 0;
out:
	hm_close(&h);
	if (buf)
		munmap(buf, (size_t)pages * 4096);
	return r;
}

/* ---- kviews: kernel-owned shadow views ------------------------------------ */
/* Kernel fills in a paging kernel view: read, write, A/D, data, log, prefetch. */
static int t_kv_fill(void)
{
	struct kv k;
	uint64_t b, fills, head;
	int r = -1;

	if (kv_open(&k))
		goto out;
	b = k.base[0];
	fills = k.kf->kfills;
	head = k.kf->log_head;
	if (kv_read(&k, b + 0x1008, 0x1111000000000001ull))
		goto out;
	/* The fill and the neighbour with A set (lin 0x6000), nothing else. */
	if (k.kf->kfills != fills + 2 || k.kf->log_head != head + 2) {
		fail("kfills +%llu, log +%llu, want 2 each",
		     (unsigned long long)(k.kf->kfills - fills),
		     (unsigned long long)(k.kf->log_head - head));
		goto out;
	}
	if (k.kf->log[head % BT86_KV_LOG].lin != 0x1000 ||
	    k.kf->log[head % BT86_KV_LOG].gpa != KV_RW ||
	    k.kf->log[head % BT86_KV_LOG].flags != 0) {
		fail("first log entry {%u %#x %#x %u}", k.kf->log[head].view,
		     k.kf->log[head].lin, k.kf->log[head].gpa,
		     k.kf->log[head].flags);
		goto out;
	}
	if (kv_last_log(&k, 0, 0x6000, KV_NBR, 0))
		goto out;
	if ((*kv_entry(&k, KV_PT0 + 4) & (G_A | G_D)) != G_A ||
	    !(*kv_entry(&k, KV_PD) & G_A)) {
		fail("PTE %#x PDE %#x: want A (no D) in the PTE, A in the PDE",
		     *kv_entry(&k, KV_PT0 + 4), *kv_entry(&k, KV_PD));
		goto out;
	}
	/* The prefetched neighbour is mapped: no fill for it. */
	fills = k.kf->kfills;
	if (kv_read(&k, b + 0x6000, 0x7777000000000000ull))
		goto out;
	if (k.kf->kfills != fills) {
		fail("prefetched page filled again");
		goto out;
	}
	/* A write through the read-only leaf: D set, leaf now writable, data in the slot. */
	if (kv_write(&k, b + 0x1010, 0xabcdef))
		goto out;
	if (((uint64_t *)(k.h.v.ram + KV_RW))[2] != 0xabcdef) {
		fail("slot has %#llx after a write through the view",
		     (unsigned long long)((uint64_t *)(k.h.v.ram + KV_RW))[2]);
		goto out;
	}
	if ((*kv_entry(&k, KV_PT0 + 4) & (G_A | G_D)) != (G_A | G_D)) {
		fail("PTE %#x after a write: want A and D", *kv_entry(&k, KV_PT0 + 4));
		goto out;
	}
	if (kv_last_log(&k, 0, 0x1000, KV_RW, BT86_KVLOG_WRITABLE))
		goto out;
	/* The slot's data through the view. */
	((uint64_t *)(k.h.v.ram + KV_RW))[3] = 0x5a5a;
	if (kv_read(&k, b + 0x1018, 0x5a5a))
		goto out;
	/* A 4 MiB page (PSE): frame from the PDE, A and D set in the PDE. */
	head = k.kf->log_head;
	if (kv_write(&k, b + 0x400000 + KV_MAPPED + 8, 0x77) ||
	    ((uint64_t *)(k.h.v.ram + KV_MAPPED))[1] != 0x77) {
		fail("4 MiB page write: %s", strdup(why));
		goto out;
	}
	if ((*kv_entry(&k, KV_PD + 4) & (G_A | G_D)) != (G_A | G_D) ||
	    kv_find_log(&k, head, 0, 0x400000 + KV_MAPPED, KV_MAPPED, BT86_KVLOG_WRITABLE)) {
		fail("4 MiB PDE %#x / log: %s", *kv_entry(&k, KV_PD + 4), strdup(why));
		goto out;
	}
	if (k.h.v.run->host_fill_failures) {
		fail("%llu host-mirror failures", (unsigned long long)k.h.v.run->host_fill_failures);
		goto out;
	}
	r = 0;
out:
	kv_close(&k);
	return r;
}

/* Faults the kernel must hand to user space. */
static int t_kv_exits(void)
{
	struct kv k;
	uint64_t b, u;
	uint32_t head;
	int r = -1;

	if (kv_open(&k))
		goto out;
	b = k.base[0];
	u = k.base[1];
	/* Not present. */
	if (kv_fault(&k, b + 0x4000, false, 0))
		goto out;
	/* User view: a supervisor page, a write to a read-only page. */
	if (kv_fault(&k, u + 0x3000, false, 0) ||
	    kv_fault(&k, u + 0x2000, true, 2))
		goto out;
	if (kv_read(&k, u + 0x1000, 0x1111000000000000ull))
		goto out;
	/* Kernel view: a read-only page with WP=1 faults, with WP=0 it is written. */
	if (kv_fault(&k, b + 0x2000, true, 2))
		goto out;
	k.kf->flags &= ~BT86_KF_WP;
	if (kv_write(&k, b + 0x2000, 0x1234) ||
	    ((uint64_t *)(k.h.v.ram + KV_RO))[0] != 0x1234) {
		fail("WP=0 write to a read-only page: %s", strdup(why));
		goto out;
	}
	k.kf->flags |= BT86_KF_WP;
	/* Supervisor page in the kernel view: fine. */
	if (kv_read(&k, b + 0x3000, 0x3333000000000000ull))
		goto out;
	/* Page table not published, or not traced: user space first. */
	k.kf->ptu[0][0x200] = 0;
	if (kv_fault(&k, b + 0x80001000, false, 0))
		goto out;
	k.kf->ptu[0][0x200] = KV_PT2;
	kv_set_traced(&k, KV_PT2, false);
	if (kv_fault(&k, b + 0x80001000, false, 0))
		goto out;
	kv_set_traced(&k, KV_PT2, true);
	/* A traced frame: a write exits, a read maps it read-only, the next write exits again. */
	if (kv_fault(&k, b + 0x5000, true, 2))
		goto out;
	head = k.kf->log_head;
	if (kv_read(&k, b + 0x5000, 0x4444000000000000ull) ||
	    kv_find_log(&k, head, 0, 0x5000, KV_TRACED, 0))
		goto out;
	if (kv_fault(&k, b + 0x5000, true, 3))		/* P and W: a protection fault */
		goto out;
	if ((*kv_entry(&k, KV_PT0 + 5 * 4) & G_D)) {
		fail("D set on a traced page the kernel did not write");
		goto out;
	}
	/* A fetch from a view page. */
	hm_load(&k.h, h64_jmp, h64_jmp_end, b + 0x1000, 0, 0, 0);
	if (hm_pf(&k.h, b + 0x1000, 0x10))
		goto out;
	/* Paging off in kfill.flags: a paging view fills nothing. */
	k.kf->flags = 0;
	if (kv_fault(&k, b + 0x80001000, false, 0))
		goto out;
	k.kf->flags = BT86_KF_PAGING | BT86_KF_WP | BT86_KF_PSE;
	/* The log full: exit instead of filling. */
	k.kf->log_tail = k.kf->log_head - BT86_KV_LOG;
	if (kv_fault(&k, b + 0x80001000, false, 0))
		goto out;
	k.kf->log_tail = k.kf->log_head;
	if (kv_read(&k, b + 0x80001000, 0x5555000000000000ull))
		goto out;
	/* Guest RAM is no longer mapped at gpa. */
	hm_load(&k.h, h64_load, h64_load_end, KV_RW, 0, 0, 0);
	if (hm_pf(&k.h, KV_RW, 0))
		goto out;
	r = 0;
out:
	kv_close(&k);
	return r;
}

/* The aliases of a page and the guard. */
static int t_kv_mirrors(void)
{
	struct kv k;
	uint64_t b, g = 4ull << 30;
	int r = -1;

	if (kv_open(&k))
		goto out;
	b = k.base[0];
	if (kv_read(&k, b + g + 0x80001008, 0x5555000000000001ull) ||
	    kv_read(&k, b + 0x80001010, 0x5555000000000002ull) ||
	    kv_read(&k, b - g + 0x80001018, 0x5555000000000003ull))
		goto out;
	/* One fill served all three. */
	if (k.kf->kfills != 1) {
		fail("%llu fills for one page's three aliases",
		     (unsigned long long)k.kf->kfills);
		goto out;
	}
	if (kv_write(&k, b - g + 0x80001020, 0x42) ||
	    kv_read(&k, b + g + 0x80001020, 0x42) ||
	    ((uint64_t *)(k.h.v.ram + KV_HIGH))[4] != 0x42)
		goto out;
	/* Below 2 GiB: window and upper mirror. */
	if (kv_read(&k, b + g + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, b + 0x1000, 0x1111000000000000ull))
		goto out;
	/* The guard: never filled. */
	if (kv_fault(&k, b + 2 * g + 0x1000, false, 0) ||
	    kv_fault(&k, b + (30ull << 30), false, 0) ||
	    kv_fault(&k, b + (36ull << 30) - 8, false, 0))
		goto out;
	/* Below the low mirror: not the view's (the host mirror's, PROT_NONE). */
	hm_load(&k.h, h64_load, h64_load_end, b - (3ull << 30), 0, 0, 0);
	if (hm_pf(&k.h, b - (3ull << 30), 0))
		goto out;
	r = 0;
out:
	kv_close(&k);
	return r;
}

static long kv_sync(struct kv *k)
{
	return ioctl(k->h.v.vcpu, BT86_KVIEWS_SYNC, 0);
}

/* MAP / CLEAR / PROTECT / SINK / RESET and bad ops. */
static int t_kv_ops(void)
{
	struct kv k;
	uint64_t b, fills;
	int r = -1;
	size_t i;
	static const struct bt86_kvop bad[] = {
		{ 99, 0, 0x7000, 0 },
		{ BT86_KVOP_MAP, 32, 0x7000, KV_MAPPED },
		{ BT86_KVOP_MAP, 0, 0x7000, RAM_SIZE },
		{ BT86_KVOP_MAP, 0, 0x7000, KV_MAPPED | 2 },
		{ BT86_KVOP_MAP, 5, 0x7000, KV_MAPPED },	/* view 5 unused */
		{ BT86_KVOP_CLEAR, 0, 0x7000, 0 },
		{ BT86_KVOP_CLEAR, 0, 0x7000, 1u << 20 },	/* past 4 GiB */
		{ BT86_KVOP_PROTECT, 0, 0x7000, 2 },
		{ BT86_KVOP_SINK, 0, 0x7000, 1 },
		{ BT86_KVOP_RESET, 0, 0, 1 },
	};

	if (kv_open(&k))
		goto out;
	b = k.base[0];
	/* MAP: linear 0x7000 is not present in the guest, the op maps it anyway. */
	kv_op(&k, BT86_KVOP_MAP, 0, 0x7000, KV_MAPPED | 1);
	if (kv_read(&k, b + 0x7008, 0x6666000000000001ull) ||
	    kv_read(&k, b + (4ull << 30) + 0x7008, 0x6666000000000001ull))
		goto out;
	if (k.kf->nops || k.kf->kfills) {
		fail("nops %u kfills %llu after a MAP op", k.kf->nops,
		     (unsigned long long)k.kf->kfills);
		goto out;
	}
	if (kv_write(&k, b + 0x7000, 0xfeed) ||
	    ((uint64_t *)(k.h.v.ram + KV_MAPPED))[0] != 0xfeed)
		goto out;
	/* PROTECT read-only: writes fault, reads work. */
	kv_op(&k, BT86_KVOP_PROTECT, 0, 0x7000, 1);
	if (kv_fault(&k, b + 0x7000, true, 3) || kv_read(&k, b + 0x7000, 0xfeed))
		goto out;
	/* PROTECT writable = zap: the guest has no PTE, so the refill exits. */
	kv_op(&k, BT86_KVOP_PROTECT, 0, 0x7000, 0);
	if (kv_fault(&k, b + 0x7000, false, 0))
		goto out;
	/* CLEAR through SYNC. */
	kv_op(&k, BT86_KVOP_MAP, 0, 0x7000, KV_MAPPED);
	if (kv_sync(&k) || k.kf->nops) {
		fail("SYNC: %s, nops %u", strerror(errno), k.kf->nops);
		goto out;
	}
	if (kv_read(&k, b + 0x7000, 0xfeed))
		goto out;
	kv_op(&k, BT86_KVOP_CLEAR, 0, 0, 1u << 20);	/* the whole 4 GiB */
	if (kv_fault(&k, b + 0x7000, false, 0) ||
	    kv_fault(&k, b + (4ull << 30) + 0x7000, false, 0))
		goto out;
	/* SINK: the scratch page, 0xff again at every SINK. */
	kv_op(&k, BT86_KVOP_SINK, 0, 0x80008000, 0);
	if (kv_read(&k, b + 0x80008000, ~0ull) || kv_write(&k, b - (4ull << 30) + 0x80008000, 0) ||
	    kv_read(&k, b + 0x80008000, 0))
		goto out;
	kv_op(&k, BT86_KVOP_SINK, 0, 0x80008000, 0);
	if (kv_read(&k, b + 0x80008000, ~0ull))
		goto out;
	/* RESET: the next access refills through the guest's tables. */
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull))
		goto out;
	kv_op(&k, BT86_KVOP_RESET, 0, 0, 0);
	fills = k.kf->kfills;
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) || k.kf->kfills == fills ||
	    kv_fault(&k, b + 0x80008000, false, 0)) {
		fail("after RESET: %s (kfills %llu)", strdup(why), (unsigned long long)k.kf->kfills);
		goto out;
	}
	/* A moved view: its old range is zapped at the next install. */
	k.kf->views[0].base = k.base[2];
	k.kf->views[2].base = 0;
	fills = k.kf->kfills;
	if (kv_read(&k, k.base[2] + 0x1000, 0x1111000000000000ull) ||
	    k.kf->kfills == fills)
		goto out;
	k.kf->views[0].base = b;
	k.kf->views[2].base = k.base[2];
	fills = k.kf->kfills;
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) || k.kf->kfills == fills) {
		fail("old leaves of a moved view survived: %s", strdup(why));
		goto out;
	}
	/* ... and back: the flat view 2 refills its own page there. */
	fills = k.kf->kfills;
	if (kv_read(&k, k.base[2] + 0x1000, *(uint64_t *)(k.h.v.ram + 0x1000)) ||
	    k.kf->kfills == fills) {
		fail("view 0's leaf left in view 2's range: %s", strdup(why));
		goto out;
	}
	/* Bad ops: EINVAL, nops reset, nothing after the bad one applied. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k.kf->nops = 0;
		kv_op(&k, BT86_KVOP_MAP, 0, 0x9000, KV_MAPPED);
		k.kf->ops[k.kf->nops++] = bad[i];
		kv_op(&k, BT86_KVOP_MAP, 0, 0xa000, KV_MAPPED);
		errno = 0;
		if (ioctl(k.h.v.vcpu, i & 1 ? BT86_KVIEWS_SYNC : BT86_RUN, 0) != -1 ||
		    errno != EINVAL || k.kf->nops) {
			fail("bad op %zu: %s, nops %u", i, strerror(errno), k.kf->nops);
			goto out;
		}
		if (kv_read(&k, b + 0x9008, 0x6666000000000001ull) ||
		    kv_fault(&k, b + 0xa000, false, 0)) {
			fail("bad op %zu: ops around it: %s", i, strdup(why));
			goto out;
		}
	}
	k.kf->nops = BT86_KV_OPS + 1;
	if (kv_sync(&k) != -1 || errno != EINVAL || k.kf->nops) {
		fail("nops > BT86_KV_OPS accepted");
		goto out;
	}
	r = 0;
out:
	kv_close(&k);
	return r;
}

/* Flat view (paging off): lin == gpa, no log, traces respected. */
static int t_kv_flat(void)
{
	struct kv k;
	uint64_t f;
	uint32_t head;
	int r = -1;

	if (kv_open(&k))
		goto out;
	f = k.base[2];
	k.kf->flags = 0;
	head = k.kf->log_head;
	if (kv_read(&k, f + KV_RW, 0x1111000000000000ull) ||
	    kv_write(&k, f + KV_RW + 8, 0x99) ||
	    ((uint64_t *)(k.h.v.ram + KV_RW))[1] != 0x99)
		goto out;
	if (k.kf->kfills != 1 || k.kf->log_head != head) {
		fail("kfills %llu, log +%u: want 1 fill, no log",
		     (unsigned long long)k.kf->kfills, k.kf->log_head - head);
		goto out;
	}
	if (kv_fault(&k, f + KV_TRACED, true, 0) ||
	    kv_read(&k, f + KV_TRACED, 0x4444000000000000ull) ||
	    kv_fault(&k, f + KV_TRACED, true, 3))
		goto out;
	if (kv_fault(&k, f + RAM_SIZE, false, 0))	/* not RAM */
		goto out;
	k.kf->ram_frames = 16;				/* ram_frames bounds it too */
	if (kv_fault(&k, f + 0x10000, false, 0))
		goto out;
	k.kf->ram_frames = 0xffffffff;			/* clipped to slot 0 */
	if (kv_fault(&k, f + RAM_SIZE + 0x1000, false, 0) ||
	    kv_read(&k, f + KV_HIGH, 0x5555000000000000ull))
		goto out;
	k.kf->version = 2;				/* an unknown layout fills nothing */
	if (kv_fault(&k, f + KV_MAPPED, false, 0))
		goto out;
	r = 0;
out:
	kv_close(&k);
	return r;
}

/* View leaves against the host mirror's notifier, slot changes and close. */
static int t_kv_apart(void)
{
	struct kv k;
	struct bt86_memory_region mr = { 0 };
	struct bt86_stats s;
	uint64_t b, fills;
	void *p, *extra = NULL;
	int r = -1;

	if (kv_open(&k))
		goto out;
	b = k.base[0];
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull))
		goto out;
	/* Replace the reservation around the leaf: the notifier fires, the leaf stays. */
	p = mmap((void *)(uintptr_t)(b + 0x1000), 1ull << 21, PROT_NONE, MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		fail("mmap over the view: %s", strerror(errno));
		goto out;
	}
	mprotect((void *)(uintptr_t)b, 1ull << 30, PROT_READ);
	mprotect((void *)(uintptr_t)b, 1ull << 30, PROT_NONE);
	fills = k.kf->kfills;
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) || k.kf->kfills != fills) {
		fail("view leaf lost to the host mirror's notifier: %s", strdup(why));
		goto out;
	}
	if (get_stats(&s) || s.hostmap_pages > 8) {
		fail("%llu mirrored pages for code, stack and nothing else",
		     (unsigned long long)s.hostmap_pages);
		goto out;
	}
	/* A slot change zaps every view. */
	extra = hm_page(4096);
	mr.slot = 1;
	mr.gpa = 0x200000;
	mr.size = 4096;
	mr.uaddr = (uintptr_t)extra;
	if (!extra || ioctl(k.h.v.vm, BT86_SET_MEMORY, &mr)) {
		fail("SET_MEMORY: %s", strerror(errno));
		goto out;
	}
	fills = k.kf->kfills;
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) || k.kf->kfills == fills) {
		fail("no refill after a slot change: %s", strdup(why));
		goto out;
	}
	/* Slot 0 gone: nothing fills, ops that need RAM fail. */
	mr.slot = 0;
	mr.size = 0;
	if (ioctl(k.h.v.vm, BT86_SET_MEMORY, &mr)) {
		fail("delete slot 0: %s", strerror(errno));
		goto out;
	}
	if (kv_fault(&k, b + 0x1000, false, 0))
		goto out;
	kv_op(&k, BT86_KVOP_MAP, 0, 0x1000, 0);
	if (kv_sync(&k) != -1 || errno != EINVAL) {
		fail("MAP without slot 0 accepted");
		goto out;
	}
	kv_close(&k);
	if (extra)
		munmap(extra, 4096);
	return expect_clean("after closing a kviews vcpu");
out:
	kv_close(&k);
	if (extra)
		munmap(extra, 4096);
	return r;
}

static int t_kv_api(void)
{
	struct kv k;
	struct hm h;
	struct bt86_version ver;
	struct bt86_kviews_reg reg;
	void *area = NULL;
	size_t sz = kv_area_size(), i;
	int r = -1;
	const struct {
		const char *what;
		int64_t uaddr_off;
		uint64_t size;
		uint32_t flags, pad;
	} bad[] = {
		{ "unaligned", 8, 0, 0, 0 },
		{ "short", 0, 4096, 0, 0 },
		{ "exact struct size", 0, sizeof(struct bt86_kfill), 0, 0 },
		{ "long", 0, 4096, 0, 0 },
		{ "flags", 0, 0, 1, 0 },
		{ "pad", 0, 0, 0, 1 },
	};

	memset(&h, 0, sizeof(h));
	memset(&k, 0, sizeof(k));
	h.v.dev = h.v.vm = h.v.vcpu = -1;
	area = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		area = NULL;
		fail("mmap");
		goto out;
	}
	if (vm_open(&h.v))
		goto out;
	if (ioctl(h.v.dev, BT86_GET_VERSION, &ver) || !(ver.caps & BT86_CAP_KVIEWS)) {
		fail("caps %#x without BT86_CAP_KVIEWS", ver.caps);
		goto out;
	}
	reg = (struct bt86_kviews_reg){ (uintptr_t)area, sz, 0, 0 };
	if (ioctl(h.v.vcpu, BT86_SET_KVIEWS, &reg) != -1 || errno != EINVAL) {
		fail("SET_KVIEWS without hostmap: %s", strerror(errno));
		goto out;
	}
	if (ioctl(h.v.vcpu, BT86_KVIEWS_SYNC, 0) != -1 || errno != EINVAL) {
		fail("KVIEWS_SYNC without kviews: %s", strerror(errno));
		goto out;
	}
	if (ioctl(h.v.vcpu, BT86_ENABLE_HOSTMAP, 0)) {
		fail("ENABLE_HOSTMAP: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reg.uaddr = (uintptr_t)area + bad[i].uaddr_off;
		reg.size = bad[i].size ? bad[i].size : sz;
		if (i == 3)
			reg.size = sz + 4096;
		reg.flags = bad[i].flags;
		reg.pad = bad[i].pad;
		if (ioctl(h.v.vcpu, BT86_SET_KVIEWS, &reg) != -1 || errno != EINVAL) {
			fail("SET_KVIEWS %s: %s", bad[i].what, strerror(errno));
			goto out;
		}
	}
	reg = (struct bt86_kviews_reg){ 0x100000, sz, 0, 0 };
	if (ioctl(h.v.vcpu, BT86_SET_KVIEWS, &reg) != -1 || errno != EINVAL) {
		fail("SET_KVIEWS below 4 GiB: %s", strerror(errno));
		goto out;
	}
	reg = (struct bt86_kviews_reg){ 1ull << 60, sz, 0, 0 };
	if (ioctl(h.v.vcpu, BT86_SET_KVIEWS, &reg) != -1 || errno != EINVAL) {
		fail("SET_KVIEWS in the kernel half: %s", strerror(errno));
		goto out;
	}
	reg = (struct bt86_kviews_reg){ 1ull << 45, sz, 0, 0 };	/* unmapped */
	if (ioctl(h.v.vcpu, BT86_SET_KVIEWS, &reg) != -1 || errno != EFAULT) {
		fail("SET_KVIEWS on unmapped memory: %s", strerror(errno));
		goto out;
	}
	reg = (struct bt86_kviews_reg){ (uintptr_t)area, sz, 0, 0 };
	if (ioctl(h.v.vcpu, BT86_SET_KVIEWS, &reg)) {
		fail("SET_KVIEWS: %s", strerror(errno));
		goto out;
	}
	if (ioctl(h.v.vcpu, BT86_SET_KVIEWS, &reg) != -1 || errno != EBUSY) {
		fail("SET_KVIEWS twice: %s", strerror(errno));
		goto out;
	}
	if (ioctl(h.v.vcpu, BT86_KVIEWS_SYNC, 1) != -1 || errno != EINVAL) {
		fail("KVIEWS_SYNC 1: %s", strerror(errno));
		goto out;
	}
	/* Hostile contents: garbage everywhere, then RUN: EINVAL or an exit, never an oops. */
	for (i = 0; i < 64; i++) {
		struct bt86_kfill *kf = area;
		uint64_t *w = area;
		size_t j;

		for (j = 0; j < sizeof(*kf) / 8; j += 1 + rnd() % 64)
			w[j] = rnd();
		kf->version = 1;
		kf->nops = rnd() % 8;
		kf->views[rnd() % 4].base = (rnd() % 4096) << 32;
		kf->ram_frames = rnd() % 1024;
		ioctl(h.v.vcpu, BT86_KVIEWS_SYNC, 0);
	}
	vm_close(&h.v);
	munmap(area, sz);
	area = NULL;
	r = expect_clean("after SET_KVIEWS and garbage ops");
out:
	vm_close(&h.v);
	if (area)
		munmap(area, sz);
	return r;
}

/* The point of it all: a view fault resolved in the kernel vs. a plain round trip. */
static int t_kv_timing(void)
{
	const int pages = 400, trips = 2000;
	struct kv k;
	double t0, plain, first, second;
	uint64_t fills, exits;
	int i, r = -1;

	if (kv_open(&k))
		goto out;
	hm_load(&k.h, h64_int3_loop, h64_int3_loop_end, 0, 0, 0, 0);
	if (hm_int3(&k.h, h64_int3_loop, h64_int3_loop + 1))
		goto out;
	t0 = now();
	for (i = 0; i < trips; i++)
		if (vm_run(&k.h.v) || k.h.v.run->ex.vector != 3)
			goto out;
	plain = (now() - t0) * 1e9 / trips;

	fills = k.kf->kfills;
	exits = k.kf->kfill_exits;
	k.kf->log_tail = k.kf->log_head;
	hm_load(&k.h, h64_touch, h64_touch_end, k.base[0] + 0xc00000, 0, 0, pages);
	t0 = now();
	if (hm_int3(&k.h, h64_touch, h64_touch_end))
		goto out;
	first = (now() - t0) * 1e9;
	if (k.kf->kfills - fills != (uint64_t)pages || k.kf->kfill_exits != exits) {
		fail("%llu fills, %llu exits for %d new pages",
		     (unsigned long long)(k.kf->kfills - fills),
		     (unsigned long long)(k.kf->kfill_exits - exits), pages);
		goto out;
	}
	k.kf->log_tail = k.kf->log_head;
	fills = k.kf->kfills;
	hm_load(&k.h, h64_touch, h64_touch_end, k.base[0] + 0xc00000, 0, 0, pages);
	t0 = now();
	if (hm_int3(&k.h, h64_touch, h64_touch_end))
		goto out;
	second = (now() - t0) * 1e9;
	if (k.kf->kfills != fills) {
		fail("second pass filled %llu", (unsigned long long)(k.kf->kfills - fills));
		goto out;
	}
	printf("INFO kview fill (kernel-resolved view #PF: exit, guest walk, A/D, leaf x2, log, re-entry): %.0f ns/page; plain RUN round trip (int3 exit): %.0f ns\n",
	       (first - second) / pages, plain);
	r = 0;
out:
	kv_close(&k);
	return r;
}

/* ---- ktraces: page-table writes completed in ring 0 ---------------------- */

static int kt_no_tf(struct kv *k, const char *when)
{
	if (k->h.v.run->regs.rflags & RFLAGS_TF)
		return fail("%s: TF visible in run->regs.rflags %#llx", when,
			    (unsigned long long)k->h.v.run->regs.rflags);
	return 0;
}

/* movl val -> (addr), then movq (load) -> rax: expect the int3 and rax == want. */
static int kt_store(struct kv *k, uint64_t addr, uint32_t val, uint64_t load,
		    uint64_t want)
{
	hm_load(&k->h, h64_store32_load, h64_store32_load_end, addr, load, val, 0);
	if (hm_int3(&k->h, h64_store32_load, h64_store32_load_end))
		return fail("store %#x to %#llx: %s", val, (unsigned long long)addr,
			    strdup(why));
	if (kt_no_tf(k, "after a kernel-handled write"))
		return -1;
	if (k->h.v.run->regs.rax != want)
		return fail("load %#llx after the write gave %#llx, want %#llx",
			    (unsigned long long)load,
			    (unsigned long long)k->h.v.run->regs.rax,
			    (unsigned long long)want);
	return 0;
}

/* Log entries with BT86_KVLOG_UNMAPPED from index from on. */
static int kt_unmapped(struct kv *k, uint32_t from)
{
	int n = 0;

	for (; from != k->kf->log_head; from++)
		if (k->kf->log[from % BT86_KV_LOG].flags & BT86_KVLOG_UNMAPPED)
			n++;
	return n;
}

static int kt_counts(struct kv *k, uint64_t writes, uint64_t texits,
		     uint64_t exits, const char *when)
{
	if (k->kf->ktrace_writes != writes || k->kf->ktrace_exits != texits ||
	    k->kf->kfill_exits != exits)
		return fail("%s: ktrace_writes %llu ktrace_exits %llu kfill_exits %llu, want %llu %llu %llu",
			    when, (unsigned long long)k->kf->ktrace_writes,
			    (unsigned long long)k->kf->ktrace_exits,
			    (unsigned long long)k->kf->kfill_exits,
			    (unsigned long long)writes, (unsigned long long)texits,
			    (unsigned long long)exits);
	return 0;
}

/* A write to a traced, kwrite page table: stepped in the kernel, derived entries zapped. */
static int t_kt_write(void)
{
	struct kv k;
	uint64_t b, u, pte, w, te, e, fills;
	uint32_t head, newpte, cur;
	int r = -1;

	if (kv_open(&k))
		goto out;
	b = k.base[0];
	u = k.base[1];
	pte = KT_LIN(KV_PT0) + 1 * 4;		/* the PTE of linear 0x1000 */
	kv_set_kwrite(&k, KV_PT0, true);
	/* Both paging views map lin 0x1000; the kernel view maps the page table read-only. */
	if (kv_read(&k, b + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, u + 0x1000, 0x1111000000000000ull) ||
	    kv_read(&k, k.base[2] + KV_RW, 0x1111000000000000ull) ||
	    kv_read(&k, b + pte, *(uint64_t *)kv_entry(&k, KV_PT0 + 4)))
		goto out;
	w = k.kf->ktrace_writes;
	te = k.kf->ktrace_exits;
	e = k.kf->kfill_exits;
	head = k.kf->log_head;
	newpte = KV_NBR | G_P | G_RW | G_US;
	/* Lin 0x1000 now maps KV_NBR: the load after the write must see its data. */
	if (kt_store(&k, b + pte, newpte, b + 0x1000, 0x7777000000000000ull) ||
	    kt_counts(&k, w + 1, te, e, "a changed PTE"))
		goto out;
	if ((*kv_entry(&k, KV_PT0 + 4) & ~G_A) != newpte) {
		fail("guest PTE %#x, want %#x", *kv_entry(&k, KV_PT0 + 4), newpte);
		goto out;
	}
	if (kv_find_log(&k, head, 0, 0x1000, KV_PT0, BT86_KVLOG_UNMAPPED) ||
	    kv_find_log(&k, head, 1, 0x1000, KV_PT0, BT86_KVLOG_UNMAPPED) ||
	    kv_find_log(&k, head, 0, 0x1000, KV_NBR, 0))
		goto out;
	if (kt_unmapped(&k, head) != 2) {
		fail("%d UNMAPPED log entries, want 2 (views 0 and 1)", kt_unmapped(&k, head));
		goto out;
	}
	/* The guest's MMU sets D in the leaf it wrote through (the 4 MiB PDE). */
	if (!(*kv_entry(&k, KV_PD + 4) & G_D)) {
		fail("PDE %#x: no D after a write through it", *kv_entry(&k, KV_PD + 4));
		goto out;
	}
	/* The user view refills from the new PTE too; the flat view kept its leaf. */
	fills = k.kf->kfills;
	if (kv_read(&k, u + 0x1000, 0x7777000000000000ull) || k.kf->kfills == fills) {
		fail("user view after the write: %s", k.kf->kfills == fills ?
		     "not refilled" : strdup(why));
		goto out;
	}
	fills = k.kf->kfills;
	if (kv_read(&k, k.base[2] + KV_RW, 0x1111000000000000ull) || k.kf->kfills != fills) {
		fail("flat view touched by a page-table write");
		goto out;
	}

	/* The same value again: completed in the kernel, nothing zapped or refilled. */
	head = k.kf->log_head;
	cur = *kv_entry(&k, KV_PT0 + 4);
	fills = k.kf->kfills;
	if (kt_store(&k, b + pte, cur, b + 0x1000, 0x7777000000000000ull) ||
	    kt_counts(&k, w + 2, te, e, "the same PTE value"))
		goto out;
	if (kt_unmapped(&k, head) || k.kf->kfills != fills) {
		fail("same value: %d UNMAPPED entries, %llu fills, want none",
		     kt_unmapped(&k, head), (unsigned long long)(k.kf->kfills - fills));
		goto out;
	}
	/* The page table's own leaf is read-only again: a guest write still goes through the kernel. */
	if (kt_store(&k, b + pte, KV_RW | G_P | G_RW | G_US, b + 0x1000,
		     0x1111000000000000ull) ||
	    kt_counts(&k, w + 3, te, e, "writing the old PTE back"))
		goto out;
	if (k.h.v.run->host_fill_failures) {
		fail("%llu host-mirror failures", (unsigned long long)k.h.v.run->host_fill_failures);
		goto out;
	}
	r = 0;
out:
	kv_close(&k);
	return r;
}

/* What stays with user space, a step cut short by an exit, TF, #DB. */
static int t_kt_exits(void)
{
	struct kv k;
	uint64_t b, u, w, te, e;
	uint32_t before, head;
	int r = -1;

	if (kv_open(&k))
		goto out;
	b = k.base[0];
	u = k.base[1];
	/* Lin 0x7000: the page table at KV_PT0 again, read-only for the guest. */
	*kv_entry(&k, KV_PT0 + 7 * 4) = KV_PT0 | G_P | G_US;
	if (kv_read(&k, b + KT_LIN(KV_PT0), *(uint64_t *)kv_entry(&k, KV_PT0)) ||
	    kv_read(&k, b + 0x5000, 0x4444000000000000ull) ||
	    kv_read(&k, b + 0x7000, *(uint64_t *)kv_entry(&k, KV_PT0)) ||
	    kv_read(&k, u + 0x7000, *(uint64_t *)kv_entry(&k, KV_PT0)))
		goto out;
	w = k.kf->ktrace_writes;
	te = k.kf->ktrace_exits;
	e = k.kf->kfill_exits;
	before = *kv_entry(&k, KV_PT0 + 0x40 * 4);

	/* kwrite clear on the page table: user space's, as before. */
	if (kv_fault(&k, b + KT_LIN(KV_PT0) + 0x40 * 4, true, 3) ||
	    kt_counts(&k, w, te + 1, e + 1, "kwrite clear") ||
	    kt_no_tf(&k, "trace exit"))
		goto out;
	kv_set_kwrite(&k, KV_PT0, true);
	/* A traced frame that is not a page table (code): no kwrite, user space's. */
	if (kv_fault(&k, b + 0x5000, true, 3) ||
	    kt_counts(&k, w, te + 2, e + 2, "a traced code page"))
		goto out;
	/* The guest's tables forbid the write (read-only PTE, WP=1): a #PF for the guest. */
	if (kv_fault(&k, b + 0x7000, true, 3) ||
	    kv_fault(&k, u + 0x7000, true, 3) ||
	    kt_counts(&k, w, te + 2, e + 4, "a write the guest forbids"))
		goto out;
	/* Fewer than 64 free log entries: user space's. */
	k.kf->log_tail = k.kf->log_head - (BT86_KV_LOG - 63);
	if (kv_fault(&k, b + KT_LIN(KV_PT0) + 0x40 * 4, true, 3) ||
	    kt_counts(&k, w, te + 3, e + 5, "log nearly full"))
		goto out;
	k.kf->log_tail = k.kf->log_head;
	if (*kv_entry(&k, KV_PT0 + 0x40 * 4) != before) {
		fail("PTE 0x40 changed to %#x by writes that exited", *kv_entry(&k, KV_PT0 + 0x40 * 4));
		goto out;
	}

	/* Writes that went to user space set no A/D: the guest did not write. */
	if (*kv_entry(&k, KV_PD + 4) & G_D) {
		fail("PDE %#x: D set by writes that exited", *kv_entry(&k, KV_PD + 4));
		goto out;
	}

	/*
	 * A write across into the next page (KV_PT2: traced, kwrite clear,
	 * mapped read-only by the prefetch): the step (D set: it began) meets a
	 * trace exit for user space and ends without the write, TF gone.  Then
	 * that page untraced: the step fills it writable and completes.
	 */
	hm_load(&k.h, h64_store32_load, h64_store32_load_end,
		b + KT_LIN(KV_PT0) + 0xffe, b + 0x1000, 0x00a0ccdd, 0);
	if (hm_pf(&k.h, b + KT_LIN(KV_PT2), 3) ||
	    kt_no_tf(&k, "an exit while stepping") ||
	    kt_counts(&k, w, te + 4, e + 6, "an exit while stepping"))
		goto out;
	if (!(*kv_entry(&k, KV_PD + 4) & G_D)) {
		fail("PDE %#x: no D, the step never began", *kv_entry(&k, KV_PD + 4));
		goto out;
	}
	if (*kv_entry(&k, KV_PT0 + 0xffc) || *kv_entry(&k, KV_PT2)) {
		fail("a write that faulted changed %#x %#x", *kv_entry(&k, KV_PT0 + 0xffc),
		     *kv_entry(&k, KV_PT2));
		goto out;
	}
	kv_set_traced(&k, KV_PT2, false);
	head = k.kf->log_head;
	if (hm_int3(&k.h, h64_store32_load, h64_store32_load_end) ||
	    kt_no_tf(&k, "after a step with a fill") ||
	    kt_counts(&k, w + 1, te + 4, e + 6, "a step with a fill"))
		goto out;
	if (*kv_entry(&k, KV_PT0 + 0xffc) != 0xccdd0000 || *kv_entry(&k, KV_PT2) != 0xa0) {
		fail("cross-page write left %#x %#x, want 0xccdd0000 0xa0",
		     *kv_entry(&k, KV_PT0 + 0xffc), *kv_entry(&k, KV_PT2));
		goto out;
	}
	if (kv_find_log(&k, head, 0, KT_LIN(KV_PT2), KV_PT2, BT86_KVLOG_WRITABLE))
		goto out;

	/* The guest's own TF: an ordinary #DB exit (trap: rip past the nop), TF not kept. */
	hm_load(&k.h, h64_tf, h64_tf_end, 0, 0, 0, 0);
	if (vm_run(&k.h.v))
		goto out;
	if (k.h.v.run->exit_reason != BT86_EXIT_EXCEPTION || k.h.v.run->ex.vector != 1 ||
	    k.h.v.run->ex.rip != (uintptr_t)k.h.code + (h64_tf_end - h64_tf) - 1) {
		fail("guest TF: exit %u vector %u rip %#llx, want #DB at the int3",
		     k.h.v.run->exit_reason, k.h.v.run->ex.vector,
		     (unsigned long long)k.h.v.run->ex.rip);
		goto out;
	}
	if (kt_no_tf(&k, "a #DB exit") || hm_int3(&k.h, h64_tf, h64_tf_end) ||
	    kt_counts(&k, w + 1, te + 4, e + 6, "the guest's #DB"))
		goto out;
	r = 0;
out:
	kv_close(&k);
	return r;
}

/* A kernel-handled trace write vs. a plain round trip. */
static int t_kt_timing(void)
{
	const int trips = 2000, writes = 2000;
	struct kv k;
	double t0, plain, kt;
	uint64_t w, e;
	uint32_t head;
	int i, r = -1;

	if (kv_open(&k))
		goto out;
	kv_set_kwrite(&k, KV_PT0, true);
	if (kv_read(&k, k.base[0] + KT_LIN(KV_PT0), *(uint64_t *)kv_entry(&k, KV_PT0)))
		goto out;
	hm_load(&k.h, h64_int3_loop, h64_int3_loop_end, 0, 0, 0, 0);
	if (hm_int3(&k.h, h64_int3_loop, h64_int3_loop + 1))
		goto out;
	t0 = now();
	for (i = 0; i < trips; i++)
		if (vm_run(&k.h.v) || k.h.v.run->ex.vector != 3)
			goto out;
	plain = (now() - t0) * 1e9 / trips;

	/* The PTE of linear 0x100000 (mapped in no view), bit 12 flipping each time. */
	w = k.kf->ktrace_writes;
	e = k.kf->kfill_exits;
	head = k.kf->log_head;
	hm_load(&k.h, h64_pte_loop, h64_pte_loop_end,
		k.base[0] + KT_LIN(KV_PT0) + 0x100 * 4, 0, 0x30000, writes);
	t0 = now();
	if (hm_int3(&k.h, h64_pte_loop, h64_pte_loop_end))
		goto out;
	kt = (now() - t0) * 1e9 / writes;
	if (k.kf->ktrace_writes - w != (uint64_t)writes || k.kf->kfill_exits != e ||
	    k.kf->log_head != head) {
		fail("%llu kernel writes, %llu exits, %u log entries for %d writes",
		     (unsigned long long)(k.kf->ktrace_writes - w),
		     (unsigned long long)(k.kf->kfill_exits - e),
		     k.kf->log_head - head, writes);
		goto out;
	}
	/* The last of an even number of writes carries an odd number of flips. */
	if (*kv_entry(&k, KV_PT0 + 0x100 * 4) != 0x31000) {
		fail("PTE %#x after %d writes, want 0x31000", *kv_entry(&k, KV_PT0 + 0x100 * 4),
		     writes);
		goto out;
	}
	printf("INFO ktrace write (kernel-handled page-table write: #PF exit, walk, copy, step, #DB exit, compare, zap, re-entry): %.0f ns; plain RUN round trip (int3 exit): %.0f ns\n",
	       kt, plain);
	r = 0;
out:
	kv_close(&k);
	return r;
}

static int t_no_leaks(void)
{
	return expect_clean("at the end");
}

static const struct {
	const char *name;
	int (*fn)(void);
	bool nmi;		/* only when the harness injects NMIs */
} tests[] = {
	{ "version", t_version, false },
	{ "io32", t_io32, false },
	{ "stack-regs-32", t_stack32, false },
	{ "io64", t_io64, false },
	{ "mode-switch-64-to-32", t_to32, false },
	{ "regs-validation", t_regs_validation, false },
	{ "signal-interrupts-loop", t_signal, false },
	{ "roundtrips-10000", t_roundtrips, false },
	{ "nmi-reraised", t_nmi, true },
	{ "two-processes", t_two_processes, false },
	{ "two-vcpus-one-vm", t_two_vcpus, false },
	{ "kill-mid-run", t_kill, false },
	{ "close-frees-everything", t_close_frees, false },
	{ "memory-validation", t_memory_validation, false },
	{ "wrong-fd-types-and-pointers", t_fd_types, false },
	{ "fuzz-ioctl", t_fuzz_ioctl, false },
	{ "fuzz-guest-code", t_fuzz_code, false },
	{ "hostmap-rw-int3", t_hm_rw, false },
	{ "hostmap-mprotect-fault-resolved", t_hm_mprotect, false },
	{ "hostmap-munmap-remap", t_hm_remap, false },
	{ "hostmap-nx-fetch", t_hm_nx, false },
	{ "hostmap-table-rebuild", t_hm_rebuild, false },
	{ "hostmap-sse-state", t_hm_sse, false },
	{ "hostmap-api-validation", t_hm_api, false },
	{ "hostmap-signal-regs", t_hm_signal, false },
	{ "hostmap-kill-mid-run", t_hm_kill, false },
	{ "hostmap-fill-timing", t_hm_timing, false },
	{ "kviews-fill-paging", t_kv_fill, false },
	{ "kviews-exits", t_kv_exits, false },
	{ "kviews-mirrors-guard", t_kv_mirrors, false },
	{ "kviews-ops", t_kv_ops, false },
	{ "kviews-flat", t_kv_flat, false },
	{ "kviews-apart-from-hostmap", t_kv_apart, false },
	{ "kviews-api-validation", t_kv_api, false },
	{ "kviews-fill-timing", t_kv_timing, false },
	{ "ktraces-pt-write", t_kt_write, false },
	{ "ktraces-exits-tf-db", t_kt_exits, false },
	{ "ktraces-timing", t_kt_timing, false },
	{ "kcall-mov-from-cr", t_kcall_mov_from_cr, false },
	{ "kcall-invlpg", t_kcall_invlpg, false },
	{ "kcall-store", t_kcall_store, false },
	{ "kcall-store-frame-0", t_kcall_store_frame0, false },
	{ "kcall-seg", t_kcall_seg, false },
	{ "kcall-seg-unaligned-gdt", t_kcall_seg_unaligned_gdt, false },
	{ "kcall-not-kcalls", t_kcall_not_kcalls, false },
	{ "kcall-fuzz-20000", t_kcall_fuzz, false },
	{ "no-leaks", t_no_leaks, false },
};

/* Usage: bt86test [substring]: run the tests whose name contains it. */
int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	bool nmi = getenv("BT86_NMITEST") != NULL;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(exc_cases) / sizeof(exc_cases[0]); i++)
		if (!only || strstr(exc_cases[i].name, only))
			report(exc_cases[i].name, t_exc(&exc_cases[i]));
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if ((!only || strstr(tests[i].name, only)) &&
		    (!tests[i].nmi || nmi))
			report(tests[i].name, tests[i].fn());
	return failures ? 1 : 0;
}
