#include "core/paging_mode.hpp"

#include <algorithm>
#include <cctype>

namespace pagewalk {

std::array<LinuxLevelView, 5> PagingMode::linux_levels() const {
  constexpr std::string_view names[] = {"pgd", "p4d", "pud", "pmd", "pte"};
  std::array<LinuxLevelView, 5> out{};
  unsigned above_shift = va_bits;  // only used if the root itself were folded, which never happens
  for (unsigned i = 0; i < 5; ++i) {
    out[i] = {names[i], above_shift, 1, true};
    for (const LevelDesc& l : levels) {
      if (l.linux_name == names[i]) {
        out[i] = {names[i], l.shift, 1u << l.index_bits, false};
        break;
      }
    }
    above_shift = out[i].shift;
  }
  return out;
}

std::optional<unsigned> PagingMode::level_named(std::string_view wanted) const {
  auto same = [&](std::string_view a) {  // pml4 = PML4, PGD = pgd
    return a.size() == wanted.size() && std::equal(a.begin(), a.end(), wanted.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (unsigned l = 0; l < level_count(); ++l)
    if (same(levels[l].linux_name) || same(levels[l].hw_name)) return l;
  return std::nullopt;
}

std::string PagingMode::level_names() const {
  std::string known;
  for (const LevelDesc& d : levels) {
    if (!known.empty()) known += ", ";
    known.append(d.linux_name).append("/").append(d.hw_name);
  }
  return known;
}

}  // namespace pagewalk
