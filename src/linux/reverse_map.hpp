// The reverse map of a memory image: every (process, VA) and every kernel VA whose page
// tables map a given physical address. One pass answers any number of addresses: the
// kernel's own tables are enumerated once (every process shares their kernel half) and
// each process's user half once, and each leaf is looked up among the sorted addresses.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/enumerate.hpp"
#include "linux/kernel.hpp"
#include "linux/tasks.hpp"

namespace pagewalk::linux_kernel {

struct FrameMapper {
  size_t query = 0;             // index into the asked addresses
  std::optional<int32_t> pid;   // nullopt: a mapping in the kernel's own tables
  std::string comm;
  VirtAddr va;                  // the VA of the asked byte
  uint64_t page_size = 0;
  uint8_t level = 0;
  uint8_t region = 0;           // the paging mode's region (level counts in its tree)
  uint64_t raw = 0;             // the leaf entry
  Access access;
};

struct ReverseMapOptions {
  std::optional<int32_t> pid;   // only this process (and no kernel pass)
  bool kernel = true;           // the kernel's tables too
  uint64_t max_entries = 0;     // per address space; 0: default_max_entries of the memory
  std::function<void(size_t done, size_t total)> progress;
};

struct ReverseMapResult {
  std::vector<FrameMapper> mappers;  // by query, then the kernel first, then by pid, then by VA
  size_t address_spaces = 0;         // the kernel's tables and the processes' walked
  uint64_t leaves = 0;               // leaf entries examined
  std::vector<std::string> warnings; // a process whose tables could not be read, a truncated walk
};

// `tasks` from list_tasks; kernel threads (no mm) and tasks that share an mm are walked
// once. x86-64 keeps user space in the lower half (the mode's first region): processes are
// walked there, the kernel everywhere else.
[[nodiscard]] ReverseMapResult reverse_map(LinuxKernel& kernel, const std::vector<Task>& tasks,
                                           std::span<const PhysAddr> pas, const ReverseMapOptions& options = {});

}  // namespace pagewalk::linux_kernel
