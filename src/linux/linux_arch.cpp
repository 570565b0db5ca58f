// Which architecture's Linux rules a kernel follows.
#include "linux/linux_arch.hpp"

#include <fmt/format.h>

#include "arch/registry.hpp"
#include "linux/arm64.hpp"
#include "linux/i386.hpp"
#include "linux/kernel.hpp"
#include "linux/tasks.hpp"
#include "linux/vmcoreinfo.hpp"

namespace pagewalk::linux_kernel {

const LinuxArch& x86_64_linux();  // linux/x86_64.cpp

std::optional<Known> LinuxArch::default_page_offset() const { return std::nullopt; }

bool has_linux_rules(const PagingMode* mode) {
  return !mode || mode->arch == arch::find_architecture("x86") || mode->arch == arch::find_architecture("arm64");
}

const LinuxArch& linux_arch_for(const PagingMode* mode) {
  if (mode && mode->arch == arch::find_architecture("arm64")) return arm64_linux();
  if (mode && has_linux_rules(mode) && mode->word_bits == 32) return i386_linux();
  return x86_64_linux();
}

const LinuxArch& linux_arch_of(const VmcoreInfo* vi, std::span<const CpuState> cpus) {
  if (vi && vi->get("CONFIG_X86_PAE") == "y") return i386_linux();
  // Only arm64 writes these (arch/arm64/kernel/crash_core.c).
  if (vi && (vi->number("kimage_voffset") || vi->number("TCR_EL1_T1SZ"))) return arm64_linux();
  for (const CpuState& cpu : cpus) {
    const Architecture* a = arch::find_architecture(cpu.arch);
    if (!a) continue;
    auto p = a->paging_from_cpu(cpu);
    if (p && p->mode && has_linux_rules(p->mode)) return linux_arch_for(p->mode);
  }
  return x86_64_linux();
}

KernelSummary summarize_kernel(const VmcoreInfo& vi, std::span<const CpuState> cpus) {
  const LinuxArch& a = linux_arch_of(&vi, cpus);
  KernelSummary s;
  s.arch = a.name();
  s.mode = a.mode(&vi, cpus, s.mode_source);
  for (std::string_view name : a.pgd_symbols())
    if (auto va = vi.symbol(name)) {
      s.pgd_symbol = name;
      s.pgd_va = va;
      break;
    }
  if (s.pgd_symbol.empty()) s.pgd_symbol = a.pgd_symbols().front();
  return s;
}

std::vector<ProcessRoot> x86_process_roots(LinuxKernel& k, const TaskLayout& layout, PhysAddr pgd) {
  if (!pti_enabled(k, layout).value_or(false)) return {{"", RootSet(pgd)}};
  return {{"kernel", RootSet(pgd)}, {"user", RootSet(pgd + kPtiUserPgdOffset)}};
}

std::vector<RootSet> x86_kernel_root_guesses(const RootSet& cpu_roots) {
  const PhysAddr root = cpu_roots[0];
  if (root.value() & kPtiUserPgdOffset) return {cpu_roots, RootSet(PhysAddr(root.value() & ~kPtiUserPgdOffset))};
  return {cpu_roots};
}

tl::expected<VirtAddr, std::string> struct_page_at(const LinuxKernel& k, const std::optional<Known>& base,
                                                  const char* base_name, Pfn pfn) {
  if (k.struct_page_size == 0) return tl::unexpected("struct page's size is " + k.struct_page_size_source);
  auto b = k.need(base, base_name);
  if (!b) return tl::unexpected(b.error());
  return VirtAddr(*b + pfn.value() * k.struct_page_size);
}

tl::expected<Pfn, std::string> struct_page_pfn(const LinuxKernel& k, const std::optional<Known>& base,
                                              const char* base_name, VirtAddr page) {
  if (k.struct_page_size == 0) return tl::unexpected("struct page's size is " + k.struct_page_size_source);
  auto b = k.need(base, base_name);
  if (!b) return tl::unexpected(b.error());
  if (page.value() < *b || (page.value() - *b) % k.struct_page_size)
    return tl::unexpected(fmt::format("0x{:x} is not a struct page address ({} 0x{:x}, {} bytes each)", page.value(),
                                      base_name, *b, k.struct_page_size));
  return Pfn((page.value() - *b) / k.struct_page_size);
}

}  // namespace pagewalk::linux_kernel
