// Linux on AArch64 (linux/arm64.cpp): the LinuxArch and its layout.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "linux/layout.hpp"
#include "linux/linux_arch.hpp"

namespace pagewalk::linux_kernel {

// Which arrangement of the kernel's half a kernel uses (arch/arm64/include/asm/memory.h).
enum class Arm64Era {
  // Before 5.4: the linear map in the top half of the kernel's space (PAGE_OFFSET
  // 0xffffffc000000000 with VA_BITS=39), vmalloc, vmemmap and the rest below it.
  Before54,
  // 5.4 flipped the space: the linear map at its bottom (PAGE_OFFSET = -(1 << VA_BITS)), a
  // BPF JIT region, modules and the image, vmalloc, then the fixmap, PCI I/O and vmemmap
  // hanging below the top.
  Flipped54,
  // 5.11 put vmemmap at a fixed -(1 << (VA_BITS - VMEMMAP_SHIFT)) and the fixmap and PCI I/O
  // below it.
  Since511,
};

// What a release's memory.h says beyond its era.
struct Arm64Release {
  Arm64Era era = Arm64Era::Since511;
  // The 128 MiB BPF JIT region below the modules: from 5.0 until 5.16 (which dropped it; later
  // 5.15 stable kernels dropped it too, and those say so in VMCOREINFO since 5.18 anyway).
  bool bpf_region = false;
  uint64_t modules_vsize = uint64_t{128} << 20;  // MODULES_VSIZE: SZ_128M, SZ_2G since 6.5
  // How pgtable.h encodes swap and PROT_NONE entries: arm64::CpuFlag kLinuxBefore519,
  // kLinuxSince610, or 0 for 5.19 to 6.9 (the decoder's default).
  uint32_t entry_flags = 0;
};

struct Arm64LayoutParams {
  unsigned va_bits = 48;     // CONFIG_ARM64_VA_BITS (VMCOREINFO NUMBER(VA_BITS))
  unsigned page_shift = 12;  // the granule
  Arm64Release release;
  unsigned struct_page_shift = 6;  // STRUCT_PAGE_MAX_SHIFT: order_base_2(sizeof(struct page))
  uint64_t pud_size = uint64_t{1} << 30;         // PUD_SIZE (PGDIR_SIZE where the PUD is folded)
  uint64_t kernel_half = 0xffff000000000000;     // where TTBR1's half starts (64 - T1SZ bits)
  uint64_t user_last = 0x0000ffffffffffff;       // where TTBR0's ends
  // The bounds the kernel itself exports (VMCOREINFO, 6.0+), when given.
  std::optional<uint64_t> modules_vaddr, modules_end, vmalloc_start, vmalloc_end, vmemmap_start, vmemmap_end;
  std::optional<uint64_t> phys_offset;
  std::optional<uint64_t> image_start, image_end;  // _text and the end of its mapping
};

// What memory.h says for a kernel release ("6.1.0-57-arm64"); the newest for an unreadable one.
[[nodiscard]] Arm64Release arm64_release(std::string_view release);
// Regions in address order covering 0 .. 2^64-1.
[[nodiscard]] std::vector<Region> arm64_layout(const Arm64LayoutParams& p);
// PAGE_OFFSET and PAGE_END (the linear map's bounds) of an era.
[[nodiscard]] std::pair<uint64_t, uint64_t> arm64_linear_bounds(Arm64Era era, unsigned va_bits);

[[nodiscard]] const LinuxArch& arm64_linux();

}  // namespace pagewalk::linux_kernel
