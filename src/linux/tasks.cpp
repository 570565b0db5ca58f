#include "linux/tasks.hpp"

#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

namespace pagewalk::linux_kernel {

std::string escaped(std::string_view bytes) {
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') out += ch;
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

tl::expected<uint64_t, std::string> read_ulong(VirtualMemory& vm, uint64_t va, const char* what) {
  auto v = vm.word(VirtAddr(va));
  if (!v) return tl::unexpected(fmt::format("{} at 0x{:x}: {}", what, va, v.error().reason));
  return *v;
}


std::optional<uint64_t> find_init_task(LinuxKernel& kernel, const TaskLayout& l) {
  if (auto at = kernel.symbol("init_task")) return at;
  // init_task lives in the image's .data (init/init_task.c), named "swapper/0" by init_idle
  // (kernel/sched/core.c): a task_struct there with that comm, pid 0, no mm, whose tasks
  // list links back to it.
  VirtualMemory& vm = kernel.memory();
  static constexpr char kComm[16] = "swapper/0";
  std::optional<uint64_t> found;
  kernel.scan_image([&](uint64_t va, std::span<const std::byte> page) {
    // task_struct is at least 8-aligned: comm sits at its offset's remainder.
    for (size_t at = l.task_comm % 8; at + sizeof kComm <= page.size(); at += 8) {
      if (std::memcmp(page.data() + at, kComm, sizeof kComm) != 0 || va + at < l.task_comm) continue;
      const uint64_t task = va + at - l.task_comm;
      auto pid = vm.value<int32_t>(VirtAddr(task + l.task_pid));
      auto mm = vm.word(VirtAddr(task + l.task_mm));
      auto next = vm.word(VirtAddr(task + l.task_tasks));
      if (!pid || *pid != 0 || !mm || *mm != 0 || !next) continue;
      auto back = vm.word(VirtAddr(*next + kernel.paging.mode->word_bits / 8));  // next->prev
      if (back && *back == task + l.task_tasks) {
        found = task;
        return true;
      }
    }
    return false;
  });
  return found;
}

TaskList list_tasks(LinuxKernel& kernel, const TaskLayout& l, size_t max_tasks) {
  TaskList out;
  const auto init_task = find_init_task(kernel, l);
  if (!init_task) {
    out.warnings.push_back("the kernel's symbols do not locate init_task, and no task_struct named swapper/0 with pid "
                           "0 is in the kernel image");
    return out;
  }
  VirtualMemory& vm = kernel.memory();
  auto read_task = [&](uint64_t task) -> tl::expected<Task, std::string> {
    Task t;
    t.task = task;
    auto pid = vm.value<int32_t>(VirtAddr(task + l.task_pid));
    auto tgid = vm.value<int32_t>(VirtAddr(task + l.task_tgid));
    auto comm = vm.c_string(VirtAddr(task + l.task_comm), l.comm_size);
    auto mm = vm.word(VirtAddr(task + l.task_mm));
    if (!pid || !tgid || !comm || !mm) return tl::unexpected(fmt::format("task_struct at 0x{:x} is not readable", task));
    t.pid = *pid;
    t.tgid = *tgid;
    t.comm = escaped(*comm);
    t.mm = *mm;
    if (l.task_real_parent)
      if (auto parent = vm.word(VirtAddr(task + *l.task_real_parent)))
        if (auto ptgid = vm.value<int32_t>(VirtAddr(*parent + l.task_tgid))) t.ppid = *ptgid;
    if (l.task_state) {
      auto st = vm.value<uint32_t>(VirtAddr(task + *l.task_state));
      auto ex = l.task_exit_state ? vm.value<uint32_t>(VirtAddr(task + *l.task_exit_state))
                                  : tl::expected<uint32_t, VirtReadError>(0u);
      if (st && ex) t.state = task_state_letter(*st, *ex);
    }
    if (l.task_signal && l.signal_nr_threads)
      if (auto sig = vm.word(VirtAddr(task + *l.task_signal)); sig && *sig)
        if (auto n = vm.value<int32_t>(VirtAddr(*sig + *l.signal_nr_threads))) t.threads = *n;
    if (t.mm) {
      auto pgd = vm.word(VirtAddr(t.mm + l.mm_pgd));
      if (!pgd) return tl::unexpected(fmt::format("mm_struct at 0x{:x} (pid {}) is not readable", t.mm, t.pid));
      t.pgd_va = *pgd;
      if (auto pa = vm.to_phys(VirtAddr(t.pgd_va))) t.pgd = *pa;
    }
    return t;
  };

  const uint64_t head = *init_task + l.task_tasks;
  std::unordered_set<uint64_t> seen{head};
  uint64_t at = head;
  auto first = read_task(*init_task);
  if (!first) {
    out.warnings.push_back(first.error());
    return out;
  }
  out.tasks.push_back(*first);
  while (true) {
    auto next = vm.word(VirtAddr(at));
    if (!next) {
      out.warnings.push_back(fmt::format("the task list breaks at 0x{:x}: {}", at, next.error().reason));
      break;
    }
    if (*next == head) break;
    // Only a task beyond the limit is a task left out: a ring exactly max_tasks long is whole.
    if (out.tasks.size() >= max_tasks) {
      out.warnings.push_back(fmt::format("stopped after {} tasks", max_tasks));
      break;
    }
    if (!seen.insert(*next).second) {
      out.warnings.push_back(fmt::format("the task list loops back to 0x{:x} without returning to init_task", *next));
      break;
    }
    auto t = read_task(*next - l.task_tasks);
    if (!t) {
      out.warnings.push_back(fmt::format("the task list breaks: {}", t.error()));
      break;
    }
    out.tasks.push_back(*t);
    at = *next;
  }
  return out;
}

char task_state_letter(uint32_t state, uint32_t exit_state) {
  constexpr uint32_t kTaskReport = 0x7f, kTaskIdle = 0x402, kTaskRtlockWait = 0x1000, kReportIdle = 0x80;
  uint32_t report = (state | exit_state) & kTaskReport;
  if (state == kTaskIdle) report = kReportIdle;
  if (state == kTaskRtlockWait) report = 2;  // TASK_UNINTERRUPTIBLE
  const int index = report ? 32 - __builtin_clz(report) : 0;  // fls()
  return "RSDTtXZPI"[index];
}

std::optional<bool> pti_enabled(LinuxKernel& kernel, const TaskLayout& l) {
  const auto boot_cpu_data = kernel.symbol("boot_cpu_data");
  if (!boot_cpu_data || !l.cpu_capability) return std::nullopt;
  constexpr unsigned kWord = 7, kBit = 11;  // X86_FEATURE_PTI, arch/x86/include/asm/cpufeatures.h
  auto word = kernel.memory().value<uint32_t>(VirtAddr(*boot_cpu_data + *l.cpu_capability + 4 * kWord));
  if (!word) return std::nullopt;
  return ((*word >> kBit) & 1) != 0;
}

}  // namespace pagewalk::linux_kernel
