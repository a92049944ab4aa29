// SPDX-License-Identifier: GPL-2.0
/* main.c: bt86.ko entry points: /dev/bt86, VM and vcpu file descriptors, ioctls. */

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/compat.h>
#include "bt86.h"

struct bt86_stats_kernel bt86_stats;

/* ---- VM ------------------------------------------------------------------ */

struct bt86_vm_owner {
	struct bt86_vm vm;
	struct mm_struct *mm;		/* RLIMIT_MEMLOCK is charged here */
};

static struct mm_struct *bt86_vm_mm(struct bt86_vm *vm)
{
	return container_of(vm, struct bt86_vm_owner, vm)->mm;
}

static void bt86_slot_release(struct bt86_vm *vm, struct bt86_slot *s)
{
	if (!s->size)
		return;
	unpin_user_pages_dirty_lock(s->pages, s->npages, true);
	/* After a kill the mm may already be torn down: nothing to uncharge. */
	if (mmget_not_zero(bt86_vm_mm(vm))) {
		account_locked_vm(bt86_vm_mm(vm), s->npages, false);
		mmput(bt86_vm_mm(vm));
	}
	atomic64_sub(s->npages, &bt86_stats.pinned_pages);
	kvfree(s->pages);
	memset(s, 0, sizeof(*s));
}

static void bt86_vm_free(struct kref *ref)
{
	struct bt86_vm *vm = container_of(ref, struct bt86_vm, ref);
	struct bt86_vm_owner *o = container_of(vm, struct bt86_vm_owner, vm);
	int i;

	for (i = 0; i < BT86_MAX_SLOTS; i++)
		bt86_slot_release(vm, &vm->slots[i]);
	mmdrop(o->mm);
	kfree(o);
	atomic64_dec(&bt86_stats.vms);
}

static long bt86_set_memory(struct bt86_vm *vm, void __user *argp)
{
	struct bt86_memory_region r;
	struct bt86_slot new = {}, old;
	u64 total = 0;
	long pinned;
	int i, ret;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.slot >= BT86_MAX_SLOTS || r.flags)
		return -EINVAL;
	if (current->mm != bt86_vm_mm(vm))
		return -EIO;		/* pinning is charged to the creator's mm */

	if (r.size) {
		if (!PAGE_ALIGNED(r.gpa) || !PAGE_ALIGNED(r.size) ||
		    !PAGE_ALIGNED(r.uaddr))
			return -EINVAL;
		if (r.size > BT86_MAX_MEM || r.gpa >= BT86_MAX_GPA ||
		    r.size > BT86_MAX_GPA - r.gpa)
			return -EINVAL;
		if (r.uaddr + r.size < r.uaddr || r.uaddr + r.size > TASK_SIZE)
			return -EFAULT;

		new.gpa = r.gpa;
		new.size = r.size;
		new.uaddr = r.uaddr;
		new.npages = r.size >> PAGE_SHIFT;
		new.pages = kvmalloc_array(new.npages, sizeof(*new.pages),
					   GFP_KERNEL_ACCOUNT);
		if (!new.pages)
			return -ENOMEM;
		ret = account_locked_vm(current->mm, new.npages, true);
		if (ret) {
			kvfree(new.pages);
			return ret;
		}
		pinned = pin_user_pages_fast(r.uaddr, new.npages,
					     FOLL_WRITE | FOLL_LONGTERM, new.pages);
		if (pinned != new.npages) {
			if (pinned > 0)
				unpin_user_pages(new.pages, pinned);
			account_locked_vm(current->mm, new.npages, false);
			kvfree(new.pages);
			return pinned < 0 ? pinned : -EFAULT;
		}
		atomic64_add(new.npages, &bt86_stats.pinned_pages);
	}

	down_write(&vm->mem_lock);
	for (i = 0; i < BT86_MAX_SLOTS; i++) {
		struct bt86_slot *s = &vm->slots[i];

		if (i == r.slot || !s->size)
			continue;
		total += s->size;
		if (new.size && new.gpa < s->gpa + s->size &&
		    s->gpa < new.gpa + new.size) {
			up_write(&vm->mem_lock);
			bt86_slot_release(vm, &new);
			return -EEXIST;
		}
	}
	if (total + new.size > BT86_MAX_MEM) {
		up_write(&vm->mem_lock);
		bt86_slot_release(vm, &new);
		return -ENOSPC;
	}
	old = vm->slots[r.slot];
	vm->slots[r.slot] = new;
	vm->mem_gen++;
	up_write(&vm->mem_lock);

	/* No vcpu runs on the old pages: each rebuilds its tables first. */
	bt86_slot_release(vm, &old);
	return 0;
}

/* ---- vcpu ---------------------------------------------------------------- */

static int bt86_vcpu_release(struct inode *inode, struct file *file)
{
	struct bt86_vcpu *vcpu = file->private_data;
	struct bt86_vm *vm = vcpu->vm;

	bt86_vcpu_world_free(vcpu);
	mutex_lock(&vm->vcpu_lock);
	vm->vcpu_ids &= ~(1UL << vcpu->id);
	mutex_unlock(&vm->vcpu_lock);
	kfree(vcpu);
	atomic64_dec(&bt86_stats.vcpus);
	kref_put(&vm->ref, bt86_vm_free);
	return 0;
}

static long bt86_vcpu_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct bt86_vcpu *vcpu = file->private_data;
	void __user *argp = (void __user *)arg;
	struct bt86_regs regs;
	long r;

	switch (cmd) {
	case BT86_GET_REGS:
		if (mutex_lock_killable(&vcpu->lock))
			return -EINTR;
		r = bt86_vcpu_get_regs(vcpu, &regs);
		mutex_unlock(&vcpu->lock);
		if (!r && copy_to_user(argp, &regs, sizeof(regs)))
			r = -EFAULT;
		return r;
	case BT86_SET_REGS:
		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		if (mutex_lock_killable(&vcpu->lock))
			return -EINTR;
		r = bt86_vcpu_set_regs(vcpu, &regs);
		mutex_unlock(&vcpu->lock);
		return r;
	case BT86_RUN:
		if (arg)
			return -EINVAL;
		if (mutex_lock_killable(&vcpu->lock))
			return -EINTR;
		r = bt86_vcpu_run(vcpu);
		mutex_unlock(&vcpu->lock);
		return r;
	case BT86_ENABLE_HOSTMAP:
		if (mutex_lock_killable(&vcpu->lock))
			return -EINTR;
		r = bt86_hostmap_enable(vcpu, arg);
		mutex_unlock(&vcpu->lock);
		return r;
	case BT86_SET_EXEC:
		if (mutex_lock_killable(&vcpu->lock))
			return -EINTR;
		r = bt86_set_exec(vcpu, argp);
		mutex_unlock(&vcpu->lock);
		return r;
	case BT86_SET_KVIEWS:
		if (mutex_lock_killable(&vcpu->lock))
			return -EINTR;
		r = bt86_set_kviews(vcpu, argp);
		mutex_unlock(&vcpu->lock);
		return r;
	case BT86_KVIEWS_SYNC:
		if (mutex_lock_killable(&vcpu->lock))
			return -EINTR;
		r = bt86_kviews_sync(vcpu, arg);
		mutex_unlock(&vcpu->lock);
		return r;
	default:
		return -ENOTTY;
	}
}

static int bt86_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct bt86_vcpu *vcpu = file->private_data;

	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != BT86_RUN_SIZE)
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	return vm_insert_page(vma, vma->vm_start, virt_to_page(vcpu->run));
}

static const struct file_operations bt86_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= bt86_vcpu_release,
	.unlocked_ioctl	= bt86_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= bt86_vcpu_mmap,
	.llseek		= noop_llseek,
};

static long bt86_create_vcpu(struct bt86_vm *vm, unsigned long id)
{
	struct bt86_vcpu *vcpu;
	int r;

	if (id >= BT86_MAX_VCPUS)
		return -EINVAL;
	mutex_lock(&vm->vcpu_lock);
	if (vm->vcpu_ids & (1UL << id)) {
		mutex_unlock(&vm->vcpu_lock);
		return -EEXIST;
	}
	vm->vcpu_ids |= 1UL << id;
	mutex_unlock(&vm->vcpu_lock);

	r = -ENOMEM;
	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		goto fail_id;
	mutex_init(&vcpu->lock);
	vcpu->vm = vm;
	vcpu->id = id;
	r = bt86_vcpu_world_alloc(vcpu);
	if (r)
		goto fail_vcpu;

	kref_get(&vm->ref);
	atomic64_inc(&bt86_stats.vcpus);
	r = anon_inode_getfd("bt86-vcpu", &bt86_vcpu_fops, vcpu,
			     O_RDWR | O_CLOEXEC);
	if (r < 0) {
		/* Not installed: undo by hand (takes the vm reference too). */
		bt86_vcpu_world_free(vcpu);
		atomic64_dec(&bt86_stats.vcpus);
		kref_put(&vm->ref, bt86_vm_free);
		goto fail_vcpu;
	}
	return r;

fail_vcpu:
	kfree(vcpu);
fail_id:
	mutex_lock(&vm->vcpu_lock);
	vm->vcpu_ids &= ~(1UL << id);
	mutex_unlock(&vm->vcpu_lock);
	return r;
}

/* ---- VM fd --------------------------------------------------------------- */

static int bt86_vm_release(struct inode *inode, struct file *file)
{
	struct bt86_vm *vm = file->private_data;

	kref_put(&vm->ref, bt86_vm_free);
	return 0;
}

static long bt86_vm_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct bt86_vm *vm = file->private_data;

	switch (cmd) {
	case BT86_SET_MEMORY:
		return bt86_set_memory(vm, (void __user *)arg);
	case BT86_CREATE_VCPU:
		return bt86_create_vcpu(vm, arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations bt86_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= bt86_vm_release,
	.unlocked_ioctl	= bt86_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static long bt86_create_vm(void)
{
	struct bt86_vm_owner *o;
	int fd;

	if (!current->mm)
		return -EINVAL;		/* guest RAM is charged to a process */
	o = kzalloc(sizeof(*o), GFP_KERNEL_ACCOUNT);
	if (!o)
		return -ENOMEM;
	kref_init(&o->vm.ref);
	init_rwsem(&o->vm.mem_lock);
	mutex_init(&o->vm.vcpu_lock);
	o->mm = current->mm;
	mmgrab(o->mm);
	atomic64_inc(&bt86_stats.vms);

	fd = anon_inode_getfd("bt86-vm", &bt86_vm_fops, &o->vm,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0)
		kref_put(&o->vm.ref, bt86_vm_free);
	return fd;
}

/* ---- /dev/bt86 ----------------------------------------------------------- */

static long bt86_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case BT86_GET_VERSION: {
		struct bt86_version v = {
			.api_version = BT86_API_VERSION,
			.caps = BT86_CAP_COMPAT32 | BT86_CAP_LONG64 |
				BT86_CAP_STATS | BT86_CAP_HOSTMAP | BT86_CAP_KVIEWS |
				BT86_CAP_KCALL |
				(bt86_host_la57() ? BT86_CAP_LA57 : 0),
			.max_mem = BT86_MAX_MEM,
			.max_gpa = BT86_MAX_GPA,
			.max_slots = BT86_MAX_SLOTS,
			.max_vcpus = BT86_MAX_VCPUS,
			.run_size = BT86_RUN_SIZE,
		};

		return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case BT86_CREATE_VM:
		if (arg)
			return -EINVAL;
		return bt86_create_vm();
	case BT86_GET_STATS: {
		struct bt86_stats s = {
			.vms = atomic64_read(&bt86_stats.vms),
			.vcpus = atomic64_read(&bt86_stats.vcpus),
			.pinned_pages = atomic64_read(&bt86_stats.pinned_pages),
			.pt_pages = atomic64_read(&bt86_stats.pt_pages),
			.world_switches = atomic64_read(&bt86_stats.world_switches),
			.host_irqs = atomic64_read(&bt86_stats.host_irqs),
			.host_nmis = atomic64_read(&bt86_stats.host_nmis),
			.hostmap_pages = atomic64_read(&bt86_stats.hostmap_pages),
			.host_fills = atomic64_read(&bt86_stats.host_fills),
		};

		return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
	}
	default:
		return -ENOTTY;
	}
}

static const struct file_operations bt86_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= bt86_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice bt86_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "bt86",
	.fops	= &bt86_dev_fops,
	.mode	= 0600,
};

static int __init bt86_init(void)
{
	int r;

	BUILD_BUG_ON(sizeof(struct bt86_run) > BT86_RUN_SIZE);
	/* The v2 run page layout is fixed (user space hard-codes it). */
	BUILD_BUG_ON(offsetof(struct bt86_run, regs) != 256);
	BUILD_BUG_ON(sizeof(struct bt86_regs) != 200);
	BUILD_BUG_ON(offsetof(struct bt86_run, regs_dirty) != 456);
	BUILD_BUG_ON(offsetof(struct bt86_run, host_fills) != 464);
	BUILD_BUG_ON(offsetof(struct bt86_run, host_fill_failures) != 472);
	BUILD_BUG_ON(offsetof(struct bt86_run, reserved2) != 480);
	BUILD_BUG_ON(offsetof(struct bt86_run, fx) != 512);
	BUILD_BUG_ON(sizeof(struct bt86_run) != 1024);
	BUILD_BUG_ON(sizeof(struct bt86_stats) != 16 * 8);
	BUILD_BUG_ON(sizeof(struct bt86_exec_region) != 24);
	BUILD_BUG_ON(sizeof(struct bt86_regs) % 8);
	BUILD_BUG_ON(sizeof(struct bt86_version) % 8);
	BUILD_BUG_ON(sizeof(struct bt86_memory_region) % 8);
	BUILD_BUG_ON(sizeof(struct bt86_stats) % 8);
	BUILD_BUG_ON(BT86_MAX_VCPUS > BITS_PER_LONG);

	r = bt86_world_init();
	if (r)
		return r;
	r = misc_register(&bt86_misc);
	if (r)
		return r;
	pr_info("bt86: /dev/bt86 ready (API %d, %d-level monitor paging)\n",
		BT86_API_VERSION, bt86_host_la57() ? 5 : 4);
	return 0;
}

static void __exit bt86_exit(void)
{
	misc_deregister(&bt86_misc);
}

module_init(bt86_init);
module_exit(bt86_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bt86: world switch into a ring-0 monitor for binary-translated x86 guests");
