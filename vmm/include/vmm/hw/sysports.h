/* Miscellaneous PC ports: POST/delay port 0x80, system control port A 0x92, exit port 0xf4. */
#ifndef VMM_HW_SYSPORTS_H
#define VMM_HW_SYSPORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/ctl.h"
#include "vmm/hw/i8042.h"
#include "vmm/io.h"

#define SYSPORTS_POST		0x80	/* POST code / I/O delay */
#define SYSPORTS_CTLA		0x92	/* system control port A */
#define SYSPORTS_EXIT		0xf4	/* isa-debug-exit */
#define SYSPORTS_EXIT_LEN	4	/* claimed so 16/32-bit writes arrive whole */

#define SYSPORTS_CTLA_RESET	0x01	/* fast reset: writing 1 resets the CPU */
#define SYSPORTS_CTLA_A20	0x02	/* fast A20 gate */
#define SYSPORTS_CTLA_LOCK	0x08	/* CMOS security lock */
#define SYSPORTS_CTLA_WDOG	0x10	/* watchdog timeout status */
#define SYSPORTS_CTLA_LED	0xc0	/* hard disk activity LED */

struct sysports {
	struct vm_ctl *ctl;
	struct i8042 *kbc;	/* owns the A20 gate; NULL keeps it here */
	bool a20;		/* used only without a kbc */
	uint8_t post;		/* last POST code */
	uint8_t ctla;		/* port 0x92 bits other than A20 and reset */
	uint64_t post_writes;
};

/* kbc may be NULL (tests); then port 0x92 keeps its own A20 bit. */
void sysports_init(struct sysports *s, struct vm_ctl *ctl, struct i8042 *kbc);
/*
 * Claim 0x80, 0x92 and 0xf4-0xf7.  Reads: 0x80 returns the last POST code,
 * 0x92 the A20 bit and the stored bits, 0xf4-0xf7 all ones (write-only, like
 * an empty bus).  A write of 1, 2 or 4 bytes at 0xf4 stops the VM with exit
 * status (v << 1) | 1; writes at 0xf5-0xf7 are ignored.
 */
int sysports_register(struct sysports *s, struct io_bus *bus);

bool sysports_a20(const struct sysports *s);

#endif
