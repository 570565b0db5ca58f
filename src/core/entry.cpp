#include "core/entry.hpp"

#include <bit>

#include <fmt/format.h>

namespace pagewalk {

std::string bit_list(uint64_t mask) {
  std::string out;
  while (mask) {
    const unsigned hi = 63 - static_cast<unsigned>(std::countl_zero(mask));
    unsigned lo = hi;
    while (lo > 0 && (mask >> (lo - 1)) & 1) --lo;
    if (!out.empty()) out += ", ";
    out += hi == lo ? fmt::format("{}", hi) : fmt::format("{}..{}", hi, lo);
    mask &= hi == 63 ? (uint64_t{1} << lo) - 1 : ~(((uint64_t{2} << hi) - 1) & ~((uint64_t{1} << lo) - 1));
  }
  return out;
}

std::string_view to_string(EntryKind k) {
  switch (k) {
    case EntryKind::Empty: return "empty";
    case EntryKind::Table: return "table";
    case EntryKind::Leaf: return "leaf";
    case EntryKind::Swap: return "swap";
    case EntryKind::ProtNone: return "prot-none";
    case EntryKind::NotPresent: return "not-present";
    case EntryKind::Reserved: return "reserved";
  }
  return "?";
}

}  // namespace pagewalk
