// Any bytes as a VMCOREINFO text (the parser, its plausibility test and every accessor), and
// as physical memory scanned for the kernel's in-memory copy of it.
#include <cstdint>
#include <span>
#include <string_view>

#include "linux/vmcoreinfo.hpp"
#include "sources/segmented_memory.hpp"

using namespace pagewalk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)linux_kernel::plausible_vmcoreinfo(text);
  const auto vi = linux_kernel::VmcoreInfo::parse(text);
  for (const char* name : {"init_top_pgt", "swapper_pg_dir", "mem_map", "kallsyms_names"}) (void)vi.symbol(name);
  for (const char* name : {"phys_base", "pgtable_l5_enabled", "KERNEL_IMAGE_SIZE", "VA_BITS"}) (void)vi.number(name);
  (void)vi.size("page");
  (void)vi.offset("page.flags");
  (void)vi.kernel_offset();
  (void)vi.get("OSRELEASE");
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  if (auto mem = SegmentedMemory::create(bytes, {{PhysAddr(0x1000), 0, size, size}})) {
    if (auto found = linux_kernel::find_vmcoreinfo(**mem))
      if (found->text.empty() || found->at.value() < 0x1000) __builtin_trap();
  }
  return 0;
}
