// One CPU's registers as a source gives them (a dump's notes, a gdbstub's vCPU), by name.
// Only the architecture knows which of them choose the paging mode and the roots.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagewalk {

struct CpuState {
  unsigned index = 0;
  std::string arch;    // the architecture's name (core/architecture.hpp) whose registers these are
  std::string source;  // which note or stub the values came from
  std::vector<std::pair<std::string, uint64_t>> registers;  // lower-case names, in the source's order

  [[nodiscard]] std::optional<uint64_t> get(std::string_view name) const {
    for (const auto& [n, v] : registers)
      if (n == name) return v;
    return std::nullopt;
  }
  [[nodiscard]] uint64_t get_or(std::string_view name, uint64_t fallback) const { return get(name).value_or(fallback); }
  void set(std::string_view name, uint64_t value) {
    for (auto& [n, v] : registers)
      if (n == name) {
        v = value;
        return;
      }
    registers.emplace_back(std::string(name), value);
  }
};

}  // namespace pagewalk
