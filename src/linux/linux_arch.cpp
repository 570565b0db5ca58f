// Which architecture's Linux rules a kernel follows.
#include "linux/linux_arch.hpp"

#include "arch/registry.hpp"
#include "linux/i386.hpp"
#include "linux/kernel.hpp"
#include "linux/vmcoreinfo.hpp"

namespace pagewalk::linux_kernel {

const LinuxArch& x86_64_linux();  // linux/x86_64.cpp

std::optional<Known> LinuxArch::default_page_offset() const { return std::nullopt; }

const LinuxArch& linux_arch_for(const PagingMode* mode) {
  if (mode && mode->arch == arch::find_architecture("x86") && mode->word_bits == 32) return i386_linux();
  return x86_64_linux();
}

const LinuxArch& linux_arch_of(const VmcoreInfo* vi, std::span<const CpuState> cpus) {
  if (vi && vi->get("CONFIG_X86_PAE") == "y") return i386_linux();
  for (const CpuState& cpu : cpus) {
    const Architecture* a = arch::find_architecture(cpu.arch);
    if (!a) continue;
    auto p = a->paging_from_cpu(cpu);
    if (p && p->mode) return linux_arch_for(p->mode);
  }
  return x86_64_linux();
}

}  // namespace pagewalk::linux_kernel
