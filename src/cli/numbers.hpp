// Numbers on the command line and on stdin. Addresses, raw entries and frame numbers are hex,
// with or without 0x, as crash, /proc/PID/maps and QEMU's `info tlb` write them; PIDs,
// counts and sizes are decimal. Either default gives way to a prefix: 0x for hex, 0n for
// decimal (WinDbg's form; 'n' is no hex digit, so 0n is never an address). Underscores and
// ' may group digits (0xffff_8880_0000_0000).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "core/text.hpp"  // human_size, put_*: the text writers every client shares

namespace pagewalk::cli {

// What a number without a prefix is read as.
enum class Radix { Hex, Decimal };

[[nodiscard]] tl::expected<uint64_t, std::string> parse_number(std::string_view text, Radix bare);
// An address, raw entry or frame number: bare digits are hex.
[[nodiscard]] inline tl::expected<uint64_t, std::string> parse_address(std::string_view text) {
  return parse_number(text, Radix::Hex);
}
// A PID, count or size: bare digits are decimal.
[[nodiscard]] inline tl::expected<uint64_t, std::string> parse_count(std::string_view text) {
  return parse_number(text, Radix::Decimal);
}
// Input text for a message: at most 64 bytes, unprintable bytes escaped.
[[nodiscard]] std::string shown_input(std::string_view text);

// Command-line arguments: throw CliError(kBadInput) naming `what`.
[[nodiscard]] uint64_t address_arg(const std::string& text, const char* what);
[[nodiscard]] uint64_t count_arg(const std::string& text, const char* what);

// A VA window [from, to), from map's --from and --to (no `to`: up to the top).
struct VaWindow {
  uint64_t from = 0;
  std::optional<uint64_t> to;
  // --from and --to as given ("" when not): throws CliError on an empty or reversed window.
  static VaWindow from_args(const std::string& from, const std::string& to);
};

// Each byte's value as a hex digit, or 0x10 when it is none.
inline constexpr auto kHexDigitValue = [] {
  std::array<uint8_t, 256> t{};
  for (unsigned c = 0; c < 256; ++c)
    t[c] = c >= '0' && c <= '9'   ? static_cast<uint8_t>(c - '0')
           : c >= 'a' && c <= 'f' ? static_cast<uint8_t>(c - 'a' + 10)
           : c >= 'A' && c <= 'F' ? static_cast<uint8_t>(c - 'A' + 10)
                                  : uint8_t{0x10};
  return t;
}();

// Fast path for batch addresses: hex digits with or without 0x, no grouping. Returns nullopt
// when the slow, explaining parser is needed. One table lookup per digit, and one test of
// all of them at the end, rather than three range tests per digit.
[[nodiscard]] inline std::optional<uint64_t> parse_address_fast(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  unsigned bad = 0;
  for (const char c : s) {
    const unsigned d = kHexDigitValue[static_cast<unsigned char>(c)];
    bad |= d;
    v = (v << 4) | (d & 0xf);
  }
  if (bad & 0x10) return std::nullopt;
  return v;
}

}  // namespace pagewalk::cli
