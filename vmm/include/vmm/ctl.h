/* How devices, signals and engines ask the run loop to stop or reset the VM. */
#ifndef VMM_CTL_H
#define VMM_CTL_H

#include <signal.h>

enum vm_stop {
	VM_RUNNING = 0,
	VM_STOP_EXITPORT,	/* guest wrote the isa-debug-exit port */
	VM_STOP_POWEROFF,	/* guest powered off (hypercall, or cli;hlt) */
	VM_STOP_RESET,		/* i8042 0xFE pulse, port 0x92 bit 0, triple fault w/ reboot */
	VM_STOP_SHUTDOWN,	/* triple fault: the CPU entered shutdown */
	VM_STOP_USER,		/* Ctrl-C, SIGTERM, Ctrl-A x */
	VM_STOP_ERROR,		/* the VMM itself failed */
};

/*
 * Exit statuses of the bt86 process.  Exit-port statuses are (v << 1) | 1 and
 * so always odd; the VMM's own codes are even so the two never collide.
 */
#define BT86_EXIT_POWEROFF	0
#define BT86_EXIT_USAGE		2	/* bad command line */
#define BT86_EXIT_ERROR		4	/* VMM error: bad image, I/O, engine failure */
#define BT86_EXIT_TRIPLE	6	/* guest triple fault (shutdown) */
#define BT86_EXIT_NOENGINE	8	/* requested engine cannot run here */
#define BT86_EXIT_INTERRUPTED	130	/* stopped by the user */

struct vm_ctl {
	volatile sig_atomic_t stop;	/* enum vm_stop; set from signal handlers too */
	int status;			/* exit-port status when stop == EXITPORT */
	char why[160];			/* human-readable reason for the log */
};

void ctl_request(struct vm_ctl *c, enum vm_stop why, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
