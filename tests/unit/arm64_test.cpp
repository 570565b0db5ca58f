// AArch64 stage 1 (VMSAv8-64): every granule and VA size as data, the descriptor decoder
// against the Arm ARM's formats (D8.3), the access rights it gives (D8.4), TCR_EL1's
// fields, and a walk through tables built for each mode, in both halves.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>

#include "arch/arm64/arm64_arch.hpp"
#include "arch/arm64/arm64_modes.hpp"
#include "arch/registry.hpp"
#include "core/enumerate.hpp"
#include "core/walk.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk::arm64 {
namespace {

const PagingMode& mode(std::string_view name) {
  const PagingMode* m = arch::find_mode(name);
  EXPECT_NE(m, nullptr) << name;
  return *m;
}

// Valid (bit 0), table or page (bit 1), AF (bit 10): the bits most descriptors carry.
constexpr uint64_t kV = 1, kTP = 2, kAF = 1u << 10;
constexpr uint64_t kUser = 1u << 6, kRdonly = 1u << 7;
constexpr uint64_t kPxnBit = uint64_t{1} << 53, kUxnBit = uint64_t{1} << 54;

TEST(Arm64Modes, EveryGranuleAndSizeHasItsLevels) {
  struct Want {
    std::string_view name;
    unsigned levels;
    std::string_view top;  // the manual's name of the start level
    unsigned top_bits;
  };
  // Each level resolves granule - 3 bits (9, 11, 13); the top level what is left (D8.2).
  for (const Want& w : {Want{"arm64-4k-39", 3, "L1", 9}, {"arm64-4k-48", 4, "L0", 9}, {"arm64-4k-52", 5, "L-1", 4},
                        {"arm64-16k-36", 2, "L2", 11}, {"arm64-16k-47", 3, "L1", 11}, {"arm64-16k-48", 4, "L0", 1},
                        {"arm64-16k-52", 4, "L0", 5}, {"arm64-64k-42", 2, "L2", 13}, {"arm64-64k-48", 3, "L1", 6},
                        {"arm64-64k-52", 3, "L1", 10}}) {
    const PagingMode& m = mode(w.name);
    EXPECT_EQ(m.level_count(), w.levels) << w.name;
    EXPECT_EQ(m.levels.front().hw_name, w.top) << w.name;
    EXPECT_EQ(m.levels.front().index_bits, w.top_bits) << w.name;
    EXPECT_EQ(m.levels.back().hw_name, "L3") << w.name;
    EXPECT_EQ(m.levels.back().linux_name, "pte") << w.name;
    EXPECT_EQ(m.levels.front().linux_name, "pgd") << w.name;
  }
  unsigned count = 0;
  for (const PagingMode* m : kArchitecture.modes()) {
    ++count;
    unsigned bits = m->page_shift();
    for (const LevelDesc& l : m->levels) bits += l.index_bits;
    EXPECT_EQ(bits, m->va_bits) << m->name;
    // TTBR0 from 0, TTBR1 down from the top, the same size.
    ASSERT_EQ(m->regions.size(), 2u);
    EXPECT_EQ(m->regions[0].last + 1, m->tree_size()) << m->name;
    EXPECT_EQ(m->regions[1].first, ~uint64_t{0} - (m->tree_size() - 1)) << m->name;
    EXPECT_EQ(m->regions[1].root, 1u);
  }
  EXPECT_EQ(count, 3u * 17u);  // 36 to 52 bits, each granule
}

TEST(Arm64Modes, BlocksOnlyWhereTheGranuleAllowsThem) {
  auto blocks = [](std::string_view name) {
    std::string s;
    const PagingMode& m = mode(name);
    for (unsigned i = 0; i < m.level_count(); ++i)
      if (m.levels[i].can_be_leaf) s += std::string(m.levels[i].hw_name) + " ";
    return s;
  };
  EXPECT_EQ(blocks("arm64-4k-48"), "L1 L2 ");     // 1G and 2M
  EXPECT_EQ(blocks("arm64-4k-52"), "L0 L1 L2 ");  // and 512G with 52-bit OAs (FEAT_LPA2)
  EXPECT_EQ(blocks("arm64-16k-48"), "L2 ");       // 32M
  EXPECT_EQ(blocks("arm64-16k-52"), "L1 L2 ");    // and 64G
  EXPECT_EQ(blocks("arm64-64k-48"), "L2 ");       // 512M
  EXPECT_EQ(blocks("arm64-64k-52"), "L1 L2 ");    // and 4T (FEAT_LPA)
}

// With a 52-bit OA format at a 48-bit VA the level above takes blocks too
// (AArch64.BlockDescSupported): 4 KiB L0 and 16 KiB L1 under TCR.DS, 64 KiB L1 with a 52-bit
// PA size. Without it they are invalid encodings.
TEST(Arm64Decode, BlocksOneLevelHigherWithA52BitOutputAddress) {
  struct Want {
    std::string_view mode;
    unsigned level;  // the mode's index of L0 (4 KiB) or L1 (16, 64 KiB)
    DecodeOptions wide;
    uint64_t raw;  // a block descriptor there, its OA in that format
    uint64_t pa;
  };
  DecodeOptions ds, lpa;
  ds.cpu_flags = kDs;
  lpa.pa_bits = 52;
  const uint64_t b = kV | kAF;
  for (const Want& w : {Want{"arm64-4k-48", 0, ds, (uint64_t{0x80} << 39) | (uint64_t{1} << 8) | b, (uint64_t{1} << 50) | (uint64_t{0x80} << 39)},
                        Want{"arm64-16k-48", 1, ds, (uint64_t{3} << 36) | b, uint64_t{3} << 36},
                        Want{"arm64-64k-48", 0, lpa, (uint64_t{5} << 42) | (uint64_t{0x2} << 12) | b, (uint64_t{2} << 48) | (uint64_t{5} << 42)}}) {
    const PagingMode& m = mode(w.mode);
    ASSERT_FALSE(m.levels[w.level].can_be_leaf) << w.mode;
    EXPECT_EQ(kArchitecture.decode(m, w.level, w.raw, {}).kind, EntryKind::Reserved) << w.mode;
    const EntryDecode d = kArchitecture.decode(m, w.level, w.raw, w.wide);
    EXPECT_EQ(d.kind, EntryKind::Leaf) << w.mode;
    EXPECT_EQ(d.addr, w.pa) << w.mode << " 0x" << std::hex << d.addr;
  }
}

TEST(Arm64Decode, DescriptorKindsFollowBits1And0) {
  const PagingMode& m = mode("arm64-4k-48");
  const DecodeOptions o{};
  EXPECT_EQ(kArchitecture.decode(m, 3, 0x40000000 | kV, o).kind, EntryKind::Reserved);  // L3 with 01
  EXPECT_EQ(kArchitecture.decode(m, 3, 0x40000000 | kV | kTP | kAF, o).kind, EntryKind::Leaf);
  EXPECT_EQ(kArchitecture.decode(m, 0, 0x40000000 | kV, o).kind, EntryKind::Reserved);  // no L0 block here
  const EntryDecode block = kArchitecture.decode(m, 2, 0x40200000 | kV | kAF, o);
  EXPECT_EQ(block.kind, EntryKind::Leaf);
  EXPECT_EQ(block.addr, 0x40200000u);
  const EntryDecode table = kArchitecture.decode(m, 1, 0x81234000 | kV | kTP, o);
  EXPECT_EQ(table.kind, EntryKind::Table);
  EXPECT_EQ(table.addr, 0x81234000u);
  // AF clear still maps: the MMU would take an access flag fault, and the flag is shown.
  const EntryDecode young = kArchitecture.decode(m, 3, 0x40000000 | kV | kTP, o);
  EXPECT_EQ(young.kind, EntryKind::Leaf);
  EXPECT_EQ(kArchitecture.flag_names(m, 3, 0x40000000 | kV | kTP, o).join(), "V PAGE");
  EXPECT_EQ(kArchitecture.flag_names(m, 3, 0x40000000 | kV | kTP | kAF | kUser | kPxnBit, o).join(),
            "V PAGE USER AF PXN");
}

TEST(Arm64Decode, FiftyTwoBitOutputAddresses) {
  const DecodeOptions o{};
  // 64 KiB pages with FEAT_LPA: OA[51:48] in bits 15:12.
  const PagingMode& lpa = mode("arm64-64k-52");
  EXPECT_EQ(kArchitecture.decode(lpa, 2, 0x0000123450000000 | 0x5000 | kV | kTP, o).addr, 0x0005123450000000u);
  // 4 KiB pages with FEAT_LPA2 (TCR.DS=1): OA[51:50] in bits 9:8, OA[49:12] in place.
  const PagingMode& lpa2 = mode("arm64-4k-52");
  EXPECT_EQ(kArchitecture.decode(lpa2, 4, 0x0002000012345000 | 0x300 | kV | kTP | kAF, o).addr, 0x000e000012345000u);
  // The 48-bit format keeps bits 9:8 as SH, not address.
  EXPECT_EQ(kArchitecture.decode(mode("arm64-4k-48"), 3, 0x12345000 | 0x300 | kV | kTP | kAF, o).addr, 0x12345000u);
  auto fields = kArchitecture.entry_fields(mode("arm64-4k-48"), 3, 0x12345000 | 0x300 | (5u << 2) | kV | kTP, o);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].value, 5u);  // AttrIndx
  EXPECT_EQ(fields[1].value, 3u);  // SH: inner shareable
}

// With MAIR_EL1 known, a leaf names the memory type its AttrIndx selects (D19.2.97).
TEST(Arm64Decode, MairNamesTheMemoryType) {
  const PagingMode& m = mode("arm64-4k-48");
  DecodeOptions o{};
  o.attribute_register = 0xf0'bb'0c'08'04'44'00'ff;  // WB, nGnRnE, NC, nGnRE, nGRE, GRE, WT, tagged
  const char* want[] = {"NORMAL_WB", "DEVICE_nGnRnE", "NORMAL_NC", "DEVICE_nGnRE",
                        "DEVICE_nGRE", "DEVICE_GRE", "NORMAL_WT", "NORMAL_TAGGED"};
  for (uint64_t idx = 0; idx < 8; ++idx) {
    const FlagNames f = kArchitecture.flag_names(m, 3, 0x1000 | kV | kTP | kAF | idx << 2, o);
    EXPECT_EQ(*(f.end() - 1), want[idx]) << idx;
  }
  EXPECT_EQ(kArchitecture.flag_names(m, 3, 0x1000 | kV | kTP | kAF, {}).join(), "V PAGE AF");  // MAIR unknown
}

// The Contiguous bit's run (D8.6.1): how many entries, at which levels, for each granule;
// the span shows as a field of the entry and in the trace.
TEST(Arm64Decode, ContiguousRunsSpanWhatTheGranuleSays) {
  struct Want {
    std::string_view mode;
    int level_number;
    unsigned entries;
    uint64_t bytes;
  };
  for (const Want& w : {Want{"arm64-4k-48", 3, 16, 64 << 10}, {"arm64-4k-48", 2, 16, 32 << 20},
                        {"arm64-4k-48", 1, 16, uint64_t{16} << 30}, {"arm64-4k-48", 0, 0, 0},
                        {"arm64-16k-47", 3, 128, 2 << 20}, {"arm64-16k-47", 2, 32, 1 << 30}, {"arm64-16k-47", 1, 0, 0},
                        {"arm64-64k-48", 3, 32, 2 << 20}, {"arm64-64k-48", 2, 32, uint64_t{16} << 30}}) {
    const PagingMode& m = mode(w.mode);
    const unsigned level = static_cast<unsigned>(w.level_number - level_number(m, 0));
    EXPECT_EQ(contiguous_entries(m, level), w.entries) << w.mode << " L" << w.level_number;
    const bool last = w.level_number == 3;
    const uint64_t raw = (uint64_t{1} << 52) | 0x80000000 | kV | (last ? kTP : 0) | kAF;
    uint64_t run = 0;
    for (const EntryField& f : kArchitecture.entry_fields(m, level, raw, {}))
      if (f.name == "ContiguousRun") run = f.value;
    EXPECT_EQ(run, last || m.levels[level].can_be_leaf ? w.bytes : 0) << w.mode << " L" << w.level_number;
  }
  // The trace: the run around the VA, aligned, and its frames.
  const PagingMode& m = mode("arm64-4k-48");
  Translation t;
  t.status = Status::Mapped;
  t.va = VirtAddr(0x24003008);
  t.pa = PhysAddr(0x12340003008);
  t.page_size = 4096;
  t.nsteps = 4;
  t.steps[3].level = 3;
  t.steps[3].raw = (uint64_t{1} << 52) | 0x12340003000 | kV | kTP | kAF;
  const auto notes = kArchitecture.trace_notes(Paging{&m, {}}, t);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("one of 16 pte entries that map 0x24000000-0x2400ffff to PA 0x12340000000"), std::string::npos)
      << notes[0];
  t.steps[3].raw &= ~(uint64_t{1} << 52);
  EXPECT_TRUE(kArchitecture.trace_notes(Paging{&m, {}}, t).empty());
}

TEST(Arm64Decode, AccessRightsOfEachLevelAndTheImplicitPxn) {
  const PagingMode& m = mode("arm64-4k-48");
  const DecodeOptions o{};
  auto leaf = [&](uint64_t bits) { return kArchitecture.decode(m, 3, 0x1000 | kV | kTP | kAF | bits, o).access; };
  EXPECT_EQ(leaf(0), Access::of(7, 4));                   // EL1 rwx; EL0 may still execute (UXN clear)
  EXPECT_EQ(leaf(kUxnBit), Access::of(7, 0));             // a kernel page
  EXPECT_EQ(leaf(kUser | kUxnBit), Access::of(3, 3));     // EL0-writable: never EL1-executable
  EXPECT_EQ(leaf(kUser | kRdonly | kPxnBit), Access::of(1, 5));  // user text
  EXPECT_EQ(leaf(kRdonly | kPxnBit), Access::of(1, 4));   // execute-only for EL0 (PAGE_EXECONLY)
  auto table = [&](uint64_t bits) { return kArchitecture.decode(m, 0, 0x2000 | kV | kTP | bits, o).access; };
  EXPECT_EQ(table(0), Access::all());
  EXPECT_EQ(table(uint64_t{1} << 61), Access::of(7, 0));  // APTable[0]: no EL0 access below
  EXPECT_EQ(table(uint64_t{1} << 62), Access::of(5, 5));  // APTable[1]: no writes below
  EXPECT_EQ(table(uint64_t{1} << 59 | uint64_t{1} << 60), Access::of(3, 3));  // PXNTable, UXNTable
}

// arch/arm64/include/asm/pgtable.h (6.1): swap TYPE in bits 8:3, OFFSET from bit 9;
// PTE_PROT_NONE (bit 58) with valid clear.
// Linux's entries the MMU does not read, as each release's arch/arm64/include/asm/pgtable.h
// builds them (__swp_entry, PAGE_NONE, pmd_mkinvalid).
TEST(Arm64Decode, LinuxNonPresentEntriesOfEachRelease) {
  const PagingMode& m = mode("arm64-4k-48");
  constexpr uint64_t kNgBit = uint64_t{1} << 11, kRo = uint64_t{1} << 7, kFrame = 0x45678000;
  constexpr uint64_t kPageNoneBits = kTP | kAF | (3u << 8) | kRo | kNgBit | kPxnBit | kUxnBit;  // ~PTE_VALID
  struct Release {
    uint32_t flags;
    uint64_t swap;  // type 5, offset 0x1234, exclusive where the release has the marker
    bool exclusive;
    uint64_t prot_none;
    uint64_t split_pmd;  // a user THP's pmd after pmd_mkinvalid
  };
  const Release releases[] = {
      // Before 5.19: TYPE 7:2, OFFSET 57:8; PTE_PROT_NONE bit 58, PMD_PRESENT_INVALID bit 59.
      {kLinuxBefore519, (5u << 2) | (uint64_t{0x1234} << 8), false, kPageNoneBits | (uint64_t{1} << 58) | kFrame,
       (uint64_t{1} << 59) | kAF | kUser | kFrame},
      // 5.19 to 6.9: PTE_SWP_EXCLUSIVE bit 2, TYPE 7:3, OFFSET 57:8.
      {0, 4 | (5u << 3) | (uint64_t{0x1234} << 8), true, kPageNoneBits | (uint64_t{1} << 58) | kFrame,
       (uint64_t{1} << 59) | kAF | kUser | kFrame},
      // 6.10: TYPE 10:6, OFFSET 61:12, PTE_PRESENT_INVALID = PTE_NG for both PROT_NONE and a
      // split pmd (told apart by the user bits).
      {kLinuxSince610, 4 | (5u << 6) | (uint64_t{0x1234} << 12), true, kPageNoneBits | kFrame,
       kNgBit | kAF | kUser | kFrame},
  };
  for (const Release& r : releases) {
    DecodeOptions o;
    o.cpu_flags = r.flags;
    const EntryDecode swap = kArchitecture.decode(m, 3, r.swap, o);
    EXPECT_EQ(swap.kind, EntryKind::Swap) << r.flags;
    EXPECT_EQ(swap.swap_type, 5u) << r.flags;
    EXPECT_EQ(swap.swap_offset, 0x1234u) << r.flags;
    const FlagNames sf = kArchitecture.flag_names(m, 3, r.swap, o);
    EXPECT_EQ(sf.join(), r.exclusive ? "SWAP SWP_EXCLUSIVE" : "SWAP") << r.flags;
    const EntryDecode none = kArchitecture.decode(m, 3, r.prot_none, o);
    EXPECT_EQ(none.kind, EntryKind::ProtNone) << r.flags;
    EXPECT_EQ(none.addr, kFrame);
    EXPECT_EQ(none.access, Access{});
    const std::string names = kArchitecture.flag_names(m, 3, r.prot_none, o).join();
    EXPECT_EQ(names.substr(0, 14), "PROT_NONE PAGE") << names;
    const EntryDecode split = kArchitecture.decode(m, 2, r.split_pmd, o);
    EXPECT_EQ(split.kind, EntryKind::ProtNone) << r.flags;
    EXPECT_EQ(split.addr, kFrame & ~((uint64_t{1} << 21) - 1)) << r.flags;
    EXPECT_EQ(kArchitecture.flag_names(m, 2, r.split_pmd, o).join().substr(0, 21), "PRESENT_INVALID BLOCK");
    EXPECT_EQ(kArchitecture.decode(m, 0, r.swap, o).kind, EntryKind::NotPresent);  // no swap at the pgd
  }
  // 6.10 keeps uffd-wp state in bit 58 of a valid pte and bit 3 of a swap entry.
  DecodeOptions v610;
  v610.cpu_flags = kLinuxSince610;
  EXPECT_EQ(kArchitecture.flag_names(m, 3, (uint64_t{1} << 58) | kFrame | kV | kTP | kAF, v610).join(), "V PAGE AF UFFD_WP");
  EXPECT_EQ(kArchitecture.flag_names(m, 3, (uint64_t{1} << 58) | kFrame | kV | kTP | kAF, {}).join(), "V PAGE AF");
  EXPECT_EQ(kArchitecture.flag_names(m, 3, 8 | (5u << 6) | (uint64_t{7} << 12), v610).join(), "SWAP SWP_UFFD_WP");
  // The generic swap numbering of include/linux/swap.h: the top types are special.
  EXPECT_EQ(kArchitecture.swap_kind(5), "swap");
  EXPECT_EQ(kArchitecture.swap_kind(24), "migration-read");
}

// The walk's fast path must answer as decode() for every descriptor it takes, and take
// every valid table, block and page of the 48-bit format: random descriptors for every mode
// and level, biased towards valid ones.
TEST(Arm64Decode, HotDecoderAgreesWithDecode) {
  std::mt19937_64 rng(11);
  unsigned taken = 0, declined = 0;
  for (const PagingMode* m : kArchitecture.modes()) {
    for (const uint32_t flags : {0u, uint32_t{kDs}}) {
      const DecodeOptions opt{0, flags, std::nullopt};
      const HotDecoder hot(*m, opt);
      for (unsigned level = 0; level < m->level_count(); ++level) {
        for (int i = 0; i < 600; ++i) {
          uint64_t raw = rng();
          if (i % 3) raw = (raw & ~uint64_t{3}) | (i % 2 ? 3 : 1);  // mostly valid
          const EntryDecode d = kArchitecture.decode(*m, level, raw, opt);
          FastEntry h{};
          const bool valid = d.kind == EntryKind::Table || d.kind == EntryKind::Leaf;
          if (!hot.decode(level, raw, h)) {
            ++declined;
            EXPECT_FALSE(valid && !lpa2_format(*m, flags) && m->default_pa_bits < 52) << m->name << " " << std::hex << raw;
            continue;
          }
          ++taken;
          ASSERT_TRUE(valid) << m->name << " level " << level << " 0x" << std::hex << raw;
          EXPECT_EQ(h.leaf, d.kind == EntryKind::Leaf) << std::hex << raw;
          EXPECT_EQ(h.addr, d.addr) << m->name << " " << std::hex << raw;
          EXPECT_EQ(h.access, d.access.bits()) << std::hex << raw;
          EXPECT_EQ(h.attrs, d.attrs) << std::hex << raw;
        }
      }
    }
  }
  EXPECT_GT(taken, 30000u);
  EXPECT_GT(declined, 30000u);
}

TEST(Arm64Tcr, FieldsPickTheModeAndRoots) {
  // Linux 6.1 defconfig: 4 KiB pages, 48-bit VA: T0SZ = T1SZ = 16, TG0 4K (00), TG1 4K (10),
  // IPS 48 bits (101), TBI1.
  const uint64_t tcr = 16 | (16u << 16) | (uint64_t{2} << 30) | (uint64_t{5} << 32) | (uint64_t{1} << 38);
  CpuState c;
  c.arch = "arm64";
  c.set(RegisterNames::kTcr, tcr);
  c.set(RegisterNames::kTtbr0, (uint64_t{0x42} << 48) | 0x41234000 | 1);  // ASID 0x42, CnP
  c.set(RegisterNames::kTtbr1, 0x40a00000);
  auto p = kArchitecture.paging_from_cpu(c);
  ASSERT_TRUE(p) << p.error();
  ASSERT_NE(p->mode, nullptr);
  EXPECT_EQ(p->mode->name, "arm64-4k-48");
  EXPECT_EQ(p->roots[0].value(), 0x41234000u);
  EXPECT_EQ(p->roots[1].value(), 0x40a00000u);
  EXPECT_EQ(p->options.pa_bits, 48u);
  EXPECT_EQ(p->options.tagged_halves, 2u);  // TBI1 only
  EXPECT_EQ(untagged(0x5a00000000401000, 1), 0x401000u);
  EXPECT_EQ(untagged(0x5a80000000401000, 2), 0xff80000000401000u);
  EXPECT_EQ(untagged(0x5a00000000401000, 2), 0x5a00000000401000u);
  // A reserved granule, a 52-bit VA of 4 KiB pages without DS (in either half): said.
  c.set(RegisterNames::kTcr, tcr & ~(uint64_t{3} << 30));
  ASSERT_FALSE(kArchitecture.paging_from_cpu(c));
  c.set(RegisterNames::kTcr, 12 | (12u << 16) | (uint64_t{2} << 30) | (uint64_t{6} << 32));
  auto no_ds = kArchitecture.paging_from_cpu(c);
  ASSERT_FALSE(no_ds);
  EXPECT_NE(no_ds.error().find("DS=1"), std::string::npos) << no_ds.error();
  c.set(RegisterNames::kTcr, (tcr & ~uint64_t{0x3f}) | 28);  // TTBR0 36 bits, TTBR1 48: a split mode
  auto split = kArchitecture.paging_from_cpu(c);
  ASSERT_TRUE(split) << split.error();
  EXPECT_EQ(split->mode->name, "arm64-4k-36/4k-48");
  c.set(RegisterNames::kTcr, (tcr & ~uint64_t{0x3f}) | 12);  // TTBR0 52 bits of 4 KiB pages, no DS
  auto half_no_ds = kArchitecture.paging_from_cpu(c);
  ASSERT_FALSE(half_no_ds);
  EXPECT_NE(half_no_ds.error().find("52-bit TTBR0 VA"), std::string::npos) << half_no_ds.error();
  c.set(RegisterNames::kTcr, (tcr & ~uint64_t{0x3f}) | 30);
  auto small = kArchitecture.paging_from_cpu(c);
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().find("T0SZ 30"), std::string::npos) << small.error();
  // The MMU off: no mode.
  c.set(RegisterNames::kTcr, tcr);
  c.set(RegisterNames::kSctlr, 0x30d00800);
  auto off = kArchitecture.paging_from_cpu(c);
  ASSERT_TRUE(off);
  EXPECT_EQ(off->mode, nullptr);
}

// Tables built in memory for any mode, as the walk reads them.
struct Arm64Tables {
  SyntheticMemory mem;
  TableReader reader{mem};
  uint64_t next_table = 0x100000;

  // The descriptor's address field for a frame or table at `pa` (the inverse of the decoder's).
  uint64_t encode(const PagingMode& m, uint64_t pa) const {
    if (lpa2_format(m, 0)) return (pa & 0x0003fffffffff000) | ((pa >> 50) & 3) << 8;
    if (granule_shift(m) == 16 && m.default_pa_bits >= 52) return (pa & 0x0000ffffffff0000) | ((pa >> 48) & 0xf) << 12;
    return pa;
  }
  uint64_t table_bytes(const PagingMode& m, unsigned level) const { return uint64_t{8} << m.levels[level].index_bits; }
  uint64_t alloc(const PagingMode& m, unsigned level) {
    const uint64_t at = (next_table + m.page_size() - 1) & ~(m.page_size() - 1);
    next_table = at + std::max<uint64_t>(table_bytes(m, level), m.page_size());
    for (uint64_t a = at; a < next_table; a += 4096) (void)mem.page(PhysAddr(a));  // whole tables, zeroed
    return at;
  }
  // Maps va at `leaf_level` to pa under root, making tables on the way.
  void map(const PagingMode& m, uint64_t root, uint64_t va, unsigned leaf_level, uint64_t pa, uint64_t attrs) {
    uint64_t table = root;
    for (unsigned level = 0; level < leaf_level; ++level) {
      const PhysAddr slot(table + 8 * m.index(VirtAddr(va), level));
      uint64_t raw = 0;
      (void)mem.page(slot);  // zero-filled on first use
      ASSERT_TRUE(mem.read(slot, std::as_writable_bytes(std::span(&raw, 1))));
      if (!raw) {
        raw = encode(m, alloc(m, level + 1)) | kV | kTP;
        mem.write_u64(slot, raw);
      }
      table = kArchitecture.decode(m, level, raw, {}).addr;
    }
    const bool page = leaf_level + 1 == m.level_count();
    mem.write_u64(PhysAddr(table + 8 * m.index(VirtAddr(va), leaf_level)), encode(m, pa) | kV | (page ? kTP : 0) | kAF | attrs);
  }
};

// A walk through tables built for each mode: a page in each half, and a block at every
// level that allows one, each found where it was put.
class Arm64Walk : public ::testing::TestWithParam<const PagingMode*>, protected Arm64Tables {};

TEST_P(Arm64Walk, PagesAndBlocksInBothHalves) {
  const PagingMode& m = *GetParam();
  const uint64_t root0 = alloc(m, 0), root1 = alloc(m, 0);
  const RootSet roots{PhysAddr(root0), PhysAddr(root1)};
  const Paging paging{&m, {}};
  const unsigned last = m.level_count() - 1;
  const uint64_t user_va = 0x400000 + 3 * m.page_size() + 0x18, kernel_va = ~uint64_t{0} - (m.tree_size() - 1) + 5 * m.page_size() + 0x20;
  // Frames above 4 GiB, and above 2^48 where the OA is 52 bits.
  const uint64_t frame = (m.default_pa_bits >= 52 ? uint64_t{0x000a} << 48 : 0) | 0x87650000 << (granule_shift(m) - 12);
  map(m, root0, user_va, last, frame, kUser | kPxnBit);
  map(m, root1, kernel_va, last, frame + m.page_size(), kUxnBit);
  Translation t = walk(paging, reader, roots, VirtAddr(user_va));
  ASSERT_TRUE(t.mapped()) << m.name;
  EXPECT_EQ(t.pa.value(), frame + (user_va & (m.page_size() - 1))) << m.name;
  EXPECT_EQ(t.access, Access::of(3, 7)) << m.name;
  t = walk(paging, reader, roots, VirtAddr(kernel_va));
  ASSERT_TRUE(t.mapped()) << m.name;
  EXPECT_EQ(t.pa.value(), frame + m.page_size() + (kernel_va & (m.page_size() - 1))) << m.name;
  EXPECT_EQ(t.region, 1u);
  // A block at each level that allows one, in a part of the low half of its own.
  for (unsigned level = 0; level < last; ++level) {
    if (!m.levels[level].can_be_leaf) continue;
    const uint64_t span = m.span(level);
    const uint64_t va = (m.tree_size() / 2 + span * (level + 1)) & (m.tree_size() - 1) & ~(span - 1);
    const uint64_t pa = span >= (uint64_t{1} << 40) ? span : span * 3;
    map(m, root0, va, level, pa, 0);
    const Translation b = walk(paging, reader, roots, VirtAddr(va + 0x1238));
    ASSERT_TRUE(b.mapped()) << m.name << " L" << level;
    EXPECT_EQ(b.page_size, span) << m.name;
    EXPECT_EQ(b.pa.value(), pa + 0x1238) << m.name << " level " << level;
  }
  // Between the halves: no walk at all.
  EXPECT_EQ(walk(paging, reader, roots, VirtAddr(m.tree_size())).status, Status::NoRegion) << m.name;
  // A tagged VA: in no region unless its half ignores the top byte (TBI, D8.8); the walk then
  // reads the untagged address and the translation keeps the VA as given.
  const uint64_t tag = uint64_t{0x5a} << 56;
  EXPECT_EQ(walk(paging, reader, roots, VirtAddr(user_va | tag)).status, Status::NoRegion) << m.name;
  DecodeOptions tbi;
  tbi.tagged_halves = 1;
  const Paging tbi0{&m, tbi};
  const Translation tagged = walk(tbi0, reader, roots, VirtAddr(user_va | tag));
  ASSERT_TRUE(tagged.mapped()) << m.name;
  EXPECT_EQ(tagged.pa.value(), frame + (user_va & (m.page_size() - 1))) << m.name;
  EXPECT_EQ(tagged.va.value(), user_va | tag);
  // TBI0 leaves TTBR1 addresses as they are: a tag there is still no address.
  EXPECT_EQ(walk(tbi0, reader, roots, VirtAddr((kernel_va & ~(uint64_t{0xff} << 56)) | tag)).status, Status::NoRegion);
  tbi.tagged_halves = 2;
  const Paging tbi1{&m, tbi};
  EXPECT_TRUE(walk(tbi1, reader, roots, VirtAddr((kernel_va & ~(uint64_t{0xff} << 56)) | tag)).mapped()) << m.name;
}

// Halves of different sizes and granules (T0SZ != T1SZ, TG0 != TG1): a split mode, each half
// walked, enumerated and named in its own tree's shape.
class Arm64Split : public ::testing::Test, protected Arm64Tables {};

TEST_F(Arm64Split, EachHalfIsWalkedInItsOwnShape) {
  // TTBR0: 4 KiB pages, 48 bits (T0SZ 16, TG0 00); TTBR1: 64 KiB pages, 42 bits (T1SZ 22,
  // TG1 11); IPS 48 bits.
  const uint64_t tcr = 16 | (22u << 16) | (uint64_t{3} << 30) | (uint64_t{5} << 32);
  CpuState c;
  c.arch = "arm64";
  c.set(RegisterNames::kTcr, tcr);
  const PagingMode& low = mode("arm64-4k-48");
  const PagingMode& high = mode("arm64-64k-42");
  const uint64_t root0 = alloc(low, 0), root1 = alloc(high, 0);
  c.set(RegisterNames::kTtbr0, root0 | (uint64_t{7} << 48));
  c.set(RegisterNames::kTtbr1, root1);
  auto p = kArchitecture.paging_from_cpu(c);
  ASSERT_TRUE(p) << p.error();
  const PagingMode& m = *p->mode;
  EXPECT_EQ(m.name, "arm64-4k-48/64k-42");
  EXPECT_NE(p->mode_source.find("T1SZ 22, TG1 64K"), std::string::npos) << p->mode_source;
  ASSERT_TRUE(m.split());
  EXPECT_EQ(&m.tree(0), &low);
  EXPECT_EQ(&m.tree(1), &high);
  EXPECT_EQ(&split_mode(low, high), &m);  // made once
  EXPECT_EQ(&split_mode(low, low), &low);
  EXPECT_EQ(m.regions[0].last, (uint64_t{1} << 48) - 1);
  EXPECT_EQ(m.regions[1].first, ~uint64_t{0} << 42);
  EXPECT_EQ(m.page_size(), 65536u);  // the kernel's half
  EXPECT_EQ(p->roots[0].value(), root0);
  EXPECT_EQ(p->roots[1].value(), root1);

  const uint64_t user_va = 0x0000aaaabbbb5018, kernel_va = 0xfffffc0012345678;
  map(low, root0, user_va, 3, 0x81234000, kUser | kPxnBit);
  map(high, root1, kernel_va, 1, 0x90000000, kUxnBit);  // a 64 KiB page (L3, the second level)
  map(high, root1, 0xfffffe0000000000, 0, 0xa0000000, 0);  // a 512 MiB block at L2
  const Paging paging{&m, p->options};
  const Walker walker(paging);
  const RootSet roots = p->roots;
  Translation t = walker.walk(reader, roots, VirtAddr(user_va));
  ASSERT_TRUE(t.mapped());
  EXPECT_EQ(t.nsteps, 4u);
  EXPECT_EQ(t.page_size, 4096u);
  EXPECT_EQ(t.pa.value(), 0x81234018u);
  t = walker.walk(reader, roots, VirtAddr(kernel_va));
  ASSERT_TRUE(t.mapped());
  EXPECT_EQ(t.region, 1u);
  EXPECT_EQ(t.nsteps, 2u);
  EXPECT_EQ(t.page_size, 65536u);
  EXPECT_EQ(t.pa.value(), 0x90005678u);
  EXPECT_EQ(paging.for_region(t.region).mode, &high);
  EXPECT_EQ(paging.for_region(t.region).mode->levels[t.last().level].hw_name, "L3");
  t = walker.walk(reader, roots, VirtAddr(0xfffffe0000123456));
  ASSERT_TRUE(t.mapped());
  EXPECT_EQ(t.page_size, uint64_t{512} << 20);
  // A 48-bit TTBR1 address is outside the 42-bit half, and a 4 KiB TTBR0 one inside.
  EXPECT_EQ(walker.walk(reader, roots, VirtAddr(0xffff800000000000)).status, Status::NoRegion);
  EXPECT_EQ(walker.walk(reader, roots, VirtAddr(0x0001000000000000)).status, Status::NoRegion);

  // Enumeration reads each region in its tree: 4 KiB in TTBR0, 64 KiB and 512 MiB in TTBR1.
  std::vector<Range> mapped;
  const EnumReport rep = enumerate(paging, reader, roots, {}, [&](const Range& r) {
    if (r.kind == RangeKind::Mapped) mapped.push_back(r);
    return true;
  });
  EXPECT_TRUE(rep.unreadable.empty());
  ASSERT_EQ(mapped.size(), 3u);
  EXPECT_EQ(mapped[0].start.value(), user_va & ~uint64_t{0xfff});
  EXPECT_EQ(mapped[0].page_size(m), 4096u);
  EXPECT_EQ(mapped[1].start.value(), kernel_va & ~uint64_t{0xffff});
  EXPECT_EQ(mapped[1].page_size(m), 65536u);
  EXPECT_EQ(mapped[1].pa.value(), 0x90000000u);
  EXPECT_EQ(mapped[2].page_size(m), uint64_t{512} << 20);
  for (const Range& r : mapped) {
    const Translation w = walker.walk(reader, roots, r.start);
    EXPECT_EQ(w.pa, r.pa) << std::hex << r.start.value();
    EXPECT_EQ(w.page_size, r.page_size(m));
  }
}

INSTANTIATE_TEST_SUITE_P(EveryMode, Arm64Walk, ::testing::ValuesIn(all_modes().begin(), all_modes().end()),
                         [](const auto& param_info) {
                           std::string n(param_info.param->name);
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace pagewalk::arm64
