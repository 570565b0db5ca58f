// The kernel's virtual layout and its address conversions checked against its own page
// tables: __pa/__va, pfn <-> struct page, and what a VA with no linear rule maps to.
// `pagewalk layout` and `kconv` and the Python module's layout() and kconv() render these.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "linux/kernel.hpp"
#include "target/target.hpp"

namespace pagewalk::target {

// A layout and where it came from: the kernel's (KASLR bases found in the image), or with
// no kernel the fixed one its mode documents.
struct LayoutView {
  std::string source;  // "dump.elf: Linux 6.1.0-13-amd64", "no image: the fixed layout of ..."
  const PagingMode* mode = nullptr;
  std::vector<linux_kernel::Region> regions;
};

// `kernel` (with its source's name), or none and `mode` (none: the first mode known).
[[nodiscard]] tl::expected<LayoutView, Error> layout_view(const linux_kernel::LinuxKernel* kernel,
                                                          std::string_view source_name, const PagingMode* mode);

// Where a conversion starts: a kernel VA, or a PA (a PFN and a struct page are brought to
// their frame's PA first).
struct KconvStart {
  bool physical = false;
  uint64_t at = 0;
};

// One page: the kernel's rule and the page tables' answer.
struct KconvRow {
  uint64_t virt = 0;
  std::optional<uint64_t> phys, walk_pa, pfn, page;
  std::string rule, region, problem;
  bool disagree = false;  // the rule and the tables give different PAs

  [[nodiscard]] bool agrees() const { return phys && walk_pa && !disagree; }
};

// A frame number's start (pfn << PAGE_SHIFT, the kernel's granule), or why it is no frame.
[[nodiscard]] tl::expected<KconvStart, Error> kconv_pfn(const linux_kernel::LinuxKernel& kernel, uint64_t pfn);
// A struct page's frame (page_to_pfn), or why it is no struct page.
[[nodiscard]] tl::expected<KconvStart, Error> kconv_page(const linux_kernel::LinuxKernel& kernel, uint64_t page);

// One row per page each start's `size` bytes touch (the first keeps the given offset).
[[nodiscard]] tl::expected<std::vector<KconvRow>, Error> kconv(linux_kernel::LinuxKernel& kernel,
                                                               std::span<const KconvStart> starts, uint64_t size);

}  // namespace pagewalk::target
