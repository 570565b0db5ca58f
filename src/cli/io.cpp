#include "cli/io.hpp"

#include <vector>

#include <fmt/format.h>

namespace pagewalk::cli {

std::string hex(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[18];
  char* e = buf + sizeof buf;
  char* b = e;
  do {
    *--b = kDigits[v & 0xf];
    v >>= 4;
  } while (v);
  *--b = 'x';
  *--b = '0';
  return std::string(b, static_cast<size_t>(e - b));
}

void for_each_stdin_line(const std::function<void(std::string_view)>& f) {
  std::string carry;
  std::vector<char> block(1 << 20);
  size_t n;
  while ((n = std::fread(block.data(), 1, block.size(), stdin)) > 0) {
    std::string_view chunk(block.data(), n);
    size_t start = 0;
    while (true) {
      const size_t nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) {
        carry.append(chunk.substr(start));
        break;
      }
      std::string_view line = chunk.substr(start, nl - start);
      if (!carry.empty()) {
        carry.append(line);
        line = carry;
      }
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      if (!line.empty() && line.front() != '#') f(line);
      carry.clear();
      start = nl + 1;
    }
  }
  std::string_view last = carry;
  while (!last.empty() && (last.back() == '\r' || last.back() == ' ')) last.remove_suffix(1);
  if (!last.empty() && last.front() != '#') f(last);
}

}  // namespace pagewalk::cli
