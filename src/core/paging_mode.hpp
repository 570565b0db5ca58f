// A paging mode is data: an ordered list of levels (root first), each with the VA bits it
// indexes and whether it may hold a leaf, and the regions of the address space with the
// root that serves each. Shifts, table sizes, page sizes and the kernel's PGDIR_SHIFT /
// PTRS_PER_* view are all derived from it. The architecture that reads the entries is a
// pointer to its interface (core/architecture.hpp); core knows no architecture itself.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/address.hpp"

namespace pagewalk {

class Architecture;

struct LevelDesc {
  std::string_view linux_name;  // pgd, p4d, pud, pmd, pte
  std::string_view hw_name;     // the architecture manual's name for the level's table
  uint8_t shift;                // lowest VA bit this level indexes
  uint8_t index_bits;           // VA bits this level indexes
  bool can_be_leaf;             // may map a large page (or block) here
};

// A stretch of the address space translated by one tree of tables. Regions are sorted and
// do not overlap; a VA in none of them cannot be translated at all (the gap between
// x86-64's canonical halves, the hole between AArch64's TTBR0 and TTBR1 ranges).
struct VaRegion {
  std::string_view name;
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive: the top region ends at 2^64 - 1
  uint8_t root = 0;   // which of the address space's roots serves it
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
inline constexpr unsigned kMaxRoots = 2;

struct PagingMode {
  std::string_view name;
  std::string_view description;
  const Architecture* arch = nullptr;
  uint8_t entry_bytes = 8;      // 8, 4 or 2
  uint8_t va_bits = 48;         // VA bits one tree translates: the root table spans 2^va_bits
  uint8_t default_pa_bits = 52; // physical address bits assumed unless the user says otherwise
  uint8_t word_bits = 64;       // the kernel's unsigned long, for the masks it defines
  uint32_t arch_traits = 0;     // facts about the mode only its architecture reads
  std::span<const LevelDesc> levels;
  std::span<const VaRegion> regions;
  // A mode whose trees differ in shape (AArch64 with T0SZ != T1SZ or TG0 != TG1, D8.2): the
  // mode each root's tree follows, none when every tree has this mode's shape. Region i of
  // such a split mode is region i of the tree its root names; its own levels, va_bits and
  // page size are those of its last root's tree (the kernel's TTBR1 on AArch64), which is
  // what the kernel-wide views (PAGE_SHIFT, `modes`) read. A walk, a trace or a range is
  // read in the tree of its region (region_tree).
  std::array<const PagingMode*, kMaxRoots> trees{};

  [[nodiscard]] constexpr unsigned level_count() const { return static_cast<unsigned>(levels.size()); }
  [[nodiscard]] constexpr unsigned index(VirtAddr va, unsigned level) const {
    const LevelDesc& l = levels[level];
    return static_cast<unsigned>((va.value() >> l.shift) & ((uint64_t{1} << l.index_bits) - 1));
  }
  [[nodiscard]] constexpr unsigned entries(unsigned level) const { return 1u << levels[level].index_bits; }
  [[nodiscard]] constexpr uint64_t span(unsigned level) const { return uint64_t{1} << levels[level].shift; }
  [[nodiscard]] constexpr unsigned page_shift() const { return levels.back().shift; }
  [[nodiscard]] constexpr uint64_t page_size() const { return uint64_t{1} << page_shift(); }
  [[nodiscard]] constexpr uint64_t page_offset(VirtAddr va) const { return va.offset_in(page_size()); }
  // The bytes one tree spans; a VA's place in its tree is its low va_bits.
  [[nodiscard]] constexpr uint64_t tree_size() const { return uint64_t{1} << va_bits; }
  [[nodiscard]] constexpr uint64_t tree_address(VirtAddr va) const { return va.value() & (tree_size() - 1); }

  // The region that holds va, or nullptr.
  [[nodiscard]] constexpr const VaRegion* region_of(VirtAddr va) const {
    for (const VaRegion& r : regions)
      if (va.value() >= r.first && va.value() <= r.last) return &r;
    return nullptr;
  }
  [[nodiscard]] constexpr bool in_space(VirtAddr va) const { return region_of(va) != nullptr; }
  [[nodiscard]] constexpr bool split() const { return trees[0] != nullptr; }
  [[nodiscard]] constexpr const PagingMode& tree(unsigned root) const { return trees[root] ? *trees[root] : *this; }
  [[nodiscard]] constexpr const PagingMode& region_tree(unsigned region) const { return tree(regions[region].root); }
  [[nodiscard]] constexpr unsigned root_count() const {
    unsigned n = 0;
    for (const VaRegion& r : regions) n = r.root + 1u > n ? r.root + 1u : n;
    return n;
  }

  // The kernel's view: pgd, p4d, pud, pmd, pte in that order.
  [[nodiscard]] std::array<LinuxLevelView, 5> linux_levels() const;
  // The level a name gives, the kernel's or the manual's in any case ("pmd", "PDPT"), or none.
  [[nodiscard]] std::optional<unsigned> level_named(std::string_view wanted) const;
  // "pgd/PML4, pud/PDPT, ...": the names level_named takes.
  [[nodiscard]] std::string level_names() const;
};

// The root tables of one address space, one per root its mode's regions name.
struct RootSet {
  std::array<PhysAddr, kMaxRoots> roots{};

  constexpr RootSet() = default;
  // One table serving every region (x86: CR3 for both canonical halves).
  constexpr RootSet(PhysAddr root) { roots.fill(root); }  // NOLINT: implicit on purpose
  constexpr RootSet(PhysAddr r0, PhysAddr r1) : roots{r0, r1} {}
  [[nodiscard]] constexpr PhysAddr operator[](unsigned i) const { return roots[i]; }
};

}  // namespace pagewalk
