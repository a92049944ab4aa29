/* kvtest.c: vm, host-mirror and kview helpers shared by the bt86test programs (bt86test.c, kcalltest.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvtest.h"

char why[256];

/* Record why the current test failed; returns -1 for "return fail(...)". */
int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- a VM: 1 MiB of RAM, one vcpu -------------------------------------- */

void vm_close(struct vm *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, BT86_RUN_SIZE);
	if (v->ram && v->ram != MAP_FAILED)
		munmap(v->ram, RAM_SIZE);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->dev >= 0)
		close(v->dev);
	memset(v, 0, sizeof(*v));
	v->dev = v->vm = v->vcpu = -1;
}

int vm_open(struct vm *v)
{
	struct bt86_memory_region mr = { 0 };

	memset(v, 0, sizeof(*v));
	v->dev = v->vm = v->vcpu = -1;
	v->dev = open("/dev/bt86", O_RDWR);
	if (v->dev < 0)
		return fail("open /dev/bt86: %s", strerror(errno));
	v->vm = ioctl(v->dev, BT86_CREATE_VM, 0);
	if (v->vm < 0)
		return fail("CREATE_VM: %s", strerror(errno));
	v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->ram == MAP_FAILED)
		return fail("mmap ram: %s", strerror(errno));
	mr.slot = 0;
	mr.gpa = 0;
	mr.size = RAM_SIZE;
	mr.uaddr = (uintptr_t)v->ram;
	if (ioctl(v->vm, BT86_SET_MEMORY, &mr))
		return fail("SET_MEMORY: %s", strerror(errno));
	v->vcpu = ioctl(v->vm, BT86_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return fail("CREATE_VCPU: %s", strerror(errno));
	v->run = mmap(NULL, BT86_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	if (v->run == MAP_FAILED)
		return fail("mmap run: %s", strerror(errno));
	return 0;
}


int vm_run(struct vm *v)
{
	if (ioctl(v->vcpu, BT86_RUN, 0))
		return fail("RUN: %s", strerror(errno));
	return 0;
}

/* ---- API v2: host mirroring -------------------------------------------- */

void hm_close(struct hm *h)
{
	vm_close(&h->v);
	if (h->code && h->code != MAP_FAILED)
		munmap(h->code, 4096);
	if (h->stack && h->stack != MAP_FAILED)
		munmap(h->stack, HM_STACK);
	h->code = h->stack = NULL;
}

void *hm_page(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int hm_open(struct hm *h)
{
	struct bt86_exec_region er = { 0 };

	memset(h, 0, sizeof(*h));
	if (vm_open(&h->v))
		return -1;
	if (ioctl(h->v.vcpu, BT86_ENABLE_HOSTMAP, 0))
		return fail("ENABLE_HOSTMAP: %s", strerror(errno));
	h->code = hm_page(4096);
	h->stack = hm_page(HM_STACK);
	if (!h->code || !h->stack)
		return fail("mmap: %s", strerror(errno));
	if ((uintptr_t)h->code < (1ull << 32) || (uintptr_t)h->stack < (1ull << 32))
		return fail("mmap gave an address below 4 GiB");
	er.uaddr = (uintptr_t)h->code;
	er.size = 4096;
	if (ioctl(h->v.vcpu, BT86_SET_EXEC, &er))
		return fail("SET_EXEC: %s", strerror(errno));
	return 0;
}

/* Copy a payload into the exec page; its registers go in through regs_dirty. */
void hm_load(struct hm *h, const unsigned char *code,
	     const unsigned char *end, uint64_t rdi, uint64_t rsi,
	     uint64_t rdx, uint64_t rcx)
{
	struct bt86_regs *r = &h->v.run->regs;

	memset(h->code, 0xcc, 4096);
	memcpy(h->code, code, end - code);
	memset(r, 0, sizeof(*r));
	r->rip = (uintptr_t)h->code;
	r->rsp = (uintptr_t)h->stack + HM_STACK;
	r->rflags = 2;
	r->mode = BT86_MODE_LONG64;
	r->rdi = rdi;
	r->rsi = rsi;
	r->rdx = rdx;
	r->rcx = rcx;
	h->v.run->regs_dirty = 1;
}

/* RUN and expect the int3 at the end of the payload (rip just past it). */
int hm_int3(struct hm *h, const unsigned char *code,
	    const unsigned char *end)
{
	struct bt86_run *run = h->v.run;

	if (vm_run(&h->v))
		return -1;
	if (run->exit_reason != BT86_EXIT_EXCEPTION || run->ex.vector != 3)
		return fail("exit %u vector %u error %#x cr2 %#llx rip %#llx, want int3",
			    run->exit_reason, run->ex.vector, run->ex.error_code,
			    (unsigned long long)run->ex.cr2,
			    (unsigned long long)run->ex.rip);
	if (run->ex.rip != (uintptr_t)h->code + (end - code) ||
	    run->regs.rip != run->ex.rip)
		return fail("int3 rip %#llx regs.rip %#llx, want code + %zu",
			    (unsigned long long)run->ex.rip,
			    (unsigned long long)run->regs.rip,
			    (size_t)(end - code));
	if (run->regs_dirty)
		return fail("regs_dirty not cleared");
	return 0;
}

/* RUN and expect a #PF at cr2 whose error code has the bits in want. */
int hm_pf(struct hm *h, uint64_t cr2, uint32_t want)
{
	struct bt86_run *run = h->v.run;

	if (vm_run(&h->v))
		return -1;
	if (run->exit_reason != BT86_EXIT_EXCEPTION || run->ex.vector != 14)
		return fail("exit %u vector %u, want #PF at %#llx",
			    run->exit_reason, run->ex.vector,
			    (unsigned long long)cr2);
	if (run->ex.cr2 != cr2 || (run->ex.error_code & want) != want)
		return fail("#PF cr2 %#llx error %#x, want %#llx with bits %#x",
			    (unsigned long long)run->ex.cr2, run->ex.error_code,
			    (unsigned long long)cr2, want);
	return 0;
}

/* ---- kviews: kernel-owned shadow views --------------------------------- */

size_t kv_area_size(void)
{
	return (sizeof(struct bt86_kfill) + 4095) & ~(size_t)4095;
}

uint32_t *kv_entry(struct kv *k, uint32_t gpa)
{
	return (uint32_t *)(k->h.v.ram + gpa);
}

void kv_close(struct kv *k)
{
	int i;

	hm_close(&k->h);
	if (k->kf && (void *)k->kf != MAP_FAILED)
		munmap(k->kf, k->kf_size);
	for (i = 0; i < 3; i++)
		if (k->res[i] && k->res[i] != MAP_FAILED)
			munmap(k->res[i], KV_RES);
	memset(k, 0, sizeof(*k));
}

void kv_set_traced(struct kv *k, uint32_t gpa, bool on)
{
	uint32_t f = gpa >> 12;

	if (on)
		k->kf->traced[f >> 3] |= 1u << (f & 7);
	else
		k->kf->traced[f >> 3] &= ~(1u << (f & 7));
}

void kv_op(struct kv *k, uint32_t op, uint32_t view, uint32_t lin,
	   uint32_t arg)
{
	struct bt86_kvop *o = &k->kf->ops[k->kf->nops++];

	o->op = op;
	o->view = view;
	o->lin = lin;
	o->arg = arg;
}

/*
 * A hostmap vcpu with guest page tables in RAM, a registered kfill area
 * and views: 0 kernel (paging), 1 user (paging), 2 flat.
 */
int kv_open(struct kv *k)
{
	struct bt86_kviews_reg reg = { 0 };
	uint32_t i;

	memset(k, 0, sizeof(*k));
	if (hm_open(&k->h))
		return -1;
	k->kf_size = kv_area_size();
	k->kf = mmap(NULL, k->kf_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((void *)k->kf == MAP_FAILED)
		return fail("mmap kfill: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		uint64_t r;

		k->res[i] = mmap(NULL, KV_RES, PROT_NONE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (k->res[i] == MAP_FAILED)
			return fail("reserve 44 GiB: %s", strerror(errno));
		r = (uintptr_t)k->res[i];
		k->base[i] = (r + (2ull << 30) + (4ull << 30) - 1) & ~((4ull << 30) - 1);
	}
	reg.uaddr = (uintptr_t)k->kf;
	reg.size = k->kf_size;
	if (ioctl(k->h.v.vcpu, BT86_SET_KVIEWS, &reg))
		return fail("SET_KVIEWS: %s", strerror(errno));

	/* The guest's tables. */
	*kv_entry(k, KV_PD) = KV_PT0 | G_P | G_RW | G_US;
	*kv_entry(k, KV_PD + 0x200 * 4) = KV_PT2 | G_P | G_RW | G_US;
	*kv_entry(k, KV_PD + 1 * 4) = 0x00000000 | G_PS | G_P | G_RW | G_US;
	*kv_entry(k, KV_PD + 3 * 4) = KV_PT3 | G_P | G_RW | G_US;
	*kv_entry(k, KV_PT0 + 1 * 4) = KV_RW | G_P | G_RW | G_US;
	*kv_entry(k, KV_PT0 + 2 * 4) = KV_RO | G_P | G_US;
	*kv_entry(k, KV_PT0 + 3 * 4) = KV_SUP | G_P | G_RW;
	*kv_entry(k, KV_PT0 + 5 * 4) = KV_TRACED | G_P | G_RW | G_US;
	*kv_entry(k, KV_PT0 + 6 * 4) = KV_NBR | G_P | G_RW | G_US | G_A;
	*kv_entry(k, KV_PT2 + 1 * 4) = KV_HIGH | G_P | G_RW | G_US;
	for (i = 0; i < 1024; i++)
		*kv_entry(k, KV_PT3 + i * 4) = (0x80000 + (i % 128) * 4096) |
					       G_P | G_RW | G_US;
	for (i = 0; i < 512; i++) {
		((uint64_t *)(k->h.v.ram + KV_RW))[i] = 0x1111000000000000ull + i;
		((uint64_t *)(k->h.v.ram + KV_RO))[i] = 0x2222000000000000ull + i;
		((uint64_t *)(k->h.v.ram + KV_SUP))[i] = 0x3333000000000000ull + i;
		((uint64_t *)(k->h.v.ram + KV_TRACED))[i] = 0x4444000000000000ull + i;
		((uint64_t *)(k->h.v.ram + KV_HIGH))[i] = 0x5555000000000000ull + i;
		((uint64_t *)(k->h.v.ram + KV_MAPPED))[i] = 0x6666000000000000ull + i;
		((uint64_t *)(k->h.v.ram + KV_NBR))[i] = 0x7777000000000000ull + i;
	}

	k->kf->version = 1;
	k->kf->flags = BT86_KF_PAGING | BT86_KF_WP | BT86_KF_PSE;
	k->kf->ram_frames = RAM_SIZE >> 12;
	k->kf->views[0] = (struct bt86_kview){ k->base[0], 0, 0, KV_PD, 0 };
	k->kf->views[1] = (struct bt86_kview){ k->base[1], BT86_KV_USER, 0, KV_PD, 0 };
	k->kf->views[2] = (struct bt86_kview){ k->base[2], BT86_KV_FLAT, 0, 0, 0 };
	k->kf->ptu[0][0] = KV_PT0;
	k->kf->ptu[0][0x200] = KV_PT2;
	k->kf->ptu[0][3] = KV_PT3;
	kv_set_traced(k, KV_PD, true);
	kv_set_traced(k, KV_PT0, true);
	kv_set_traced(k, KV_PT2, true);
	kv_set_traced(k, KV_PT3, true);
	kv_set_traced(k, KV_TRACED, true);
	return 0;
}

/* Load through the view: expect the int3 and the value; no exit to user space. */
int kv_read(struct kv *k, uint64_t addr, uint64_t want)
{
	uint64_t exits = k->kf->kfill_exits;

	hm_load(&k->h, h64_load, h64_load_end, addr, 0, 0, 0);
	if (hm_int3(&k->h, h64_load, h64_load_end))
		return fail("read %#llx: %s", (unsigned long long)addr,
			    strdup(why));
	if (k->h.v.run->regs.rax != want)
		return fail("read %#llx gave %#llx, want %#llx",
			    (unsigned long long)addr,
			    (unsigned long long)k->h.v.run->regs.rax,
			    (unsigned long long)want);
	if (k->kf->kfill_exits != exits)
		return fail("read %#llx: kfill_exits moved", (unsigned long long)addr);
	return 0;
}

int kv_write(struct kv *k, uint64_t addr, uint64_t val)
{
	hm_load(&k->h, h64_store, h64_store_end, addr, 0, val, 0);
	if (hm_int3(&k->h, h64_store, h64_store_end))
		return fail("write %#llx: %s", (unsigned long long)addr,
			    strdup(why));
	return 0;
}

/* Access through the view: expect a #PF exit at addr, counted in kfill_exits. */
int kv_fault(struct kv *k, uint64_t addr, bool write, uint32_t want)
{
	uint64_t exits = k->kf->kfill_exits;

	if (write)
		hm_load(&k->h, h64_store, h64_store_end, addr, 0, 0x99, 0);
	else
		hm_load(&k->h, h64_load, h64_load_end, addr, 0, 0, 0);
	if (hm_pf(&k->h, addr, want))
		return -1;
	if (k->kf->kfill_exits != exits + 1)
		return fail("%#llx: kfill_exits %llu -> %llu, want +1",
			    (unsigned long long)addr, (unsigned long long)exits,
			    (unsigned long long)k->kf->kfill_exits);
	return 0;
}

/* The newest log entry is {view, lin, gpa, flags}. */
int kv_last_log(struct kv *k, uint32_t view, uint32_t lin, uint32_t gpa,
		uint32_t flags)
{
	struct bt86_kvlog *l;

	if (k->kf->log_head == k->kf->log_tail)
		return fail("log empty (head %u)", k->kf->log_head);
	l = &k->kf->log[(k->kf->log_head - 1) % BT86_KV_LOG];
	if (l->view != view || l->lin != lin || l->gpa != gpa || l->flags != flags)
		return fail("log entry {%u %#x %#x %u}, want {%u %#x %#x %u}",
			    l->view, l->lin, l->gpa, l->flags, view, lin, gpa,
			    flags);
	return 0;
}

/* Some log entry from index from on is {view, lin, gpa, flags}. */
int kv_find_log(struct kv *k, uint32_t from, uint32_t view, uint32_t lin,
		uint32_t gpa, uint32_t flags)
{
	uint32_t i;

	for (i = from; i != k->kf->log_head; i++) {
		struct bt86_kvlog *l = &k->kf->log[i % BT86_KV_LOG];

		if (l->view == view && l->lin == lin && l->gpa == gpa &&
		    l->flags == flags)
			return 0;
	}
	return fail("no log entry {%u %#x %#x %u} in [%u, %u)", view, lin, gpa,
		    flags, from, k->kf->log_head);
}

/* Bit f of kwrite[]: the kernel may complete writes to frame f (ktraces, kcall stores). */
void kv_set_kwrite(struct kv *k, uint32_t gpa, bool on)
{
	uint32_t f = gpa >> 12;

	if (on)
		k->kf->kwrite[f >> 3] |= 1u << (f & 7);
	else
		k->kf->kwrite[f >> 3] &= ~(1u << (f & 7));
}
