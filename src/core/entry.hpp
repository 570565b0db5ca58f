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
};

}  // namespace pagewalk
