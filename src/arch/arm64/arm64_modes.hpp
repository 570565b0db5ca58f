// AArch64 stage 1 translation (VMSAv8-64) as data: every granule (4, 16 and 64 KiB) and VA
// size from 36 to 52 bits, the start level derived from both (Arm ARM D8.2, "Translation
// table walk": each level resolves granule-3 bits; the top level takes what is left, level
// -1 for 52-bit VAs with 4 KiB pages under FEAT_LPA2). Both halves, TTBR0 (low) and TTBR1
// (high), have the same size and granule in these modes; split_mode joins two of them when
// TCR_EL1 gives the halves different ones.
#pragma once

#include <cstdint>
#include <span>

#include "core/paging_mode.hpp"

namespace pagewalk::arm64 {

// PagingMode::arch_traits bits.
enum Trait : uint32_t {
  kGranule4K = 1,
  kGranule16K = 2,
  kGranule64K = 4,
  // The OA is 52 bits: 64 KiB pages keep OA[51:48] in descriptor bits 15:12 (FEAT_LPA);
  // 4 and 16 KiB pages need TCR_EL1.DS=1 (FEAT_LPA2): OA[51:50] in bits 9:8, SH in TCR.
  kOa52 = 8,
};

// DecodeOptions::cpu_flags bits; 0 is how Linux runs these modes, with the non-present
// encodings of Linux 5.19 to 6.9 (Debian bookworm's 6.1 among them).
enum CpuFlag : uint32_t {
  // TCR_EL1.DS=1 with a 48-bit VA (a 4 or 16 KiB kernel built for 52-bit PAs): the LPA2
  // descriptor format. The 52-bit modes of those granules have it always.
  kDs = 1,
  // Linux's non-present entries as a kernel before 5.19 writes them: swap TYPE in bits 7:2,
  // no exclusive marker (arch/arm64/include/asm/pgtable.h).
  kLinuxBefore519 = 2,
  // As 6.10 and later write them: PTE_PRESENT_INVALID (PTE_NG, bit 11) instead of
  // PTE_PROT_NONE (bit 58, now PTE_UFFD_WP); swap TYPE in bits 10:6, OFFSET from bit 12,
  // PTE_SWP_UFFD_WP in bit 3.
  kLinuxSince610 = 4,
};

// The granule's page shift: 12, 14 or 16.
[[nodiscard]] unsigned granule_shift(const PagingMode& mode);
// Whether descriptors use the LPA2 format (OA[51:50] in bits 9:8).
[[nodiscard]] bool lpa2_format(const PagingMode& mode, uint32_t cpu_flags);
// The architecture's level number of the mode's level i (the last is 3; 52-bit 4 KiB VAs
// start at -1).
[[nodiscard]] int level_number(const PagingMode& mode, unsigned level);

// Every mode, 4 KiB then 16 KiB then 64 KiB, VA size ascending: "arm64-4k-48", ...
[[nodiscard]] std::span<const PagingMode* const> all_modes();
// The mode by name ("arm64-16k-47"), or nullptr.
[[nodiscard]] const PagingMode* mode_named(std::string_view name);
// The address space whose TTBR0 half has `low`'s size and granule and whose TTBR1 half has
// `high`'s (T0SZ != T1SZ or TG0 != TG1): a split PagingMode ("arm64-4k-48/64k-42") made
// once per pair and kept; `low` itself when the two are the same.
[[nodiscard]] const PagingMode& split_mode(const PagingMode& low, const PagingMode& high);

}  // namespace pagewalk::arm64
