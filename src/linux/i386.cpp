// Linux on 32-bit x86 (i386): the kernel runs in the top of the 4 GiB space above
// PAGE_OFFSET (CONFIG_VMSPLIT_3G: 0xC0000000 on Debian's 686 and 686-pae kernels), its image
// inside the lowmem direct map (__START_KERNEL_map is PAGE_OFFSET, page_32_types.h), so
// __pa(x) and __pa_symbol(x) are both x - PAGE_OFFSET (page_32.h) and KASLR moves the image
// physically only. Above lowmem (high_memory) come vmalloc, pkmap, the LDT remap,
// cpu_entry_area and the fixmap (pgtable_32_areas.h). FLATMEM: pfn_to_page is
// mem_map + (pfn - ARCH_PFN_OFFSET), and ARCH_PFN_OFFSET is 0 on x86
// (include/asm-generic/memory_model.h).
#include <algorithm>

#include <fmt/format.h>

#include "arch/x86/x86_arch.hpp"
#include "arch/x86/x86_modes.hpp"
#include "core/enumerate.hpp"
#include "linux/i386.hpp"
#include "linux/kernel.hpp"
#include "linux/tasks.hpp"

namespace pagewalk::linux_kernel {
namespace {

constexpr uint64_t kCr4Pae = uint64_t{1} << 5;
constexpr uint64_t kTop = uint64_t{1} << 32;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kVmallocOffset = uint64_t{8} << 20;  // VMALLOC_OFFSET, pgtable_32_areas.h

// PMD_SIZE: what one entry of the level above the PTEs spans (2 MiB under PAE; 4 MiB with
// two levels, where the PMD is folded into the PGD).
uint64_t pmd_size(const PagingMode& m) { return m.span(m.level_count() - 2); }

uint64_t page_offset(const LinuxKernel& k) { return k.page_offset_base ? k.page_offset_base->value : kI386PageOffset; }

class I386Linux final : public LinuxArch {
 public:
  [[nodiscard]] std::string_view name() const override { return "i386"; }

  // VMCOREINFO says CONFIG_X86_PAE=y for a PAE kernel (kernel/crash_core.c,
  // arch_crash_save_vmcoreinfo of machine_kexec_32.c) and nothing otherwise; else CR4.PAE.
  const PagingMode* mode(const VmcoreInfo* vi, std::span<const CpuState> cpus, std::string& source) const override {
    if (vi && vi->get("CONFIG_X86_PAE") == "y") {
      source = "VMCOREINFO CONFIG_X86_PAE";
      return &kX86Pae;
    }
    if (vi) {
      source = "VMCOREINFO (no CONFIG_X86_PAE)";
      return &kX86_32;
    }
    if (!cpus.empty()) {
      source = "CR4.PAE";
      return (cpus.front().get_or(x86::CpuRegisterNames::kCr4, 0) & kCr4Pae) ? &kX86Pae : &kX86_32;
    }
    source = "assumed";
    return &kX86Pae;
  }

  std::span<const std::string_view> pgd_symbols() const override {
    static constexpr std::string_view kNames[] = {"swapper_pg_dir"};
    return kNames;
  }

  tl::expected<PhysAddr, std::string> image_to_phys(const LinuxKernel& k, VirtAddr va, std::string& how) const override {
    if (va.value() < page_offset(k))
      return tl::unexpected(fmt::format("0x{:x} is below PAGE_OFFSET 0x{:x}: not a kernel image address", va.value(),
                                        page_offset(k)));
    how = "- PAGE_OFFSET";
    return PhysAddr(va.value() - page_offset(k));
  }

  // __pa: lowmem only; the kernel's own tables say where lowmem ends (high_memory is no
  // symbol of a kernel without CONFIG_KALLSYMS_ALL).
  tl::expected<PhysAddr, std::string> virt_to_phys(const LinuxKernel& k, VirtAddr va) const override {
    const uint64_t po = page_offset(k);
    if (va.value() < po)
      return tl::unexpected(fmt::format("0x{:x} is below PAGE_OFFSET 0x{:x} (user space)", va.value(), po));
    const uint64_t end = po + k.lowmem_bytes.value_or(kTop - po);
    if (va.value() >= end)
      return tl::unexpected(fmt::format("0x{:x} is above lowmem (which ends at 0x{:x}): vmalloc, pkmap and the fixmap "
                                        "have no __pa; their page tables are the answer",
                                        va.value(), end));
    return PhysAddr(va.value() - po);
  }

  tl::expected<VirtAddr, std::string> phys_to_virt(const LinuxKernel& k, PhysAddr pa) const override {
    const uint64_t low = k.lowmem_bytes.value_or(kTop - page_offset(k));
    if (pa.value() >= low)
      return tl::unexpected(fmt::format("PA 0x{:x} is above lowmem (which ends at PA 0x{:x}): highmem, or no RAM, has "
                                        "no __va; the kernel maps a highmem frame only for a while, through kmap "
                                        "(pkmap) or kmap_local (the fixmap)",
                                        pa.value(), low));
    return VirtAddr(pa.value() + page_offset(k));
  }

  tl::expected<VirtAddr, std::string> pfn_to_page(const LinuxKernel& k, Pfn pfn) const override {
    return struct_page_at(k, k.mem_map, "mem_map", pfn);
  }
  tl::expected<Pfn, std::string> page_to_pfn(const LinuxKernel& k, VirtAddr page) const override {
    return struct_page_pfn(k, k.mem_map, "mem_map", page);
  }

  tl::expected<std::vector<Region>, std::string> layout(const LinuxKernel* k, const PagingMode& mode) const override {
    if (&mode != &kX86Pae && &mode != &kX86_32)
      return tl::unexpected(fmt::format("the i386 kernel layout is for x86-pae and x86-32, not {}", mode.name));
    I386LayoutParams p;
    p.pmd_size = pmd_size(mode);
    if (k) {
      if (k->cpu_entry_area) p.cpu_entry_area = k->cpu_entry_area->value;
      p.page_offset = page_offset(*k);
      p.lowmem_bytes = k->lowmem_bytes.value_or(0);
      if (k->kaslr_offset) p.image_start = kI386PageOffset + kI386PhysicalStart + k->kaslr_offset->value;
    }
    return i386_layout(p);
  }

  // page_32_types.h: 52 under PAE since the L1TF fix of 2018 (44, "the limit we can fit
  // into an unsigned long pfn", stays the real one), 32 without.
  unsigned physical_mask_shift(const PagingMode& mode) const override { return mode.entry_bytes == 8 ? 52 : 32; }

  // PAGE_TABLE_ISOLATION on 32-bit too (Debian's 686-pae has it): with PTI a PAE PGD is no
  // 32-byte slab object but an order-1 page pair (SHARED_KERNEL_PMD is off, pgd.c), the
  // user PDPT 4 KiB above the kernel's.
  std::vector<ProcessRoot> process_roots(LinuxKernel& k, const TaskLayout& layout, PhysAddr pgd) const override {
    return x86_process_roots(k, layout, pgd);
  }
  std::vector<RootSet> kernel_root_guesses(const RootSet& cpu_roots) const override {
    return x86_kernel_root_guesses(cpu_roots);
  }

  [[nodiscard]] std::optional<Known> default_page_offset() const override {
    return Known{kI386PageOffset, "PAGE_OFFSET of CONFIG_VMSPLIT_3G (Debian's i386 kernels)"};
  }
  [[nodiscard]] uint64_t text_link_address() const override { return kI386PageOffset + kI386PhysicalStart; }
  [[nodiscard]] std::string_view layout_document() const override { return "arch/x86/include/asm/pgtable_32_areas.h"; }
  [[nodiscard]] std::string_view direct_map_base_name() const override { return "PAGE_OFFSET"; }
  [[nodiscard]] std::vector<NamedBase> conversion_bases(const LinuxKernel& k) const override {
    std::optional<Known> high_memory;
    if (k.lowmem_bytes) high_memory = Known{page_offset(k) + *k.lowmem_bytes, "lowmem's end, as the kernel's tables map it"};
    return {{"PAGE_OFFSET", k.page_offset_base}, {"high_memory", high_memory}, {"mem_map", k.mem_map},
            {"CPU_ENTRY_AREA_BASE", k.cpu_entry_area}};
  }

  // Where lowmem ends, as bytes above PAGE_OFFSET: the run of the kernel's linear mapping
  // (VA - PA = PAGE_OFFSET) that starts at PA 0, as its own tables map it. Where
  // cpu_entry_area starts: the IDTR, which Linux points at CPU_ENTRY_AREA_RO_IDT, the area's
  // first page (idt_map_in_cea, arch/x86/kernel/idt.c; pgtable_areas.h).
  void complete(LinuxKernel& k, std::span<const CpuState> cpus) const override {
    for (const CpuState& c : cpus)
      if (auto idt = c.get(x86::CpuRegisterNames::kIdtBase);
          idt && *idt >= page_offset(k) && *idt < kTop && *idt % pmd_size(*k.paging.mode) == 0) {
        k.cpu_entry_area = Known{*idt, fmt::format("IDTR of CPU {} (CPU_ENTRY_AREA_RO_IDT)", c.index)};
        break;
      }
    const uint64_t po = page_offset(k);
    EnumOptions o;
    o.first = VirtAddr(po);
    o.last = VirtAddr(kTop - 1);
    o.max_entries = default_max_entries(k.phys());
    uint64_t next = po;  // the VA the run must continue at
    (void)enumerate(k.paging, k.reader(), k.kernel_pgd, o, [&](const Range& r) {
      if (r.kind != RangeKind::Mapped) return r.kind == RangeKind::Hole && next == po;  // a hole before the run
      if (r.start.value() != next || r.start.value() - r.pa.value() != po) return false;
      next = r.start.value() + r.size;
      return true;
    });
    if (next > po) k.lowmem_bytes = next - po;
  }
};

const I386Linux kI386Linux;

}  // namespace

const LinuxArch& i386_linux() { return kI386Linux; }

std::vector<Region> i386_layout(const I386LayoutParams& p) {
  std::vector<Region> out;
  auto add = [&](uint64_t start, uint64_t last, RegionKind kind, std::string name, std::string note) {
    if (start <= last) out.push_back({start, last, kind, std::move(name), std::move(note)});
  };
  const uint64_t po = p.page_offset;
  add(0, po - 1, RegionKind::User, "user space", "different per mm");
  if (p.lowmem_bytes) {
    const uint64_t end = std::min(po + p.lowmem_bytes, kTop);
    add(po, end - 1, RegionKind::DirectMap, "lowmem (direct map)",
        p.image_start ? fmt::format("PAGE_OFFSET 0x{:x}; the kernel image inside it at 0x{:x}", po, *p.image_start)
                      : fmt::format("PAGE_OFFSET 0x{:x}, up to high_memory as the kernel's tables map it", po));
    if (p.cpu_entry_area && *p.cpu_entry_area > end + kVmallocOffset + 3 * p.pmd_size) {
      // pgtable_32_areas.h: LDT_BASE_ADDR = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) & PMD_MASK, one
      // PMD; PKMAP_BASE = (LDT_BASE_ADDR - PAGE_SIZE) & PMD_MASK, LAST_PKMAP pages (one page
      // table: a PMD); VMALLOC_END = PKMAP_BASE - 2 pages (CONFIG_HIGHMEM, as Debian's).
      const uint64_t cea = *p.cpu_entry_area, ldt = cea - p.pmd_size, pkmap = ldt - p.pmd_size;
      const uint64_t vmalloc_start = end + kVmallocOffset, vmalloc_end = pkmap - 2 * kPage;
      add(end, vmalloc_start - 1, RegionKind::GuardHole, "guard hole", "VMALLOC_OFFSET (8 MiB) above high_memory");
      add(vmalloc_start, vmalloc_end - 1, RegionKind::Vmalloc, "vmalloc/ioremap, modules",
          "VMALLOC_START = high_memory + 8 MiB up to VMALLOC_END = PKMAP_BASE - 2 pages; MODULES_VADDR is "
          "VMALLOC_START");
      add(vmalloc_end, pkmap - 1, RegionKind::GuardHole, "guard hole", "two pages below PKMAP_BASE");
      add(pkmap, ldt - 1, RegionKind::Pkmap, "pkmap (kmap)", "PKMAP_BASE, LAST_PKMAP pages: kmap() of highmem frames");
      add(ldt, cea - 1, RegionKind::LdtRemap, "LDT remap", "LDT_BASE_ADDR, one PMD below CPU_ENTRY_AREA_BASE (PTI)");
      add(cea, kTop - 1, RegionKind::CpuEntryArea, "cpu_entry_area, fixmap",
          "CPU_ENTRY_AREA_BASE from the IDTR; the fixmap (kmap_local's slots among them) above it ends at "
          "FIXADDR_TOP 0xfffff000; their boundary is a constant of the build the image does not hold");
    } else {
      add(end, kTop - 1, RegionKind::Vmalloc, "vmalloc, pkmap, LDT remap, cpu_entry_area, fixmap",
          "VMALLOC_START = high_memory + 8 MiB; the fixmap ends at 4 GiB (pgtable_32_areas.h); the bounds between "
          "them follow from CPU_ENTRY_AREA_BASE, which the image's CPU registers (IDTR) give");
    }
  } else {
    add(po, kTop - 1, RegionKind::DirectMap, "kernel space",
        fmt::format("PAGE_OFFSET 0x{:x}: lowmem, then vmalloc, pkmap and the fixmap (their bounds need an image)", po));
  }
  add(kTop, ~uint64_t{0}, RegionKind::NonCanonical, "beyond 32 bits", "no such virtual address on i386");
  return out;
}

}  // namespace pagewalk::linux_kernel
