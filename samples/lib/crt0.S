/* Guest runtime entry: Multiboot v1 header, boot stack, calls rt_init, main and report_finish. */

#define MB_HEADER_MAGIC	0x1badb002	/* Multiboot v1 header magic */
#define MB_PAGE_ALIGN	(1 << 0)	/* align modules on 4 KiB */
#define MB_MEMORY_INFO	(1 << 1)	/* want mem_lower/mem_upper (and mmap) */
#define MB_FLAGS	(MB_PAGE_ALIGN | MB_MEMORY_INFO)

	/*
	 * The header must sit in the first 8 KiB of the file, 4-byte aligned;
	 * link.ld puts .multiboot first.  No address fields (flag 16 clear):
	 * loaders take the layout from the ELF program headers.
	 */
	.section .multiboot, "a"
	.balign 4
mb_header:
	.long	MB_HEADER_MAGIC
	.long	MB_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_FLAGS)

	.text
	.globl	_start
	.type	_start, @function
_start:
	/* Multiboot: %eax = magic, %ebx = info; no stack, GDTR unspecified. */
	cli
	cld
	movl	$__stack_top, %esp
	xorl	%ebp, %ebp
	movl	%eax, mb_magic
	movl	%ebx, mb_info_addr

	/* Clear .bss ourselves: not every loader zeroes memsz beyond filesz. */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	/* Clean EFLAGS: IF, DF, NT, AC clear; IOPL 0. */
	pushl	$2
	popfl

	call	rt_init
	call	main
	pushl	%eax
	call	report_finish
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

	.data
	.balign 4
	.globl	mb_magic, mb_info_addr
mb_magic:
	.long	0
mb_info_addr:
	.long	0

	.section .stack, "aw", @nobits
	.balign 16
	.globl	__stack_bottom
__stack_bottom:
	.skip	16384

	/* No executable stack wanted. */
	.section .note.GNU-stack, "", @progbits
