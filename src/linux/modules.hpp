// The kernel's loaded modules, from its own `modules` list (kernel/module/main.c): each
// module's name, state, memory areas and symbols, as /proc/modules and the module part of
// /proc/kallsyms show them; and which module (and symbol in it) an address falls in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "linux/btf_layout.hpp"
#include "linux/kernel.hpp"
#include "linux/symbols.hpp"

namespace pagewalk::linux_kernel {

struct ModuleArea {
  std::string kind;  // "core" and "init" up to Linux 6.3; "TEXT", "DATA", "RODATA", ... since 6.4
  uint64_t base = 0, size = 0;
};

struct ModuleSymbol {
  uint64_t addr = 0;
  std::string name;  // escaped()
  char type = '?';   // the letter /proc/kallsyms shows (t, d, b, r, ...)
  bool label = false;  // a local label (.LC0) or mapping symbol ($x): listed, never a name
  auto operator<=>(const ModuleSymbol&) const = default;
};

struct KernelModule {
  uint64_t module = 0;  // the struct module's VA
  std::string name;     // escaped()
  std::string state;    // "Live", "Loading", "Unloading" as /proc/modules says, or "Unformed"
  std::vector<ModuleArea> areas;  // only those with memory
  uint64_t base = 0;    // what /proc/modules prints: the core (6.1) or the text area (6.4+)
  uint64_t size = 0;    // the sum of the areas, as /proc/modules prints it
  std::vector<ModuleSymbol> symbols;  // defined, named symbols, by address
};

// An address inside a module: the module, its area and the symbol at or below it there.
struct ModuleAt {
  const KernelModule* module = nullptr;
  const ModuleArea* area = nullptr;
  std::optional<SymbolAt> symbol;
  uint64_t offset = 0;  // from the area's base, when no symbol precedes the address
};

struct ModuleList {
  std::vector<KernelModule> modules;  // in the list's order (the last loaded first)
  std::vector<std::string> warnings;  // a module or symbol table that did not read; a loop

  [[nodiscard]] std::optional<ModuleAt> at(uint64_t addr) const;
  // A module symbol by name ("fw_cfg_read_blob", or "qemu_fw_cfg:fw_cfg_read_blob").
  [[nodiscard]] std::optional<uint64_t> find(std::string_view name) const;
};

// "fw_cfg_read_blob+0x10 [qemu_fw_cfg]", or "[qemu_fw_cfg]+0x1a0" before its first symbol.
[[nodiscard]] std::string describe(const ModuleAt& at);

// The `modules` list head: its symbol, else found in the kernel image by what it links.
[[nodiscard]] std::optional<uint64_t> find_module_list(LinuxKernel& kernel, const TaskLayout& layout);
// Fails when the kernel's types or symbols lack what the walk needs.
[[nodiscard]] tl::expected<ModuleList, std::string> list_modules(LinuxKernel& kernel, const TaskLayout& layout,
                                                                 size_t max_modules = 1u << 14);

}  // namespace pagewalk::linux_kernel
