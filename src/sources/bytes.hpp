// Fixed-size little-endian fields out of file headers and notes (x86 and the formats we read
// are little-endian; memcpy keeps unaligned reads defined).
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace pagewalk {

template <typename T>
[[nodiscard]] T load(const std::byte* p) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace pagewalk
