/* Helpers shared by the monitor's instruction emulators. */
#ifndef MONITOR_EMUL_H
#define MONITOR_EMUL_H

#include "monitor/vcpu.h"

/* Returned by emulators: continue, exit to the run loop, or stop. */
#define EMU_CONTINUE	0
#define EMU_EXIT	1
#define EMU_STOP	-1

static inline uint32_t emu_next(const struct bt_insn *in)
{
	return in->eip + in->len;
}

static inline int emu_iopl(const struct vcpu *v)
{
	return (v->bt.vflags >> 12) & 3;
}

/* Linear address of a memory operand (16-bit addressing included). */
uint32_t emu_lin(const struct vcpu *v, const struct bt_mem *m);

/* Read/write operand i (register, memory or immediate) of size bytes. */
uint32_t emu_read(struct vcpu *v, const struct bt_insn *in, int i, int size);
void emu_write(struct vcpu *v, const struct bt_insn *in, int i, int size, uint32_t val);

/* GPR access by (class, number). */
uint32_t emu_gpr(const struct vcpu *v, const struct bt_reg *r);
void emu_set_gpr(struct vcpu *v, const struct bt_reg *r, uint32_t val);

/* Guest stack, 2 or 4 bytes. */
void emu_push(struct vcpu *v, uint32_t val, int size);
uint32_t emu_pop(struct vcpu *v, int size);

/* #GP(0) unless at CPL 0; returns true when the check passed. */
bool emu_cpl0(struct vcpu *v);

/* Far transfers, segment and descriptor-table instructions (monitor/farxfer.c). */
int emu_far(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x);
int emu_segment(struct vcpu *v, const struct bt_insn *in, struct vm_exit *x);

#endif
