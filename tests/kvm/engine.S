/*
 * engine.S: a Multiboot guest that shows what the CPU engine hands it, for comparing engines.
 *
 * The command line picks what it does:
 *   (empty)   print CPUID leaves, CR0, an unassigned-MMIO read, a rep insb
 *             from the UART scratch register and a TSC check on COM1, all
 *             with rep outsb, then write 0 to the exit port (status 1);
 *   triple    load an empty IDT and int3: #GP, #DF, shutdown (status 6);
 *   halt      cli; hlt (status 0: the VMM powers off).
 * tests/kvm/init.sh runs it under --engine=kvm and --engine=bt inside the
 * qemu VM; both must print the same lines and exit with the same status.
 */
	.code32

#define MB_MAGIC	0x1badb002	/* Multiboot v1 header magic */
#define MB_INFO_CMDLINE	0x4		/* info flags bit 2: cmdline valid */
#define COM1		0x3f8		/* THR: bytes go straight to the console */
#define COM1_SCR	0x3ff		/* scratch register: reads what was written */
#define EXIT_PORT	0xf4		/* isa-debug-exit: status (v << 1) | 1 */
#define UNASSIGNED	0xfeb00000	/* not RAM, no device: reads as all ones */

	.section .text
	.align 4
mb_header:				/* flags 0: the ELF program headers say where */
	.long MB_MAGIC
	.long 0
	.long -MB_MAGIC

	.globl _start
_start:
	movl	$stack_top, %esp
	cld
	/*
	 * Command line: the first letter of its last word is enough (QEMU
	 * passes just the arguments, some loaders put the kernel's name first).
	 */
	xorl	%eax, %eax
	testl	$MB_INFO_CMDLINE, (%ebx)
	jz	1f
	movl	16(%ebx), %esi
	movl	%esi, %edi		/* start of the last word so far */
6:	lodsb
	testb	%al, %al
	jz	7f
	cmpb	$' ', %al
	jne	6b
	movl	%esi, %edi
	jmp	6b
7:	movzbl	(%edi), %eax
1:	cmpb	$'t', %al
	je	triple
	cmpb	$'h', %al
	je	halt

	/* CPUID: the shared model, including out-of-range leaves. */
	movl	$leaves, %ebp
2:	movl	(%ebp), %eax
	cmpl	$0xffffffff, %eax
	je	3f
	movl	$s_cpuid, %esi
	call	puts
	call	puthex
	xorl	%ecx, %ecx
	cpuid
	pushl	%edx
	pushl	%ecx
	pushl	%ebx
	call	putsp_hex		/* eax */
	popl	%eax
	call	putsp_hex		/* ebx */
	popl	%eax
	call	putsp_hex		/* ecx */
	popl	%eax
	call	putsp_hex		/* edx */
	call	newline
	addl	$4, %ebp
	jmp	2b

	/* CR0 as the loader handed it over (ET reads as 1 on a P6). */
3:	movl	$s_cr0, %esi
	call	puts
	movl	%cr0, %eax
	call	puthex
	call	newline

	/* A load from a physical address nothing decodes. */
	movl	$s_mmio, %esi
	call	puts
	movl	UNASSIGNED, %eax
	call	puthex
	movl	$0x12345678, UNASSIGNED	/* dropped */
	movl	UNASSIGNED, %eax
	call	putsp_hex
	call	newline

	/* String input: one rep insb of four bytes from the scratch register. */
	movw	$COM1_SCR, %dx
	movb	$0x5a, %al
	outb	%al, %dx
	movl	$inbuf, %edi
	movl	$4, %ecx
	rep insb
	movl	$s_ins, %esi
	call	puts
	movl	inbuf, %eax
	call	puthex
	call	newline

	/* The TSC moves forward. */
	rdtsc
	movl	%eax, %esi
	movl	%edx, %edi
	movl	$100000, %ecx
4:	loop	4b
	rdtsc
	subl	%esi, %eax
	sbbl	%edi, %edx
	movl	$s_tsc_ok, %esi
	jnz	5f			/* high word moved: certainly forward */
	testl	%eax, %eax
	jnz	5f
	movl	$s_tsc_bad, %esi
5:	call	puts

	xorl	%eax, %eax
	outb	%al, $EXIT_PORT		/* status (0 << 1) | 1 */
	cli
	hlt

triple:
	lidt	idt_empty
	int3				/* no IDT: #GP, then #DF, then shutdown */
	hlt

halt:
	cli
	hlt				/* nothing can wake it */
	jmp	halt

/* puts: print the NUL-terminated string at esi with one rep outsb. */
puts:
	pushal
	movl	%esi, %edi
	xorl	%eax, %eax
	movl	$-1, %ecx
	repne scasb
	notl	%ecx
	decl	%ecx			/* length without the NUL */
	movw	$COM1, %dx
	rep outsb
	popal
	ret

/* puthex: eax as eight hex digits; putsp_hex: a space first. */
putsp_hex:
	pushl	%esi
	movl	$s_space, %esi
	call	puts
	popl	%esi
puthex:
	pushal
	movl	$hexbuf, %edi
	movl	$8, %ecx
1:	roll	$4, %eax
	movl	%eax, %ebx
	andl	$0xf, %ebx
	movb	hexdigits(%ebx), %bl
	movb	%bl, (%edi)
	incl	%edi
	loop	1b
	movl	$hexbuf, %esi
	call	puts
	popal
	ret

newline:
	pushl	%esi
	movl	$s_nl, %esi
	call	puts
	popl	%esi
	ret

	.section .rodata
	.align 4
leaves:
	.long 0x00000000, 0x00000001, 0x00000002, 0x00000004, 0x0000000d
	.long 0x40000000, 0x80000000, 0x80000001, 0x80000002, 0x80000003
	.long 0x80000004, 0x80000005, 0x80000006, 0x80000007, 0x80000008
	.long 0xffffffff
idt_empty:
	.word 0
	.long 0
hexdigits:	.ascii "0123456789abcdef"
s_cpuid:	.asciz "cpuid "
s_cr0:		.asciz "cr0 "
s_mmio:		.asciz "unassigned mmio "
s_ins:		.asciz "rep insb scratch "
s_tsc_ok:	.asciz "tsc advances\n"
s_tsc_bad:	.asciz "tsc stands still\n"
s_space:	.asciz " "
s_nl:		.asciz "\n"

	.section .bss
	.align 16
hexbuf:	.space 12
inbuf:	.space 4
	.space 4096
stack_top:
