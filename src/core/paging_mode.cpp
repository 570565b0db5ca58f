#include "core/paging_mode.hpp"

namespace pagewalk {
namespace {

// Intel SDM Vol. 3A §4.5 (4-level and 5-level paging), §4.4 (PAE), §4.3 (32-bit paging).
constexpr LevelDesc kLevels5[] = {
    {"pgd", "PML5", 48, 9, false}, {"p4d", "PML4", 39, 9, false}, {"pud", "PDPT", 30, 9, true},
    {"pmd", "PD", 21, 9, true},    {"pte", "PT", 12, 9, false},
};
constexpr LevelDesc kLevels4[] = {
    {"pgd", "PML4", 39, 9, false}, {"pud", "PDPT", 30, 9, true}, {"pmd", "PD", 21, 9, true},
    {"pte", "PT", 12, 9, false},
};
constexpr LevelDesc kLevelsPae[] = {
    {"pgd", "PDPT", 30, 2, false}, {"pmd", "PD", 21, 9, true}, {"pte", "PT", 12, 9, false},
};
constexpr LevelDesc kLevels32[] = {
    {"pgd", "PD", 22, 10, true}, {"pte", "PT", 12, 10, false},
};

constexpr uint64_t kCr3Mask64 = 0x000ffffffffff000;  // CR3[51:12]; low bits are PCID/PWT/PCD

}  // namespace

const PagingMode kX86_64_4Level{"x86-64-4level", "x86-64 4-level paging, 48-bit VA (PML4)", Arch::X86, 8, 48,
                                true, 52, true, kCr3Mask64, kLevels4};
const PagingMode kX86_64_5Level{"x86-64-5level", "x86-64 5-level paging, 57-bit VA (CR4.LA57)", Arch::X86, 8,
                                57, true, 52, true, kCr3Mask64, kLevels5};
// PAE: CR3[31:5] holds the 32-byte aligned PDPT.
const PagingMode kX86Pae{"x86-pae", "x86 PAE paging, 32-bit VA, 64-bit entries", Arch::X86, 8, 32, false, 52,
                         true, 0xffffffe0, kLevelsPae};
// 32-bit paging: 4 MiB pages with CR4.PSE, PA bits 39:32 of those in PDE[20:13] (PSE-36).
const PagingMode kX86_32{"x86-32", "x86 32-bit 2-level paging, 4 MiB pages with PSE", Arch::X86, 4, 32, false,
                         40, false, 0xfffff000, kLevels32};

namespace {
constexpr const PagingMode* kAllModes[] = {&kX86_64_4Level, &kX86_64_5Level, &kX86Pae, &kX86_32};
}

std::span<const PagingMode* const> all_modes() { return kAllModes; }

const PagingMode* find_mode(std::string_view name) {
  for (const PagingMode* m : kAllModes)
    if (m->name == name) return m;
  return nullptr;
}

std::array<LinuxLevelView, 5> PagingMode::linux_levels() const {
  constexpr std::string_view names[] = {"pgd", "p4d", "pud", "pmd", "pte"};
  std::array<LinuxLevelView, 5> out{};
  unsigned above_shift = va_bits;  // only used if the root itself were folded, which never happens
  for (unsigned i = 0; i < 5; ++i) {
    out[i] = {names[i], above_shift, 1, true};
    for (const LevelDesc& l : levels) {
      if (l.linux_name == names[i]) {
        out[i] = {names[i], l.shift, 1u << l.index_bits, false};
        break;
      }
    }
    above_shift = out[i].shift;
  }
  return out;
}

const PagingMode* x86_mode_from_registers(uint64_t cr0, uint64_t cr4, bool long_mode) {
  constexpr uint64_t kCr0Pg = 1ull << 31, kCr4Pae = 1ull << 5, kCr4La57 = 1ull << 12;
  if (!(cr0 & kCr0Pg)) return nullptr;
  if (long_mode) return (cr4 & kCr4La57) ? &kX86_64_5Level : &kX86_64_4Level;
  return (cr4 & kCr4Pae) ? &kX86Pae : &kX86_32;
}

}  // namespace pagewalk
