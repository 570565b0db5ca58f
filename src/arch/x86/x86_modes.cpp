#include "arch/x86/x86_modes.hpp"

#include "arch/x86/x86_arch.hpp"

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

// A linear address is canonical when bits 63..VA-1 all equal bit VA-1 (SDM Vol. 1 §3.3.7.1):
// two halves under the one CR3, and the gap between them faults (#GP) before any walk.
constexpr VaRegion kRegions48[] = {{"lower half", 0, 0x00007fffffffffff, 0},
                                   {"upper half", 0xffff800000000000, ~uint64_t{0}, 0}};
constexpr VaRegion kRegions57[] = {{"lower half", 0, 0x00ffffffffffffff, 0},
                                   {"upper half", 0xff00000000000000, ~uint64_t{0}, 0}};
constexpr VaRegion kRegions32[] = {{"32-bit space", 0, 0xffffffff, 0}};

using namespace x86;

}  // namespace

const PagingMode kX86_64_4Level{"x86-64-4level", "x86-64 4-level paging, 48-bit VA (PML4)", &kArchitecture, 8, 48,
                                52, 64, kLongMode | kHasNx, kLevels4, kRegions48};
const PagingMode kX86_64_5Level{"x86-64-5level", "x86-64 5-level paging, 57-bit VA (CR4.LA57)", &kArchitecture, 8,
                                57, 52, 64, kLongMode | kHasNx, kLevels5, kRegions57};
// PAE: CR3[31:5] holds the 32-byte aligned PDPT.
const PagingMode kX86Pae{"x86-pae", "x86 PAE paging, 32-bit VA, 64-bit entries", &kArchitecture, 8, 32, 52, 32,
                         kPaeRoot | kHasNx, kLevelsPae, kRegions32};
// 32-bit paging: 4 MiB pages with CR4.PSE, PA bits 39:32 of those in PDE[20:13] (PSE-36).
const PagingMode kX86_32{"x86-32", "x86 32-bit 2-level paging, 4 MiB pages with PSE", &kArchitecture, 4, 32, 40,
                         32, 0, kLevels32, kRegions32};

}  // namespace pagewalk
