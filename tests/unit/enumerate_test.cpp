#include <gtest/gtest.h>

#include "arch/x86/x86_entry.hpp"
#include "core/enumerate.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk {
namespace {

struct Fixture {
  explicit Fixture(const PagingMode& m) : mode(m), tables(mem, m, PhysAddr(0x100000)), reader(mem) {}
  std::vector<Range> run(EnumOptions o = {}, EnumReport* rep = nullptr) {
    std::vector<Range> out;
    EnumReport r = enumerate(Paging{&mode, {}}, reader, tables.root(), o, [&](const Range& x) {
      out.push_back(x);
      return true;
    });
    if (rep) *rep = r;
    return out;
  }
  const PagingMode& mode;
  SyntheticMemory mem;
  TableBuilder tables;
  TableReader reader;
};

TEST(Enumerate, RangesTileTheWholeSpace) {
  Fixture f(kX86_64_4Level);
  f.tables.map(VirtAddr(0x400000), PhysAddr(0x1000), 4096, 0x6);
  f.tables.map(VirtAddr(0x401000), PhysAddr(0x2000), 4096, 0x6);
  f.tables.map(VirtAddr(0x7f0000200000), PhysAddr(0x40000000), uint64_t{2} << 20, 0x6);
  f.tables.map(VirtAddr(0xffff888000000000), PhysAddr(0), uint64_t{1} << 30, 0x2, 0x63);
  const auto ranges = f.run();
  uint64_t cursor = 0, mapped = 0;
  for (const Range& r : ranges) {
    EXPECT_EQ(r.start.value(), cursor);
    cursor += r.size;
    if (r.kind == RangeKind::Mapped) ++mapped;
  }
  EXPECT_EQ(cursor, 0u);  // wrapped: the ranges cover [0, 2^64)
  EXPECT_EQ(mapped, 4u);
  // Holes are merged: no two neighbours are both holes.
  for (size_t i = 1; i < ranges.size(); ++i)
    EXPECT_FALSE(ranges[i].kind == RangeKind::Hole && ranges[i - 1].kind == RangeKind::Hole);
  // The canonical gap appears once, exactly.
  int gaps = 0;
  for (const Range& r : ranges)
    if (r.kind == RangeKind::NoRegion) {
      ++gaps;
      EXPECT_EQ(r.start.value(), 0x0000800000000000u);
      EXPECT_EQ(r.start.value() + r.size, 0xffff800000000000u);
    }
  EXPECT_EQ(gaps, 1);
}

TEST(Enumerate, SkipsEmptySubtreesInOneStep) {
  Fixture f(kX86_64_5Level);
  f.tables.map(VirtAddr(0x1000), PhysAddr(0x1000), 4096, 0x6);
  EnumReport rep;
  f.run({}, &rep);
  // One table per level on the path, and each table's 512 entries at most.
  EXPECT_EQ(rep.tables, 5u);
  EXPECT_LE(rep.entries, 5u * 512u);
}

TEST(Enumerate, WindowClipsLargePages) {
  Fixture f(kX86_64_4Level);
  f.tables.map(VirtAddr(0x40000000), PhysAddr(0x80000000), uint64_t{1} << 30, 0x6);
  EnumOptions o;
  o.first = VirtAddr(0x40001000);
  o.last = VirtAddr(0x40002fff);
  const auto ranges = f.run(o);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].start.value(), 0x40001000u);
  EXPECT_EQ(ranges[0].size, 0x2000u);
  EXPECT_EQ(ranges[0].pa.value(), 0x80001000u);
}

TEST(Enumerate, TableThatPointsAtItselfEnds) {
  Fixture f(kX86_64_4Level);
  f.tables.map(VirtAddr(0x1000), PhysAddr(0x1000), 4096, 0x6);
  // PML4[5] -> the PML4 itself (a recursive mapping), and a PDPT entry -> its ancestor PML4.
  f.tables.set_entry(VirtAddr(uint64_t{5} << 39), 0, f.tables.root().value() | 0x7);
  const PhysAddr pdpt_entry = f.tables.entry_addr(VirtAddr(0x1000), 1);
  (void)pdpt_entry;
  f.tables.set_entry(VirtAddr(uint64_t{1} << 30), 1, f.tables.root().value() | 0x7);
  EnumReport rep;
  const auto ranges = f.run({}, &rep);
  EXPECT_EQ(rep.loops.size(), 2u);
  EXPECT_FALSE(rep.truncated);
  EXPECT_LE(rep.entries, 4u * 512u);  // the four tables on the path, nothing more
}

TEST(Enumerate, WorkIsBoundedAgainstSharedTables) {
  // Every PD entry points at the same page table: legal, but 512x the work. The bound holds.
  Fixture f(kX86_64_4Level);
  f.tables.map(VirtAddr(0x0), PhysAddr(0x1000), 4096, 0x6);
  const uint64_t pt = f.tables.entry_addr(VirtAddr(0), 3).value() & ~0xfffull;
  for (uint64_t i = 1; i < 512; ++i) f.tables.set_entry(VirtAddr(i << 21), 2, pt | 0x7);
  EnumOptions o;
  o.max_entries = 10000;
  EnumReport rep;
  f.run(o, &rep);
  EXPECT_TRUE(rep.truncated);
  EXPECT_LE(rep.entries, 10001u);
}

TEST(Enumerate, UnreadableTable) {
  Fixture f(kX86_64_4Level);
  f.tables.set_entry(VirtAddr(0x8000000000), 0, 0x7f000000 | 0x7);
  EnumReport rep;
  const auto ranges = f.run({}, &rep);
  ASSERT_EQ(rep.unreadable.size(), 1u);
  bool seen = false;
  for (const Range& r : ranges)
    if (r.kind == RangeKind::Unreadable) {
      seen = true;
      EXPECT_EQ(r.start.value(), 0x8000000000u);
      EXPECT_EQ(r.size, uint64_t{1} << 39);
    }
  EXPECT_TRUE(seen);
}

TEST(Coalesce, MergesContiguousEqualRuns) {
  Fixture f(kX86_64_4Level);
  for (uint64_t i = 0; i < 16; ++i) f.tables.map(VirtAddr(0x400000 + i * 4096), PhysAddr(0x10000 + i * 4096), 4096, 0x6);
  f.tables.map(VirtAddr(0x410000), PhysAddr(0x90000), 4096, 0x6);        // PA jumps
  f.tables.map(VirtAddr(0x411000), PhysAddr(0x91000), 4096, 0x4);        // read-only
  f.tables.map(VirtAddr(0x412000), PhysAddr(0x92000), 4096, 0x4 | 0x60); // A|D differ: ignored
  std::vector<Range> out;
  Coalescer c(CoalescePolicy::for_mode(kX86_64_4Level), [&](const Range& r) {
    out.push_back(r);
    return true;
  });
  for (const Range& r : f.run()) c.push(r);
  c.finish();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].size, 16u * 4096);
  EXPECT_EQ(out[0].pages, 16u);
  EXPECT_EQ(out[1].start.value(), 0x410000u);
  EXPECT_EQ(out[2].start.value(), 0x411000u);
  EXPECT_EQ(out[2].pages, 2u);
  // ptdump-style: attributes only, PA jumps allowed.
  out.clear();
  CoalescePolicy by_attr = CoalescePolicy::for_mode(kX86_64_4Level);
  by_attr.contiguous_pa = false;
  Coalescer c2(by_attr, [&](const Range& r) {
    out.push_back(r);
    return true;
  });
  for (const Range& r : f.run()) c2.push(r);
  c2.finish();
  EXPECT_EQ(out.size(), 2u);
}

}  // namespace
}  // namespace pagewalk
