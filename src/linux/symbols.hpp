// Kernel symbol addresses without debug info: from the kernel's own compressed kallsyms
// tables in memory (located through VMCOREINFO), or from a /proc/kallsyms or System.map text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/virtual_memory.hpp"
#include "linux/vmcoreinfo.hpp"

namespace pagewalk::linux_kernel {

class SymbolTable {
 public:
  void add(std::string name, uint64_t addr);
  // Sorts the names; call once after the last add() and before find().
  void seal();
  [[nodiscard]] std::optional<uint64_t> find(std::string_view name) const;
  // Moves every address by `offset` (link-time addresses to the KASLR'd ones).
  void slide(uint64_t offset);
  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] bool empty() const { return entries_.empty(); }

 private:
  std::vector<std::pair<std::string, uint64_t>> entries_;
};

// "ADDRESS TYPE NAME [module]" lines, the format /proc/kallsyms and System.map share.
// `slide` is added to every address (a System.map holds link-time addresses; the running
// kernel's are those plus the KASLR offset). Module symbols are skipped.
[[nodiscard]] tl::expected<SymbolTable, std::string> parse_symbol_text(std::string_view text, uint64_t slide);

// Decodes the kernel's kallsyms_names/token tables from memory. Needs the SYMBOL(kallsyms_*)
// entries VMCOREINFO has carried since Linux 6.0; a symbol VMCOREINFO also names tells how
// the offsets table is encoded.
[[nodiscard]] tl::expected<SymbolTable, std::string> read_kallsyms(VirtualMemory& kernel, const VmcoreInfo& info);

}  // namespace pagewalk::linux_kernel
