/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The protocol between the pagewalk module (/dev/pagewalk) and its clients: one header,
 * included by the module and by the pagewalk library's kernel-module source.
 *
 * Every request starts with struct pagewalk_header: the caller's size of the whole
 * structure and the ABI version it speaks. The module answers -EINVAL to a size that is
 * not its own and -EPROTO to another version, so an old client and a new module (or the
 * reverse) fail with a clear error rather than misread each other. Reserved fields must be
 * zero (-EINVAL otherwise), so that later versions can give them a meaning.
 *
 * Nothing here writes: the module reads page tables, physical RAM pages and the CPU's
 * paging registers, and nothing else.
 *
 * Errors (negative errno from ioctl):
 *   EPERM   the caller lacks CAP_SYS_ADMIN
 *   EACCES  the kernel is locked down against raw memory access (LOCKDOWN_KCORE or _DEV_MEM)
 *   EINVAL  wrong structure size, non-zero reserved field, a read of 0 bytes, more than
 *           PAGEWALK_MAX_READ bytes, or not 8-byte aligned in address and length
 *   EPROTO  another ABI version
 *   ESRCH   no process has this pid
 *   ENODATA the pid is a kernel thread: it has no mm
 *   ERANGE  the virtual address is outside the address space (not canonical)
 *   ENXIO   a physical address outside System RAM
 *   EIO     a System RAM page the kernel itself cannot read (not in its direct map)
 *   ENOENT  the kernel's PGD is not known (a kernel without VMCOREINFO)
 */
#ifndef PAGEWALK_IOCTL_H
#define PAGEWALK_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PAGEWALK_DEVICE "/dev/pagewalk"
#define PAGEWALK_ABI_VERSION 1

/* One read returns at most this many bytes; it may cross pages, each one System RAM. */
#define PAGEWALK_MAX_READ (1u << 20)
/* pgd, p4d, pud, pmd, pte: the kernel's five levels, folded ones included. */
#define PAGEWALK_LEVELS 5
#define PAGEWALK_MAX_RAM_RANGES 256
#define PAGEWALK_MAX_REGISTERS 8

enum pagewalk_arch {
	PAGEWALK_ARCH_X86_64 = 1,
	PAGEWALK_ARCH_ARM64 = 2,
	PAGEWALK_ARCH_X86_32 = 3,
};

struct pagewalk_header {
	__u32 size;    /* sizeof the whole request structure */
	__u32 version; /* PAGEWALK_ABI_VERSION */
};

/* What the kernel is and how this CPU pages. */
struct pagewalk_info {
	struct pagewalk_header hdr;
	__u32 arch;            /* enum pagewalk_arch */
	__u32 page_shift;      /* PAGE_SHIFT */
	__u32 levels;          /* page table levels in use now (x86-64: 4 or 5) */
	__u32 flags;           /* PAGEWALK_INFO_* */
	__u64 vmcoreinfo_pa;   /* the kernel's VMCOREINFO note (0: none) */
	__u64 vmcoreinfo_size;
	__u64 kernel_pgd_pa;   /* init_mm's PGD, from VMCOREINFO (0: not known) */
	__u64 page_offset;     /* the direct map's base (x86-64: page_offset_base) */
	__u32 nregisters;
	__u32 reserved;
	/* The paging registers of the CPU that answered. x86: cr0, cr3, cr4, efer;
	 * arm64: tcr_el1, ttbr0_el1, ttbr1_el1, sctlr_el1, mair_el1, id_aa64mmfr0_el1. */
	char register_names[PAGEWALK_MAX_REGISTERS][16];
	__u64 registers[PAGEWALK_MAX_REGISTERS];
	char release[65];      /* utsname()->release */
	char pad[7];
};
#define PAGEWALK_INFO_PTI (1u << 0)         /* page-table isolation is on */
#define PAGEWALK_INFO_HIGHMEM (1u << 1)     /* RAM above the direct map exists */

/* The System RAM ranges, as /proc/iomem lists them. */
struct pagewalk_ram {
	struct pagewalk_header hdr;
	__u32 count;           /* out: how many ranges there are (may exceed the array) */
	__u32 reserved;
	struct {
		__u64 start;
		__u64 end;     /* inclusive */
	} ranges[PAGEWALK_MAX_RAM_RANGES];
};

/* Physical memory, System RAM only. */
struct pagewalk_read {
	struct pagewalk_header hdr;
	__u64 pa;
	__u64 length;          /* 8..PAGEWALK_MAX_READ, a multiple of 8 */
	__u64 buffer;          /* user pointer to length bytes */
};

/* A process's roots (pid > 0). */
struct pagewalk_roots {
	struct pagewalk_header hdr;
	__s32 pid;
	__u32 reserved;
	__u64 pgd_pa;          /* mm->pgd */
	__u64 user_pgd_pa;     /* under PTI: the user half of the PGD pair (0 otherwise) */
	char comm[16];
};

/* One level of the kernel's walk. */
struct pagewalk_level {
	__u64 table_pa;        /* the table this level's entry is in */
	__u64 entry_pa;        /* the entry */
	__u64 value;           /* its raw value */
	__u32 index;           /* the entry's index in its table */
	__u32 flags;           /* PAGEWALK_LEVEL_* */
};
#define PAGEWALK_LEVEL_FOLDED (1u << 0)   /* the level is folded into the one above */
#define PAGEWALK_LEVEL_VISITED (1u << 1)  /* the walk read this level */
#define PAGEWALK_LEVEL_LEAF (1u << 2)     /* a huge leaf (PUD/PMD) or the PTE */

/* The kernel's own walk of (pid or kernel, va), with its helpers (pgd_offset ..
 * pte_offset_map_lock). */
struct pagewalk_walk {
	struct pagewalk_header hdr;
	__s32 pid;             /* 0: the kernel's PGD (init_mm) */
	__u32 flags;           /* out: PAGEWALK_WALK_* */
	__u64 va;
	struct pagewalk_level level[PAGEWALK_LEVELS]; /* pgd, p4d, pud, pmd, pte */
	__u64 pa;              /* PAGEWALK_WALK_MAPPED: the frame of the leaf | offset */
	__u64 page_size;       /* of the leaf */
	__u64 root_pa;         /* the PGD walked */
};
#define PAGEWALK_WALK_MAPPED (1u << 0)    /* the leaf is present */
#define PAGEWALK_WALK_IN_VMA (1u << 1)    /* a VMA covers va (user walks) */
#define PAGEWALK_WALK_LOCKED (1u << 2)    /* the PTE was read under its table's lock */

#define PAGEWALK_IOC_MAGIC 0xB7
#define PAGEWALK_IOC_INFO _IOWR(PAGEWALK_IOC_MAGIC, 1, struct pagewalk_info)
#define PAGEWALK_IOC_RAM _IOWR(PAGEWALK_IOC_MAGIC, 2, struct pagewalk_ram)
#define PAGEWALK_IOC_READ _IOWR(PAGEWALK_IOC_MAGIC, 3, struct pagewalk_read)
#define PAGEWALK_IOC_ROOTS _IOWR(PAGEWALK_IOC_MAGIC, 4, struct pagewalk_roots)
#define PAGEWALK_IOC_WALK _IOWR(PAGEWALK_IOC_MAGIC, 5, struct pagewalk_walk)

#endif /* PAGEWALK_IOCTL_H */
