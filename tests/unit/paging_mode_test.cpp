#include <gtest/gtest.h>

#include "arch/registry.hpp"

#include "arch/x86/x86_arch.hpp"
#include "arch/x86/x86_modes.hpp"
#include "core/paging_mode.hpp"

namespace pagewalk {
namespace {

TEST(PagingMode, ArticleAddressSplits) {
  // 0x5614df8812a0 -> 0xac, 0x53, 0xfc, 0x81 and offset 0x2a0 (the QEMU article).
  const VirtAddr va(0x5614df8812a0);
  const PagingMode& m = kX86_64_4Level;
  EXPECT_EQ(m.index(va, 0), 0xacu);
  EXPECT_EQ(m.index(va, 1), 0x53u);
  EXPECT_EQ(m.index(va, 2), 0xfcu);
  EXPECT_EQ(m.index(va, 3), 0x81u);
  EXPECT_EQ(m.page_offset(va), 0x2a0u);
  // The first article: 0x5651b590c2a0 -> 172, 326, 428, 268.
  const VirtAddr va2(0x5651b590c2a0);
  EXPECT_EQ(m.index(va2, 0), 172u);
  EXPECT_EQ(m.index(va2, 1), 326u);
  EXPECT_EQ(m.index(va2, 2), 428u);
  EXPECT_EQ(m.index(va2, 3), 268u);
}

TEST(PagingMode, KernelNamesFourLevel) {
  const auto l = kX86_64_4Level.linux_levels();
  EXPECT_EQ(l[0].shift, 39u);  // PGDIR_SHIFT
  EXPECT_EQ(l[1].shift, 39u);  // P4D_SHIFT: folded into the PGD
  EXPECT_TRUE(l[1].folded);
  EXPECT_EQ(l[1].ptrs_per, 1u);
  EXPECT_EQ(l[2].shift, 30u);
  EXPECT_EQ(l[3].shift, 21u);
  EXPECT_EQ(l[4].shift, 12u);
  for (unsigned i : {0u, 2u, 3u, 4u}) EXPECT_EQ(l[i].ptrs_per, 512u);
}

TEST(PagingMode, KernelNamesOtherModes) {
  auto l = kX86_64_5Level.linux_levels();
  EXPECT_EQ(l[0].shift, 48u);
  EXPECT_EQ(l[1].shift, 39u);
  EXPECT_EQ(l[1].ptrs_per, 512u);
  l = kX86Pae.linux_levels();
  EXPECT_EQ(l[0].shift, 30u);
  EXPECT_EQ(l[0].ptrs_per, 4u);
  EXPECT_TRUE(l[2].folded);
  EXPECT_EQ(l[2].shift, 30u);
  EXPECT_EQ(l[3].shift, 21u);
  l = kX86_32.linux_levels();
  EXPECT_EQ(l[0].shift, 22u);
  EXPECT_EQ(l[0].ptrs_per, 1024u);
  EXPECT_TRUE(l[3].folded);
  EXPECT_EQ(l[3].shift, 22u);  // PMD_SHIFT == PGDIR_SHIFT when the pmd is folded
  EXPECT_EQ(l[4].ptrs_per, 1024u);
}

// x86-64's two canonical halves are the mode's two regions, both under the one CR3.
TEST(PagingMode, RegionsAreTheCanonicalHalves) {
  const PagingMode& m4 = kX86_64_4Level;
  EXPECT_TRUE(m4.in_space(VirtAddr(0x00007fffffffffff)));
  EXPECT_FALSE(m4.in_space(VirtAddr(0x0000800000000000)));
  EXPECT_FALSE(m4.in_space(VirtAddr(0xffff7fffffffffff)));
  EXPECT_TRUE(m4.in_space(VirtAddr(0xffff800000000000)));
  EXPECT_EQ(m4.region_of(VirtAddr(0xffff888000000000)), &m4.regions[1]);
  EXPECT_EQ(m4.regions[1].root, m4.regions[0].root);
  EXPECT_EQ(m4.root_count(), 1u);
  const PagingMode& m5 = kX86_64_5Level;
  EXPECT_TRUE(m5.in_space(VirtAddr(0x0000800000000000)));
  EXPECT_TRUE(m5.in_space(VirtAddr(0xff11000000000000)));
  EXPECT_FALSE(m5.in_space(VirtAddr(0x0100000000000000)));
  EXPECT_TRUE(kX86_32.in_space(VirtAddr(0xffffffff)));
  EXPECT_FALSE(kX86Pae.in_space(VirtAddr(0x100000000)));
  // The upper half's tree addresses are its low 48 bits.
  EXPECT_EQ(m4.tree_address(VirtAddr(0xffff800000000000)), 0x0000800000000000u);
}

TEST(PagingMode, FromRegisters) {
  EXPECT_EQ(x86::mode_from_registers(0x80050033, 0x3006f0, true), &kX86_64_4Level);
  EXPECT_EQ(x86::mode_from_registers(0x80050033, 0x3016f0, true), &kX86_64_5Level);
  EXPECT_EQ(x86::mode_from_registers(0x80050033, 0x20, false), &kX86Pae);
  EXPECT_EQ(x86::mode_from_registers(0x80050033, 0x10, false), &kX86_32);
  EXPECT_EQ(x86::mode_from_registers(0x11, 0x20, false), nullptr);
  const Architecture& x = x86::architecture();
  EXPECT_EQ(x.root_from_register(kX86_64_4Level, 0x80000001b60a0805).value(), 0x1b60a0000u);  // PCID bits dropped
  EXPECT_EQ(x.root_from_register(kX86Pae, 0x12345fe0).value(), 0x12345fe0u);
  EXPECT_EQ(x.root_from_register(kX86_32, 0x12345fe0).value(), 0x12345000u);
}

TEST(PagingMode, Lookup) {
  for (const PagingMode* m : arch::all_modes()) EXPECT_EQ(arch::find_mode(m->name), m);
  EXPECT_EQ(arch::find_mode("x86-64-4level"), &kX86_64_4Level);
  EXPECT_EQ(arch::find_mode("nope"), nullptr);
}

}  // namespace
}  // namespace pagewalk
