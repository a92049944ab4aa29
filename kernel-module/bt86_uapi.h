/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* bt86_uapi.h: the /dev/bt86 ioctl API, shared by bt86.ko and user space. */
#ifndef BT86_UAPI_H
#define BT86_UAPI_H

/*
 * The API is KVM-shaped:
 *
 *   /dev/bt86 --BT86_CREATE_VM--> VM fd --BT86_CREATE_VCPU--> vcpu fd
 *
 * A VM owns guest RAM (BT86_SET_MEMORY: pinned user memory at a guest
 * physical address).  A vcpu owns the monitor world (page tables, GDT, IDT,
 * TSS, stacks) and a shared "run" page that user space maps with mmap() on
 * the vcpu fd (offset 0, length BT86_RUN_SIZE) and reads after BT86_RUN.
 *
 * Every struct here has the same layout for i386 and x86-64 callers: only
 * fixed-size types, every __u64 on an 8-byte boundary, explicit padding, so
 * one .compat_ioctl path serves 32-bit processes unchanged.
 *
 * Reserved and pad fields must be zero on input (-EINVAL otherwise), so
 * later versions can give them a meaning.
 */

#include <linux/ioctl.h>
#include <linux/types.h>

#define BT86_API_VERSION	2

/* 0xB8 ('x86' guests, 'B'T); unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define BT86_IO			0xB8

/* Capabilities reported in bt86_version.caps. */
#define BT86_CAP_COMPAT32	(1u << 0)	/* ring-3 32-bit compat-mode guest code */
#define BT86_CAP_LONG64		(1u << 1)	/* ring-3 64-bit guest code (translated code) */
#define BT86_CAP_LA57		(1u << 2)	/* host uses 5-level paging, so does the monitor */
#define BT86_CAP_STATS		(1u << 3)	/* BT86_GET_STATS */
#define BT86_CAP_HOSTMAP	(1u << 4)	/* BT86_ENABLE_HOSTMAP, BT86_SET_EXEC */
#define BT86_CAP_KVIEWS		(1u << 5)	/* BT86_SET_KVIEWS, BT86_KVIEWS_SYNC */
#define BT86_CAP_KCALL		(1u << 6)	/* kcalls completed in the kernel (with kviews) */

struct bt86_version {
	__u32 api_version;	/* BT86_API_VERSION */
	__u32 caps;		/* BT86_CAP_* */
	__u64 max_mem;		/* bytes of guest RAM per VM */
	__u64 max_gpa;		/* guest physical addresses are below this */
	__u32 max_slots;	/* memory slots per VM */
	__u32 max_vcpus;	/* vcpus per VM */
	__u32 run_size;		/* bytes to mmap on a vcpu fd */
	__u32 pad;
};

/*
 * One guest RAM slot.  gpa, size and uaddr are page aligned; the range lies
 * below max_gpa and overlaps no other slot.  size == 0 deletes the slot.
 * The memory is pinned until the slot is replaced or the VM is freed.
 */
struct bt86_memory_region {
	__u32 slot;
	__u32 flags;		/* must be 0 */
	__u64 gpa;
	__u64 size;
	__u64 uaddr;		/* user virtual address of the backing memory */
};

/* Guest code modes (bt86_regs.mode). */
#define BT86_MODE_COMPAT32	1	/* 32-bit code segment, ring 3 (direct execution) */
#define BT86_MODE_LONG64	2	/* 64-bit code segment, ring 3 (translated code) */

/*
 * Guest register state.  In BT86_MODE_COMPAT32, rip and rsp must be below
 * 4 GiB.  rflags: only the arithmetic flags, DF, AC and ID are taken from the
 * caller; IF is always 1 and IOPL 0 while the guest runs, so host interrupts
 * always reach the monitor and cli/sti/in/out/hlt trap to it.
 */
struct bt86_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
	__u32 mode;		/* BT86_MODE_* */
	__u32 flags;		/* must be 0 */
	__u64 reserved[6];	/* must be 0 */
};

/*
 * API v2, host mirroring (BT86_ENABLE_HOSTMAP): the monitor's page tables
 * lazily mirror the calling process's address space from 4 GiB up to the
 * top of the user half, filled on guest #PF with get_user_pages and kept
 * coherent with an mmu_notifier.  Mirrored pages are NX except inside one
 * of these exec regions, where they are executable and never writable.
 * uaddr and size are page aligned, uaddr >= 4 GiB, the region lies in the
 * user half; size == 0 deletes the region.  Any change zaps the mirror.
 */
#define BT86_MAX_EXEC		4
struct bt86_exec_region {
	__u32 index;		/* 0 .. BT86_MAX_EXEC - 1 */
	__u32 flags;		/* must be 0 */
	__u64 uaddr;
	__u64 size;
};

/*
 * Kernel-owned shadow views ("kviews", kernel-module/kview.c).  The vcpu's
 * shadow views of guest address spaces live in the monitor's page tables
 * only; the kernel fills the common hidden fault itself by walking the
 * guest's page tables, and user space replays the fill log.  The whole
 * struct bt86_kfill is shared (pinned user memory registered with
 * BT86_SET_KVIEWS); the kernel treats every field as untrusted.
 */
#define BT86_KV_MAX_VIEWS	32
#define BT86_KV_SPACES		8
#define BT86_KV_LOG		512
#define BT86_KV_OPS		1024
#define BT86_KV_MAX_FRAMES	(1u << 18)	/* 1 GiB of guest RAM */

/* bt86_kview.flags */
#define BT86_KV_USER		(1u << 0)	/* user view: U pages only; writes need RW at both levels */
#define BT86_KV_FLAT		(1u << 1)	/* guest paging off: lin == gpa */

/*
 * One view.  base is the host address of guest linear 0, 4 GiB aligned;
 * 0 = unused.  The view occupies [base - 2 GiB, base + 36 GiB): the window
 * [base, base + 4G), its mirror [base + 4G, base + 8G), the low mirror
 * [base - 2G, base) of [base + 2G, base + 4G), and a guard that is never
 * mapped.
 */
struct bt86_kview {
	__u64 base;
	__u32 flags;		/* BT86_KV_* */
	__u32 space;		/* index into bt86_kfill.ptu[] (ignored for FLAT) */
	__u32 cr3;		/* guest page directory gpa (low 12 bits ignored) */
	__u32 pad;
};

/* bt86_kvop.op */
#define BT86_KVOP_MAP		1	/* arg: gpa | 1 if writable */
#define BT86_KVOP_CLEAR		2	/* arg: number of pages, 1 .. 1 << 20 */
#define BT86_KVOP_PROTECT	3	/* arg: 1 read-only, 0 writable (zap: refills) */
#define BT86_KVOP_SINK		4	/* arg 0: the vcpu's 0xff scratch page, RW */
#define BT86_KVOP_RESET		5	/* arg 0: zap the whole view */

/* A view change requested by user space, applied at the next BT86_RUN/BT86_KVIEWS_SYNC. */
struct bt86_kvop {
	__u32 op;		/* BT86_KVOP_* */
	__u32 view;		/* index into bt86_kfill.views[] */
	__u32 lin;		/* guest linear page address (low 12 bits ignored) */
	__u32 arg;
};

/*
 * A shadow entry the kernel filled, or (BT86_KVLOG_UNMAPPED) zapped after a
 * page-table write it completed itself: then gpa is the page-table frame
 * that changed and user space marks view's entry for lin unmapped.
 */
#define BT86_KVLOG_WRITABLE	1
#define BT86_KVLOG_UNMAPPED	2
struct bt86_kvlog {
	__u32 view;
	__u32 lin;
	__u32 gpa;
	__u32 flags;		/* BT86_KVLOG_* */
};

/*
 * Kcalls: a callout of translated code that bt86.ko completes itself, in
 * ring 0, instead of returning to user space.  A kcall site in the TC
 * (exec region 0) is
 *
 *	[lea r14d, <linear address>]	operands where the op wants them
 *	[mov r11d, <value>]
 *	mov r10, <kcall word>
 *	int3
 *	mov r11, <callout record>	10 bytes: the ordinary callout exit,
 *	jmp qword [r13 + 0x48]		4 bytes   for a kernel that declines
 *
 * The kernel checks the #BP came from ring 3 right after such an int3 with
 * the magic in r10, completes the op and resumes BT86_KCALL_SKIP bytes
 * further on, past the exit.  Anything it will not do (bad word, op
 * unknown, the state it would need is not published) it declines:
 * BT86_RUN returns an exception exit (vector 3, rip after the int3) and
 * user space runs the callout as it would have without the kernel.
 *
 * The kcall word: bits 63..48 BT86_KCALL_MAGIC; bits 31..12 the guest
 * linear page of the instruction; bits 11..8 the op; bits 7..0 its argument.
 */
#define BT86_KCALL_MAGIC	0xb786
#define BT86_KCALL_SKIP		14
#define BT86_KCALL_OPS		8
#define BT86_KCALL_MOV_FROM_CR	1	/* arg: CR number << 3 | guest GPR (ESP is r12) */
#define BT86_KCALL_INVLPG	2	/* arg 0; r14d: the linear address */
#define BT86_KCALL_STORE	3	/* arg: size 1, 2 or 4, not across a dword; r14d: the
					 * linear address, r11d: the value (low arg bytes);
					 * r15: the view the store goes through */
#define BT86_KCALL_SEG		4	/* arg: sreg (ES, DS, FS, GS) | pop size (0, 2, 4) << 3;
					 * r11w: the selector; completed only when the
					 * base stays seg[sreg].base (see kcall.c) */

/*
 * A loaded guest segment register, for BT86_KCALL_SEG: its selector, its
 * base, and the GDT descriptor it was loaded from (0 when user space
 * cannot tell).  The kernel writes back what it loads.
 */
struct bt86_kseg {
	__u32 sel;
	__u32 base;
	__u32 desc[2];
};

/* bt86_kfill.flags: the guest's paging mode */
#define BT86_KF_PAGING		1	/* CR0.PG */
#define BT86_KF_WP		2	/* CR0.WP */
#define BT86_KF_PSE		4	/* CR4.PSE */

struct bt86_kfill {
	__u32 version;		/* user writes 1 */
	__u32 flags;		/* BT86_KF_* */
	__u32 ram_frames;	/* guest RAM frames (<= BT86_KV_MAX_FRAMES and slot 0's size) */
	__u32 nops;		/* ops[0 .. nops) pending; the kernel applies them and sets 0 */
	__u32 log_head;		/* kernel: next entry is log[log_head % BT86_KV_LOG], then ++ */
	__u32 log_tail;		/* user: consumed up to here */
	__u64 kfills;		/* shadow entries installed by kernel walks */
	__u64 kfill_exits;	/* view faults handed to user space */
	__u64 ktrace_writes;	/* trace writes completed in the kernel */
	__u64 ktrace_exits;	/* trace writes handed to user space */
	__u64 reserved[2];
	struct bt86_kview views[BT86_KV_MAX_VIEWS];
	struct bt86_kvop ops[BT86_KV_OPS];
	struct bt86_kvlog log[BT86_KV_LOG];
	/* ptu[s][pde]: gpa of the page table user space traces for (space s, PDE pde); 0 = none */
	__u32 ptu[BT86_KV_SPACES][1024];
	/* bit f: guest frame f is traced (write-protected in every view) */
	__u8 traced[BT86_KV_MAX_FRAMES / 8];
	/*
	 * bit f: a write to frame f may be handled by the kernel (f is
	 * traced only as a page table): it single-steps the write, zaps the
	 * view entries derived from the dwords that changed and logs them
	 * (BT86_KVLOG_UNMAPPED).
	 */
	__u8 kwrite[BT86_KV_MAX_FRAMES / 8];

	/* Kcalls (below): what the kernel needs to complete them, and counters. */
	__u32 cr[5];		/* guest CR0, 0, CR2, CR3, CR4 as mov from CRn reads them */
	__u32 cur_space;	/* the space views[].space names for the current CR3 */
	__u32 gdt_base;		/* guest GDTR */
	__u32 gdt_limit;
	struct bt86_kseg seg[6];	/* guest ES, CS, SS, DS, FS, GS as loaded */
	__u64 sel_uaddr;	/* user address of the 6 selectors translated code reads */
	__u32 seg_loaded;	/* kernel: bit s, it loaded seg[s]; user space clears */
	__u32 pad;
	__u64 kcalls[BT86_KCALL_OPS];	/* completed in the kernel, by op */
	__u64 kcall_declines;		/* handed to user space as an exception exit */
	/*
	 * bit p: translated code reached through an indirect-branch lookup may
	 * lie on guest linear page p; an invlpg there also needs the lookup
	 * table flushed, which only user space can do.
	 */
	__u8 ibl_pages[1u << 17];
};

/*
 * BT86_SET_KVIEWS: uaddr page aligned, >= 4 GiB; size == sizeof(struct
 * bt86_kfill) rounded up to pages; flags and pad 0; hostmap enabled.
 */
struct bt86_kviews_reg {
	__u64 uaddr;
	__u64 size;
	__u32 flags;
	__u32 pad;
};

/* Exit reasons (bt86_run.exit_reason). */
#define BT86_EXIT_NONE		0
#define BT86_EXIT_IO		1	/* in/out: see run.io; rip is already past it */
#define BT86_EXIT_HLT		2	/* hlt; rip is already past it */
#define BT86_EXIT_EXCEPTION	3	/* guest exception: see run.ex */
#define BT86_EXIT_SIGNAL	4	/* a host signal is pending; BT86_RUN returned -EINTR */
#define BT86_EXIT_INTERNAL	5	/* the monitor itself faulted: see run.ex; vcpu unusable */

#define BT86_IO_IN		0
#define BT86_IO_OUT		1

struct bt86_run {
	__u32 exit_reason;	/* BT86_EXIT_* */
	__u32 pad;
	__u64 world_switches;	/* round trips into the monitor world so far */
	union {
		/*
		 * BT86_EXIT_IO.  For OUT, data holds the value written.  For
		 * IN, user space stores the value read in data before the
		 * next BT86_RUN, which puts it into al/ax/eax.
		 */
		struct {
			__u8 direction;	/* BT86_IO_* */
			__u8 size;	/* 1, 2 or 4 */
			__u16 port;
			__u32 data;
		} io;
		/* BT86_EXIT_EXCEPTION and BT86_EXIT_INTERNAL. */
		struct {
			__u32 vector;
			__u32 error_code;
			__u64 cr2;	/* faulting address for #PF (vector 14) */
			__u64 rip;	/* rip in the exception frame */
		} ex;
		__u8 raw[240];
	};
	/* API v2, offset 256. */
	struct bt86_regs regs;	/* guest registers at every return from BT86_RUN */
	__u32 regs_dirty;	/* user sets 1: the next BT86_RUN loads regs (as
				 * BT86_SET_REGS would; bad -> EINVAL) and clears it */
	__u32 pad2;
	__u64 host_fills;	/* pages the kernel mirrored for this vcpu so far */
	__u64 host_fill_failures; /* mirrorable #PFs returned to user space */
	__u64 reserved2[4];
	__u8 fx[512];		/* guest FXSAVE image (hostmap vcpus only), offset 512 */
};

#define BT86_RUN_SIZE		4096

/* Global counters of live objects, for leak checks in tests. */
struct bt86_stats {
	__u64 vms;
	__u64 vcpus;
	__u64 pinned_pages;
	__u64 pt_pages;		/* monitor page-table pages */
	__u64 world_switches;
	__u64 host_irqs;	/* host interrupts taken in the monitor world */
	__u64 host_nmis;
	__u64 hostmap_pages;	/* live mirrored host pages, all vcpus */
	__u64 host_fills;	/* host pages mirrored so far, all vcpus */
	__u64 reserved[7];
};

/* /dev/bt86 */
#define BT86_GET_VERSION	_IOR(BT86_IO, 0x00, struct bt86_version)
#define BT86_CREATE_VM		_IO(BT86_IO, 0x01)	/* arg 0; returns a VM fd */
#define BT86_GET_STATS		_IOR(BT86_IO, 0x02, struct bt86_stats)

/* VM fd */
#define BT86_SET_MEMORY		_IOW(BT86_IO, 0x10, struct bt86_memory_region)
#define BT86_CREATE_VCPU	_IO(BT86_IO, 0x11)	/* arg: vcpu id; returns a vcpu fd */

/* vcpu fd */
#define BT86_GET_REGS		_IOR(BT86_IO, 0x20, struct bt86_regs)
#define BT86_SET_REGS		_IOW(BT86_IO, 0x21, struct bt86_regs)
#define BT86_RUN		_IO(BT86_IO, 0x22)	/* arg 0 */
#define BT86_ENABLE_HOSTMAP	_IO(BT86_IO, 0x23)	/* arg 0 */
#define BT86_SET_EXEC		_IOW(BT86_IO, 0x24, struct bt86_exec_region)
#define BT86_SET_KVIEWS		_IOW(BT86_IO, 0x25, struct bt86_kviews_reg)
#define BT86_KVIEWS_SYNC	_IO(BT86_IO, 0x26)	/* arg 0: apply pending ops now */

#endif /* BT86_UAPI_H */
