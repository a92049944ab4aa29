/*
 * kworld_stubs.S - where translated code leaves the TC in bt86.ko's monitor world.
 *
 * The bt-kmod engine runs the very blocks the bt engine runs, but at ring 3
 * in the monitor world, where nothing of the bt86 process is executable
 * except the TC and this one page (bt86.ko maps both executable and every
 * other mirrored page NX).  The exit stubs record the exit exactly as
 * glue.S's do and then trap with int3, the only DPL-3 gate of the monitor
 * IDT; kworld.c recognises the trap by its return address.  The guest
 * registers stay where translated code keeps them; bt86.ko hands them to
 * kworld.c in the run page.
 *
 * The guest's x87/SSE state is always loaded in the monitor world (bt86.ko
 * restores and saves it around each entry), so the lazy-load hook only has
 * to say so.
 */
	.set	BTC_EXIT_REC,	0x38
	.set	BTC_EXIT_EIP,	0x58
	.set	BTC_FPU_LOADED,	0x461

	.section .text.kworld, "ax"
	.balign	4096
	.globl	kw_stub_page
kw_stub_page:

	.globl	kw_tc_exit
	.type	kw_tc_exit, @function
kw_tc_exit:
	mov	%r11, BTC_EXIT_REC(%r13)
	int3
	.globl	kw_tc_exit_trap
kw_tc_exit_trap:
	ud2					/* never resumed */
	.size	kw_tc_exit, .-kw_tc_exit

	.globl	kw_ibl_miss
	.type	kw_ibl_miss, @function
kw_ibl_miss:
	mov	%r11d, BTC_EXIT_EIP(%r13)
	movq	$0, BTC_EXIT_REC(%r13)
	int3
	.globl	kw_ibl_miss_trap
kw_ibl_miss_trap:
	ud2
	.size	kw_ibl_miss, .-kw_ibl_miss

	.globl	kw_fpu_load
	.type	kw_fpu_load, @function
kw_fpu_load:
	movb	$1, BTC_FPU_LOADED(%r13)
	ret
	.size	kw_fpu_load, .-kw_fpu_load

	/* Nothing else shares the page: only it is executable in the monitor world. */
	.balign	4096
	.globl	kw_stub_page_end
kw_stub_page_end:

	.section .note.GNU-stack,"",@progbits
