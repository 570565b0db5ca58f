// The extension point, proven: an architecture defined in this file alone (a 16-bit VA,
// two levels of 16 two-byte entries, 256-byte pages, 4 KiB blocks, two roots with a hole
// between their regions) is walked, enumerated, coalesced and rendered by the same code
// that serves x86, with nothing outside this file knowing it exists.
#include <gtest/gtest.h>

#include "cli/render.hpp"
#include "core/architecture.hpp"
#include "core/enumerate.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk {
namespace {

// Entry: bit 0 valid, 1 writable, 2 user, 3 block (level 0 only), bits 15:8 frame >> 8.
constexpr uint16_t kV = 1, kW = 2, kU = 4, kB = 8;

constexpr LevelDesc kToyLevels[] = {{"pgd", "T0", 12, 4, true}, {"pte", "T1", 8, 4, false}};
// Two trees: the low one under root 0, the high one under root 1, a hole between.
constexpr VaRegion kToyRegions[] = {{"low", 0x0000, 0x5fff, 0}, {"high", 0xa000, 0xffff, 1}};

class ToyArch final : public Architecture {
 public:
  std::string_view name() const override { return "toy16"; }
  std::span<const PagingMode* const> modes() const override;
  EntryDecode decode(const PagingMode&, unsigned level, uint64_t raw, const DecodeOptions&) const override {
    EntryDecode d;
    if (raw == 0) return d;
    if (!(raw & kV)) {
      d.kind = EntryKind::NotPresent;
      return d;
    }
    const uint8_t k = static_cast<uint8_t>(1 | ((raw & kW) ? 2 : 0) | 4);
    d.access = Access::of(k, (raw & kU) ? k : 0);
    d.addr = raw & 0xff00;
    d.attrs = raw & 0xff;
    if (level == 0 && (raw & kB)) {
      d.kind = (d.addr & 0xfff) ? EntryKind::Reserved : EntryKind::Leaf;  // a block is 4 KiB aligned
    } else {
      d.kind = level == 0 ? EntryKind::Table : EntryKind::Leaf;
    }
    return d;
  }
  FlagNames flag_names(const PagingMode&, unsigned, uint64_t raw, const DecodeOptions&) const override {
    FlagNames f;
    f.add(raw & kV, "V");
    f.add(raw & kW, "W");
    f.add(raw & kU, "U");
    f.add(raw & kB, "B");
    return f;
  }
};

const ToyArch kToyArch;
const PagingMode kToy{"toy16", "a 16-bit toy", &kToyArch, 2, 16, 16, 16, 0, kToyLevels, kToyRegions};
constexpr const PagingMode* kToyModes[] = {&kToy};
std::span<const PagingMode* const> ToyArch::modes() const { return kToyModes; }

class ToyMachine : public ::testing::Test {
 protected:
  static constexpr PhysAddr kRoot0{0x1000}, kRoot1{0x2000}, kLeafTable0{0x1100}, kLeafTable1{0x2100};
  void SetUp() override {
    put(kRoot0, 0, 0x1100 | kV | kU | kW);           // 0x0000-0x0fff: a table
    put(kLeafTable0, 0, 0x3000 | kV | kU | kW);      // 0x0000: user rw page
    put(kLeafTable0, 1, 0x3100 | kV | kU | kW);      // 0x0100: continues it
    put(kLeafTable0, 2, 0x3200 | kV | kU);           // 0x0200: user read-only
    put(kLeafTable0, 3, 0x3300 | kW);                // 0x0300: not valid
    put(kRoot0, 3, 0x4000 | kV | kU | kB);           // 0x3000-0x3fff: a 4 KiB block
    put(kRoot1, 0xb, 0x2100 | kV | kW);              // 0xb000: a kernel table
    put(kLeafTable1, 5, 0x5000 | kV | kW | kU);      // 0xb500: the table withholds user access
  }
  void put(PhysAddr table, unsigned index, uint16_t raw) { mem.write_u64(table + index * 2u, raw, 2); }
  Translation go(uint64_t va) { return walk(paging, reader, roots, VirtAddr(va)); }

  SyntheticMemory mem;
  TableReader reader{mem};
  Paging paging{&kToy, {}};
  RootSet roots{kRoot0, kRoot1};
};

TEST_F(ToyMachine, WalksThroughTheSharedCore) {
  Translation t = go(0x0123);
  ASSERT_EQ(t.status, Status::Mapped);
  EXPECT_EQ(t.pa.value(), 0x3123u);
  EXPECT_EQ(t.page_size, 256u);
  EXPECT_EQ(t.nsteps, 2u);
  EXPECT_EQ(t.steps[0].table, kRoot0);
  EXPECT_EQ(t.steps[1].entry_addr, kLeafTable0 + 2);
  EXPECT_EQ(t.access, Access::of(7, 7));

  t = go(0x3abc);  // the block
  ASSERT_EQ(t.status, Status::Mapped);
  EXPECT_EQ(t.pa.value(), 0x4abcu);
  EXPECT_EQ(t.page_size, 4096u);
  EXPECT_EQ(t.access, Access::of(5, 5));

  t = go(0xb5ff);  // the second root; the table takes the user's rights away
  ASSERT_EQ(t.status, Status::Mapped);
  EXPECT_EQ(t.pa.value(), 0x50ffu);
  EXPECT_EQ(t.region, 1u);
  EXPECT_EQ(t.steps[0].table, kRoot1);
  EXPECT_EQ(t.access, Access::of(7, 0));

  EXPECT_EQ(go(0x0300).status, Status::NotPresent);
  EXPECT_EQ(go(0x1000).status, Status::NotPresent);
  EXPECT_EQ(go(0x7000).status, Status::NoRegion);   // the hole between the regions
  EXPECT_EQ(go(0x10000).status, Status::NoRegion);  // beyond 16 bits
}

TEST_F(ToyMachine, EnumeratesRegionsAndTheHoleAndAgreesWithTheWalk) {
  std::vector<Range> ranges;
  const EnumReport rep = enumerate(paging, reader, roots, {}, [&](const Range& r) {
    ranges.push_back(r);
    return true;
  });
  EXPECT_FALSE(rep.truncated);
  uint64_t cursor = 0;
  std::vector<uint64_t> leaves;
  bool hole_seen = false;
  for (const Range& r : ranges) {
    EXPECT_EQ(r.start.value(), cursor);
    cursor = r.start.value() + r.size;
    if (r.kind == RangeKind::NoRegion) {
      hole_seen = true;
      EXPECT_EQ(r.start.value(), 0x6000u);
      EXPECT_EQ(r.size, 0x4000u);
    }
    if (r.kind != RangeKind::Mapped) continue;
    leaves.push_back(r.start.value());
    const Translation t = go(r.start.value());
    ASSERT_EQ(t.status, Status::Mapped) << std::hex << r.start.value();
    EXPECT_EQ(t.pa, r.pa);
    EXPECT_EQ(t.page_size, r.page_size(kToy));
    EXPECT_EQ(t.access, r.access);
  }
  EXPECT_EQ(cursor, 0x10000u);  // the last region ends at the top of the 16-bit space
  EXPECT_TRUE(hole_seen);
  EXPECT_EQ(leaves, (std::vector<uint64_t>{0x0000, 0x0100, 0x0200, 0x3000, 0xb500}));

  // Coalescing: the first two pages are one run; the read-only page is not part of it.
  std::vector<Range> runs;
  Coalescer c(CoalescePolicy::for_mode(kToy), [&](const Range& r) {
    runs.push_back(r);
    return true;
  });
  for (const Range& r : ranges) c.push(r);
  c.finish();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].size, 0x200u);
  EXPECT_EQ(runs[0].pages, 2u);
}

TEST_F(ToyMachine, RendersThroughTheSharedRenderers) {
  std::string out;
  cli::append_trace(out, paging, go(0xb5ff));
  EXPECT_NE(out.find("0xb5ff -> 0x50ff  (256B page, rwx kernel)"), std::string::npos) << out;
  EXPECT_NE(out.find("pgd  T0"), std::string::npos) << out;
  EXPECT_NE(out.find("V W U"), std::string::npos) << out;
  out.clear();
  cli::append_trace(out, paging, go(0x7000));
  EXPECT_NE(out.find("in no region of toy16 (low 0x0-0x5fff, high 0xa000-0xffff)"), std::string::npos) << out;
  out.clear();
  {
    cli::JsonWriter w(out);
    w.object();
    cli::write_translation(w, paging, go(0x3abc));
    w.end();
  }
  EXPECT_NE(out.find(R"("access":{"kernel":"r-x","user":"r-x"})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("flags":["V","U","B"])"), std::string::npos) << out;
}

}  // namespace
}  // namespace pagewalk
