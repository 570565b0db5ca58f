// Any bytes as the VAs a batch reads from stdin, split into chunks at places the input
// picks: lines are bounded, trimmed, comments skipped, every line seen once.
#include <cstdint>
#include <string_view>

#include "cli/io.hpp"
#include "cli/numbers.hpp"

using namespace pagewalk::cli;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  LineSplitter lines;
  size_t seen = 0;
  auto each = [&](std::string_view line) {
    if (line.empty() || line.size() > LineSplitter::kMaxLine || line.front() == '#') __builtin_trap();
    ++seen;
    const auto slow = parse_address(line);
    // The batch fast path answers only what the explaining parser answers the same way.
    if (const auto fast = parse_address_fast(line); fast && (!slow || *slow != *fast)) __builtin_trap();
    (void)parse_count(line);
    (void)shown_input(line);
  };
  for (size_t at = 0; at < all.size(); at += chunk) lines.feed(all.substr(at, chunk), each);
  lines.finish(each);
  if (seen > all.size()) __builtin_trap();
  return 0;
}
