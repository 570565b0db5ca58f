// Linux on AArch64: arch/arm64/include/asm/memory.h (PAGE_OFFSET, PAGE_END, KIMAGE_VADDR,
// MODULES_*, VMEMMAP_*, __lm_to_phys, __kimg_to_phys, __phys_to_virt, vmemmap),
// pgtable.h (VMALLOC_*), fixmap.h (FIXADDR_TOP) and Documentation/arch/arm64/memory.rst.
// The kernel's half is TTBR1's, its top-level table swapper_pg_dir; a process's is
// mm->pgd in TTBR0. The image is linked at KIMAGE_VADDR and KASLR moves it anywhere in
// vmalloc space: its VAs go to PAs through kimage_voffset, the linear map's through
// PAGE_OFFSET and PHYS_OFFSET (memstart_addr), both of which VMCOREINFO gives
// (arch/arm64/kernel/crash_core.c).
#include "linux/arm64.hpp"

#include <algorithm>
#include <bit>
#include <charconv>

#include <fmt/format.h>

#include "arch/arm64/arm64_modes.hpp"
#include "arch/registry.hpp"
#include "core/enumerate.hpp"
#include "linux/kernel.hpp"
#include "linux/tasks.hpp"

namespace pagewalk::linux_kernel {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kBpfJitSize = 128 * kMiB;    // BPF_JIT_REGION_SIZE (5.0 .. 5.12)
constexpr uint64_t kPciIoSize = 16 * kMiB;      // PCI_IO_SIZE (SZ_16M)
constexpr uint64_t kDefaultLink = 0xffff800008000000;  // KIMAGE_VADDR of a 48-bit 5.13+ kernel

uint64_t neg_pow2(unsigned bits) { return bits >= 64 ? 0 : ~uint64_t{0} << bits; }

// VA_BITS_MIN: a kernel built for 52-bit VAs runs on 48-bit hardware too.
unsigned va_bits_min(unsigned va_bits) { return std::min(va_bits, 48u); }

unsigned page_shift_of(const PagingMode& m) { return arm64::granule_shift(m); }

// The kernel's VA_BITS: VMCOREINFO's, else the size of the mode's TTBR1 half.
unsigned va_bits_of(const LinuxKernel& k) {
  if (k.vmcoreinfo)
    if (auto n = k.vmcoreinfo->number("VA_BITS"); n && *n >= 36 && *n <= 52) return static_cast<unsigned>(*n);
  return static_cast<unsigned>(64 - std::countl_one(k.paging.mode->regions.back().first));
}

Arm64Era era_of(const LinuxKernel& k) { return arm64_release(k.release).era; }

// PUD_SIZE, PGDIR_SIZE where the PUD is folded (fewer than four levels).
uint64_t pud_size(const PagingMode& m) {
  const unsigned hw = (page_shift_of(m) - 3) * 3 + 3;  // ARM64_HW_PGTABLE_LEVEL_SHIFT(1)
  return uint64_t{1} << std::min<unsigned>(hw, m.levels.front().shift);
}

class Arm64Linux final : public LinuxArch {
 public:
  [[nodiscard]] std::string_view name() const override { return "arm64"; }

  // VMCOREINFO: the granule (PAGESIZE) and the size TTBR1 runs at (64 - TCR_EL1.T1SZ, 5.9+;
  // VA_BITS before), else the CPU's TCR_EL1.
  const PagingMode* mode(const VmcoreInfo* vi, std::span<const CpuState> cpus, std::string& source) const override {
    std::string rejected;
    if (vi && vi->number("VA_BITS") && vi->get("PAGESIZE")) {
      int64_t bits = *vi->number("VA_BITS");
      std::string from = "VMCOREINFO NUMBER(VA_BITS), PAGESIZE";
      if (auto t1sz = vi->number("TCR_EL1_T1SZ"); t1sz && *t1sz >= 12 && *t1sz <= 28) {
        bits = 64 - *t1sz;
        from = "VMCOREINFO NUMBER(TCR_EL1_T1SZ), PAGESIZE";
      }
      const std::string page = *vi->get("PAGESIZE");
      unsigned page_size = 0;
      (void)std::from_chars(page.data(), page.data() + page.size(), page_size);
      const std::string name = fmt::format("arm64-{}k-{}", page_size / 1024, bits);
      if (auto m = arch::find_mode(name)) {
        source = from;
        return m;
      }
      rejected = fmt::format("; VMCOREINFO's PAGESIZE={} and {} bits name no mode ({})", escaped(page), bits, name);
    }
    for (const CpuState& c : cpus) {
      const Architecture* a = arch::find_architecture(c.arch);
      if (!a) continue;
      if (auto p = a->paging_from_cpu(c); p && p->mode) {
        source = "TCR_EL1" + rejected;
        return p->mode;
      }
    }
    source = "assumed" + rejected;
    return arch::find_mode("arm64-4k-48");
  }

  std::span<const std::string_view> pgd_symbols() const override {
    static constexpr std::string_view kNames[] = {"swapper_pg_dir"};
    return kNames;
  }

  // __pa_symbol is __kimg_to_phys: x - kimage_voffset.
  tl::expected<PhysAddr, std::string> image_to_phys(const LinuxKernel& k, VirtAddr va, std::string& how) const override {
    if (!k.kimage_voffset)
      return tl::unexpected(std::string(
          "kimage_voffset is unknown (no VMCOREINFO NUMBER(kimage_voffset)): give --base kimage_voffset=VALUE"));
    how = "- kimage_voffset";
    return PhysAddr(va.value() - k.kimage_voffset->value);
  }

  // __virt_to_phys: the linear map through PAGE_OFFSET and PHYS_OFFSET (__lm_to_phys), the
  // image through kimage_voffset (__kimg_to_phys); nothing else has a __pa.
  tl::expected<PhysAddr, std::string> virt_to_phys(const LinuxKernel& k, VirtAddr va) const override {
    const auto [po, last] = linear_bounds(k);
    if (va.value() >= po && va.value() <= last) {
      auto off = k.need(k.phys_offset, "phys_offset");
      if (!off) return tl::unexpected(off.error());
      return PhysAddr(va.value() - po + *off);
    }
    if (k.image_start && k.image_end && va.value() >= k.image_start->value && va.value() < k.image_end->value) {
      std::string how;
      return image_to_phys(k, va, how);
    }
    return tl::unexpected(fmt::format("0x{:x} is neither in the linear map (0x{:x}..0x{:x}) nor in the kernel image: "
                                      "it has no __pa; its page tables are the answer",
                                      va.value(), po, last));
  }

  // __phys_to_virt: (x - PHYS_OFFSET) | PAGE_OFFSET, for what the linear map can hold.
  tl::expected<VirtAddr, std::string> phys_to_virt(const LinuxKernel& k, PhysAddr pa) const override {
    auto off = k.need(k.phys_offset, "phys_offset");
    if (!off) return tl::unexpected(off.error());
    const auto [po, last] = linear_bounds(k);
    if (pa.value() < *off || pa.value() - *off > last - po)
      return tl::unexpected(fmt::format("PA 0x{:x} is outside what the linear map holds (PHYS_OFFSET 0x{:x}, 0x{:x} "
                                        "bytes): it has no __va",
                                        pa.value(), *off, last - po + 1));
    return VirtAddr((pa.value() - *off) | po);
  }

  // SPARSEMEM_VMEMMAP: vmemmap = (struct page *)VMEMMAP_START - (memstart_addr >> PAGE_SHIFT),
  // set in complete(); FLATMEM's mem_map + (pfn - ARCH_PFN_OFFSET) when a kernel exports it.
  tl::expected<VirtAddr, std::string> pfn_to_page(const LinuxKernel& k, Pfn pfn) const override {
    if (!k.vmemmap_base && k.mem_map) return struct_page_at(k, k.mem_map, "mem_map", Pfn(pfn.value() - pfn_offset(k)));
    return struct_page_at(k, k.vmemmap_base, "vmemmap", pfn);
  }
  tl::expected<Pfn, std::string> page_to_pfn(const LinuxKernel& k, VirtAddr page) const override {
    if (!k.vmemmap_base && k.mem_map) {
      auto p = struct_page_pfn(k, k.mem_map, "mem_map", page);
      if (!p) return p;
      return Pfn(p->value() + pfn_offset(k));
    }
    return struct_page_pfn(k, k.vmemmap_base, "vmemmap", page);
  }

  tl::expected<std::vector<Region>, std::string> layout(const LinuxKernel* k, const PagingMode& mode) const override {
    if (mode.arch != arch::find_architecture("arm64"))
      return tl::unexpected(fmt::format("the arm64 kernel layout is for the arm64 modes, not {}", mode.name));
    Arm64LayoutParams p;
    p.page_shift = page_shift_of(mode);
    p.va_bits = static_cast<unsigned>(64 - std::countl_one(mode.regions.back().first));
    p.pud_size = pud_size(mode);
    if (k) {
      p.va_bits = va_bits_of(*k);
      p.release = arm64_release(k->release);
      if (k->struct_page_size) p.struct_page_shift = static_cast<unsigned>(std::bit_width(k->struct_page_size - 1));
      if (const VmcoreInfo* vi = k->vmcoreinfo ? &*k->vmcoreinfo : nullptr) {
        p.modules_vaddr = vi->unsigned_number("MODULES_VADDR");
        p.modules_end = vi->unsigned_number("MODULES_END");
        p.vmalloc_start = vi->unsigned_number("VMALLOC_START");
        p.vmalloc_end = vi->unsigned_number("VMALLOC_END");
        p.vmemmap_start = vi->unsigned_number("VMEMMAP_START");
        p.vmemmap_end = vi->unsigned_number("VMEMMAP_END");
      }
      if (k->phys_offset) p.phys_offset = k->phys_offset->value;
      if (k->image_start) p.image_start = k->image_start->value;
      if (k->image_end) p.image_end = k->image_end->value;
    }
    p.kernel_half = mode.regions.back().first;
    p.user_last = mode.regions.front().last;
    return arm64_layout(p);
  }

  // PHYS_MASK_SHIFT: CONFIG_ARM64_PA_BITS, 52 with LPA/LPA2, else 48.
  unsigned physical_mask_shift(const PagingMode& mode) const override {
    return (mode.arch_traits & arm64::kOa52) ? 52 : 48;
  }

  // TTBR0 holds mm->pgd, TTBR1 the kernel's swapper_pg_dir (shared by every mm).
  std::vector<ProcessRoot> process_roots(LinuxKernel& k, const TaskLayout&, PhysAddr pgd) const override {
    return {{"", RootSet(pgd, k.kernel_pgd)}};
  }

  // __cpu_setup sets TCR_EL1.TBI0 always (arch/arm64/mm/proc.S): user pointers may carry a
  // tag. TBI1 only comes with MTE or KASAN's software tags, which the CPU's TCR would say.
  // The release says how its swap and PROT_NONE entries read (Arm64Release::entry_flags).
  void kernel_options(std::string_view release, DecodeOptions& o) const override {
    o.tagged_halves |= 1;
    o.cpu_flags |= arm64_release(release).entry_flags;
  }

  [[nodiscard]] uint64_t text_link_address() const override { return kDefaultLink; }
  [[nodiscard]] std::string_view layout_document() const override {
    return "arch/arm64/include/asm/memory.h, Documentation/arch/arm64/memory.rst";
  }
  [[nodiscard]] std::string_view direct_map_base_name() const override { return "PAGE_OFFSET"; }
  [[nodiscard]] std::vector<NamedBase> conversion_bases(const LinuxKernel& k) const override {
    return {{"PAGE_OFFSET", k.page_offset_base}, {"PHYS_OFFSET", k.phys_offset},
            {"kimage_voffset", k.kimage_voffset}, {"vmemmap", k.vmemmap_base}};
  }

  // PAGE_OFFSET from VA_BITS and the era; vmemmap from VMEMMAP_START and PHYS_OFFSET; where
  // the image's mapping ends, from the kernel's own tables.
  void complete(LinuxKernel& k, std::span<const CpuState>) const override {
    const Arm64Era era = era_of(k);
    const unsigned va_bits = va_bits_of(k);
    if (!k.page_offset_base || k.page_offset_base->source != "--base")
      k.page_offset_base = Known{arm64_linear_bounds(era, va_bits).first,
                                 fmt::format("{} with VA_BITS {} (memory.h of {})", era == Arm64Era::Before54
                                                                                       ? "-(1 << (VA_BITS - 1))"
                                                                                       : "-(1 << VA_BITS)",
                                             va_bits, k.release.empty() ? "5.11+" : k.release)};
    // SPARSEMEM_VMEMMAP's array; a FLATMEM kernel (it exports mem_map) has none.
    if (!k.vmemmap_base && !k.mem_map && k.phys_offset && k.struct_page_size) {
      auto regions = layout(&k, *k.paging.mode);
      if (regions)
        for (const Region& r : *regions)
          if (r.kind == RegionKind::Vmemmap) {
            const uint64_t shift = page_shift_of(*k.paging.mode);
            k.vmemmap_base = Known{r.start - (k.phys_offset->value >> shift) * k.struct_page_size,
                                   "VMEMMAP_START - (PHYS_OFFSET >> PAGE_SHIFT) * SIZE(page)"};
            break;
          }
    }
    if (!k.image_start) {
      if (auto t = k.symbol("_text")) k.image_start = Known{*t, "_text in " + k.symbols_source};
      else if (auto s = k.symbol("_stext")) k.image_start = Known{*s, "VMCOREINFO SYMBOL(_stext)"};
    }
    if (k.image_start && k.kimage_voffset && !k.image_end) {
      // The image's segments map at VA - PA = kimage_voffset (map_kernel, arch/arm64/mm/mmu.c);
      // free_initmem unmaps the init segment, so holes are passed over; the first leaf at
      // another distance is vmalloc's, past the end.
      EnumOptions o;
      o.first = VirtAddr(k.image_start->value);
      o.last = VirtAddr(k.image_start->value + (uint64_t{512} << 20) - 1);
      o.max_entries = default_max_entries(k.phys());
      uint64_t end = 0;
      (void)enumerate(k.paging, k.reader(), k.kernel_pgd, o, [&](const Range& r) {
        if (r.kind != RangeKind::Mapped) return true;
        if (r.start.value() - r.pa.value() != k.kimage_voffset->value) return end == 0;
        end = r.start.value() + r.size;
        return true;
      });
      if (end) k.image_end = Known{end, "the end of the image's mapping at kimage_voffset, in swapper_pg_dir"};
    }
  }

 private:
  // The linear map's PAGE_OFFSET (the kernel's, or --base page_offset_base) and last VA.
  static std::pair<uint64_t, uint64_t> linear_bounds(const LinuxKernel& k) {
    const auto [po, last] = arm64_linear_bounds(era_of(k), va_bits_of(k));
    return {k.page_offset_base ? k.page_offset_base->value : po, last};
  }
  // ARCH_PFN_OFFSET = PHYS_PFN_OFFSET = PHYS_OFFSET >> PAGE_SHIFT (arch/arm64/include/asm/memory.h).
  static uint64_t pfn_offset(const LinuxKernel& k) {
    return k.phys_offset ? k.phys_offset->value >> page_shift_of(*k.paging.mode) : 0;
  }
};

const Arm64Linux kArm64Linux;

}  // namespace

const LinuxArch& arm64_linux() { return kArm64Linux; }

Arm64Release arm64_release(std::string_view release) {
  unsigned major = 0, minor = 0;
  const char* p = release.data();
  const char* end = release.data() + release.size();
  auto parsed = std::from_chars(p, end, major);
  bool ok = parsed.ec == std::errc() && parsed.ptr < end && *parsed.ptr == '.';
  if (ok) ok = std::from_chars(parsed.ptr + 1, end, minor).ec == std::errc();
  Arm64Release r;
  if (!ok) return r;
  const unsigned v = major * 1000 + minor;
  r.era = v < 5004 ? Arm64Era::Before54 : v < 5011 ? Arm64Era::Flipped54 : Arm64Era::Since511;
  r.bpf_region = v >= 5000 && v < 5016;
  if (v >= 6005) r.modules_vsize = uint64_t{2} << 30;
  r.entry_flags = v < 5019 ? uint32_t{arm64::kLinuxBefore519} : v >= 6010 ? uint32_t{arm64::kLinuxSince610} : 0u;
  return r;
}

std::pair<uint64_t, uint64_t> arm64_linear_bounds(Arm64Era era, unsigned va_bits) {
  if (era == Arm64Era::Before54) return {neg_pow2(va_bits - 1), ~uint64_t{0}};  // the top half
  // _PAGE_OFFSET(VA_BITS) .. _PAGE_END(VA_BITS_MIN), the lower half.
  return {neg_pow2(va_bits), neg_pow2(va_bits_min(va_bits) - 1) - 1};
}

std::vector<Region> arm64_layout(const Arm64LayoutParams& p) {
  std::vector<Region> out;
  auto add = [&](uint64_t start, uint64_t last, RegionKind kind, std::string name, std::string note) {
    if (start <= last && (out.empty() || start > out.back().last)) out.push_back({start, last, kind, std::move(name), std::move(note)});
  };
  // Where the kernel puts the pieces, by era (memory.h of each version).
  const unsigned vmemmap_shift = p.page_shift - p.struct_page_shift;
  const Arm64Era era = p.release.era;
  const auto [page_offset, linear_last] = arm64_linear_bounds(era, p.va_bits);
  uint64_t modules_vaddr, vmemmap_start, vmemmap_end, vmalloc_end, pci_io_end, fixaddr_top;
  const uint64_t bpf = p.release.bpf_region ? kBpfJitSize : 0;
  if (era == Arm64Era::Before54) {
    const uint64_t vmemmap_size = uint64_t{1} << (p.va_bits - p.page_shift - 1 + p.struct_page_shift);
    modules_vaddr = neg_pow2(p.va_bits) + bpf;  // VA_START (+ KASAN_SHADOW_SIZE, 0 without KASAN)
    vmemmap_start = page_offset - vmemmap_size;
    vmemmap_end = page_offset;
    pci_io_end = vmemmap_start - 2 * kMiB;
    fixaddr_top = pci_io_end - kPciIoSize - 2 * kMiB;
    vmalloc_end = page_offset - p.pud_size - vmemmap_size - 64 * 1024;
  } else {
    const uint64_t page_end = linear_last + 1;
    const uint64_t vmemmap_size = (page_end - page_offset) >> vmemmap_shift;
    modules_vaddr = page_end + bpf;  // KASAN_SHADOW_END is PAGE_END without KASAN
    if (era == Arm64Era::Flipped54) {
      vmemmap_start = 0 - vmemmap_size - 2 * kMiB;
      pci_io_end = vmemmap_start - 2 * kMiB;
      fixaddr_top = pci_io_end - kPciIoSize - 2 * kMiB;
      vmalloc_end = 0 - p.pud_size - vmemmap_size - 64 * 1024;
    } else {
      vmemmap_start = neg_pow2(p.va_bits - vmemmap_shift);
      pci_io_end = vmemmap_start - 8 * kMiB;
      fixaddr_top = vmemmap_start - 32 * kMiB;
      vmalloc_end = vmemmap_start - 256 * kMiB;
    }
    vmemmap_end = vmemmap_start + vmemmap_size;
  }
  // The kernel's own numbers (VMCOREINFO, 6.0+) over the formulas.
  const std::string src = p.vmemmap_start ? "VMCOREINFO" : "memory.h";
  modules_vaddr = p.modules_vaddr.value_or(modules_vaddr);
  const uint64_t modules_end = p.modules_end.value_or(modules_vaddr + p.release.modules_vsize);
  const uint64_t vmalloc_start = p.vmalloc_start.value_or(modules_end);
  vmalloc_end = p.vmalloc_end.value_or(vmalloc_end);
  vmemmap_start = p.vmemmap_start.value_or(vmemmap_start);
  vmemmap_end = p.vmemmap_end.value_or(vmemmap_end);
  const uint64_t pci_io_start = pci_io_end - kPciIoSize;

  add(0, p.user_last, RegionKind::User, "user space (TTBR0)", "different per mm: mm->pgd in TTBR0");
  add(p.user_last + 1, p.kernel_half - 1, RegionKind::NonCanonical, "between the halves",
      "no translation: neither TTBR0 nor TTBR1 covers it");
  const std::string linear_note =
      p.phys_offset ? fmt::format("PAGE_OFFSET 0x{:x} holds PHYS_OFFSET 0x{:x}", page_offset, *p.phys_offset)
                    : fmt::format("PAGE_OFFSET 0x{:x}", page_offset);
  // The linear map comes first in the kernel's half, except before 5.4.
  const uint64_t base = std::max(p.kernel_half, era == Arm64Era::Before54 ? neg_pow2(p.va_bits) : page_offset);
  if (era != Arm64Era::Before54) {
    add(base, linear_last, RegionKind::DirectMap, "linear map", linear_note);
    add(linear_last + 1, modules_vaddr - bpf - 1, RegionKind::KasanShadow, "KASAN shadow", "empty without KASAN");
  } else {
    add(base, modules_vaddr - bpf - 1, RegionKind::KasanShadow, "KASAN shadow", "empty without KASAN");
  }
  if (bpf) add(modules_vaddr - bpf, modules_vaddr - 1, RegionKind::Modules, "BPF JIT", "BPF_JIT_REGION, 128 MiB (5.0 .. 5.15)");
  add(modules_vaddr, modules_end - 1, RegionKind::Modules, "modules",
      fmt::format("MODULES_VADDR..MODULES_END ({}); under KASLR modules go within 2 GiB of the image instead", src));
  std::string vmalloc_note = fmt::format("VMALLOC_START..VMALLOC_END ({})", src);
  if (p.image_start && p.image_end && *p.image_start >= vmalloc_start && *p.image_end <= vmalloc_end) {
    add(vmalloc_start, *p.image_start - 1, RegionKind::Vmalloc, "vmalloc/ioremap", vmalloc_note);
    add(*p.image_start, *p.image_end - 1, RegionKind::KernelText, "kernel image",
        "its first mapped segment (_stext, map_kernel) to the end of its mapping; __pa_symbol through kimage_voffset");
    add(*p.image_end, vmalloc_end - 1, RegionKind::Vmalloc, "vmalloc/ioremap", vmalloc_note);
  } else {
    add(vmalloc_start, vmalloc_end - 1, RegionKind::Vmalloc, "vmalloc/ioremap, kernel image",
        vmalloc_note + "; the image at KIMAGE_VADDR = MODULES_END, or anywhere in it under KASLR");
  }
  add(vmalloc_end, fixaddr_top - 1, RegionKind::Fixmap, "fixmap",
      "below FIXADDR_TOP (fixmap.h); FIXADDR_START is a constant of the build, the rest of the gap is unused");
  add(fixaddr_top, pci_io_start - 1, RegionKind::GuardHole, "guard hole", "between FIXADDR_TOP and PCI_IO_START");
  add(pci_io_start, pci_io_end - 1, RegionKind::PciIo, "PCI I/O", "PCI_IO_START..PCI_IO_END, 16 MiB");
  add(pci_io_end, vmemmap_start - 1, RegionKind::GuardHole, "guard hole", "between PCI_IO_END and VMEMMAP_START");
  add(vmemmap_start, vmemmap_end - 1, RegionKind::Vmemmap, "vmemmap",
      fmt::format("VMEMMAP_START..VMEMMAP_END ({}): struct pages of the linear map", src));
  if (era == Arm64Era::Before54) add(page_offset, linear_last, RegionKind::DirectMap, "linear map", linear_note);
  else if (vmemmap_end != 0) add(vmemmap_end, ~uint64_t{0}, RegionKind::Unused, "unused", "above VMEMMAP_END");
  return out;
}

}  // namespace pagewalk::linux_kernel
