// A frame's struct page, decoded: the kernel's flags by name (its own enum pageflags, from
// BTF), the reference and map counts, what maps it (anonymous memory, a file's page cache,
// nothing), its compound page (head and order), and the /proc/kpageflags word the kernel
// would report for it (fs/proc/page.c, stable_page_flags, Linux 6.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "linux/btf_layout.hpp"
#include "linux/kernel.hpp"

namespace pagewalk::linux_kernel {

struct PageInfo {
  Pfn pfn;
  uint64_t page = 0;   // the struct page's VA
  uint64_t flags = 0;  // page->flags (the low bits are the enum; the top holds node and zone)
  std::vector<std::string> flag_names;  // the set enum pageflags bits, by the kernel's names
  int32_t refcount = 0;   // page->_refcount
  int32_t mapcount = -1;  // page->_mapcount (-1: mapped nowhere; the count is this plus one)
  uint64_t mapping = 0;   // page->mapping, with its low type bits
  std::string mapping_kind;  // "anon", "ksm", "movable", "file" or "none"
  std::optional<std::string> file;  // a page cache page's file: its path, or why it is unknown
  uint64_t index = 0;
  uint64_t private_data = 0;
  std::optional<uint64_t> head;     // a tail page: its head's struct page
  std::optional<unsigned> order;    // a compound page's order (from its first tail page)
  std::optional<uint64_t> node;     // from page->flags' top bits, when the types tell where
  std::string zone;                 // "DMA", "DMA32", "Normal", ... (the kernel's names)
  std::optional<uint64_t> section;  // pfn >> (SECTION_SIZE_BITS - PAGE_SHIFT)
  // What /proc/kpageflags would say for the frame, as its flag names (LRU, ANON, THP, ...).
  std::vector<std::string> kpageflags;
};

// Fails when the kernel's types lack struct page's members, or the struct page does not read.
[[nodiscard]] tl::expected<PageInfo, std::string> read_page(LinuxKernel& kernel, const TaskLayout& layout, Pfn pfn);

}  // namespace pagewalk::linux_kernel
