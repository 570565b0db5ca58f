// The walker over in-memory tables, one test body stamped out for every paging mode.
// SyntheticMemory fails any read of a page nobody wrote, so a walk that strays is caught.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

#include "../support/x86_modes.hpp"
#include "arch/x86/x86_entry.hpp"
#include "core/walk.hpp"
#include "sources/segmented_memory.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk {
namespace {

template <typename P>
class WalkTest : public ::testing::Test {
 protected:
  const PagingMode& mode = P::mode();
  SyntheticMemory mem;
  TableBuilder tables{mem, mode, PhysAddr(0x100000)};
  TableReader reader{mem};
  Paging paging{&mode, {}};

  Translation go(uint64_t va) { return walk(paging, reader, tables.root(), VirtAddr(va)); }
};

TYPED_TEST_SUITE(WalkTest, test::X86Modes);

TYPED_TEST(WalkTest, FourKilobytePage) {
  this->tables.map(VirtAddr(0x12345000), PhysAddr(0x7654000), 4096, 0x6);
  const Translation t = this->go(0x12345123);
  ASSERT_EQ(t.status, Status::Mapped);
  EXPECT_EQ(t.pa.value(), 0x7654123u);
  EXPECT_EQ(t.page_size, 4096u);
  ASSERT_EQ(t.nsteps, this->mode.level_count());
  PhysAddr table = this->tables.root();
  for (unsigned l = 0; l < t.nsteps; ++l) {
    EXPECT_EQ(t.steps[l].level, l);
    EXPECT_EQ(t.steps[l].index, this->mode.index(VirtAddr(0x12345123), l));
    EXPECT_EQ(t.steps[l].table, table);
    EXPECT_EQ(t.steps[l].entry_addr, table + uint64_t{t.steps[l].index} * this->mode.entry_bytes);
    table = PhysAddr(t.steps[l].raw & 0x000ffffffffff000ull);
  }
  EXPECT_TRUE(t.access.has(Access::kKernelWrite));
  EXPECT_TRUE(t.access.has(Access::kUserRead));
}

TYPED_TEST(WalkTest, LargePagesAtEveryLevelThatAllowsThem) {
  const uint64_t base[] = {0x80000000, 0xc0000000};
  unsigned used = 0;
  for (unsigned l = 0; l + 1 < this->mode.level_count(); ++l) {
    if (!this->mode.levels[l].can_be_leaf) continue;
    const uint64_t size = this->mode.span(l);
    const uint64_t va = base[used++ % 2];
    this->tables.map(VirtAddr(va), PhysAddr(size * 3), size, 0x2);
    const Translation t = this->go(va + size / 2 + 0x10);
    ASSERT_EQ(t.status, Status::Mapped) << this->mode.name << " level " << l;
    EXPECT_EQ(t.page_size, size);
    EXPECT_EQ(t.pa.value(), size * 3 + size / 2 + 0x10);
    EXPECT_EQ(t.nsteps, l + 1);
  }
  EXPECT_GT(used, 0u);
}

TYPED_TEST(WalkTest, NotPresentStopsAtTheEmptyEntry) {
  this->tables.map(VirtAddr(0x12345000), PhysAddr(0x7654000), 4096, 0x6);
  const Translation t = this->go(0x12346000);  // same tables, empty last entry
  EXPECT_EQ(t.status, Status::NotPresent);
  EXPECT_EQ(t.nsteps, this->mode.level_count());
  EXPECT_EQ(t.last().raw, 0u);
}

TYPED_TEST(WalkTest, UnreadableTableIsReportedWithItsAddress) {
  // A root entry pointing at a table the machine does not have.
  this->tables.set_entry(VirtAddr(0x40000000), 0, 0x7f000000 | 0x7);
  const Translation t = this->go(0x40000000);
  EXPECT_EQ(t.status, Status::Unreadable);
  EXPECT_EQ(t.unreadable.value() & ~0xfffull, 0x7f000000u);
}

TYPED_TEST(WalkTest, PermissionsAccumulateDownTheLevels) {
  // Tables without RW: the page is read-only whatever its own entry says.
  this->tables.map(VirtAddr(0x23456000), PhysAddr(0x1000), 4096, 0x6, 0x5);
  const Translation t = this->go(0x23456000);
  ASSERT_EQ(t.status, Status::Mapped);
  // PAE PDPTEs carry no RW bit, so with 3 levels the PD still denies the write.
  EXPECT_FALSE(t.access.has(Access::kKernelWrite));
  EXPECT_TRUE(t.access.has(Access::kUserRead));
}

TYPED_TEST(WalkTest, OutsideTheAddressSpace) {
  const uint64_t bad = this->mode.va_bits == 32 ? 0x100000000ull
                       : this->mode.va_bits == 48 ? 0x0000800000000000ull
                                                  : 0x0100000000000000ull;
  const Translation t = this->go(bad);
  EXPECT_EQ(t.status, Status::NoRegion);
  EXPECT_EQ(t.nsteps, 0u);
}

TYPED_TEST(WalkTest, UncachedReaderGivesTheSameAnswers) {
  this->tables.map(VirtAddr(0x12345000), PhysAddr(0x7654000), 4096, 0x6);
  TableReader uncached(this->mem, 1, false);
  for (uint64_t va : {0x12345123ull, 0x12346000ull, 0x40000000ull}) {
    const Translation a = this->go(va);
    const Translation b = walk(this->paging, uncached, this->tables.root(), VirtAddr(va));
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.pa, b.pa);
    EXPECT_EQ(a.nsteps, b.nsteps);
  }
}

// Every field walk() fills, compared; steps only where the walk took them.
void expect_same(const Translation& a, const Translation& b) {
  SCOPED_TRACE(::testing::Message() << "va 0x" << std::hex << a.va.value());
  EXPECT_EQ(a.va, b.va);
  ASSERT_EQ(a.status, b.status);
  ASSERT_EQ(a.nsteps, b.nsteps);
  for (unsigned i = 0; i < a.nsteps; ++i) {
    EXPECT_EQ(a.steps[i].level, b.steps[i].level);
    EXPECT_EQ(a.steps[i].index, b.steps[i].index);
    EXPECT_EQ(a.steps[i].table, b.steps[i].table);
    EXPECT_EQ(a.steps[i].entry_addr, b.steps[i].entry_addr);
    EXPECT_EQ(a.steps[i].raw, b.steps[i].raw);
  }
  EXPECT_EQ(a.pa, b.pa);
  EXPECT_EQ(a.page_size, b.page_size);
  EXPECT_EQ(a.access, b.access);
  EXPECT_EQ(a.swap_type, b.swap_type);
  EXPECT_EQ(a.swap_offset, b.swap_offset);
  EXPECT_EQ(a.unreadable, b.unreadable);
}

// Every outcome, walked by one Walker through a small cache (slots are evicted between
// walks) and by fresh walks through no cache at all: the same answers, step for step.
TYPED_TEST(WalkTest, OneWalkerAndASmallCacheGiveEveryAnswerAsFreshUncachedWalks) {
  const PagingMode& m = this->mode;
  const uint64_t top = m.va_bits == 32 ? 0xffffffffull : (uint64_t{1} << (m.va_bits - 1)) - 1;
  std::vector<uint64_t> picks;
  for (uint64_t i = 0; i < 40; ++i) {
    const uint64_t va = 0x10000000 + i * 0x5000;
    this->tables.map(VirtAddr(va), PhysAddr(0x7000000 + i * 0x3000), 4096, i % 2 ? 0x6 : 0x4, i % 3 ? 0x67 : 0x65);
    picks.push_back(va + i);
    picks.push_back(va + 0x1000);  // the next page: not present
  }
  for (unsigned l = 0; l + 1 < m.level_count(); ++l) {
    if (!m.levels[l].can_be_leaf) continue;
    const uint64_t va = 0x80000000 + uint64_t{l} * m.span(l);
    this->tables.map(VirtAddr(va), PhysAddr(m.span(l) * 5), m.span(l), 0x2);
    picks.push_back(va + 0x123456 % m.span(l));
  }
  this->tables.set_entry(VirtAddr(0x30000000), m.level_count() - 1, x86::encode_swap(m, 3, 0x4321));
  this->tables.set_entry(VirtAddr(0x30001000), m.level_count() - 1, x86::encode_protnone(m, 0x9000, 0x60));
  this->tables.set_entry(VirtAddr(0x30002000), m.level_count() - 1, m.entry_bytes == 8 ? 0x8000000000000080 | 0x1 | (uint64_t{1} << 51) : 0x1001);
  const uint64_t lost = 3 * m.span(0);  // a root entry of its own, to a table the machine lacks
  this->tables.set_entry(VirtAddr(lost), 0, 0x7f000000 | 0x7);
  for (const uint64_t va : std::initializer_list<uint64_t>{0x30000010, 0x30001010, 0x30002010, 0x40000000, lost,
                                                          lost + 0x1000, top, top + 1, ~uint64_t{0}, 0})
    picks.push_back(va);
  ASSERT_GT(picks.size(), 80u);

  TableReader small(this->mem, 8);
  TableReader uncached(this->mem, 1, false);
  const Walker walker(this->paging);
  std::set<Status> seen;
  for (const uint64_t va : picks) {
    const Translation one = walker.walk(small, this->tables.root(), VirtAddr(va));
    const Translation fresh = walk(this->paging, uncached, this->tables.root(), VirtAddr(va));
    expect_same(one, fresh);
    seen.insert(one.status);
  }
  for (Status s : {Status::Mapped, Status::NotPresent, Status::Swap, Status::ProtNone, Status::Unreadable})
    EXPECT_TRUE(seen.contains(s)) << to_string(s);
  if (m.va_bits > 32) {
    EXPECT_TRUE(seen.contains(Status::NoRegion));
  }
}

TEST(Walk, SwapAndProtNoneLeaves) {
  SyntheticMemory mem;
  TableBuilder tb(mem, kX86_64_4Level, PhysAddr(0x100000));
  tb.map(VirtAddr(0x5614df881000), PhysAddr(0x6565000), 4096, 0x66);
  tb.set_entry(VirtAddr(0x5614df882000), 3, 0x07ffffffffdb9602);  // type 0, offset 0x1234, soft-dirty
  tb.set_entry(VirtAddr(0x5614df883000), 3, 0x800ffffff9a99120);   // PROT_NONE, frame 0x6566000
  TableReader r(mem);
  const Paging p{&kX86_64_4Level, {}};
  Translation t = walk(p, r, tb.root(), VirtAddr(0x5614df882010));
  EXPECT_EQ(t.status, Status::Swap);
  EXPECT_EQ(t.swap_type, 0);
  EXPECT_EQ(t.swap_offset, 0x1234u);
  t = walk(p, r, tb.root(), VirtAddr(0x5614df883010));
  EXPECT_EQ(t.status, Status::ProtNone);
  EXPECT_EQ(t.pa.value(), 0x6566010u);
}

// The reader's fast path through long stretches of an image (the segments of an mmapped
// dump) must give the bytes a plain read gives: inside and at the edges of each segment, in
// a segment's zero-filled tail, in a segment too short for the fast path, and outside all.
TEST(TableReader, LongStretchesOfAnImageReadAsTheirBytes) {
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  std::vector<std::byte> file(4 * kMiB);
  for (size_t i = 0; i + 8 <= file.size(); i += 8) {
    const uint64_t word = 0x5a5a000000000000ull ^ (i * 0x9e3779b97f4a7c15ull);
    std::memcpy(file.data() + i, &word, 8);
  }
  auto mem = SegmentedMemory::create(file, {{PhysAddr(0x100000), 0, 2 * kMiB, 3 * kMiB},
                                            {PhysAddr(0x10000000), 2 * kMiB, kMiB + kMiB / 2, kMiB + kMiB / 2},
                                            {PhysAddr(0x20000000), 3 * kMiB + kMiB / 2, 8192, 8192}});
  ASSERT_TRUE(mem) << mem.error();
  std::vector<uint64_t> probes;
  for (const auto& [base, size] : std::initializer_list<std::pair<uint64_t, uint64_t>>{
           {0x100000, 3 * kMiB}, {0x10000000, kMiB + kMiB / 2}, {0x20000000, 8192}}) {
    for (uint64_t off : {uint64_t{0}, uint64_t{8}, uint64_t{4096}, size / 2, 2 * kMiB - 8, 2 * kMiB, size - 8, size})
      if (off <= size) probes.push_back(base + off);
    probes.push_back(base - 8);
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) probes.push_back(0x100000 + (rng() % (3 * kMiB)) / 8 * 8);
  for (int i = 0; i < 2000; ++i) probes.push_back(0x10000000 + (rng() % (kMiB + kMiB / 2)) / 8 * 8);

  TableReader cached(**mem);
  for (const unsigned bytes : {8u, 4u}) {
    for (const uint64_t pa : probes) {
      std::byte want[8]{};
      const bool readable = (*mem)->read(PhysAddr(pa), {want, bytes}).has_value();
      const auto got = cached.entry(PhysAddr(pa), bytes, static_cast<unsigned>(pa % 4));
      ASSERT_EQ(got.has_value(), readable) << std::hex << pa;
      if (readable) {
        EXPECT_EQ(*got, TableReader::load(want, bytes)) << std::hex << pa;
      } else {
        EXPECT_EQ(got.error().addr.value(), pa) << std::hex << pa;
      }
    }
  }
}

}  // namespace
}  // namespace pagewalk
