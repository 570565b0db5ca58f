#include "sources/segmented_memory.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace pagewalk {

tl::expected<std::unique_ptr<SegmentedMemory>, std::string> SegmentedMemory::create(
    std::span<const std::byte> buffer, std::vector<Segment> segments, Backing backing) {
  for (const Segment& s : segments) {
    if (s.offset > buffer.size() || s.file_size > buffer.size() - s.offset)
      return tl::unexpected(fmt::format("segment at physical 0x{:x} needs file bytes 0x{:x}..0x{:x} but the file "
                                        "has 0x{:x} (truncated?)",
                                        s.pa.value(), s.offset, s.offset + s.file_size, buffer.size()));
    if (s.mem_size < s.file_size || s.pa.value() + s.mem_size < s.pa.value())
      return tl::unexpected(fmt::format("segment at physical 0x{:x} has an impossible size", s.pa.value()));
  }
  std::erase_if(segments, [](const Segment& s) { return s.mem_size == 0; });
  std::sort(segments.begin(), segments.end(), [](const Segment& a, const Segment& b) { return a.pa < b.pa; });
  for (size_t i = 1; i < segments.size(); ++i)
    if (segments[i - 1].pa + segments[i - 1].mem_size > segments[i].pa)
      return tl::unexpected(fmt::format("segments at physical 0x{:x} and 0x{:x} overlap",
                                        segments[i - 1].pa.value(), segments[i].pa.value()));
  return std::unique_ptr<SegmentedMemory>(new SegmentedMemory(buffer, std::move(segments), backing));
}

const Segment* SegmentedMemory::find(uint64_t pa) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), pa,
                             [](uint64_t a, const Segment& s) { return a < s.pa.value(); });
  if (it == segments_.begin()) return nullptr;
  --it;
  return pa - it->pa.value() < it->mem_size ? &*it : nullptr;
}

tl::expected<void, ReadError> SegmentedMemory::read(PhysAddr pa, std::span<std::byte> out) {
  uint64_t at = pa.value();
  size_t done = 0;
  while (done < out.size()) {
    const Segment* s = find(at);
    if (!s) return tl::unexpected(ReadError{PhysAddr(at), "not in the image"});
    const uint64_t off = at - s->pa.value();
    const uint64_t n = std::min<uint64_t>(out.size() - done, s->mem_size - off);
    const uint64_t from_file = off < s->file_size ? std::min(n, s->file_size - off) : 0;
    if (from_file) std::memcpy(out.data() + done, buffer_.data() + s->offset + off, from_file);
    if (n > from_file) std::memset(out.data() + done + from_file, 0, n - from_file);
    done += n;
    at += n;
  }
  return {};
}

std::span<const std::byte> SegmentedMemory::view(PhysAddr page) {
  const Segment* s = find(page.value());
  if (!s) return {};
  const uint64_t off = page.value() - s->pa.value();
  if (off > s->file_size) return {};
  const uint64_t len = (s->file_size - off) & ~uint64_t{4095};  // bytes past file_size read as zero
  return {buffer_.data() + s->offset + off, len};
}

void SegmentedMemory::release(PhysRange range) {
  if (backing_ != Backing::FileMapping || range.size == 0) return;
  const uint64_t first = range.start.value(), last = first + (range.size - 1);
  for (const Segment& s : segments_) {
    if (s.file_size == 0 || s.pa.value() > last || s.pa.value() + (s.file_size - 1) < first) continue;
    // The part of this segment's file bytes inside the range, shrunk to whole pages of the
    // mapping (which starts page-aligned): a partial page may hold bytes still in use.
    const uint64_t lo = std::max(first, s.pa.value()) - s.pa.value();
    const uint64_t hi = std::min(last - s.pa.value(), s.file_size - 1) + 1;
    const uint64_t from = (s.offset + lo + 4095) & ~uint64_t{4095}, to = (s.offset + hi) & ~uint64_t{4095};
    // MADV_DONTNEED on a private read-only file mapping drops the pages; a later read faults
    // them in from the file again (madvise(2)).
    if (to > from) (void)madvise(const_cast<std::byte*>(buffer_.data()) + from, to - from, MADV_DONTNEED);
  }
}

std::vector<PhysRange> SegmentedMemory::backed_ranges() const {
  std::vector<PhysRange> out;
  for (const Segment& s : segments_) {
    const uint64_t n = std::min(s.file_size, s.mem_size);
    if (n == 0) continue;
    if (!out.empty() && out.back().start + out.back().size == s.pa)
      out.back().size += n;
    else
      out.push_back({s.pa, n});
  }
  return out;
}

std::vector<PhysRange> SegmentedMemory::ranges() const {
  std::vector<PhysRange> out;
  for (const Segment& s : segments_) {
    if (!out.empty() && out.back().start + out.back().size == s.pa)
      out.back().size += s.mem_size;
    else
      out.push_back({s.pa, s.mem_size});
  }
  return out;
}

}  // namespace pagewalk
