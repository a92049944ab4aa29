/* rings: ring 0 <-> ring 3 transitions: iret via the TSS, an int 0x80 syscall gate, a call gate, user faults. */
#include "rt.h"
#include "desc.h"
#include "user.h"

#define SYSCALL_VEC	0x80
#define SYS_ADD		1	/* ebx + ecx + edx */
#define SYS_GETCPL	2	/* the caller's CPL */
#define SYS_IFSTATE	3	/* was IF set inside the handler? */
#define SYS_ESP0	4	/* where the frame landed, as an offset below esp0 */

#define SLOT_CGATE	6	/* call gate, DPL 3, to cg_entry with 2 parameters */
#define SLOT_UDATA2	7	/* another DPL 3 data segment */
#define SEL_CGATE	((SLOT_CGATE << 3) | 3)
#define SEL_UDATA2	((SLOT_UDATA2 << 3) | 3)

static uint8_t user_stack[8192] __attribute__((aligned(16)));
static uint8_t kstack[4096] __attribute__((aligned(16)));	/* our own esp0 */

static volatile uint32_t sys_count, sys_frame_cs, sys_frame_ss, sys_frame_esp;
static volatile uint32_t handler_esp;

static void syscall_handler(struct trap_frame *f)
{
	uint32_t here;

	asm volatile("movl %%esp, %0" : "=r"(here));
	handler_esp = here;
	sys_count++;
	sys_frame_cs = f->cs;
	sys_frame_ss = f->user_ss;
	sys_frame_esp = f->user_esp;
	switch (f->eax) {
	case SYS_ADD:
		f->eax = f->ebx + f->ecx + f->edx;
		break;
	case SYS_GETCPL:
		f->eax = f->cs & 3;
		break;
	case SYS_IFSTATE:
		f->eax = (read_eflags() & EFLAGS_IF) ? 1 : 0;
		break;
	case SYS_ESP0:
		f->eax = tss.esp0 - (uint32_t)(uintptr_t)f;
		break;
	default:
		f->eax = (uint32_t)-1;
	}
}

static inline uint32_t syscall3(uint32_t nr, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t r;

	asm volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

/* ---- call gate: a far call from CPL 3 lands here at CPL 0 with 2 dwords copied ---- */

static volatile uint32_t cg_cs, cg_ret_cs, cg_p1, cg_p2, cg_user_esp, cg_user_ss;

/* Stack at entry: eip, cs, p1, p2, user esp, user ss (params copied from the user stack). */
asm(".text\n"
    "cg_entry:\n\t"
    "movl %cs, %eax\n\t"
    "movl %eax, cg_cs\n\t"
    "movl 4(%esp), %eax\n\t"
    "movl %eax, cg_ret_cs\n\t"
    "movl 8(%esp), %eax\n\t"
    "movl %eax, cg_p1\n\t"
    "movl 12(%esp), %eax\n\t"
    "movl %eax, cg_p2\n\t"
    "movl 16(%esp), %eax\n\t"
    "movl %eax, cg_user_esp\n\t"
    "movl 20(%esp), %eax\n\t"
    "movl %eax, cg_user_ss\n\t"
    "movl cg_p1, %eax\n\t"
    "imull cg_p2, %eax\n\t"
    "lret $8\n");
extern char cg_entry[];

static void set_call_gate(int slot, uint32_t target, int params)
{
	struct gdt_desc *g = &gdt[slot];

	g->limit_lo = target & 0xffff;		/* offset 15:0 */
	g->base_lo = SEL_KCODE;			/* target selector */
	g->base_mid = params & 0x1f;		/* parameter count */
	g->access = DESC_P | DESC_DPL(3) | 0x0c;	/* 32-bit call gate */
	g->limit_hi_flags = (target >> 16) & 0xff;	/* offset 23:16 */
	g->base_hi = target >> 24;			/* offset 31:24 */
}

/* ---- user side: results kept in memory, the kernel reports them ---- */

static struct {
	uint32_t add, cpl, ifstate, esp0_off;
	uint32_t gate_ret, esp_before, esp_after;
	uint32_t after_faults;
	uint16_t ds_ok, ds2_ok;
} u;

static uint32_t user_main(void)
{
	uint32_t esp;

	u.add = syscall3(SYS_ADD, 40, 2, 100);
	u.cpl = syscall3(SYS_GETCPL, 0, 0, 0);
	u.ifstate = syscall3(SYS_IFSTATE, 0, 0, 0);
	u.esp0_off = syscall3(SYS_ESP0, 0, 0, 0);

	/* Far call through the gate: two parameters on our stack, callee pops them. */
	asm volatile("movl %%esp, %0" : "=r"(esp));
	u.esp_before = esp;
	asm volatile("pushl $7\n\t"
		     "pushl $6\n\t"
		     "lcall %1, $0\n\t"
		     : "=a"(u.gate_ret) : "i"(SEL_CGATE) : "memory", "cc");
	asm volatile("movl %%esp, %0" : "=r"(esp));
	u.esp_after = esp;

	/* Privileged instructions: the kernel reflects the #GP, skips them, we go on. */
	asm volatile("cli\n\t"
		     "hlt\n\t"
		     "movl $0x1234, %0"
		     : "=r"(u.after_faults) : : "memory");

	/* DPL 3 data loads fine from CPL 3. */
	asm volatile("movw %w1, %%ds\n\t"
		     "movw %%ds, %0\n\t"
		     "movw %w2, %%ds"
		     : "=r"(u.ds2_ok) : "r"(SEL_UDATA2), "r"(SEL_UDATA));
	asm volatile("movw %w1, %%es\n\t"
		     "movw %%es, %0"
		     : "=r"(u.ds_ok) : "r"(SEL_UDATA));
	return 0x77;
}

static uint32_t user_load_kdata(void)
{
	CATCH("movw %w0, %%ds", : : "r"(SEL_KDATA) : "memory");
	return 1;
}

static uint32_t user_load_kdata_rpl3(void)
{
	CATCH("movw %w0, %%fs", : : "r"(SEL_KDATA | 3) : "memory");
	return 2;
}

static volatile unsigned gp_count;
static volatile uint32_t gp_cs, gp_ss, gp_esp, gp_err, gp_eip;

/* Reflect a CPL 3 #GP: record the frame, step over the one-byte instruction. */
static void user_gp(struct trap_frame *f)
{
	uint8_t op = *(volatile uint8_t *)(uintptr_t)f->eip;

	gp_count++;
	gp_cs = f->cs;
	gp_ss = f->user_ss;
	gp_esp = f->user_esp;
	gp_err = f->error;
	gp_eip = f->eip;
	if ((f->cs & 3) != 3 || (op != 0xfa && op != 0xf4))	/* cli, hlt */
		panic("unexpected #GP error 0x%x at %04x:%08x", f->error, f->cs, f->eip);
	f->eip++;
}

int main(void)
{
	uint32_t kstack_top = (uint32_t)(uintptr_t)(kstack + sizeof(kstack));
	uint32_t top = (uint32_t)(uintptr_t)(user_stack + sizeof(user_stack));
	uint32_t r;

	/* A DPL 3 trap gate: IF stays as it was, user code may int 0x80. */
	idt_set_gate(SYSCALL_VEC, idt_stub(SYSCALL_VEC), IDT_TRAP32, 3);
	trap_set_handler(SYSCALL_VEC, syscall_handler);
	trap_set_handler(13, user_gp);
	set_call_gate(SLOT_CGATE, (uint32_t)(uintptr_t)cg_entry, 2);
	gdt_set_entry(SLOT_UDATA2, 0, 0xfffff, DESC_P | DESC_S | DESC_DATA | DESC_DPL(3),
		      DESC_G | DESC_DB);
	tss_set_esp0(kstack_top);

	r = user_call(user_main, user_stack + sizeof(user_stack), EFLAGS_IF);
	report(r == 0x77, "iret to CPL 3 and back: user function returned 0x77");
	reportf(u.add == 142, "int 0x80 SYS_ADD(40, 2, 100) = %u", u.add);
	reportf(u.cpl == 3, "int 0x80: the frame's CS says CPL %u", u.cpl);
	reportf(u.ifstate == 1, "int 0x80 through a trap gate: IF still set in the handler (%u)",
		u.ifstate);
	reportf(sys_frame_cs == SEL_UCODE && sys_frame_ss == SEL_UDATA &&
		sys_frame_esp < top && sys_frame_esp > top - 1024,
		"int 0x80 frame: cs %x ss:esp %x:%08x (user stack)", sys_frame_cs, sys_frame_ss,
		sys_frame_esp);
	/* TSS esp0 minus the trap frame with SS:ESP (19 dwords). */
	reportf(u.esp0_off == sizeof(struct trap_frame),
		"int 0x80: frame built at TSS.esp0 (offset %u, want %u)", u.esp0_off,
		(unsigned)sizeof(struct trap_frame));
	reportf(handler_esp < kstack_top && handler_esp > kstack_top - 1024,
		"int 0x80 handler runs on the TSS esp0 stack (%08x)", handler_esp);
	reportf(sys_count == 4, "4 syscalls counted (%u)", sys_count);

	reportf(u.gate_ret == 42, "call gate: 6 * 7 = %u computed at CPL 0", u.gate_ret);
	reportf((cg_cs & 0xffff) == SEL_KCODE, "call gate: runs with CS 0x%x", cg_cs & 0xffff);
	reportf((cg_ret_cs & 0xffff) == SEL_UCODE, "call gate: return CS 0x%x (RPL 3)",
		cg_ret_cs & 0xffff);
	reportf(cg_p1 == 6 && cg_p2 == 7, "call gate: parameters copied to the CPL 0 stack (%u, %u)",
		cg_p1, cg_p2);
	reportf((cg_user_ss & 0xffff) == SEL_UDATA && cg_user_esp == u.esp_before - 8,
		"call gate: caller SS:ESP pushed (%x:%08x, esp before %08x)", cg_user_ss & 0xffff,
		cg_user_esp, u.esp_before);
	reportf(u.esp_after == u.esp_before, "lret $8: user ESP back where it was (%08x vs %08x)",
		u.esp_after, u.esp_before);

	reportf(gp_count == 2 && gp_err == 0 && gp_cs == SEL_UCODE && gp_ss == SEL_UDATA &&
		gp_esp < top && gp_esp > top - 1024,
		"CPL 3 cli/hlt: #GP(0) reflected with a CPL 3 frame (%u, err %x cs %x ss:esp %x:%08x)",
		gp_count, gp_err, gp_cs, gp_ss, gp_esp);
	reportf(u.after_faults == 0x1234, "user code continued after the reflected #GPs");
	reportf(u.ds2_ok == SEL_UDATA2 && u.ds_ok == SEL_UDATA,
		"CPL 3: DPL 3 data selectors load (%x, %x)", u.ds2_ok, u.ds_ok);

	catch_install(13);
	catch_reset();
	r = user_call(user_load_kdata, user_stack + sizeof(user_stack), EFLAGS_IF);
	reportf(r == 1 && caught.vec == 13 && caught.err == SEL_KDATA && caught.cs == SEL_UCODE,
		"CPL 3: mov ds, DPL 0 data -> #GP(0x10) (vec %d err %x cs %x)", caught.vec,
		caught.err, caught.cs);
	catch_reset();
	r = user_call(user_load_kdata_rpl3, user_stack + sizeof(user_stack), EFLAGS_IF);
	reportf(r == 2 && caught.vec == 13 && caught.err == SEL_KDATA,
		"CPL 3: mov fs, DPL 0 data RPL 3 -> #GP(0x10) (vec %d err %x)", caught.vec,
		caught.err);
	reportf((read_cs() & 3) == 0, "back at CPL 0 (cs %x)", read_cs());
	return 0;
}
