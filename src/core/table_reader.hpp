// Reads page-table entries through a small cache of whole table pages: reading a 4 KiB
// table costs little more than reading 8 bytes, and walks of nearby addresses share their
// upper tables. The uncached mode exists to measure what the cache buys.
#pragma once

#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "core/phys_memory.hpp"

namespace pagewalk {

// Where an entry could not be read. Trivially copyable, unlike ReadError: entry() is on the
// hottest path and its result should travel in registers.
struct EntryReadError {
  PhysAddr addr;
};

class TableReader {
 public:
  static constexpr uint64_t kPage = 4096;

  explicit TableReader(PhysMemory& mem, unsigned slots = 256, bool cached = true);

  // The little-endian entry of `bytes` (8, 4 or 2) at `addr`, in a table of level `level`.
  // Each level has its own share of the cache, so the many leaf tables of a random
  // workload cannot evict the few upper tables every walk needs.
  [[nodiscard]] tl::expected<uint64_t, EntryReadError> entry(PhysAddr addr, unsigned bytes, unsigned level = 0) {
    if (!cached_) return read_direct(addr, bytes);
    // Most tables of an mmapped dump lie in a few long stretches of its file: a range check
    // finds them, with no slot to look up or fill.
    for (const Extent& e : extents_)
      if (addr.value() - e.start < e.size) return load(e.base + (addr.value() - e.start), bytes);
    const uint64_t frame = addr.value() / kPage;
    Slot& s = slots_[(level % kLevelSets) * per_level_ + (frame & (per_level_ - 1))];
    if (s.tag != frame + 1) {
      if (!fill(s, frame)) return read_direct(addr, bytes);
    }
    return load(s.data + addr.offset_in(kPage), bytes);
  }

  // x86 and AArch64 tables are little-endian. Constant-size copies: a variable-length
  // memcpy here compiles to `rep movs`, which costs more than the rest of a walk level.
  static uint64_t load(const std::byte* p, unsigned bytes) {
    if (bytes == 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    if (bytes == 4) {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    uint16_t v;  // narrow formats (the test suite's toy architecture)
    std::memcpy(&v, p, 2);
    return v;
  }

  [[nodiscard]] PhysMemory& memory() { return mem_; }
  void clear();

 private:
  struct Slot {
    uint64_t tag = 0;  // frame + 1; 0 = empty
    const std::byte* data = nullptr;
  };
  // A stretch of at least kMinExtent bytes the source holds contiguously in memory.
  struct Extent {
    uint64_t start = 0;
    uint64_t size = 0;  // 0: unused
    const std::byte* base = nullptr;
  };
  static constexpr uint64_t kMinExtent = uint64_t{1} << 20;
  bool fill(Slot& s, uint64_t frame);
  tl::expected<uint64_t, EntryReadError> read_direct(PhysAddr addr, unsigned bytes);

  static constexpr unsigned kLevelSets = 4;  // the root level and the one below share a set
  PhysMemory& mem_;
  bool cached_;
  size_t per_level_;
  std::vector<Slot> slots_;
  std::array<Extent, 2> extents_{};  // the most recently found first
  std::unique_ptr<std::byte[]> buffers_;  // backing for sources without page views
};

}  // namespace pagewalk
