#include "live/maps.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace pagewalk::live {
namespace {

bool parse_hex(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string_view next_field(std::string_view& line) {
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  const size_t sp = line.find(' ');
  std::string_view f = line.substr(0, sp);
  line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
  return f;
}

// "start-end perms offset dev inode   path"; the path runs to the end of the line and may
// hold spaces (or " (deleted)").
bool parse_header(std::string_view line, Mapping& m) {
  const std::string_view range = next_field(line);
  const size_t dash = range.find('-');
  uint64_t start = 0, end = 0;
  if (dash == std::string_view::npos || !parse_hex(range.substr(0, dash), start) ||
      !parse_hex(range.substr(dash + 1), end) || end < start)
    return false;
  const std::string_view perms = next_field(line);
  if (perms.size() != 4) return false;
  const std::string_view offset = next_field(line), dev = next_field(line), inode = next_field(line);
  uint64_t off = 0, ino = 0;
  if (!parse_hex(offset, off) || dev.find(':') == std::string_view::npos) return false;
  const auto [p, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), ino, 10);
  if (inode.empty() || ec != std::errc() || p != inode.data() + inode.size()) return false;
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  m.start = VirtAddr(start);
  m.end = VirtAddr(end);
  std::copy(perms.begin(), perms.end(), m.perms);
  m.offset = off;
  m.dev = std::string(dev);
  m.inode = ino;
  m.path = std::string(line);
  return true;
}

bool looks_like_header(std::string_view line) {
  // A header starts with a hex range "a-b"; smaps field names start with an upper-case letter.
  return !line.empty() && ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'));
}

template <typename F>
void for_each_line(std::string_view text, F&& f) {
  size_t at = 0, number = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    ++number;
    std::string_view line = text.substr(at, nl - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && !f(line, number)) return;
    at = nl + 1;
  }
}

// "   1234 kB" -> bytes.
bool parse_kb(std::string_view v, uint64_t& bytes) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  uint64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, 10);
  if (ec != std::errc()) return false;
  std::string_view unit(p, static_cast<size_t>(v.data() + v.size() - p));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (unit == "kB")
    bytes = n * 1024;
  else if (unit.empty())
    bytes = n;
  else
    return false;
  return true;
}

}  // namespace

tl::expected<std::vector<Mapping>, std::string> parse_maps(std::string_view text) {
  std::vector<Mapping> maps;
  std::string error;
  for_each_line(text, [&](std::string_view line, size_t number) {
    Mapping m;
    if (!parse_header(line, m)) {
      error = fmt::format("maps line {} is not a mapping: '{}'", number, line.substr(0, 80));
      return false;
    }
    maps.push_back(std::move(m));
    return true;
  });
  if (!error.empty()) return tl::unexpected(error);
  return maps;
}

tl::expected<std::vector<Mapping>, std::string> parse_smaps(std::string_view text) {
  std::vector<Mapping> maps;
  std::string error;
  for_each_line(text, [&](std::string_view line, size_t number) {
    if (looks_like_header(line)) {
      Mapping m;
      if (!parse_header(line, m)) {
        error = fmt::format("smaps line {} is not a mapping: '{}'", number, line.substr(0, 80));
        return false;
      }
      m.has_smaps = true;
      maps.push_back(std::move(m));
      return true;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || maps.empty()) {
      error = fmt::format("smaps line {} is neither a mapping nor a field: '{}'", number, line.substr(0, 80));
      return false;
    }
    Mapping& m = maps.back();
    const std::string_view key = line.substr(0, colon), value = line.substr(colon + 1);
    if (key == "VmFlags") {
      std::string_view flags = value;
      for (std::string_view f = next_field(flags); !f.empty(); f = next_field(flags))
        if (f == "ht") m.hugetlb = true;
      return true;
    }
    uint64_t* field = key == "Rss"              ? &m.rss
                      : key == "Swap"           ? &m.swap
                      : key == "AnonHugePages"  ? &m.anon_huge
                      : key == "FilePmdMapped"  ? &m.file_pmd_mapped
                      : key == "ShmemPmdMapped" ? &m.shmem_pmd_mapped
                      : key == "KernelPageSize" ? &m.kernel_page_size
                      : key == "MMUPageSize"    ? &m.mmu_page_size
                                                : nullptr;
    if (field && !parse_kb(value, *field)) {
      error = fmt::format("smaps line {}: '{}' is not a size", number, line.substr(0, 80));
      return false;
    }
    if (field == &m.kernel_page_size && m.kernel_page_size > 4096) m.hugetlb = true;
    return true;
  });
  if (!error.empty()) return tl::unexpected(error);
  return maps;
}

const Mapping* find_mapping(const std::vector<Mapping>& maps, VirtAddr va) {
  auto it = std::upper_bound(maps.begin(), maps.end(), va, [](VirtAddr v, const Mapping& m) { return v < m.end; });
  return it != maps.end() && it->contains(va) ? &*it : nullptr;
}

}  // namespace pagewalk::live
