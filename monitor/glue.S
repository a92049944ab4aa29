/*
 * glue.S - entering and leaving the translation cache (uworld).
 *
 * tc_enter(struct bt_cpu *cpu, void *code) saves the host's callee-saved
 * registers, loads the guest registers, flags and x87/SSE state from cpu
 * and jumps to translated code with r13 = cpu and r15 = the view base.
 * Translated code leaves through tc_exit (an exit stub put its struct
 * tc_exit * in r11) or tc_ibl_miss (r11d = guest target EIP); the signal
 * handler leaves through tc_fault_exit after rewriting the context.  All
 * three store the guest state back and return from tc_enter.
 *
 * The host stack pointer is never a guest value (the guest's ESP is r12),
 * so nothing here has to switch stacks.
 *
 * The guest's x87/SSE state is switched lazily: entering the TC leaves the
 * host's state in place; the first x87/SSE instruction of a block checks
 * fpu_loaded and calls tc_fpu_load, which loads the guest's image; leaving
 * saves it and puts back a clean host image (the monitor's C code and libc
 * use SSE and must not run with the guest's MXCSR) only if it was loaded.
 * Most exits - port I/O, callouts in kernel code - touch no FPU state.
 */
	.set	BTC_GPR,	0x00
	.set	BTC_HFLAGS,	0x20
	.set	BTC_HOST_RSP,	0x28
	.set	BTC_VIEW,	0x30
	.set	BTC_EXIT_REC,	0x38
	.set	BTC_EXIT_EIP,	0x58
	.set	BTC_FX_GUEST,	0x60
	.set	BTC_FX_HOST,	0x260
	.set	BTC_FPU_LOADED,	0x461
	.set	BTC_ENTER_FLAGS, 0x0ed7		/* CF PF AF ZF SF DF OF, bit 1, IF */

	.text
	.globl	tc_enter
	.type	tc_enter, @function
tc_enter:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	sub	$8, %rsp			/* keep the host stack 16-byte aligned */
	mov	%rsp, BTC_HOST_RSP(%rdi)
	mov	%rdi, %r13
	mov	%rsi, %r11
	mov	BTC_VIEW(%r13), %r15
	movb	$0, BTC_FPU_LOADED(%r13)
	/*
	 * Only the flags translated code keeps in RFLAGS go in.  hflags comes
	 * from pushfq at the last exit, and qemu's TCG (7.2) has been seen to
	 * push junk in bits RFLAGS does not have after cmpxchg8b, TF among
	 * them: popfq would then single-step the next instruction.
	 */
	mov	BTC_HFLAGS(%r13), %rax
	and	$BTC_ENTER_FLAGS, %eax
	push	%rax
	popfq
	mov	BTC_GPR+0(%r13), %eax
	mov	BTC_GPR+4(%r13), %ecx
	mov	BTC_GPR+8(%r13), %edx
	mov	BTC_GPR+12(%r13), %ebx
	mov	BTC_GPR+16(%r13), %r12d
	mov	BTC_GPR+20(%r13), %ebp
	mov	BTC_GPR+24(%r13), %esi
	mov	BTC_GPR+28(%r13), %edi
	jmp	*%r11
	.size	tc_enter, .-tc_enter

	.globl	tc_exit
	.type	tc_exit, @function
tc_exit:
	mov	%r11, BTC_EXIT_REC(%r13)
	jmp	tc_save
	.size	tc_exit, .-tc_exit

	.globl	tc_ibl_miss
	.type	tc_ibl_miss, @function
tc_ibl_miss:
	mov	%r11d, BTC_EXIT_EIP(%r13)
	movq	$0, BTC_EXIT_REC(%r13)
	jmp	tc_save
	.size	tc_ibl_miss, .-tc_ibl_miss

	/* The signal handler already filled exit_rec; r13 is still the vCPU. */
	.globl	tc_fault_exit
	.type	tc_fault_exit, @function
tc_fault_exit:
tc_save:
	mov	%eax, BTC_GPR+0(%r13)
	mov	%ecx, BTC_GPR+4(%r13)
	mov	%edx, BTC_GPR+8(%r13)
	mov	%ebx, BTC_GPR+12(%r13)
	mov	%r12d, BTC_GPR+16(%r13)
	mov	%ebp, BTC_GPR+20(%r13)
	mov	%esi, BTC_GPR+24(%r13)
	mov	%edi, BTC_GPR+28(%r13)
	mov	BTC_HOST_RSP(%r13), %rsp
	pushfq
	popq	BTC_HFLAGS(%r13)
	cld					/* the C ABI wants DF clear */
	cmpb	$0, BTC_FPU_LOADED(%r13)
	je	1f
	fxsave64 BTC_FX_GUEST(%r13)
	fxrstor64 BTC_FX_HOST(%r13)
	movb	$0, BTC_FPU_LOADED(%r13)
1:	add	$8, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size	tc_fault_exit, .-tc_fault_exit

	/* Called from a block's first x87/SSE instruction; flags untouched. */
	.globl	tc_fpu_load
	.type	tc_fpu_load, @function
tc_fpu_load:
	fxrstor64 BTC_FX_GUEST(%r13)
	movb	$1, BTC_FPU_LOADED(%r13)
	ret
	.size	tc_fpu_load, .-tc_fpu_load

	.section .note.GNU-stack,"",@progbits
