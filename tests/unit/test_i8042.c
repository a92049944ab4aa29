/* Unit tests for the i8042 keyboard controller through the port-I/O dispatcher. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "vmm/ctl.h"
#include "vmm/hw/i8042.h"
#include "vmm/io.h"


static struct irq_rec rec;
static struct irq_line line = { irq_rec_set, &rec };
static struct io_bus bus;
static struct i8042 kbc;
static struct vm_ctl ctl;

static uint8_t status(void)
{
	return (uint8_t)io_in(&bus, 0x64, 1);
}

static uint8_t data(void)
{
	return (uint8_t)io_in(&bus, 0x60, 1);
}

static void cmd(uint8_t c)
{
	io_out(&bus, 0x64, 1, c);
}

static void put(uint8_t v)
{
	io_out(&bus, 0x60, 1, v);
}

static void setup(void)
{
	memset(&rec, 0, sizeof(rec));
	memset(&ctl, 0, sizeof(ctl));
	io_bus_destroy(&bus);
	io_bus_init(&bus, "port", true);
	i8042_init(&kbc, &line, &ctl);
	CHECK(i8042_register(&kbc, &bus) == 0, "register");
}

static void test_status_and_ctr(void)
{
	setup();
	CHECK_EQ(status(), I8042_STR_SYS | I8042_STR_KEYLOCK, "status after init");
	CHECK(io_find(&bus, 0x61) == NULL, "port 0x61 left for the PIT");
	cmd(0x20);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_CMDDAT), I8042_STR_OBF | I8042_STR_CMDDAT,
	   "OBF after read CTR, last write was a command");
	CHECK_EQ(rec.level[1], 1, "IRQ1 with CTR KBDINT");
	CHECK_EQ(data(), 0x45, "CTR: XLATE|SYS|KBDINT");
	CHECK_EQ(rec.level[1], 0, "reading data lowers IRQ1");
	CHECK_EQ(status() & I8042_STR_OBF, 0, "OBF cleared");

	cmd(0x60);
	put(0x44);
	CHECK_EQ(status() & I8042_STR_CMDDAT, 0, "last write was data");
	cmd(0x20);
	CHECK_EQ(rec.level[1], 0, "no IRQ1 with KBDINT off");
	CHECK_EQ(status() & I8042_STR_OBF, I8042_STR_OBF, "but OBF set");
	CHECK_EQ(data(), 0x44, "CTR written");
	cmd(0x60);
	put(0x40);
	CHECK_EQ(status() & I8042_STR_SYS, 0, "SYS follows CTR bit 2");

	cmd(0x7f);
	put(0x99);
	cmd(0x3f);
	CHECK_EQ(data(), 0x99, "controller RAM byte 31");
}

static void test_tests_and_enables(void)
{
	setup();
	cmd(0x60);
	put(0x00);
	cmd(I8042_CMD_SELF_TEST);
	CHECK_EQ(data(), 0x55, "self-test passes");
	CHECK_EQ(status() & I8042_STR_SYS, I8042_STR_SYS, "self-test sets SYS");
	cmd(I8042_CMD_KBD_TEST);
	CHECK_EQ(data(), 0x00, "keyboard interface test");
	cmd(I8042_CMD_AUX_TEST);
	CHECK_EQ(data(), 0x00, "aux interface test");
	cmd(I8042_CMD_KBD_DISABLE);
	cmd(I8042_CMD_AUX_DISABLE);
	cmd(0x20);
	CHECK_EQ(data() & 0x30, 0x30, "AD/A7 set the disable bits");
	cmd(I8042_CMD_KBD_ENABLE);
	cmd(0x20);
	CHECK_EQ(data() & 0x30, 0x20, "AE clears keyboard disable");
	cmd(I8042_CMD_AUX_ENABLE);
	cmd(0x20);
	CHECK_EQ(data() & 0x30, 0x00, "A8 clears aux disable");
	cmd(I8042_CMD_READ_INPUT);
	CHECK_EQ(data(), 0x80, "input port");
	cmd(0x12);	/* unknown: ignored */
	CHECK_EQ(status() & I8042_STR_OBF, 0, "unknown controller command ignored");
}

static void test_outport_a20_reset(void)
{
	setup();
	CHECK(i8042_a20(&kbc), "A20 on at start");
	cmd(I8042_CMD_READ_OUTPUT);
	CHECK_EQ(data() & 0x03, 0x03, "output port: reset high, A20 on");
	cmd(I8042_CMD_WRITE_OUTPUT);
	put(0xdd);
	CHECK(!i8042_a20(&kbc), "0xdd turns A20 off");
	CHECK_EQ(ctl.stop, VM_RUNNING, "no reset while bit 0 stays high");
	cmd(I8042_CMD_READ_OUTPUT);
	CHECK_EQ(status() & I8042_STR_OBF, I8042_STR_OBF, "OBF");
	CHECK_EQ(data() & 0x13, 0x01, "output port: A20 off, buffer was empty");
	cmd(I8042_CMD_WRITE_KBD_OB);
	put(0x00);
	cmd(I8042_CMD_READ_OUTPUT);
	data();
	CHECK_EQ(data() & 0x10, 0x10, "output port bit 4 follows IRQ1");
	cmd(I8042_CMD_WRITE_OUTPUT);
	put(0xdf);
	CHECK(i8042_a20(&kbc), "0xdf turns A20 on");
	i8042_set_a20(&kbc, false);
	CHECK(!i8042_a20(&kbc), "i8042_set_a20");
	cmd(I8042_CMD_WRITE_OUTPUT);
	put(0xde);
	CHECK_EQ(ctl.stop, VM_STOP_RESET, "output port bit 0 low resets");

	setup();
	cmd(0xff);
	CHECK_EQ(ctl.stop, VM_RUNNING, "pulse 0xff pulses nothing");
	cmd(0xfe);
	CHECK_EQ(ctl.stop, VM_STOP_RESET, "0xfe pulse -> VM_STOP_RESET");
	CHECK(strstr(ctl.why, "i8042") != NULL, "reason names the i8042");
}

static void test_write_buffers_and_aux(void)
{
	setup();
	cmd(I8042_CMD_WRITE_KBD_OB);
	put(0x1c);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF, "D2: keyboard data");
	CHECK_EQ(rec.level[1], 1, "D2 raises IRQ1");
	CHECK_EQ(data(), 0x1c, "D2 byte");
	cmd(I8042_CMD_WRITE_AUX_OB);
	put(0x5a);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF | I8042_STR_AUXDATA,
	   "D3: aux data");
	CHECK_EQ(rec.level[12], 0, "no IRQ12 without AUXINT");
	CHECK_EQ(data(), 0x5a, "D3 byte");
	cmd(0x60);
	put(0x47);
	cmd(I8042_CMD_WRITE_AUX);
	put(0xff);
	CHECK_EQ(rec.level[12], 1, "IRQ12 with AUXINT");
	CHECK_EQ(rec.level[1], 0, "not IRQ1");
	CHECK_EQ(data(), I8042_KBD_NAK, "no mouse: aux command gets 0xfe");
	CHECK_EQ(rec.level[12], 0, "IRQ12 lowered");
}

static void test_keyboard(void)
{
	setup();
	put(I8042_KBD_RESET);
	CHECK_EQ(rec.rises[1], 1, "IRQ1 for the reply");
	CHECK_EQ(data(), I8042_KBD_ACK, "reset ack");
	CHECK_EQ(rec.level[1], 1, "IRQ1 again for the next byte");
	CHECK_EQ(rec.rises[1], 2, "as a new edge");
	CHECK_EQ(data(), I8042_KBD_BAT_OK, "BAT ok");
	CHECK_EQ(status() & I8042_STR_OBF, 0, "empty");
	CHECK_EQ(data(), I8042_KBD_BAT_OK, "empty buffer re-reads the last byte");

	put(I8042_KBD_IDENTIFY);
	CHECK_EQ(data(), I8042_KBD_ACK, "identify ack");
	CHECK_EQ(data(), 0xab, "id 1");
	CHECK_EQ(data(), 0x41, "id 2 translated");
	cmd(0x60);
	put(0x05);
	put(I8042_KBD_IDENTIFY);
	data();
	data();
	CHECK_EQ(data(), 0x83, "id 2 untranslated");

	put(I8042_KBD_DISABLE);
	CHECK_EQ(data(), I8042_KBD_ACK, "F5 ack");
	CHECK(!kbc.kbd_scanning, "scanning off");
	put(I8042_KBD_ENABLE);
	CHECK_EQ(data(), I8042_KBD_ACK, "F4 ack");
	CHECK(kbc.kbd_scanning, "scanning on");

	put(I8042_KBD_SET_LEDS);
	CHECK_EQ(data(), I8042_KBD_ACK, "ED ack");
	put(0x07);
	CHECK_EQ(data(), I8042_KBD_ACK, "LED arg ack");
	CHECK_EQ(kbc.kbd_leds, 7, "LEDs set");
	put(I8042_KBD_TYPEMATIC);
	CHECK_EQ(data(), I8042_KBD_ACK, "F3 ack");
	put(0x20);
	CHECK_EQ(data(), I8042_KBD_ACK, "typematic arg ack");
	CHECK_EQ(kbc.kbd_typematic, 0x20, "typematic set");
	put(I8042_KBD_SCANSET);
	data();
	put(0);
	CHECK_EQ(data(), I8042_KBD_ACK, "scan set query ack");
	CHECK_EQ(data(), 2, "scan set 2");
	put(I8042_KBD_ECHO);
	CHECK_EQ(data(), I8042_KBD_ECHO, "echo");
	put(0x77);
	CHECK_EQ(data(), I8042_KBD_NAK, "unknown keyboard command -> 0xfe");
	put(I8042_KBD_RESEND);
	CHECK_EQ(data(), I8042_KBD_NAK, "resend repeats the last byte");

	i8042_kbd_input(&kbc, 0x1e);
	CHECK_EQ(data(), 0x1e, "scan code delivered");
	cmd(I8042_CMD_KBD_DISABLE);
	i8042_kbd_input(&kbc, 0x1e);
	CHECK_EQ(status() & I8042_STR_OBF, 0, "no scan codes while interface disabled");
}

int main(void)
{
	test_status_and_ctr();
	test_tests_and_enables();
	test_outport_a20_reset();
	test_write_buffers_and_aux();
	test_keyboard();
	io_bus_destroy(&bus);
	return check_done();
}
