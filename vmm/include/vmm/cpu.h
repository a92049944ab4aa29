/* Architectural x86-32 CPU state as loaders, engines and the run loop exchange it. */
#ifndef VMM_CPU_H
#define VMM_CPU_H

#include <stdint.h>

/* General registers in instruction-encoding order, so reg fields index them. */
enum x86_gpr { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };

/* Segment registers in instruction-encoding order (sreg field of mov Sreg). */
enum x86_sreg { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS };

/*
 * A segment register with its hidden descriptor cache.  attr uses the layout of
 * descriptor bytes 5 and 6: bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 13 L,
 * 14 D/B, 15 G.  limit is the expanded byte limit (G already applied).
 */
struct x86_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t base;
	uint32_t limit;
};

#define SEG_ATTR_TYPE_MASK	0x000f
#define SEG_ATTR_S		0x0010	/* code/data, not system */
#define SEG_ATTR_DPL_SHIFT	5
#define SEG_ATTR_P		0x0080	/* present */
#define SEG_ATTR_DB		0x4000	/* default operand size 32 */
#define SEG_ATTR_G		0x8000	/* 4 KiB limit granularity */

/* Flat 4 GiB segments as both boot protocols hand them over. */
#define SEG_ATTR_CODE32_FLAT	(0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G)
#define SEG_ATTR_DATA32_FLAT	(0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G)
#define SEG_ATTR_TSS32_BUSY	(0xb | SEG_ATTR_P)
#define SEG_ATTR_LDT		(0x2 | SEG_ATTR_P)

struct x86_dtable {
	uint32_t base;
	uint16_t limit;
};

#define X86_EFLAGS_CF	0x00000001
#define X86_EFLAGS_FIXED 0x00000002	/* bit 1 always reads as 1 */
#define X86_EFLAGS_PF	0x00000004
#define X86_EFLAGS_AF	0x00000010
#define X86_EFLAGS_ZF	0x00000040
#define X86_EFLAGS_SF	0x00000080
#define X86_EFLAGS_TF	0x00000100
#define X86_EFLAGS_IF	0x00000200
#define X86_EFLAGS_DF	0x00000400
#define X86_EFLAGS_OF	0x00000800
#define X86_EFLAGS_IOPL	0x00003000
#define X86_EFLAGS_NT	0x00004000
#define X86_EFLAGS_RF	0x00010000
#define X86_EFLAGS_VM	0x00020000
#define X86_EFLAGS_AC	0x00040000
#define X86_EFLAGS_VIF	0x00080000
#define X86_EFLAGS_VIP	0x00100000
#define X86_EFLAGS_ID	0x00200000

#define X86_CR0_PE	0x00000001	/* protection enable */
#define X86_CR0_MP	0x00000002
#define X86_CR0_EM	0x00000004
#define X86_CR0_TS	0x00000008
#define X86_CR0_ET	0x00000010
#define X86_CR0_NE	0x00000020
#define X86_CR0_WP	0x00010000	/* supervisor write protect */
#define X86_CR0_AM	0x00040000
#define X86_CR0_NW	0x20000000
#define X86_CR0_CD	0x40000000
#define X86_CR0_PG	0x80000000	/* paging */

#define X86_CR4_VME	0x00000001
#define X86_CR4_PVI	0x00000002
#define X86_CR4_TSD	0x00000004
#define X86_CR4_DE	0x00000008
#define X86_CR4_PSE	0x00000010	/* 4 MiB pages */
#define X86_CR4_PAE	0x00000020
#define X86_CR4_MCE	0x00000040
#define X86_CR4_PGE	0x00000080	/* global pages */
#define X86_CR4_PCE	0x00000100
#define X86_CR4_OSFXSR	0x00000200
#define X86_CR4_OSXMMEXCPT 0x00000400

/* Whole guest CPU state that crosses the engine interface. */
struct x86_state {
	uint32_t gpr[8];
	uint32_t eip;
	uint32_t eflags;
	uint32_t cr0, cr2, cr3, cr4;
	struct x86_seg seg[6];
	struct x86_seg ldtr, tr;
	struct x86_dtable gdtr, idtr;
};

#endif
