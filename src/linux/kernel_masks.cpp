// The kernel's page-table masks for any mode, as its headers compute them: PAGE_MASK and
// the PMD/PUD/PGDIR masks in the word size (include/asm-generic/page.h, pgtable types), and
// PTE_PFN_MASK from a sign-extended PAGE_MASK and __PHYSICAL_MASK (arch/x86/include/asm/
// pgtable_types.h): the architecture gives only __PHYSICAL_MASK_SHIFT.
#include "linux/linux_arch.hpp"

namespace pagewalk::linux_kernel {

KernelMasks kernel_masks(const PagingMode& mode) {
  const unsigned word = mode.word_bits, entry = mode.entry_bytes * 8u;
  const uint64_t word_mask = word >= 64 ? ~uint64_t{0} : (uint64_t{1} << word) - 1;
  const uint64_t entry_mask = entry >= 64 ? ~uint64_t{0} : (uint64_t{1} << entry) - 1;
  auto mask = [&](unsigned shift) { return ~((uint64_t{1} << shift) - 1) & word_mask; };
  const auto lv = mode.linux_levels();
  KernelMasks m{};
  m.page_mask = mask(mode.page_shift());
  m.pmd_mask = mask(lv[3].shift);
  m.pud_mask = mask(lv[2].shift);
  m.pgdir_mask = mask(lv[0].shift);
  // Without Linux rules for the architecture (arm64 so far): the mode's output address size,
  // as arm64's PHYS_MASK_SHIFT is CONFIG_ARM64_PA_BITS.
  m.physical_mask_shift = has_linux_rules(&mode) ? linux_arch_for(&mode).physical_mask_shift(mode) : mode.default_pa_bits;
  const uint64_t physical_mask = m.physical_mask_shift >= 64 ? ~uint64_t{0} : (uint64_t{1} << m.physical_mask_shift) - 1;
  const uint64_t signed_page_mask = ~((uint64_t{1} << mode.page_shift()) - 1);  // sign-extended from any width
  m.pte_pfn_mask = signed_page_mask & physical_mask & entry_mask;
  return m;
}

}  // namespace pagewalk::linux_kernel
