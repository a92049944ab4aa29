/* Unit tests for port 0x80, port 0x92 and the isa-debug-exit port. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "vmm/ctl.h"
#include "vmm/hw/i8042.h"
#include "vmm/hw/sysports.h"
#include "vmm/io.h"


static struct io_bus bus;
static struct vm_ctl ctl;
static struct sysports sys;
static struct i8042 kbc;

static void setup(bool with_kbc)
{
	memset(&ctl, 0, sizeof(ctl));
	io_bus_destroy(&bus);
	io_bus_init(&bus, "port", true);
	i8042_init(&kbc, NULL, &ctl);
	sysports_init(&sys, &ctl, with_kbc ? &kbc : NULL);
	CHECK(sysports_register(&sys, &bus) == 0, "register");
}

static void test_post(void)
{
	setup(true);
	io_out(&bus, 0x80, 1, 0x42);
	CHECK_EQ(io_in(&bus, 0x80, 1), 0x42, "port 0x80 reads the last POST code");
	CHECK_EQ(sys.post_writes, 1, "write counted");
	CHECK_EQ(ctl.stop, VM_RUNNING, "nothing stops");
}

static void test_port92(void)
{
	setup(true);
	CHECK_EQ(io_in(&bus, 0x92, 1), 0x02, "A20 on at start, reset bit reads 0");
	io_out(&bus, 0x92, 1, 0x00);
	CHECK(!i8042_a20(&kbc), "0x92 bit 1 clears the kbc A20");
	CHECK_EQ(io_in(&bus, 0x92, 1), 0x00, "reads back off");
	i8042_set_a20(&kbc, true);
	CHECK_EQ(io_in(&bus, 0x92, 1), 0x02, "mirrors the kbc A20");
	io_out(&bus, 0x92, 1, 0xc8);
	CHECK_EQ(io_in(&bus, 0x92, 1), 0xc8, "other bits kept, A20 off");
	CHECK(!sysports_a20(&sys), "sysports_a20");
	CHECK_EQ(ctl.stop, VM_RUNNING, "no reset yet");
	io_out(&bus, 0x92, 1, 0x03);
	CHECK_EQ(ctl.stop, VM_STOP_RESET, "bit 0 -> VM_STOP_RESET");

	setup(false);
	io_out(&bus, 0x92, 1, 0x00);
	CHECK(!sysports_a20(&sys), "own A20 without kbc");
	io_out(&bus, 0x92, 1, 0x02);
	CHECK(sysports_a20(&sys), "own A20 back on");
}

static void test_exit_port(void)
{
	setup(true);
	CHECK_EQ(io_in(&bus, 0xf4, 1), 0xff, "exit port reads all ones");
	CHECK_EQ(io_in(&bus, 0xf4, 4), 0xffffffff, "32-bit read too");
	io_out(&bus, 0xf5, 1, 3);
	CHECK_EQ(ctl.stop, VM_RUNNING, "0xf5 ignored");
	io_out(&bus, 0xf4, 1, 0);
	CHECK_EQ(ctl.stop, VM_STOP_EXITPORT, "1-byte write stops");
	CHECK_EQ(ctl.status, 1, "status (0 << 1) | 1");

	setup(true);
	io_out(&bus, 0xf4, 1, 0x10);
	CHECK_EQ(ctl.status, 0x21, "1-byte 0x10 -> 0x21");

	setup(true);
	io_out(&bus, 0xf4, 2, 0x0102);
	CHECK_EQ(ctl.stop, VM_STOP_EXITPORT, "2-byte write stops");
	CHECK_EQ(ctl.status, 0x0205, "2-byte value arrives whole");

	setup(true);
	io_out(&bus, 0xf4, 4, 0x00030001);
	CHECK_EQ(ctl.stop, VM_STOP_EXITPORT, "4-byte write stops");
	CHECK_EQ(ctl.status, 0x00060003, "4-byte value arrives whole");

	setup(true);
	io_out(&bus, 0xf4, 1, 1);
	io_out(&bus, 0xf4, 1, 2);
	CHECK_EQ(ctl.status, 3, "first stop reason wins");
	CHECK(strstr(ctl.why, "exit port") != NULL, "reason text");
}

int main(void)
{
	test_post();
	test_port92();
	test_exit_port();
	io_bus_destroy(&bus);
	return check_done();
}
