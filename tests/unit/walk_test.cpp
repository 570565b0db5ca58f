// The walker over in-memory tables, one test body stamped out for every paging mode.
// SyntheticMemory fails any read of a page nobody wrote, so a walk that strays is caught.
#include <gtest/gtest.h>

#include "core/walk.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk {
namespace {

template <const PagingMode* M>
struct ModeParam {
  static const PagingMode& mode() { return *M; }
};

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

using Modes = ::testing::Types<ModeParam<&kX86_64_4Level>, ModeParam<&kX86_64_5Level>, ModeParam<&kX86Pae>,
                               ModeParam<&kX86_32>>;
TYPED_TEST_SUITE(WalkTest, Modes);

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
  EXPECT_TRUE(t.perms.write);
  EXPECT_TRUE(t.perms.user);
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
  EXPECT_FALSE(t.perms.write);
  EXPECT_TRUE(t.perms.user);
}

TYPED_TEST(WalkTest, OutsideTheAddressSpace) {
  const uint64_t bad = this->mode.va_bits == 32 ? 0x100000000ull
                       : this->mode.va_bits == 48 ? 0x0000800000000000ull
                                                  : 0x0100000000000000ull;
  const Translation t = this->go(bad);
  EXPECT_EQ(t.status, Status::NonCanonical);
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

}  // namespace
}  // namespace pagewalk
