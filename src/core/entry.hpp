// What one page-table entry means to the walk, independent of the architecture that
// encoded it. Architecture decoders (arch/) fill it in; names for display come separately.
#pragma once

#include <cstdint>

namespace pagewalk {

enum class EntryKind : uint8_t {
  Empty,       // all zero: nothing was ever mapped here
  Table,       // points at the next level's table
  Leaf,        // maps a page (4 KiB) or a large page/block
  Swap,        // not present; Linux keeps a swap (or migration...) entry in it
  ProtNone,    // not present to the MMU, but mapped PROT_NONE (or NUMA-hinting) by Linux
  NotPresent,  // not present, with other bits set that mean nothing to the walk
  Reserved,    // present with a bit the hardware reserves: the MMU would fault
};

// Access as bits, the form the walk's hot path ANDs down the levels.
inline constexpr uint8_t kPermWrite = 1, kPermUser = 2, kPermExec = 4, kPermAll = 7;

// Access an entry allows below it; a walk ANDs these down the levels.
struct Perms {
  bool write = true;
  bool user = true;
  bool exec = true;
  constexpr Perms operator&(Perms o) const { return {write && o.write, user && o.user, exec && o.exec}; }
  constexpr bool operator==(const Perms&) const = default;
  [[nodiscard]] constexpr uint8_t bits() const {
    return static_cast<uint8_t>((write ? kPermWrite : 0) | (user ? kPermUser : 0) | (exec ? kPermExec : 0));
  }
  [[nodiscard]] static constexpr Perms from_bits(uint8_t b) {
    return {(b & kPermWrite) != 0, (b & kPermUser) != 0, (b & kPermExec) != 0};
  }
};

struct EntryDecode {
  EntryKind kind = EntryKind::Empty;
  uint64_t addr = 0;   // next table, or leaf frame base (ProtNone: the un-inverted frame)
  uint64_t attrs = 0;  // the entry's bits other than the address (for coalescing)
  Perms perms;         // what this entry contributes to the effective permissions
  uint8_t swap_type = 0;
  uint64_t swap_offset = 0;
};

// Facts about the CPU that change how an entry reads.
struct DecodeOptions {
  uint8_t pa_bits = 0;      // MAXPHYADDR; 0 = the mode's default
  bool nx_enabled = true;   // EFER.NXE (always set by Linux on x86-64)
  bool pse_enabled = true;  // CR4.PSE, for 32-bit 2-level paging
};

}  // namespace pagewalk
