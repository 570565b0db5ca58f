// AArch64 as an architecture of the shared core: its modes (arch/arm64/arm64_modes.hpp),
// the VMSAv8-64 stage 1 descriptor decoder (Arm ARM D8.3), flag names, and Linux's
// non-present encodings (arch/arm64/include/asm/pgtable.h).
#pragma once

#include <array>

#include "core/architecture.hpp"
#include "core/walk_engine.hpp"

namespace pagewalk::arm64 {

// Descriptor bits (Arm ARM D8.3; Linux's names in arch/arm64/include/asm/pgtable-hwdef.h
// and pgtable-prot.h).
enum Bit : unsigned {
  kValid = 0, kTableOrPage = 1,
  kAttrIndx = 2,   // bits 4:2, an index into MAIR_EL1
  kNs = 5, kAp1 = 6, kAp2 = 7,  // AP[1]: EL0 access; AP[2]: read-only
  kSh = 8,         // bits 9:8 (OA[51:50] under LPA2)
  kAf = 10, kNg = 11,
  kGp = 50, kDbm = 51, kContiguous = 52, kPxn = 53, kUxn = 54,
  // Linux's software bits (pgtable-prot.h). Bit 58 is PTE_PROT_NONE in an invalid entry up
  // to 6.9 and PTE_UFFD_WP in a valid one from 6.10; bit 59 PMD_PRESENT_INVALID up to 6.9.
  kSwDirty = 55, kSwSpecial = 56, kSwDevmap = 57, kSwProtNone = 58, kSwUffdWp = 58, kSwPmdPresentInvalid = 59,
  // Table descriptors: the limits they put on everything below (D8.4.1 "hierarchical").
  kPxnTable = 59, kUxnTable = 60, kApTable0 = 61, kApTable1 = 62, kNsTable = 63,
};

// How a Linux release lays out a swap entry (pgtable.h, "Encode and decode a swap entry"),
// chosen by the CpuFlag bits kLinuxBefore519 / kLinuxSince610.
struct LinuxSwapFormat {
  unsigned type_shift, type_bits, offset_shift;  // the OFFSET field is 50 bits
  int exclusive_bit;  // PTE_SWP_EXCLUSIVE (5.19+), or -1
  int uffd_wp_bit;    // PTE_SWP_UFFD_WP (6.10+), or -1
};
[[nodiscard]] LinuxSwapFormat linux_swap_format(uint32_t cpu_flags);

// The walk's fast path (core/walk_engine.hpp): valid table, block and page descriptors of
// the 48-bit output-address format, decided with masks worked out once per mode. It
// answers as decode() does for what it takes and declines the rest (invalid and reserved
// encodings, the 52-bit formats), which decode() then reads.
class HotDecoder {
 public:
  HotDecoder(const PagingMode& mode, const DecodeOptions& opt);

  [[nodiscard]] bool decode(unsigned level, uint64_t raw, FastEntry& out) const {
    const Level& l = levels_[level];
    const unsigned type = raw & 3;
    if (type == 3) {
      out.leaf = l.last;
      out.addr = raw & l.addr;
      out.attrs = raw & ~l.addr;
      // A table's APTable/XNTable bits (62:59); a page's AP[2:1] (7:6) and PXN/UXN (54:53).
      out.access = l.last ? leaf_access_[((raw >> 6) & 3) | ((raw >> 51) & 0xc)] : table_access_[(raw >> 59) & 0xf];
      return l.fast;
    }
    if (type != 1 || !l.block) return false;
    out.leaf = true;
    out.addr = raw & l.block_addr;
    out.attrs = raw & ~l.addr;
    out.access = leaf_access_[((raw >> 6) & 3) | ((raw >> 51) & 0xc)];
    return l.fast;
  }

 private:
  struct Level {
    uint64_t addr = 0, block_addr = 0;  // the OA field; aligned to the level's block
    bool last = false, block = false, fast = false;
  };
  std::array<Level, kMaxLevels> levels_{};
  std::array<uint8_t, 16> leaf_access_{}, table_access_{};
};

class Arm64Architecture final : public Architecture {
 public:
  [[nodiscard]] std::string_view name() const override { return "arm64"; }
  [[nodiscard]] std::span<const PagingMode* const> modes() const override;
  [[nodiscard]] std::string mode_names() const override { return "arm64-<4|16|64>k-<36..52>"; }
  [[nodiscard]] EntryDecode decode(const PagingMode& mode, unsigned level, uint64_t raw,
                                   const DecodeOptions& options) const override;
  [[nodiscard]] FlagNames flag_names(const PagingMode& mode, unsigned level, uint64_t raw,
                                     const DecodeOptions& options) const override;
  [[nodiscard]] std::vector<EntryField> entry_fields(const PagingMode& mode, unsigned level, uint64_t raw,
                                                     const DecodeOptions& options) const override;
  [[nodiscard]] uint64_t coalesce_ignored_attrs(const PagingMode& mode) const override;
  [[nodiscard]] std::shared_ptr<const WalkEngine> make_engine(const Paging& paging) const override;
  [[nodiscard]] std::vector<std::string> trace_notes(const Paging& paging, const Translation& t) const override;
  [[nodiscard]] PhysAddr root_from_register(const PagingMode& mode, uint64_t ttbr) const override;
  // TCR_EL1 picks the mode (T0SZ/T1SZ, TG0/TG1, DS), the OA size (IPS) and TTBR0/TTBR1 the
  // roots; SCTLR_EL1.M, when known, whether the MMU is on.
  [[nodiscard]] tl::expected<CpuPaging, std::string> paging_from_cpu(const CpuState& cpu) const override;
};

// A CPU state's registers as arm64 sources name them (the gdbstub's and --tcr/--ttbr0/--ttbr1).
struct RegisterNames {
  static constexpr const char* kTcr = "tcr_el1";
  static constexpr const char* kTtbr0 = "ttbr0_el1";
  static constexpr const char* kTtbr1 = "ttbr1_el1";
  static constexpr const char* kSctlr = "sctlr_el1";
  static constexpr const char* kMair = "mair_el1";
};

// What TCR_EL1 says (D19.2.139): each half's size and granule, the OA size, the LPA2 format.
struct TcrFields {
  unsigned va_bits[2] = {0, 0};       // 64 - T0SZ, 64 - T1SZ
  unsigned granule_kib[2] = {0, 0};   // TG0, TG1 (0: a reserved encoding)
  unsigned pa_bits = 0;               // IPS (0: reserved)
  bool ds = false, tbi[2] = {false, false}, walks_off[2] = {false, false};  // DS; TBI0/1; EPD0/1
};
[[nodiscard]] TcrFields decode_tcr(uint64_t tcr);

extern const Arm64Architecture kArchitecture;

// The entries one contiguous run spans at `level` (D8.6.1, "The Contiguous bit"; Linux's
// CONT_PTES and CONT_PMDS, pgtable-hwdef.h): 16 at levels 1 to 3 with 4 KiB pages; 128 at
// level 3 and 32 at level 2 with 16 KiB; 32 at levels 2 and 3 with 64 KiB. 0 where the bit
// names no run.
[[nodiscard]] unsigned contiguous_entries(const PagingMode& mode, unsigned level);

// The output address field of a descriptor (a table's next level, a block's or page's frame)
// for the mode's granule and descriptor format, aligned to `align_shift`.
[[nodiscard]] uint64_t output_address(const PagingMode& mode, uint64_t raw, unsigned align_shift, bool lpa2, bool lpa);

}  // namespace pagewalk::arm64
