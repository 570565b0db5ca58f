// Linux on 32-bit x86 (linux/i386.cpp): discovery from a PAE kernel's VMCOREINFO, __pa/__va
// over lowmem as the kernel's own tables map it, FLATMEM's mem_map rule, and the layout.
// Shaped like Debian's 6.1 686-pae kernel under QEMU: swapper_pg_dir in lowmem,
// CONFIG_X86_PAE=y, SIZE(page)=40, mem_map a pointer of 4 bytes.
#include <gtest/gtest.h>
#include <fmt/format.h>

#include <span>
#include <string>

#include "arch/x86/x86_arch.hpp"
#include "arch/x86/x86_modes.hpp"
#include "core/cpu_state.hpp"
#include "linux/i386.hpp"
#include "linux/kernel.hpp"
#include "linux/linux_arch.hpp"
#include "linux/symbols.hpp"
#include "linux/tasks.hpp"
#include "linux/vmas.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk::linux_kernel {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kLowmem = 128 * kMiB;                 // RAM the direct map covers
constexpr uint64_t kSwapperPgDir = 0xc4ea6000;           // SYMBOL(swapper_pg_dir)
constexpr uint64_t kMemMapSymbol = 0xc4eeea64;           // SYMBOL(mem_map): where the pointer is
constexpr uint64_t kMemMap = 0xc3f00000;                 // the pointer's value: the array
constexpr uint64_t kVmcoreinfoPa = 0x11d4000;

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

struct PaeKernel {
  SyntheticMemory mem;
  TableBuilder tables{mem, kX86Pae, PhysAddr(0x5000000), PhysAddr(kSwapperPgDir - kI386PageOffset)};
  PaeKernel() {
    for (uint64_t o = 0; o < kLowmem; o += 2 * kMiB)
      tables.map(VirtAddr(kI386PageOffset + o), PhysAddr(o), 2 * kMiB, 0x63, 0x63);
    const std::string vi = fmt::format(
        "OSRELEASE=6.1.0-test-686-pae\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)={:x}\nSYMBOL(mem_map)={:x}\n"
        "SIZE(page)=40\nCONFIG_X86_PAE=y\n",
        kSwapperPgDir, kMemMapSymbol);
    mem.write(PhysAddr(kVmcoreinfoPa), bytes_of(vi + '\0'));
    const uint32_t mem_map = kMemMap;
    mem.write(PhysAddr(kMemMapSymbol - kI386PageOffset), std::as_bytes(std::span(&mem_map, 1)));
    // The word after the pointer: read as part of it, it would shift mem_map by 2^32.
    const uint32_t next = 0xdeadbeef;
    mem.write(PhysAddr(kMemMapSymbol - kI386PageOffset + 4), std::as_bytes(std::span(&next, 1)));
  }
  KernelInputs inputs() {
    KernelInputs in;
    in.memory = &mem;
    return in;
  }
  template <typename T>
  void put(uint64_t va, T v) {  // a lowmem VA, through the direct map
    mem.write(PhysAddr(va - kI386PageOffset), std::as_bytes(std::span(&v, 1)));
  }
};

// A CPU as QEMU's dump note gives it: 32-bit protected mode with PAE, the IDTR at
// CPU_ENTRY_AREA_BASE (Debian's 686-pae kernel: 0xff400000).
CpuState pae_cpu(uint64_t idtr) {
  CpuState c;
  c.arch = "x86";
  c.set(x86::CpuRegisterNames::kCr0, 0x80050033);
  c.set(x86::CpuRegisterNames::kCr3, kSwapperPgDir - kI386PageOffset);
  c.set(x86::CpuRegisterNames::kCr4, 0x6f0);
  c.set(x86::CpuRegisterNames::kIdtBase, idtr);
  return c;
}

TEST(LinuxI386, DiscoversAPaeKernelFromItsVmcoreinfo) {
  PaeKernel m;
  auto k = LinuxKernel::discover(m.inputs());
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ((*k)->arch->name(), "i386");
  EXPECT_EQ((*k)->paging.mode, &kX86Pae);
  EXPECT_EQ((*k)->mode_source, "VMCOREINFO CONFIG_X86_PAE");
  EXPECT_EQ((*k)->kernel_pgd.value(), kSwapperPgDir - kI386PageOffset);
  for (const std::string& w : (*k)->warnings)  // the PGD maps its own VA (no kallsyms here is all)
    EXPECT_EQ(w.find("PGD"), std::string::npos) << w;
  ASSERT_TRUE((*k)->page_offset_base);
  EXPECT_EQ((*k)->page_offset_base->value, kI386PageOffset);
  ASSERT_TRUE((*k)->lowmem_bytes);
  EXPECT_EQ(*(*k)->lowmem_bytes, kLowmem);
  ASSERT_TRUE((*k)->mem_map);
  EXPECT_EQ((*k)->mem_map->value, kMemMap);  // 4 bytes, not 8
  EXPECT_EQ((*k)->struct_page_size, 40u);
}

TEST(LinuxI386, PaAndVaCoverLowmemOnly) {
  PaeKernel m;
  auto k = LinuxKernel::discover(m.inputs());
  ASSERT_TRUE(k) << k.error();
  auto pa = (*k)->virt_to_phys(VirtAddr(0xc0123456));
  ASSERT_TRUE(pa) << pa.error();
  EXPECT_EQ(pa->value(), 0x123456u);
  auto above = (*k)->virt_to_phys(VirtAddr(kI386PageOffset + kLowmem));
  ASSERT_FALSE(above);
  EXPECT_NE(above.error().find("above lowmem"), std::string::npos) << above.error();
  auto user = (*k)->virt_to_phys(VirtAddr(0x08048000));
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().find("below PAGE_OFFSET"), std::string::npos) << user.error();
  auto va = (*k)->phys_to_virt(PhysAddr(0x1000));
  ASSERT_TRUE(va) << va.error();
  EXPECT_EQ(va->value(), 0xc0001000u);
  auto high = (*k)->phys_to_virt(PhysAddr(kLowmem));
  ASSERT_FALSE(high);
  EXPECT_NE(high.error().find("kmap"), std::string::npos) << high.error();
}

// FLATMEM (include/asm-generic/memory_model.h): mem_map + (pfn - ARCH_PFN_OFFSET), 0 on x86.
TEST(LinuxI386, FlatmemPfnAndStructPage) {
  PaeKernel m;
  auto k = LinuxKernel::discover(m.inputs());
  ASSERT_TRUE(k) << k.error();
  auto page = (*k)->pfn_to_page(Pfn(0x1234));
  ASSERT_TRUE(page) << page.error();
  EXPECT_EQ(page->value(), kMemMap + 0x1234 * 40);
  auto pfn = (*k)->page_to_pfn(*page);
  ASSERT_TRUE(pfn) << pfn.error();
  EXPECT_EQ(pfn->value(), 0x1234u);
  auto ragged = (*k)->page_to_pfn(VirtAddr(kMemMap + 20));
  ASSERT_FALSE(ragged);
  EXPECT_NE(ragged.error().find("not a struct page address"), std::string::npos) << ragged.error();
}

TEST(LinuxI386, LayoutFromTheKernelsTables) {
  PaeKernel m;
  auto k = LinuxKernel::discover(m.inputs());
  ASSERT_TRUE(k) << k.error();
  auto l = (*k)->layout();
  ASSERT_TRUE(l) << l.error();
  ASSERT_FALSE(l->empty());
  EXPECT_EQ(l->front().start, 0u);
  EXPECT_EQ(l->back().last, ~uint64_t{0});
  for (size_t i = 1; i < l->size(); ++i) EXPECT_EQ((*l)[i].start, (*l)[i - 1].last + 1) << (*l)[i].name;
  EXPECT_EQ(classify(*l, 0xbfffffff).kind, RegionKind::User);
  EXPECT_EQ(classify(*l, kI386PageOffset).kind, RegionKind::DirectMap);
  EXPECT_EQ(classify(*l, kI386PageOffset + kLowmem - 1).kind, RegionKind::DirectMap);
  EXPECT_EQ(classify(*l, kI386PageOffset + kLowmem).kind, RegionKind::Vmalloc);
  EXPECT_EQ(classify(*l, 0xfffff000).kind, RegionKind::Vmalloc);
  EXPECT_EQ(classify(*l, uint64_t{1} << 32).kind, RegionKind::NonCanonical);
}

// pgtable_32_areas.h below CPU_ENTRY_AREA_BASE, one PMD (2 MiB under PAE) each: the LDT
// remap, pkmap, then VMALLOC_END two pages lower; VMALLOC_START 8 MiB above high_memory.
// The numbers are those of Debian's 686-pae kernel in a 512 MiB guest, with lowmem cut
// to this machine's 128 MiB.
TEST(LinuxI386, TheLayoutHangsBelowTheCpuEntryArea) {
  PaeKernel m;
  KernelInputs in = m.inputs();
  in.cpus.push_back(pae_cpu(0xff400000));
  auto k = LinuxKernel::discover(in);
  ASSERT_TRUE(k) << k.error();
  ASSERT_TRUE((*k)->cpu_entry_area);
  EXPECT_EQ((*k)->cpu_entry_area->value, 0xff400000u);
  auto l = (*k)->layout();
  ASSERT_TRUE(l) << l.error();
  for (size_t i = 1; i < l->size(); ++i) EXPECT_EQ((*l)[i].start, (*l)[i - 1].last + 1) << (*l)[i].name;
  const uint64_t high_memory = kI386PageOffset + kLowmem;
  EXPECT_EQ(classify(*l, high_memory).kind, RegionKind::GuardHole);
  EXPECT_EQ(classify(*l, high_memory + 8 * kMiB - 1).kind, RegionKind::GuardHole);
  EXPECT_EQ(classify(*l, high_memory + 8 * kMiB).kind, RegionKind::Vmalloc);
  EXPECT_EQ(classify(*l, 0xfeffdfff).kind, RegionKind::Vmalloc);
  EXPECT_EQ(classify(*l, 0xfeffe000).kind, RegionKind::GuardHole);
  EXPECT_EQ(classify(*l, 0xff000000).kind, RegionKind::Pkmap);
  EXPECT_EQ(classify(*l, 0xff1fffff).kind, RegionKind::Pkmap);
  EXPECT_EQ(classify(*l, 0xff200000).kind, RegionKind::LdtRemap);
  EXPECT_EQ(classify(*l, 0xff400000).kind, RegionKind::CpuEntryArea);
  EXPECT_EQ(classify(*l, 0xfffff000).kind, RegionKind::CpuEntryArea);
  // An IDTR that is no PMD-aligned kernel address says nothing: the one region stays.
  in.cpus = {pae_cpu(0xff401000)};
  auto k2 = LinuxKernel::discover(in);
  ASSERT_TRUE(k2) << k2.error();
  EXPECT_FALSE((*k2)->cpu_entry_area);
  auto l2 = (*k2)->layout();
  ASSERT_TRUE(l2) << l2.error();
  EXPECT_EQ(classify(*l2, 0xff000000).kind, RegionKind::Vmalloc);
}

// A 32-bit kernel's maple tree (include/linux/maple_tree.h): 4-byte pivots and slots, 32
// slots in a leaf (MAPLE_RANGE64_SLOTS) and 21 in an allocation node; VMAs of 4-byte
// members.
TEST(LinuxI386, VmasFromAMapleTreeOfFourByteWords) {
  PaeKernel m;
  auto k = LinuxKernel::discover(m.inputs());
  ASSERT_TRUE(k) << k.error();
  TaskLayout l;
  l.mm_mt = 0x0;
  l.mt_root = 0x4;
  l.vma_start = 0x0;
  l.vma_end = 0x4;
  l.vma_flags = 0x10;
  l.vma_pgoff = 0x14;
  l.vma_file = 0x18;
  constexpr uint64_t kMm = 0xc0310000, kRoot = 0xc0320000, kLeafA = kRoot + 0x100, kLeafB = kRoot + 0x200;
  constexpr uint64_t kVma1 = 0xc0330000, kVma2 = kVma1 + 0x40, kMax = 0xffffffff;
  auto enode = [](uint64_t node, uint32_t type) { return static_cast<uint32_t>(node | type << 3 | 4); };
  auto vma = [&](uint64_t at, uint32_t start, uint32_t end, uint32_t flags) {
    m.put<uint32_t>(at + 0x0, start);
    m.put<uint32_t>(at + 0x4, end);
    m.put<uint32_t>(at + 0x10, flags);
    m.put<uint32_t>(at + 0x14, 0);
    m.put<uint32_t>(at + 0x18, 0);
  };
  vma(kVma1, 0x08048000, 0x08049000, 0x5);
  vma(kVma2, 0xbfae1000, 0xbfb02000, 0x3);
  m.put<uint32_t>(kMm + 0x4, enode(kRoot, 3) | 2);  // a root: maple_arange_64
  auto node = [&](uint64_t at, std::vector<uint32_t> pivots, std::vector<uint32_t> slots, unsigned slot_word) {
    for (size_t i = 0; i < pivots.size(); ++i) m.put<uint32_t>(at + 4 * (1 + i), pivots[i]);
    for (size_t i = 0; i < slots.size(); ++i) m.put<uint32_t>(at + 4 * (slot_word + i), slots[i]);
  };
  node(kRoot, {0x0fffffff, kMax}, {enode(kLeafA, 1), enode(kLeafB, 1)}, 21);
  node(kLeafA, {0x08047fff, 0x08048fff, 0x0fffffff}, {0, static_cast<uint32_t>(kVma1), 0}, 32);
  node(kLeafB, {0xbfae0fff, 0xbfb01fff, kMax}, {0, static_cast<uint32_t>(kVma2), 0}, 32);
  Task t;
  t.pid = 99;
  t.comm = "hello-mm";
  t.mm = kMm;
  auto list = list_vmas(**k, l, t);
  ASSERT_TRUE(list) << list.error();
  EXPECT_TRUE(list->warnings.empty()) << (list->warnings.empty() ? "" : list->warnings.front());
  ASSERT_EQ(list->vmas.size(), 2u);
  EXPECT_EQ(list->vmas[0].start, 0x08048000u);
  EXPECT_EQ(list->vmas[0].perms(), "r-xp");
  EXPECT_EQ(list->vmas[1].end, 0xbfb02000u);
}

// --vmlinux's own symbols complete a kallsyms of text only: slid by the KASLR offset, and
// refused when the vmlinux is another build's.
TEST(LinuxI386, VmlinuxSymbolsFillWhatKallsymsLacks) {
  PaeKernel m;
  constexpr uint64_t kSlide = 0x4000000;
  KernelInputs in = m.inputs();
  in.symbol_text = fmt::format("{:x} T _text\n{:x} T _stext\n", kI386PageOffset + kI386PhysicalStart + kSlide,
                               kI386PageOffset + kI386PhysicalStart + kSlide);
  in.symbol_text_name = "kallsyms";
  VmlinuxSymbols file;
  file.table.add("_stext", kI386PageOffset + kI386PhysicalStart);
  file.table.add("init_task", 0xc1c694c0);
  file.table.seal();
  in.link_symbols = file;
  in.link_symbols_name = "vmlinux";
  auto k = LinuxKernel::discover(in);
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ((*k)->symbol("init_task"), 0xc1c694c0 + kSlide);
  EXPECT_EQ((*k)->symbols_source, "kallsyms and vmlinux");
  // Another build: its _stext lands elsewhere once slid.
  in.link_symbols->table = SymbolTable();
  in.link_symbols->table.add("_stext", kI386PageOffset + kI386PhysicalStart + 0x1000);
  in.link_symbols->table.seal();
  auto other = LinuxKernel::discover(in);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().find("another build"), std::string::npos) << other.error();
}

// Which rules a kernel of unknown mode follows: a 32-bit CPU's, or a PAE kernel's
// VMCOREINFO, say i386; a CPU in long mode, or nothing, x86-64.
TEST(LinuxI386, TheArchitectureFollowsTheCpuAndVmcoreinfo) {
  CpuState legacy;
  legacy.arch = "x86";
  legacy.set(x86::CpuRegisterNames::kCr0, 0x80050033);
  legacy.set(x86::CpuRegisterNames::kCr3, 0x13d5000);
  legacy.set(x86::CpuRegisterNames::kCr4, 0x6f0);
  legacy.set(x86::CpuRegisterNames::kEfer, 0x800);
  EXPECT_EQ(linux_arch_of(nullptr, std::span(&legacy, 1)).name(), "i386");
  CpuState long_mode = legacy;
  long_mode.set(x86::CpuRegisterNames::kEfer, 0xd01);
  EXPECT_EQ(linux_arch_of(nullptr, std::span(&long_mode, 1)).name(), "x86-64");
  EXPECT_EQ(linux_arch_of(nullptr, {}).name(), "x86-64");
  EXPECT_EQ(linux_arch_for(&kX86Pae).name(), "i386");
  EXPECT_EQ(linux_arch_for(&kX86_32).name(), "i386");
  EXPECT_EQ(linux_arch_for(&kX86_64_4Level).name(), "x86-64");
  // The fixed layout of a 32-bit mode, with no image: user space, then the kernel's.
  auto fixed = linux_arch_for(&kX86_32).layout(nullptr, kX86_32);
  ASSERT_TRUE(fixed) << fixed.error();
  EXPECT_EQ(classify(*fixed, 0xc0000000).kind, RegionKind::DirectMap);
}

}  // namespace
}  // namespace pagewalk::linux_kernel
