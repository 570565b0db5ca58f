#include "core/search.hpp"

#include <cstring>
#include <string.h>  // memmem (a GNU extension)

#include <algorithm>

namespace pagewalk {
namespace {

constexpr uint64_t kChunk = uint64_t{8} << 20;

}  // namespace

SearchReport search_physical(PhysMemory& memory, std::span<const std::byte> pattern,
                             const std::function<bool(PhysAddr)>& hit, const SearchOptions& o) {
  SearchReport rep;
  if (pattern.empty()) return rep;
  const std::vector<PhysRange> ranges = memory.backed_ranges();
  uint64_t total = 0;
  for (const PhysRange& r : ranges) total += r.size;
  const size_t overlap = pattern.size() - 1;  // a match may run into the next chunk
  std::vector<std::byte> buf;
  for (const PhysRange& r : ranges) {
    for (uint64_t off = 0; off < r.size; off += kChunk) {
      const uint64_t scan = std::min(kChunk, r.size - off);              // matches start here
      const size_t len = static_cast<size_t>(std::min<uint64_t>(r.size - off, scan + overlap));  // bytes needed
      const PhysAddr at = r.start + off;
      std::span<const std::byte> bytes;
      if (at.offset_in(4096) == 0) {
        const auto v = memory.view(at);
        if (v.size() >= len) bytes = v.first(len);
      }
      // Pages that did not read in this chunk (a kdump's filtered pages): zeros in the
      // buffer, and no match may touch them.
      std::vector<std::pair<uint64_t, uint64_t>> holes;  // [from, to) offsets in the chunk
      if (bytes.empty()) {
        buf.resize(len);
        if (!memory.read(at, buf)) {
          for (size_t page = 0; page < len; page += 4096) {
            const size_t n = std::min<size_t>(4096, len - page);
            const std::span<std::byte> part(buf.data() + page, n);
            if (memory.read(at + page, part)) continue;
            std::fill(part.begin(), part.end(), std::byte{0});
            if (!holes.empty() && holes.back().second == page) holes.back().second = page + n;
            else holes.emplace_back(page, page + n);
          }
          for (const auto& [from, to] : holes)
            if (from < scan) rep.unreadable.push_back({at + from, std::min<uint64_t>(to, scan) - from});
        }
        bytes = buf;
      }
      auto touches_hole = [&](uint64_t from) {
        for (const auto& [h0, h1] : holes)
          if (from < h1 && from + pattern.size() > h0) return true;
        return false;
      };
      const char* base = reinterpret_cast<const char*>(bytes.data());
      const char* p = base;
      const char* const scan_end = base + scan;
      while (p < scan_end) {
        const size_t window = static_cast<size_t>(base + len - p);
        p = static_cast<const char*>(memmem(p, window, pattern.data(), pattern.size()));
        if (!p || p >= scan_end) break;
        if (!holes.empty() && touches_hole(static_cast<uint64_t>(p - base))) {
          ++p;
          continue;
        }
        ++rep.hits;
        const bool go_on = hit(at + static_cast<uint64_t>(p - base));
        if (!go_on || (o.max_hits && rep.hits >= o.max_hits)) {
          rep.truncated = go_on;
          rep.bytes_scanned += static_cast<uint64_t>(p - base) + 1;
          return rep;
        }
        ++p;
      }
      rep.bytes_scanned += scan;
      memory.release({at, scan});
      if (o.progress) o.progress(rep.bytes_scanned, total);
    }
  }
  return rep;
}

}  // namespace pagewalk
