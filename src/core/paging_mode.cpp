#include "core/paging_mode.hpp"

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

}  // namespace pagewalk
