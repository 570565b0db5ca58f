// Text for people that every client writes alike: sizes ("4K", "2M THP"), decimal digits,
// and effective access ("rw- user"). The batch paths print millions of lines with these, so
// the writers build in place (open_tail, put_*) instead of appending piece by piece.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/access.hpp"

namespace pagewalk {

// "4K", "2M", "1G" style sizes for people.
[[nodiscard]] std::string human_size(uint64_t bytes);
// The same appended without allocating, right-aligned in `width` (hot output paths).
void append_size(std::string& out, uint64_t bytes, size_t width);
// Decimal, appended without allocating.
void append_dec(std::string& out, uint64_t v);

// The hot output paths build a whole line in place: open_tail() gives `room` writable bytes
// at the end of out, the put_* writers return where they stopped, close_tail() trims the
// rest. One resize per line costs less than one append per field.
[[nodiscard]] inline char* open_tail(std::string& out, size_t room) {
  const size_t n = out.size();
  out.resize(n + room);
  return out.data() + n;
}
inline void close_tail(std::string& out, const char* end) { out.resize(static_cast<size_t>(end - out.data())); }
inline char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
// At most 20 bytes.
char* put_dec(char* p, uint64_t v);
// At most max(width, 24) bytes.
char* put_size(char* p, uint64_t bytes, size_t width);

// A string for each of the 64 Access values, built at compile time by form(access, put):
// the batch paths print millions of them.
template <size_t N>
struct AccessTable {
  std::array<std::array<char, N>, 64> text{};
  std::array<uint8_t, 64> length{};
  template <typename Form>
  constexpr explicit AccessTable(Form form) {
    for (unsigned bits = 0; bits < 64; ++bits) {
      unsigned n = 0;
      form(Access(static_cast<uint8_t>(bits)), [&](std::string_view s) {
        for (char c : s) text[bits][n++] = c;
      });
      length[bits] = static_cast<uint8_t>(n);
    }
  }
  [[nodiscard]] constexpr std::string_view operator[](Access a) const { return {text[a.bits()].data(), length[a.bits()]}; }
};

// "rw- user", "r-- kernel", "user r-x, kernel rwx" (access_view).
inline constexpr AccessTable<24> kAccessNames([](Access a, auto put) {
  if (a.user() == 0) {
    put(Access::rwx(a.kernel()));
    put(" kernel");
  } else if (a.user() == a.kernel()) {
    put(Access::rwx(a.user()));
    put(" user");
  } else {
    put("user ");
    put(Access::rwx(a.user()));
    put(", kernel ");
    put(Access::rwx(a.kernel()));
  }
});

// "rw- user" (the kernel's rights are the same), "r-- kernel" (no user access), or both
// when they differ: "user r-x, kernel rwx".
inline std::string_view access_view(Access a) { return kAccessNames[a]; }

}  // namespace pagewalk
