// Searching physical memory for a byte pattern: every range the source holds data for,
// read in large chunks (zero-copy through PhysMemory::view where the source maps its file),
// matched with glibc's memmem, and handed back to the source as it goes so that a whole
// dump does not stay resident.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/phys_memory.hpp"

namespace pagewalk {

struct SearchOptions {
  uint64_t max_hits = 1000;  // stop after this many (0: no limit)
  std::function<void(uint64_t done, uint64_t total)> progress;  // bytes, after each chunk
};

struct SearchReport {
  uint64_t bytes_scanned = 0;
  uint64_t hits = 0;
  bool truncated = false;               // max_hits reached
  std::vector<PhysRange> unreadable;    // chunks the source could not give
};

// Calls `hit` with the PA of every match, in address order (overlapping matches included).
// `hit` returns false to stop.
SearchReport search_physical(PhysMemory& memory, std::span<const std::byte> pattern,
                             const std::function<bool(PhysAddr)>& hit, const SearchOptions& options = {});

}  // namespace pagewalk
