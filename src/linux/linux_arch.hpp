// The part of Linux knowledge that differs by architecture: which paging mode the kernel
// runs, where its top-level table is, __pa/__va and pfn <-> struct page, the kernel's
// virtual layout, and a process's roots. x86-64 now (linux/x86_64.cpp); AArch64 and i386
// implement the same interface.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/cpu_state.hpp"
#include "core/paging_mode.hpp"
#include "linux/layout.hpp"

namespace pagewalk::linux_kernel {

class LinuxKernel;
class VmcoreInfo;
struct TaskLayout;

// One root set of a process, and what it is ("kernel"/"user" under x86 PTI, "" alone).
struct ProcessRoot {
  std::string label;
  RootSet roots;
};

class LinuxArch {
 public:
  virtual ~LinuxArch() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // The paging mode the kernel runs, from VMCOREINFO or else the CPUs' registers; `source`
  // says which.
  [[nodiscard]] virtual const PagingMode* mode(const VmcoreInfo* vi, std::span<const CpuState> cpus,
                                               std::string& source) const = 0;
  // The symbols of the kernel's top-level page table, most specific first.
  [[nodiscard]] virtual std::span<const std::string_view> pgd_symbols() const = 0;
  // __pa_symbol(): a VA in the kernel image to its PA; `how` says which rule was used.
  [[nodiscard]] virtual tl::expected<PhysAddr, std::string> image_to_phys(const LinuxKernel& k, VirtAddr va,
                                                                          std::string& how) const = 0;
  [[nodiscard]] virtual tl::expected<PhysAddr, std::string> virt_to_phys(const LinuxKernel& k, VirtAddr va) const = 0;
  [[nodiscard]] virtual tl::expected<VirtAddr, std::string> phys_to_virt(const LinuxKernel& k, PhysAddr pa) const = 0;
  [[nodiscard]] virtual tl::expected<VirtAddr, std::string> pfn_to_page(const LinuxKernel& k, Pfn pfn) const = 0;
  [[nodiscard]] virtual tl::expected<Pfn, std::string> page_to_pfn(const LinuxKernel& k, VirtAddr page) const = 0;
  // The kernel's virtual layout: the kernel's own bases when `k` is given, else the fixed
  // layout of `mode` (an error when the architecture has none for it).
  [[nodiscard]] virtual tl::expected<std::vector<Region>, std::string> layout(const LinuxKernel* k,
                                                                              const PagingMode& mode) const = 0;
  // A process's roots from its mm->pgd: one set, or both halves of a PTI pair.
  [[nodiscard]] virtual std::vector<ProcessRoot> process_roots(LinuxKernel& k, const TaskLayout& layout,
                                                               PhysAddr pgd) const = 0;
};

// The Linux part for the architecture of `mode` (nullptr: x86-64, the one before others).
[[nodiscard]] const LinuxArch& linux_arch_for(const PagingMode* mode);

}  // namespace pagewalk::linux_kernel
