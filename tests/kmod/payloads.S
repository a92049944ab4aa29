/* payloads.S: raw ring-3 guest payloads the kmod tests copy into guest RAM. */

/*
 * Each payload is position independent: the tests copy it to guest
 * physical (== linear) address 0x1000 and enter it there.  Symbols come in
 * pairs NAME / NAME_end.  Addresses such as 0x40000000 are deliberately
 * outside the test's guest RAM (the first MiB).
 */

#define PAYLOAD(name)	.globl name, name##_end; name:
#define END(name)	name##_end:

	.section .rodata, "a"

	.code32
PAYLOAD(p32_io)
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
END(p32_io)

PAYLOAD(p32_int3)
	int3
	hlt
END(p32_int3)

PAYLOAD(p32_int80)
	int	$0x80			/* a DPL-0 gate: #GP, error code 0x80 * 8 + 2 */
END(p32_int80)

PAYLOAD(p32_cli)
	cli				/* IOPL 0: #GP(0), not an I/O exit */
END(p32_cli)

PAYLOAD(p32_pf_write)
	movl	$1, 0x40000000
END(p32_pf_write)

PAYLOAD(p32_pf_read)
	movl	0x40001000, %eax
END(p32_pf_read)

PAYLOAD(p32_ud)
	ud2
END(p32_ud)

PAYLOAD(p32_de)
	xorl	%ecx, %ecx
	divl	%ecx
END(p32_de)

PAYLOAD(p32_syscall)
	syscall				/* EFER.SCE is off in the monitor: #UD */
END(p32_syscall)

PAYLOAD(p32_sysenter)
	sysenter			/* SYSENTER_CS is 0: #GP (Intel) or #UD (AMD) */
END(p32_sysenter)

PAYLOAD(p32_ljmp64)
	ljmp	$0x33, $0x1000		/* no 64-bit ring-3 code segment: #GP(0x30) */
END(p32_ljmp64)

PAYLOAD(p32_fpu)
	fldz				/* CR0.TS is set in the monitor: #NM */
END(p32_fpu)

PAYLOAD(p32_stack)
	pushl	$0x1234abcd
	popl	%eax
	addl	%ebx, %eax
	hlt
END(p32_stack)

PAYLOAD(p32_loop)
1:	jmp	1b
END(p32_loop)

PAYLOAD(p32_count)
1:	incl	%ebx
	outl	%eax, $0x80
	jmp	1b
END(p32_count)

	.code64
PAYLOAD(p64_io)
	movl	$0x87654321, %eax
	outl	%eax, $0x80
	movabsq	$0x123456789abcdef0, %rbx
	movq	%rbx, %r15
	hlt
END(p64_io)

PAYLOAD(p64_int3)
	int3
END(p64_int3)

PAYLOAD(p64_int80)
	int	$0x80
END(p64_int80)

PAYLOAD(p64_pf_write)
	movq	$1, 0x40000000
END(p64_pf_write)

PAYLOAD(p64_kernel)
	movabsq	0xffffffff81000000, %rax	/* kernel text is not in the monitor's tables */
END(p64_kernel)

PAYLOAD(p64_ud)
	ud2
END(p64_ud)

PAYLOAD(p64_syscall)
	syscall
END(p64_syscall)

PAYLOAD(p64_wrgsbase)
	wrgsbase %rax			/* CR4.FSGSBASE is off in the monitor: #UD */
END(p64_wrgsbase)

PAYLOAD(p64_to32)
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
END(p64_to32)

	.section .note.GNU-stack, "", @progbits
