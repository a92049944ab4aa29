/* Guest runtime: one entry stub per IDT vector and the common trap-frame save/restore path. */

#define SEL_KDATA	0x10	/* GDT_KDATA << 3, see desc.h */
#define STUB_SIZE	16	/* idt_stub(vec) = isr_stubs + vec * STUB_SIZE */

	.text
	/*
	 * Vectors where the CPU pushes an error code: #DF 8, #TS 10, #NP 11,
	 * #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30.  The others
	 * push a dummy 0 so every frame has the same layout.
	 */
	.balign	STUB_SIZE
	.globl	isr_stubs
isr_stubs:
	vec = 0
	.rept	256
	.if vec != 8 && vec != 10 && vec != 11 && vec != 12 && vec != 13 && vec != 14 && vec != 17 && vec != 21 && vec != 29 && vec != 30
	pushl	$0
	.endif
	pushl	$vec
	jmp	isr_common
	/* Pads to the next slot; the assembler refuses if a stub outgrew it. */
	.org	isr_stubs + (vec + 1) * STUB_SIZE, 0xcc
	vec = vec + 1
	.endr

	/* Frame layout must match struct trap_frame in desc.h. */
isr_common:
	pushl	%ds
	pushl	%es
	pushl	%fs
	pushl	%gs
	pushal
	/* A trap from ring 3 arrives with user data selectors loaded. */
	movw	$SEL_KDATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	cld
	pushl	%esp
	call	trap_dispatch
	addl	$4, %esp
	popal
	popl	%gs
	popl	%fs
	popl	%es
	popl	%ds
	addl	$8, %esp		/* vector and error code */
	iret

	/* No executable stack wanted. */
	.section .note.GNU-stack, "", @progbits
