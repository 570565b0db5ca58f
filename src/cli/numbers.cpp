#include "cli/numbers.hpp"

#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "cli/errors.hpp"

namespace pagewalk::cli {

std::string shown_input(std::string_view text) {
  // At most 64 bytes of it, control bytes and non-ASCII as \xNN: one short, printable line.
  std::string out;
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  if (text.size() > 64) out += fmt::format("... ({} bytes)", text.size());
  return out;
}


tl::expected<uint64_t, std::string> parse_number(std::string_view text, Radix bare) {
  std::string_view s = text;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  int base = bare == Radix::Hex ? 16 : 10;
  const bool prefixed = s.size() > 2 && s[0] == '0' && std::strchr("xXnN", s[1]) != nullptr;
  if (prefixed) {
    base = s[1] == 'x' || s[1] == 'X' ? 16 : 10;
    s.remove_prefix(2);
  }
  std::string digits;
  for (char c : s)
    if (c != '_' && c != '\'') digits += c;
  if (digits.empty()) return tl::unexpected(fmt::format("'{}' is not a number", shown_input(text)));
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (ec == std::errc::result_out_of_range)
    return tl::unexpected(fmt::format("'{}' does not fit in 64 bits", shown_input(text)));
  if (ec != std::errc() || p != digits.data() + digits.size())
    return tl::unexpected(fmt::format("'{}' is not a {} number{}", shown_input(text), base == 16 ? "hex" : "decimal",
                                      prefixed         ? ""
                                      : base == 16     ? " (addresses are hex; 0n marks decimal)"
                                                       : " (counts are decimal; 0x marks hex)"));
  return v;
}

uint64_t address_arg(const std::string& text, const char* what) {
  auto v = parse_address(text);
  if (!v) throw CliError(kBadInput, fmt::format("{}: {}", what, v.error()));
  return *v;
}

uint64_t count_arg(const std::string& text, const char* what) {
  auto v = parse_count(text);
  if (!v) throw CliError(kBadInput, fmt::format("{}: {}", what, v.error()));
  return *v;
}

VaWindow VaWindow::from_args(const std::string& from, const std::string& to) {
  VaWindow w;
  if (!from.empty()) w.from = address_arg(from, "--from");
  if (!to.empty()) {
    w.to = address_arg(to, "--to");
    if (*w.to == 0) throw CliError(kBadInput, "--to 0: the window is empty");
    if (*w.to <= w.from) throw CliError(kBadInput, "--to must be above --from");
  }
  return w;
}

}  // namespace pagewalk::cli
