// A paging mode is data: an ordered list of levels (root first), each with the VA bits it
// indexes and whether it may hold a leaf. Shifts, table sizes, canonical ranges and the
// kernel's PGDIR_SHIFT/PTRS_PER_* view are all derived from that list.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/address.hpp"

namespace pagewalk {

enum class Arch : uint8_t { X86 };

struct LevelDesc {
  std::string_view linux_name;  // pgd, p4d, pud, pmd, pte
  std::string_view hw_name;     // Intel SDM name: PML5, PML4, PDPT, PD, PT
  uint8_t shift;                // lowest VA bit this level indexes
  uint8_t index_bits;           // VA bits this level indexes
  bool can_be_leaf;             // may map a large page (PS=1)
};

// One of the kernel's five generic levels, as Linux reports it for a mode (folded levels
// take the shift of the level above and have one entry: include/asm-generic/pgtable-nop*d.h).
struct LinuxLevelView {
  std::string_view name;
  unsigned shift;
  unsigned ptrs_per;
  bool folded;
};

inline constexpr unsigned kMaxLevels = 5;

struct PagingMode {
  std::string_view name;
  std::string_view description;
  Arch arch;
  uint8_t entry_bytes;      // 8, or 4 for 32-bit 2-level paging
  uint8_t va_bits;          // width of the translated address
  bool sign_extended;       // x86-64: bits above va_bits copy bit va_bits-1
  uint8_t default_pa_bits;  // MAXPHYADDR assumed unless the user says otherwise
  bool has_nx;              // entries are 64-bit and bit 63 may be XD
  uint64_t root_mask;       // CR3 bits that hold the root table's physical address
  std::span<const LevelDesc> levels;

  [[nodiscard]] constexpr unsigned level_count() const { return static_cast<unsigned>(levels.size()); }
  [[nodiscard]] constexpr unsigned index(VirtAddr va, unsigned level) const {
    const LevelDesc& l = levels[level];
    return static_cast<unsigned>((va.value() >> l.shift) & ((uint64_t{1} << l.index_bits) - 1));
  }
  [[nodiscard]] constexpr unsigned entries(unsigned level) const { return 1u << levels[level].index_bits; }
  [[nodiscard]] constexpr uint64_t span(unsigned level) const { return uint64_t{1} << levels[level].shift; }
  [[nodiscard]] constexpr unsigned page_shift() const { return levels.back().shift; }
  [[nodiscard]] constexpr uint64_t page_offset(VirtAddr va) const { return va.offset_in(uint64_t{1} << page_shift()); }
  // The address space as a flat range [0, 2^va_bits): the walker enumerates in this space
  // and canonical() maps an index-space address back to the real VA.
  [[nodiscard]] constexpr uint64_t space_size() const { return uint64_t{1} << va_bits; }
  [[nodiscard]] constexpr VirtAddr canonical(uint64_t linear) const {
    if (!sign_extended || !((linear >> (va_bits - 1)) & 1)) return VirtAddr(linear);
    return VirtAddr(linear | ~(space_size() - 1));
  }
  [[nodiscard]] constexpr uint64_t linear(VirtAddr va) const { return va.value() & (space_size() - 1); }
  [[nodiscard]] constexpr bool is_canonical(VirtAddr va) const { return canonical(linear(va)) == va; }
  [[nodiscard]] constexpr PhysAddr root_from(uint64_t cr3) const { return PhysAddr(cr3 & root_mask); }

  // The kernel's view: pgd, p4d, pud, pmd, pte in that order.
  [[nodiscard]] std::array<LinuxLevelView, 5> linux_levels() const;
};

[[nodiscard]] std::span<const PagingMode* const> all_modes();
[[nodiscard]] const PagingMode* find_mode(std::string_view name);

extern const PagingMode kX86_64_4Level;
extern const PagingMode kX86_64_5Level;
extern const PagingMode kX86Pae;
extern const PagingMode kX86_32;

// Chooses the x86 paging mode the CPU is in (Intel SDM Vol. 3A §4.1.1): CR0.PG, CR4.PAE,
// EFER.LMA and CR4.LA57. Empty when paging is off.
[[nodiscard]] const PagingMode* x86_mode_from_registers(uint64_t cr0, uint64_t cr4, bool long_mode);

}  // namespace pagewalk
