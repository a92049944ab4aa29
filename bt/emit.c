/* x86-64 instruction encodings the translator emits by hand. */
#include <string.h>

#include "bt/emit.h"

void emit_u8(struct emitter *e, uint8_t v)
{
	if (e->off >= e->limit) {
		e->overflow = 1;
		return;
	}
	e->rw[e->off++] = v;
}

void emit_u32(struct emitter *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		emit_u8(e, (uint8_t)(v >> (8 * i)));
}

void emit_u64(struct emitter *e, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		emit_u8(e, (uint8_t)(v >> (8 * i)));
}

void emit_bytes(struct emitter *e, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		emit_u8(e, b[i]);
}

static void emit_rex(struct emitter *e, int w, int r, int x, int b, int force)
{
	uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((r & 8) ? 4 : 0) | ((x & 8) ? 2 : 0) |
				((b & 8) ? 1 : 0));

	if (rex != 0x40 || force)
		emit_u8(e, rex);
}

void emit_mem_op(struct emitter *e, int rex_w, const uint8_t *opc, int nopc, int reg,
		 int base, int index, int scale, int32_t disp, int force_rex)
{
	int ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
	int need_sib = base == H_NONE || index != H_NONE || (base & 7) == H_RSP;
	int mod;

	/* Legacy prefixes (66/F2/F3) must precede REX: callers put them in opc. */
	while (nopc > 0 && (opc[0] == 0x66 || opc[0] == 0xf2 || opc[0] == 0xf3)) {
		emit_u8(e, opc[0]);
		opc++;
		nopc--;
	}
	emit_rex(e, rex_w, reg, index == H_NONE ? 0 : index, base == H_NONE ? 0 : base,
		 force_rex);
	emit_bytes(e, opc, (unsigned)nopc);
	if (base == H_NONE)
		mod = 0;			/* SIB with no base: disp32 */
	else if (disp == 0 && (base & 7) != H_RBP)
		mod = 0;
	else if (disp >= -128 && disp <= 127)
		mod = 1;
	else
		mod = 2;
	emit_u8(e, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (need_sib ? 4 : (base & 7))));
	if (need_sib)
		emit_u8(e, (uint8_t)((ss << 6) | ((index == H_NONE ? 4 : index) & 7) << 3 |
				     (base == H_NONE ? 5 : (base & 7))));
	if (base == H_NONE || mod == 2)
		emit_u32(e, (uint32_t)disp);
	else if (mod == 1)
		emit_u8(e, (uint8_t)disp);
}

void emit_reg_op(struct emitter *e, int rex_w, const uint8_t *opc, int nopc, int reg, int rm)
{
	emit_rex(e, rex_w, reg, 0, rm, 0);
	emit_bytes(e, opc, (unsigned)nopc);
	emit_u8(e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

void emit_lea32(struct emitter *e, int dst, int base, int index, int scale, int32_t disp)
{
	static const uint8_t lea = 0x8d;

	if (base == H_NONE && index == H_NONE) {
		emit_mov32_imm(e, dst, (uint32_t)disp);
		return;
	}
	emit_mem_op(e, 0, &lea, 1, dst, base, index, scale, disp, 0);
}

void emit_load64(struct emitter *e, int dst, int base, int32_t disp)
{
	static const uint8_t mov = 0x8b;

	emit_mem_op(e, 1, &mov, 1, dst, base, H_NONE, 1, disp, 0);
}

void emit_mov64(struct emitter *e, int dst, int src)
{
	static const uint8_t mov = 0x89;

	emit_reg_op(e, 1, &mov, 1, src, dst);
}

void emit_mov32_imm(struct emitter *e, int dst, uint32_t imm)
{
	emit_rex(e, 0, 0, 0, dst, 0);
	emit_u8(e, (uint8_t)(0xb8 + (dst & 7)));
	emit_u32(e, imm);
}

void emit_mov64_imm(struct emitter *e, int dst, uint64_t imm)
{
	emit_rex(e, 1, 0, 0, dst, 0);
	emit_u8(e, (uint8_t)(0xb8 + (dst & 7)));
	emit_u64(e, imm);
}

uint32_t emit_jmp32(struct emitter *e, uint32_t target_off)
{
	uint32_t at;

	emit_u8(e, 0xe9);
	at = e->off;
	emit_u32(e, target_off - (at + 4));
	return at;
}

uint32_t emit_jcc32(struct emitter *e, int cc, uint32_t target_off)
{
	uint32_t at;

	emit_u8(e, 0x0f);
	emit_u8(e, (uint8_t)(0x80 | (cc & 15)));
	at = e->off;
	emit_u32(e, target_off - (at + 4));
	return at;
}

void emit_jmp_mem(struct emitter *e, int base, int index, int scale, int32_t disp)
{
	static const uint8_t jmp = 0xff;

	emit_mem_op(e, 0, &jmp, 1, 4, base, index, scale, disp, 0);
}

void emit_patch32(struct emitter *e, uint32_t at, uint32_t to)
{
	int32_t rel = (int32_t)(to - (at + 4));

	memcpy(e->rw + at, &rel, 4);
}
