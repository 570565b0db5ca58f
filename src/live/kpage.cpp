#include "live/kpage.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "live/pagemap.hpp"

namespace pagewalk::live {

std::vector<std::string> kpageflag_names(uint64_t flags) {
  std::vector<std::string> names;
  for (unsigned b = 0; b < 64; ++b) {
    if (!((flags >> b) & 1)) continue;
    const bool named = b < kKpageFlagNames.size() && !kKpageFlagNames[b].empty();
    names.push_back(named ? std::string(kKpageFlagNames[b]) : fmt::format("BIT{}", b));
  }
  return names;
}

tl::expected<Kpage, LiveError> Kpage::open() {
  auto flags = open_read_only("/proc/kpageflags", "kpageflags");
  if (!flags) return tl::unexpected(flags.error());
  auto count = open_read_only("/proc/kpagecount", "kpagecount");
  if (!count) return tl::unexpected(count.error());
  return Kpage(std::move(*flags), std::move(*count));
}

tl::expected<void, LiveError> Kpage::flags(Pfn first, std::span<uint64_t> out) const {
  std::fill(out.begin(), out.end(), 0);
  auto n = pread_some(flags_, std::as_writable_bytes(out), first.value() * sizeof(uint64_t), "kpageflags");
  if (!n) return tl::unexpected(n.error());
  return {};
}

tl::expected<KpageInfo, LiveError> Kpage::info(Pfn pfn) const {
  const Pfn one[1] = {pfn};
  auto v = info(std::span<const Pfn>(one));
  if (!v) return tl::unexpected(v.error());
  return v->front();
}

tl::expected<std::vector<KpageInfo>, LiveError> Kpage::info(std::span<const Pfn> pfns) const {
  std::vector<uint64_t> keys;
  keys.reserve(pfns.size());
  for (const Pfn p : pfns) keys.push_back(p.value());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  // Frames of one process cluster; reading through a gap of 64 words costs less than a syscall.
  const std::vector<Run> runs = coalesce_runs(keys, 64, 8192);
  std::vector<uint64_t> flags_of(keys.size()), count_of(keys.size());
  std::vector<uint64_t> buf;
  size_t k = 0;
  for (const Run& r : runs) {
    buf.assign(r.count, 0);
    for (int file = 0; file < 2; ++file) {
      const Fd& fd = file == 0 ? flags_ : count_;
      std::fill(buf.begin(), buf.end(), 0);
      auto n = pread_some(fd, std::as_writable_bytes(std::span(buf)), r.first * sizeof(uint64_t),
                          file == 0 ? "kpageflags" : "kpagecount");
      if (!n) return tl::unexpected(n.error());
      std::vector<uint64_t>& dest = file == 0 ? flags_of : count_of;
      for (size_t i = k; i < keys.size() && keys[i] < r.first + r.count; ++i) dest[i] = buf[keys[i] - r.first];
    }
    while (k < keys.size() && keys[k] < r.first + r.count) ++k;
  }
  std::vector<KpageInfo> out;
  out.reserve(pfns.size());
  for (const Pfn p : pfns) {
    const size_t i = static_cast<size_t>(std::lower_bound(keys.begin(), keys.end(), p.value()) - keys.begin());
    out.push_back({flags_of[i], count_of[i]});
  }
  return out;
}

}  // namespace pagewalk::live
