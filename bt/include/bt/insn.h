/* A decoded guest instruction in bt86's own terms (Zydis stays in bt/zydis.c). */
#ifndef BT_INSN_H
#define BT_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The instruction classes the translator and the monitor treat specially.
 * Everything else is BT_OTHER and is copied (IDENT) or re-encoded.
 */
enum bt_op {
	BT_OTHER = 0,
	/* control flow */
	BT_JMP_REL, BT_JCC_REL, BT_CALL_REL, BT_RET, BT_JMP_IND, BT_CALL_IND,
	BT_LOOP, BT_LOOPE, BT_LOOPNE, BT_JCXZ,
	BT_JMP_FAR, BT_CALL_FAR, BT_RET_FAR, BT_IRET, BT_INT, BT_INT3, BT_INTO,
	BT_SYSENTER, BT_SYSEXIT, BT_SYSCALL, BT_SYSRET,
	/* stack */
	BT_PUSH, BT_POP, BT_PUSHA, BT_POPA, BT_ENTER, BT_LEAVE,
	BT_PUSHF, BT_POPF, BT_PUSH_SEG, BT_POP_SEG,
	/* privileged and sensitive */
	BT_CLI, BT_STI, BT_HLT, BT_IN, BT_OUT, BT_INS, BT_OUTS,
	BT_MOV_FROM_CR, BT_MOV_TO_CR, BT_MOV_FROM_DR, BT_MOV_TO_DR,
	BT_CLTS, BT_LMSW, BT_SMSW, BT_LGDT, BT_LIDT, BT_SGDT, BT_SIDT,
	BT_LLDT, BT_SLDT, BT_LTR, BT_STR, BT_LAR, BT_LSL, BT_VERR, BT_VERW,
	BT_MOV_TO_SEG, BT_MOV_FROM_SEG, BT_LDS, BT_LES, BT_LFS, BT_LGS, BT_LSS,
	BT_CPUID, BT_RDTSC, BT_RDTSCP, BT_RDMSR, BT_WRMSR, BT_RDPMC,
	BT_INVD, BT_WBINVD, BT_INVLPG, BT_UD, BT_ARPL,
	/* differ in 64-bit mode: emulated by the monitor */
	BT_AAA, BT_AAS, BT_DAA, BT_DAS, BT_AAM, BT_AAD, BT_BOUND, BT_SALC, BT_XLAT,
	/* string instructions, translated with a view-relative rsi/rdi */
	BT_MOVS, BT_STOS, BT_LODS, BT_CMPS, BT_SCAS,
	/* a store retranslated as a callout because it keeps hitting traces */
	BT_HOT_STORE,
	BT_NR_OPS
};

enum bt_opnd_kind { BT_OPND_NONE, BT_OPND_REG, BT_OPND_MEM, BT_OPND_IMM, BT_OPND_PTR };

/* Registers as the monitor sees them: GPR index 0-7 with a width. */
enum bt_reg_class { BT_RC_NONE, BT_RC_GPR8, BT_RC_GPR8H, BT_RC_GPR16, BT_RC_GPR32,
		    BT_RC_SEG, BT_RC_CR, BT_RC_DR, BT_RC_OTHER };

struct bt_reg {
	uint8_t cls;	/* enum bt_reg_class */
	uint8_t num;	/* GPR index (encoding order), sreg index, CR/DR number */
};

struct bt_mem {
	uint8_t seg;		/* effective segment (enum x86_sreg) */
	struct bt_reg base;	/* cls NONE when absent */
	struct bt_reg index;
	uint8_t scale;
	int32_t disp;
	uint8_t addr16;		/* 16-bit address size (not translated inline) */
};

struct bt_opnd {
	uint8_t kind;		/* enum bt_opnd_kind */
	uint8_t size;		/* bytes */
	bool read, write;
	bool visible;		/* explicit in the encoding */
	struct bt_reg reg;
	struct bt_mem mem;
	uint32_t imm;
	uint16_t ptr_seg;	/* far pointer operands */
	uint32_t ptr_off;
};

#define BT_MAX_OPNDS	5

struct bt_insn {
	uint32_t eip;
	uint8_t len;		/* guest length: the next instruction is at eip + len */
	uint8_t blen;		/* bytes[] length; < len when a prefix was dropped */
	uint8_t bytes[15];	/* what to copy or re-encode for the host */
	uint16_t op;		/* enum bt_op */
	uint16_t mnemonic;	/* the decoder's own id, for the formatter only */
	uint8_t opsize;		/* effective operand size in bytes */
	uint8_t addrsize;	/* 2 or 4 */
	uint8_t nopnds;
	bool has_rep, has_repne, has_lock, has_mem, has_seg_override;
	bool uses_high8;	/* ah/ch/dh/bh among the operands */
	bool uses_esp;		/* esp/sp explicit or as an address register */
	bool privileged;
	bool agen;		/* lea: computes an address, touches no memory */
	bool is_mov;		/* plain mov (the common page-table store) */
	/*
	 * cmpxchg8b: qemu's TCG (7.2), running bt86, leaves junk in its lazily
	 * computed flags after it (TF, DF, IOPL, NT show up in the next
	 * pushfq), so translated code launders them with lahf/sahf.
	 */
	bool launder_flags;
	bool vex;		/* VEX/EVEX/XOP: not in the virtual CPU's model */
	bool is_branch;		/* any control transfer */
	bool fpu_sse;		/* x87/MMX/SSE: state kept across callouts */
	bool x87;		/* x87 (not SSE): #NM rather than #UD under CR0.EM */
	bool truncated;		/* BT_UD because the bytes ran out, not because invalid */
	int memop;		/* index of the memory operand, or -1 */
	uint32_t target;	/* for relative branches: absolute target EIP */
	struct bt_opnd opnd[BT_MAX_OPNDS];
};

/*
 * Decode one 32-bit instruction at eip from code[0..avail).  0, -1 if
 * invalid, -2 if it needs more bytes than avail.
 */
int bt_decode(const uint8_t *code, size_t avail, uint32_t eip, struct bt_insn *in);

/*
 * Re-encode `in` for the 64-bit host: the memory operand (if any) becomes
 * the host operand hm (e.g. [r15 + r14]), ESP becomes R12D, everything kept
 * (lea only has ESP renamed).  swap_high8 renames ah..bh to al..bl, for the
 * translator's xchg bracket.  Returns the length written to out, or -1 when
 * the form cannot be encoded (ah..bh beside a REX-requiring operand).
 */
struct bt_hostmem {
	int base, index;	/* host register numbers (0-15), -1 for none */
	int scale;
	int32_t disp;
};

int bt_reencode(const struct bt_insn *in, bool swap_high8, const struct bt_hostmem *hm,
		uint8_t *out, size_t cap);

/* Format guest (32-bit) or host (64-bit) code for --trace-tc; returns length. */
int bt_format_guest(const struct bt_insn *in, char *buf, size_t n);
int bt_format_host(const uint8_t *code, size_t avail, uint64_t addr, char *buf, size_t n,
		   int *len);

const char *bt_op_name(enum bt_op op);

#endif
