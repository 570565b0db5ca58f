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
};

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
