/* i8042 keyboard controller: command byte, output port (A20, reset), a silent keyboard. */
#ifndef VMM_HW_I8042_H
#define VMM_HW_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/ctl.h"
#include "vmm/io.h"
#include "vmm/irq.h"

#define I8042_DATA_PORT		0x60	/* output buffer (read), input buffer (write) */
#define I8042_CMD_PORT		0x64	/* status (read), command (write) */
#define I8042_KBD_IRQ		1
#define I8042_AUX_IRQ		12

#define I8042_STR_OBF		0x01	/* output buffer full */
#define I8042_STR_IBF		0x02	/* input buffer full */
#define I8042_STR_SYS		0x04	/* system flag: POST passed */
#define I8042_STR_CMDDAT	0x08	/* last write was to the command port */
#define I8042_STR_KEYLOCK	0x10	/* keyboard not inhibited by the key lock */
#define I8042_STR_AUXDATA	0x20	/* output buffer holds aux (mouse) data */
#define I8042_STR_TIMEOUT	0x40	/* general timeout */
#define I8042_STR_PARITY	0x80	/* parity error */

#define I8042_CTR_KBDINT	0x01	/* IRQ1 on keyboard output */
#define I8042_CTR_AUXINT	0x02	/* IRQ12 on aux output */
#define I8042_CTR_SYS		0x04	/* system flag */
#define I8042_CTR_IGNKEYLOCK	0x08	/* ignore the key lock */
#define I8042_CTR_KBDDIS	0x10	/* keyboard interface disabled */
#define I8042_CTR_AUXDIS	0x20	/* aux interface disabled */
#define I8042_CTR_XLATE		0x40	/* translate to scan code set 1 */

#define I8042_OUT_RESET		0x01	/* CPU reset line, active low */
#define I8042_OUT_A20		0x02	/* A20 gate */
#define I8042_OUT_AUXCLK	0x04	/* aux clock */
#define I8042_OUT_AUXDAT	0x08	/* aux data */
#define I8042_OUT_KBDOBF	0x10	/* keyboard output buffer full (IRQ1) */
#define I8042_OUT_AUXOBF	0x20	/* aux output buffer full (IRQ12) */
#define I8042_OUT_KBDCLK	0x40	/* keyboard clock */
#define I8042_OUT_KBDDAT	0x80	/* keyboard data */

/* Controller commands, written to port 0x64. */
#define I8042_CMD_READ_RAM	0x20	/* 0x20-0x3f: read controller RAM, 0x20 is the CTR */
#define I8042_CMD_WRITE_RAM	0x60	/* 0x60-0x7f: write controller RAM */
#define I8042_CMD_AUX_DISABLE	0xa7	/* disable aux interface */
#define I8042_CMD_AUX_ENABLE	0xa8	/* enable aux interface */
#define I8042_CMD_AUX_TEST	0xa9	/* aux interface test */
#define I8042_CMD_SELF_TEST	0xaa	/* controller self-test */
#define I8042_CMD_KBD_TEST	0xab	/* keyboard interface test */
#define I8042_CMD_KBD_DISABLE	0xad	/* disable keyboard interface */
#define I8042_CMD_KBD_ENABLE	0xae	/* enable keyboard interface */
#define I8042_CMD_READ_INPUT	0xc0	/* read input port */
#define I8042_CMD_READ_OUTPUT	0xd0	/* read output port */
#define I8042_CMD_WRITE_OUTPUT	0xd1	/* write output port */
#define I8042_CMD_WRITE_KBD_OB	0xd2	/* write keyboard output buffer */
#define I8042_CMD_WRITE_AUX_OB	0xd3	/* write aux output buffer */
#define I8042_CMD_WRITE_AUX	0xd4	/* write to aux device */
#define I8042_CMD_READ_TEST	0xe0	/* read test inputs */
#define I8042_CMD_PULSE		0xf0	/* 0xf0-0xff: pulse output bits 3:0 low */

/* Keyboard commands and replies, on port 0x60. */
#define I8042_KBD_SET_LEDS	0xed	/* set LEDs, one argument */
#define I8042_KBD_ECHO		0xee	/* echo, and its reply */
#define I8042_KBD_SCANSET	0xf0	/* get/set scan code set, one argument */
#define I8042_KBD_IDENTIFY	0xf2	/* read ID */
#define I8042_KBD_TYPEMATIC	0xf3	/* set typematic rate, one argument */
#define I8042_KBD_ENABLE	0xf4	/* enable scanning */
#define I8042_KBD_DISABLE	0xf5	/* disable scanning, set defaults */
#define I8042_KBD_DEFAULTS	0xf6	/* set defaults */
#define I8042_KBD_RESEND	0xfe	/* resend last byte */
#define I8042_KBD_RESET		0xff	/* reset and self-test */
#define I8042_KBD_ACK		0xfa	/* command acknowledged */
#define I8042_KBD_BAT_OK	0xaa	/* basic assurance test passed */
#define I8042_KBD_NAK		0xfe	/* unknown command / no device */

#define I8042_QUEUE	16

struct i8042 {
	const struct irq_line *irq;
	struct vm_ctl *ctl;
	int irq_level[2];		/* last level driven on IRQ1, IRQ12 */

	uint8_t ram[32];		/* controller RAM; ram[0] is the command byte */
	uint8_t outport;
	uint8_t status;			/* CMDDAT and the sticky bits */
	uint8_t pending_cmd;		/* controller command awaiting its data byte */
	uint8_t kbd_pending;		/* keyboard command awaiting its argument */

	/* Bytes for the guest, oldest first; aux marks mouse-side bytes. */
	uint8_t queue[I8042_QUEUE];
	bool queue_aux[I8042_QUEUE];
	unsigned q_head, q_count;

	/* The keyboard device behind the controller. */
	bool kbd_scanning;
	uint8_t kbd_leds, kbd_typematic, kbd_scanset;
	uint8_t kbd_last;		/* last byte sent, for RESEND */
};

void i8042_init(struct i8042 *k, const struct irq_line *irq, struct vm_ctl *ctl);
/* Claim ports 0x60 and 0x64; returns 0 or -1. */
int i8042_register(struct i8042 *k, struct io_bus *bus);

bool i8042_a20(const struct i8042 *k);
/* Port 0x92 and the output port share one A20 gate. */
void i8042_set_a20(struct i8042 *k, bool on);

/* Queue a scan code from the keyboard (nothing calls this yet). */
void i8042_kbd_input(struct i8042 *k, uint8_t code);

#endif
