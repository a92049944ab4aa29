/* SPDX-License-Identifier: GPL-2.0 */
/* switch.S: the world switch between Linux and the bt86 ring-0 monitor. */

/*
 * How a world switch works
 * ========================
 *
 * Linux and the monitor are two "worlds": each has its own page tables
 * (CR3), GDT, IDT, TSS, and its own idea of CR0/CR4/EFER and a handful of
 * MSRs.  bt86_world_enter() leaves Linux's world, runs guest code at ring 3
 * in the monitor's world until the first trap or interrupt, and comes back.
 * The C caller (world.c) has interrupts disabled throughout and has prepared
 * the monitor's tables for this CPU.
 *
 * Everything the switch touches while the monitor's CR3 is live -- this
 * code, the vcpu's 16 KiB monitor area (see bt86_world.h) -- is mapped at
 * the same virtual address in both worlds, so the instruction after
 * "mov %rax, %cr3" is fetched from the same address on either side and one
 * pointer to the area (kept in %rbx) stays valid.  Nothing else of Linux
 * is mapped in the monitor's page tables: no kernel text, no per-cpu data,
 * no kernel stack.  So while on the monitor's CR3 this code makes no calls
 * and takes no locks; it only jumps within the bt86_monitor_text range that
 * world.c maps.
 *
 * Entering the monitor (bt86_world_enter, %rdi = the area):
 *
 *  1. Push the callee-saved registers and RFLAGS on the Linux stack and park
 *     %rsp in the area: this is the only Linux stack state the exit path
 *     needs.
 *  2. Save the host's CR0, CR3, CR4, DR7, EFER, SYSENTER_CS, FS/GS bases,
 *     the data segment selectors, GDTR, IDTR, TR and LDTR.
 *  3. Load the monitor GDT.  It is a copy of this CPU's Linux GDT (world.c
 *     copies it with interrupts off), so the kernel CS/SS selectors we run
 *     on, and the per-CPU CPUNODE descriptor Linux's NMI entry reads, stay
 *     valid should an NMI arrive before the IDT switch.  The copy differs
 *     in: the TSS slot (ours), no LDT or TLS descriptors, and no 64-bit
 *     ring-3 code segment while 32-bit guest code runs.
 *  4. Load the monitor IDT *before* anything Linux's NMI handler relies on
 *     changes (GS base, CR3, TR).  From here on an NMI enters the monitor's
 *     NMI stub, which only sets a flag (see below).  This ordering is what
 *     keeps Linux's NMI handler from ever running on the monitor's page
 *     tables (which under PTI would not even map its entry trampoline).
 *  5. Load TR with the monitor TSS (RSP0 = area ring-0 stack, IST1 = NMI
 *     stack, IST2 = #DF/#MC stack, no I/O bitmap so every in/out from ring
 *     3 faults) and a null LDTR.
 *  6. Close the doors into the host kernel: EFER.SCE off (syscall -> #UD),
 *     SYSENTER_CS = 0 (sysenter -> #GP), DR7 = 0 (no host breakpoints fire
 *     on guest addresses).  int $n from ring 3 meets DPL-0 gates (-> #GP)
 *     except int3.
 *  7. CR0 gets TS set, so guest x87/SSE/AVX use traps (#NM) instead of
 *     clobbering the FPU registers of the user process we run on behalf of.
 *     The exception is a hostmap vcpu (W_GUEST_FPU set): world.c has done
 *     kernel_fpu_begin() and loaded the guest's FXSAVE image, so TS is
 *     cleared and translated code uses x87/SSE directly; world.c saves the
 *     image again after the switch back.
 *     CR4 loses FSGSBASE and PKE (the guest must not wrgsbase/wrpkru); it is
 *     written with a plain mov: native_write_cr4() would pin those bits
 *     back on.  SMEP/SMAP/UMIP/LA57/PCIDE stay as Linux set them: monitor
 *     pages are supervisor, guest pages user, and the monitor never touches
 *     guest pages from ring 0.
 *  8. Load the monitor CR3.  Its PCID field is 0 and bit 63 clear, so the
 *     write flushes whatever an earlier monitor left under PCID 0, which
 *     Linux itself never uses.
 *  9. Switch to the area's ring-0 stack, bail out if an NMI arrived while we
 *     were switching (so it is not delayed by a whole guest time slice),
 *     load the guest data selectors, build an iret frame from the guest
 *     state (RFLAGS always has IF=1, IOPL=0: host interrupts keep arriving
 *     and cli/sti/in/out/hlt fault), load the guest registers and iretq to
 *     ring 3.
 *
 * Coming back (any trap or interrupt through the monitor IDT):
 *
 * 10. One 16-byte stub per vector pushes its vector number and jumps to
 *     bt86_trap_common, which finds the area from %rsp (the RSP0 and IST
 *     stacks live in the area, which is aligned to its size), stores the
 *     guest registers, vector, error code (present for 8, 10-14, 17, 21,
 *     29, 30), CR2 and the iret frame.
 * 11. Undo steps 7..3 in reverse, each on a world where it is legal: host
 *     CR0/CR4/DR7/EFER/SYSENTER_CS, host CR3, Linux's writable GDT alias
 *     (the GDTR Linux normally runs on is a read-only mapping, and ltr
 *     writes the busy bit), host segment selectors then FS/GS bases
 *     (loading a selector clobbers the base, and the GS base is Linux's
 *     per-CPU pointer), host TR (after clearing the busy bit the CPU set in
 *     Linux's TSS descriptor when Linux loaded it: ltr refuses a busy TSS),
 *     host LDTR, Linux's read-only GDTR, and the host IDT last of all.
 * 12. Back on the Linux stack: pop RFLAGS (interrupts still off) and the
 *     callee-saved registers and return.  The C caller then re-raises on
 *     the Linux side what the monitor took on its behalf: an external
 *     interrupt is delivered by calling the Linux IDT entry for that vector
 *     with a hand-built interrupt frame (bt86_host_irq below), so the
 *     handler sees exactly what the CPU would have given it and sends the
 *     EOI itself.  A self-IPI would not do: the interrupt is already in
 *     service in the local APIC and a second copy would never be EOIed.
 *     NMIs are re-raised with int $2, which goes through Linux's NMI IST
 *     gate like a real NMI.
 *
 * NMIs at ring 0 inside the switch: the monitor's NMI stub checks the saved
 * CS.  From the guest (ring 3) an NMI is an exit like any other.  From ring
 * 0 -- somewhere in steps 4..11 -- it must not disturb the switch, so it
 * finds the area through SIDT (the IDT that delivered it is the area's),
 * sets W_NMI_PENDING and returns with iretq; world.c re-raises it.  The
 * stack it runs on is IST1 of whichever TSS TR names: Linux's NMI stack
 * between steps 4 and 5 and again between the host ltr and lidt of step 11
 * (both times on Linux's CR3, which maps it), the area's own NMI stack in
 * between (mapped in both worlds).
 */

#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/unwind_hints.h>
#include <asm/nospec-branch.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/segment.h>
#include "bt86_world.h"

/* Vectors for which the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30. */
#define BT86_ERRCODE_VECTORS	0x60227d00

	.text

/* Start of the code world.c maps into the monitor's page tables. */
	.balign 4096
	.globl	bt86_monitor_text_start
bt86_monitor_text_start:

/*
 * void bt86_world_enter(struct bt86_world *w)
 * Interrupts must be off.  Returns when the guest trapped or was interrupted;
 * the reason is in the area (W_EXIT_VECTOR and friends).
 */
SYM_FUNC_START(bt86_world_enter)
	/* Step 1: Linux's callee-saved state stays on the Linux stack. */
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	movq	%rdi, %rbx
	movq	%rsp, W_HOST_RSP(%rbx)

	/* Step 2: the host context. */
	movq	%cr0, %rax
	movq	%rax, W_HOST_CR0(%rbx)
	movq	%cr3, %rax
	movq	%rax, W_HOST_CR3(%rbx)
	movq	%cr4, %rax
	movq	%rax, W_HOST_CR4(%rbx)
	movq	%dr7, %rax
	movq	%rax, W_HOST_DR7(%rbx)

	movl	$MSR_EFER, %ecx
	rdmsr
	movl	%eax, W_HOST_EFER(%rbx)
	movl	%edx, W_HOST_EFER+4(%rbx)
	movl	$MSR_IA32_SYSENTER_CS, %ecx
	rdmsr
	movl	%eax, W_HOST_SYSENTER_CS(%rbx)
	movl	%edx, W_HOST_SYSENTER_CS+4(%rbx)
	movl	$MSR_FS_BASE, %ecx
	rdmsr
	movl	%eax, W_HOST_FS_BASE(%rbx)
	movl	%edx, W_HOST_FS_BASE+4(%rbx)
	movl	$MSR_GS_BASE, %ecx
	rdmsr
	movl	%eax, W_HOST_GS_BASE(%rbx)
	movl	%edx, W_HOST_GS_BASE+4(%rbx)

	movw	%ds, W_HOST_DS(%rbx)
	movw	%es, W_HOST_ES(%rbx)
	movw	%fs, W_HOST_FS(%rbx)
	movw	%gs, W_HOST_GS(%rbx)
	movw	%ss, W_HOST_SS(%rbx)
	str	W_HOST_TR(%rbx)
	sldt	W_HOST_LDT(%rbx)
	sgdt	W_HOST_GDTR(%rbx)
	sidt	W_HOST_IDTR(%rbx)

	/* Step 3: monitor GDT (a patched copy of this CPU's). */
	lgdt	W_MON_GDTR(%rbx)
	/* Step 4: monitor IDT; NMIs now reach bt86_nmi_stub. */
	lidt	W_MON_IDTR(%rbx)
	/* Step 5: monitor TSS, no LDT. */
	movw	$BT86_SEL_TSS, %ax
	ltr	%ax
	xorl	%eax, %eax
	lldt	%ax

	/* Step 6: no syscall, sysenter or host breakpoints in the monitor world. */
	movl	$MSR_EFER, %ecx
	movl	W_HOST_EFER(%rbx), %eax
	movl	W_HOST_EFER+4(%rbx), %edx
	andl	$~EFER_SCE, %eax
	wrmsr
	movl	$MSR_IA32_SYSENTER_CS, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	wrmsr
	movq	%rax, %dr7

	/*
	 * Step 7: CR0.TS on, unless world.c loaded the guest's FPU state
	 * (W_GUEST_FPU); CR4 without FSGSBASE and PKE, written directly.
	 */
	movq	W_HOST_CR0(%rbx), %rax
	orq	$X86_CR0_TS, %rax
	cmpq	$0, W_GUEST_FPU(%rbx)
	je	1f
	andq	$~X86_CR0_TS, %rax
1:	movq	%rax, %cr0
	movq	W_HOST_CR4(%rbx), %rax
	andq	$~(X86_CR4_FSGSBASE | X86_CR4_PKE), %rax
	movq	%rax, %cr4

	/* Step 8: the monitor's address space. */
	movq	W_MON_CR3(%rbx), %rax
	movq	%rax, %cr3

	/* Step 9: ring-0 stack, guest segments, iret frame, guest registers. */
	leaq	BT86_AREA_STACK_TOP(%rbx), %rsp
	cmpq	$0, W_NMI_PENDING(%rbx)
	jne	bt86_nmi_bail

	movl	W_GUEST_DS(%rbx), %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs

	pushq	W_GUEST_SS(%rbx)
	pushq	W_GPR_RSP(%rbx)
	pushq	W_GUEST_RFLAGS(%rbx)
	pushq	W_GUEST_CS(%rbx)
	pushq	W_GUEST_RIP(%rbx)

	movq	W_GPR_RAX(%rbx), %rax
	movq	W_GPR_RCX(%rbx), %rcx
	movq	W_GPR_RDX(%rbx), %rdx
	movq	W_GPR_RBP(%rbx), %rbp
	movq	W_GPR_RSI(%rbx), %rsi
	movq	W_GPR_RDI(%rbx), %rdi
	movq	W_GPR_R8(%rbx), %r8
	movq	W_GPR_R9(%rbx), %r9
	movq	W_GPR_R10(%rbx), %r10
	movq	W_GPR_R11(%rbx), %r11
	movq	W_GPR_R12(%rbx), %r12
	movq	W_GPR_R13(%rbx), %r13
	movq	W_GPR_R14(%rbx), %r14
	movq	W_GPR_R15(%rbx), %r15
	movq	W_GPR_RBX(%rbx), %rbx
	iretq
	int3
SYM_FUNC_END(bt86_world_enter)
/* It leaves on another stack and "returns" from bt86_exit_to_host. */
STACK_FRAME_NON_STANDARD bt86_world_enter

/* An NMI arrived during step 3..9: leave before running the guest. */
SYM_CODE_START_LOCAL(bt86_nmi_bail)
	UNWIND_HINT_EMPTY
	movq	$2, W_EXIT_VECTOR(%rbx)
	movq	$0, W_EXIT_ERROR(%rbx)
	jmp	bt86_exit_to_host
SYM_CODE_END(bt86_nmi_bail)

/*
 * Step 10: the 256 vector stubs, 16 bytes apart (world.c points gate n at
 * bt86_vectors + 16 * n; gate 2 goes to bt86_nmi_stub instead).  The CPU
 * does not tell a handler which vector it came through, so each entry
 * pushes its own number; the assembler loop writes the 256 copies.
 */
	.balign 16
SYM_CODE_START_NOALIGN(bt86_vectors)
	vector = 0
	.rept 256
	UNWIND_HINT_EMPTY
	pushq	$vector
	jmp	bt86_trap_common
	.balign 16, 0xcc
	vector = vector + 1
	.endr
SYM_CODE_END(bt86_vectors)

SYM_CODE_START(bt86_nmi_stub)
	UNWIND_HINT_EMPTY
	testb	$3, 8(%rsp)		/* RPL of the interrupted CS */
	jnz	1f
	/* Ring 0, inside the switch: note it, and let the switch finish. */
	pushq	%rax
	subq	$16, %rsp
	sidt	6(%rsp)			/* base lands 8-byte aligned at 8(%rsp) */
	movq	8(%rsp), %rax
	addq	$16, %rsp
	movq	$1, (W_NMI_PENDING - BT86_AREA_IDT)(%rax)
	popq	%rax
	iretq
1:	pushq	$2
	jmp	bt86_trap_common
SYM_CODE_END(bt86_nmi_stub)

/* Stack: vector, [error code], rip, cs, rflags, rsp, ss. */
SYM_CODE_START(bt86_trap_common)
	UNWIND_HINT_EMPTY
	pushq	%rbx
	movq	%rsp, %rbx
	andq	$~(BT86_AREA_SIZE - 1), %rbx
	movq	%rax, W_GPR_RAX(%rbx)
	movq	%rcx, W_GPR_RCX(%rbx)
	movq	%rdx, W_GPR_RDX(%rbx)
	movq	%rbp, W_GPR_RBP(%rbx)
	movq	%rsi, W_GPR_RSI(%rbx)
	movq	%rdi, W_GPR_RDI(%rbx)
	movq	%r8, W_GPR_R8(%rbx)
	movq	%r9, W_GPR_R9(%rbx)
	movq	%r10, W_GPR_R10(%rbx)
	movq	%r11, W_GPR_R11(%rbx)
	movq	%r12, W_GPR_R12(%rbx)
	movq	%r13, W_GPR_R13(%rbx)
	movq	%r14, W_GPR_R14(%rbx)
	movq	%r15, W_GPR_R15(%rbx)
	popq	W_GPR_RBX(%rbx)
	popq	%rax			/* vector */
	movq	%rax, W_EXIT_VECTOR(%rbx)
	xorl	%edx, %edx
	cmpq	$32, %rax
	jae	1f
	movl	$BT86_ERRCODE_VECTORS, %ecx
	btl	%eax, %ecx
	jnc	1f
	popq	%rdx			/* error code */
1:	movq	%rdx, W_EXIT_ERROR(%rbx)
	movq	%cr2, %rax
	movq	%rax, W_EXIT_CR2(%rbx)
	popq	W_GUEST_RIP(%rbx)
	popq	W_GUEST_CS(%rbx)
	popq	W_GUEST_RFLAGS(%rbx)
	popq	W_GPR_RSP(%rbx)
	popq	W_GUEST_SS(%rbx)
	jmp	bt86_exit_to_host
SYM_CODE_END(bt86_trap_common)

/* Steps 11 and 12; %rbx = the area. */
SYM_CODE_START_LOCAL(bt86_exit_to_host)
	UNWIND_HINT_EMPTY
	movq	W_HOST_CR0(%rbx), %rax
	movq	%rax, %cr0
	movq	W_HOST_CR4(%rbx), %rax
	movq	%rax, %cr4
	movq	W_HOST_DR7(%rbx), %rax
	movq	%rax, %dr7
	movl	$MSR_EFER, %ecx
	movl	W_HOST_EFER(%rbx), %eax
	movl	W_HOST_EFER+4(%rbx), %edx
	wrmsr
	movl	$MSR_IA32_SYSENTER_CS, %ecx
	movl	W_HOST_SYSENTER_CS(%rbx), %eax
	movl	W_HOST_SYSENTER_CS+4(%rbx), %edx
	wrmsr

	movq	W_HOST_CR3(%rbx), %rax
	movq	%rax, %cr3
	lgdt	W_HOST_GDTR_RW(%rbx)

	movw	W_HOST_DS(%rbx), %ds
	movw	W_HOST_ES(%rbx), %es
	movw	W_HOST_FS(%rbx), %fs
	movw	W_HOST_GS(%rbx), %gs
	movw	W_HOST_SS(%rbx), %ss
	movl	$MSR_FS_BASE, %ecx
	movl	W_HOST_FS_BASE(%rbx), %eax
	movl	W_HOST_FS_BASE+4(%rbx), %edx
	wrmsr
	movl	$MSR_GS_BASE, %ecx
	movl	W_HOST_GS_BASE(%rbx), %eax
	movl	W_HOST_GS_BASE+4(%rbx), %edx
	wrmsr

	movq	W_HOST_TSS_DESC(%rbx), %rax
	andb	$~0x02, 5(%rax)		/* descriptor type 0xb (busy TSS) -> 0x9 */
	ltr	W_HOST_TR(%rbx)
	lldt	W_HOST_LDT(%rbx)
	lgdt	W_HOST_GDTR(%rbx)	/* back to the read-only alias */
	lidt	W_HOST_IDTR(%rbx)

	movq	W_HOST_RSP(%rbx), %rsp
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	RET
SYM_CODE_END(bt86_exit_to_host)

/* End of the monitor-mapped code. */
	.globl	bt86_monitor_text_end
bt86_monitor_text_end:

/*
 * void bt86_host_irq(unsigned long entry)
 * Called on the Linux side with interrupts off: run Linux's IDT entry point
 * for a vector as if the CPU had delivered the interrupt here.  In 64-bit
 * mode the CPU aligns the stack to 16 bytes and pushes SS, RSP, RFLAGS, CS
 * and RIP; the call supplies RIP, the handler's iretq consumes the frame and
 * lands after the call with %rsp = %rbp.
 */
SYM_FUNC_START(bt86_host_irq)
	pushq	%rbp
	movq	%rsp, %rbp
	andq	$-16, %rsp
	pushq	$__KERNEL_DS
	pushq	%rbp
	pushfq
	pushq	$__KERNEL_CS
	CALL_NOSPEC rdi
	leave
	RET
SYM_FUNC_END(bt86_host_irq)
