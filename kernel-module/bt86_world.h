/* SPDX-License-Identifier: GPL-2.0 */
/* bt86_world.h: layout of the per-vcpu monitor area, shared by switch.S and C. */
#ifndef BT86_WORLD_H
#define BT86_WORLD_H

/*
 * Each vcpu owns one naturally aligned 16 KiB block of physically
 * contiguous memory, mapped at the same (direct-map) address in Linux's page
 * tables and in the monitor's, so the switch code can use one pointer on both
 * sides of the CR3 write:
 *
 *   page 0  struct bt86_world: guest registers, exit info, saved host
 *           state, monitor GDT and TSS
 *   page 1  monitor IDT (256 16-byte gates)
 *   page 2  IST stacks: #DF/#MC in the lower half, NMI in the upper half
 *   page 3  ring-0 stack (TSS.RSP0) for traps and interrupts from the guest
 *
 * Because the block is aligned to its size, trap code finds the world by
 * rounding its stack pointer down: rsp & ~(BT86_AREA_SIZE - 1).
 *
 * The W_* offsets are checked against struct bt86_world with BUILD_BUG_ON.
 */

#define BT86_AREA_ORDER		2
#define BT86_AREA_SIZE		(4096 << BT86_AREA_ORDER)
#define BT86_AREA_IDT		4096
#define BT86_AREA_IST_DF_TOP	(2 * 4096 + 2048)
#define BT86_AREA_IST_NMI_TOP	(3 * 4096)
#define BT86_AREA_STACK_TOP	(4 * 4096)

/* Guest general registers, in x86 encoding order. */
#define W_GPR_RAX		0x000
#define W_GPR_RCX		0x008
#define W_GPR_RDX		0x010
#define W_GPR_RBX		0x018
#define W_GPR_RSP		0x020
#define W_GPR_RBP		0x028
#define W_GPR_RSI		0x030
#define W_GPR_RDI		0x038
#define W_GPR_R8		0x040
#define W_GPR_R9		0x048
#define W_GPR_R10		0x050
#define W_GPR_R11		0x058
#define W_GPR_R12		0x060
#define W_GPR_R13		0x068
#define W_GPR_R14		0x070
#define W_GPR_R15		0x078
#define W_GUEST_RIP		0x080
#define W_GUEST_RFLAGS		0x088
#define W_GUEST_CS		0x090
#define W_GUEST_SS		0x098
#define W_GUEST_DS		0x0a0
#define W_EXIT_VECTOR		0x0a8
#define W_EXIT_ERROR		0x0b0
#define W_EXIT_CR2		0x0b8
#define W_NMI_PENDING		0x0c0
#define W_GUEST_FPU		0x0c8	/* nonzero: CR0.TS clear in the monitor */

#define W_HOST_RSP		0x100
#define W_HOST_CR0		0x108
#define W_HOST_CR3		0x110
#define W_HOST_CR4		0x118
#define W_HOST_DR7		0x120
#define W_HOST_EFER		0x128
#define W_HOST_SYSENTER_CS	0x130
#define W_HOST_FS_BASE		0x138
#define W_HOST_GS_BASE		0x140
#define W_HOST_DS		0x148
#define W_HOST_ES		0x150
#define W_HOST_FS		0x158
#define W_HOST_GS		0x160
#define W_HOST_SS		0x168
#define W_HOST_TR		0x170
#define W_HOST_LDT		0x178
#define W_HOST_TSS_DESC		0x180
#define W_HOST_GDTR		0x190	/* 2-byte limit + 8-byte base */
#define W_HOST_IDTR		0x1a0

#define W_HOST_GDTR_RW		0x1b0	/* Linux's writable GDT alias, for ltr */
#define W_MON_CR3		0x1c0
#define W_MON_GDTR		0x1d0
#define W_MON_IDTR		0x1e0

#define W_GDT			0x200	/* 16 descriptors, a patched copy of Linux's */
#define W_TSS			0x280	/* 104-byte 64-bit TSS */

/* Monitor GDT selectors; the same slots as Linux's 64-bit GDT (asm/segment.h). */
#define BT86_SEL_TSS		0x40	/* GDT entry 8 */

#endif /* BT86_WORLD_H */
