// SPDX-License-Identifier: GPL-2.0
/* world.c: the monitor world of a vcpu: its tables, the run loop and exit decoding. */

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/vmalloc.h>
#include <linux/sched/signal.h>
#include <linux/mem_encrypt.h>
#include <linux/io.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/processor-flags.h>
#include <asm/irq_vectors.h>
#include <asm/trapnr.h>
#include <asm/fpu/api.h>
#include <asm/debugreg.h>
#include "bt86.h"

/* Descriptor bits (SDM vol. 3 §3.4.5, §7.2.3, §6.14.1). */
#define BT86_DESC_TSS_AVAIL	0x9ULL		/* type: available 64-bit TSS */
#define BT86_DESC_INTR_GATE	0xeULL		/* type: 64-bit interrupt gate */
#define BT86_DESC_P		(1ULL << 47)	/* present */
#define BT86_DESC_DPL_SHIFT	45		/* descriptor privilege level */

/* Guest RFLAGS bits the caller may choose; IF is forced on, IOPL to 0. */
#define BT86_RFLAGS_USER	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
				 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_DF | \
				 X86_EFLAGS_OF | X86_EFLAGS_AC | X86_EFLAGS_ID)

/* The 64-bit TSS (SDM vol. 3 §7.7). */
struct bt86_tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

int bt86_levels;			/* 4 or 5, as the host's paging */
u64 bt86_nx;				/* BT86_PTE_NX if EFER.NXE is on */

bool bt86_host_la57(void)
{
	return bt86_levels == 5;
}

int bt86_world_init(void)
{
	u64 efer;

	BUILD_BUG_ON(offsetof(struct bt86_world, gpr[BT86_GPR_RAX]) != W_GPR_RAX);
	BUILD_BUG_ON(offsetof(struct bt86_world, gpr[BT86_GPR_RSP]) != W_GPR_RSP);
	BUILD_BUG_ON(offsetof(struct bt86_world, gpr[BT86_GPR_R15]) != W_GPR_R15);
	BUILD_BUG_ON(offsetof(struct bt86_world, guest_rip) != W_GUEST_RIP);
	BUILD_BUG_ON(offsetof(struct bt86_world, guest_ds) != W_GUEST_DS);
	BUILD_BUG_ON(offsetof(struct bt86_world, nmi_pending) != W_NMI_PENDING);
	BUILD_BUG_ON(offsetof(struct bt86_world, guest_fpu) != W_GUEST_FPU);
	BUILD_BUG_ON(offsetof(struct bt86_world, host_rsp) != W_HOST_RSP);
	BUILD_BUG_ON(offsetof(struct bt86_world, host_ldt) != W_HOST_LDT);
	BUILD_BUG_ON(offsetof(struct bt86_world, host_tss_desc) != W_HOST_TSS_DESC);
	BUILD_BUG_ON(offsetof(struct bt86_world, host_gdtr) != W_HOST_GDTR);
	BUILD_BUG_ON(offsetof(struct bt86_world, host_idtr) != W_HOST_IDTR);
	BUILD_BUG_ON(offsetof(struct bt86_world, host_gdtr_rw) != W_HOST_GDTR_RW);
	BUILD_BUG_ON(offsetof(struct bt86_world, mon_cr3) != W_MON_CR3);
	BUILD_BUG_ON(offsetof(struct bt86_world, mon_gdtr) != W_MON_GDTR);
	BUILD_BUG_ON(offsetof(struct bt86_world, mon_idtr) != W_MON_IDTR);
	BUILD_BUG_ON(offsetof(struct bt86_world, gdt) != W_GDT);
	BUILD_BUG_ON(offsetof(struct bt86_world, tss) != W_TSS);
	BUILD_BUG_ON(sizeof(struct bt86_world) > BT86_AREA_IDT);
	BUILD_BUG_ON(sizeof(struct bt86_tss64) != 104);
	BUILD_BUG_ON(sizeof(((struct bt86_world *)0)->gdt) != GDT_SIZE);
	BUILD_BUG_ON(GDT_ENTRY_TSS * 8 != BT86_SEL_TSS);

	bt86_levels = (native_read_cr4() & X86_CR4_LA57) ? 5 : 4;
	rdmsrl(MSR_EFER, efer);
	bt86_nx = (efer & EFER_NX) ? BT86_PTE_NX : 0;
	return bt86_hostmap_init();
}

/* ---- monitor page tables ------------------------------------------------ */

u64 *bt86_pt_alloc(void)
{
	u64 *pt = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

	if (pt)
		atomic64_inc(&bt86_stats.pt_pages);
	return pt;
}

static void bt86_pt_free(u64 *pt, int level)
{
	int i;

	if (level > 1) {
		for (i = 0; i < 512; i++) {
			if (pt[i] & BT86_PTE_P)
				bt86_pt_free(__va(__sme_clr(pt[i]) & BT86_PTE_ADDR),
					     level - 1);
		}
	}
	free_page((unsigned long)pt);
	atomic64_dec(&bt86_stats.pt_pages);
}

static void bt86_pt_walk(u64 *pt, int level, unsigned long start, unsigned long end,
			 void (*leaf)(u64 *ep, void *arg), void *arg)
{
	unsigned int shift = PAGE_SHIFT + 9 * (level - 1);
	unsigned long va, next;

	for (va = start; va < end; va = next) {
		u64 *ep = &pt[(va >> shift) & 511];
		u64 e = READ_ONCE(*ep);

		next = min((va | ((1UL << shift) - 1)) + 1, end);
		if (!(e & BT86_PTE_P))
			continue;
		if (level == 1)
			leaf(ep, arg);
		else
			bt86_pt_walk(__va(__sme_clr(e) & BT86_PTE_ADDR), level - 1, va,
				     next, leaf, arg);
	}
}

/*
 * Call leaf() on every present leaf of [start, end) in the tables at root;
 * absent upper levels are skipped, so a 40 GiB range costs what is mapped.
 * Only reads upper levels, so the mmu notifier may use it under pt_lock.
 */
void bt86_pt_for_each_leaf(u64 *root, unsigned long start, unsigned long end,
			   void (*leaf)(u64 *ep, void *arg), void *arg)
{
	if (root && start < end)
		bt86_pt_walk(root, bt86_levels, start, end, leaf, arg);
}

/* Map one 4 KiB page va -> pa with leaf flags; tables are allocated on the way. */
static int bt86_map(u64 *root, unsigned long va, phys_addr_t pa, u64 flags)
{
	u64 *pt = root;
	int level;

	for (level = bt86_levels; level > 1; level--) {
		unsigned int idx = (va >> (12 + 9 * (level - 1))) & 511;
		u64 *next;

		if (!(pt[idx] & BT86_PTE_P)) {
			next = bt86_pt_alloc();
			if (!next)
				return -ENOMEM;
			/* Intermediate entries allow everything; leaves decide. */
			pt[idx] = __sme_set(__pa(next)) | BT86_PTE_P | BT86_PTE_RW |
				  BT86_PTE_US | BT86_PTE_A;
		}
		pt = __va(__sme_clr(pt[idx]) & BT86_PTE_ADDR);
	}
	pt[(va >> 12) & 511] = __sme_set(pa) | flags | BT86_PTE_P | BT86_PTE_A |
			       BT86_PTE_D;
	return 0;
}

/*
 * Build the monitor address space: the switch code and the vcpu area at
 * their Linux addresses (supervisor), guest RAM at guest-physical ==
 * guest-linear addresses below 4 GiB (user).  Called with vm->mem_lock held.
 */
static int bt86_build_tables(struct bt86_vcpu *vcpu)
{
	struct bt86_vm *vm = vcpu->vm;
	unsigned long va, end;
	u64 *root, *old;
	int i, r;
	unsigned long p;

	root = bt86_pt_alloc();
	if (!root)
		return -ENOMEM;

	va = (unsigned long)bt86_monitor_text_start & PAGE_MASK;
	end = (unsigned long)bt86_monitor_text_end + 1;
	for (; va < end; va += PAGE_SIZE) {
		unsigned long pfn = vmalloc_to_pfn((void *)va);

		r = -EFAULT;
		if (WARN_ON_ONCE(!pfn))
			goto fail;
		r = bt86_map(root, va, PFN_PHYS(pfn), 0);
		if (r)
			goto fail;
	}

	for (i = 0; i < (1 << BT86_AREA_ORDER); i++) {
		va = (unsigned long)vcpu->w + i * PAGE_SIZE;
		r = bt86_map(root, va, page_to_phys(vcpu->area) + i * PAGE_SIZE,
			     BT86_PTE_RW | bt86_nx);
		if (r)
			goto fail;
	}

	/* With kviews, translated code never uses guest-physical addresses. */
	for (i = 0; i < BT86_MAX_SLOTS && !vcpu->kv; i++) {
		struct bt86_slot *s = &vm->slots[i];

		if (!s->size)
			continue;
		for (p = 0; p < s->npages; p++) {
			r = bt86_map(root, s->gpa + p * PAGE_SIZE,
				     page_to_phys(s->pages[p]),
				     BT86_PTE_RW | BT86_PTE_US);
			if (r)
				goto fail;
		}
	}

	/*
	 * The old tables go, and with them the host mirror (its leaves hold
	 * page references, dropped here) and every kview leaf (they hold
	 * none).  The swap is under pt_lock, which the notifier's zaps take
	 * to find vcpu->root.
	 */
	old = vcpu->root;
	spin_lock(&vcpu->pt_lock);
	if (old)
		bt86_hostmap_zap_all(vcpu, old);
	vcpu->root = root;
	vcpu->w->mon_cr3 = __sme_set(__pa(root));
	bt86_kview_tables_reset(vcpu);
	spin_unlock(&vcpu->pt_lock);
	if (old)
		bt86_pt_free(old, bt86_levels);
	vcpu->mapped_gen = vm->mem_gen;
	vcpu->tables_valid = true;
	return 0;
fail:
	bt86_pt_free(root, bt86_levels);
	return r;
}

/* The tables, rebuilt if a slot changed (or kviews dropped the slots); mem_lock held. */
int bt86_vcpu_tables(struct bt86_vcpu *vcpu)
{
	lockdep_assert_held(&vcpu->vm->mem_lock);
	if (vcpu->tables_valid && vcpu->mapped_gen == vcpu->vm->mem_gen)
		return 0;
	return bt86_build_tables(vcpu);
}

/* ---- descriptor tables ---------------------------------------------------- */

static void bt86_set_gate(u64 *idt, unsigned int vec, unsigned long addr,
			  unsigned int dpl, unsigned int ist)
{
	idt[2 * vec] = (addr & 0xffff) |			/* offset 15:0 */
		       ((u64)__KERNEL_CS << 16) |		/* selector */
		       ((u64)ist << 32) |			/* IST index */
		       (BT86_DESC_INTR_GATE << 40) |
		       ((u64)dpl << BT86_DESC_DPL_SHIFT) |
		       BT86_DESC_P |
		       (((u64)addr >> 16 & 0xffff) << 48);	/* offset 31:16 */
	idt[2 * vec + 1] = addr >> 32;				/* offset 63:32 */
}

static void bt86_set_tss_desc(struct desc_struct *d, unsigned long base)
{
	u64 limit = sizeof(struct bt86_tss64) - 1;
	u64 lo, hi;

	lo = (limit & 0xffff) |				/* limit 15:0 */
	     ((u64)(base & 0xffffff) << 16) |		/* base 23:0 */
	     (BT86_DESC_TSS_AVAIL << 40) |
	     BT86_DESC_P |
	     (((limit >> 16) & 0xf) << 48) |		/* limit 19:16 */
	     ((u64)((base >> 24) & 0xff) << 56);	/* base 31:24 */
	hi = base >> 32;				/* base 63:32 */
	memcpy(d, &lo, 8);
	memcpy(d + 1, &hi, 8);
}

static void bt86_init_area(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	unsigned long area = (unsigned long)w;
	u64 *idt = (u64 *)(area + BT86_AREA_IDT);
	struct bt86_tss64 *tss = (struct bt86_tss64 *)w->tss;
	unsigned int vec;

	for (vec = 0; vec < 256; vec++) {
		unsigned long stub = (unsigned long)bt86_vectors + 16 * vec;
		/* int3 from ring 3 must reach #BP; any other int $n is a #GP. */
		unsigned int dpl = vec == X86_TRAP_BP ? 3 : 0;
		unsigned int ist = 0;

		if (vec == X86_TRAP_NMI) {
			stub = (unsigned long)bt86_nmi_stub;
			ist = 1;
		} else if (vec == X86_TRAP_DF || vec == X86_TRAP_MC) {
			ist = 2;
		}
		bt86_set_gate(idt, vec, stub, dpl, ist);
	}
	w->mon_idtr.address = (unsigned long)idt;
	w->mon_idtr.size = 256 * 16 - 1;

	tss->rsp[0] = area + BT86_AREA_STACK_TOP;
	tss->ist[0] = area + BT86_AREA_IST_NMI_TOP;
	tss->ist[1] = area + BT86_AREA_IST_DF_TOP;
	/* I/O bitmap offset past the limit: no bitmap, in/out at ring 3 fault. */
	tss->iomap_base = sizeof(*tss);

	w->mon_gdtr.address = (unsigned long)w->gdt;
	w->mon_gdtr.size = sizeof(w->gdt) - 1;
	w->guest_cs = __USER32_CS;
	w->guest_ss = __USER_DS;
	w->guest_ds = __USER_DS;
	w->guest_rflags = X86_EFLAGS_IF | X86_EFLAGS_FIXED;
}

/*
 * Per-entry, interrupts off: the monitor GDT is this CPU's Linux GDT with the
 * TSS replaced and the LDT, TLS and (for 32-bit guest code) 64-bit user code
 * descriptors removed.
 */
static void bt86_prepare(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	struct desc_struct *host = get_current_gdt_rw();

	memcpy(w->gdt, host, sizeof(w->gdt));
	if (w->guest_cs != __USER_CS)
		memset(&w->gdt[GDT_ENTRY_DEFAULT_USER_CS], 0, sizeof(w->gdt[0]));
	memset(&w->gdt[GDT_ENTRY_LDT], 0, 2 * sizeof(w->gdt[0]));
	memset(&w->gdt[GDT_ENTRY_TLS_MIN], 0,
	       GDT_ENTRY_TLS_ENTRIES * sizeof(w->gdt[0]));
	bt86_set_tss_desc(&w->gdt[GDT_ENTRY_TSS], (unsigned long)w->tss);

	w->host_tss_desc = (unsigned long)&host[GDT_ENTRY_TSS];
	w->host_gdtr_rw.address = (unsigned long)host;
	w->host_gdtr_rw.size = GDT_SIZE - 1;
}

int bt86_vcpu_world_alloc(struct bt86_vcpu *vcpu)
{
	vcpu->area = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO, BT86_AREA_ORDER);
	if (!vcpu->area)
		return -ENOMEM;
	vcpu->w = page_address(vcpu->area);
	/* Trap code finds the area by rounding %rsp down to BT86_AREA_SIZE. */
	if ((unsigned long)vcpu->w & (BT86_AREA_SIZE - 1)) {
		pr_err_once("bt86: monitor area %px is not %d-byte aligned\n",
			    vcpu->w, BT86_AREA_SIZE);
		__free_pages(vcpu->area, BT86_AREA_ORDER);
		return -ENXIO;
	}
	vcpu->run = (struct bt86_run *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run) {
		__free_pages(vcpu->area, BT86_AREA_ORDER);
		return -ENOMEM;
	}
	spin_lock_init(&vcpu->pt_lock);
	bt86_init_area(vcpu);
	return 0;
}

void bt86_vcpu_world_free(struct bt86_vcpu *vcpu)
{
	/* The views' pinned area, then the mirror's page references and the notifier. */
	bt86_kview_release(vcpu);
	bt86_hostmap_release(vcpu);
	if (vcpu->root)
		bt86_pt_free(vcpu->root, bt86_levels);
	/* A user mapping keeps its own reference to the run page. */
	free_page((unsigned long)vcpu->run);
	__free_pages(vcpu->area, BT86_AREA_ORDER);
}

/* ---- one round trip --------------------------------------------------------- */

/*
 * pt_lock is held across the world run: a notifier zapping the host mirror
 * on another CPU waits until this world has exited (at the latest at the
 * next timer interrupt, which always exits), and the next entry's CR3 load
 * (PCID 0, no-flush bit clear) flushes whatever the TLB still holds of the
 * zapped leaves.  Nothing under pt_lock sleeps.
 */
static void bt86_switch(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	unsigned long flags;
	u64 vec;

	if (vcpu->hm_mm)
		bt86_fpu_enter(vcpu);
	spin_lock(&vcpu->pt_lock);
	local_irq_save(flags);
	bt86_prepare(vcpu);
	bt86_world_enter(w);
	/* Save the guest's FPU state before any Linux handler runs. */
	if (vcpu->hm_mm)
		bt86_fpu_exit(vcpu);
	vec = w->exit_vector;
	/*
	 * The CPU never clears DR6: drop the guest's single-step status (BS,
	 * DR6 bit 14) so Linux's next #DB does not take it for its own.
	 */
	if (vec == X86_TRAP_DB)
		set_debugreg(DR6_RESERVED, 6);
	/*
	 * Vectors 32..255 only arrive from hardware (a guest int $n meets a
	 * DPL-0 gate).  0x80 is Linux's int $0x80 system call gate, never an
	 * interrupt: it is not called with a kernel frame whatever happens.
	 */
	if (vec >= FIRST_EXTERNAL_VECTOR && vec != IA32_SYSCALL_VECTOR) {
		/* The interrupt is in service in the APIC; Linux's handler EOIs it. */
		gate_desc *idt = (gate_desc *)w->host_idtr.address;

		bt86_host_irq(gate_offset(&idt[vec]));
		atomic64_inc(&bt86_stats.host_irqs);
	}
	if (w->nmi_pending || vec == X86_TRAP_NMI) {
		w->nmi_pending = 0;
		asm volatile("int $2");		/* through Linux's NMI gate and IST */
		atomic64_inc(&bt86_stats.host_nmis);
	}
	local_irq_restore(flags);
	spin_unlock(&vcpu->pt_lock);
	if (vcpu->hm_mm)
		kernel_fpu_end();
	atomic64_inc(&bt86_stats.world_switches);
	vcpu->run->world_switches++;
}

/* ---- exits ------------------------------------------------------------------ */

/* Copy guest-physical bytes; returns how many were in guest RAM. */
static int bt86_read_guest(struct bt86_vm *vm, u64 gpa, u8 *buf, int len)
{
	int n;

	for (n = 0; n < len; n++, gpa++) {
		struct bt86_slot *s = NULL;
		u8 *kaddr;
		int i;

		for (i = 0; i < BT86_MAX_SLOTS; i++) {
			if (vm->slots[i].size && gpa >= vm->slots[i].gpa &&
			    gpa - vm->slots[i].gpa < vm->slots[i].size) {
				s = &vm->slots[i];
				break;
			}
		}
		if (!s)
			break;
		kaddr = kmap_local_page(s->pages[(gpa - s->gpa) >> PAGE_SHIFT]);
		buf[n] = kaddr[offset_in_page(gpa)];
		kunmap_local(kaddr);
	}
	return n;
}

/*
 * A #GP(0) from ring 3: if it is in/out/hlt, decode it into an exit and step
 * over it.  String I/O and everything else stay a #GP exit.
 */
static bool bt86_decode_gp(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	struct bt86_run *run = vcpu->run;
	bool long64 = w->guest_cs == __USER_CS;
	u64 rip = long64 ? w->guest_rip : (u32)w->guest_rip;
	u8 insn[15];
	int len, i = 0;
	unsigned int size = 4, port, op;
	bool out, imm;

	len = bt86_read_guest(vcpu->vm, rip, insn, sizeof(insn));
	for (; i < len; i++) {
		op = insn[i];
		if (op == 0x66)				/* operand size */
			size = 2;
		else if (op == 0x67 || op == 0xf0 || op == 0xf2 || op == 0xf3 ||
			 op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e ||
			 op == 0x64 || op == 0x65)	/* other legacy prefixes */
			continue;
		else if (long64 && (op & 0xf0) == 0x40)	/* REX */
			continue;
		else
			break;
	}
	if (i >= len)
		return false;
	op = insn[i];
	if (op == 0xf4) {				/* hlt */
		run->exit_reason = BT86_EXIT_HLT;
		w->guest_rip += i + 1;
		return true;
	}
	switch (op) {
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:	/* in/out imm8 */
		if (i + 1 >= len)
			return false;
		port = insn[i + 1];
		imm = true;
		break;
	case 0xec: case 0xed: case 0xee: case 0xef:	/* in/out dx */
		port = w->gpr[BT86_GPR_RDX] & 0xffff;
		imm = false;
		break;
	default:
		return false;
	}
	if (!(op & 1))
		size = 1;
	out = op & 2;
	run->exit_reason = BT86_EXIT_IO;
	run->io.direction = out ? BT86_IO_OUT : BT86_IO_IN;
	run->io.size = size;
	run->io.port = port;
	run->io.data = out ? (u32)(w->gpr[BT86_GPR_RAX] &
				   (size == 4 ? 0xffffffffULL : (1ULL << (8 * size)) - 1)) : 0;
	if (!out)
		vcpu->pending_in = size;
	w->guest_rip += i + (imm ? 2 : 1);
	return true;
}

static void bt86_exit_exception(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	struct bt86_run *run = vcpu->run;
	u64 vec = w->exit_vector;

	run->exit_reason = BT86_EXIT_EXCEPTION;
	run->ex.vector = vec;
	run->ex.error_code = w->exit_error;
	run->ex.cr2 = vec == X86_TRAP_PF ? w->exit_cr2 : 0;
	run->ex.rip = w->guest_rip;
}

#define BT86_EXIT_HOSTMAP	2	/* bt86_handle_exit: a #PF for the host mirror */

/*
 * Returns 0 to re-enter the guest, 1 to return to user space, or
 * BT86_EXIT_HOSTMAP for a #PF the host mirror may resolve.
 */
static int bt86_handle_exit(struct bt86_vcpu *vcpu)
{
	struct bt86_world *w = vcpu->w;
	struct bt86_run *run = vcpu->run;
	u64 vec = w->exit_vector;

	if (vec == X86_TRAP_NMI ||
	    (vec >= FIRST_EXTERNAL_VECTOR && vec != IA32_SYSCALL_VECTOR))
		return 0;			/* a host event, already handed to Linux */

	if ((w->guest_cs & 3) != 3) {
		/* A fault in the monitor itself: report it, never run again. */
		pr_warn_ratelimited("bt86: monitor fault: vector %llu error %#llx rip %#llx cr2 %#llx\n",
				    vec, w->exit_error, w->guest_rip, w->exit_cr2);
		vcpu->dead = true;
		run->exit_reason = BT86_EXIT_INTERNAL;
		run->ex.vector = vec;
		run->ex.error_code = w->exit_error;
		run->ex.cr2 = w->exit_cr2;
		run->ex.rip = w->guest_rip;
		return 1;
	}

	if (vec == X86_TRAP_GP && w->exit_error == 0 && bt86_decode_gp(vcpu))
		return 1;
	if (vec == X86_TRAP_BP && bt86_kcall(vcpu) == BT86_KC_DONE)
		return 0;
	if (vec == X86_TRAP_PF && bt86_hostmap_fault_ours(vcpu))
		return BT86_EXIT_HOSTMAP;

	bt86_exit_exception(vcpu);
	return 1;
}

static void bt86_complete_in(struct bt86_vcpu *vcpu)
{
	u64 *rax = &vcpu->w->gpr[BT86_GPR_RAX];
	u32 data = READ_ONCE(vcpu->run->io.data);

	switch (vcpu->pending_in) {
	case 1:
		*rax = (*rax & ~0xffULL) | (data & 0xff);
		break;
	case 2:
		*rax = (*rax & ~0xffffULL) | (data & 0xffff);
		break;
	default:
		*rax = data;		/* a 32-bit write zero-extends */
		break;
	}
	vcpu->pending_in = 0;
}

static long bt86_run_loop(struct bt86_vcpu *vcpu)
{
	struct bt86_vm *vm = vcpu->vm;
	struct bt86_run *run = vcpu->run;
	int r;

	if (vcpu->dead)
		return -EIO;
	if (vcpu->pending_in)
		bt86_complete_in(vcpu);
	run->exit_reason = BT86_EXIT_NONE;

	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = BT86_EXIT_SIGNAL;
			return -EINTR;
		}
		cond_resched();

		down_read(&vm->mem_lock);
		r = bt86_vcpu_tables(vcpu);
		if (r) {
			up_read(&vm->mem_lock);
			return r;
		}
		bt86_switch(vcpu);
		/* The #DB that ends a kernel single-step of a page-table write. */
		if (bt86_ktrace_step_done(vcpu))
			r = 0;
		else
			r = bt86_handle_exit(vcpu);
		/* A view fault is filled here, with the slots held still. */
		if (r == BT86_EXIT_HOSTMAP && vcpu->kv) {
			switch (bt86_kview_fault(vcpu)) {
			case BT86_KV_FILLED:
				r = 0;
				break;
			case BT86_KV_EXIT:
				bt86_exit_exception(vcpu);
				r = 1;
				break;
			}
		}
		up_read(&vm->mem_lock);
		/* Filled (or raced with a zap: the fault repeats) -> re-enter. */
		if (r == BT86_EXIT_HOSTMAP && !bt86_hostmap_fill(vcpu)) {
			bt86_exit_exception(vcpu);
			return 0;
		}
		if (r == 1)
			return 0;
	}
}

/* BT86_RUN; called with vcpu->lock held. */
long bt86_vcpu_run(struct bt86_vcpu *vcpu)
{
	struct bt86_run *run = vcpu->run;
	long r;

	if (vcpu->hm_mm && current->mm != vcpu->hm_mm)
		return -EIO;		/* the mirror is of the enabling process */
	if (READ_ONCE(run->regs_dirty)) {
		struct bt86_regs regs;

		/* One copy, then validate: user space may write it meanwhile. */
		memcpy(&regs, &run->regs, sizeof(regs));
		r = bt86_vcpu_set_regs(vcpu, &regs);
		if (r)
			return r;
		WRITE_ONCE(run->regs_dirty, 0);
	}
	if (vcpu->kv) {
		/* The view changes user space queued, before anything runs. */
		r = bt86_kview_run_ops(vcpu);
		if (r)
			return r;
	}
	if (vcpu->hm_mm)
		memcpy(vcpu->fx, run->fx, sizeof(run->fx));

	r = bt86_run_loop(vcpu);
	/* A page-table write still being stepped ends before user space sees anything. */
	bt86_ktrace_abort(vcpu);
	/* TF is never the guest's to keep: the kernel's steps, or the guest's own popf. */
	vcpu->w->guest_rflags &= ~X86_EFLAGS_TF;

	if (vcpu->hm_mm)
		memcpy(run->fx, vcpu->fx, sizeof(run->fx));
	bt86_fill_regs(vcpu);
	return r;
}

/* ---- register state --------------------------------------------------------- */

/* run->regs after every BT86_RUN, so user space needs no BT86_GET_REGS. */
void bt86_fill_regs(struct bt86_vcpu *vcpu)
{
	struct bt86_regs regs;

	bt86_vcpu_get_regs(vcpu, &regs);
	memcpy(&vcpu->run->regs, &regs, sizeof(regs));
}

int bt86_vcpu_get_regs(struct bt86_vcpu *vcpu, struct bt86_regs *regs)
{
	const u64 *g = vcpu->w->gpr;

	memset(regs, 0, sizeof(*regs));
	regs->rax = g[BT86_GPR_RAX];
	regs->rbx = g[BT86_GPR_RBX];
	regs->rcx = g[BT86_GPR_RCX];
	regs->rdx = g[BT86_GPR_RDX];
	regs->rsi = g[BT86_GPR_RSI];
	regs->rdi = g[BT86_GPR_RDI];
	regs->rsp = g[BT86_GPR_RSP];
	regs->rbp = g[BT86_GPR_RBP];
	regs->r8 = g[BT86_GPR_R8];
	regs->r9 = g[BT86_GPR_R9];
	regs->r10 = g[BT86_GPR_R10];
	regs->r11 = g[BT86_GPR_R11];
	regs->r12 = g[BT86_GPR_R12];
	regs->r13 = g[BT86_GPR_R13];
	regs->r14 = g[BT86_GPR_R14];
	regs->r15 = g[BT86_GPR_R15];
	regs->rip = vcpu->w->guest_rip;
	regs->rflags = vcpu->w->guest_rflags & ~X86_EFLAGS_TF;	/* RFLAGS bit 8 */
	regs->mode = vcpu->w->guest_cs == __USER_CS ? BT86_MODE_LONG64 :
						       BT86_MODE_COMPAT32;
	return 0;
}

int bt86_vcpu_set_regs(struct bt86_vcpu *vcpu, const struct bt86_regs *regs)
{
	struct bt86_world *w = vcpu->w;
	u64 *g = w->gpr;
	int i;

	if (regs->flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(regs->reserved); i++)
		if (regs->reserved[i])
			return -EINVAL;
	switch (regs->mode) {
	case BT86_MODE_COMPAT32:
		if (regs->rip > U32_MAX || regs->rsp > U32_MAX)
			return -EINVAL;
		break;
	case BT86_MODE_LONG64:
		/* iretq to a non-canonical rip would fault in ring 0. */
		if (regs->rip >= (1ULL << 47))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	g[BT86_GPR_RAX] = regs->rax;
	g[BT86_GPR_RBX] = regs->rbx;
	g[BT86_GPR_RCX] = regs->rcx;
	g[BT86_GPR_RDX] = regs->rdx;
	g[BT86_GPR_RSI] = regs->rsi;
	g[BT86_GPR_RDI] = regs->rdi;
	g[BT86_GPR_RSP] = regs->rsp;
	g[BT86_GPR_RBP] = regs->rbp;
	g[BT86_GPR_R8] = regs->r8;
	g[BT86_GPR_R9] = regs->r9;
	g[BT86_GPR_R10] = regs->r10;
	g[BT86_GPR_R11] = regs->r11;
	g[BT86_GPR_R12] = regs->r12;
	g[BT86_GPR_R13] = regs->r13;
	g[BT86_GPR_R14] = regs->r14;
	g[BT86_GPR_R15] = regs->r15;
	w->guest_rip = regs->rip;
	w->guest_rflags = (regs->rflags & BT86_RFLAGS_USER) | X86_EFLAGS_IF |
			  X86_EFLAGS_FIXED;
	w->guest_cs = regs->mode == BT86_MODE_LONG64 ? __USER_CS : __USER32_CS;
	w->guest_ss = __USER_DS;
	w->guest_ds = __USER_DS;
	vcpu->pending_in = 0;
	vcpu->dead = false;
	return 0;
}
