#include "live/pagemap.hpp"

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

}  // namespace pagewalk::live
