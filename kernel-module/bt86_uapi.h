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

#endif /* BT86_UAPI_H */
