/* Paging guest helpers: frame allocator, identity-mapped address spaces, #PF recording and probes. */
#include "pg.h"

volatile uint32_t *kernel_pd;
volatile struct pf_rec pf_last;
bool (*pf_hook)(struct trap_frame *f);

static uint32_t ident_pts[IDENT_END / PDE_SPAN];	/* physical page tables */
static uint32_t ident_pde_flags;

/* Bump allocator over the pool with a free list threaded through freed frames. */
static uint32_t pool_next = POOL_START;
static uint32_t free_head;
static unsigned frames_used;

uint32_t pg_alloc(void)
{
	uint32_t pa;

	if (free_head) {
		pa = free_head;
		free_head = *phys(pa);
	} else {
		if (pool_next >= POOL_END)
			panic("pg_alloc: frame pool exhausted");
		pa = pool_next;
		pool_next += PAGE_SIZE;
	}
	frames_used++;
	memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
	return pa;
}

void pg_free(uint32_t pa)
{
	if (pa < POOL_START || pa >= POOL_END || (pa & (PAGE_SIZE - 1)))
		panic("pg_free: 0x%x is not a pool frame", pa);
	*phys(pa) = free_head;
	free_head = pa;
	frames_used--;
}

unsigned pg_frames_used(void)
{
	return frames_used;
}

volatile uint32_t *pg_new_pd(void)
{
	volatile uint32_t *pd = phys(pg_alloc());
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(ident_pts); i++)
		pd[i] = ident_pts[i] | ident_pde_flags;
	return pd;
}

static bool is_ident_pt(uint32_t pt)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(ident_pts); i++)
		if (ident_pts[i] == pt)
			return true;
	return false;
}

void pg_destroy_pd(volatile uint32_t *pd, bool frames)
{
	unsigned i, j;

	for (i = 0; i < 1024; i++) {
		uint32_t pde = pd[i];
		volatile uint32_t *pt;

		if (!(pde & PTE_P) || (pde & PDE_PS) || is_ident_pt(pde & PTE_FRAME))
			continue;
		pt = phys(pde & PTE_FRAME);
		for (j = 0; frames && j < 1024; j++) {
			uint32_t fr = pt[j] & PTE_FRAME;

			if ((pt[j] & PTE_P) && fr >= POOL_START && fr < POOL_END)
				pg_free(fr);
		}
		pg_free(pde & PTE_FRAME);
	}
	pg_free(PA(pd));
}

void pg_init(uint32_t ident_flags)
{
	unsigned i, j;

	if ((uint32_t)(uintptr_t)__image_end > POOL_START)
		panic("image ends at %p, inside the frame pool", __image_end);
	ident_pde_flags = ident_flags;
	for (i = 0; i < ARRAY_SIZE(ident_pts); i++) {
		volatile uint32_t *pt;

		ident_pts[i] = pg_alloc();
		pt = phys(ident_pts[i]);
		for (j = 0; j < 1024; j++)
			pt[j] = (i * PDE_SPAN + j * PAGE_SIZE) | ident_flags;
	}
	/* Page 0 stays unmapped: a null pointer faults. */
	phys(ident_pts[0])[0] = 0;
	kernel_pd = pg_new_pd();
	pg_trap_init();
}

volatile uint32_t *pg_pte(volatile uint32_t *pd, uint32_t va, bool alloc, uint32_t pde_flags)
{
	volatile uint32_t *pde = &pd[PDX(va)];

	if (!(*pde & PTE_P) || (*pde & PDE_PS)) {
		if (!alloc)
			return NULL;
		*pde = pg_alloc() | pde_flags;
	}
	return &phys(*pde & PTE_FRAME)[PTX(va)];
}

void pg_map(volatile uint32_t *pd, uint32_t va, uint32_t pa, uint32_t flags)
{
	*pg_pte(pd, va, true, PTE_P | PTE_RW | PTE_US) = (pa & PTE_FRAME) | flags;
	invlpg(va);
}

void pg_on(volatile uint32_t *pd)
{
	write_cr3(PA(pd));
	write_cr0(read_cr0() | CR0_PG);
}

void pg_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
}

static void pf_handler(struct trap_frame *f)
{
	pf_last.count++;
	pf_last.err = f->error;
	pf_last.eip = f->eip;
	pf_last.cr2 = read_cr2();
	pf_last.cs = f->cs;
	pf_last.user_esp = (f->cs & 3) ? f->user_esp : 0;
	if (pf_hook && pf_hook(f))
		return;
	if (!catch_resume)
		panic("#PF error 0x%x cr2 0x%08x at %04x:%08x outside a CATCH",
		      f->error, pf_last.cr2, f->cs, f->eip);
	f->eip = catch_resume;
	catch_resume = 0;
}

void pg_trap_init(void)
{
	trap_set_handler(VEC_PF, pf_handler);
}

bool probe_read(uint32_t va, uint32_t *val)
{
	unsigned before = pf_last.count;
	uint32_t v = 0xdeadbeef;

	CATCH("movl (%1), %0", : "+r"(v) : "r"(va) : "memory");
	*val = v;
	return pf_last.count == before;
}

bool probe_write(uint32_t va, uint32_t val)
{
	unsigned before = pf_last.count;

	CATCH("movl %0, (%1)", : : "r"(val), "r"(va) : "memory");
	return pf_last.count == before;
}

/* CPL 3 side: arguments and results pass through (user-accessible) globals. */
static volatile uint32_t u_va, u_val;
static volatile bool u_write;
static uint8_t u_stack[4096] __attribute__((aligned(16)));

static uint32_t user_probe(void)
{
	uint32_t va = u_va, v = u_val;

	if (u_write)
		CATCH("movl %0, (%1)", : : "r"(v), "r"(va) : "memory");
	else
		CATCH("movl (%1), %0", : "+r"(v) : "r"(va) : "memory");
	u_val = v;
	return 0;
}

static bool user_access(uint32_t va, uint32_t *val, bool write)
{
	unsigned before = pf_last.count;

	u_va = va;
	u_val = write ? *val : 0xdeadbeef;
	u_write = write;
	user_call(user_probe, u_stack + sizeof(u_stack), 0);
	*val = u_val;
	return pf_last.count == before;
}

bool probe_user_read(uint32_t va, uint32_t *val)
{
	return user_access(va, val, false);
}

bool probe_user_write(uint32_t va, uint32_t val)
{
	return user_access(va, &val, true);
}
