// The x86-64 kernel's virtual memory layout (Documentation/arch/x86/x86_64/mm.rst), for
// 4-level and 5-level paging, with the KASLR-randomised bases applied when they are known.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagewalk::linux_kernel {

// arch/x86/include/asm/page_64_types.h: where the kernel image is linked (__START_KERNEL_map),
// and where _text lands without KASLR (__START_KERNEL, with the default 16 MiB
// CONFIG_PHYSICAL_START).
inline constexpr uint64_t kStartKernelMap = 0xffffffff80000000;
inline constexpr uint64_t kTextLinkAddress = 0xffffffff81000000;

struct LayoutParams {
  bool five_level = false;
  std::optional<uint64_t> page_offset_base, vmalloc_base, vmemmap_base;
  uint64_t max_pfn = 0;                     // sizes the randomised direct map and vmemmap
  uint64_t struct_page_size = 64;
  uint64_t kernel_image_size = uint64_t{1} << 30;  // KERNEL_IMAGE_SIZE: 1 GiB with KASLR
  std::optional<uint64_t> kaslr_offset;
};

enum class RegionKind {
  User, NonCanonical, GuardHole, LdtRemap, DirectMap, Vmalloc, Vmemmap, KasanShadow, CpuEntryArea, Espfix,
  Efi, KernelText, Modules, Fixmap, Vsyscall, Pkmap, PciIo, Unused,
};

struct Region {
  uint64_t start = 0;
  uint64_t last = 0;  // inclusive: the top region ends at 2^64 - 1
  RegionKind kind = RegionKind::Unused;
  std::string name;  // "direct map", "vmalloc/ioremap", ...
  std::string note;  // where the bounds come from
};

// Regions in address order covering all of 0 .. 2^64-1, holes included.
[[nodiscard]] std::vector<Region> x86_64_layout(const LayoutParams& p);
[[nodiscard]] const Region& classify(const std::vector<Region>& layout, uint64_t va);
[[nodiscard]] std::string_view region_id(RegionKind k);  // stable JSON names: "direct_map", ...

}  // namespace pagewalk::linux_kernel
