// arm64 Linux: the layout of each era of arch/arm64/include/asm/memory.h, checked on the
// numbers a real kernel gives (Debian's 6.1 arm64 kernel's VMCOREINFO, read off the e2e
// guest) and on those the formulas of 4.19 and 5.10 give for their usual configurations.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "arch/registry.hpp"
#include "linux/arm64.hpp"
#include "linux/linux_arch.hpp"
#include "linux/vmcoreinfo.hpp"

namespace pagewalk::linux_kernel {
namespace {

std::map<RegionKind, std::pair<uint64_t, uint64_t>> first_of_each(const std::vector<Region>& regions) {
  std::map<RegionKind, std::pair<uint64_t, uint64_t>> out;
  for (const Region& r : regions) out.emplace(r.kind, std::pair{r.start, r.last});
  return out;
}

void expect_covers_everything(const std::vector<Region>& regions) {
  ASSERT_FALSE(regions.empty());
  EXPECT_EQ(regions.front().start, 0u);
  EXPECT_EQ(regions.back().last, ~uint64_t{0});
  for (size_t i = 1; i < regions.size(); ++i) EXPECT_EQ(regions[i].start, regions[i - 1].last + 1) << regions[i].name;
}

TEST(LinuxArm64, VmcoreinfoNumbersInHexAndDecimal) {
  const VmcoreInfo vi = VmcoreInfo::parse(
      "OSRELEASE=6.1.0-57-arm64\nNUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)=0xffffa97477c00000\n"
      "NUMBER(PHYS_OFFSET)=0x40000000\nNUMBER(TCR_EL1_T1SZ)=0x10\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n"
      "NUMBER(bad)=0xzz\n");
  EXPECT_EQ(vi.number("VA_BITS"), 48);
  EXPECT_EQ(vi.unsigned_number("kimage_voffset"), 0xffffa97477c00000u);
  EXPECT_EQ(vi.unsigned_number("PHYS_OFFSET"), 0x40000000u);
  EXPECT_EQ(vi.number("TCR_EL1_T1SZ"), 16);
  EXPECT_EQ(vi.number("PAGE_BUDDY_MAPCOUNT_VALUE"), -129);
  EXPECT_FALSE(vi.number("bad"));
  // Only arm64 writes kimage_voffset: its rules follow.
  EXPECT_EQ(linux_arch_of(&vi, {}).name(), "arm64");
}

TEST(LinuxArm64, ReleasesPickTheirEra) {
  EXPECT_EQ(arm64_release("4.19.0-27-arm64").era, Arm64Era::Before54);
  EXPECT_FALSE(arm64_release("4.19.0-27-arm64").bpf_region);
  EXPECT_TRUE(arm64_release("5.0.1").bpf_region);
  EXPECT_EQ(arm64_release("5.4.0").era, Arm64Era::Flipped54);
  EXPECT_EQ(arm64_release("5.10.0-28-arm64").era, Arm64Era::Flipped54);
  EXPECT_EQ(arm64_release("5.11.0").era, Arm64Era::Since511);
  EXPECT_TRUE(arm64_release("5.15.0").bpf_region);
  EXPECT_FALSE(arm64_release("6.1.0-57-arm64").bpf_region);
  EXPECT_EQ(arm64_release("6.1.0-57-arm64").modules_vsize, uint64_t{128} << 20);
  EXPECT_EQ(arm64_release("6.6.9").modules_vsize, uint64_t{2} << 30);
  EXPECT_EQ(arm64_release("not a release").era, Arm64Era::Since511);
}

// Debian 6.1, VA_BITS=48, 4 KiB pages: memory.h's formulas give what its VMCOREINFO says
// (MODULES_VADDR 0xffff800000000000, MODULES_END = VMALLOC_START 0xffff800008000000,
// VMALLOC_END 0xfffffbfff0000000, VMEMMAP 0xfffffc0000000000..0xfffffe0000000000).
TEST(LinuxArm64, TheFormulasOf61GiveWhatItsVmcoreinfoSays) {
  Arm64LayoutParams p;
  p.release = arm64_release("6.1.0-57-arm64");
  const auto regions = arm64_layout(p);
  expect_covers_everything(regions);
  const auto at = first_of_each(regions);
  EXPECT_EQ(at.at(RegionKind::DirectMap), std::pair(0xffff000000000000u, 0xffff7fffffffffffu));
  EXPECT_EQ(at.at(RegionKind::Modules), std::pair(0xffff800000000000u, 0xffff800007ffffffu));
  EXPECT_EQ(at.at(RegionKind::Vmalloc), std::pair(0xffff800008000000u, 0xfffffbffefffffffu));
  EXPECT_EQ(at.at(RegionKind::Fixmap).second + 1, 0xfffffbfffe000000u);  // FIXADDR_TOP
  EXPECT_EQ(at.at(RegionKind::PciIo), std::pair(0xfffffbfffe800000u, 0xfffffbffff7fffffu));
  EXPECT_EQ(at.at(RegionKind::Vmemmap), std::pair(0xfffffc0000000000u, 0xfffffdffffffffffu));
  // The kernel's own numbers win, and the image is carved out of vmalloc.
  p.vmalloc_end = 0xfffffbff00000000;
  p.image_start = 0xffffa974b7e00000;
  p.image_end = 0xffffa974b9e10000;
  const auto carved = first_of_each(arm64_layout(p));
  EXPECT_EQ(carved.at(RegionKind::KernelText), std::pair(0xffffa974b7e00000u, 0xffffa974b9e0ffffu));
  EXPECT_EQ(carved.at(RegionKind::Fixmap).first, 0xfffffbff00000000u);
}

// 5.10 (flipped, BPF region, vmemmap hanging below the top): 48-bit VAs.
TEST(LinuxArm64, TheFlippedLayoutOf510) {
  Arm64LayoutParams p;
  p.release = arm64_release("5.10.0-28-arm64");
  const auto regions = arm64_layout(p);
  expect_covers_everything(regions);
  std::vector<const Region*> modules;
  for (const Region& r : regions)
    if (r.kind == RegionKind::Modules) modules.push_back(&r);
  ASSERT_EQ(modules.size(), 2u);  // the BPF JIT region, then the modules
  EXPECT_EQ(modules[0]->start, 0xffff800000000000u);
  EXPECT_EQ(modules[1]->start, 0xffff800008000000u);
  const auto at = first_of_each(regions);
  EXPECT_EQ(at.at(RegionKind::Vmalloc).first, 0xffff800010000000u);  // KIMAGE_VADDR
  EXPECT_EQ(at.at(RegionKind::Vmalloc).second + 1, 0xfffffdffbfff0000u);
  EXPECT_EQ(at.at(RegionKind::Vmemmap).first, 0xfffffdffffe00000u);
}

// Before 5.4: the article's VA_BITS=39 kernel, PAGE_OFFSET 0xffffffc000000000, the linear
// map in the top half.
TEST(LinuxArm64, TheArticlesLayoutBefore54) {
  Arm64LayoutParams p;
  p.release = arm64_release("4.19.0");
  p.va_bits = 39;
  p.kernel_half = 0xffffff8000000000;
  p.user_last = 0x0000007fffffffff;
  p.phys_offset = 0x40000000;
  const auto regions = arm64_layout(p);
  expect_covers_everything(regions);
  const auto at = first_of_each(regions);
  EXPECT_EQ(at.at(RegionKind::DirectMap), std::pair(0xffffffc000000000u, ~uint64_t{0}));
  EXPECT_EQ(at.at(RegionKind::Modules).first, 0xffffff8000000000u);
  EXPECT_EQ(at.at(RegionKind::Vmalloc).second + 1, 0xffffffbebfff0000u);
  EXPECT_EQ(at.at(RegionKind::Vmemmap), std::pair(0xffffffbf00000000u, 0xffffffbfffffffffu));
  EXPECT_EQ(arm64_linear_bounds(Arm64Era::Before54, 39).first, 0xffffffc000000000u);
}

}  // namespace
}  // namespace pagewalk::linux_kernel
