#include "linux/vmcoreinfo.hpp"

#include <charconv>

namespace pagewalk::linux_kernel {
namespace {

// SYMBOL, SIZE, OFFSET and KERNELOFFSET are printed in hex without 0x; NUMBER in decimal
// (kernel/crash_core.c, VMCOREINFO_SYMBOL uses %lx, VMCOREINFO_NUMBER %ld).
template <typename T>
std::optional<T> parse_int(std::string_view s, int base) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string keyed(std::string_view kind, std::string_view name) {
  std::string k(kind);
  k += '(';
  k += name;
  k += ')';
  return k;
}

}  // namespace

VmcoreInfo VmcoreInfo::parse(std::string_view text) {
  VmcoreInfo info;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    info.entries_.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return info;
}

std::optional<std::string> VmcoreInfo::get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> VmcoreInfo::symbol(std::string_view name) const {
  auto v = get(keyed("SYMBOL", name));
  return v ? parse_int<uint64_t>(*v, 16) : std::nullopt;
}
std::optional<int64_t> VmcoreInfo::number(std::string_view name) const {
  auto v = get(keyed("NUMBER", name));
  return v ? parse_int<int64_t>(*v, 10) : std::nullopt;
}
std::optional<uint64_t> VmcoreInfo::size(std::string_view name) const {
  auto v = get(keyed("SIZE", name));
  return v ? parse_int<uint64_t>(*v, 10) : std::nullopt;
}
std::optional<uint64_t> VmcoreInfo::offset(std::string_view name) const {
  auto v = get(keyed("OFFSET", name));
  return v ? parse_int<uint64_t>(*v, 10) : std::nullopt;
}
std::optional<uint64_t> VmcoreInfo::kernel_offset() const {
  auto v = get("KERNELOFFSET");
  return v ? parse_int<uint64_t>(*v, 16) : std::nullopt;
}

}  // namespace pagewalk::linux_kernel
