// Numbers on the command line and on stdin: hex with 0x, or decimal, as the articles use
// both. Underscores and ' may group digits (0xffff_8880_0000_0000).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace pagewalk::cli {

[[nodiscard]] tl::expected<uint64_t, std::string> parse_u64(std::string_view text);
// Input text for a message: at most 64 bytes, unprintable bytes escaped.
[[nodiscard]] std::string shown_input(std::string_view text);

// A number given as a command-line argument: throws CliError(kBadInput) naming `what`.
[[nodiscard]] uint64_t number_arg(const std::string& text, const char* what);

// Fast path for batch input: digits only, no grouping. Returns nullopt when the slow,
// explaining parser is needed.
[[nodiscard]] inline std::optional<uint64_t> parse_u64_fast(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    if (s.size() > 18) return std::nullopt;
    uint64_t v = 0;
    for (size_t i = 2; i < s.size(); ++i) {
      const char c = s[i];
      unsigned d;
      if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
      else return std::nullopt;
      v = (v << 4) | d;
    }
    return v;
  }
  return std::nullopt;
}

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

}  // namespace pagewalk::cli
