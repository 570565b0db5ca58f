#include "linux/layout.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace pagewalk::linux_kernel {
namespace {

constexpr uint64_t kTB = uint64_t{1} << 40;
constexpr uint64_t kModulesEnd = 0xffffffffff000000;
constexpr uint64_t kVsyscall = 0xffffffffff600000;
// CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING's default: room for memory hot-added later.
constexpr uint64_t kPhysicalPaddingTB = 10;

struct Fixed {
  uint64_t user_last, guard, ldt, direct, direct_tb, vmalloc, vmalloc_tb, vmemmap, vmemmap_tb, kasan, physmem_bits;
};
// mm.rst's tables (no KASLR).
constexpr Fixed kL4{0x00007fffffffffff, 0xffff800000000000, 0xffff880000000000, 0xffff888000000000, 64,
                    0xffffc90000000000, 32, 0xffffea0000000000, 1, 0xffffec0000000000, 46};
constexpr Fixed kL5{0x00ffffffffffffff, 0xff00000000000000, 0xff10000000000000, 0xff11000000000000, 32768,
                    0xffa0000000000000, 12800, 0xffd4000000000000, 512, 0xffdf000000000000, 52};

}  // namespace

std::string_view region_id(RegionKind k) {
  switch (k) {
    case RegionKind::User: return "user";
    case RegionKind::NonCanonical: return "non_canonical";
    case RegionKind::GuardHole: return "guard_hole";
    case RegionKind::LdtRemap: return "ldt_remap";
    case RegionKind::DirectMap: return "direct_map";
    case RegionKind::Vmalloc: return "vmalloc";
    case RegionKind::Vmemmap: return "vmemmap";
    case RegionKind::KasanShadow: return "kasan_shadow";
    case RegionKind::CpuEntryArea: return "cpu_entry_area";
    case RegionKind::Espfix: return "espfix";
    case RegionKind::Efi: return "efi";
    case RegionKind::KernelText: return "kernel_text";
    case RegionKind::Modules: return "modules";
    case RegionKind::Fixmap: return "fixmap";
    case RegionKind::Vsyscall: return "vsyscall";
    case RegionKind::Pkmap: return "pkmap";
    case RegionKind::PciIo: return "pci_io";
    case RegionKind::Unused: return "unused";
  }
  return "unused";
}

std::vector<Region> x86_64_layout(const LayoutParams& p) {
  const Fixed& f = p.five_level ? kL5 : kL4;
  std::vector<Region> named;
  auto add = [&](uint64_t start, uint64_t last, RegionKind kind, std::string name, std::string note) {
    named.push_back(Region{start, last, kind, std::move(name), std::move(note)});
  };
  add(0, f.user_last, RegionKind::User, "user space", "different per mm");
  add(f.user_last + 1, f.guard - 1, RegionKind::NonCanonical, "non-canonical", "");
  add(f.guard, f.ldt - 1, RegionKind::GuardHole, "guard hole", "reserved for a hypervisor");
  add(f.ldt, f.direct - 1, RegionKind::LdtRemap, "LDT remap", "for PTI");

  // With memory KASLR the three regions move, in this order, and get only the room they
  // need (arch/x86/mm/kaslr.c); otherwise they sit where mm.rst puts them.
  const bool randomised = (p.page_offset_base && *p.page_offset_base != f.direct) ||
                          (p.vmalloc_base && *p.vmalloc_base != f.vmalloc) || (p.vmemmap_base && *p.vmemmap_base != f.vmemmap);
  uint64_t direct_tb = f.direct_tb, vmemmap_tb = f.vmemmap_tb;
  std::string how = "mm.rst";
  if (randomised) {
    const uint64_t memory_tb = (p.max_pfn * 4096 + kTB - 1) / kTB + kPhysicalPaddingTB;
    direct_tb = std::min(memory_tb, uint64_t{1} << (f.physmem_bits - 40));
    vmemmap_tb = ((direct_tb << (40 - 12)) * p.struct_page_size + kTB - 1) / kTB;
    how = "KASLR base; size as arch/x86/mm/kaslr.c sizes it";
  }
  const uint64_t direct = p.page_offset_base.value_or(f.direct);
  const uint64_t vmalloc = p.vmalloc_base.value_or(f.vmalloc);
  const uint64_t vmemmap = p.vmemmap_base.value_or(f.vmemmap);
  auto src = [&](const std::optional<uint64_t>& v, const char* sym) {
    return v ? fmt::format("{} ({})", sym, how) : fmt::format("{} not known: mm.rst default", sym);
  };
  add(direct, direct + direct_tb * kTB - 1, RegionKind::DirectMap, "direct map", src(p.page_offset_base, "page_offset_base"));
  add(vmalloc, vmalloc + f.vmalloc_tb * kTB - 1, RegionKind::Vmalloc, "vmalloc/ioremap", src(p.vmalloc_base, "vmalloc_base"));
  add(vmemmap, vmemmap + vmemmap_tb * kTB - 1, RegionKind::Vmemmap, "vmemmap (struct page array)", src(p.vmemmap_base, "vmemmap_base"));
  if (!randomised) add(f.kasan, 0xfffffbffffffffff, RegionKind::KasanShadow, "KASAN shadow", "only with CONFIG_KASAN");

  add(0xfffffe0000000000, 0xfffffe7fffffffff, RegionKind::CpuEntryArea, "cpu_entry_area", "");
  add(0xffffff0000000000, 0xffffff7fffffffff, RegionKind::Espfix, "espfix (%esp fixup stacks)", "");
  add(0xffffffef00000000, 0xfffffffeffffffff, RegionKind::Efi, "EFI runtime services", "");
  const uint64_t text_end = kStartKernelMap + p.kernel_image_size;
  add(kStartKernelMap, text_end - 1, RegionKind::KernelText, "kernel text (__START_KERNEL_map)",
      p.kaslr_offset ? fmt::format("_text at 0x{:x} (KASLR offset 0x{:x})", kTextLinkAddress + *p.kaslr_offset,
                                   *p.kaslr_offset)
                     : "");
  add(text_end, kModulesEnd - 1, RegionKind::Modules, "modules", "");
  add(kModulesEnd, kVsyscall - 1, RegionKind::Fixmap, "fixmap", "FIXADDR_START varies with the configuration");
  add(kVsyscall, kVsyscall + 0xfff, RegionKind::Vsyscall, "vsyscall (legacy ABI)", "");

  // Order, clip overlaps (a bad base must not produce nonsense), and fill the gaps.
  std::sort(named.begin(), named.end(), [](const Region& a, const Region& b) { return a.start < b.start; });
  std::vector<Region> out;
  uint64_t next = 0;
  bool done = false;
  for (Region r : named) {
    if (done || r.last < next) continue;
    if (r.start < next) r.start = next;
    if (r.start > next) out.push_back(Region{next, r.start - 1, RegionKind::Unused, "unused hole", ""});
    out.push_back(r);
    if (r.last == ~uint64_t{0}) done = true;
    next = r.last + 1;
  }
  if (!done) out.push_back(Region{next, ~uint64_t{0}, RegionKind::Unused, "unused hole", ""});
  return out;
}

const Region& classify(const std::vector<Region>& layout, uint64_t va) {
  auto it = std::upper_bound(layout.begin(), layout.end(), va, [](uint64_t v, const Region& r) { return v < r.start; });
  return *(it - 1);
}

}  // namespace pagewalk::linux_kernel
