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

// Members read when present; the first of two names for one field that exists wins.
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
};

// Parses raw BTF (a .BTF section or /sys/kernel/btf/vmlinux) and finds the members.
[[nodiscard]] tl::expected<TaskLayout, std::string> task_layout_from_btf(std::span<const std::byte> btf);

// The same members from a vmlinux with DWARF (kernels built without BTF).
[[nodiscard]] tl::expected<TaskLayout, std::string> task_layout_from_dwarf(const std::string& vmlinux);

// The kernel's BTF, read from the image between __start_BTF and __stop_BTF.
[[nodiscard]] tl::expected<std::vector<std::byte>, std::string> read_kernel_btf(LinuxKernel& kernel);

}  // namespace pagewalk::linux_kernel
