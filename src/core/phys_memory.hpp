// The one thing every memory source provides: read bytes at a physical address.
// Dumps, raw images, the QEMU gdbstub and in-memory test tables all implement it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "core/address.hpp"

namespace pagewalk {

// The first physical address that could not be read.
struct ReadError {
  PhysAddr addr;
  std::string reason;
};

struct PhysRange {
  PhysAddr start;
  uint64_t size;
};

// Sorted physical ranges, for asking whether an address lies in one.
class RangeSet {
 public:
  RangeSet() = default;
  explicit RangeSet(std::vector<PhysRange> ranges) : ranges_(std::move(ranges)) {}
  [[nodiscard]] bool contains(PhysAddr pa) const {
    size_t lo = 0, hi = ranges_.size();
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (pa < ranges_[mid].start) hi = mid;
      else if (pa - ranges_[mid].start < ranges_[mid].size) return true;
      else lo = mid + 1;
    }
    return false;
  }

 private:
  std::vector<PhysRange> ranges_;
};

class PhysMemory {
 public:
  PhysMemory() = default;
  PhysMemory(const PhysMemory&) = delete;
  PhysMemory& operator=(const PhysMemory&) = delete;
  virtual ~PhysMemory() = default;

  // Reads exactly out.size() bytes starting at pa.
  [[nodiscard]] virtual tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) = 0;
  // A few bytes that a scan looks at once (a signature at the start of each page): a
  // source whose reads cost a round trip and fill a cache by the page reads only these.
  [[nodiscard]] virtual tl::expected<void, ReadError> peek(PhysAddr pa, std::span<std::byte> out) { return read(pa, out); }

  // The bytes from the 4 KiB page at `page` (aligned) on, as far as the source holds them
  // contiguously in memory (an mmapped file's segment; whole pages only), through a stable
  // pointer, so readers can skip the copy; empty otherwise.
  [[nodiscard]] virtual std::span<const std::byte> view(PhysAddr /*page*/) { return {}; }

  // The physical ranges the source can read, sorted.
  [[nodiscard]] virtual std::vector<PhysRange> ranges() const = 0;
  // The part of them that holds data of its own (an ELF segment's file bytes, not the
  // zeros of p_memsz past them): what a scan for something the kernel wrote need read.
  [[nodiscard]] virtual std::vector<PhysRange> backed_ranges() const { return ranges(); }

  // A hint from a pass over much of memory: these bytes will not be read again soon. A
  // file-mapped source gives their pages back, so that scanning a whole dump does not grow
  // the process by the dump's size. Reads afterwards still work.
  virtual void release(PhysRange /*range*/) {}
};

// Why `pa` cannot be read, in the source's words ("not in the image", a kdump page that
// does not decompress, a gdbstub error). A walk keeps only the address that failed, so
// that the hot path carries no strings; a message asks the source again.
[[nodiscard]] inline std::string read_failure(PhysMemory& memory, PhysAddr pa) {
  std::byte b[1];
  auto r = memory.read(pa, b);
  return r ? std::string("read failed, then succeeded on retry") : std::move(r.error().reason);
}

}  // namespace pagewalk
