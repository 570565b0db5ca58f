// The x86 paging modes as data (Intel SDM Vol. 3A §4.3 32-bit, §4.4 PAE, §4.5 4- and
// 5-level paging), and the facts about them only the x86 code reads.
#pragma once

#include <cstdint>

#include "core/paging_mode.hpp"

namespace pagewalk {

extern const PagingMode kX86_64_4Level;
extern const PagingMode kX86_64_5Level;
extern const PagingMode kX86Pae;
extern const PagingMode kX86_32;

namespace x86 {

// PagingMode::arch_traits bits.
enum Trait : uint32_t {
  kLongMode = 1,  // IA-32e paging: 64-bit entries with protection keys, CR3[51:12]
  kPaeRoot = 2,   // the root is a PAE PDPT: no access-rights bits, CR3[31:5]
  kHasNx = 4,     // 64-bit entries: bit 63 is execute-disable when EFER.NXE is set
};

// DecodeOptions::cpu_flags bits; 0 is how Linux runs (EFER.NXE and CR4.PSE set).
enum CpuFlag : uint32_t {
  kNoNx = 1,          // EFER.NXE clear: bit 63 is reserved, not execute-disable
  kNoPse = 2,         // CR4.PSE clear: 32-bit paging ignores PDE.PS
  kRegistersKnown = 4,  // the three below come from a CPU state
  kSmep = 8,          // CR4.SMEP (bit 20)
  kSmap = 16,         // CR4.SMAP (bit 21)
  kNoWriteProtect = 32,  // CR0.WP (bit 16) clear: supervisor writes ignore R/W
};

}  // namespace x86
}  // namespace pagewalk
