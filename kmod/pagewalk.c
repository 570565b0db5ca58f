// SPDX-License-Identifier: GPL-2.0
/*
 * pagewalk.ko: a read-only window on the page tables and physical RAM of the running
 * kernel, for machines without /proc/kcore.
 *
 *   insmod pagewalk.ko                  registers /dev/pagewalk (the protocol is in
 *                                       pagewalk_ioctl.h)
 *   insmod pagewalk.ko pid=N va=X       prints the kernel's walk of X in process N to the
 *   insmod pagewalk.ko kernel=1 va=X    kernel log (or of X in init_mm), one line per level;
 *                                       add device=1 to register the device as well
 *
 * The module writes nothing: no page table, no memory, no register. Every request needs
 * CAP_SYS_ADMIN and is refused while the kernel is locked down against raw memory access.
 * A process's tables are walked with its mm held (get_task_mm) and mmap_read_lock taken;
 * where a VMA covers the address the PTE is read under its table's lock
 * (pte_offset_map_lock), elsewhere (and for the kernel's tables, which have no lock) with
 * interrupts off, which keeps page-table pages from being freed under the walk as the
 * kernel's own lockless walkers do (perf_get_pgtable_size in kernel/events/core.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/crash_core.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/pgtable.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <asm/io.h>

#include "pagewalk_ioctl.h"

static int walk_pid = -1;
module_param_named(pid, walk_pid, int, 0444);
MODULE_PARM_DESC(pid, "with va=: print the kernel's walk of va in this process to the kernel log");
static unsigned long walk_va;
module_param_named(va, walk_va, ulong, 0444);
MODULE_PARM_DESC(va, "the virtual address to walk at load time");
static bool walk_kernel;
module_param_named(kernel, walk_kernel, bool, 0444);
MODULE_PARM_DESC(kernel, "with va=: walk va in the kernel's own tables (init_mm)");
static bool want_device;
module_param_named(device, want_device, bool, 0444);
MODULE_PARM_DESC(device, "register /dev/pagewalk even when pid= or kernel= asked for a walk");

/* ---- facts of the running kernel ------------------------------------------------------ */

/* The VMCOREINFO note's text (kernel/crash_core.c): "KEY=VALUE\n" lines after the note
 * header and the name "VMCOREINFO". */
static const char *vmcoreinfo_text(size_t *len)
{
#ifdef CONFIG_CRASH_CORE
	const struct elf_note *n = __va(paddr_vmcoreinfo_note());
	const size_t name = ALIGN(n->n_namesz, 4);

	if (n->n_namesz != sizeof("VMCOREINFO") || memcmp(n + 1, "VMCOREINFO", n->n_namesz) ||
	    n->n_descsz > VMCOREINFO_BYTES)
		return NULL;
	*len = n->n_descsz;
	return (const char *)(n + 1) + name;
#else
	return NULL;
#endif
}

/* A hexadecimal VMCOREINFO value ("SYMBOL(swapper_pg_dir)=ffffffff..."), 0 if absent. */
static unsigned long vmcoreinfo_value(const char *key)
{
	size_t len, klen = strlen(key);
	const char *t = vmcoreinfo_text(&len), *end;
	unsigned long v;

	if (!t)
		return 0;
	for (end = t + len; t < end;) {
		const char *nl = memchr(t, '\n', end - t);
		size_t line = nl ? nl - t : end - t;
		char buf[24];

		if (line > klen && line - klen < sizeof(buf) && !memcmp(t, key, klen) && t[klen] == '=') {
			memcpy(buf, t + klen + 1, line - klen - 1);
			buf[line - klen - 1] = 0;
			return kstrtoul(buf, 16, &v) ? 0 : v;
		}
		t += line + 1;
	}
	return 0;
}

/* init_mm's PGD, which the module cannot name (init_mm is not exported): VMCOREINFO gives
 * its symbol (x86-64 init_top_pgt, elsewhere swapper_pg_dir; arch/.../crash_core_*.c). */
static pgd_t *kernel_pgd(void)
{
	unsigned long va = vmcoreinfo_value(IS_ENABLED(CONFIG_X86_64) ? "SYMBOL(init_top_pgt)" :
									 "SYMBOL(swapper_pg_dir)");

	return va ? (pgd_t *)__va(__pa_symbol(va)) : NULL;
}

static bool locked_down(void)
{
	return security_locked_down(LOCKDOWN_KCORE) || security_locked_down(LOCKDOWN_DEV_MEM);
}

/* Canonical for this CPU's paging (ERANGE otherwise). */
static bool va_in_address_space(u64 va)
{
#ifdef CONFIG_X86_64
	const unsigned int bits = pgtable_l5_enabled() ? 57 : 48;
	const s64 sext = (s64)(va << (64 - bits)) >> (64 - bits);

	return (u64)sext == va;
#elif defined(CONFIG_X86_32)
	return va <= 0xffffffffull;
#else
	return true;
#endif
}

/* ---- the walk ----------------------------------------------------------------------- */

static void set_level(struct pagewalk_walk *w, int i, u64 table_pa, unsigned int index, unsigned int entry_size,
		      u64 value, bool folded)
{
	struct pagewalk_level *l = &w->level[i];

	if (folded && i > 0) {
		*l = w->level[i - 1];
		l->flags = PAGEWALK_LEVEL_FOLDED | PAGEWALK_LEVEL_VISITED;
		return;
	}
	l->table_pa = table_pa;
	l->index = index;
	l->entry_pa = table_pa + (u64)index * entry_size;
	l->value = value;
	l->flags = PAGEWALK_LEVEL_VISITED;
}

static void set_leaf(struct pagewalk_walk *w, int i, u64 frame_pa, u64 size)
{
	w->level[i].flags |= PAGEWALK_LEVEL_LEAF;
	w->flags |= PAGEWALK_WALK_MAPPED;
	w->page_size = size;
	w->pa = frame_pa | (w->va & (size - 1));
}

/* The walk itself, with the kernel's helpers. The upper levels are read once each
 * (READ_ONCE) and followed from the copy (the *_offset_lockless helpers), as GUP-fast does.
 * With `mm`, the PTE is read under its lock; without, the caller has interrupts off. */
static void walk_tables(struct mm_struct *mm, pgd_t *pgd_base, struct pagewalk_walk *w)
{
	const unsigned long va = w->va;
	pgd_t *pgdp = pgd_base + pgd_index(va), pgd = READ_ONCE(*pgdp);
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t *pmdp, pmd;
	pte_t *ptep, pte;
	spinlock_t *ptl = NULL;

	w->root_pa = virt_to_phys(pgd_base);
	set_level(w, 0, w->root_pa, pgd_index(va), sizeof(pgd_t), pgd_val(pgd), false);
	if (pgd_none(pgd) || pgd_bad(pgd))
		return;

	p4dp = p4d_offset_lockless(pgdp, pgd, va);
	p4d = READ_ONCE(*p4dp);
	set_level(w, 1, PTRS_PER_P4D > 1 ? virt_to_phys(p4dp) - p4d_index(va) * sizeof(p4d_t) : 0,
		  p4d_index(va), sizeof(p4d_t), p4d_val(p4d), PTRS_PER_P4D == 1);
	if (p4d_none(p4d) || p4d_bad(p4d))
		return;

	pudp = pud_offset_lockless(p4dp, p4d, va);
	pud = READ_ONCE(*pudp);
	set_level(w, 2, PTRS_PER_PUD > 1 ? virt_to_phys(pudp) - pud_index(va) * sizeof(pud_t) : 0,
		  pud_index(va), sizeof(pud_t), pud_val(pud), PTRS_PER_PUD == 1);
	if (pud_none(pud) || !pud_present(pud))
		return;
	if (pud_leaf(pud)) {
		set_leaf(w, 2, (u64)pud_pfn(pud) << PAGE_SHIFT, PUD_SIZE);
		return;
	}
	if (pud_bad(pud))
		return;

	pmdp = pmd_offset_lockless(pudp, pud, va);
	pmd = READ_ONCE(*pmdp);
	set_level(w, 3, PTRS_PER_PMD > 1 ? virt_to_phys(pmdp) - pmd_index(va) * sizeof(pmd_t) : 0,
		  pmd_index(va), sizeof(pmd_t), pmd_val(pmd), PTRS_PER_PMD == 1);
	if (pmd_none(pmd) || !pmd_present(pmd))
		return;
	if (pmd_leaf(pmd)) {
		set_leaf(w, 3, (u64)pmd_pfn(pmd) << PAGE_SHIFT, PMD_SIZE);
		return;
	}
	if (pmd_bad(pmd))
		return;

	/* The PTE table may be in highmem (CONFIG_HIGHPTE): map it, and name it by its frame. */
	if (mm) {
		ptep = pte_offset_map_lock(mm, pmdp, va, &ptl);
		w->flags |= PAGEWALK_WALK_LOCKED;
	} else {
		ptep = pte_offset_map(&pmd, va);
	}
	if (!ptep)
		return;
	pte = READ_ONCE(*ptep);
	/* pmdp's value may have changed between the read above and the lock: name the table
	 * the PTE was read from. */
	set_level(w, 4, mm ? (u64)pmd_pfn(READ_ONCE(*pmdp)) << PAGE_SHIFT : (u64)pmd_pfn(pmd) << PAGE_SHIFT,
		  pte_index(va), sizeof(pte_t), pte_val(pte), false);
	if (ptl)
		pte_unmap_unlock(ptep, ptl);
	else
		pte_unmap(ptep);
	if (pte_present(pte))
		set_leaf(w, 4, (u64)pte_pfn(pte) << PAGE_SHIFT, PAGE_SIZE);
}

/* Kernel tables (pid 0): init_mm's PGD, walked with interrupts off. */
static int walk_kernel_va(struct pagewalk_walk *w)
{
	pgd_t *pgd = kernel_pgd();
	unsigned long irq;

	if (!pgd)
		return -ENOENT;
	local_irq_save(irq);
	walk_tables(NULL, pgd, w);
	local_irq_restore(irq);
	return 0;
}

static struct task_struct *task_of(pid_t nr)
{
	struct pid *pid = nr > 0 ? find_get_pid(nr) : NULL;
	struct task_struct *task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;

	put_pid(pid);
	return task;
}

/* A process's mm, held (mmput when done); an error pointer for no process or no mm. */
static struct mm_struct *mm_of(pid_t nr, char *comm)
{
	struct task_struct *task = task_of(nr);
	struct mm_struct *mm;

	if (!task)
		return ERR_PTR(-ESRCH);
	mm = get_task_mm(task);
	if (comm)
		__get_task_comm(comm, TASK_COMM_LEN, task);
	put_task_struct(task);
	return mm ? mm : ERR_PTR(-ENODATA);
}

static int walk_process_va(struct pagewalk_walk *w)
{
	struct mm_struct *mm = mm_of(w->pid, NULL);
	unsigned long irq;
	int err;

	if (IS_ERR(mm))
		return PTR_ERR(mm);
	err = mmap_read_lock_killable(mm);
	if (err)
		goto out;
	if (vma_lookup(mm, w->va)) {
		/* With a VMA over va and the lock held, no table on the path can be freed. */
		w->flags |= PAGEWALK_WALK_IN_VMA;
		walk_tables(mm, mm->pgd, w);
	} else {
		/* No VMA: munmap may be freeing these tables (free_pgtables runs under the read
		 * lock); with interrupts off their pages stay ours until the walk ends. */
		local_irq_save(irq);
		walk_tables(NULL, mm->pgd, w);
		local_irq_restore(irq);
	}
	mmap_read_unlock(mm);
out:
	mmput(mm);
	return err;
}

static int do_walk(struct pagewalk_walk *w)
{
	const u64 va = w->va;
	const s32 pid = w->pid;

	memset(w, 0, sizeof(*w));
	w->hdr.size = sizeof(*w);
	w->hdr.version = PAGEWALK_ABI_VERSION;
	w->pid = pid;
	w->va = va;
	if (pid < 0)
		return -ESRCH;
	if (!va_in_address_space(va))
		return -ERANGE;
	return pid == 0 ? walk_kernel_va(w) : walk_process_va(w);
}

/* ---- the other requests ------------------------------------------------------------- */

static int do_info(struct pagewalk_info *info)
{
	size_t vlen = 0;
	unsigned int n = 0;
	pgd_t *kpgd = kernel_pgd();

	memset(info, 0, sizeof(*info));
	info->hdr.size = sizeof(*info);
	info->hdr.version = PAGEWALK_ABI_VERSION;
	info->page_shift = PAGE_SHIFT;
	info->levels = CONFIG_PGTABLE_LEVELS;
#ifdef CONFIG_X86_64
	/* Built for 5 levels, x86-64 runs 4 without LA57 (arch/x86/include/asm/pgtable_64_types.h). */
	if (!pgtable_l5_enabled())
		info->levels = 4;
#endif
#ifdef CONFIG_CRASH_CORE
	if (vmcoreinfo_text(&vlen)) {
		info->vmcoreinfo_pa = paddr_vmcoreinfo_note();
		info->vmcoreinfo_size = VMCOREINFO_NOTE_SIZE;
	}
#endif
	info->kernel_pgd_pa = kpgd ? virt_to_phys(kpgd) : 0;
	info->page_offset = PAGE_OFFSET;
#ifdef CONFIG_HIGHMEM
	info->flags |= PAGEWALK_INFO_HIGHMEM;
#endif
#define REG(name, value)                                                                         \
	do {                                                                                     \
		strscpy(info->register_names[n], name, sizeof(info->register_names[n]));         \
		info->registers[n++] = (value);                                                  \
	} while (0)
#if defined(CONFIG_X86)
	{
		u64 efer = 0;

		info->arch = IS_ENABLED(CONFIG_X86_64) ? PAGEWALK_ARCH_X86_64 : PAGEWALK_ARCH_X86_32;
		if (boot_cpu_has(X86_FEATURE_PTI))
			info->flags |= PAGEWALK_INFO_PTI;
		if (boot_cpu_has(X86_FEATURE_LM) || boot_cpu_has(X86_FEATURE_NX))
			rdmsrl_safe(MSR_EFER, &efer);
		preempt_disable();
		REG("cr0", read_cr0());
		REG("cr3", __read_cr3());
		REG("cr4", __read_cr4());
		REG("efer", efer);
		preempt_enable();
	}
#elif defined(CONFIG_ARM64)
	info->arch = PAGEWALK_ARCH_ARM64;
	preempt_disable();
	REG("tcr_el1", read_sysreg(tcr_el1));
	REG("ttbr0_el1", read_sysreg(ttbr0_el1));
	REG("ttbr1_el1", read_sysreg(ttbr1_el1));
	REG("sctlr_el1", read_sysreg(sctlr_el1));
	REG("mair_el1", read_sysreg(mair_el1));
	REG("id_aa64mmfr0_el1", read_sysreg(id_aa64mmfr0_el1));
	preempt_enable();
#endif
#undef REG
	info->nregisters = n;
	strscpy(info->release, utsname()->release, sizeof(info->release));
	return 0;
}

static int add_ram_range(struct resource *res, void *arg)
{
	struct pagewalk_ram *ram = arg;

	if (ram->count < PAGEWALK_MAX_RAM_RANGES) {
		ram->ranges[ram->count].start = res->start;
		ram->ranges[ram->count].end = res->end;
	}
	ram->count++;
	return 0;
}

static int do_ram(struct pagewalk_ram *ram)
{
	memset(ram, 0, sizeof(*ram));
	ram->hdr.size = sizeof(*ram);
	ram->hdr.version = PAGEWALK_ABI_VERSION;
	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1, ram, add_ram_range);
	return 0;
}

/* Copies System RAM to the user, page by page, through a bounce page: the kernel's own
 * copy may fault (a page outside its direct map) and must not sleep while mapped. */
static int do_read(const struct pagewalk_read *r)
{
	void __user *out = u64_to_user_ptr(r->buffer);
	u64 pa = r->pa, left = r->length;
	void *bounce;
	int err = 0;

	if (!left || left > PAGEWALK_MAX_READ || (pa | left) & 7 || pa + left < pa)
		return -EINVAL;
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (left) {
		const unsigned long pfn = PHYS_PFN(pa);
		const size_t off = offset_in_page(pa), n = min_t(u64, left, PAGE_SIZE - off);
		void *kaddr;
		long fault;

		if (!pfn_valid(pfn) || !page_is_ram(pfn)) {
			err = -ENXIO;
			break;
		}
		kaddr = kmap_local_page(pfn_to_page(pfn));
		fault = copy_from_kernel_nofault(bounce, kaddr + off, n);
		kunmap_local(kaddr);
		if (fault) {
			err = -EIO;
			break;
		}
		if (copy_to_user(out, bounce, n)) {
			err = -EFAULT;
			break;
		}
		out += n;
		pa += n;
		left -= n;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
	}
	kfree(bounce);
	return err;
}

static int do_roots(struct pagewalk_roots *r)
{
	const s32 pid = r->pid;
	struct mm_struct *mm;

	memset(r, 0, sizeof(*r));
	r->hdr.size = sizeof(*r);
	r->hdr.version = PAGEWALK_ABI_VERSION;
	r->pid = pid;
	mm = mm_of(pid, r->comm);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	r->pgd_pa = virt_to_phys(mm->pgd);
#ifdef CONFIG_PAGE_TABLE_ISOLATION
	/* The user half of the pair is the page after the kernel half
	 * (arch/x86/include/asm/pgtable.h, kernel_to_user_pgdp). */
	if (boot_cpu_has(X86_FEATURE_PTI))
		r->user_pgd_pa = r->pgd_pa + PAGE_SIZE;
#endif
	mmput(mm);
	return 0;
}

/* ---- the device --------------------------------------------------------------------- */

static bool reserved_clear(unsigned int cmd, const void *arg)
{
	switch (cmd) {
	case PAGEWALK_IOC_INFO:
		return !((const struct pagewalk_info *)arg)->reserved;
	case PAGEWALK_IOC_RAM:
		return !((const struct pagewalk_ram *)arg)->reserved;
	case PAGEWALK_IOC_ROOTS:
		return !((const struct pagewalk_roots *)arg)->reserved;
	case PAGEWALK_IOC_WALK:
		return !((const struct pagewalk_walk *)arg)->flags;
	default:
		return true;
	}
}

static long pagewalk_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	void __user *user = (void __user *)uarg;
	struct pagewalk_header hdr;
	size_t size;
	void *arg;
	long err;

	if (_IOC_TYPE(cmd) != PAGEWALK_IOC_MAGIC)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(PAGEWALK_IOC_INFO): size = sizeof(struct pagewalk_info); break;
	case _IOC_NR(PAGEWALK_IOC_RAM): size = sizeof(struct pagewalk_ram); break;
	case _IOC_NR(PAGEWALK_IOC_READ): size = sizeof(struct pagewalk_read); break;
	case _IOC_NR(PAGEWALK_IOC_ROOTS): size = sizeof(struct pagewalk_roots); break;
	case _IOC_NR(PAGEWALK_IOC_WALK): size = sizeof(struct pagewalk_walk); break;
	default: return -ENOTTY;
	}
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (locked_down())
		return -EACCES;
	/* A client built against another layout: its command carries another size. */
	if (_IOC_SIZE(cmd) != size || _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -EINVAL;
	if (copy_from_user(&hdr, user, sizeof(hdr)))
		return -EFAULT;
	if (hdr.size != size)
		return -EINVAL;
	if (hdr.version != PAGEWALK_ABI_VERSION)
		return -EPROTO;
	arg = kmalloc(size, GFP_KERNEL);
	if (!arg)
		return -ENOMEM;
	if (copy_from_user(arg, user, size)) {
		err = -EFAULT;
		goto out;
	}
	if (!reserved_clear(cmd, arg)) {
		err = -EINVAL;
		goto out;
	}
	switch (cmd) {
	case PAGEWALK_IOC_INFO: err = do_info(arg); break;
	case PAGEWALK_IOC_RAM: err = do_ram(arg); break;
	case PAGEWALK_IOC_READ: err = do_read(arg); goto out; /* nothing to copy back */
	case PAGEWALK_IOC_ROOTS: err = do_roots(arg); break;
	case PAGEWALK_IOC_WALK: err = do_walk(arg); break;
	default: err = -ENOTTY; break;
	}
	if (!err && copy_to_user(user, arg, size))
		err = -EFAULT;
out:
	kfree(arg);
	return err;
}

static int pagewalk_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return locked_down() ? -EACCES : 0;
}

static const struct file_operations pagewalk_fops = {
	.owner = THIS_MODULE,
	.open = pagewalk_open,
	.unlocked_ioctl = pagewalk_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice pagewalk_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pagewalk",
	.fops = &pagewalk_fops,
	.mode = 0600,
};
static bool device_registered;

/* ---- insmod pid= va=: the articles' form -------------------------------------------- */

static const char *const level_names[PAGEWALK_LEVELS] = { "pgd", "p4d", "pud", "pmd", "pte" };

static void log_flags(u64 v, char *buf, size_t size)
{
	size_t at = 0;

	buf[0] = 0;
#ifdef CONFIG_X86
	/* arch/x86/include/asm/pgtable_types.h; bit 7 is PSE in a PUD/PMD leaf, PAT in a PTE. */
	{
		static const struct { u64 bit; const char *name; } bits[] = {
			{ _PAGE_PRESENT, "present" }, { _PAGE_RW, "rw" }, { _PAGE_USER, "user" },
			{ _PAGE_PWT, "pwt" }, { _PAGE_PCD, "pcd" }, { _PAGE_ACCESSED, "accessed" },
			{ _PAGE_DIRTY, "dirty" }, { _PAGE_GLOBAL, "global" }, { _PAGE_NX, "nx" },
		};
		int i;

		for (i = 0; i < ARRAY_SIZE(bits); i++)
			if (v & bits[i].bit)
				at += scnprintf(buf + at, size - at, "%s%s", at ? " " : "", bits[i].name);
	}
#else
	scnprintf(buf, size, "raw 0x%llx", v);
#endif
}

static int log_walk(void)
{
	struct pagewalk_walk w = { .pid = walk_kernel ? 0 : walk_pid, .va = walk_va };
	char comm[TASK_COMM_LEN] = "kernel", flags[96];
	int err, i, last = -1;

	if (locked_down())
		return -EACCES;
	if (!walk_kernel) {
		struct mm_struct *mm = mm_of(walk_pid, comm);

		if (IS_ERR(mm)) {
			pr_err("pid %d: %s\n", walk_pid, PTR_ERR(mm) == -ESRCH ? "no such process" :
				"a kernel thread, with no mm (use kernel=1)");
			return PTR_ERR(mm);
		}
		mmput(mm);
	}
	err = do_walk(&w);
	if (err) {
		pr_err("va 0x%lx: %s (%d)\n", walk_va, err == -ERANGE ? "outside the address space" :
		       err == -ENOENT ? "the kernel's PGD is not known (no VMCOREINFO)" : "walk failed", err);
		return err;
	}
	if (walk_kernel)
		pr_info("kernel (init_mm) va 0x%016lx, root 0x%llx\n", walk_va, w.root_pa);
	else
		pr_info("pid %d (%s) va 0x%016lx, root 0x%llx\n", walk_pid, comm, walk_va, w.root_pa);
	for (i = 0; i < PAGEWALK_LEVELS; i++) {
		const struct pagewalk_level *l = &w.level[i];

		if (!(l->flags & PAGEWALK_LEVEL_VISITED))
			break;
		last = i;
		if (l->flags & PAGEWALK_LEVEL_FOLDED) {
			pr_info("%s folded into %s\n", level_names[i], level_names[i - 1]);
			continue;
		}
		pr_info("%s_val = 0x%016llx, %s_index = %u (entry at 0x%llx)\n", level_names[i], l->value,
			level_names[i], l->index, l->entry_pa);
	}
	if (!(w.flags & PAGEWALK_WALK_MAPPED)) {
		pr_info("va 0x%lx is not mapped: %s is not present\n", walk_va, last >= 0 ? level_names[last] : "pgd");
		return 0;
	}
	log_flags(w.level[last].value, flags, sizeof(flags));
	/* The frame is the entry's PFN field (pte_pfn and friends), never value & PAGE_MASK,
	 * which keeps the NX bit (63) and the software bits above the frame. */
	pr_info("pa = 0x%llx (frame 0x%llx, %llu KiB page), flags: %s\n", w.pa, w.pa & ~(w.page_size - 1),
		w.page_size >> 10, flags);
	return 0;
}

static int __init pagewalk_init(void)
{
	const bool walk = walk_kernel || walk_pid >= 0;
	int err;

	if (walk) {
		err = log_walk();
		if (err)
			return err;
		if (!want_device)
			return 0;
	}
	err = misc_register(&pagewalk_device);
	if (err)
		return err;
	device_registered = true;
	pr_info("/dev/%s ready (ABI %d)\n", pagewalk_device.name, PAGEWALK_ABI_VERSION);
	return 0;
}

static void __exit pagewalk_exit(void)
{
	if (device_registered)
		misc_deregister(&pagewalk_device);
}

module_init(pagewalk_init);
module_exit(pagewalk_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pagewalk: read-only page-table walks and physical RAM reads for the pagewalk tool");
