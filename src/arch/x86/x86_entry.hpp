// x86 page-table entries: one decoder for every x86 mode and level (Intel SDM Vol. 3A
// Tables 4-4..4-11 and 4-14..4-20), plus the Linux meanings of non-present entries.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "arch/x86/x86_modes.hpp"
#include "core/architecture.hpp"
#include "core/walk_engine.hpp"

namespace pagewalk::x86 {

// Bit numbers (arch/x86/include/asm/pgtable_types.h names the software ones).
enum Bit : unsigned {
  kP = 0, kRW = 1, kUS = 2, kPWT = 3, kPCD = 4, kA = 5, kD = 6, kPS = 7, kG = 8,
  kSoftw1 = 9,   // Linux _PAGE_SPECIAL
  kSoftw2 = 10,  // Linux _PAGE_UFFD_WP
  kSoftw3 = 11,  // Linux _PAGE_SOFT_DIRTY
  kPatLarge = 12,
  kSoftw5 = 58,  // Linux _PAGE_SAVED_DIRTY (x86-64)
  kPkey0 = 59,   // protection key, bits 62:59
  kNX = 63,
};
// In a 4 KiB PTE, bit 7 is PAT; in a non-present Linux entry, bit 8 is _PAGE_PROTNONE.
inline constexpr unsigned kPat4K = kPS;
inline constexpr unsigned kProtNone = kG;

// Decodes the entry found at `level` of `mode`.
[[nodiscard]] EntryDecode decode(const PagingMode& mode, unsigned level, uint64_t raw, const DecodeOptions& opt);

// The walk's fast path (core/walk_engine.hpp): present 64-bit entries, decided with masks
// worked out once per mode and CPU instead of from the mode's description at every level.
// It answers exactly as decode() does for the entries it takes, and declines every other
// one (not present, a reserved bit, PS where it cannot be, 32-bit entries) so that decode()
// says what they are.
class HotDecoder {
 public:
  HotDecoder(const PagingMode& mode, const DecodeOptions& opt);

  [[nodiscard]] bool decode(unsigned level, uint64_t raw, FastEntry& out) const {
    const Level& l = levels_[level];
    if (!(raw & 1)) return false;
    const bool large = (raw & l.ps) != 0;
    if (raw & (large ? l.reserved_large : l.reserved)) return false;
    out.addr = raw & (large ? l.addr_large : l.addr);
    out.attrs = raw & (large ? l.attrs_large : l.attrs);
    out.leaf = large || l.last;
    // R/W and U/S (bits 1, 2) and XD (63, when NX is on) pick the entry's Access.
    out.access = l.access[((raw >> kRW) & 3) | ((raw & nx_) >> (kNX - 2))];
    return true;
  }

 private:
  struct Level {
    uint64_t ps = 0;              // the PS bit where it is defined (all but the last level)
    uint64_t reserved = ~0ull;    // bits that must be clear in a table pointer or 4 KiB leaf
    uint64_t reserved_large = ~0ull;  // ... in a large leaf (all bits: PS is itself reserved)
    uint64_t addr = 0, addr_large = 0;
    uint64_t attrs = 0, attrs_large = 0;  // the bits outside the address field
    bool last = false;
    std::array<uint8_t, 8> access{};  // by R/W | U/S << 1 | XD << 2
  };
  std::array<Level, kMaxLevels> levels_{};
  uint64_t nx_ = 0;  // bit 63 when it means execute-disable
};

// The Access an entry with these bits allows below it (SDM Vol. 3A §4.6): the kernel may
// read everything, write with R/W, execute without XD; the user the same only with U/S.
// (SMEP, SMAP and CR0.WP act on top of this; see access notes.)
[[nodiscard]] constexpr Access access_of(bool rw, bool us, bool exec) {
  const uint8_t k = static_cast<uint8_t>(1 | (rw ? 2 : 0) | (exec ? 4 : 0));
  return Access::of(k, us ? k : 0);
}

// Names of the bits set in the entry, as the level reads them ("P", "RW", "PS", "PAT", "NX",
// "SOFT_DIRTY", "PROTNONE", "SWP_EXCLUSIVE", "PKEY=3", ...).
[[nodiscard]] FlagNames flag_names(const PagingMode& mode, unsigned level, uint64_t raw, const DecodeOptions& opt);

// Protection key of a leaf (x86-64 only; 0 otherwise).
[[nodiscard]] unsigned pkey(const PagingMode& mode, uint64_t raw);

// The Linux encodings of non-present entries, for building test and demo tables.
[[nodiscard]] uint64_t encode_swap(const PagingMode& mode, unsigned type, uint64_t offset);
[[nodiscard]] uint64_t encode_protnone(const PagingMode& mode, uint64_t frame, uint64_t flags);

// Physical-address mask for PA bits [pa_bits-1 : 0].
[[nodiscard]] constexpr uint64_t pa_mask(unsigned pa_bits) {
  return pa_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << pa_bits) - 1;
}

}  // namespace pagewalk::x86
