// Any bytes as the kernel's data structures: the input is physical memory from PA 0, seen
// through the direct map, the kernel image and vmemmap (page tables built by the harness).
// The maple-tree and list walks of a process's VMAs, the dentry and mount walks of a file's
// path, the module list and its symbol tables, and struct page decoding must end within
// their bounds, whatever pointers, pivots, lengths and loops they meet. The layout below is
// the one fuzz/seeds/make_structures_seed.py writes its seed with.
#include <cstdint>
#include <cstring>
#include <span>

#include <fmt/format.h>

#include "arch/x86/x86_modes.hpp"
#include "linux/kernel.hpp"
#include "linux/modules.hpp"
#include "linux/paths.hpp"
#include "linux/struct_page.hpp"
#include "linux/vmas.hpp"
#include "sources/synthetic.hpp"

using namespace pagewalk;

namespace {

constexpr uint64_t kDirectMap = 0xffff888000000000, kText = 0xffffffff81000000, kVmemmap = 0xffffea0000000000;
constexpr uint64_t kTables = 0x10000000;          // the harness's page tables, above any input
constexpr uint64_t kMaxInput = 64 * 1024;
constexpr uint64_t kStructPagesAt = 0x8000;        // vmemmap maps here: struct page of PFN n at 0x8000 + 64n
constexpr uint64_t kMm = 0x1000, kModulesHead = 0x80;  // where the walks start

linux_kernel::TaskLayout fuzz_layout(bool module_mem_array) {
  linux_kernel::TaskLayout l;
  l.task_tasks = 0x100, l.task_pid = 0x200, l.task_tgid = 0x204, l.task_comm = 0x300, l.task_mm = 0x310, l.mm_pgd = 0x50;
  l.mm_mt = 0x40, l.mt_root = 0x8, l.mm_start_brk = 0x100, l.mm_brk = 0x108, l.mm_start_stack = 0x110;
  l.vma_start = 0x0, l.vma_end = 0x8, l.vma_mm = 0x10, l.vma_flags = 0x20, l.vma_pgoff = 0x30, l.vma_file = 0x38;
  l.vma_ops = 0x40, l.vma_private = 0x48, l.vma_anon_name = 0x50, l.anon_vma_name_name = 0x8;
  l.file_mnt = 0x10, l.file_dentry = 0x18, l.file_inode = 0x20;
  l.inode_sb = 0x28, l.inode_ino = 0x40, l.inode_dentry = 0x60, l.sb_dev = 0x10, l.sb_mounts = 0x20;
  l.dentry_parent = 0x18, l.dentry_len = 0x24, l.dentry_name = 0x28, l.dentry_alias = 0x40;
  l.mount_parent = 0x10, l.mount_mountpoint = 0x18, l.mount_mnt = 0x20, l.mount_instance = 0x60, l.vfsmount_root = 0x0;
  l.mapping_host = 0x0;
  l.module_state = 0x0, l.module_list = 0x8, l.module_name = 0x18, l.module_kallsyms = 0x200;
  if (module_mem_array) {
    l.module_mem = 0x100, l.module_memory_base = 0x0, l.module_memory_size = 0x8, l.module_memory_stride = 0x18;
  } else {
    l.module_core_base = 0x100, l.module_core_size = 0x108, l.module_init_base = 0x150, l.module_init_size = 0x158;
  }
  l.kallsyms_symtab = 0x0, l.kallsyms_num_symtab = 0x8, l.kallsyms_strtab = 0x10, l.kallsyms_typetab = 0x18;
  l.page_flags = 0x0, l.page_compound_head = 0x8, l.page_mapping = 0x18, l.page_index = 0x20, l.page_private = 0x28;
  l.page_mapcount = 0x30, l.page_refcount = 0x34, l.page_compound_dtor = 0x10, l.page_compound_order = 0x11;
  l.page_compound_mapcount = 0x14;
  l.page_flag_names = {"locked", "referenced", "uptodate", "dirty", "lru", "active", "workingset", "waiters", "error",
                       "slab", "owner_priv_1", "arch_1", "reserved", "private", "private_2", "writeback", "head",
                       "mappedtodisk", "reclaim", "swapbacked", "unevictable", "mlocked"};
  l.zone_names = {"DMA", "DMA32", "Normal", "Movable"};
  l.max_numnodes = 2;
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 64 || size > kMaxInput) return 0;
  SyntheticMemory mem;
  mem.write(PhysAddr(0), std::as_bytes(std::span(data, size)));
  const uint64_t pages = (size + 4095) / 4096;
  TableBuilder tables(mem, kX86_64_4Level, PhysAddr(kTables));
  for (uint64_t p = 0; p < pages; ++p) {
    tables.map(VirtAddr(kDirectMap + p * 4096), PhysAddr(p * 4096), 4096, 0x63, 0x63);
    tables.map(VirtAddr(kText + p * 4096), PhysAddr(p * 4096), 4096, 0x63, 0x63);
    if (p * 4096 >= kStructPagesAt)
      tables.map(VirtAddr(kVmemmap + (p * 4096 - kStructPagesAt)), PhysAddr(p * 4096), 4096, 0x63, 0x63);
  }
  linux_kernel::KernelInputs in;
  in.memory = &mem;
  in.mode = &kX86_64_4Level;
  in.symbol_text = fmt::format("{:016x} T _text\n{:016x} D modules\n{:016x} D special_mapping_vmops\n{:016x} B _end\n",
                               kText, kText + kModulesHead, kText + 0xc0, kText + 0x100000);
  in.symbol_text_name = "fuzz";
  in.overrides = {{"phys_base", 0},
                  {"pgd", 0xffffffff80000000 + tables.root().value()},
                  {"page_offset_base", kDirectMap},
                  {"vmemmap_base", kVmemmap}};
  auto k = linux_kernel::LinuxKernel::discover(in);
  if (!k) return 0;
  linux_kernel::LinuxKernel& kernel = **k;
  const auto layout = fuzz_layout(data[0x38] & 1);
  kernel.set_type_loader([&](linux_kernel::LinuxKernel&) -> tl::expected<linux_kernel::TaskLayout, std::string> { return layout; });

  linux_kernel::Task task;
  task.pid = 1, task.comm = "fuzz", task.mm = kDirectMap + kMm;
  if (auto vmas = linux_kernel::list_vmas(kernel, layout, task, 1024); vmas && vmas->vmas.size() > 1025) __builtin_trap();
  auto mods = kernel.modules();
  if (mods && (*mods)->modules.size() > (1u << 14)) __builtin_trap();
  (void)kernel.name_of(0xffffffffc0000000 + (data[0x39] << 12));  // the modules region
  (void)kernel.resolve("fuzz_module:fuzz_symbol+0x10");
  // Struct pages: the first two frames and one the input picks.
  for (uint64_t pfn : {uint64_t{0}, uint64_t{1}, uint64_t{data[0x3a]}})
    (void)linux_kernel::read_page(kernel, layout, Pfn(pfn));
  uint64_t inode;
  std::memcpy(&inode, data + 0x30, sizeof inode);
  (void)linux_kernel::inode_path(kernel.memory(), layout, inode);
  return 0;
}
