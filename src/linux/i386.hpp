// Linux on 32-bit x86 (linux/i386.cpp): the LinuxArch and its layout.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "linux/layout.hpp"
#include "linux/linux_arch.hpp"

namespace pagewalk::linux_kernel {

// CONFIG_PAGE_OFFSET of CONFIG_VMSPLIT_3G and CONFIG_PHYSICAL_START, as Debian's 686 and
// 686-pae kernels are built: _text is linked at their sum.
inline constexpr uint64_t kI386PageOffset = 0xC0000000;
inline constexpr uint64_t kI386PhysicalStart = 0x1000000;

struct I386LayoutParams {
  uint64_t page_offset = kI386PageOffset;
  uint64_t pmd_size = uint64_t{1} << 21;  // 2 MiB under PAE, 4 MiB with 2-level tables
  uint64_t lowmem_bytes = 0;              // 0: unknown (no image)
  std::optional<uint64_t> image_start;    // _text, when the KASLR offset is known
  // CPU_ENTRY_AREA_BASE (from the IDTR): the LDT remap, pkmap and VMALLOC_END hang below it.
  std::optional<uint64_t> cpu_entry_area;
};

// Regions in address order covering 0 .. 2^64-1 (above 4 GiB: no address).
[[nodiscard]] std::vector<Region> i386_layout(const I386LayoutParams& p);

[[nodiscard]] const LinuxArch& i386_linux();

}  // namespace pagewalk::linux_kernel
