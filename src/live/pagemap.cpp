#include "live/pagemap.hpp"

#include <sys/ioctl.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace pagewalk::live {

std::vector<std::string_view> pagemap_flag_names(PagemapEntry e) {
  std::vector<std::string_view> names;
  if (e.present()) names.push_back("PRESENT");
  if (e.swapped()) names.push_back("SWAPPED");
  if (e.soft_dirty()) names.push_back("SOFT_DIRTY");
  if (e.exclusive()) names.push_back("EXCLUSIVE");
  if (e.uffd_wp()) names.push_back("UFFD_WP");
  if (e.guard()) names.push_back("GUARD");
  if (e.file_shared()) names.push_back("FILE_SHARED");
  return names;
}

std::vector<Run> coalesce_runs(std::span<const uint64_t> keys, uint64_t max_gap, uint64_t max_len) {
  std::vector<Run> runs;
  for (const uint64_t k : keys) {
    if (!runs.empty()) {
      Run& r = runs.back();
      const uint64_t end = r.first + r.count;  // one past the last key in the run
      if (k >= end && k - end <= max_gap && k + 1 - r.first <= max_len) {
        r.count = k + 1 - r.first;
        continue;
      }
      if (k < end) continue;  // duplicate
    }
    runs.push_back({k, 1});
  }
  return runs;
}

tl::expected<Pagemap, LiveError> Pagemap::open(int pid) {
  auto fd = open_read_only(fmt::format("/proc/{}/pagemap", pid), fmt::format("pid {}", pid));
  if (!fd) return tl::unexpected(fd.error());
  return Pagemap(pid, std::move(*fd));
}

tl::expected<size_t, LiveError> Pagemap::read(uint64_t first_page, std::span<uint64_t> out) const {
  size_t done = 0;
  // The kernel may return less than asked for a large read; ask again from where it
  // stopped, and treat 0 as the end (the mm is gone, or past the top of user space).
  while (done < out.size()) {
    auto n = pread_some(fd_, std::as_writable_bytes(out.subspan(done)), (first_page + done) * sizeof(uint64_t),
                        fmt::format("pid {}", pid_));
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) break;
    done += *n / sizeof(uint64_t);
    if (*n % sizeof(uint64_t)) break;
  }
  return done;
}

namespace {

// include/uapi/linux/fs.h (6.7+); spelt out here because older libc headers lack it.
struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
constexpr uint64_t kPageIsPresent = 1u << 3;
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);

}  // namespace

std::optional<std::vector<Run>> Pagemap::present_runs(uint64_t first_page, uint64_t end_page) const {
  std::vector<Run> runs;
  std::array<PageRegion, 512> regions{};
  uint64_t at = first_page << kPageShift;
  const uint64_t end = end_page << kPageShift;
  while (at < end) {
    PmScanArg arg{};
    arg.size = sizeof arg;
    arg.start = at;
    arg.end = end;
    arg.vec = reinterpret_cast<uintptr_t>(regions.data());
    arg.vec_len = regions.size();
    arg.category_mask = kPageIsPresent;
    arg.return_mask = kPageIsPresent;
    const int n = ioctl(fd_.get(), kPagemapScan, &arg);
    if (n < 0) {
      // ENOTTY/EINVAL: a kernel before 6.7. Anything else (the process exited): let the
      // caller's reads say what happened.
      return std::nullopt;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t s = regions[i].start >> kPageShift, e = regions[i].end >> kPageShift;
      if (!runs.empty() && runs.back().first + runs.back().count == s) runs.back().count += e - s;
      else runs.push_back({s, e - s});
    }
    if (arg.walk_end <= at) break;  // no progress: the kernel says the walk ended here
    at = arg.walk_end;
  }
  return runs;
}

PagemapReadAhead::PagemapReadAhead(const Pagemap& pagemap, std::vector<Run> chunks, size_t depth, unsigned readers)
    : pagemap_(pagemap), chunks_(std::move(chunks)), results_(std::max<size_t>(depth, 2), size_t{0}) {
  uint64_t largest = 0;
  for (const Run& c : chunks_) largest = std::max(largest, c.count);
  slots_.assign(results_.size(), std::vector<uint64_t>(largest));
  filled_ = std::make_unique<std::atomic<size_t>[]>(slots_.size());
  if (readers == 0) readers = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  readers = std::min<unsigned>(readers, static_cast<unsigned>(slots_.size()));
  for (unsigned r = 0; r < readers; ++r) readers_.emplace_back([this, r, readers] {
    for (size_t i = r; i < chunks_.size(); i += readers)
      if (!read_chunk(i)) return;
  });
}

namespace {

// Waits until pred() holds: spins a while (the other side is usually about to deliver),
// then sleeps on `word` until it changes.
template <typename Pred>
void await(const std::atomic<size_t>& word, Pred pred) {
  for (int spin = 0; spin < 2048; ++spin) {
    if (pred()) return;
    __builtin_ia32_pause();
  }
  while (!pred()) {
    const size_t seen = word.load(std::memory_order_acquire);
    if (pred()) return;
    word.wait(seen, std::memory_order_acquire);
  }
}

}  // namespace

PagemapReadAhead::~PagemapReadAhead() {
  stop_.store(true, std::memory_order_release);
  handed_.fetch_add(slots_.size(), std::memory_order_acq_rel);  // wakes readers waiting for a slot
  handed_.notify_all();
  for (std::thread& t : readers_) t.join();
}

bool PagemapReadAhead::read_chunk(size_t i) {
  const size_t slot = i % slots_.size();
  // Slot `slot` last held chunk i - depth: wait until the caller is done with it, i.e.
  // it has been handed a chunk after that one.
  await(handed_, [&] {
    return stop_.load(std::memory_order_acquire) || i + 1 < handed_.load(std::memory_order_acquire) + slots_.size();
  });
  if (stop_.load(std::memory_order_acquire)) return false;
  results_[slot] = pagemap_.read(chunks_[i].first, std::span(slots_[slot]).first(chunks_[i].count));
  filled_[slot].store(i + 1, std::memory_order_release);
  filled_[slot].notify_one();
  return results_[slot].has_value();  // after an error the caller stops at this chunk
}

tl::expected<std::span<const uint64_t>, LiveError> PagemapReadAhead::next() {
  const size_t i = handed_.load(std::memory_order_relaxed);
  if (i >= chunks_.size()) return std::span<const uint64_t>{};
  handed_.store(i + 1, std::memory_order_release);  // done with chunk i - 1: its slot is free
  handed_.notify_all();
  const size_t slot = i % slots_.size();
  await(filled_[slot], [&] { return filled_[slot].load(std::memory_order_acquire) == i + 1; });
  if (!results_[slot]) return tl::unexpected(results_[slot].error());
  return std::span<const uint64_t>(slots_[slot]).first(*results_[slot]);
}

}  // namespace pagewalk::live
