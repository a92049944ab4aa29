/* SPDX-License-Identifier: GPL-2.0 */
/* bt86.h: internal declarations shared by the bt86.ko source files. */
#ifndef BT86_H
#define BT86_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/mmu_notifier.h>
#include <asm/desc_defs.h>
#include "bt86_uapi.h"
#include "bt86_world.h"

#define BT86_MAX_SLOTS		8
#define BT86_MAX_VCPUS		8
#define BT86_MAX_MEM		(1ULL << 30)	/* guest RAM per VM */
#define BT86_MAX_GPA		(1ULL << 32)	/* a 32-bit guest's physical space */
#define BT86_HOSTMAP_START	(1ULL << 32)	/* host mirror: from 4 GiB up */

/* Monitor page-table entry bits (Intel SDM vol. 3 §4.5). */
#define BT86_PTE_P		(1ULL << 0)	/* present */
#define BT86_PTE_RW		(1ULL << 1)	/* writable */
#define BT86_PTE_US		(1ULL << 2)	/* user (ring 3) may access */
#define BT86_PTE_A		(1ULL << 5)	/* accessed, preset: no CPU writes */
#define BT86_PTE_D		(1ULL << 6)	/* dirty, preset likewise */
#define BT86_PTE_VIEW		(1ULL << 9)	/* AVL bit 9, ignored by the CPU: a kview leaf */
#define BT86_PTE_NX		(1ULL << 63)	/* no execute (needs EFER.NXE) */
#define BT86_PTE_ADDR		0x000ffffffffff000ULL	/* bits 51:12 */

/* Page 0 of the monitor area; offsets must match bt86_world.h (checked). */
struct bt86_world {
	u64 gpr[16];			/* x86 encoding order: rax rcx rdx rbx rsp ... */
	u64 guest_rip;
	u64 guest_rflags;
	u64 guest_cs;
	u64 guest_ss;
	u64 guest_ds;
	u64 exit_vector;
	u64 exit_error;
	u64 exit_cr2;
	u64 nmi_pending;
	u64 guest_fpu;			/* nonzero: run with CR0.TS clear */
	u64 pad0[6];

	u64 host_rsp;
	u64 host_cr0;
	u64 host_cr3;
	u64 host_cr4;
	u64 host_dr7;
	u64 host_efer;
	u64 host_sysenter_cs;
	u64 host_fs_base;
	u64 host_gs_base;
	u64 host_ds;
	u64 host_es;
	u64 host_fs;
	u64 host_gs;
	u64 host_ss;
	u64 host_tr;
	u64 host_ldt;
	u64 host_tss_desc;		/* &Linux's writable GDT[GDT_ENTRY_TSS] */
	u64 pad1;
	struct desc_ptr host_gdtr;
	u8 pad2[6];
	struct desc_ptr host_idtr;
	u8 pad3[6];
	struct desc_ptr host_gdtr_rw;
	u8 pad4[6];
	u64 mon_cr3;
	u64 pad5;
	struct desc_ptr mon_gdtr;
	u8 pad6[6];
	struct desc_ptr mon_idtr;
	u8 pad7[6];
	u64 pad8[2];

	struct desc_struct gdt[16];
	u8 tss[104];
};

enum {
	BT86_GPR_RAX, BT86_GPR_RCX, BT86_GPR_RDX, BT86_GPR_RBX,
	BT86_GPR_RSP, BT86_GPR_RBP, BT86_GPR_RSI, BT86_GPR_RDI,
	BT86_GPR_R8, BT86_GPR_R9, BT86_GPR_R10, BT86_GPR_R11,
	BT86_GPR_R12, BT86_GPR_R13, BT86_GPR_R14, BT86_GPR_R15,
};

struct bt86_slot {
	u64 gpa;
	u64 size;			/* 0: slot unused */
	u64 uaddr;
	unsigned long npages;
	struct page **pages;
};

struct bt86_vm {
	struct kref ref;
	struct rw_semaphore mem_lock;	/* slots, mem_gen */
	struct bt86_slot slots[BT86_MAX_SLOTS];
	u64 mem_gen;			/* bumped on every slot change */
	struct mutex vcpu_lock;		/* vcpu_ids */
	unsigned long vcpu_ids;
};

/* Kernel-owned shadow views of a vcpu (kview.c). */
struct bt86_kv {
	struct bt86_kfill *kf;		/* vmap of the pinned, user-writable area */
	struct page **pages;		/* its pinned pages */
	unsigned long npages;
	struct page *scratch;		/* SINK target */
	u64 kbase[BT86_KV_MAX_VIEWS];	/* base view i's leaves are at (0: none) */

	/* ktraces (ktrace.c): the one page-table write being single-stepped. */
	struct page *kt_old;		/* the frame's contents before the step */
	u64 *kt_leaf;			/* the leaf opened for it; NULL: tables rebuilt */
	u64 kt_pte;			/* that leaf's read-only value */
	u32 kt_frame;			/* gpa of the frame */
	bool kt_stepping;		/* TF is the kernel's: a step is under way */
};

struct bt86_vcpu {
	struct bt86_vm *vm;
	struct mutex lock;		/* everything below */
	unsigned int id;
	struct page *area;		/* BT86_AREA_ORDER block */
	struct bt86_world *w;		/* == page_address(area) */
	u64 *root;			/* top-level monitor page table */
	u64 mapped_gen;			/* vm->mem_gen the tables were built for */
	bool tables_valid;
	bool dead;			/* the monitor faulted; refuse to run */
	u8 pending_in;			/* size of an IN waiting for run->io.data */
	struct bt86_run *run;		/* shared with user space via mmap */

	/*
	 * Host mirror (hostmap.c).  pt_lock orders the world run, leaf
	 * installs, root swaps and the notifier's zaps; mn_seq and
	 * mn_active are the notifier's sequence count and in-progress count.
	 */
	spinlock_t pt_lock;
	unsigned long mn_seq;
	long mn_active;
	struct mm_struct *hm_mm;	/* NULL: hostmap not enabled */
	struct mmu_notifier mn;
	struct bt86_exec_region exec[BT86_MAX_EXEC];
	u8 *fx;				/* 512-byte kernel copy of run->fx */
	struct bt86_kv *kv;		/* NULL: no kernel-owned views */
};

struct bt86_stats_kernel {
	atomic64_t vms;
	atomic64_t vcpus;
	atomic64_t pinned_pages;
	atomic64_t pt_pages;
	atomic64_t world_switches;
	atomic64_t host_irqs;
	atomic64_t host_nmis;
	atomic64_t hostmap_pages;
	atomic64_t host_fills;
};

extern struct bt86_stats_kernel bt86_stats;

/* switch.S */
void bt86_world_enter(struct bt86_world *w);
void bt86_host_irq(unsigned long entry);
extern const char bt86_monitor_text_start[], bt86_monitor_text_end[];
extern const char bt86_vectors[], bt86_nmi_stub[];

/* world.c */
void bt86_pt_for_each_leaf(u64 *root, unsigned long start, unsigned long end,
			   void (*leaf)(u64 *ep, void *arg), void *arg);
int bt86_world_init(void);
int bt86_vcpu_world_alloc(struct bt86_vcpu *vcpu);
void bt86_vcpu_world_free(struct bt86_vcpu *vcpu);
long bt86_vcpu_run(struct bt86_vcpu *vcpu);
int bt86_vcpu_get_regs(struct bt86_vcpu *vcpu, struct bt86_regs *regs);
int bt86_vcpu_set_regs(struct bt86_vcpu *vcpu, const struct bt86_regs *regs);
bool bt86_host_la57(void);
extern int bt86_levels;
extern u64 bt86_nx;
u64 *bt86_pt_alloc(void);
void bt86_fill_regs(struct bt86_vcpu *vcpu);
int bt86_vcpu_tables(struct bt86_vcpu *vcpu);

/* hostmap.c */
int bt86_hostmap_init(void);
long bt86_hostmap_enable(struct bt86_vcpu *vcpu, unsigned long arg);
long bt86_set_exec(struct bt86_vcpu *vcpu, void __user *argp);
bool bt86_hostmap_fault_ours(struct bt86_vcpu *vcpu);
bool bt86_hostmap_fill(struct bt86_vcpu *vcpu);
void bt86_hostmap_zap_all(struct bt86_vcpu *vcpu, u64 *root);
void bt86_hostmap_drop_leaf(u64 *ptep);
u64 *bt86_leaf_table(struct bt86_vcpu *vcpu, unsigned long va);
void bt86_hostmap_release(struct bt86_vcpu *vcpu);
void bt86_fpu_enter(struct bt86_vcpu *vcpu);
void bt86_fpu_exit(struct bt86_vcpu *vcpu);

/* kview.c */
#define BT86_KV_NONE		0	/* bt86_kview_fault: not a view address */
#define BT86_KV_FILLED		1	/* filled: re-enter the guest */
#define BT86_KV_EXIT		2	/* hand the #PF to user space */
long bt86_set_kviews(struct bt86_vcpu *vcpu, void __user *argp);
long bt86_kviews_sync(struct bt86_vcpu *vcpu, unsigned long arg);
int bt86_kview_run_ops(struct bt86_vcpu *vcpu);
int bt86_kview_fault(struct bt86_vcpu *vcpu);
void bt86_kview_tables_reset(struct bt86_vcpu *vcpu);
void bt86_kview_release(struct bt86_vcpu *vcpu);

/* kview.c, shared with ktrace.c: guest walks, view leaves, the fill log. */

/* Guest (32-bit, non-PAE) paging entry bits (SDM vol. 3 §4.3). */
#define BT86_G_P		0x001u		/* present */
#define BT86_G_RW		0x002u		/* writable */
#define BT86_G_US		0x004u		/* user */
#define BT86_G_A		0x020u		/* accessed */
#define BT86_G_D		0x040u		/* dirty */
#define BT86_G_PS		0x080u		/* PDE: 4 MiB page (with CR4.PSE) */
#define BT86_G_FRAME		0xfffff000u	/* 4 KiB frame / table address */
#define BT86_G_FRAME_4M		0xffc00000u	/* 4 MiB frame, bits 31:22 */

/* Guest RAM as the views see it: slot 0 at gpa 0, clipped to ram_frames. */
struct bt86_kv_ram {
	struct page **pages;
	u64 bytes;
};

/* What one walk decided. */
struct bt86_kv_walk {
	u32 pde, pte;		/* pte == pde for a 4 MiB page */
	u64 pde_gpa, pte_gpa;
	u64 frame;
	bool large;
	bool wallow;		/* this view kind may write the page */
};

bool bt86_kv_ram(struct bt86_vcpu *vcpu, struct bt86_kv_ram *ram);
bool bt86_kv_traced(struct bt86_kfill *kf, u64 gpa);
u32 bt86_kv_set_bits(struct bt86_kv_ram *ram, u64 gpa, u32 e, u32 bits);
bool bt86_kv_walk_guest(struct bt86_kfill *kf, struct bt86_kv_ram *ram,
			const struct bt86_kview *v, u32 kflags, u32 lin,
			bool write, struct bt86_kv_walk *gw);
u64 *bt86_kv_lookup(struct bt86_vcpu *vcpu, unsigned long va);
bool bt86_kv_zap_page(struct bt86_vcpu *vcpu, u64 base, u32 lin);
bool bt86_kv_log_room(struct bt86_kfill *kf);
void bt86_kv_view(struct bt86_kfill *kf, unsigned int i, struct bt86_kview *v);
u32 bt86_kv_read_entry(struct bt86_kv_ram *ram, u64 gpa);
void bt86_kv_log(struct bt86_kfill *kf, u32 view, u32 lin, u32 gpa, u32 flags);

/* ktrace.c */
#define BT86_KT_NONE		0	/* bt86_ktrace_begin: not a trace write, the fill decides */
#define BT86_KT_STEP		1	/* stepping it: re-enter */
#define BT86_KT_EXIT		2	/* a trace write for user space */
#define BT86_KT_LOG_ROOM	64	/* free log entries a page-table write needs */
int bt86_ktrace_begin(struct bt86_vcpu *vcpu, const struct bt86_kview *v,
		      u32 lin);
bool bt86_kv_kwrite(struct bt86_kfill *kf, u64 gpa);
void bt86_kv_write_bits(struct bt86_kv_ram *ram, struct bt86_kv_walk *gw);
void bt86_ktrace_zap(struct bt86_vcpu *vcpu, u32 frame, const unsigned long *changed);
bool bt86_ktrace_step_done(struct bt86_vcpu *vcpu);
void bt86_ktrace_abort(struct bt86_vcpu *vcpu);

/* kcall.c */
#define BT86_KC_NONE		0	/* bt86_kcall: not a kcall */
#define BT86_KC_DONE		1	/* completed: re-enter */
#define BT86_KC_DECLINED	2	/* an exception exit for user space */
int bt86_kcall(struct bt86_vcpu *vcpu);

#endif /* BT86_H */
