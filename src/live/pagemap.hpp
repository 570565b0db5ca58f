// /proc/PID/pagemap: one 64-bit word per virtual page (Documentation/admin-guide/mm/pagemap.rst;
// the PM_* bits of fs/proc/task_mmu.c). The kernel's own VA->PFN oracle, read here as a
// translator of its own, not as a page-table source: it shows no table levels.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "core/address.hpp"
#include "live/proc_files.hpp"

namespace pagewalk::live {

inline constexpr unsigned kPageShift = 12;  // pagemap indexes 4 KiB pages on x86-64
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;

struct PagemapEntry {
  // Bits 0..54 are the PFN when present, or swap type (0..4) and offset (5..54) when swapped.
  static constexpr uint64_t kFrameMask = (uint64_t{1} << 55) - 1;
  static constexpr unsigned kSoftDirty = 55;  // since 3.11
  static constexpr unsigned kExclusive = 56;  // mapped by this process only (4.2)
  static constexpr unsigned kUffdWp = 57;     // write-protected through userfaultfd (5.13)
  static constexpr unsigned kGuard = 58;      // a MADV_GUARD_INSTALL guard region (6.15)
  static constexpr unsigned kFileShared = 61; // a file page or shared anonymous page (3.5)
  static constexpr unsigned kSwapped = 62;
  static constexpr unsigned kPresent = 63;

  uint64_t raw = 0;

  [[nodiscard]] constexpr bool bit(unsigned b) const { return (raw >> b) & 1; }
  [[nodiscard]] constexpr bool present() const { return bit(kPresent); }
  [[nodiscard]] constexpr bool swapped() const { return bit(kSwapped); }
  [[nodiscard]] constexpr bool soft_dirty() const { return bit(kSoftDirty); }
  [[nodiscard]] constexpr bool exclusive() const { return bit(kExclusive); }
  [[nodiscard]] constexpr bool uffd_wp() const { return bit(kUffdWp); }
  [[nodiscard]] constexpr bool guard() const { return bit(kGuard); }
  [[nodiscard]] constexpr bool file_shared() const { return bit(kFileShared); }
  // Present pages only; 0 when the reader lacks CAP_SYS_ADMIN.
  [[nodiscard]] constexpr Pfn pfn() const { return Pfn(raw & kFrameMask); }
  // Swapped pages only.
  [[nodiscard]] constexpr unsigned swap_type() const { return static_cast<unsigned>(raw & 0x1f); }
  [[nodiscard]] constexpr uint64_t swap_offset() const { return (raw & kFrameMask) >> 5; }
};

// Names of the set bits: PRESENT SWAPPED SOFT_DIRTY EXCLUSIVE UFFD_WP GUARD FILE_SHARED.
[[nodiscard]] std::vector<std::string_view> pagemap_flag_names(PagemapEntry e);

// A run of consecutive keys (page numbers, PFNs) read with one pread.
struct Run {
  uint64_t first;
  uint64_t count;
};

// Coalesces sorted, distinct keys into runs: a gap of at most `max_gap` missing keys is
// read through rather than starting a new run, and no run is longer than `max_len`.
[[nodiscard]] std::vector<Run> coalesce_runs(std::span<const uint64_t> sorted_keys, uint64_t max_gap, uint64_t max_len);

// An open /proc/PID/pagemap.
class Pagemap {
 public:
  [[nodiscard]] static tl::expected<Pagemap, LiveError> open(int pid);

  // Reads the entries of the pages from `first_page` (a VA >> 12) on, one pread. Returns
  // how many were read: fewer than out.size() means the process exited (or the range ends
  // at the top of the user address space).
  [[nodiscard]] tl::expected<size_t, LiveError> read(uint64_t first_page, std::span<uint64_t> out) const;

  // The runs of present pages in [first_page, end_page), from the PAGEMAP_SCAN ioctl
  // (Linux 6.7): the kernel skips empty page tables instead of writing a zero entry per
  // page, which is what makes a reverse map of a process with terabytes of reserved address
  // space (sanitizer shadows) take milliseconds instead of seconds. nullopt when the kernel
  // has no such ioctl: read every entry then.
  [[nodiscard]] std::optional<std::vector<Run>> present_runs(uint64_t first_page, uint64_t end_page) const;

  [[nodiscard]] int pid() const { return pid_; }

 private:
  Pagemap(int pid, Fd fd) : pid_(pid), fd_(std::move(fd)) {}
  int pid_ = 0;
  Fd fd_;
};

// Reads a list of pagemap chunks on worker threads, up to `depth` ahead of the caller, who
// gets them in order: the kernel builds the next chunks (most of a scan's time) while the
// caller decodes this one. Reads of different ranges run in parallel in the kernel (they
// share the mm's lock for reading), so with more than one CPU two readers take turns:
// chunk i goes to reader i % readers. Worth its threads only for a scan of several chunks.
class PagemapReadAhead {
 public:
  // readers = 0: one per CPU, at most 4 (and at most `depth`).
  PagemapReadAhead(const Pagemap& pagemap, std::vector<Run> chunks, size_t depth = 8, unsigned readers = 0);
  ~PagemapReadAhead();
  PagemapReadAhead(const PagemapReadAhead&) = delete;
  PagemapReadAhead& operator=(const PagemapReadAhead&) = delete;

  // The next chunk's entries, valid until the following call; fewer than the chunk's count
  // when the process exited. An error ends the sequence.
  [[nodiscard]] tl::expected<std::span<const uint64_t>, LiveError> next();

 private:
  bool read_chunk(size_t i);  // false: stop reading (an error, or the caller is gone)
  const Pagemap& pagemap_;
  const std::vector<Run> chunks_;
  std::vector<std::vector<uint64_t>> slots_;
  std::vector<tl::expected<size_t, LiveError>> results_;  // per slot
  // Handoffs are atomics the other side spins on before it sleeps: a chunk takes about
  // 100 us to read, and waking a sleeping thread on another CPU costs a good part of that
  // (more in a VM), once per chunk.
  std::unique_ptr<std::atomic<size_t>[]> filled_;  // per slot: 1 + the chunk it holds
  std::atomic<size_t> handed_{0};  // chunks given to the caller (it still holds the last one)
  std::atomic<bool> stop_{false};
  std::vector<std::thread> readers_;
};

}  // namespace pagewalk::live
