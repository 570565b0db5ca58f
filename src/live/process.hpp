// A live process as the kernel shows it through /proc: its mappings (smaps) and its
// pagemap. Three clients sit on it: translate (VAs to frames, in batches), map (every
// mapping with its physical runs) and the machine-wide reverse map (frame to every
// (pid, VA) that maps it).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "core/address.hpp"
#include "core/virtual_memory.hpp"
#include "live/kpage.hpp"
#include "live/maps.hpp"
#include "live/pagemap.hpp"
#include "live/proc_files.hpp"

namespace pagewalk::live {

inline constexpr uint64_t kPmdSize = uint64_t{2} << 20;  // a PMD-mapped THP on x86-64
inline constexpr uint64_t kPagesPerPmd = kPmdSize / kPageSize;

class LiveProcess {
 public:
  // Opens the pagemap, then reads smaps (maps when `smaps` is false).
  [[nodiscard]] static tl::expected<LiveProcess, LiveError> open(int pid, bool smaps = true);

  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] const std::string& comm() const { return comm_; }
  [[nodiscard]] const std::vector<Mapping>& mappings() const { return maps_; }
  [[nodiscard]] const Pagemap& pagemap() const { return pagemap_; }

  // `m` with its smaps fields (page size, THP, hugetlb). Opened from maps, the process
  // reads its smaps on the first call only: smaps walks every page table itself, which
  // costs as much as the pagemap read, so the mapping scan asks only when a 2 MiB block
  // of consecutive frames needs telling THP from hugetlb. Returns `m` when smaps cannot
  // be read (the process exited).
  // With `read` false, smaps is used only if it was read already.
  [[nodiscard]] const Mapping& detailed(const Mapping& m, bool read = true) const;

 private:
  LiveProcess(int pid, Pagemap pm) : pid_(pid), pagemap_(std::move(pm)) {}
  int pid_;
  std::string comm_;
  std::vector<Mapping> maps_;
  Pagemap pagemap_;
  mutable std::vector<Mapping> smaps_;
  mutable bool smaps_read_ = false;
};

enum class LiveStatus : uint8_t {
  Mapped,      // present in RAM
  NotPresent,  // inside a mapping, but no page yet (never touched, or dropped)
  Swapped,     // in a swap slot (or another swap-type entry: migration, hwpoison)
  NoMapping,   // in no mapping of the process
};
[[nodiscard]] std::string_view to_string(LiveStatus s);

enum class PageKind : uint8_t { Base, Thp, Hugetlb };
[[nodiscard]] std::string_view to_string(PageKind k);

struct LiveTranslation {
  VirtAddr va;
  LiveStatus status = LiveStatus::NoMapping;
  PagemapEntry entry;
  const Mapping* mapping = nullptr;  // into the LiveProcess's mappings: valid while it lives
  PageKind kind = PageKind::Base;
  uint64_t page_size = kPageSize;    // the page really backing the VA
  PhysAddr pa;                       // Mapped, unless the PFN is hidden
  bool pfn_hidden = false;           // present, PFN 0, and we lack CAP_SYS_ADMIN
  bool has_kpage = false;
  KpageInfo kpage;
};

// "0x400000-0x401000 r-xp /bin/true": a mapping in one line ([anon] for no path).
[[nodiscard]] std::string region_text(const Mapping& m);
// Why `t` has no PA to show ("" when it has): the words translate prints for a live process.
[[nodiscard]] std::string translation_reason(const LiveTranslation& t, int pid);

struct TranslateOptions {
  const Kpage* kpage = nullptr;  // flags and map counts of the frames, when open
  bool privileged = true;        // CAP_SYS_ADMIN: PFNs are real
};

// Translates every VA; results are in input order. The pagemap is read in sorted,
// coalesced runs (one pread per run), never one read per address. A VA in a mapping that
// may hold PMD-mapped THPs reads its whole 2 MiB block, to tell a huge page from 4 KiB ones.
[[nodiscard]] tl::expected<std::vector<LiveTranslation>, LiveError> translate(const LiveProcess& p,
                                                                               std::span<const VirtAddr> vas,
                                                                               const TranslateOptions& o);

// A run of present pages with consecutive VAs, consecutive frames and one page size.
struct PhysRun {
  VirtAddr va;
  Pfn pfn;                      // first frame (0 when hidden)
  uint64_t pages = 0;           // 4 KiB pages
  uint64_t page_size = kPageSize;
  PageKind kind = PageKind::Base;
  bool pfn_hidden = false;
};

struct MappingCounts {
  uint64_t resident = 0;    // present 4 KiB pages
  uint64_t swapped = 0;     // pages with a swap entry
  uint64_t huge_pages = 0;  // PMD-mapped THPs or hugetlb pages
  uint64_t runs = 0;
};

// Reads the whole pagemap of one mapping in chunks of `chunk_pages` entries and reports its
// physical runs in VA order through `on_run`.
// A 2 MiB block of consecutive frames is told apart (THP, hugetlb, or 4 KiB pages that
// happen to be contiguous) by the frames' kpageflags when `kpage` is given (one 4 KiB read
// per such block), else by smaps.
[[nodiscard]] tl::expected<MappingCounts, LiveError> scan_mapping(const LiveProcess& p, const Mapping& m,
                                                                  const std::function<void(const PhysRun&)>& on_run,
                                                                  bool privileged, const Kpage* kpage = nullptr,
                                                                  size_t chunk_pages = 8192);

struct ReverseHit {
  int pid;
  std::string comm;
  VirtAddr va;      // the page's VA (plus the offset of the physical address asked for)
  Mapping mapping;
  PagemapEntry entry;
};

struct ProcessFailure {
  int pid;
  LiveError error;
};

struct ReverseOptions {
  std::vector<int> pids;    // empty: every process in /proc
  uint64_t stop_after = 0;  // stop once this many mappers are found (kpagecount); 0: scan all
  bool use_pagemap_scan = true;  // ask the kernel for the present runs (PAGEMAP_SCAN) when it can
  // Called after a process's mappings are read and before its pagemap is opened; tests
  // use it to make a process exit at exactly that point.
  std::function<void(int pid)> before_pagemap;
  std::function<void(size_t done, size_t total)> progress;
};

struct ReverseResult {
  std::vector<ReverseHit> hits;
  std::vector<ProcessFailure> failures;  // processes that exited or could not be read
  uint64_t processes = 0;                // processes whose pagemap was read
  uint64_t pages_read = 0;               // pagemap entries read
  uint64_t resident_pages = 0;           // of which present
  uint64_t scanned_mappings = 0;         // mappings whose present runs PAGEMAP_SCAN gave
  bool stopped_early = false;
};

// Every (pid, VA) mapping the frame `pfn`, `page_offset` added to each VA.
[[nodiscard]] ReverseResult reverse_map(Pfn pfn, uint64_t page_offset, const ReverseOptions& o);

// [va, va + size) of a live process through /proc/PID/mem (the kernel's own walk, under
// the ptrace access check), one 4 KiB page per read: a page the process does not map is
// reported in place and the rest is still read. Fails only when the process cannot be
// opened, or exits during the read (after the pieces read so far).
[[nodiscard]] tl::expected<void, LiveError> read_process_memory(int pid, VirtAddr va, uint64_t size,
                                                                const PieceSink& sink);

}  // namespace pagewalk::live
