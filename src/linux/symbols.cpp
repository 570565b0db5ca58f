#include "linux/symbols.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace pagewalk::linux_kernel {

void SymbolTable::add(std::string name, uint64_t addr) { entries_.emplace_back(std::move(name), addr); }

void SymbolTable::seal() {
  // Keep the first definition of a duplicated name (static symbols repeat across files).
  std::stable_sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  entries_.erase(std::unique(entries_.begin(), entries_.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 entries_.end());
  index_addresses();
}

void SymbolTable::index_addresses() {
  by_address_.resize(entries_.size());
  for (uint32_t i = 0; i < by_address_.size(); ++i) by_address_[i] = i;
  // Equal addresses (aliases such as _text and startup_64) by name, for a stable answer.
  std::sort(by_address_.begin(), by_address_.end(), [this](uint32_t a, uint32_t b) {
    return entries_[a].second != entries_[b].second ? entries_[a].second < entries_[b].second
                                                     : entries_[a].first < entries_[b].first;
  });
  const auto text = find("_text"), end = find("_end");
  image_start_ = text.value_or(0);
  image_end_ = end && text && *end > *text ? *end : 0;
}

std::optional<SymbolAt> SymbolTable::at(uint64_t addr) const {
  if (by_address_.empty()) return std::nullopt;
  if (image_end_ && (addr < image_start_ || addr >= image_end_)) return std::nullopt;
  auto it = std::upper_bound(by_address_.begin(), by_address_.end(), addr,
                             [this](uint64_t a, uint32_t i) { return a < entries_[i].second; });
  if (it == by_address_.begin()) return std::nullopt;
  auto hit = std::prev(it);
  while (hit != by_address_.begin() && entries_[*std::prev(hit)].second == entries_[*hit].second) --hit;
  const auto& [name, value] = entries_[*hit];
  // Without _end, the last symbol's extent is unknown: answer only inside the image's span
  // as far as the symbols go, and never from a per-CPU offset or an absolute value.
  if (!image_end_ && (it == by_address_.end() || (value >> 63) != (addr >> 63))) return std::nullopt;
  if (value < image_start_) return std::nullopt;
  return SymbolAt{name, addr - value};
}

bool looks_like_symbol(std::string_view text) {
  if (text.empty()) return false;
  const char c = text[0];
  if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  // Bare hex digits are an address (numbers win: "cafe" is 0xcafe).
  const size_t name_end = std::min(text.find('+'), text.find('-'));
  const std::string_view name = text.substr(0, name_end);
  // Kernel symbols are C identifiers, with '.' and '$' from the compiler (foo.cold, .L*);
  // "MODULE:NAME" names a module's symbol.
  if (!std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '$' || ch == ':';
      }))
    return false;
  return !std::all_of(name.begin(), name.end(), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)); });
}

tl::expected<uint64_t, std::string> SymbolTable::resolve(std::string_view expression) const {
  return resolve_symbol_expression(expression, [this](std::string_view name) { return find(name); });
}

tl::expected<uint64_t, std::string> resolve_symbol_expression(
    std::string_view expression, const std::function<std::optional<uint64_t>(std::string_view)>& lookup) {
  const size_t sign = std::min(expression.find('+'), expression.find('-'));
  const std::string_view name = expression.substr(0, sign);
  auto base = lookup(name);
  if (!base) return tl::unexpected(fmt::format("no kernel symbol '{}' in the image's symbols", name));
  if (sign == std::string_view::npos) return *base;
  std::string_view off = expression.substr(sign + 1);
  int radix = 16;
  if (off.size() > 2 && off[0] == '0' && (off[1] == 'x' || off[1] == 'X')) off.remove_prefix(2);
  else if (off.size() > 2 && off[0] == '0' && off[1] == 'n') off.remove_prefix(2), radix = 10;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(off.data(), off.data() + off.size(), v, radix);
  if (off.empty() || ec != std::errc() || p != off.data() + off.size())
    return tl::unexpected(fmt::format("'{}': the offset after '{}' is not a number", expression, name));
  return expression[sign] == '+' ? *base + v : *base - v;
}

std::optional<uint64_t> SymbolTable::find(std::string_view name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  if (it == entries_.end() || it->first != name) return std::nullopt;
  return it->second;
}

void SymbolTable::add_missing(const SymbolTable& other) {
  for (const auto& [name, addr] : other.entries_) add(name, addr);
  seal();  // keeps the first of each name: this table's
}

void SymbolTable::slide(uint64_t offset) {
  for (auto& e : entries_) e.second += offset;
  index_addresses();
}

tl::expected<SymbolTable, std::string> parse_symbol_text(std::string_view text, uint64_t slide) {
  SymbolTable table;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    const size_t s1 = line.find(' ');
    const size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    uint64_t addr = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + (s1 == std::string_view::npos ? 0 : s1), addr, 16);
    if (s2 == std::string_view::npos || ec != std::errc() || p != line.data() + s1 || s2 != s1 + 2)
      return tl::unexpected(fmt::format("line {}: expected 'ADDRESS TYPE NAME'", line_no));
    std::string_view name = line.substr(s2 + 1);
    if (name.find('\t') != std::string_view::npos || name.find(' ') != std::string_view::npos)
      continue;  // "name\t[module]": a module symbol, not the kernel image's
    table.add(std::string(name), addr + slide);
  }
  if (table.empty()) return tl::unexpected(std::string("no symbols in the file"));
  table.seal();
  return table;
}

namespace {

template <typename T>
tl::expected<std::vector<T>, std::string> read_array(VirtualMemory& mem, uint64_t va, size_t count, const char* what) {
  std::vector<T> v(count);
  auto r = mem.read(VirtAddr(va), std::as_writable_bytes(std::span(v)));
  if (!r) return tl::unexpected(fmt::format("{} at 0x{:x}: {}", what, r.error().va.value(), r.error().reason));
  return v;
}

}  // namespace

tl::expected<SymbolTable, std::string> read_kallsyms(VirtualMemory& kernel, const VmcoreInfo& info) {
  const auto names_va = info.symbol("kallsyms_names");
  const auto num_va = info.symbol("kallsyms_num_syms");
  const auto token_table_va = info.symbol("kallsyms_token_table");
  const auto token_index_va = info.symbol("kallsyms_token_index");
  const auto offsets_va = info.symbol("kallsyms_offsets");
  const auto relative_base_va = info.symbol("kallsyms_relative_base");
  if (!names_va || !num_va || !token_table_va || !token_index_va || !offsets_va || !relative_base_va)
    return tl::unexpected(std::string(
        "VMCOREINFO does not locate the kallsyms tables (Linux before 6.0, or a kernel without "
        "CONFIG_KALLSYMS_BASE_RELATIVE)"));

  auto num = kernel.value<uint32_t>(VirtAddr(*num_va));
  auto relative_base = kernel.word(VirtAddr(*relative_base_va));  // an unsigned long (kernel/kallsyms.c)
  if (!num || !relative_base) return tl::unexpected(std::string("kallsyms_num_syms is not readable"));
  if (*num == 0 || *num > 4'000'000) return tl::unexpected(fmt::format("kallsyms_num_syms {} is implausible", *num));

  auto token_index = read_array<uint16_t>(kernel, *token_index_va, 256, "kallsyms_token_index");
  if (!token_index) return tl::unexpected(token_index.error());
  const uint64_t token_bytes = *token_index_va > *token_table_va ? *token_index_va - *token_table_va : 0;
  if (token_bytes == 0 || token_bytes > 65536) return tl::unexpected(std::string("kallsyms token table is implausible"));
  auto tokens = read_array<char>(kernel, *token_table_va, token_bytes, "kallsyms_token_table");
  if (!tokens) return tl::unexpected(tokens.error());
  auto offsets = read_array<int32_t>(kernel, *offsets_va, *num, "kallsyms_offsets");
  if (!offsets) return tl::unexpected(offsets.error());
  // The names end before the token table (kallsyms_markers lies between them).
  const uint64_t names_bytes = *token_table_va > *names_va ? *token_table_va - *names_va : 0;
  if (names_bytes == 0 || names_bytes > (uint64_t{64} << 20)) return tl::unexpected(std::string("kallsyms_names is implausible"));
  auto names = read_array<uint8_t>(kernel, *names_va, names_bytes, "kallsyms_names");
  if (!names) return tl::unexpected(names.error());

  // Addresses: with CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86-64 SMP) a non-negative offset is an
  // absolute per-CPU address and a negative one counts down from the base; otherwise every
  // offset is unsigned from the base. A symbol VMCOREINFO also names decides which.
  auto absolute_percpu = [&](int32_t off) {
    return off >= 0 ? static_cast<uint64_t>(off) : *relative_base - 1 - static_cast<uint64_t>(static_cast<int64_t>(off));
  };
  auto relative = [&](int32_t off) { return *relative_base + static_cast<uint32_t>(off); };

  std::vector<std::string> decoded;
  decoded.reserve(*num);
  size_t pos = 0;
  const auto& n = *names;
  for (uint32_t i = 0; i < *num; ++i) {
    if (pos >= n.size()) return tl::unexpected(fmt::format("kallsyms_names ends at symbol {} of {}", i, *num));
    size_t len = n[pos++];
    if (len & 0x80) {  // ULEB128: long (Rust) names take a second length byte
      if (pos >= n.size()) return tl::unexpected(std::string("kallsyms_names is truncated"));
      len = (len & 0x7f) | (size_t{n[pos++]} << 7);
    }
    if (pos + len > n.size()) return tl::unexpected(std::string("kallsyms_names is truncated"));
    std::string name;
    for (size_t k = 0; k < len; ++k) {
      const uint16_t at = (*token_index)[n[pos + k]];
      if (at >= tokens->size()) return tl::unexpected(std::string("kallsyms token index out of range"));
      const char* t = tokens->data() + at;
      name.append(t, strnlen(t, tokens->size() - at));
    }
    pos += len;
    decoded.push_back(name.size() > 1 ? name.substr(1) : std::string());  // drop the type letter
  }

  // Choose the encoding that puts a symbol VMCOREINFO names at its known address.
  bool use_absolute = true;
  bool decided = false;
  for (const char* anchor : {"_stext", "init_uts_ns", "swapper_pg_dir"}) {
    const auto want = info.symbol(anchor);
    if (!want) continue;
    auto it = std::find(decoded.begin(), decoded.end(), anchor);
    if (it == decoded.end()) continue;
    const int32_t off = (*offsets)[static_cast<size_t>(it - decoded.begin())];
    if (absolute_percpu(off) == *want) { use_absolute = true; decided = true; break; }
    if (relative(off) == *want) { use_absolute = false; decided = true; break; }
    return tl::unexpected(fmt::format("kallsyms disagrees with VMCOREINFO about {} (0x{:x})", anchor, *want));
  }
  if (!decided) return tl::unexpected(std::string("kallsyms holds none of the symbols VMCOREINFO names"));

  SymbolTable table;
  for (uint32_t i = 0; i < *num; ++i)
    table.add(std::move(decoded[i]), use_absolute ? absolute_percpu((*offsets)[i]) : relative((*offsets)[i]));
  table.seal();
  return table;
}

}  // namespace pagewalk::linux_kernel
