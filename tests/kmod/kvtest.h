/* kvtest.h: what bt86test.c and kcalltest.c share: vm, host-mirror and kview helpers, test functions. */
#ifndef KVTEST_H
#define KVTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../kernel-module/bt86_uapi.h"

#define RAM_SIZE	(1u << 20)

/* tests/kmod/payloads.S: host-mirror payloads (64-bit, run from an exec page). */
extern const unsigned char h64_rw[], h64_rw_end[];
extern const unsigned char h64_store[], h64_store_end[];
extern const unsigned char h64_load[], h64_load_end[];
extern const unsigned char h64_jmp[], h64_jmp_end[];
extern const unsigned char h64_sse_load[], h64_sse_load_end[];
extern const unsigned char h64_sse_store[], h64_sse_store_end[];
extern const unsigned char h64_touch[], h64_touch_end[];
extern const unsigned char h64_int3_loop[], h64_int3_loop_end[];
extern const unsigned char h64_spin[], h64_spin_end[];
extern const unsigned char h64_store32_load[], h64_store32_load_end[];
extern const unsigned char h64_pte_loop[], h64_pte_loop_end[];
extern const unsigned char h64_tf[], h64_tf_end[];

/* Why the current test failed (report() prints it). */
extern char why[256];
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A VM with 1 MiB of guest RAM in slot 0 at gpa 0 and one vcpu. */
struct vm {
	int dev, vm, vcpu;
	struct bt86_run *run;
	uint8_t *ram;
};

int vm_open(struct vm *v);
void vm_close(struct vm *v);
int vm_run(struct vm *v);

/* ---- API v2: host mirroring --------------------------------------------- */

#define HM_STACK	(64u << 10)

struct hm {
	struct vm v;
	uint8_t *code;		/* one exec page (BT86_SET_EXEC region 0) */
	uint8_t *stack;
};

int hm_open(struct hm *h);
void hm_close(struct hm *h);
void *hm_page(size_t size);
void hm_load(struct hm *h, const unsigned char *code,
	     const unsigned char *end, uint64_t rdi, uint64_t rsi,
	     uint64_t rdx, uint64_t rcx);
int hm_int3(struct hm *h, const unsigned char *code,
	    const unsigned char *end);
int hm_pf(struct hm *h, uint64_t cr2, uint32_t want);

/* ---- kviews: kernel-owned shadow views ------------------------------------ */

/*
 * Guest RAM (slot 0, 1 MiB) holds tiny 32-bit page tables: the directory at
 * KV_PD, a page table for linear 0..4 MiB (KV_PT0) and one for
 * 0x80000000.. (KV_PT2), plus data frames.  Views live in PROT_NONE
 * reservations of 44 GiB (a view needs [base - 2G, base + 36G)).
 */
#define KV_PD		0x10000u
#define KV_PT0		0x11000u
#define KV_PT2		0x12000u
#define KV_PT3		0x13000u	/* 1024 PTEs for the timing test, linear 0xc00000.. */
#define KV_RW		0x20000u	/* lin 0x1000: user, writable */
#define KV_RO		0x21000u	/* lin 0x2000: user, read-only */
#define KV_SUP		0x22000u	/* lin 0x3000: supervisor, writable */
					/* lin 0x4000: not present */
#define KV_TRACED	0x23000u	/* lin 0x5000: user, writable, traced */
#define KV_HIGH		0x24000u	/* lin 0x80001000: user, writable */
#define KV_MAPPED	0x25000u	/* MAP op target */
#define KV_NBR		0x26000u	/* lin 0x6000: user, writable, A set (prefetch) */
#define KV_RES		(44ull << 30)
#define G_P		0x001u		/* guest PTE bits */
#define G_RW		0x002u
#define G_US		0x004u
#define G_A		0x020u
#define G_D		0x040u
#define G_PS		0x080u

/* The 4 MiB page at PDE 1 maps gpa 0.. at linear 0x400000..: page tables included. */
#define KT_LIN(gpa)	(0x400000u + (gpa))
#define RFLAGS_TF	0x100ull	/* RFLAGS bit 8 */

struct kv {
	struct hm h;
	struct bt86_kfill *kf;
	size_t kf_size;
	void *res[3];
	uint64_t base[3];
};

int kv_open(struct kv *k);
void kv_close(struct kv *k);
size_t kv_area_size(void);
uint32_t *kv_entry(struct kv *k, uint32_t gpa);
void kv_set_traced(struct kv *k, uint32_t gpa, bool on);
void kv_set_kwrite(struct kv *k, uint32_t gpa, bool on);
void kv_op(struct kv *k, uint32_t op, uint32_t view, uint32_t lin,
	   uint32_t arg);
int kv_read(struct kv *k, uint64_t addr, uint64_t want);
int kv_write(struct kv *k, uint64_t addr, uint64_t val);
int kv_fault(struct kv *k, uint64_t addr, bool write, uint32_t want);
int kv_last_log(struct kv *k, uint32_t view, uint32_t lin, uint32_t gpa,
		uint32_t flags);
int kv_find_log(struct kv *k, uint32_t from, uint32_t view, uint32_t lin,
		uint32_t gpa, uint32_t flags);

/* ---- kcalltest.c: kcalls completed in ring 0 ------------------------------ */

int t_kcall_mov_from_cr(void);
int t_kcall_invlpg(void);
int t_kcall_store(void);
int t_kcall_store_frame0(void);
int t_kcall_seg(void);
int t_kcall_seg_unaligned_gdt(void);
int t_kcall_fuzz(void);
int t_kcall_not_kcalls(void);

#endif /* KVTEST_H */
