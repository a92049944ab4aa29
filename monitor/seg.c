/* Segment descriptors: reading the guest GDT/LDT and loading segment registers. */
#include <string.h>

#include "monitor/vcpu.h"

#define DESC_TYPE_ACCESSED	0x1
#define DESC_TYPE_WRITABLE	0x2	/* data: writable; code: readable */
#define DESC_TYPE_CONFORMING	0x4	/* code: conforming; data: expand-down */
#define DESC_TYPE_CODE		0x8

void seg_from_desc(struct x86_seg *s, uint16_t sel, const uint32_t desc[2])
{
	uint32_t limit = (desc[0] & 0xffff) | (desc[1] & 0x000f0000);

	s->sel = sel;
	s->base = (desc[0] >> 16) | ((desc[1] & 0xff) << 16) | (desc[1] & 0xff000000);
	s->attr = (uint16_t)((desc[1] >> 8) & 0xf0ff);
	s->limit = (s->attr & SEG_ATTR_G) ? (limit << 12) | 0xfff : limit;
}

/* Read the descriptor for sel; -1 when it lies outside its table. */
int seg_read_desc(struct vcpu *v, uint16_t sel, uint32_t desc[2])
{
	uint32_t base, limit, off = sel & ~7u;

	if (sel & 4) {
		if (!(v->ldtr.attr & SEG_ATTR_P))
			return -1;
		base = v->ldtr.base;
		limit = v->ldtr.limit;
	} else {
		base = v->gdtr.base;
		limit = v->gdtr.limit;
	}
	if (off + 7 > limit)
		return -1;
	return vcpu_sysread(v, base + off, desc, 8);
}

/* Set the accessed bit in memory, as the CPU does on a load. */
static void mark_accessed(struct vcpu *v, uint16_t sel, uint32_t desc[2])
{
	uint32_t base = (sel & 4) ? v->ldtr.base : v->gdtr.base;

	if (desc[1] & (DESC_TYPE_ACCESSED << 8))
		return;
	desc[1] |= DESC_TYPE_ACCESSED << 8;
	vcpu_syswrite(v, base + (sel & ~7u) + 4, &desc[1], 4);
}

int seg_load(struct vcpu *v, int sreg, uint16_t sel)
{
	uint32_t desc[2];
	int dpl, rpl = sel & 3, type;
	struct x86_seg s;

	if ((sel & ~3) == 0) {
		if (sreg == S_SS || sreg == S_CS)
			return vcpu_fault(v, EXC_GP, true, 0), -1;
		memset(&v->seg[sreg], 0, sizeof(v->seg[sreg]));
		v->seg[sreg].sel = sel;
		v->mode_dirty = true;
		return 0;
	}
	if (seg_read_desc(v, sel, desc) < 0)
		return vcpu_fault(v, EXC_GP, true, sel & ~3u), -1;
	seg_from_desc(&s, sel, desc);
	dpl = (s.attr >> SEG_ATTR_DPL_SHIFT) & 3;
	type = s.attr & SEG_ATTR_TYPE_MASK;
	if (!(s.attr & SEG_ATTR_S))
		return vcpu_fault(v, EXC_GP, true, sel & ~3u), -1;
	if (sreg == S_SS) {
		if (rpl != v->cpl || dpl != v->cpl || (type & DESC_TYPE_CODE) ||
		    !(type & DESC_TYPE_WRITABLE))
			return vcpu_fault(v, EXC_GP, true, sel & ~3u), -1;
		if (!(s.attr & SEG_ATTR_P))
			return vcpu_fault(v, EXC_SS, true, sel & ~3u), -1;
	} else {
		if ((type & DESC_TYPE_CODE) && !(type & DESC_TYPE_WRITABLE))
			return vcpu_fault(v, EXC_GP, true, sel & ~3u), -1;
		if ((!(type & DESC_TYPE_CODE) || !(type & DESC_TYPE_CONFORMING)) &&
		    (rpl > dpl || v->cpl > dpl))
			return vcpu_fault(v, EXC_GP, true, sel & ~3u), -1;
		if (!(s.attr & SEG_ATTR_P))
			return vcpu_fault(v, EXC_NP, true, sel & ~3u), -1;
	}
	mark_accessed(v, sel, desc);
	s.attr |= DESC_TYPE_ACCESSED;
	v->seg[sreg] = s;
	v->mode_dirty = true;
	return 0;
}
