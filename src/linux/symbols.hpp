// Kernel symbol addresses without debug info: from the kernel's own compressed kallsyms
// tables in memory (located through VMCOREINFO), or from a /proc/kallsyms or System.map text.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/virtual_memory.hpp"
#include "linux/vmcoreinfo.hpp"

namespace pagewalk::linux_kernel {

// An address as a symbol and the offset into it ("init_task+0x40").
struct SymbolAt {
  std::string_view name;
  uint64_t offset = 0;
};

class SymbolTable {
 public:
  void add(std::string name, uint64_t addr);
  // Sorts the names; call once after the last add() and before find().
  void seal();
  [[nodiscard]] std::optional<uint64_t> find(std::string_view name) const;
  // "NAME", "NAME+OFFSET" or "NAME-OFFSET" (the offset hex, 0x optional, or 0n decimal) as
  // an address; the error names what is wrong.
  [[nodiscard]] tl::expected<uint64_t, std::string> resolve(std::string_view expression) const;
  // The symbol at or below `addr` inside the kernel image (from _text up to _end when the
  // table has them; symbols below 2^63 on 64-bit, such as per-CPU offsets, are never the
  // answer); nullopt outside it.
  [[nodiscard]] std::optional<SymbolAt> at(uint64_t addr) const;
  // Moves every address by `offset` (link-time addresses to the KASLR'd ones).
  void slide(uint64_t offset);
  // Adds the names this table lacks from `other` (whose addresses must be of the same
  // kernel, KASLR'd alike); a name both hold keeps this table's address.
  void add_missing(const SymbolTable& other);
  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] bool empty() const { return entries_.empty(); }

 private:
  void index_addresses();
  std::vector<std::pair<std::string, uint64_t>> entries_;  // by name
  std::vector<uint32_t> by_address_;                       // indices into entries_, by address
  uint64_t image_start_ = 0, image_end_ = 0;               // [_text, _end), 0s when unknown
};

// "NAME", "NAME+OFFSET" or "NAME-OFFSET" with the names `lookup` knows.
[[nodiscard]] tl::expected<uint64_t, std::string> resolve_symbol_expression(
    std::string_view expression, const std::function<std::optional<uint64_t>(std::string_view)>& lookup);

// Whether text can only be a symbol expression (it starts with a letter, '_' or '.', and
// is no hex number): what address parsers hand to SymbolTable::resolve.
[[nodiscard]] bool looks_like_symbol(std::string_view text);

// "ADDRESS TYPE NAME [module]" lines, the format /proc/kallsyms and System.map share.
// `slide` is added to every address (a System.map holds link-time addresses; the running
// kernel's are those plus the KASLR offset). Module symbols are skipped.
[[nodiscard]] tl::expected<SymbolTable, std::string> parse_symbol_text(std::string_view text, uint64_t slide);

// A vmlinux's .symtab at link-time addresses (functions, objects, linker markers) and its
// GNU build ID (hex; empty when it has none).
struct VmlinuxSymbols {
  SymbolTable table;
  std::string build_id;
};
[[nodiscard]] tl::expected<VmlinuxSymbols, std::string> vmlinux_symbols(const std::string& path);

// Decodes the kernel's kallsyms_names/token tables from memory. Needs the SYMBOL(kallsyms_*)
// entries VMCOREINFO has carried since Linux 6.0; a symbol VMCOREINFO also names tells how
// the offsets table is encoded.
[[nodiscard]] tl::expected<SymbolTable, std::string> read_kallsyms(VirtualMemory& kernel, const VmcoreInfo& info);

}  // namespace pagewalk::linux_kernel
