// /proc/kpageflags and /proc/kpagecount: one 64-bit word per physical frame
// (Documentation/admin-guide/mm/pagemap.rst). Both need root.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/address.hpp"
#include "live/proc_files.hpp"

namespace pagewalk::live {

// Bit numbers of include/uapi/linux/kernel-page-flags.h (KPF_*, 0..26) and of the kernel's
// own include/linux/kernel-page-flags.h (32..42, "kernel hacking assistances" that
// kpageflags also sets), indexed by bit; "" where the kernel defines none.
inline constexpr std::array<std::string_view, 43> kKpageFlagNames = {
    "LOCKED",        // 0
    "ERROR",         // 1
    "REFERENCED",    // 2
    "UPTODATE",      // 3
    "DIRTY",         // 4
    "LRU",           // 5
    "ACTIVE",        // 6
    "SLAB",          // 7
    "WRITEBACK",     // 8
    "RECLAIM",       // 9
    "BUDDY",         // 10
    "MMAP",          // 11
    "ANON",          // 12
    "SWAPCACHE",     // 13
    "SWAPBACKED",    // 14
    "COMPOUND_HEAD", // 15
    "COMPOUND_TAIL", // 16
    "HUGE",          // 17
    "UNEVICTABLE",   // 18
    "HWPOISON",      // 19
    "NOPAGE",        // 20
    "KSM",           // 21
    "THP",           // 22
    "OFFLINE",       // 23 (BALLOON before 5.0)
    "ZERO_PAGE",     // 24
    "IDLE",          // 25
    "PGTABLE",       // 26
    "", "", "", "", "",  // 27..31
    "RESERVED",      // 32
    "MLOCKED",       // 33
    "MAPPEDTODISK",  // 34
    "PRIVATE",       // 35
    "PRIVATE_2",     // 36
    "OWNER_PRIVATE", // 37
    "ARCH",          // 38
    "UNCACHED",      // 39
    "SOFTDIRTY",     // 40
    "ARCH_2",        // 41
    "ARCH_3",        // 42
};

// The kpageflags word a list of those names stands for (unknown names add nothing).
template <typename Names>
[[nodiscard]] constexpr uint64_t kpageflags_word(const Names& names) {
  uint64_t w = 0;
  for (const auto& n : names)
    for (size_t b = 0; b < kKpageFlagNames.size(); ++b)
      if (!kKpageFlagNames[b].empty() && kKpageFlagNames[b] == n) w |= uint64_t{1} << b;
  return w;
}
enum KpageBit : unsigned {
  kKpfCompoundHead = 15,
  kKpfCompoundTail = 16,
  kKpfHuge = 17,
  kKpfThp = 22,
  kKpfZeroPage = 24,
};

// Names of the set stable bits; bits above 26 (the kernel's unstable "hacking" bits) as
// "BIT32" and so on.
[[nodiscard]] std::vector<std::string> kpageflag_names(uint64_t flags);

struct KpageInfo {
  uint64_t flags = 0;
  uint64_t count = 0;  // how many page tables map the frame (page_mapcount)
};

// /proc/kpageflags and /proc/kpagecount, open together.
class Kpage {
 public:
  [[nodiscard]] static tl::expected<Kpage, LiveError> open();

  [[nodiscard]] tl::expected<KpageInfo, LiveError> info(Pfn pfn) const;
  // Flags and counts of many frames, in the order given; frames are sorted and read in
  // runs, not one pread each. A frame past the end of memory reads as zero.
  [[nodiscard]] tl::expected<std::vector<KpageInfo>, LiveError> info(std::span<const Pfn> pfns) const;
  // The flags of out.size() consecutive frames from `first`, one pread.
  [[nodiscard]] tl::expected<void, LiveError> flags(Pfn first, std::span<uint64_t> out) const;

 private:
  Kpage(Fd flags, Fd count) : flags_(std::move(flags)), count_(std::move(count)) {}
  Fd flags_, count_;
};

}  // namespace pagewalk::live
