/* Guest runtime: accessors for the Multiboot v1 information structure. */
#include "rt.h"

const struct multiboot_info *mb_info(void)
{
	if (mb_magic != MULTIBOOT_BOOT_MAGIC || !mb_info_addr)
		return NULL;
	return (const struct multiboot_info *)(uintptr_t)mb_info_addr;
}

bool mb_mem(uint32_t *lower_kb, uint32_t *upper_kb)
{
	const struct multiboot_info *mbi = mb_info();

	if (!mbi || !(mbi->flags & MB_INFO_MEM))
		return false;
	if (lower_kb)
		*lower_kb = mbi->mem_lower;
	if (upper_kb)
		*upper_kb = mbi->mem_upper;
	return true;
}

const char *mb_cmdline(void)
{
	const struct multiboot_info *mbi = mb_info();

	if (!mbi || !(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline)
		return "";
	return (const char *)(uintptr_t)mbi->cmdline;
}

const char *mb_loader_name(void)
{
	const struct multiboot_info *mbi = mb_info();

	if (!mbi || !(mbi->flags & MB_INFO_LOADER_NAME) || !mbi->boot_loader_name)
		return "";
	return (const char *)(uintptr_t)mbi->boot_loader_name;
}

int mb_mmap_foreach(void (*fn)(const struct multiboot_mmap_entry *e, void *arg),
		    void *arg)
{
	const struct multiboot_info *mbi = mb_info();
	uint32_t p, end;
	int n = 0;

	if (!mbi || !(mbi->flags & MB_INFO_MMAP))
		return 0;
	p = mbi->mmap_addr;
	end = p + mbi->mmap_length;
	/* Entries are variable-sized: size excludes the size field itself. */
	while (p + sizeof(struct multiboot_mmap_entry) <= end) {
		const struct multiboot_mmap_entry *e = (const void *)(uintptr_t)p;

		if (fn)
			fn(e, arg);
		n++;
		p += e->size + sizeof(e->size);
		if (e->size < 20)	/* malformed: avoid an endless walk */
			break;
	}
	return n;
}
