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
  ~Output() {
    try {
      flush();
    } catch (...) {  // reported by check_stdout() at the end of the command
    }
  }
  std::string& buf() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= (1u << 16)) flush();
  }
  // A short write (a full disk) ends the command with one error; see check_stdout().
  void flush();
  // Writes the first n bytes and leaves the buffer as it is: a writer working in place
  // (JsonWriter) then reuses the same bytes without growing or clearing them again.
  void write_front(size_t n);

 private:
  std::string buf_;
};

// Descriptors 0, 1 and 2 that the caller left closed are opened on /dev/null, so that no
// file the tool opens later takes their place (an image read as the list of VAs). Returns
// whether stdin was closed.
bool reserve_standard_descriptors();
// Throws CliError(kBadInput) when the caller closed stdin (reserve_standard_descriptors):
// called before a command that reads it writes anything.
void require_stdin();
// Throws CliError when stdout had a write error (ENOSPC on /dev/full, EIO, ...).
void check_stdout();

// Splits text that arrives in chunks into lines: each trimmed of blanks (and a CR), empty
// lines and '#' comments skipped, and every line cut at kMaxLine bytes (a line is an
// address: past that it can only be wrong, and the rest of it is not kept).
class LineSplitter {
 public:
  static constexpr size_t kMaxLine = 4096;
  using Sink = std::function<void(std::string_view)>;
  void feed(std::string_view chunk, const Sink& f);
  void finish(const Sink& f);

 private:
  void emit(std::string_view line, const Sink& f);
  std::string carry_;
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
