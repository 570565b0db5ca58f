// The part of Linux knowledge that differs by architecture: which paging mode the kernel
// runs, where its top-level table is, __pa/__va and pfn <-> struct page, the kernel's
// virtual layout, and a process's roots. x86-64 (linux/x86_64.cpp) and i386
// (linux/i386.cpp) and AArch64 (linux/arm64.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/cpu_state.hpp"
#include "core/entry.hpp"
#include "core/paging_mode.hpp"
#include "linux/layout.hpp"

namespace pagewalk::linux_kernel {

class LinuxKernel;
class VmcoreInfo;
struct TaskLayout;

// A value the kernel holds, and where it was found.
struct Known {
  uint64_t value = 0;
  std::string source;  // "VMCOREINFO", "kallsyms in the image", "--base", ...
};

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
  // __PHYSICAL_MASK_SHIFT: how many physical address bits the kernel keeps in an entry for
  // `mode` (below the hardware's MAXPHYADDR where pfns must fit an unsigned long).
  [[nodiscard]] virtual unsigned physical_mask_shift(const PagingMode& mode) const = 0;
  // A process's roots from its mm->pgd: one set, or both halves of a PTI pair.
  [[nodiscard]] virtual std::vector<ProcessRoot> process_roots(LinuxKernel& k, const TaskLayout& layout,
                                                               PhysAddr pgd) const = 0;
  // The tables that may map the whole kernel, given a CPU's root (the root itself; under
  // x86 PTI, a CPU stopped in user mode holds the user half of the pair, whose kernel half
  // maps the rest).
  [[nodiscard]] virtual std::vector<RootSet> kernel_root_guesses(const RootSet& cpu_roots) const { return {cpu_roots}; }
  // Where the direct map starts when no variable of the kernel says (i386's PAGE_OFFSET is a
  // constant of its build; x86-64 reads page_offset_base).
  [[nodiscard]] virtual std::optional<Known> default_page_offset() const;
  // The address _text is linked at: its distance from the running _text is the KASLR offset.
  [[nodiscard]] virtual uint64_t text_link_address() const = 0;
  // Where the layout without an image comes from (a kernel document or header).
  [[nodiscard]] virtual std::string_view layout_document() const = 0;
  // The name the kernel gives the direct map's base in __pa/__va (page_offset_base, a
  // variable on x86-64; PAGE_OFFSET, a constant on i386).
  [[nodiscard]] virtual std::string_view direct_map_base_name() const = 0;
  // The bases the architecture's conversions use, by the kernel's names, for headers.
  struct NamedBase {
    std::string_view name;
    std::optional<Known> base;
  };
  [[nodiscard]] virtual std::vector<NamedBase> conversion_bases(const LinuxKernel& k) const = 0;
  // How the kernel runs its MMU beyond what the mode says, when no CPU register tells
  // (arm64: the top byte of TTBR0 addresses is ignored), and how its release encodes the
  // entries the MMU does not read (arm64: swap and PROT_NONE, by version).
  virtual void kernel_options(std::string_view /*release*/, DecodeOptions& /*options*/) const {}
  // What the architecture learns once the kernel's PGD and symbols are known (i386: where
  // lowmem ends, from the kernel's own tables; where cpu_entry_area starts, from the CPUs).
  virtual void complete(LinuxKernel& /*kernel*/, std::span<const CpuState> /*cpus*/) const {}
};

// Whether pagewalk knows Linux on the architecture of `mode` (x86 and arm64; nullptr: yes).
[[nodiscard]] bool has_linux_rules(const PagingMode* mode);
// The Linux part for the architecture of `mode` (nullptr: x86-64, the one before others);
// only for a mode has_linux_rules takes.
[[nodiscard]] const LinuxArch& linux_arch_for(const PagingMode* mode);
// The Linux part for a kernel of unknown mode: a PAE kernel's VMCOREINFO (CONFIG_X86_PAE)
// or a CPU in 32-bit protected mode says i386; otherwise x86-64.
[[nodiscard]] const LinuxArch& linux_arch_of(const VmcoreInfo* vmcoreinfo, std::span<const CpuState> cpus);

// What a VMCOREINFO says of its kernel before anything is read through it: whose rules,
// which paging mode and why, and where its top-level table is (for `info`).
struct KernelSummary {
  std::string_view arch;
  const PagingMode* mode = nullptr;
  std::string mode_source;
  std::string_view pgd_symbol;
  std::optional<uint64_t> pgd_va;
};
[[nodiscard]] KernelSummary summarize_kernel(const VmcoreInfo& vmcoreinfo, std::span<const CpuState> cpus);

// A struct page array (vmemmap, or FLATMEM's mem_map) at `base`, named `base_name` in
// messages: the pfn's struct page, and the pfn of a struct page's address.
// x86 Linux (x86-64 and i386) under PTI: every PGD is a pair, the kernel half first and the
// user half 4 KiB above (kernel_to_user_pgdp, arch/x86/include/asm/pgtable.h), found from
// X86_FEATURE_PTI in boot_cpu_data; one set otherwise.
[[nodiscard]] std::vector<ProcessRoot> x86_process_roots(LinuxKernel& kernel, const TaskLayout& layout, PhysAddr pgd);
// A CPU stopped in user mode under PTI holds the user half: its kernel half maps the rest.
[[nodiscard]] std::vector<RootSet> x86_kernel_root_guesses(const RootSet& cpu_roots);

[[nodiscard]] tl::expected<VirtAddr, std::string> struct_page_at(const LinuxKernel& kernel,
                                                                const std::optional<Known>& base,
                                                                const char* base_name, Pfn pfn);
[[nodiscard]] tl::expected<Pfn, std::string> struct_page_pfn(const LinuxKernel& kernel, const std::optional<Known>& base,
                                                            const char* base_name, VirtAddr page);

// The kernel's masks for a mode, as its headers compute them in unsigned long (the mode's
// word size) and pteval_t (the entry size).
struct KernelMasks {
  uint64_t page_mask, pmd_mask, pud_mask, pgdir_mask;
  unsigned physical_mask_shift;
  // PTE_PFN_MASK = (pteval_t)PHYSICAL_PAGE_MASK, and PHYSICAL_PAGE_MASK =
  // ((signed long)PAGE_MASK) & __PHYSICAL_MASK: under 32-bit PAE the signed cast extends
  // PAGE_MASK to 64 bits before the physical mask cuts it (arch/x86/include/asm/page_types.h).
  uint64_t pte_pfn_mask;
};
[[nodiscard]] KernelMasks kernel_masks(const PagingMode& mode);

// The kernel's names for each level's shift and table size, pgd to pte (linux_levels order).
inline constexpr std::array<std::string_view, 5> kLevelShiftNames = {"PGDIR_SHIFT", "P4D_SHIFT", "PUD_SHIFT",
                                                                     "PMD_SHIFT", "PAGE_SHIFT"};
inline constexpr std::array<std::string_view, 5> kPtrsPerNames = {"PTRS_PER_PGD", "PTRS_PER_P4D", "PTRS_PER_PUD",
                                                                  "PTRS_PER_PMD", "PTRS_PER_PTE"};

}  // namespace pagewalk::linux_kernel
