// arm64 Linux: the layout of each era of arch/arm64/include/asm/memory.h, checked on the
// numbers a real kernel gives (Debian's 6.1 arm64 kernel's VMCOREINFO, read off the e2e
// guest) and on those the formulas of 4.19 and 5.10 give for their usual configurations.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <fmt/format.h>

#include "arch/registry.hpp"
#include "arch/arm64/arm64_modes.hpp"
#include "linux/arm64.hpp"
#include "linux/kernel.hpp"
#include "linux/linux_arch.hpp"
#include "linux/tasks.hpp"
#include "linux/vmcoreinfo.hpp"
#include "sources/synthetic.hpp"

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
  // pgtable.h's swap and PROT_NONE encodings: three generations.
  EXPECT_EQ(arm64_release("5.10.0-28-arm64").entry_flags, arm64::kLinuxBefore519);
  EXPECT_EQ(arm64_release("5.19.0").entry_flags, 0u);
  EXPECT_EQ(arm64_release("6.1.0-57-arm64").entry_flags, 0u);
  EXPECT_EQ(arm64_release("6.9.12").entry_flags, 0u);
  EXPECT_EQ(arm64_release("6.10.0").entry_flags, arm64::kLinuxSince610);
  EXPECT_EQ(arm64_release("6.12.48+deb13-arm64").entry_flags, arm64::kLinuxSince610);
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

// A synthetic arm64 kernel on the e2e guest's own numbers (Debian 6.1, 512 MiB at PA
// 0x40000000, KASLR): the linear map in 2 MiB blocks, the image at kimage_voffset with its
// init segment unmapped, VMCOREINFO as the ELF note carries it.
namespace synthetic {

constexpr uint64_t kPhysOffset = 0x40000000, kRam = uint64_t{64} << 20, kMiB2 = uint64_t{2} << 20;
constexpr uint64_t kKimageVoffset = 0xffffa97477c00000, kText = 0xffffa974b7e00000;
constexpr uint64_t kSwapperPgDir = 0xffffa974b9458000;  // PA 0x41858000
constexpr uint64_t kImageBytes = uint64_t{32} << 20;
constexpr uint64_t kBlock = 1 | 1 << 10;  // a valid block descriptor with AF

struct Arm64Kernel {
  SyntheticMemory mem;
  TableBuilder tables{mem, *arch::find_mode("arm64-4k-48"), PhysAddr(0x43000000), PhysAddr(kSwapperPgDir - kKimageVoffset)};
  Arm64Kernel() {
    for (uint64_t o = 0; o < kRam; o += kMiB2) tables.set_entry(VirtAddr(0xffff000000000000 + o), 2, (kPhysOffset + o) | kBlock);
    // The image, less one 2 MiB block in its middle (free_initmem's hole).
    for (uint64_t o = 0; o < kImageBytes; o += kMiB2)
      if (o != 16 * kMiB2 / 2) tables.set_entry(VirtAddr(kText + o), 2, (kText + o - kKimageVoffset) | kBlock);
  }
  KernelInputs inputs() const {
    KernelInputs in;
    in.memory = const_cast<SyntheticMemory*>(&mem);
    in.vmcoreinfo_note = fmt::format(
        "OSRELEASE=6.1.0-57-arm64\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)={:x}\nSYMBOL(_stext)={:x}\nSIZE(page)=64\n"
        "NUMBER(VA_BITS)=48\nNUMBER(MODULES_VADDR)=0xffff800000000000\nNUMBER(MODULES_END)=0xffff800008000000\n"
        "NUMBER(VMALLOC_START)=0xffff800008000000\nNUMBER(VMALLOC_END)=0xfffffbfff0000000\n"
        "NUMBER(VMEMMAP_START)=0xfffffc0000000000\nNUMBER(VMEMMAP_END)=0xfffffe0000000000\n"
        "NUMBER(kimage_voffset)=0x{:x}\nNUMBER(PHYS_OFFSET)=0x{:x}\nNUMBER(TCR_EL1_T1SZ)=0x10\nKERNELOFFSET=2974afe00000\n",
        kSwapperPgDir, kText + 0x10000, kKimageVoffset, kPhysOffset);
    return in;
  }
  template <typename T>
  void put(uint64_t image_va, T v) { mem.write(PhysAddr(image_va - kKimageVoffset), std::as_bytes(std::span(&v, 1))); }
};

}  // namespace synthetic

TEST(LinuxArm64, DiscoversTheKernelAndConvertsAsTheGuestDid) {
  using namespace synthetic;
  Arm64Kernel m;
  auto k = LinuxKernel::discover(m.inputs());
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ((*k)->arch->name(), "arm64");
  EXPECT_EQ((*k)->paging.mode->name, "arm64-4k-48");
  EXPECT_EQ((*k)->kernel_pgd.value(), 0x41858000u);
  EXPECT_EQ((*k)->paging.options.tagged_halves, 1u);  // Linux's TBI0
  ASSERT_TRUE((*k)->image_start && (*k)->image_end);
  EXPECT_EQ((*k)->image_start->value, kText + 0x10000);  // _stext: no kallsyms here
  EXPECT_EQ((*k)->image_end->value, kText + kImageBytes);  // past the unmapped init block
  // The dump's own kconv rows (kconv --image dump.elf --virt _stext --pfn 0x41ea0).
  auto pa = (*k)->virt_to_phys(VirtAddr(0xffff000001ea0000));
  ASSERT_TRUE(pa) << pa.error();
  EXPECT_EQ(pa->value(), 0x41ea0000u);
  auto image = (*k)->virt_to_phys(VirtAddr(kText + 0x10000));
  ASSERT_TRUE(image) << image.error();
  EXPECT_EQ(image->value(), 0x40210000u);
  auto va = (*k)->phys_to_virt(PhysAddr(0x41ea0000));
  ASSERT_TRUE(va) << va.error();
  EXPECT_EQ(va->value(), 0xffff000001ea0000u);
  auto page = (*k)->pfn_to_page(Pfn(0x41ea0));
  ASSERT_TRUE(page) << page.error();
  EXPECT_EQ(page->value(), 0xfffffc000007a800u);
  auto pfn = (*k)->page_to_pfn(VirtAddr(0xfffffc000007a800));
  ASSERT_TRUE(pfn) << pfn.error();
  EXPECT_EQ(pfn->value(), 0x41ea0u);
  // No __pa for vmalloc, no __va below PHYS_OFFSET.
  auto vmalloc = (*k)->virt_to_phys(VirtAddr(0xffff800010000000));
  ASSERT_FALSE(vmalloc);
  EXPECT_NE(vmalloc.error().find("no __pa"), std::string::npos) << vmalloc.error();
  auto low = (*k)->phys_to_virt(PhysAddr(0x1000));
  ASSERT_FALSE(low);
  EXPECT_NE(low.error().find("no __va"), std::string::npos) << low.error();
}

// FLATMEM (include/asm-generic/memory_model.h): mem_map + (pfn - ARCH_PFN_OFFSET), where
// ARCH_PFN_OFFSET is PHYS_PFN_OFFSET, PHYS_OFFSET's frame (arch/arm64/include/asm/memory.h).
TEST(LinuxArm64, FlatmemCountsFramesFromPhysOffset) {
  using namespace synthetic;
  Arm64Kernel m;
  const uint64_t mem_map_symbol = kText + 0x1d00000, mem_map = 0xffff000001000000;
  m.put(mem_map_symbol, mem_map);
  KernelInputs in = m.inputs();
  *in.vmcoreinfo_note += fmt::format("SYMBOL(mem_map)={:x}\n", mem_map_symbol);
  auto k = LinuxKernel::discover(in);
  ASSERT_TRUE(k) << k.error();
  ASSERT_TRUE((*k)->mem_map);
  EXPECT_FALSE((*k)->vmemmap_base);
  auto page = (*k)->pfn_to_page(Pfn(0x41ea0));
  ASSERT_TRUE(page) << page.error();
  EXPECT_EQ(page->value(), mem_map + (0x41ea0 - (kPhysOffset >> 12)) * 64);
  auto pfn = (*k)->page_to_pfn(*page);
  ASSERT_TRUE(pfn) << pfn.error();
  EXPECT_EQ(pfn->value(), 0x41ea0u);
}

// init_task where kallsyms holds text only: the image's task_struct named swapper/0 with pid
// 0, no mm, and a tasks list that links back; a look-alike with another pid is passed over.
TEST(LinuxArm64, InitTaskFoundInTheImage) {
  using namespace synthetic;
  Arm64Kernel m;
  TaskLayout l;
  l.task_tasks = 0x4a0;
  l.task_pid = 0x5a0;
  l.task_tgid = 0x5a4;
  l.task_comm = 0x758;
  l.task_mm = 0x4f0;
  const char comm[16] = "swapper/0";
  auto task_at = [&](uint64_t task, int32_t pid) {
    m.put(task + l.task_pid, pid);
    m.put(task + l.task_tgid, pid);
    m.put(task + l.task_mm, uint64_t{0});
    m.put(task + l.task_tasks, task + l.task_tasks);  // a list of one: next = prev = itself
    m.put(task + l.task_tasks + 8, task + l.task_tasks);
    m.mem.write(PhysAddr(task + l.task_comm - kKimageVoffset), std::as_bytes(std::span(comm)));
  };
  const uint64_t decoy = kText + 0x1000000, init_task = kText + 0x1cc8dc0;
  task_at(decoy, 7);
  task_at(init_task, 0);
  auto k = LinuxKernel::discover(m.inputs());
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ(find_init_task(**k, l), init_task);
  TaskList list = list_tasks(**k, l);
  ASSERT_EQ(list.tasks.size(), 1u) << (list.warnings.empty() ? "" : list.warnings.front());
  EXPECT_EQ(list.tasks[0].comm, "swapper/0");
}

}  // namespace
}  // namespace pagewalk::linux_kernel
