// Setting the kernel's walk (as the pagewalk module reports it: five levels, folded ones
// repeating the level above) beside pagewalk's walk of the same tables.
#include <gtest/gtest.h>

#include "arch/x86/x86_modes.hpp"
#include "core/walk.hpp"
#include "sources/synthetic.hpp"
#include "target/kernel_walk.hpp"

namespace pagewalk {
namespace {

constexpr const char* kNames[] = {"pgd", "p4d", "pud", "pmd", "pte"};

// What the module would report for a walk of these tables: the same entries, with the P4D
// folded into the PGD when the mode has four levels.
KmodWalk as_the_kernel_reports(const PagingMode& mode, const Translation& t) {
  KmodWalk k;
  k.va = t.va.value();
  k.root = t.steps[0].table;
  for (unsigned i = 0; i < t.nsteps; ++i) {
    const Step& s = t.steps[i];
    const std::string_view name = mode.levels[s.level].linux_name;
    if (name == "pud" && mode.level_count() == 4) {
      KmodLevel folded = k.levels.back();
      folded.name = "p4d";
      folded.folded = true;
      k.levels.push_back(folded);
    }
    for (const char* n : kNames)
      if (name == n) k.levels.push_back({n, s.table.value(), s.entry_addr.value(), s.raw, s.index, false, false});
  }
  k.mapped = t.mapped();
  k.pa = t.pa.value();
  k.page_size = t.page_size;
  return k;
}

class KernelWalkTest : public ::testing::TestWithParam<const PagingMode*> {
 protected:
  const PagingMode& mode = *GetParam();
  SyntheticMemory mem;
  TableBuilder tables{mem, mode, PhysAddr(0x100000)};
  TableReader reader{mem};
  Paging paging{&mode, {}};

  Translation go(uint64_t va) { return walk(paging, reader, tables.root(), VirtAddr(va)); }
};

TEST_P(KernelWalkTest, TheSameEntriesAgreeLevelForLevel) {
  tables.map(VirtAddr(0x7f0000123000), PhysAddr(0x1422c5000), 4096, 0x8000000000000007ull);
  const Translation t = go(0x7f0000123456);
  ASSERT_TRUE(t.mapped());
  const KmodWalk k = as_the_kernel_reports(mode, t);
  EXPECT_EQ(k.levels.size(), 5u);  // the module's five, P4D folded or not
  EXPECT_TRUE(target::compare_walks(paging, t, k).empty());
}

TEST_P(KernelWalkTest, AnEntryThatChangedIsNamedByLevel) {
  tables.map(VirtAddr(0x7f0000123000), PhysAddr(0x1422c5000), 4096, 0x7);
  const Translation t = go(0x7f0000123456);
  KmodWalk k = as_the_kernel_reports(mode, t);
  for (KmodLevel& l : k.levels)
    if (std::string_view(l.name) == "pmd") l.value ^= 0x20;  // the accessed bit, set since
  const auto d = target::compare_walks(paging, t, k);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].find("pmd entry at 0x"), std::string::npos) << d[0];
}

TEST_P(KernelWalkTest, AnotherFrameOrPageSizeIsADisagreement) {
  tables.map(VirtAddr(0x40000000), PhysAddr(0x200000), 0x200000, 0x7);
  const Translation t = go(0x40001000);
  ASSERT_EQ(t.page_size, 0x200000u);
  KmodWalk k = as_the_kernel_reports(mode, t);
  k.pa &= ~uint64_t{0xfff};  // as if the kernel had masked a 4 KiB page's offset
  k.page_size = 4096;
  const auto d = target::compare_walks(paging, t, k);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].find("0x1000-byte page"), std::string::npos) << d[0];
}

TEST_P(KernelWalkTest, PresentAgainstNotPresent) {
  tables.map(VirtAddr(0x1000), PhysAddr(0x5000), 4096, 0x7);
  const Translation t = go(0x2000);  // the same PTE table, an empty entry
  ASSERT_FALSE(t.mapped());
  KmodWalk k = as_the_kernel_reports(mode, t);
  EXPECT_TRUE(target::compare_walks(paging, t, k).empty());
  k.mapped = true;
  k.pa = 0x5000;
  k.page_size = 4096;
  const auto d = target::compare_walks(paging, t, k);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].find("the kernel says present"), std::string::npos) << d[0];
}

TEST_P(KernelWalkTest, AShorterWalkIsNamed) {
  tables.map(VirtAddr(0x1000), PhysAddr(0x5000), 4096, 0x7);
  const Translation t = go(0x1000);
  KmodWalk k = as_the_kernel_reports(mode, t);
  k.levels.pop_back();  // the kernel stopped at the PMD
  k.mapped = false;
  const auto d = target::compare_walks(paging, t, k);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NE(d[0].find("level(s), the kernel"), std::string::npos) << d[0];
  EXPECT_NE(d[1].find("the kernel says not present"), std::string::npos) << d[1];
}

INSTANTIATE_TEST_SUITE_P(X86_64, KernelWalkTest, ::testing::Values(&kX86_64_4Level, &kX86_64_5Level),
                         [](const auto& p) { return p.param->level_count() == 4 ? "FourLevel" : "FiveLevel"; });

}  // namespace
}  // namespace pagewalk
