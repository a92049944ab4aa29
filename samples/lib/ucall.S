/* Guest runtime: user_call(), a round trip from CPL 0 to a function at CPL 3 and back. */

#define SEL_KDATA	0x10	/* desc.h */
#define SEL_UCODE	0x1b
#define SEL_UDATA	0x23
#define EFLAGS_FIXED	0x2	/* bit 1 always reads 1 */
#define USER_RETURN_VEC	0xfe	/* user.h */
#define IDT_INTR32	0x8e	/* desc.h */

	.text
	/* uint32_t user_call(uint32_t (*fn)(void), void *stack_top, uint32_t eflags) */
	.globl	user_call
	.type	user_call, @function
user_call:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	/* The way back: a DPL 3 gate so CPL 3 may use it. */
	pushl	$3
	pushl	$IDT_INTR32
	pushl	$user_back
	pushl	$USER_RETURN_VEC
	call	idt_set_gate
	addl	$16, %esp
	pushfl
	movl	%esp, user_ksp
	/* 5 saved words + return address above %esp. */
	movl	24(%esp), %ecx		/* fn */
	movl	28(%esp), %edx		/* stack_top */
	movl	32(%esp), %eax		/* eflags */
	orl	$EFLAGS_FIXED, %eax
	/* fn returns into user_ret, still at CPL 3. */
	subl	$4, %edx
	movl	$user_ret, (%edx)
	pushl	$SEL_UDATA		/* ss */
	pushl	%edx			/* esp */
	pushl	%eax			/* eflags */
	pushl	$SEL_UCODE		/* cs */
	pushl	%ecx			/* eip */
	movw	$SEL_UDATA, %si
	movw	%si, %ds
	movw	%si, %es
	movw	%si, %fs
	movw	%si, %gs
	iret
	.size	user_call, . - user_call

	/* CPL 3: fn's value is in %eax. */
user_ret:
	int	$USER_RETURN_VEC
	ud2			/* never comes back here */

	/*
	 * CPL 0 on the TSS esp0 stack: drop that frame (the next trap from
	 * CPL 3 starts at esp0 again) and return from user_call.
	 */
user_back:
	movw	$SEL_KDATA, %cx
	movw	%cx, %ds
	movw	%cx, %es
	movw	%cx, %fs
	movw	%cx, %gs
	movl	user_ksp, %esp
	popfl
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret

	.bss
	.balign	4
user_ksp:
	.long	0

	.section .note.GNU-stack, "", @progbits
