// Any bytes as a kernel's memory: the first line (to a NUL) is its VMCOREINFO, the rest its
// physical memory from PA 0. Discovery, the in-memory kallsyms decoder and the task-list walk
// must end, within their bounds, whatever pointers they follow.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include <fmt/format.h>

#include "arch/x86/x86_modes.hpp"
#include "linux/kernel.hpp"
#include "linux/tasks.hpp"
#include "sources/segmented_memory.hpp"

using namespace pagewalk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, std::min<size_t>(size, 4096)));
  if (!nul) return 0;
  const std::string vmcoreinfo(reinterpret_cast<const char*>(data), static_cast<size_t>(nul - data));
  const size_t mem_off = static_cast<size_t>(nul - data) + 1;
  if (size - mem_off < 4096) return 0;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + mem_off, size - mem_off);
  auto mem = SegmentedMemory::create(bytes, {{PhysAddr(0), 0, bytes.size(), bytes.size()}});
  if (!mem) return 0;
  linux_kernel::KernelInputs in;
  in.memory = mem->get();
  in.vmcoreinfo_note = vmcoreinfo;
  // init_task somewhere in the first page of the memory's direct map, chosen by the input.
  uint64_t init_off;
  std::memcpy(&init_off, bytes.data(), sizeof init_off);
  in.symbol_text = fmt::format("ffffffff81000000 T _text\n{:016x} D init_task\n",
                               0xffff888000000000 + (init_off % bytes.size()));
  in.symbol_text_name = "fuzz";
  in.overrides = {{"phys_base", 0}, {"pgd", 0xffffffff80000000}, {"page_offset_base", 0xffff888000000000}};
  auto k = linux_kernel::LinuxKernel::discover(in);
  if (!k) return 0;
  linux_kernel::TaskLayout layout;
  layout.task_tasks = 0x100, layout.task_pid = 0x200, layout.task_tgid = 0x204;
  layout.task_comm = 0x300, layout.task_mm = 0x310, layout.mm_pgd = 0x50;
  const auto list = linux_kernel::list_tasks(**k, layout, 4096);
  if (list.tasks.size() > 4096) __builtin_trap();
  (void)linux_kernel::pti_enabled(**k, layout);
  return 0;
}
