// Translations in words, for every client: why an address is not mapped (the `reason` the
// CLI prints and the Python module returns), the names of an entry's flags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/walk.hpp"

namespace pagewalk::target {

// Why `t` is not mapped ("" when it is). `unreadable_why` is the source's own words for a
// table it could not read (read_failure); empty: "the source has no such bytes".
[[nodiscard]] std::string translation_reason(const Paging& paging, const Translation& t,
                                             std::string_view unreadable_why = {});

}  // namespace pagewalk::target
