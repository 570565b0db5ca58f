// /proc/PID/maps and /proc/PID/smaps (Documentation/filesystems/proc.rst): the process's
// mappings, and per mapping the fields that say which page size backs it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/address.hpp"

namespace pagewalk::live {

struct Mapping {
  VirtAddr start, end;  // [start, end)
  char perms[5] = {'-', '-', '-', 'p', '\0'};  // "rw-p": read, write, exec, private/shared
  uint64_t offset = 0;
  std::string dev;       // "fd:01"
  uint64_t inode = 0;
  std::string path;      // file, [heap], [stack], [vdso]..., or "" (anonymous)

  // From smaps (zero when the mapping came from maps). Sizes in bytes.
  bool has_smaps = false;
  uint64_t rss = 0, swap = 0;
  uint64_t anon_huge = 0;         // AnonHugePages: PMD-mapped anonymous THP
  uint64_t file_pmd_mapped = 0;   // FilePmdMapped: PMD-mapped file THP
  uint64_t shmem_pmd_mapped = 0;  // ShmemPmdMapped
  uint64_t kernel_page_size = 4096, mmu_page_size = 4096;
  bool hugetlb = false;           // VmFlags "ht" (or a KernelPageSize above 4 KiB)

  [[nodiscard]] uint64_t size() const { return end - start; }
  [[nodiscard]] bool contains(VirtAddr va) const { return va >= start && va < end; }
  // PMD-mapped transparent huge pages somewhere in this mapping.
  [[nodiscard]] bool has_pmd_thp() const { return anon_huge || file_pmd_mapped || shmem_pmd_mapped; }
  // [vsyscall] lies above the user address range that pagemap covers.
  [[nodiscard]] bool in_pagemap() const { return path != "[vsyscall]"; }
  [[nodiscard]] std::string_view perms_view() const { return {perms, 4}; }
};

// Parses the text of /proc/PID/maps. Fails on a line that is not a mapping.
[[nodiscard]] tl::expected<std::vector<Mapping>, std::string> parse_maps(std::string_view text);

// Parses the text of /proc/PID/smaps: mapping headers each followed by "Key: value kB"
// lines and "VmFlags: ...". Unknown keys are skipped (the kernel adds new ones).
[[nodiscard]] tl::expected<std::vector<Mapping>, std::string> parse_smaps(std::string_view text);

// The mapping holding `va` in a sorted list, or nullptr.
[[nodiscard]] const Mapping* find_mapping(const std::vector<Mapping>& maps, VirtAddr va);

}  // namespace pagewalk::live
