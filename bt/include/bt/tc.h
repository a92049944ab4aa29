/* The translation cache: blocks, their exits and links, lookup and invalidation. */
#ifndef BT_TC_H
#define BT_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "bt/insn.h"

/*
 * The part of the vCPU that translated code and the entry glue touch, at the
 * fixed offsets below (monitor/glue.S and bt/translate.c use the numbers).
 * Guest registers live in host registers while in the TC; they are stored
 * here only across exits.
 */
struct bt_cpu {
	uint32_t gpr[8];	/* 0x00 eax..edi; gpr[4] is the guest ESP (r12d in the TC) */
	uint64_t hflags;	/* 0x20 host RFLAGS image: guest arithmetic flags and DF */
	uint64_t host_rsp;	/* 0x28 host stack pointer saved by tc_enter */
	uint64_t view_base;	/* 0x30 the current view: r15 in the TC */
	uint64_t exit_rec;	/* 0x38 struct tc_exit * of the stub taken, 0 for an IBL miss */
	uint64_t ibl_table;	/* 0x40 indirect-branch table of the current mode */
	uint64_t tc_exit;	/* 0x48 glue entry exit stubs jump to */
	uint64_t ibl_miss;	/* 0x50 glue entry for IBL misses */
	uint32_t exit_eip;	/* 0x58 IBL miss: the guest target EIP */
	uint32_t vflags;	/* 0x5c virtual EFLAGS bits (BT_VFLAGS_MASK; IF is vif) */
	uint8_t fx_guest[512] __attribute__((aligned(16)));	/* 0x60 guest x87/SSE */
	uint8_t fx_host[512] __attribute__((aligned(16)));	/* 0x260 host's clean state */
	uint8_t vif;		/* 0x460 virtual EFLAGS.IF: cli/sti/popf write it inline */
	uint8_t fpu_loaded;	/* 0x461 the guest's x87/SSE image is in the CPU */
	uint8_t pad[14];
	uint8_t if_of_byte1[256];	/* 0x470 EFLAGS bits 8-15 -> IF, for inline popf */
	uint16_t sel[6];	/* 0x570 segment selectors (ES..GS), for inline push %sreg */
	uint32_t pad2;
	uint64_t fpu_load;	/* 0x580 glue: load the guest's x87/SSE image */
};

#define BTC_GPR		0x00
#define BTC_HFLAGS	0x20
#define BTC_HOST_RSP	0x28
#define BTC_VIEW	0x30
#define BTC_EXIT_REC	0x38
#define BTC_IBL_TABLE	0x40
#define BTC_TC_EXIT	0x48
#define BTC_IBL_MISS	0x50
#define BTC_EXIT_EIP	0x58
#define BTC_FX_GUEST	0x60
#define BTC_FX_HOST	0x260
#define BTC_VIF		0x460
#define BTC_IFTAB	0x470
#define BTC_VFLAGS	0x5c
#define BTC_SEL		0x570
#define BTC_FPU_LOADED	0x461
#define BTC_FPU_LOAD	0x580
/*
 * Two pages just below the bt_cpu: the poll page, read on backward edges
 * and IBL entries, and the interrupt-window page, read after sti/popf.
 * PROT_NONE makes the read fault, which is how the monitor asks for an exit.
 */
#define BTC_POLL	(-8192)
#define BTC_IRQWIN	(-4096)

/* EFLAGS bits kept in the host RFLAGS while translated code runs. */
#define BT_HOST_FLAGS	0x0cd5	/* CF PF AF ZF SF DF OF */
/* Virtual EFLAGS bits popf/iret may set, kept in bt_cpu.vflags (IF is vif). */
#define BT_VFLAGS_MASK	0x00247100	/* TF IOPL NT AC ID */



/*
 * Kcalls (bt86.ko, kernel-module/bt86_uapi.h has the whole contract): a
 * callout site the kernel may complete without a return to user space.
 * r10 holds the kcall word: TC_KCALL_MAGIC << 48 | guest linear page of
 * the instruction | op << 8 | argument.  Completed, the site goes on
 * TC_KCALL_SKIP bytes past its int3; declined, it leaves as a callout
 * whose record is the imm64 of the mov r11 right after the int3.
 */
#define TC_KCALL_MAGIC		0xb786ull
#define TC_KCALL_SKIP		14	/* mov r11, imm64; jmp [r13 + disp8] */
#define TC_KCALL_MOV_FROM_CR	1	/* arg: CR << 3 | guest GPR */
#define TC_KCALL_INVLPG		2	/* r14d: the linear address */
#define TC_KCALL_STORE		3	/* arg: size; r14d: the linear address, r11d: the value */
#define TC_KCALL_SEG		4	/* arg: sreg | pop size << 3; r11w: the selector */

enum tc_exit_kind {
	TC_EXIT_BRANCH,		/* direct branch to eip: chainable */
	TC_EXIT_CALLOUT,	/* the instruction at eip needs the monitor */
	TC_EXIT_END,		/* block ended (length cap, page end) at eip: chainable */
};

struct tc_block;

/* One way out of a block; r11 points here when the stub is taken. */
struct tc_exit {
	uint8_t kind;		/* enum tc_exit_kind */
	uint8_t via_ibl;	/* its jump goes through the IBL (another page, under paging) */
	uint32_t eip;		/* branch target, or the instruction of a callout */
	uint32_t jmp_off;	/* TC offset of the rel32 that chaining patches */
	uint32_t stub_off;	/* TC offset of the stub (the unchained target) */
	uint32_t probe_off;	/* TC offset of its poll probe (backward edges), 0 if none */
	struct tc_block *blk;
	struct tc_block *to;	/* linked target, NULL when unchained */
	struct tc_exit *in_next;	/* next exit linked into the same target */
	struct bt_insn insn;	/* callouts: the decoded instruction */
};

#define TC_MAX_EXITS	2

/* Per guest instruction: where it starts in the TC and in guest memory. */
struct tc_map {
	uint16_t host_off;	/* from the block's code start */
	uint16_t guest_off;	/* from the block's guest EIP */
	uint8_t fixup;		/* TC_FIX_* needed to recover precise state */
	uint8_t aux;
};

#define TC_FIX_NONE	0
#define TC_FIX_STRING	1	/* rsi/rdi hold view + segment base + offset */
#define TC_FIX_HSWAP	2	/* low and high byte of GPR aux are swapped */
#define TC_FIX_AFTER	3	/* a probe after the insn: it completed (aux 1: sti shadow) */

struct tc_block {
	uint32_t eip;		/* guest EIP at entry (CS-relative) */
	uint32_t phys;		/* guest-physical address of the first byte */
	uint32_t phys_end;	/* guest-physical address of the last byte */
	uint16_t mode;		/* interned mode id (tc_mode_id) */
	uint16_t ninsn;
	uint32_t glen;		/* guest bytes */
	uint32_t ind_off;	/* TC offset of the IBL entry */
	uint32_t code_off;	/* TC offset of the normal entry */
	uint32_t code_len;
	uint32_t map_idx;	/* first struct tc_map of this block */
	bool valid;
	bool two_pages;		/* spans two guest pages: never a chaining target */
	uint8_t nexits;
	struct tc_exit exits[TC_MAX_EXITS];
	struct tc_exit *incoming;	/* exits of other blocks linked here */
	struct tc_block *hash_next;
	struct tc_block *page_next[2];	/* lists of blocks per guest page */
};

/* What a translation is specialised for: folded segment bases, CPL, sizes. */
struct bt_mode {
	uint32_t seg_base[6];
	uint8_t cpl;
	uint8_t cs32;		/* CS.D: only 32-bit code is translated */
	uint8_t ss32;
	uint8_t fpu_trap;	/* CR0.TS or CR0.EM: x87/SSE instructions go to the monitor */
	uint8_t tsc_raw;	/* guest TSC == host TSC and rdtsc allowed: run it natively */
};

/*
 * How the translator reads guest code and tells the monitor that a guest page
 * now holds translations (so writes to it must be caught).
 */
struct tc_host {
	/* Copy up to n bytes at linear addr; returns bytes available (0 = none). */
	size_t (*fetch)(void *opaque, uint32_t lin, uint8_t *buf, size_t n, uint32_t *phys);
	/* First block on / last block off a guest-physical page. */
	void (*code_page)(void *opaque, uint32_t phys_page, bool has_code);
	/*
	 * Should the memory-writing instruction at guest-physical phys become a
	 * callout?  (Adaptive translation: it keeps hitting traced pages.)
	 */
	bool (*hot_store)(void *opaque, uint32_t phys);
	/* Did the instruction at guest-physical phys wrap its address past 4 GiB? */
	bool (*wraps)(void *opaque, uint32_t phys);
	void *opaque;
};

#define TC_MAX_MODES	32
#define TC_IBL_SIZE	65536	/* indexed by the low 16 bits of the target EIP */
#define TC_IBL_TRACK	4096	/* slots remembered for a cheap IBL flush */
#define TC_IBL_PAGES_BYTES	(1u << 17)	/* a bit per 4 KiB linear page */

struct tc_stats {
	uint64_t blocks, insns, guest_bytes, host_bytes;
	uint64_t flushes, invalidations, smc_pages;
	uint64_t chains, unchains;
	uint64_t exits_chainable, exits_callout, ibl_misses, ibl_flushes;
	uint64_t ibl_routes;	/* cross-page jumps sent through the IBL instead of exiting */
	uint64_t hot_stores;	/* instructions retranslated as traced-store callouts */
	uint64_t kcall_sites;	/* callouts translated as kcall sites */
	uint64_t callouts[BT_NR_OPS];	/* by instruction class */
	uint64_t translated[BT_NR_OPS];	/* inline translations by class */
	uint64_t translate_ns;
};

struct tc {
	uint8_t *rw, *rx;	/* two views of one memfd: write here, run there */
	size_t size, used;
	int fd;
	struct tc_block *blocks;
	size_t nblocks, max_blocks;
	struct tc_map *maps;
	size_t nmaps, max_maps;
	struct tc_block **hash;
	size_t hash_mask;
	struct tc_block **pages;	/* per guest-physical page: blocks on it */
	uint32_t npages;
	struct bt_mode modes[TC_MAX_MODES];
	uint64_t *ibl[TC_MAX_MODES];
	int nmodes;
	uint32_t glue_miss_off;	/* TC offset of the IBL-miss trampoline */
	uint32_t *ibl_used;	/* (mode << 16 | slot) filled since the last IBL flush */
	uint32_t nibl_used;	/* > TC_IBL_TRACK: too many, flush everything */
	/*
	 * Linear pages holding code some IBL entry leads to (a bit per page,
	 * TC_IBL_PAGES_BYTES): a mapping change elsewhere cannot make an IBL
	 * entry stale, so invlpg needs no IBL flush there.  Set on insert,
	 * cleared by the flush; the pages set are listed in ibl_page_list.
	 */
	uint8_t *ibl_pages;
	uint8_t *ibl_pages_own;	/* ibl_pages unless someone else provides the bitmap */
	uint32_t *ibl_page_list;
	uint32_t nibl_pages;	/* > TC_IBL_TRACK: too many, clear the whole bitmap */
	bool chain_same_page;	/* paging on: link only within the source's linear page */
	bool kcalls;		/* emit kcall sites (bt86.ko completes some callouts) */
	struct tc_host host;
	bool trace;		/* --trace-tc */
	struct tc_stats st;
};

int tc_create(struct tc *tc, size_t size, uint64_t ram_size, const struct tc_host *host);
void tc_destroy(struct tc *tc);
void tc_flush(struct tc *tc);

/* Intern a mode; returns its id (flushing the TC when the table is full). */
int tc_mode_id(struct tc *tc, const struct bt_mode *m);

struct tc_block *tc_lookup(struct tc *tc, uint32_t eip, uint32_t phys, int mode);

/*
 * Translate the block at eip for mode (and enter it in the lookup tables).
 * single: one instruction, entered nowhere (used to step a store over its
 * own code page).  Returns NULL when no code can be fetched at eip (the
 * caller raises the guest fault); *fetch_fault tells that apart from a
 * full TC (flush and retry).
 */
struct tc_block *bt_translate(struct tc *tc, uint32_t eip, int mode, bool single,
			      bool *fetch_fault);

/* Link exit e to block to (rules in bt/link.c); returns true when linked. */
bool tc_link(struct tc *tc, struct tc_exit *e, struct tc_block *to);

/* Invalidate every block touching [phys, phys+len); returns how many died. */
int tc_invalidate_phys(struct tc *tc, uint32_t phys, uint32_t len);

/* Invalidate one block (unhash, unlink, off its pages and its IBL slot). */
void tc_invalidate_block(struct tc *tc, struct tc_block *b);

/* Does the guest-physical page hold translations? */
bool tc_page_has_code(const struct tc *tc, uint32_t phys);

/* Map a host RIP inside the TC to its block and guest instruction. */
struct tc_block *tc_find_block(struct tc *tc, uint64_t host_rip);
const struct tc_map *tc_find_insn(struct tc *tc, const struct tc_block *b, uint64_t host_rip);

/* Enter a finished block in the hash, page lists and IBL; take it out of the hash. */
void tc_insert(struct tc *tc, struct tc_block *b);
void tc_unhash(struct tc *tc, struct tc_block *b);
void tc_ibl_insert(struct tc *tc, struct tc_block *b);
/*
 * Forget every IBL entry: with paging on, an entry names a block by EIP
 * alone, so a CR3 write or a changed mapping must clear them.
 */
void tc_ibl_flush(struct tc *tc);

/* Can an IBL entry lead to code on the linear page of lin? */
static inline bool tc_ibl_page(const struct tc *tc, uint32_t lin)
{
	return tc->ibl_pages[lin >> 15] & (1u << (lin >> 12 & 7));
}

/*
 * Keep the IBL page bitmap in bitmap (TC_IBL_PAGES_BYTES) instead of the
 * TC's own: bt86.ko reads it there (kcalls).  NULL: back to the TC's own.
 */
void tc_share_ibl_pages(struct tc *tc, uint8_t *bitmap);

static inline uint8_t *tc_rx(const struct tc *tc, uint32_t off)
{
	return tc->rx + off;
}

void tc_print_stats(const struct tc *tc, FILE *out);

#endif
