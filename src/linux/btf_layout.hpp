// Structure member offsets from BTF, the compact type information the kernel carries in its
// own read-only data (and exports as /sys/kernel/btf/vmlinux), parsed with libbpf; or from a
// vmlinux's DWARF through libdw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace pagewalk::linux_kernel {

class LinuxKernel;

// The members a process walk needs, as byte offsets.
struct TaskLayout {
  uint64_t task_tasks = 0;      // task_struct.tasks (list_head)
  uint64_t task_pid = 0;        // task_struct.pid (pid_t)
  uint64_t task_tgid = 0;       // task_struct.tgid
  uint64_t task_comm = 0;       // task_struct.comm (char[16])
  uint64_t comm_size = 16;
  uint64_t task_mm = 0;         // task_struct.mm (struct mm_struct *)
  uint64_t mm_pgd = 0;          // mm_struct.pgd, inside an anonymous struct since Linux 6.1
  // What ps shows besides, when the kernel's types have it (an unknown column otherwise).
  std::optional<uint64_t> task_real_parent;   // task_struct.real_parent (the parent's task_struct)
  std::optional<uint64_t> task_state;         // task_struct.__state (5.14+) or .state (a long before)
  std::optional<uint64_t> task_exit_state;    // task_struct.exit_state (EXIT_ZOMBIE, EXIT_DEAD)
  std::optional<uint64_t> task_signal;        // task_struct.signal (struct signal_struct *)
  std::optional<uint64_t> signal_nr_threads;  // signal_struct.nr_threads
  std::optional<uint64_t> cpu_capability;  // cpuinfo_x86.x86_capability, for the PTI feature bit
  // A process's VMAs (maps): the maple tree of 6.1+ or the vm_next list before it, the
  // fields /proc/PID/maps prints (fs/proc/task_mmu.c, show_map_vma), and what a file's path
  // is walked through (dentries up to the mount's root, mounts up to the namespace's root).
  std::optional<uint64_t> mm_mt, mm_mmap, mt_root, mm_start_brk, mm_brk, mm_start_stack;
  std::optional<uint64_t> vma_start, vma_end, vma_next, vma_flags, vma_pgoff, vma_file, vma_ops, vma_private,
      vma_anon_name, vma_mm;
  std::optional<uint64_t> file_mnt, file_dentry, file_inode, inode_ino, inode_sb, sb_dev;
  std::optional<uint64_t> dentry_parent, dentry_name, dentry_len, mount_mnt, mount_parent, mount_mountpoint,
      vfsmount_root, anon_vma_name_name;
  // A page cache page's file: mapping->host, the inode's first dentry and its filesystem's
  // first mount.
  std::optional<uint64_t> mapping_host, inode_dentry, dentry_alias, sb_mounts, mount_instance;
  // struct page (include/linux/mm_types.h, 6.1) and the kernel's enum pageflags: the name of
  // each flag bit (PG_ dropped; the first of aliases that share a bit).
  std::optional<uint64_t> page_flags, page_refcount, page_mapcount, page_mapping, page_index, page_private,
      page_compound_head, page_compound_order, page_compound_dtor, page_compound_mapcount;
  std::vector<std::string> page_flag_names;
  // Where page->flags keeps the node and the zone (include/linux/page-flags-layout.h): the
  // zones by name (enum zone_type), and MAX_NUMNODES, read off the length of
  // zonelist._zonerefs (MAX_NUMNODES * MAX_NR_ZONES + 1).
  std::vector<std::string> zone_names;
  uint64_t max_numnodes = 0;
  // Loaded modules (kernel/module/, include/linux/module.h): the `modules` list, each
  // module's name, state, memory (core_layout and init_layout up to 6.3; since 6.4 the
  // array mem[] of struct module_memory, one per enum mod_mem_type) and its own symbol
  // table (mod_kallsyms: ELF symbols and their string table).
  std::optional<uint64_t> module_list, module_name, module_state, module_core_base, module_core_size,
      module_init_base, module_init_size, module_mem, module_memory_base, module_memory_size,
      module_memory_stride, module_kallsyms, kallsyms_symtab, kallsyms_num_symtab, kallsyms_strtab,
      kallsyms_typetab;
  std::vector<std::string> module_mem_names;  // enum mod_mem_type, MOD_ dropped ("TEXT", ...)
  std::string source;
};

// The members both readers (BTF and DWARF) look up, and where each lands in TaskLayout.
struct TaskMember {
  const char* type;
  const char* member;
  uint64_t TaskLayout::*field;
};
inline constexpr TaskMember kTaskMembers[] = {
    {"task_struct", "tasks", &TaskLayout::task_tasks}, {"task_struct", "pid", &TaskLayout::task_pid},
    {"task_struct", "tgid", &TaskLayout::task_tgid},   {"task_struct", "comm", &TaskLayout::task_comm},
    {"task_struct", "mm", &TaskLayout::task_mm},       {"mm_struct", "pgd", &TaskLayout::mm_pgd},
};

// Members read when present; the first of two names for one field that exists wins. A
// dotted member ("f_path.dentry") is a member of a member.
struct OptionalTaskMember {
  const char* type;
  const char* member;
  std::optional<uint64_t> TaskLayout::*field;
};
inline constexpr OptionalTaskMember kOptionalTaskMembers[] = {
    {"task_struct", "real_parent", &TaskLayout::task_real_parent},
    {"task_struct", "__state", &TaskLayout::task_state},  // renamed in 5.14 (commit 2f064a59a11f)
    {"task_struct", "state", &TaskLayout::task_state},    // a long: its low 32 bits on little-endian
    {"task_struct", "exit_state", &TaskLayout::task_exit_state},
    {"task_struct", "signal", &TaskLayout::task_signal},
    {"signal_struct", "nr_threads", &TaskLayout::signal_nr_threads},
    {"cpuinfo_x86", "x86_capability", &TaskLayout::cpu_capability},
    {"mm_struct", "mm_mt", &TaskLayout::mm_mt},  // the maple tree, Linux 6.1+
    {"mm_struct", "mmap", &TaskLayout::mm_mmap},  // the VMA list before it
    {"maple_tree", "ma_root", &TaskLayout::mt_root},
    {"mm_struct", "start_brk", &TaskLayout::mm_start_brk},
    {"mm_struct", "brk", &TaskLayout::mm_brk},
    {"mm_struct", "start_stack", &TaskLayout::mm_start_stack},
    {"vm_area_struct", "vm_start", &TaskLayout::vma_start},
    {"vm_area_struct", "vm_end", &TaskLayout::vma_end},
    {"vm_area_struct", "vm_next", &TaskLayout::vma_next},
    {"vm_area_struct", "vm_flags", &TaskLayout::vma_flags},
    {"vm_area_struct", "vm_pgoff", &TaskLayout::vma_pgoff},
    {"vm_area_struct", "vm_file", &TaskLayout::vma_file},
    {"vm_area_struct", "vm_ops", &TaskLayout::vma_ops},
    {"vm_area_struct", "vm_private_data", &TaskLayout::vma_private},
    {"vm_area_struct", "anon_name", &TaskLayout::vma_anon_name},
    {"vm_area_struct", "vm_mm", &TaskLayout::vma_mm},
    {"file", "f_path.mnt", &TaskLayout::file_mnt},
    {"file", "f_path.dentry", &TaskLayout::file_dentry},
    {"file", "f_inode", &TaskLayout::file_inode},
    {"inode", "i_ino", &TaskLayout::inode_ino},
    {"inode", "i_sb", &TaskLayout::inode_sb},
    {"super_block", "s_dev", &TaskLayout::sb_dev},
    {"dentry", "d_parent", &TaskLayout::dentry_parent},
    {"dentry", "d_name.name", &TaskLayout::dentry_name},
    {"dentry", "d_name.len", &TaskLayout::dentry_len},
    {"mount", "mnt", &TaskLayout::mount_mnt},
    {"mount", "mnt_parent", &TaskLayout::mount_parent},
    {"mount", "mnt_mountpoint", &TaskLayout::mount_mountpoint},
    {"vfsmount", "mnt_root", &TaskLayout::vfsmount_root},
    {"anon_vma_name", "name", &TaskLayout::anon_vma_name_name},
    {"address_space", "host", &TaskLayout::mapping_host},
    {"inode", "i_dentry", &TaskLayout::inode_dentry},
    {"dentry", "d_u.d_alias", &TaskLayout::dentry_alias},
    {"super_block", "s_mounts", &TaskLayout::sb_mounts},
    {"mount", "mnt_instance", &TaskLayout::mount_instance},
    {"page", "flags", &TaskLayout::page_flags},
    {"page", "_refcount", &TaskLayout::page_refcount},
    {"page", "_mapcount", &TaskLayout::page_mapcount},
    {"page", "mapping", &TaskLayout::page_mapping},
    {"page", "index", &TaskLayout::page_index},
    {"page", "private", &TaskLayout::page_private},
    {"page", "compound_head", &TaskLayout::page_compound_head},
    {"page", "compound_order", &TaskLayout::page_compound_order},  // in the first tail page (6.1)
    {"page", "compound_dtor", &TaskLayout::page_compound_dtor},
    {"page", "compound_mapcount", &TaskLayout::page_compound_mapcount},
    {"module", "list", &TaskLayout::module_list},
    {"module", "name", &TaskLayout::module_name},
    {"module", "state", &TaskLayout::module_state},
    {"module", "core_layout.base", &TaskLayout::module_core_base},  // up to 6.3
    {"module", "core_layout.size", &TaskLayout::module_core_size},
    {"module", "init_layout.base", &TaskLayout::module_init_base},
    {"module", "init_layout.size", &TaskLayout::module_init_size},
    {"module", "mem", &TaskLayout::module_mem},  // 6.4+ (commit ac3b43283923)
    {"module_memory", "base", &TaskLayout::module_memory_base},
    {"module_memory", "size", &TaskLayout::module_memory_size},
    {"module", "kallsyms", &TaskLayout::module_kallsyms},
    {"mod_kallsyms", "symtab", &TaskLayout::kallsyms_symtab},
    {"mod_kallsyms", "num_symtab", &TaskLayout::kallsyms_num_symtab},
    {"mod_kallsyms", "strtab", &TaskLayout::kallsyms_strtab},
    {"mod_kallsyms", "typetab", &TaskLayout::kallsyms_typetab},
};

// Whole structure sizes, for arrays of them.
struct TypeSize {
  const char* type;
  std::optional<uint64_t> TaskLayout::*field;
};
inline constexpr TypeSize kTypeSizes[] = {
    {"module_memory", &TaskLayout::module_memory_stride},
};

// The enums whose names the layout keeps, by value: `prefix` dropped, the first of names
// that share a value, none for the counters (__NR_..., `count_name`) or for values outside
// [0, limit).
struct EnumNames {
  const char* type;
  std::string_view prefix;
  int64_t limit;
  std::string_view count_name;
  std::vector<std::string> TaskLayout::*field;
};
inline constexpr EnumNames kEnumNames[] = {
    // PG_locked = 0 ... __NR_PAGEFLAGS (include/linux/page-flags.h).
    {"pageflags", "PG_", 64, {}, &TaskLayout::page_flag_names},
    {"zone_type", "ZONE_", 16, {}, &TaskLayout::zone_names},
    // MOD_TEXT = 0 ... MOD_MEM_NUM_TYPES (include/linux/module.h, 6.4+).
    {"mod_mem_type", "MOD_", 16, "MOD_MEM_NUM_TYPES", &TaskLayout::module_mem_names},
};
// One enumerator into its enum's list (both readers call it for every enumerator).
void put_enum_name(TaskLayout& l, const EnumNames& e, std::string_view name, int64_t value);
// MAX_NUMNODES from the length of zonelist._zonerefs (MAX_NUMNODES * MAX_NR_ZONES + 1), once
// the zones are known.
void set_max_numnodes(TaskLayout& l, uint64_t zonerefs);

// Parses raw BTF (a .BTF section or /sys/kernel/btf/vmlinux) and finds the members.
[[nodiscard]] tl::expected<TaskLayout, std::string> task_layout_from_btf(std::span<const std::byte> btf);

// The same members from a vmlinux with DWARF (kernels built without BTF).
[[nodiscard]] tl::expected<TaskLayout, std::string> task_layout_from_dwarf(const std::string& vmlinux);

// The kernel's BTF, read from the image between __start_BTF and __stop_BTF.
[[nodiscard]] tl::expected<std::vector<std::byte>, std::string> read_kernel_btf(LinuxKernel& kernel);

}  // namespace pagewalk::linux_kernel
