// Every architecture pagewalk knows and every paging mode they define: what `modes` lists
// and `--mode` accepts.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/architecture.hpp"

namespace pagewalk::arch {

[[nodiscard]] std::span<const Architecture* const> all_architectures();
[[nodiscard]] const Architecture* find_architecture(std::string_view name);
// Every mode of every architecture, in the registry's order.
[[nodiscard]] const std::vector<const PagingMode*>& all_modes();
[[nodiscard]] const PagingMode* find_mode(std::string_view name);
// "x86-64-4level, x86-64-5level, ..." for messages.
[[nodiscard]] std::string mode_names();

}  // namespace pagewalk::arch
