/*
 * The translator's decode layer: the only file that sees Zydis.  It turns
 * guest bytes into struct bt_insn, re-encodes a guest instruction for the
 * 64-bit host with its memory operand moved into the view, and formats code
 * for --trace-tc.
 */
#include <string.h>

#include <Zydis/Zydis.h>

#include "bt/insn.h"
#include "vmm/cpu.h"

static ZydisDecoder dec32, dec64;
static ZydisFormatter fmt;
static bool zy_ready;

static void zy_init(void)
{
	if (zy_ready)
		return;
	ZydisDecoderInit(&dec32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	ZydisDecoderInit(&dec64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
	zy_ready = true;
}

/* Map a Zydis register to bt86's (class, number) form. */
static struct bt_reg map_reg(ZydisRegister r)
{
	struct bt_reg out = { BT_RC_NONE, 0 };

	if (r == ZYDIS_REGISTER_NONE)
		return out;
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL) {
		out.cls = BT_RC_GPR8;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_AL);
	} else if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
		out.cls = BT_RC_GPR8H;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_AH);
	} else if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI) {
		out.cls = BT_RC_GPR16;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_AX);
	} else if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI) {
		out.cls = BT_RC_GPR32;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_EAX);
	} else if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS) {
		out.cls = BT_RC_SEG;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_ES);
	} else if (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15) {
		out.cls = BT_RC_CR;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_CR0);
	} else if (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15) {
		out.cls = BT_RC_DR;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_DR0);
	} else {
		out.cls = BT_RC_OTHER;
		out.num = 0;
	}
	return out;
}

struct op_map {
	ZydisMnemonic m;
	enum bt_op op;
};

/* Mnemonics whose class does not depend on operands. */
static const struct op_map op_table[] = {
	{ ZYDIS_MNEMONIC_JB, BT_JCC_REL }, { ZYDIS_MNEMONIC_JBE, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JL, BT_JCC_REL }, { ZYDIS_MNEMONIC_JLE, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JNB, BT_JCC_REL }, { ZYDIS_MNEMONIC_JNBE, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JNL, BT_JCC_REL }, { ZYDIS_MNEMONIC_JNLE, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JNO, BT_JCC_REL }, { ZYDIS_MNEMONIC_JNP, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JNS, BT_JCC_REL }, { ZYDIS_MNEMONIC_JNZ, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JO, BT_JCC_REL }, { ZYDIS_MNEMONIC_JP, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JS, BT_JCC_REL }, { ZYDIS_MNEMONIC_JZ, BT_JCC_REL },
	{ ZYDIS_MNEMONIC_JCXZ, BT_JCXZ }, { ZYDIS_MNEMONIC_JECXZ, BT_JCXZ },
	{ ZYDIS_MNEMONIC_LOOP, BT_LOOP }, { ZYDIS_MNEMONIC_LOOPE, BT_LOOPE },
	{ ZYDIS_MNEMONIC_LOOPNE, BT_LOOPNE },
	{ ZYDIS_MNEMONIC_IRET, BT_IRET }, { ZYDIS_MNEMONIC_IRETD, BT_IRET },
	{ ZYDIS_MNEMONIC_INT, BT_INT }, { ZYDIS_MNEMONIC_INT3, BT_INT3 },
	{ ZYDIS_MNEMONIC_INT1, BT_INT }, { ZYDIS_MNEMONIC_INTO, BT_INTO },
	{ ZYDIS_MNEMONIC_SYSENTER, BT_SYSENTER }, { ZYDIS_MNEMONIC_SYSEXIT, BT_SYSEXIT },
	{ ZYDIS_MNEMONIC_SYSCALL, BT_SYSCALL }, { ZYDIS_MNEMONIC_SYSRET, BT_SYSRET },
	{ ZYDIS_MNEMONIC_PUSHA, BT_PUSHA }, { ZYDIS_MNEMONIC_PUSHAD, BT_PUSHA },
	{ ZYDIS_MNEMONIC_POPA, BT_POPA }, { ZYDIS_MNEMONIC_POPAD, BT_POPA },
	{ ZYDIS_MNEMONIC_ENTER, BT_ENTER }, { ZYDIS_MNEMONIC_LEAVE, BT_LEAVE },
	{ ZYDIS_MNEMONIC_PUSHF, BT_PUSHF }, { ZYDIS_MNEMONIC_PUSHFD, BT_PUSHF },
	{ ZYDIS_MNEMONIC_POPF, BT_POPF }, { ZYDIS_MNEMONIC_POPFD, BT_POPF },
	{ ZYDIS_MNEMONIC_CLI, BT_CLI }, { ZYDIS_MNEMONIC_STI, BT_STI },
	{ ZYDIS_MNEMONIC_HLT, BT_HLT },
	{ ZYDIS_MNEMONIC_IN, BT_IN }, { ZYDIS_MNEMONIC_OUT, BT_OUT },
	{ ZYDIS_MNEMONIC_INSB, BT_INS }, { ZYDIS_MNEMONIC_INSW, BT_INS },
	{ ZYDIS_MNEMONIC_INSD, BT_INS },
	{ ZYDIS_MNEMONIC_OUTSB, BT_OUTS }, { ZYDIS_MNEMONIC_OUTSW, BT_OUTS },
	{ ZYDIS_MNEMONIC_OUTSD, BT_OUTS },
	{ ZYDIS_MNEMONIC_CLTS, BT_CLTS }, { ZYDIS_MNEMONIC_LMSW, BT_LMSW },
	{ ZYDIS_MNEMONIC_SMSW, BT_SMSW },
	{ ZYDIS_MNEMONIC_LGDT, BT_LGDT }, { ZYDIS_MNEMONIC_LIDT, BT_LIDT },
	{ ZYDIS_MNEMONIC_SGDT, BT_SGDT }, { ZYDIS_MNEMONIC_SIDT, BT_SIDT },
	{ ZYDIS_MNEMONIC_LLDT, BT_LLDT }, { ZYDIS_MNEMONIC_SLDT, BT_SLDT },
	{ ZYDIS_MNEMONIC_LTR, BT_LTR }, { ZYDIS_MNEMONIC_STR, BT_STR },
	{ ZYDIS_MNEMONIC_LAR, BT_LAR }, { ZYDIS_MNEMONIC_LSL, BT_LSL },
	{ ZYDIS_MNEMONIC_VERR, BT_VERR }, { ZYDIS_MNEMONIC_VERW, BT_VERW },
	{ ZYDIS_MNEMONIC_LDS, BT_LDS }, { ZYDIS_MNEMONIC_LES, BT_LES },
	{ ZYDIS_MNEMONIC_LFS, BT_LFS }, { ZYDIS_MNEMONIC_LGS, BT_LGS },
	{ ZYDIS_MNEMONIC_LSS, BT_LSS },
	{ ZYDIS_MNEMONIC_CPUID, BT_CPUID }, { ZYDIS_MNEMONIC_RDTSC, BT_RDTSC },
	{ ZYDIS_MNEMONIC_RDTSCP, BT_RDTSCP }, { ZYDIS_MNEMONIC_RDMSR, BT_RDMSR },
	{ ZYDIS_MNEMONIC_WRMSR, BT_WRMSR }, { ZYDIS_MNEMONIC_RDPMC, BT_RDPMC },
	{ ZYDIS_MNEMONIC_INVD, BT_INVD }, { ZYDIS_MNEMONIC_WBINVD, BT_WBINVD },
	{ ZYDIS_MNEMONIC_INVLPG, BT_INVLPG },
	{ ZYDIS_MNEMONIC_UD0, BT_UD }, { ZYDIS_MNEMONIC_UD1, BT_UD }, { ZYDIS_MNEMONIC_UD2, BT_UD },
	{ ZYDIS_MNEMONIC_ARPL, BT_ARPL },
	{ ZYDIS_MNEMONIC_AAA, BT_AAA }, { ZYDIS_MNEMONIC_AAS, BT_AAS },
	{ ZYDIS_MNEMONIC_DAA, BT_DAA }, { ZYDIS_MNEMONIC_DAS, BT_DAS },
	{ ZYDIS_MNEMONIC_AAM, BT_AAM }, { ZYDIS_MNEMONIC_AAD, BT_AAD },
	{ ZYDIS_MNEMONIC_BOUND, BT_BOUND }, { ZYDIS_MNEMONIC_SALC, BT_SALC },
	{ ZYDIS_MNEMONIC_XLAT, BT_XLAT },
	{ ZYDIS_MNEMONIC_STOSB, BT_STOS }, { ZYDIS_MNEMONIC_STOSW, BT_STOS },
	{ ZYDIS_MNEMONIC_STOSD, BT_STOS },
	{ ZYDIS_MNEMONIC_LODSB, BT_LODS }, { ZYDIS_MNEMONIC_LODSW, BT_LODS },
	{ ZYDIS_MNEMONIC_LODSD, BT_LODS },
	{ ZYDIS_MNEMONIC_SCASB, BT_SCAS }, { ZYDIS_MNEMONIC_SCASW, BT_SCAS },
	{ ZYDIS_MNEMONIC_SCASD, BT_SCAS },
	{ ZYDIS_MNEMONIC_MOVSB, BT_MOVS }, { ZYDIS_MNEMONIC_MOVSW, BT_MOVS },
	{ ZYDIS_MNEMONIC_CMPSB, BT_CMPS }, { ZYDIS_MNEMONIC_CMPSW, BT_CMPS },
};

static enum bt_op classify(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	bool legacy_map = zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
	bool far = zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
	bool rel = zi->attributes & ZYDIS_ATTRIB_IS_RELATIVE;

	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_JMP:
		return far ? BT_JMP_FAR : rel ? BT_JMP_REL : BT_JMP_IND;
	case ZYDIS_MNEMONIC_CALL:
		return far ? BT_CALL_FAR : rel ? BT_CALL_REL : BT_CALL_IND;
	case ZYDIS_MNEMONIC_RET:
		return far ? BT_RET_FAR : BT_RET;
	case ZYDIS_MNEMONIC_PUSH:
		return zo[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       map_reg(zo[0].reg.value).cls == BT_RC_SEG ? BT_PUSH_SEG : BT_PUSH;
	case ZYDIS_MNEMONIC_POP:
		return zo[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       map_reg(zo[0].reg.value).cls == BT_RC_SEG ? BT_POP_SEG : BT_POP;
	case ZYDIS_MNEMONIC_MOV:
		if (zo[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			struct bt_reg r = map_reg(zo[0].reg.value);

			if (r.cls == BT_RC_SEG)
				return BT_MOV_TO_SEG;
			if (r.cls == BT_RC_CR)
				return BT_MOV_TO_CR;
			if (r.cls == BT_RC_DR)
				return BT_MOV_TO_DR;
		}
		if (zo[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			struct bt_reg r = map_reg(zo[1].reg.value);

			if (r.cls == BT_RC_SEG)
				return BT_MOV_FROM_SEG;
			if (r.cls == BT_RC_CR)
				return BT_MOV_FROM_CR;
			if (r.cls == BT_RC_DR)
				return BT_MOV_FROM_DR;
		}
		return BT_OTHER;
	case ZYDIS_MNEMONIC_MOVSD:
		/* A5 is the string move; F2 0F 10/11 is the SSE scalar move. */
		return legacy_map && zi->opcode == 0xa5 ? BT_MOVS : BT_OTHER;
	case ZYDIS_MNEMONIC_CMPSD:
		return legacy_map && zi->opcode == 0xa7 ? BT_CMPS : BT_OTHER;
	default:
		break;
	}
	for (unsigned i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
		if (op_table[i].m == zi->mnemonic)
			return op_table[i].op;
	return BT_OTHER;
}

static void fill_opnd(struct bt_insn *in, int i, const ZydisDecodedOperand *z)
{
	struct bt_opnd *o = &in->opnd[i];

	o->size = (uint8_t)(z->size / 8);
	o->read = z->actions & ZYDIS_OPERAND_ACTION_MASK_READ;
	o->write = z->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
	o->visible = z->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT;
	switch (z->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		o->kind = BT_OPND_REG;
		o->reg = map_reg(z->reg.value);
		if (o->reg.cls == BT_RC_GPR8H)
			in->uses_high8 = true;
		if ((o->reg.cls == BT_RC_GPR32 || o->reg.cls == BT_RC_GPR16) &&
		    o->reg.num == R_ESP && o->visible)
			in->uses_esp = true;
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		o->kind = BT_OPND_MEM;
		o->mem.seg = map_reg(z->mem.segment).num;
		o->mem.base = map_reg(z->mem.base);
		o->mem.index = map_reg(z->mem.index);
		o->mem.scale = z->mem.scale;
		o->mem.disp = (int32_t)z->mem.disp.value;
		o->mem.addr16 = in->addrsize == 2;
		if (z->mem.type == ZYDIS_MEMOP_TYPE_MEM && o->visible) {
			in->has_mem = true;
			in->memop = i;
		}
		if (o->mem.base.num == R_ESP && o->mem.base.cls == BT_RC_GPR32)
			in->uses_esp = true;
		break;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		o->kind = BT_OPND_IMM;
		o->imm = (uint32_t)z->imm.value.u;
		break;
	case ZYDIS_OPERAND_TYPE_POINTER:
		o->kind = BT_OPND_PTR;
		o->ptr_seg = z->ptr.segment;
		o->ptr_off = z->ptr.offset;
		break;
	default:
		o->kind = BT_OPND_NONE;
	}
}

int bt_decode(const uint8_t *code, size_t avail, uint32_t eip, struct bt_insn *in)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];

	zy_init();
	memset(in, 0, sizeof(*in));
	in->memop = -1;
	in->eip = eip;
	{
		ZyanStatus st = ZydisDecoderDecodeFull(&dec32, code, avail, &zi, zo);

		if (st == ZYDIS_STATUS_NO_MORE_DATA)
			return -2;
		if (ZYAN_FAILED(st))
			return -1;
	}
	in->len = zi.length;
	in->blen = zi.length;
	memcpy(in->bytes, code, zi.length);
	if ((zi.mnemonic == ZYDIS_MNEMONIC_TZCNT || zi.mnemonic == ZYDIS_MNEMONIC_LZCNT) &&
	    !(zi.attributes & ZYDIS_ATTRIB_HAS_VEX)) {
		/*
		 * F3 0F BC/BD: a CPU without BMI1/LZCNT (ours) ignores the F3 and
		 * runs bsf/bsr; Linux counts on that.  The host has BMI1, so drop
		 * the prefix from what it will run.
		 */
		uint8_t tmp[15];
		bool prefix = true;
		int n = 0;

		for (int i = 0; i < zi.length; i++) {
			if (code[i] == 0x0f)
				prefix = false;
			if (!(prefix && code[i] == 0xf3))
				tmp[n++] = code[i];
		}
		if (n < zi.length && ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec32, tmp, (ZyanUSize)n,
									 &zi, zo))) {
			memcpy(in->bytes, tmp, (size_t)n);
			in->blen = (uint8_t)n;
		}
	}
	in->mnemonic = (uint16_t)zi.mnemonic;
	in->op = (uint16_t)classify(&zi, zo);
	in->opsize = (uint8_t)(zi.operand_width / 8);
	in->addrsize = (uint8_t)(zi.address_width / 8);
	in->has_rep = zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE);
	in->has_repne = zi.attributes & ZYDIS_ATTRIB_HAS_REPNE;
	in->has_lock = zi.attributes & ZYDIS_ATTRIB_HAS_LOCK;
	in->has_seg_override = zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT;
	in->privileged = zi.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED;
	in->agen = zi.mnemonic == ZYDIS_MNEMONIC_LEA;
	in->is_mov = zi.mnemonic == ZYDIS_MNEMONIC_MOV;
	in->launder_flags = zi.mnemonic == ZYDIS_MNEMONIC_CMPXCHG8B;
	in->vex = zi.attributes & (ZYDIS_ATTRIB_HAS_VEX | ZYDIS_ATTRIB_HAS_EVEX |
				   ZYDIS_ATTRIB_HAS_XOP | ZYDIS_ATTRIB_HAS_MVEX);
	in->is_branch = zi.meta.category == ZYDIS_CATEGORY_COND_BR ||
			zi.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
			zi.meta.category == ZYDIS_CATEGORY_CALL ||
			zi.meta.category == ZYDIS_CATEGORY_RET ||
			zi.meta.category == ZYDIS_CATEGORY_INTERRUPT ||
			zi.meta.category == ZYDIS_CATEGORY_SYSTEM;
	in->x87 = zi.meta.isa_ext == ZYDIS_ISA_EXT_X87;
	in->fpu_sse = in->x87 || zi.meta.isa_ext == ZYDIS_ISA_EXT_MMX ||
		      zi.meta.isa_ext == ZYDIS_ISA_EXT_SSE || zi.meta.isa_ext == ZYDIS_ISA_EXT_SSE2;
	/* Outside the virtual CPU model (SSE3+, AVX, BMI, ...): #UD, as on a P6. */
	if (!in->fpu_sse && zi.meta.isa_ext != ZYDIS_ISA_EXT_BASE &&
	    zi.meta.isa_ext != ZYDIS_ISA_EXT_CLFSH && zi.meta.isa_ext != ZYDIS_ISA_EXT_PAUSE &&
	    in->op == BT_OTHER)
		in->op = BT_UD;
	in->nopnds = zi.operand_count > BT_MAX_OPNDS ? BT_MAX_OPNDS : zi.operand_count;
	for (int i = 0; i < in->nopnds; i++)
		fill_opnd(in, i, &zo[i]);
	if (zi.attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
		ZyanU64 t;

		if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&zi, &zo[0], eip, &t)))
			in->target = (uint32_t)t;
		if (in->opsize == 2)
			in->target &= 0xffff;	/* a 16-bit jump truncates EIP */
	}
	return 0;
}

static ZydisRegister remap_reg(ZydisRegister r)
{
	/* The guest's ESP lives in r12; every other GPR keeps its host name. */
	if (r == ZYDIS_REGISTER_ESP)
		return ZYDIS_REGISTER_R12D;
	if (r == ZYDIS_REGISTER_SP)
		return ZYDIS_REGISTER_R12W;
	return r;
}

static ZydisRegister low_of_high(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH)
		return (ZydisRegister)(ZYDIS_REGISTER_AL + (r - ZYDIS_REGISTER_AH));
	return r;
}

static ZydisRegister host_reg64(int n)
{
	return n < 0 ? ZYDIS_REGISTER_NONE : (ZydisRegister)(ZYDIS_REGISTER_RAX + n);
}

int bt_reencode(const struct bt_insn *in, bool swap_high8, const struct bt_hostmem *hm,
		uint8_t *out, size_t cap)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	ZydisEncoderRequest req;
	ZyanUSize len = cap;

	zy_init();
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec32, in->bytes, in->blen, &zi, zo)))
		return -1;
	if (ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(&zi, zo,
				zi.operand_count_visible, &req)))
		return -1;
	req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	/* Segment overrides are folded into the address the translator computes. */
	req.prefixes &= ~(ZydisInstructionAttributes)ZYDIS_ATTRIB_HAS_SEGMENT;
	req.prefixes &= ~(ZydisInstructionAttributes)ZYDIS_ATTRIB_HAS_ADDRESSSIZE;
	req.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
	for (int i = 0; i < req.operand_count; i++) {
		ZydisEncoderOperand *o = &req.operands[i];

		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			o->reg.value = remap_reg(o->reg.value);
			if (swap_high8)
				o->reg.value = low_of_high(o->reg.value);
		} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && zi.mnemonic == ZYDIS_MNEMONIC_LEA) {
			/* An address computation, not an access: only ESP moves. */
			o->mem.base = remap_reg(o->mem.base);
			o->mem.index = remap_reg(o->mem.index);
		} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			o->mem.base = host_reg64(hm->base);
			o->mem.index = host_reg64(hm->index);
			o->mem.scale = (ZyanU8)(hm->index < 0 ? 0 : hm->scale);
			o->mem.displacement = hm->disp;
		}
	}
	if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(&req, out, &len)))
		return -1;
	return (int)len;
}

int bt_format_guest(const struct bt_insn *in, char *buf, size_t n)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];

	zy_init();
	buf[0] = '\0';
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec32, in->bytes, in->blen, &zi, zo)))
		return -1;
	if (ZYAN_FAILED(ZydisFormatterFormatInstruction(&fmt, &zi, zo, zi.operand_count_visible,
							buf, n, in->eip, ZYAN_NULL)))
		return -1;
	return (int)strlen(buf);
}

int bt_format_host(const uint8_t *code, size_t avail, uint64_t addr, char *buf, size_t n,
		   int *len)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];

	zy_init();
	buf[0] = '\0';
	*len = 1;
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec64, code, avail, &zi, zo)))
		return -1;
	*len = zi.length;
	if (ZYAN_FAILED(ZydisFormatterFormatInstruction(&fmt, &zi, zo, zi.operand_count_visible,
							buf, n, addr, ZYAN_NULL)))
		return -1;
	return (int)strlen(buf);
}

static const char *const op_names[BT_NR_OPS] = {
	[BT_OTHER] = "ident", [BT_JMP_REL] = "jmp", [BT_JCC_REL] = "jcc",
	[BT_CALL_REL] = "call", [BT_RET] = "ret", [BT_JMP_IND] = "jmp-indirect",
	[BT_CALL_IND] = "call-indirect", [BT_LOOP] = "loop", [BT_LOOPE] = "loope",
	[BT_LOOPNE] = "loopne", [BT_JCXZ] = "jecxz", [BT_JMP_FAR] = "jmp-far",
	[BT_CALL_FAR] = "call-far", [BT_RET_FAR] = "ret-far", [BT_IRET] = "iret",
	[BT_INT] = "int", [BT_INT3] = "int3", [BT_INTO] = "into",
	[BT_SYSENTER] = "sysenter", [BT_SYSEXIT] = "sysexit", [BT_SYSCALL] = "syscall",
	[BT_SYSRET] = "sysret", [BT_PUSH] = "push", [BT_POP] = "pop", [BT_PUSHA] = "pusha",
	[BT_POPA] = "popa", [BT_ENTER] = "enter", [BT_LEAVE] = "leave", [BT_PUSHF] = "pushf",
	[BT_POPF] = "popf", [BT_PUSH_SEG] = "push-seg", [BT_POP_SEG] = "pop-seg",
	[BT_CLI] = "cli", [BT_STI] = "sti", [BT_HLT] = "hlt", [BT_IN] = "in", [BT_OUT] = "out",
	[BT_INS] = "ins", [BT_OUTS] = "outs", [BT_MOV_FROM_CR] = "mov-from-cr",
	[BT_MOV_TO_CR] = "mov-to-cr", [BT_MOV_FROM_DR] = "mov-from-dr",
	[BT_MOV_TO_DR] = "mov-to-dr", [BT_CLTS] = "clts", [BT_LMSW] = "lmsw",
	[BT_SMSW] = "smsw", [BT_LGDT] = "lgdt", [BT_LIDT] = "lidt", [BT_SGDT] = "sgdt",
	[BT_SIDT] = "sidt", [BT_LLDT] = "lldt", [BT_SLDT] = "sldt", [BT_LTR] = "ltr",
	[BT_STR] = "str", [BT_LAR] = "lar", [BT_LSL] = "lsl", [BT_VERR] = "verr",
	[BT_VERW] = "verw", [BT_MOV_TO_SEG] = "mov-to-seg", [BT_MOV_FROM_SEG] = "mov-from-seg",
	[BT_LDS] = "lds", [BT_LES] = "les", [BT_LFS] = "lfs", [BT_LGS] = "lgs",
	[BT_LSS] = "lss", [BT_CPUID] = "cpuid", [BT_RDTSC] = "rdtsc", [BT_RDTSCP] = "rdtscp",
	[BT_RDMSR] = "rdmsr", [BT_WRMSR] = "wrmsr", [BT_RDPMC] = "rdpmc", [BT_INVD] = "invd",
	[BT_WBINVD] = "wbinvd", [BT_INVLPG] = "invlpg", [BT_UD] = "ud", [BT_ARPL] = "arpl",
	[BT_AAA] = "aaa", [BT_AAS] = "aas", [BT_DAA] = "daa", [BT_DAS] = "das",
	[BT_AAM] = "aam", [BT_AAD] = "aad", [BT_BOUND] = "bound", [BT_SALC] = "salc",
	[BT_XLAT] = "xlat", [BT_MOVS] = "movs", [BT_STOS] = "stos", [BT_LODS] = "lods",
	[BT_CMPS] = "cmps", [BT_SCAS] = "scas", [BT_HOT_STORE] = "traced-store",
};

const char *bt_op_name(enum bt_op op)
{
	return op < BT_NR_OPS && op_names[op] ? op_names[op] : "?";
}
