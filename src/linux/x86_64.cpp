// Linux on x86-64: arch/x86/include/asm/page_64.h (__pa, __pa_symbol), pgtable_64_types.h
// (the 5-level switch), Documentation/arch/x86/x86_64/mm.rst (the layout), and PTI's PGD
// pairs (arch/x86/mm/pti.c).
#include <fmt/format.h>

#include "arch/x86/x86_arch.hpp"
#include "arch/x86/x86_modes.hpp"
#include "linux/kernel.hpp"
#include "linux/linux_arch.hpp"
#include "linux/tasks.hpp"

namespace pagewalk::linux_kernel {
namespace {

constexpr uint64_t kCr4La57 = uint64_t{1} << 12;

// SPARSEMEM_VMEMMAP (every x86-64 kernel): the struct pages from vmemmap_base; FLATMEM's
// mem_map when a kernel exports it (ARCH_PFN_OFFSET is 0 on x86).
const std::optional<Known>& array_of(const LinuxKernel& k) { return k.vmemmap_base || !k.mem_map ? k.vmemmap_base : k.mem_map; }

class X86_64Linux final : public LinuxArch {
 public:
  [[nodiscard]] std::string_view name() const override { return "x86-64"; }

  // The kernel's own flag, else the CPU's CR4.LA57, else 4-level.
  const PagingMode* mode(const VmcoreInfo* vi, std::span<const CpuState> cpus, std::string& source) const override {
    std::string ignored;
    if (vi && vi->number("pgtable_l5_enabled")) {
      const int64_t l5 = *vi->number("pgtable_l5_enabled");
      if (l5 == 0 || l5 == 1) {
        source = "VMCOREINFO NUMBER(pgtable_l5_enabled)";
        return l5 ? &kX86_64_5Level : &kX86_64_4Level;
      }
      // The kernel writes 0 or 1 (arch/x86/kernel/crash_core_64.c); anything else is corrupt.
      ignored = fmt::format("; VMCOREINFO NUMBER(pgtable_l5_enabled)={} ignored", l5);
    }
    if (!cpus.empty()) {
      source = "CR4.LA57" + ignored;
      return (cpus.front().get_or(x86::CpuRegisterNames::kCr4, 0) & kCr4La57) ? &kX86_64_5Level : &kX86_64_4Level;
    }
    source = "assumed" + ignored;
    return &kX86_64_4Level;
  }

  std::span<const std::string_view> pgd_symbols() const override {
    static constexpr std::string_view kNames[] = {"init_top_pgt", "swapper_pg_dir"};
    return kNames;
  }

  // __pa_symbol: v - __START_KERNEL_map + phys_base (wrap-around arithmetic: a kernel
  // loaded below its link address has a "negative" phys_base).
  tl::expected<PhysAddr, std::string> image_to_phys(const LinuxKernel& k, VirtAddr va, std::string& how) const override {
    if (!k.phys_base)
      return tl::unexpected(std::string("phys_base is unknown (no VMCOREINFO NUMBER(phys_base)): give --base phys_base=VALUE"));
    how = "- __START_KERNEL_map + phys_base";
    return PhysAddr(va.value() - kStartKernelMap + k.phys_base->value);
  }

  // __phys_addr_nodebug: kernel text through __START_KERNEL_map and phys_base, everything
  // else through page_offset_base.
  tl::expected<PhysAddr, std::string> virt_to_phys(const LinuxKernel& k, VirtAddr va) const override {
    if (va.value() >= kStartKernelMap) {
      auto pb = k.need(k.phys_base, "phys_base");
      if (!pb) return tl::unexpected(pb.error());
      return PhysAddr(va.value() - kStartKernelMap + *pb);
    }
    auto pob = k.need(k.page_offset_base, "page_offset_base");
    if (!pob) return tl::unexpected(pob.error());
    if (va.value() < *pob)
      return tl::unexpected(fmt::format("0x{:x} is below the direct map (page_offset_base 0x{:x})", va.value(), *pob));
    return PhysAddr(va.value() - *pob);
  }

  tl::expected<VirtAddr, std::string> phys_to_virt(const LinuxKernel& k, PhysAddr pa) const override {
    auto pob = k.need(k.page_offset_base, "page_offset_base");
    if (!pob) return tl::unexpected(pob.error());
    return VirtAddr(pa.value() + *pob);
  }

  tl::expected<VirtAddr, std::string> pfn_to_page(const LinuxKernel& k, Pfn pfn) const override {
    return struct_page_at(k, array_of(k), "vmemmap_base", pfn);
  }
  tl::expected<Pfn, std::string> page_to_pfn(const LinuxKernel& k, VirtAddr page) const override {
    return struct_page_pfn(k, array_of(k), "vmemmap_base", page);
  }

  tl::expected<std::vector<Region>, std::string> layout(const LinuxKernel* k, const PagingMode& mode) const override {
    LayoutParams p;
    if (&mode != &kX86_64_4Level && &mode != &kX86_64_5Level)
      return tl::unexpected(fmt::format(
          "the kernel layout is known for x86-64-4level and x86-64-5level, not {}", mode.name));
    p.five_level = &mode == &kX86_64_5Level;
    if (k) {
      if (k->page_offset_base) p.page_offset_base = k->page_offset_base->value;
      if (k->vmalloc_base) p.vmalloc_base = k->vmalloc_base->value;
      if (k->vmemmap_base) p.vmemmap_base = k->vmemmap_base->value;
      p.max_pfn = k->max_pfn;
      if (k->struct_page_size) p.struct_page_size = k->struct_page_size;
      // KERNEL_IMAGE_SIZE is 512 MiB, or 1 GiB with KASLR (arch/x86/include/asm/page_64_types.h);
      // anything else is a corrupt VMCOREINFO and keeps the default.
      if (k->vmcoreinfo && k->vmcoreinfo->number("KERNEL_IMAGE_SIZE")) {
        const int64_t n = *k->vmcoreinfo->number("KERNEL_IMAGE_SIZE");
        if (n >= (int64_t{16} << 20) && n <= (int64_t{1} << 30)) p.kernel_image_size = static_cast<uint64_t>(n);
      }
      if (k->kaslr_offset) p.kaslr_offset = k->kaslr_offset->value;
    }
    return x86_64_layout(p);
  }

  // arch/x86/include/asm/page_{64,32}_types.h: 52 on x86-64; 52 under 32-bit PAE too since
  // the L1TF fix of 2018 (before it 44, "the limit we can fit into an unsigned long pfn",
  // which stays the real limit: the full mask keeps inverted PROT_NONE entries whole); 32
  // without PAE.
  unsigned physical_mask_shift(const PagingMode& mode) const override {
    if (mode.word_bits >= 64 || mode.entry_bytes == 8) return 52;
    return 32;
  }

  std::vector<ProcessRoot> process_roots(LinuxKernel& k, const TaskLayout& layout, PhysAddr pgd) const override {
    return x86_process_roots(k, layout, pgd);
  }
  [[nodiscard]] uint64_t text_link_address() const override { return kTextLinkAddress; }
  [[nodiscard]] std::string_view layout_document() const override {
    return "Documentation/arch/x86/x86_64/mm.rst";
  }
  [[nodiscard]] std::string_view direct_map_base_name() const override { return "page_offset_base"; }
  [[nodiscard]] std::vector<NamedBase> conversion_bases(const LinuxKernel& k) const override {
    return {{"phys_base", k.phys_base},
            {"page_offset_base", k.page_offset_base},
            {"vmalloc_base", k.vmalloc_base},
            {"vmemmap_base", k.vmemmap_base}};
  }

  std::vector<RootSet> kernel_root_guesses(const RootSet& cpu_roots) const override {
    return x86_kernel_root_guesses(cpu_roots);
  }
};

const X86_64Linux kX86_64Linux;

}  // namespace

const LinuxArch& x86_64_linux() { return kX86_64Linux; }

}  // namespace pagewalk::linux_kernel
