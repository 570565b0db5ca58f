// Entry decoders, level by level, with the articles' real entry values as goldens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/registry.hpp"

#include <random>

#include "arch/x86/x86_arch.hpp"
#include "arch/x86/x86_entry.hpp"

namespace pagewalk {
namespace {

using ::testing::Contains;
using ::testing::Not;

constexpr DecodeOptions kDefault{};
constexpr unsigned kPgd = 0, kPud = 1, kPmd = 2, kPte = 3;  // x86-64 4-level

// flag_bits is a promise printers rely on to reuse names: entries that agree in those bits
// (and are both non-zero) get the same names, in every mode, level and CPU option.
TEST(X86Entry, FlagNamesReadOnlyTheFlagBits) {
  std::mt19937_64 rng(7);
  for (const PagingMode* m : arch::all_modes()) {
    if (m->arch != &x86::kArchitecture) continue;
    for (unsigned level = 0; level < m->level_count(); ++level)
      for (const uint32_t flags : {0u, unsigned{x86::kNoNx}, unsigned{x86::kNoPse}}) {
        const DecodeOptions opt{0, flags, std::nullopt};
        const uint64_t keep = m->arch->flag_bits(*m, level);
        const uint64_t width = m->entry_bytes == 8 ? ~uint64_t{0} : 0xffffffffull;
        for (int i = 0; i < 20000; ++i) {
          const uint64_t raw = rng() & width, other = (raw & keep) | (rng() & ~keep & width);
          if (raw == 0 || other == 0) continue;
          const FlagNames a = m->arch->flag_names(*m, level, raw, opt), b = m->arch->flag_names(*m, level, other, opt);
          ASSERT_EQ(a.join(), b.join()) << m->name << " level " << level << std::hex << " 0x" << raw << " 0x" << other;
        }
      }
  }
}

TEST(X86Entry, ArticlePteFrameExcludesNx) {
  // First article: pte_val 0x80000001422c5867, printed as "physics address 0x80000001422c5000".
  const EntryDecode d = x86::decode(kX86_64_4Level, kPte, 0x80000001422c5867, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Leaf);
  EXPECT_EQ(d.addr, 0x1422c5000u);
  EXPECT_NE(d.addr, 0x80000001422c5000u);
  EXPECT_FALSE(d.access.has(Access::kKernelExec));
  EXPECT_TRUE(d.access.has(Access::kKernelWrite));
  EXPECT_TRUE(d.access.has(Access::kUserRead));
  EXPECT_THAT(x86::flag_names(kX86_64_4Level, kPte, 0x80000001422c5867, kDefault), Contains("NX"));
  // Bit 11 is Linux's soft-dirty bit.
  EXPECT_THAT(x86::flag_names(kX86_64_4Level, kPte, 0x80000001422c5867, kDefault), Contains("SOFT_DIRTY"));
}

TEST(X86Entry, ArticleKernelPteIsGlobal) {
  // Second article: pte_val 0x80000001d83cd163 for a __get_free_page() address.
  const EntryDecode d = x86::decode(kX86_64_4Level, kPte, 0x80000001d83cd163, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Leaf);
  EXPECT_EQ(d.addr, 0x1d83cd000u);
  EXPECT_FALSE(d.access.has(Access::kUserRead));
  const auto f = x86::flag_names(kX86_64_4Level, kPte, 0x80000001d83cd163, kDefault);
  EXPECT_THAT(f, Contains("G"));
  EXPECT_THAT(f, Contains("NX"));
  EXPECT_THAT(f, Not(Contains("US")));
}

TEST(X86Entry, TableEntries) {
  const EntryDecode d = x86::decode(kX86_64_4Level, kPgd, 0x8000000005847067, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Table);
  EXPECT_EQ(d.addr, 0x5847000u);
  EXPECT_FALSE(d.access.has(Access::kKernelExec));  // NX in an upper level takes exec away below it
  // Bit 6 (D) is ignored in a table entry and bit 7 is PS: neither is shown as D/PAT.
  const auto f = x86::flag_names(kX86_64_4Level, kPmd, 0x5bb3067, kDefault);
  EXPECT_THAT(f, Not(Contains("D")));
  EXPECT_THAT(f, Not(Contains("PAT")));
}

TEST(X86Entry, LargePagesAndPat) {
  // 1 GiB at the PDPT: PA bits 51:30, bit 12 is PAT.
  EntryDecode d = x86::decode(kX86_64_4Level, kPud, 0x80000001400011e3, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Leaf);
  EXPECT_EQ(d.addr, 0x140000000u);
  EXPECT_THAT(x86::flag_names(kX86_64_4Level, kPud, 0x80000001400011e3, kDefault), Contains("PAT"));
  // 2 MiB at the PD.
  d = x86::decode(kX86_64_4Level, kPmd, 0x00000000402000e7, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Leaf);
  EXPECT_EQ(d.addr, 0x40200000u);
  // In a 4 KiB PTE bit 7 is PAT, not PS.
  const auto f = x86::flag_names(kX86_64_4Level, kPte, 0x1000000000e3, kDefault);
  EXPECT_THAT(f, Contains("PAT"));
  EXPECT_THAT(f, Not(Contains("PS")));
  EXPECT_EQ(x86::decode(kX86_64_4Level, kPte, 0x1000000000e3, kDefault).addr, 0x100000000000u);
}

TEST(X86Entry, ReservedBits) {
  // PS in a PML4E is reserved.
  EXPECT_EQ(x86::decode(kX86_64_4Level, kPgd, 0x10000e7, kDefault).kind, EntryKind::Reserved);
  // Bits 29:13 of a 1 GiB leaf are reserved.
  EXPECT_EQ(x86::decode(kX86_64_4Level, kPud, 0x400020e3, kDefault).kind, EntryKind::Reserved);
  // With MAXPHYADDR 40, PA bit 45 is reserved; with 52 it is a real address bit.
  DecodeOptions narrow;
  narrow.pa_bits = 40;
  EXPECT_EQ(x86::decode(kX86_64_4Level, kPte, 0x200000001067, narrow).kind, EntryKind::Reserved);
  EXPECT_EQ(x86::decode(kX86_64_4Level, kPte, 0x200000001067, kDefault).addr, 0x200000001000u);
}

TEST(X86Entry, FrameUsesAllFiftyTwoBits) {
  const EntryDecode d = x86::decode(kX86_64_4Level, kPte, 0x800fffffffffe067, kDefault);
  EXPECT_EQ(d.addr, 0x000fffffffffe000u);
}

TEST(X86Entry, ProtectionKey) {
  const uint64_t raw = (uint64_t{5} << 59) | 0x1067;
  EXPECT_EQ(x86::pkey(kX86_64_4Level, raw), 5u);
  EXPECT_THAT(x86::flag_names(kX86_64_4Level, kPte, raw, kDefault), Contains("PKEY=5"));
  EXPECT_EQ(x86::decode(kX86_64_4Level, kPte, raw, kDefault).addr, 0x1000u);
}

TEST(X86Entry, SwapEntries) {
  // Swap type 0, offset 1: ~offset lives in bits 58:9 (arch/x86/include/asm/pgtable_64.h).
  EXPECT_EQ(x86::encode_swap(kX86_64_4Level, 0, 1), 0x07fffffffffffc00u);
  EntryDecode d = x86::decode(kX86_64_4Level, kPte, 0x07fffffffffffc00, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Swap);
  EXPECT_EQ(d.swap_type, 0);
  EXPECT_EQ(d.swap_offset, 1u);
  for (unsigned type : {0u, 1u, 22u, 26u, 31u}) {
    // (type 0 with every offset bit set would encode as 0, pte_none; Linux's swap size limit
    // keeps offsets below that.)
    for (uint64_t off : {uint64_t{0}, uint64_t{0x1234}, (uint64_t{1} << 50) - 2}) {
      d = x86::decode(kX86_64_4Level, kPte, x86::encode_swap(kX86_64_4Level, type, off), kDefault);
      EXPECT_EQ(d.kind, EntryKind::Swap) << type << " " << off;
      EXPECT_EQ(d.swap_type, type);
      EXPECT_EQ(d.swap_offset, off);
    }
  }
  EXPECT_EQ(x86::kArchitecture.swap_kind(0), "swap");
  EXPECT_EQ(x86::kArchitecture.swap_kind(26), "migration-write");
  const uint64_t sd = x86::encode_swap(kX86_64_4Level, 3, 7) | 0x2 | 0x8;
  const auto f = x86::flag_names(kX86_64_4Level, kPte, sd, kDefault);
  EXPECT_THAT(f, Contains("SWP_SOFT_DIRTY"));
  EXPECT_THAT(f, Contains("SWP_EXCLUSIVE"));
  // An upper-level non-present entry is just not present.
  EXPECT_EQ(x86::decode(kX86_64_4Level, kPud, 0x07fffffffffffc00, kDefault).kind, EntryKind::NotPresent);
}

TEST(X86Entry, ProtNoneFrameIsUninverted) {
  const uint64_t raw = x86::encode_protnone(kX86_64_4Level, 0x6566000, 0x20);
  EXPECT_EQ(raw & 0x101, 0x100u);  // P clear, _PAGE_PROTNONE set
  const EntryDecode d = x86::decode(kX86_64_4Level, kPte, raw, kDefault);
  EXPECT_EQ(d.kind, EntryKind::ProtNone);
  EXPECT_EQ(d.addr, 0x6566000u);
  // A pmd-level PROT_NONE entry is a huge page: the frame is 2 MiB aligned.
  const EntryDecode h = x86::decode(kX86_64_4Level, kPmd, x86::encode_protnone(kX86_64_4Level, 0x40200000, 0xa0), kDefault);
  EXPECT_EQ(h.kind, EntryKind::ProtNone);
  EXPECT_EQ(h.addr, 0x40200000u);
}

TEST(X86Entry, Legacy32BitPaging) {
  // 4 MiB page with PSE-36: PDE[20:13] holds PA[39:32].
  const EntryDecode d = x86::decode(kX86_32, 0, 0x00402083, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Leaf);
  EXPECT_EQ(d.addr, 0x100400000u);
  // Without CR4.PSE the PS bit is ignored and the PDE points to a page table.
  DecodeOptions nopse;
  nopse.cpu_flags = x86::kNoPse;
  EXPECT_EQ(x86::decode(kX86_32, 0, 0x00402083, nopse).kind, EntryKind::Table);
  EXPECT_EQ(x86::decode(kX86_32, 1, 0xabcde067, kDefault).addr, 0xabcde000u);
  EXPECT_TRUE(x86::decode(kX86_32, 1, 0xabcde067, kDefault).access.has(Access::kUserExec));  // no NX in 32-bit entries
}

TEST(X86Entry, PaeLevels) {
  // A PDPTE holds only P (and PWT/PCD): it grants every access.
  EntryDecode d = x86::decode(kX86Pae, 0, 0x12345001, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Table);
  EXPECT_EQ(d.addr, 0x12345000u);
  EXPECT_TRUE(d.access.has(Access::kKernelWrite) && d.access.has(Access::kUserRead));
  d = x86::decode(kX86Pae, 1, 0x80000000402000e3, kDefault);
  EXPECT_EQ(d.kind, EntryKind::Leaf);
  EXPECT_EQ(d.addr, 0x40200000u);
  EXPECT_FALSE(d.access.has(Access::kKernelExec));
  EXPECT_EQ(x86::decode(kX86Pae, 0, 0x12345081, kDefault).kind, EntryKind::Reserved);
}

TEST(X86Entry, NxDisabled) {
  DecodeOptions nonx;
  nonx.cpu_flags = x86::kNoNx;
  EXPECT_TRUE(x86::decode(kX86_64_4Level, kPte, 0x80000001422c5867, nonx).access.has(Access::kUserExec));
  EXPECT_THAT(x86::flag_names(kX86_64_4Level, kPte, 0x80000001422c5867, nonx), Not(Contains("NX")));
}

// The walk's hot decoder must answer as decode() for every entry it takes and take every
// present, valid 64-bit entry: random entries (biased towards P, PS and high bits) for every
// mode, level, MAXPHYADDR and NX setting.
TEST(X86Entry, HotDecoderAgreesWithDecode) {
  std::mt19937_64 rng(7);
  unsigned taken = 0, declined = 0;
  for (const PagingMode* mode : x86::kArchitecture.modes()) {
    for (const unsigned pa_bits : {0u, 36u, 46u, 52u}) {
      for (const bool nx : {true, false}) {
        const DecodeOptions opt{static_cast<uint8_t>(pa_bits), nx ? 0u : uint32_t{x86::kNoNx}, std::nullopt};
        const x86::HotDecoder hot(*mode, opt);
        for (unsigned level = 0; level < mode->level_count(); ++level) {
          for (int i = 0; i < 4000; ++i) {
            uint64_t raw = rng();
            if (i % 2) raw &= 0x80000000fffff1ffull;  // mostly no reserved address bits
            if (i % 3) raw |= 1;                       // mostly present
            if (i % 5 == 0) raw &= ~uint64_t{0x1fe000};  // large leaves with clear low bits
            if (mode->entry_bytes == 4) raw &= 0xffffffff;
            const EntryDecode d = x86::decode(*mode, level, raw, opt);
            FastEntry h{};
            const bool valid = d.kind == EntryKind::Table || d.kind == EntryKind::Leaf;
            if (!hot.decode(level, raw, h)) {
              ++declined;
              EXPECT_FALSE(valid && mode->entry_bytes == 8) << mode->name << " level " << level << " 0x" << std::hex << raw;
              continue;
            }
            ++taken;
            ASSERT_TRUE(valid) << mode->name << " level " << level << " 0x" << std::hex << raw;
            EXPECT_EQ(h.leaf, d.kind == EntryKind::Leaf) << std::hex << raw;
            EXPECT_EQ(h.addr, d.addr) << std::hex << raw;
            EXPECT_EQ(h.access, d.access.bits()) << std::hex << raw;
            EXPECT_EQ(h.attrs, d.attrs) << std::hex << raw;
          }
        }
      }
    }
  }
  EXPECT_GT(taken, 10000u);
  EXPECT_GT(declined, 10000u);
}

}  // namespace
}  // namespace pagewalk
