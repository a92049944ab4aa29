/* payloads.S: raw ring-3 guest payloads the kmod tests copy into guest RAM. */

/*
 * Each payload is position independent: the tests copy it to guest
 * physical (== linear) address 0x1000 and enter it there.  Symbols come in
 * pairs NAME / NAME_end.  Addresses such as 0x40000000 are deliberately
 * outside the test's guest RAM (the first MiB).
 */

	.section .rodata, "a"

	.code32
	.globl	p32_io, p32_io_end
p32_io:
	movl	$0x12345678, %eax
	outl	%eax, $0x80		/* out 4 bytes to 0x80 */
	movw	$0x3f8, %dx
	movb	$0x41, %al
	outb	%al, %dx		/* out 1 byte to 0x3f8 */
	movw	$0xbeef, %ax
	outw	%ax, %dx		/* out 2 bytes to 0x3f8 */
	inb	$0x60, %al		/* in 1 byte from 0x60 */
	outb	%al, $0x81		/* echo it to 0x81 */
	inl	%dx, %eax		/* in 4 bytes from 0x3f8 */
	outl	%eax, $0x82		/* echo it to 0x82 */
	hlt
	ud2
p32_io_end:

	.globl	p32_int3, p32_int3_end
p32_int3:
	int3
	hlt
p32_int3_end:

	.globl	p32_int80, p32_int80_end
p32_int80:
	int	$0x80			/* a DPL-0 gate: #GP, error code 0x80 * 8 + 2 */
p32_int80_end:

	.globl	p32_cli, p32_cli_end
p32_cli:
	cli				/* IOPL 0: #GP(0), not an I/O exit */
p32_cli_end:

	.globl	p32_pf_write, p32_pf_write_end
p32_pf_write:
	movl	$1, 0x40000000
p32_pf_write_end:

	.globl	p32_pf_read, p32_pf_read_end
p32_pf_read:
	movl	0x40001000, %eax
p32_pf_read_end:

	.globl	p32_ud, p32_ud_end
p32_ud:
	ud2
p32_ud_end:

	.globl	p32_de, p32_de_end
p32_de:
	xorl	%ecx, %ecx
	divl	%ecx
p32_de_end:

	.globl	p32_syscall, p32_syscall_end
p32_syscall:
	syscall				/* EFER.SCE is off in the monitor: #UD */
p32_syscall_end:

	.globl	p32_sysenter, p32_sysenter_end
p32_sysenter:
	sysenter			/* SYSENTER_CS is 0: #GP (Intel) or #UD (AMD) */
p32_sysenter_end:

	.globl	p32_ljmp64, p32_ljmp64_end
p32_ljmp64:
	ljmp	$0x33, $0x1000		/* no 64-bit ring-3 code segment: #GP(0x30) */
p32_ljmp64_end:

	.globl	p32_fpu, p32_fpu_end
p32_fpu:
	fldz				/* CR0.TS is set in the monitor: #NM */
p32_fpu_end:

	.globl	p32_stack, p32_stack_end
p32_stack:
	pushl	$0x1234abcd
	popl	%eax
	addl	%ebx, %eax
	hlt
p32_stack_end:

	.globl	p32_loop, p32_loop_end
p32_loop:
1:	jmp	1b
p32_loop_end:

	.globl	p32_count, p32_count_end
p32_count:
1:	incl	%ebx
	outl	%eax, $0x80
	jmp	1b
p32_count_end:

	.code64
	.globl	p64_io, p64_io_end
p64_io:
	movl	$0x87654321, %eax
	outl	%eax, $0x80
	movabsq	$0x123456789abcdef0, %rbx
	movq	%rbx, %r15
	hlt
p64_io_end:

	.globl	p64_int3, p64_int3_end
p64_int3:
	int3
p64_int3_end:

	.globl	p64_int80, p64_int80_end
p64_int80:
	int	$0x80
p64_int80_end:

	.globl	p64_pf_write, p64_pf_write_end
p64_pf_write:
	movq	$1, 0x40000000
p64_pf_write_end:

	.globl	p64_kernel, p64_kernel_end
p64_kernel:
	movabsq	0xffffffff81000000, %rax	/* kernel text is not in the monitor's tables */
p64_kernel_end:

	.globl	p64_ud, p64_ud_end
p64_ud:
	ud2
p64_ud_end:

	.globl	p64_syscall, p64_syscall_end
p64_syscall:
	syscall
p64_syscall_end:

	.globl	p64_wrgsbase, p64_wrgsbase_end
p64_wrgsbase:
	wrgsbase %rax			/* CR4.FSGSBASE is off in the monitor: #UD */
p64_wrgsbase_end:

	.globl	p64_to32, p64_to32_end
p64_to32:
	/*
	 * Far jump to the 32-bit code segment: a mode switch the monitor
	 * sees.  Not lretq: qemu 7.2's TCG pops far-return frames with
	 * supervisor accesses, which SMAP refuses on a user stack.
	 */
	leaq	2f(%rip), %rax
	ljmpl	*(%rax)
2:	.long	0x1000 + (1f - p64_to32)
	.word	0x23
	.code32
1:	hlt
	.code64
p64_to32_end:

/*
 * Host-mirror (API v2) payloads: 64-bit, copied by the tests into an
 * mmap'd page of their own (>= 4 GiB, registered with BT86_SET_EXEC) and
 * run on the test process's own memory through the monitor's mirror.
 */
	.globl	h64_rw, h64_rw_end
h64_rw:
	movq	(%rdi), %rax		/* read the buffer */
	addq	$1, %rax
	movq	%rax, 8(%rdi)		/* write the same page */
	movq	%rax, (%rsi)		/* and another buffer */
	pushq	%rax			/* the stack is mirrored too */
	popq	%rbx
	int3
h64_rw_end:

	.globl	h64_store, h64_store_end
h64_store:
	movq	%rdx, (%rdi)
	int3
h64_store_end:

	.globl	h64_load, h64_load_end
h64_load:
	movq	(%rdi), %rax
	int3
h64_load_end:

	.globl	h64_jmp, h64_jmp_end
h64_jmp:
	jmp	*%rdi
h64_jmp_end:

	.globl	h64_sse_load, h64_sse_load_end
h64_sse_load:
	movdqu	(%rdi), %xmm0
	int3
h64_sse_load_end:

	.globl	h64_sse_store, h64_sse_store_end
h64_sse_store:
	movdqu	%xmm0, (%rsi)
	movdqu	%xmm1, 16(%rsi)
	int3
h64_sse_store_end:

	.globl	h64_touch, h64_touch_end
h64_touch:				/* read one word of each of %rcx pages */
1:	movq	(%rdi), %rax
	addq	$4096, %rdi
	decq	%rcx
	jnz	1b
	int3
h64_touch_end:

	.globl	h64_int3_loop, h64_int3_loop_end
h64_int3_loop:				/* every BT86_RUN: one int3 exit */
1:	int3
	jmp	1b
h64_int3_loop_end:

	.globl	h64_spin, h64_spin_end
h64_spin:
1:	jmp	1b
h64_spin_end:

/* ktraces: a 32-bit page-table write, then a load through the view. */
	.globl	h64_store32_load, h64_store32_load_end
h64_store32_load:
	movl	%edx, (%rdi)
	movq	(%rsi), %rax
	int3
h64_store32_load_end:

	.globl	h64_pte_loop, h64_pte_loop_end
h64_pte_loop:				/* %rcx writes to (%rdi), alternating %edx bit 12 */
1:	movl	%edx, (%rdi)
	xorl	$0x1000, %edx
	decq	%rcx
	jnz	1b
	int3
h64_pte_loop_end:

	.globl	h64_tf, h64_tf_end
h64_tf:					/* the guest's own TF: #DB after the nop */
	pushfq
	orq	$0x100, (%rsp)
	popfq
	nop
	int3
h64_tf_end:

	.section .note.GNU-stack, "", @progbits
