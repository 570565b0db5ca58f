// Output buffering and batch input shared by the commands.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace pagewalk::cli {

// Buffered stdout: large writes, flushed at the end or when the buffer grows.
class Output {
 public:
  Output() = default;
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() { flush(); }
  std::string& buf() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= (1u << 16)) flush();
  }
  void flush() {
    if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), stdout);
    buf_.clear();
  }

 private:
  std::string buf_;
};

// Reads stdin in large blocks and calls f for every non-empty, non-comment line, trimmed.
void for_each_stdin_line(const std::function<void(std::string_view)>& f);

// "0x..." with no padding.
[[nodiscard]] std::string hex(uint64_t v);
void append_hex(std::string& out, uint64_t v);
// "0x" and 16 digits (aligned columns).
void append_hex16(std::string& out, uint64_t v);
// The same two written at p, which must have room for 18 bytes; they return the end.
char* put_hex(char* p, uint64_t v);
char* put_hex16(char* p, uint64_t v);

}  // namespace pagewalk::cli
