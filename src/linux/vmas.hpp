// A process's VMAs from the kernel's own structures, as /proc/PID/maps shows them
// (fs/proc/task_mmu.c, show_map_vma, Linux 6.1): the mm's maple tree (Linux 6.1+,
// include/linux/maple_tree.h) or its vm_next list (before), each VMA's range, rights,
// offset, device, inode and name (a file's path through its dentries and mounts, or
// [heap], [stack], [vdso], [vvar], [anon:NAME]); the vsyscall page last, as maps adds it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "linux/btf_layout.hpp"
#include "linux/kernel.hpp"
#include "linux/tasks.hpp"

namespace pagewalk::linux_kernel {

// vm_flags bits maps prints (include/linux/mm.h).
inline constexpr uint64_t kVmRead = 0x1, kVmWrite = 0x2, kVmExec = 0x4, kVmMayShare = 0x80;

struct Vma {
  uint64_t start = 0, end = 0;  // [start, end)
  uint64_t flags = 0;           // vm_flags
  uint64_t offset = 0;          // vm_pgoff << PAGE_SHIFT for a file, 0 otherwise
  uint32_t major = 0, minor = 0;
  uint64_t inode = 0;
  std::string name;  // a path, a [bracketed] name, or "" for an anonymous mapping
  uint64_t vma = 0;  // the vm_area_struct's VA (0 for the vsyscall page)

  // "r-xp" as maps prints it.
  [[nodiscard]] std::string perms() const;
};

struct VmaList {
  std::vector<Vma> vmas;              // by start
  std::string source;                 // "the maple tree mm->mm_mt", "the list mm->mmap"
  std::vector<std::string> warnings;  // a node or VMA that did not read; a loop
};

// Fails when the kernel's types lack what the walk needs.
[[nodiscard]] tl::expected<VmaList, std::string> list_vmas(LinuxKernel& kernel, const TaskLayout& layout,
                                                           const Task& task, size_t max_vmas = 1u << 20);

}  // namespace pagewalk::linux_kernel
