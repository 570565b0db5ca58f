// Walk, enumerate and coalesce stamped out for every x86 mode over one varied set of
// tables: 4 KiB pages with differing rights, large pages at every level that allows them,
// kernel tables, NX leaves where entries are 64-bit, swap and PROT_NONE entries. Every leaf
// enumerate yields must translate, through the walk, to the same PA, page size and access.
#include <gtest/gtest.h>

#include "../support/x86_modes.hpp"
#include "arch/registry.hpp"
#include "arch/x86/x86_entry.hpp"
#include "core/enumerate.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk {
namespace {

template <typename P>
class WalkEnumerate : public ::testing::Test {
 protected:
  void SetUp() override {
    const PagingMode& m = mode;
    const uint64_t nx = (m.entry_bytes == 8) ? uint64_t{1} << x86::kNX : 0;
    // 0x0040_0000: sixteen user pages, then a read-only one, a kernel one, an NX one.
    for (uint64_t i = 0; i < 16; ++i) tables.map(VirtAddr(0x400000 + i * 4096), PhysAddr(0x800000 + i * 4096), 4096, 0x6);
    tables.map(VirtAddr(0x410000), PhysAddr(0x900000), 4096, 0x4);
    tables.map(VirtAddr(0x411000), PhysAddr(0x901000), 4096, 0x2);
    tables.map(VirtAddr(0x412000), PhysAddr(0x902000), 4096, 0x6 | nx);
    tables.map(VirtAddr(0x413000), PhysAddr(0x903000), 4096, 0x6 | 0x60);  // A|D: coalescing ignores them
    // Large pages at every level that allows them.
    uint64_t va = 0x40000000;
    for (unsigned l = 0; l + 1 < m.level_count(); ++l) {
      if (!m.levels[l].can_be_leaf) continue;
      const uint64_t size = m.span(l);
      va = (va + size - 1) & ~(size - 1);
      if (va + size > (uint64_t{1} << 32)) va = 0x80000000 & ~(size - 1);
      tables.map(VirtAddr(va), PhysAddr(size * 2), size, 0x6, 0x63);
      large.push_back(va);
      va += size;
    }
    // Linux's non-present encodings at the last level.
    const unsigned last = m.level_count() - 1;
    tables.set_entry(VirtAddr(0x420000), last, x86::encode_swap(m, 1, 0x77));
    tables.set_entry(VirtAddr(0x421000), last, x86::encode_protnone(m, 0x905000, 0x60));
  }

  std::vector<Range> ranges(EnumReport* rep = nullptr) {
    std::vector<Range> out;
    const EnumReport r = enumerate(paging, reader, tables.root(), {}, [&](const Range& x) {
      out.push_back(x);
      return true;
    });
    if (rep) *rep = r;
    return out;
  }

  const PagingMode& mode = P::mode();
  SyntheticMemory mem;
  TableBuilder tables{mem, mode, PhysAddr(0x100000)};
  TableReader reader{mem};
  Paging paging{&mode, {}};
  std::vector<uint64_t> large;
};

TYPED_TEST_SUITE(WalkEnumerate, test::X86Modes);

TYPED_TEST(WalkEnumerate, EveryLeafTranslatesAsEnumerateSaysAndTheRangesTile) {
  EnumReport rep;
  const std::vector<Range> rs = this->ranges(&rep);
  EXPECT_FALSE(rep.truncated);
  uint64_t cursor = 0, leaves = 0;
  for (const Range& r : rs) {
    EXPECT_EQ(r.start.value(), cursor);
    cursor = r.start.value() + r.size;
    if (r.kind != RangeKind::Mapped) continue;
    ++leaves;
    for (const uint64_t at : {r.start.value(), r.start.value() + r.size - 1}) {
      const Translation t = walk(this->paging, this->reader, this->tables.root(), VirtAddr(at));
      ASSERT_EQ(t.status, Status::Mapped) << this->mode.name << std::hex << " 0x" << at;
      EXPECT_EQ(t.pa, r.pa + (at - r.start.value())) << std::hex << at;
      EXPECT_EQ(t.page_size, r.page_size(this->mode));
      EXPECT_EQ(t.access, r.access) << std::hex << at;
      EXPECT_EQ(t.last().raw, r.raw);
    }
  }
  EXPECT_EQ(leaves, 20u + this->large.size());
  // 32-bit modes end at 4 GiB; the 64-bit ones wrap to 0 after the upper half.
  EXPECT_EQ(cursor, this->mode.regions.back().last + 1);
  // Swap and PROT_NONE entries are holes to enumerate, and what the walk says they are.
  EXPECT_EQ(walk(this->paging, this->reader, this->tables.root(), VirtAddr(0x420000)).status, Status::Swap);
  EXPECT_EQ(walk(this->paging, this->reader, this->tables.root(), VirtAddr(0x421000)).status, Status::ProtNone);
}

TYPED_TEST(WalkEnumerate, CoalescesRunsOfEqualAccessAndContiguousFrames) {
  std::vector<Range> runs;
  Coalescer c(CoalescePolicy::for_mode(this->mode), [&](const Range& r) {
    runs.push_back(r);
    return true;
  });
  for (const Range& r : this->ranges()) c.push(r);
  c.finish();
  ASSERT_GE(runs.size(), 5u);
  // The sixteen user pages are one run; read-only, kernel and NX pages are runs of their own
  // (NX only where entries have the bit); the A|D page joins nothing it differs from.
  EXPECT_EQ(runs[0].start.value(), 0x400000u);
  EXPECT_EQ(runs[0].pages, 16u);
  EXPECT_EQ(runs[1].start.value(), 0x410000u);
  EXPECT_EQ(runs[2].start.value(), 0x411000u);
  EXPECT_EQ(runs[2].access, Access::of(7, 0));  // kernel rwx, no user access
  uint64_t pages = 0;
  for (const Range& r : runs) pages += r.pages;
  EXPECT_EQ(pages, 20u + this->large.size());
  for (size_t i = 1; i < runs.size(); ++i) EXPECT_GE(runs[i].start.value(), runs[i - 1].start.value() + runs[i - 1].size);
}

}  // namespace
}  // namespace pagewalk
