#include "linux/modules.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include "linux/tasks.hpp"

namespace pagewalk::linux_kernel {
namespace {

// include/linux/module.h: MODULE_NAME_LEN is 64 - sizeof(unsigned long); enum module_state.
constexpr size_t kModuleNameLen = 64 - 8;
enum ModuleState : uint32_t { kStateLive = 0, kStateComing = 1, kStateGoing = 2, kStateUnformed = 3 };
// enum mod_mem_type (6.4+) when the types carry only the array: MOD_TEXT first.
constexpr std::array<const char*, 7> kDefaultMemNames = {"TEXT",      "DATA",      "RODATA",     "RO_AFTER_INIT",
                                                         "INIT_TEXT", "INIT_DATA", "INIT_RODATA"};
// What no module comes near: a symbol table or a name table beyond these is corrupt.
constexpr uint32_t kMaxSymbols = 1u << 20;
constexpr uint64_t kMaxStrtab = uint64_t{64} << 20;
constexpr uint64_t kMaxAreaSize = uint64_t{1} << 32;

// The members of an Elf64_Sym (24 bytes) or Elf32_Sym (16 bytes; a 32-bit kernel's) that
// name an address (include/uapi/linux/elf.h).
struct ElfSym {
  uint32_t st_name = 0;
  uint16_t st_shndx = 0;
  uint64_t st_value = 0;
};
constexpr size_t kElf64SymSize = 24, kElf32SymSize = 16;

ElfSym elf_sym_at(std::span<const std::byte> table, size_t i, bool elf32) {
  ElfSym s;
  const std::byte* p = table.data() + i * (elf32 ? kElf32SymSize : kElf64SymSize);
  std::memcpy(&s.st_name, p, 4);
  if (elf32) {  // st_name, st_value, st_size, st_info, st_other, st_shndx
    uint32_t value;
    std::memcpy(&value, p + 4, 4);
    s.st_value = value;
    std::memcpy(&s.st_shndx, p + 14, 2);
  } else {  // st_name, st_info, st_other, st_shndx, st_value, st_size
    std::memcpy(&s.st_shndx, p + 6, 2);
    std::memcpy(&s.st_value, p + 8, 8);
  }
  return s;
}

// The symbols kallsyms lists but never names an address with (kernel/module/kallsyms.c,
// find_kallsyms_symbol and is_arm_mapping_symbol, 6.1: local labels and the mapping
// symbols $a, $d, $t, $x).
bool is_mapping_symbol(std::string_view n) {
  return n.rfind(".L", 0) == 0 || n.rfind("L0", 0) == 0 || (n.size() >= 2 && n[0] == '$' && std::strchr("axtd", n[1]));
}

std::string_view state_name(uint32_t s) {
  switch (s) {  // kernel/module/procfs.c, m_show
    case kStateLive: return "Live";
    case kStateComing: return "Loading";
    case kStateGoing: return "Unloading";
    case kStateUnformed: return "Unformed";
    default: return "?";
  }
}

class ModuleReader {
 public:
  ModuleReader(LinuxKernel& k, const TaskLayout& l) : vm_(k.memory()), l_(l) {}

  tl::expected<KernelModule, std::string> read(uint64_t mod) {
    KernelModule m;
    m.module = mod;
    auto name = vm_.c_string(VirtAddr(mod + *l_.module_name), kModuleNameLen);
    if (!name) return tl::unexpected(fmt::format("struct module at 0x{:x}: its name does not read", mod));
    m.name = escaped(*name);
    if (l_.module_state)
      if (auto s = vm_.value<uint32_t>(VirtAddr(mod + *l_.module_state))) m.state = state_name(*s);
    if (auto e = read_areas(m); !e) return tl::unexpected(e.error());
    if (l_.module_kallsyms && l_.kallsyms_symtab && l_.kallsyms_num_symtab && l_.kallsyms_strtab) read_symbols(m);
    return m;
  }

  std::vector<std::string> warnings;

 private:
  // One area's base and size (an unsigned int in both layouts); its base.
  tl::expected<uint64_t, std::string> area(KernelModule& m, std::string kind, uint64_t base_at, uint64_t size_at) {
    auto base = vm_.word(VirtAddr(base_at));
    auto size = vm_.value<uint32_t>(VirtAddr(size_at));
    if (!base || !size) return tl::unexpected(fmt::format("module {}: its {} area does not read", m.name, kind));
    if (*base && *size) m.areas.push_back({std::move(kind), *base, *size});
    m.size += *size;
    return *base;
  }

  tl::expected<void, std::string> read_areas(KernelModule& m) {
    if (l_.module_mem && l_.module_memory_base && l_.module_memory_size && l_.module_memory_stride) {
      // 6.4+: mem[MOD_MEM_NUM_TYPES]; /proc/modules shows mem[MOD_TEXT].base.
      const auto& names = l_.module_mem_names.empty()
                              ? std::vector<std::string>(kDefaultMemNames.begin(), kDefaultMemNames.end())
                              : l_.module_mem_names;
      for (size_t i = 0; i < names.size(); ++i) {
        const uint64_t at = m.module + *l_.module_mem + i * *l_.module_memory_stride;
        auto base = area(m, names[i], at + *l_.module_memory_base, at + *l_.module_memory_size);
        if (!base) return tl::unexpected(base.error());
        if (i == 0) m.base = *base;
      }
    } else if (l_.module_core_base && l_.module_core_size) {
      // Up to 6.3: core_layout (kept) and init_layout (freed once the module's init ran).
      auto base = area(m, "core", m.module + *l_.module_core_base, m.module + *l_.module_core_size);
      if (!base) return tl::unexpected(base.error());
      m.base = *base;
      if (l_.module_init_base && l_.module_init_size)
        if (auto init = area(m, "init", m.module + *l_.module_init_base, m.module + *l_.module_init_size); !init)
          return tl::unexpected(init.error());
    } else {
      return tl::unexpected(std::string("the kernel's types lack struct module's memory layout"));
    }
    for (const ModuleArea& a : m.areas)
      if (a.size > kMaxAreaSize || a.base + a.size < a.base)
        return tl::unexpected(fmt::format("module {}: its {} area 0x{:x} + 0x{:x} is not plausible", m.name, a.kind,
                                          a.base, a.size));
    return {};
  }

  // mod->kallsyms: after the module's init, the core copy (the symbols the module keeps).
  void read_symbols(KernelModule& m) {
    auto warn = [&](std::string what) { warnings.push_back(fmt::format("module {}: {}", m.name, what)); };
    auto ks = vm_.word(VirtAddr(m.module + *l_.module_kallsyms));
    if (!ks || !*ks) return warn("no symbol table");
    auto symtab = vm_.word(VirtAddr(*ks + *l_.kallsyms_symtab));
    auto count = vm_.value<uint32_t>(VirtAddr(*ks + *l_.kallsyms_num_symtab));
    auto strtab = vm_.word(VirtAddr(*ks + *l_.kallsyms_strtab));
    if (!symtab || !count || !strtab) return warn(fmt::format("its mod_kallsyms at 0x{:x} does not read", *ks));
    if (*count > kMaxSymbols) return warn(fmt::format("{} symbols is not plausible", *count));
    const bool elf32 = vm_.paging().mode->word_bits == 32;
    std::vector<std::byte> syms(size_t{*count} * (elf32 ? kElf32SymSize : kElf64SymSize));
    if (auto r = vm_.read(VirtAddr(*symtab), syms); !r)
      return warn(fmt::format("its symbol table at 0x{:x} does not read: {}", *symtab, r.error().reason));
    // The string table ends where the type table starts (layout_symtab puts it right after);
    // the type table holds the letter of each symbol.
    std::vector<char> strings, types;
    if (l_.kallsyms_typetab)
      if (auto typetab = vm_.word(VirtAddr(*ks + *l_.kallsyms_typetab)); typetab && *typetab) {
        types.resize(*count);
        if (!vm_.read(VirtAddr(*typetab), std::as_writable_bytes(std::span(types)))) types.clear();
        if (*typetab > *strtab && *typetab - *strtab <= kMaxStrtab) {
          strings.resize(*typetab - *strtab);
          if (!vm_.read(VirtAddr(*strtab), std::as_writable_bytes(std::span(strings)))) strings.clear();
        }
      }
    for (size_t i = 0; i < *count; ++i) {
      const ElfSym s = elf_sym_at(syms, i, elf32);
      if (s.st_shndx == 0 || s.st_name == 0) continue;  // SHN_UNDEF; the null symbol
      std::string name;
      if (!strings.empty()) {
        if (s.st_name >= strings.size()) continue;
        const char* p = strings.data() + s.st_name;
        name.assign(p, strnlen(p, strings.size() - s.st_name));
      } else if (auto n = vm_.c_string(VirtAddr(*strtab + s.st_name), 512)) {
        name = std::move(*n);
      }
      if (name.empty()) continue;
      const char type = i < types.size() && std::isgraph(static_cast<unsigned char>(types[i])) ? types[i] : '?';
      m.symbols.push_back({s.st_value, escaped(name), type, is_mapping_symbol(name)});
    }
    std::sort(m.symbols.begin(), m.symbols.end());
  }

  VirtualMemory& vm_;
  const TaskLayout& l_;
};

}  // namespace

std::optional<ModuleAt> ModuleList::at(uint64_t addr) const {
  for (const KernelModule& m : modules)
    for (const ModuleArea& a : m.areas) {
      if (addr < a.base || addr - a.base >= a.size) continue;
      ModuleAt out{&m, &a, std::nullopt, addr - a.base};
      // The last symbol at or below addr that is not a label; of aliases at one address,
      // the first by name (as SymbolTable::at answers).
      auto it = std::upper_bound(m.symbols.begin(), m.symbols.end(), addr,
                                 [](uint64_t v, const ModuleSymbol& s) { return v < s.addr; });
      const ModuleSymbol* best = nullptr;
      while (it != m.symbols.begin() && std::prev(it)->addr >= a.base) {
        --it;
        if (best && it->addr != best->addr) break;
        if (!it->label) best = &*it;
      }
      if (best) out.symbol = SymbolAt{best->name, addr - best->addr};
      return out;
    }
  return std::nullopt;
}

std::optional<uint64_t> ModuleList::find(std::string_view name) const {
  std::string_view module;
  if (const size_t colon = name.find(':'); colon != std::string_view::npos) {
    module = name.substr(0, colon);
    name.remove_prefix(colon + 1);
  }
  for (const KernelModule& m : modules) {
    if (!module.empty() && m.name != module) continue;
    for (const ModuleSymbol& s : m.symbols)
      if (s.name == name) return s.addr;
  }
  return std::nullopt;
}

std::string describe(const ModuleAt& at) {
  if (!at.symbol) return fmt::format("[{}]+0x{:x}", at.module->name, at.offset);
  if (!at.symbol->offset) return fmt::format("{} [{}]", at.symbol->name, at.module->name);
  return fmt::format("{}+0x{:x} [{}]", at.symbol->name, at.symbol->offset, at.module->name);
}

// The `modules` list head (kernel/module/main.c, in the image's .data) without its symbol:
// a list_head of the image whose every entry, outside the image, is a struct module with a
// valid state (enum module_state: 0..3) and a printable name, and which links back to it.
std::optional<uint64_t> find_module_list(LinuxKernel& kernel, const TaskLayout& l) {
  if (auto at = kernel.symbol("modules")) return at;
  if (!l.module_state || !kernel.image_start || !kernel.image_end) return std::nullopt;
  VirtualMemory& vm = kernel.memory();
  const uint64_t word = kernel.paging.mode->word_bits / 8, lo = kernel.image_start->value, hi = kernel.image_end->value;
  auto outside = [&](uint64_t p) { return p % word == 0 && (p < lo || p >= hi) && kernel.paging.mode->in_space(VirtAddr(p)) &&
                                          p >= kernel.paging.mode->regions.back().first; };
  auto is_module = [&](uint64_t list) {
    auto state = vm.value<uint32_t>(VirtAddr(list - *l.module_list + *l.module_state));
    auto name = vm.c_string(VirtAddr(list - *l.module_list + *l.module_name), 56);
    if (!state || *state > 3 || !name || name->empty()) return false;
    return std::all_of(name->begin(), name->end(), [](char c) { return c > 0x20 && c < 0x7f; });
  };
  std::optional<uint64_t> found;
  kernel.scan_image([&](uint64_t va, std::span<const std::byte> page) {
    for (size_t at = 0; at + 2 * word <= page.size(); at += word) {
      uint64_t next = 0, prev = 0;
      std::memcpy(&next, page.data() + at, word);
      std::memcpy(&prev, page.data() + at + word, word);
      const uint64_t head = va + at;
      if (!outside(next) || !outside(prev)) continue;
      auto back = vm.word(VirtAddr(next + word));  // next->prev
      if (!back || *back != head || !is_module(next)) continue;
      // The whole ring: every entry a module, back to the head within a bound.
      uint64_t p = next;
      bool ok = true;
      for (int n = 0; ok && p != head && n < 65536; ++n) {
        auto q = vm.word(VirtAddr(p));
        ok = q && (*q == head || (outside(*q) && is_module(*q)));
        if (ok) p = *q;
      }
      if (ok && p == head) {
        found = head;
        return true;
      }
    }
    return false;
  });
  return found;
}

tl::expected<ModuleList, std::string> list_modules(LinuxKernel& kernel, const TaskLayout& l, size_t max_modules) {
  if (!l.module_list || !l.module_name)
    return tl::unexpected(std::string("the kernel's types lack struct module's list and name"));
  const auto head = find_module_list(kernel, l);
  if (!head)
    return tl::unexpected(std::string(
        "the kernel's symbols do not locate the module list (modules), and no list of modules links into the "
        "kernel image (none loaded?): give --vmlinux FILE"));
  VirtualMemory& vm = kernel.memory();
  ModuleReader reader(kernel, l);
  ModuleList out;
  std::unordered_set<uint64_t> seen{*head};
  for (uint64_t at = *head;;) {
    auto next = vm.word(VirtAddr(at));
    if (!next) {
      out.warnings.push_back(fmt::format("the module list breaks at 0x{:x}: {}", at, next.error().reason));
      break;
    }
    if (*next == *head) break;
    if (!seen.insert(*next).second) {
      out.warnings.push_back(fmt::format("the module list loops at 0x{:x}: the rest is skipped", *next));
      break;
    }
    if (out.modules.size() >= max_modules) {
      out.warnings.push_back(fmt::format("stopped after {} modules", max_modules));
      break;
    }
    auto m = reader.read(*next - *l.module_list);  // container_of(list, struct module, list)
    if (!m) {
      out.warnings.push_back(m.error());
      break;  // its list pointer cannot be trusted either
    }
    out.modules.push_back(std::move(*m));
    at = *next;
  }
  for (std::string& w : reader.warnings) out.warnings.push_back(std::move(w));
  return out;
}

}  // namespace pagewalk::linux_kernel
