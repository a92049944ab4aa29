/* i8042 keyboard controller model with an attached but silent AT keyboard. */
#include <string.h>

#include "vmm/hw/i8042.h"

/*
 * Commands execute the moment they are written, so the input buffer is never
 * seen full.  Replies from the controller and the keyboard go through one
 * small queue standing in for the keyboard's own FIFO behind the one-byte
 * output buffer.  There is no mouse: the aux port answers its interface test
 * but commands sent to the aux device get 0xfe, as with nothing plugged in.
 */

/* What the keyboard reports for the scan code set when the controller translates. */
static const uint8_t xlate_set[4] = { 0, 0x43, 0x41, 0x3f };

static void drive(struct i8042 *k, int which, int level)
{
	if (k->irq_level[which] == level)
		return;
	k->irq_level[which] = level;
	irq_set(k->irq, which ? I8042_AUX_IRQ : I8042_KBD_IRQ, level);
}

/* The output buffer raises IRQ1 or IRQ12 for as long as it is full. */
static void update_irq(struct i8042 *k)
{
	bool full = k->q_count != 0;
	bool aux = full && k->queue_aux[k->q_head];

	drive(k, 0, full && !aux && (k->ram[0] & I8042_CTR_KBDINT));
	drive(k, 1, aux && (k->ram[0] & I8042_CTR_AUXINT));
}

static void queue_byte(struct i8042 *k, uint8_t b, bool aux)
{
	unsigned i;

	if (k->q_count == I8042_QUEUE)
		return;
	i = (k->q_head + k->q_count) % I8042_QUEUE;
	k->queue[i] = b;
	k->queue_aux[i] = aux;
	k->q_count++;
}

static void kbd_reply(struct i8042 *k, uint8_t b)
{
	k->kbd_last = b;
	queue_byte(k, b, false);
}

void i8042_kbd_input(struct i8042 *k, uint8_t code)
{
	if (!k->kbd_scanning || (k->ram[0] & I8042_CTR_KBDDIS))
		return;
	kbd_reply(k, code);
	update_irq(k);
}

static void kbd_defaults(struct i8042 *k)
{
	k->kbd_leds = 0;
	k->kbd_typematic = 0x2b;	/* 10.9 cps, 500 ms: the power-on default */
	k->kbd_scanset = 2;
}

static void kbd_write(struct i8042 *k, uint8_t v)
{
	uint8_t arg_of = k->kbd_pending;

	k->kbd_pending = 0;
	switch (arg_of) {
	case I8042_KBD_SET_LEDS:
		k->kbd_leds = v & 7;
		kbd_reply(k, I8042_KBD_ACK);
		return;
	case I8042_KBD_TYPEMATIC:
		k->kbd_typematic = v & 0x7f;
		kbd_reply(k, I8042_KBD_ACK);
		return;
	case I8042_KBD_SCANSET:
		kbd_reply(k, I8042_KBD_ACK);
		if (v == 0)
			kbd_reply(k, (k->ram[0] & I8042_CTR_XLATE) ?
					     xlate_set[k->kbd_scanset] : k->kbd_scanset);
		else if (v <= 3)
			k->kbd_scanset = v;
		return;
	}

	switch (v) {
	case I8042_KBD_SET_LEDS:
	case I8042_KBD_TYPEMATIC:
	case I8042_KBD_SCANSET:
		k->kbd_pending = v;
		kbd_reply(k, I8042_KBD_ACK);
		break;
	case I8042_KBD_ECHO:
		kbd_reply(k, I8042_KBD_ECHO);
		break;
	case I8042_KBD_IDENTIFY:
		kbd_reply(k, I8042_KBD_ACK);
		kbd_reply(k, 0xab);
		/* An MF2 keyboard is ab 83; the controller translates 83 to 41. */
		kbd_reply(k, (k->ram[0] & I8042_CTR_XLATE) ? 0x41 : 0x83);
		break;
	case I8042_KBD_ENABLE:
		k->kbd_scanning = true;
		kbd_reply(k, I8042_KBD_ACK);
		break;
	case I8042_KBD_DISABLE:
		k->kbd_scanning = false;
		kbd_defaults(k);
		kbd_reply(k, I8042_KBD_ACK);
		break;
	case I8042_KBD_DEFAULTS:
		kbd_defaults(k);
		kbd_reply(k, I8042_KBD_ACK);
		break;
	case I8042_KBD_RESEND:
		queue_byte(k, k->kbd_last, false);
		break;
	case I8042_KBD_RESET:
		kbd_defaults(k);
		k->kbd_scanning = true;
		kbd_reply(k, I8042_KBD_ACK);
		kbd_reply(k, I8042_KBD_BAT_OK);
		break;
	default:
		kbd_reply(k, I8042_KBD_NAK);
		break;
	}
}

static uint8_t read_outport(const struct i8042 *k)
{
	uint8_t v = k->outport & ~(I8042_OUT_KBDOBF | I8042_OUT_AUXOBF);

	if (k->irq_level[0])
		v |= I8042_OUT_KBDOBF;
	if (k->irq_level[1])
		v |= I8042_OUT_AUXOBF;
	return v;
}

static void write_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v;
	/* The reset line is active low: clearing bit 0 resets the CPU. */
	if (!(v & I8042_OUT_RESET) && k->ctl)
		ctl_request(k->ctl, VM_STOP_RESET, 0, "i8042 output port reset (0x%02x)", v);
}

static void controller_cmd(struct i8042 *k, uint8_t cmd)
{
	k->pending_cmd = 0;
	if (cmd >= I8042_CMD_READ_RAM && cmd < I8042_CMD_READ_RAM + 0x20) {
		queue_byte(k, k->ram[cmd & 0x1f], false);
		return;
	}
	if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + 0x20) {
		k->pending_cmd = cmd;
		return;
	}
	if (cmd >= I8042_CMD_PULSE) {
		if (!(cmd & I8042_OUT_RESET) && k->ctl)
			ctl_request(k->ctl, VM_STOP_RESET, 0, "i8042 reset pulse (0x%02x)", cmd);
		return;
	}
	switch (cmd) {
	case I8042_CMD_AUX_DISABLE:
		k->ram[0] |= I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_ENABLE:
		k->ram[0] &= ~I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_TEST:
	case I8042_CMD_KBD_TEST:
		queue_byte(k, 0x00, false);	/* no clock or data line stuck */
		break;
	case I8042_CMD_SELF_TEST:
		k->ram[0] |= I8042_CTR_SYS;
		queue_byte(k, 0x55, false);
		break;
	case I8042_CMD_KBD_DISABLE:
		k->ram[0] |= I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_KBD_ENABLE:
		k->ram[0] &= ~I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_READ_INPUT:
		queue_byte(k, 0x80, false);	/* key lock open */
		break;
	case I8042_CMD_READ_OUTPUT:
		queue_byte(k, read_outport(k), false);
		break;
	case I8042_CMD_WRITE_OUTPUT:
	case I8042_CMD_WRITE_KBD_OB:
	case I8042_CMD_WRITE_AUX_OB:
	case I8042_CMD_WRITE_AUX:
		k->pending_cmd = cmd;
		break;
	case I8042_CMD_READ_TEST:
		queue_byte(k, 0x00, false);
		break;
	default:
		/* Real controllers ignore commands they do not know. */
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	if (cmd >= I8042_CMD_WRITE_RAM && cmd < I8042_CMD_WRITE_RAM + 0x20) {
		k->ram[cmd & 0x1f] = v;
		return;
	}
	switch (cmd) {
	case I8042_CMD_WRITE_OUTPUT:
		write_outport(k, v);
		break;
	case I8042_CMD_WRITE_KBD_OB:
		queue_byte(k, v, false);
		break;
	case I8042_CMD_WRITE_AUX_OB:
		queue_byte(k, v, true);
		break;
	case I8042_CMD_WRITE_AUX:
		queue_byte(k, I8042_KBD_NAK, true);
		break;
	default:
		kbd_write(k, v);
		break;
	}
}

static uint8_t data_read(struct i8042 *k)
{
	uint8_t v;

	if (!k->q_count)
		return k->queue[(k->q_head + I8042_QUEUE - 1) % I8042_QUEUE];
	/*
	 * Drop the line before the next byte moves up, so the edge-triggered
	 * PIC sees a new edge for it.
	 */
	drive(k, 0, 0);
	drive(k, 1, 0);
	v = k->queue[k->q_head];
	k->q_head = (k->q_head + 1) % I8042_QUEUE;
	k->q_count--;
	return v;
}

static uint8_t status_read(const struct i8042 *k)
{
	uint8_t v = (k->status & I8042_STR_CMDDAT) | I8042_STR_KEYLOCK;

	if (k->q_count) {
		v |= I8042_STR_OBF;
		if (k->queue_aux[k->q_head])
			v |= I8042_STR_AUXDATA;
	}
	if (k->ram[0] & I8042_CTR_SYS)
		v |= I8042_STR_SYS;
	return v;
}

static void i8042_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct i8042 *k = dev;

	(void)len;
	switch (addr) {
	case I8042_DATA_PORT:
		if (is_write) {
			k->status &= ~I8042_STR_CMDDAT;
			data_write(k, data[0]);
		} else {
			data[0] = data_read(k);
		}
		break;
	case I8042_CMD_PORT:
		if (is_write) {
			k->status |= I8042_STR_CMDDAT;
			controller_cmd(k, data[0]);
		} else {
			data[0] = status_read(k);
		}
		break;
	}
	update_irq(k);
}

bool i8042_a20(const struct i8042 *k)
{
	return k->outport & I8042_OUT_A20;
}

void i8042_set_a20(struct i8042 *k, bool on)
{
	if (on)
		k->outport |= I8042_OUT_A20;
	else
		k->outport &= ~I8042_OUT_A20;
}

void i8042_init(struct i8042 *k, const struct irq_line *irq, struct vm_ctl *ctl)
{
	memset(k, 0, sizeof(*k));
	k->irq = irq;
	k->ctl = ctl;
	/*
	 * The state a BIOS leaves after POST: translation on, keyboard IRQ on,
	 * system flag set, A20 enabled (both boot protocols expect it).
	 */
	k->ram[0] = I8042_CTR_XLATE | I8042_CTR_SYS | I8042_CTR_KBDINT;
	k->outport = I8042_OUT_RESET | I8042_OUT_A20 | I8042_OUT_KBDCLK | I8042_OUT_KBDDAT;
	k->kbd_scanning = true;
	kbd_defaults(k);
}

int i8042_register(struct i8042 *k, struct io_bus *bus)
{
	if (io_register(bus, I8042_DATA_PORT, 1, IO_W8, "i8042 data", i8042_io, k) < 0)
		return -1;
	return io_register(bus, I8042_CMD_PORT, 1, IO_W8, "i8042 cmd", i8042_io, k);
}
