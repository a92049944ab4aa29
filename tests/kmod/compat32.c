/* compat32.c: the bt86 ioctls from a 32-bit process (exercises .compat_ioctl). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../kernel-module/bt86_uapi.h"

static int failures;

static void check(const char *name, int ok)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", name);
	if (!ok) {
		printf("  (errno %d: %s)\n", errno, strerror(errno));
		failures++;
	}
}

int main(void)
{
	/* out %al, $0x80; hlt */
	static const uint8_t code[] = { 0xe6, 0x80, 0xf4 };
	struct bt86_version ver;
	struct bt86_memory_region mr = { 0 };
	struct bt86_regs regs = { 0 };
	struct bt86_run *run;
	uint8_t *ram;
	int dev, vm, vcpu;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = open("/dev/bt86", O_RDWR);
	check("compat32-open", dev >= 0);
	check("compat32-version",
	      ioctl(dev, BT86_GET_VERSION, &ver) == 0 &&
	      ver.api_version == BT86_API_VERSION);
	vm = ioctl(dev, BT86_CREATE_VM, 0);
	ram = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(ram + 0x1000, code, sizeof(code));
	mr.size = 1 << 16;
	mr.uaddr = (uintptr_t)ram;
	check("compat32-set-memory", vm >= 0 && ioctl(vm, BT86_SET_MEMORY, &mr) == 0);
	vcpu = ioctl(vm, BT86_CREATE_VCPU, 0);
	run = mmap(NULL, BT86_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	check("compat32-vcpu", vcpu >= 0 && run != MAP_FAILED);
	regs.rip = 0x1000;
	regs.rsp = 0x8000;
	regs.rax = 0x5a;
	regs.mode = BT86_MODE_COMPAT32;
	check("compat32-set-regs", ioctl(vcpu, BT86_SET_REGS, &regs) == 0);
	check("compat32-run-out",
	      ioctl(vcpu, BT86_RUN, 0) == 0 && run->exit_reason == BT86_EXIT_IO &&
	      run->io.port == 0x80 && run->io.data == 0x5a);
	check("compat32-run-hlt",
	      ioctl(vcpu, BT86_RUN, 0) == 0 && run->exit_reason == BT86_EXIT_HLT);
	check("compat32-get-regs",
	      ioctl(vcpu, BT86_GET_REGS, &regs) == 0 && regs.rip == 0x1003);
	check("compat32-bad-pointer",
	      ioctl(vcpu, BT86_GET_REGS, (void *)16) == -1 && errno == EFAULT);
	close(vcpu);
	close(vm);
	close(dev);
	return failures ? 1 : 0;
}
