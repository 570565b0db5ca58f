// What pagewalk knows about a Linux kernel in a memory image, learned from the image itself:
// VMCOREINFO (note or in-memory copy), the KASLR offset and phys_base, the kernel's PGD, its
// kallsyms, and from those the randomised bases of the direct map, vmalloc and vmemmap.
// Every value records where it came from, so the user can judge it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cpu_state.hpp"
#include "core/virtual_memory.hpp"
#include "linux/btf_layout.hpp"
#include "linux/linux_arch.hpp"
#include "linux/layout.hpp"
#include "linux/symbols.hpp"
#include "linux/vmcoreinfo.hpp"

namespace pagewalk::linux_kernel {

struct ModuleList;

struct KernelInputs {
  PhysMemory* memory = nullptr;
  std::optional<std::string> vmcoreinfo_note;  // the image's VMCOREINFO ELF note, if any
  std::vector<CpuState> cpus;                  // the source's CPU states, when it has any
  std::string machine;                         // the source's ("arm64", "x86-64", ""), for messages
  const PagingMode* mode = nullptr;            // --mode, overrides what the kernel says
  DecodeOptions options;
  std::optional<std::string> symbol_text;      // a /proc/kallsyms or System.map text
  bool symbol_text_is_system_map = false;      // link-time addresses: add the KASLR offset
  std::string symbol_text_name;
  // A vmlinux's own symbols (--vmlinux), at link-time addresses: what kallsyms lacks.
  std::optional<VmlinuxSymbols> link_symbols;
  std::string link_symbols_name;
  std::map<std::string, uint64_t, std::less<>> overrides;  // --base NAME=VALUE
  std::optional<Known> phys_base_hint;  // what the source itself implies (kcore's text segment)
  // The source cannot say which physical addresses hold RAM, and each read is a round trip
  // (a gdbstub): an in-memory VMCOREINFO is looked for only in the RAM the CPU's own tables
  // map linearly (the direct map).
  bool ram_unknown = false;
};

class LinuxKernel {
 public:
  // Fails only when nothing at all identifies the kernel (no VMCOREINFO, no fallback).
  static tl::expected<std::unique_ptr<LinuxKernel>, std::string> discover(const KernelInputs& in);

  // The names --base NAME=VALUE accepts.
  static const std::vector<std::string>& override_names();

  // __pa/__va and pfn <-> struct page by the architecture's rules (LinuxArch).
  [[nodiscard]] tl::expected<PhysAddr, std::string> virt_to_phys(VirtAddr va) const { return arch->virt_to_phys(*this, va); }
  [[nodiscard]] tl::expected<VirtAddr, std::string> phys_to_virt(PhysAddr pa) const { return arch->phys_to_virt(*this, pa); }
  [[nodiscard]] tl::expected<VirtAddr, std::string> pfn_to_page(Pfn pfn) const { return arch->pfn_to_page(*this, pfn); }
  [[nodiscard]] tl::expected<Pfn, std::string> page_to_pfn(VirtAddr page) const { return arch->page_to_pfn(*this, page); }
  // The kernel's virtual layout with its bases.
  [[nodiscard]] tl::expected<std::vector<Region>, std::string> layout() const { return arch->layout(this, *paging.mode); }

  // A value the conversions need, or an error naming how to supply it.
  [[nodiscard]] tl::expected<uint64_t, std::string> need(const std::optional<Known>& v, const char* name) const;

  [[nodiscard]] std::optional<uint64_t> symbol(std::string_view name) const;

  // The kernel's structure offsets (from BTF or DWARF), found on first need by the loader
  // the kernel's opener gave; the loader's error, kept, otherwise.
  using TypeLoader = std::function<tl::expected<TaskLayout, std::string>(LinuxKernel&)>;
  void set_type_loader(TypeLoader loader) { type_loader_ = std::move(loader); }
  [[nodiscard]] tl::expected<const TaskLayout*, std::string> types();
  // The loaded modules, read on first need.
  [[nodiscard]] tl::expected<const ModuleList*, std::string> modules();
  // What a kernel address is: "init_task+0x40" inside the image, "fw_cfg_read_blob+0x10
  // [qemu_fw_cfg]" inside a module (read only for an address in the modules region).
  [[nodiscard]] std::optional<std::string> name_of(uint64_t addr);
  // "NAME", "NAME+OFF", "NAME-OFF": the image's symbols first, then the modules'
  // ("MODULE:NAME" picks one module's).
  [[nodiscard]] tl::expected<uint64_t, std::string> resolve(std::string_view expression);
  [[nodiscard]] VirtualMemory& memory() { return *vm_; }
  [[nodiscard]] TableReader& reader() { return *reader_; }
  [[nodiscard]] PhysMemory& phys() { return *phys_; }
  // Each readable page of the kernel image, [image_start, image_end), in address order, until
  // `visit` returns true; false when the image's extent is unknown. What finds the image's
  // BTF and init_task when the symbols do not (a kallsyms without CONFIG_KALLSYMS_ALL).
  bool scan_image(const std::function<bool(uint64_t va, std::span<const std::byte> page)>& visit);
  // An unsigned long of the kernel at `va`: 4 bytes on a 32-bit kernel, 8 on a 64-bit one.
  [[nodiscard]] tl::expected<uint64_t, VirtReadError> read_word(VirtAddr va);

  const LinuxArch* arch = nullptr;  // the architecture's part of the rules
  std::optional<VmcoreInfo> vmcoreinfo;
  std::string vmcoreinfo_source;
  std::string release;
  std::optional<Known> kaslr_offset, phys_base, kernel_pgd_va, page_offset_base, vmalloc_base, vmemmap_base, mem_map;
  PhysAddr kernel_pgd;
  std::string kernel_pgd_source;
  Paging paging;
  std::string mode_source;
  static constexpr uint64_t kMinStructPage = 32, kMaxStructPage = 256;
  uint64_t struct_page_size = 64;  // 0: unknown (a corrupt SIZE(page))
  std::string struct_page_size_source = "default";
  uint64_t max_pfn = 0;  // one past the highest frame the image holds
  // i386: the bytes of lowmem (the direct map above PAGE_OFFSET), as the kernel's tables map it.
  std::optional<uint64_t> lowmem_bytes;
  // i386: CPU_ENTRY_AREA_BASE, a constant of the build (pgtable_32_areas.h), from the IDTR.
  std::optional<Known> cpu_entry_area;
  // arm64: __kimg_to_phys's kimage_voffset and the linear map's PHYS_OFFSET (memstart_addr);
  // the image's VAs, _text to the end of its mapping (the kernel's own tables say where).
  std::optional<Known> kimage_voffset, phys_offset, image_start, image_end;
  SymbolTable symbols;
  std::string symbols_source;
  std::vector<std::string> warnings;

  ~LinuxKernel();

 private:
  LinuxKernel();
  PhysMemory* phys_ = nullptr;
  std::unique_ptr<TableReader> reader_;
  std::unique_ptr<VirtualMemory> vm_;
  TypeLoader type_loader_;
  std::optional<tl::expected<TaskLayout, std::string>> types_;
  std::optional<tl::expected<std::unique_ptr<ModuleList>, std::string>> modules_;
  std::optional<std::pair<uint64_t, uint64_t>> modules_region_;  // [first, last], once looked up
};

}  // namespace pagewalk::linux_kernel
