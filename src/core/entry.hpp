// What one page-table entry means to the walk, independent of the architecture that
// encoded it. Architecture decoders (arch/) fill it in; names for display come separately.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/access.hpp"

namespace pagewalk {

enum class EntryKind : uint8_t {
  Empty,       // all zero: nothing was ever mapped here
  Table,       // points at the next level's table
  Leaf,        // maps a page or a large page/block
  Swap,        // not present; Linux keeps a swap (or migration...) entry in it
  ProtNone,    // not present to the MMU, but mapped PROT_NONE (or NUMA-hinting) by Linux
  NotPresent,  // not present, with other bits set that mean nothing to the walk
  Reserved,    // present with a bit the hardware reserves: the MMU would fault
};

struct EntryDecode {
  EntryKind kind = EntryKind::Empty;
  uint64_t addr = 0;   // next table, or leaf frame base (ProtNone: the un-inverted frame)
  uint64_t attrs = 0;  // the entry's bits other than the address (for coalescing)
  Access access;       // what this entry still allows below it (Table, Leaf)
  uint8_t swap_type = 0;
  uint64_t swap_offset = 0;
  uint64_t reserved = 0;  // Reserved: the bits that make it so
};

// "table", "leaf", "prot-none"...: the kind's name in every output.
[[nodiscard]] std::string_view to_string(EntryKind k);

// Bit numbers of a mask for people, highest first, runs joined: "51..46, 7".
[[nodiscard]] std::string bit_list(uint64_t mask);

// Facts about the CPU that change how an entry reads.
struct DecodeOptions {
  uint8_t pa_bits = 0;  // physical address bits the CPU implements; 0 = the mode's default
  // Control bits each architecture defines for itself (arch/<name>/); 0 is the
  // configuration Linux runs with, so a walk with default options reads a Linux kernel's
  // tables as its CPU does.
  uint32_t cpu_flags = 0;
  // A register whose fields the entries index, when known (AArch64: MAIR_EL1, the memory
  // types AttrIndx selects).
  std::optional<uint64_t> attribute_register;
  // Which halves of the space ignore a VA's top byte (a tag): bit 0 the half bit 55 = 0
  // selects, bit 1 the other (AArch64's TCR_EL1.TBI0/TBI1, Arm ARM D8.8). The walk picks the
  // region, and so the root, from the VA with its tag replaced by bit 55's copies.
  uint8_t tagged_halves = 0;
};

// `va` as the walk sees it under `tagged_halves`: bits 63:56 copies of bit 55 where that
// half ignores the top byte.
[[nodiscard]] constexpr uint64_t untagged(uint64_t va, uint8_t tagged_halves) {
  const bool high = (va >> 55) & 1;
  if (!(tagged_halves & (high ? 2 : 1))) return va;
  constexpr uint64_t kTop = uint64_t{0xff} << 56;
  return high ? va | kTop : va & ~kTop;
}

}  // namespace pagewalk
