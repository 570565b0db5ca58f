// The process list: init_task's `tasks` ring, followed through the kernel's own page tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "linux/btf_layout.hpp"
#include "linux/kernel.hpp"

namespace pagewalk::linux_kernel {

// Bytes from the image as one printable ASCII line: control bytes, backslashes and
// everything above 0x7e as \xNN, so a comm can neither break a row nor a JSON string.
[[nodiscard]] std::string escaped(std::string_view bytes);

// A pointer or unsigned long of the kernel's at `va` (its word: 4 bytes on i386), or an
// error naming the member (`what`) and why it did not read.
[[nodiscard]] tl::expected<uint64_t, std::string> read_ulong(VirtualMemory& vm, uint64_t va, const char* what);

struct Task {
  uint64_t task = 0;  // VA of the task_struct
  int32_t pid = 0;
  int32_t tgid = 0;
  std::string comm;  // escaped()
  uint64_t mm = 0;      // 0 for kernel threads
  uint64_t pgd_va = 0;  // mm->pgd
  std::optional<PhysAddr> pgd;  // where the kernel's tables map pgd_va
  // Unknown when the kernel's types lack the member or its memory does not read.
  std::optional<int32_t> ppid;     // real_parent->tgid
  std::optional<char> state;       // as /proc/PID/stat: R S D T t X Z P I
  std::optional<int32_t> threads;  // signal->nr_threads
};

// The letter /proc/PID/stat shows for a task's __state and exit_state: task_state_index()
// of include/linux/sched.h (TASK_REPORT 0x7f, TASK_IDLE 0x402 reported as I,
// TASK_RTLOCK_WAIT 0x1000 as D) indexing "RSDTtXZPI" (fs/proc/array.c), as of Linux 6.x.
[[nodiscard]] char task_state_letter(uint32_t state, uint32_t exit_state);

struct TaskList {
  std::vector<Task> tasks;
  std::vector<std::string> warnings;  // a loop or a bad pointer ends the walk early
};

[[nodiscard]] TaskList list_tasks(LinuxKernel& kernel, const TaskLayout& layout, size_t max_tasks = 1u << 20);
// init_task: its symbol, else found in the kernel image by what it holds.
[[nodiscard]] std::optional<uint64_t> find_init_task(LinuxKernel& kernel, const TaskLayout& layout);

// X86_FEATURE_PTI (word 7, bit 11) in boot_cpu_data: the kernel isolates its page tables,
// and every PGD is a pair: kernel half first, user half 4 KiB above.
[[nodiscard]] std::optional<bool> pti_enabled(LinuxKernel& kernel, const TaskLayout& layout);
inline constexpr uint64_t kPtiUserPgdOffset = 0x1000;

}  // namespace pagewalk::linux_kernel
