#include "cli/io.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

#include "cli/errors.hpp"
#include "cli/numbers.hpp"

namespace pagewalk::cli {

namespace {

// The 16 lowercase hex digits of v, most significant first. Hot in the batch and live
// paths (three per output row), so with SSE2 (every x86-64): nibbles spread into bytes,
// then '0'..'9' or 'a'..'f' by one compare.
void hex_digits16(uint64_t v, char* out) {
#if defined(__SSE2__)
  const __m128i bytes = _mm_cvtsi64_si128(static_cast<long long>(__builtin_bswap64(v)));
  const __m128i low4 = _mm_set1_epi8(0x0f);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low4);
  const __m128i lo = _mm_and_si128(bytes, low4);
  const __m128i nibbles = _mm_unpacklo_epi8(hi, lo);
  const __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters));
#else
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kDigits[v & 0xf];
#endif
}

}  // namespace

// The digits are stored straight where they belong and never read back: reading part of
// a 16-byte store stalls store-to-load forwarding.
char* put_hex16(char* p, uint64_t v) {
  p[0] = '0';
  p[1] = 'x';
  hex_digits16(v, p + 2);
  return p + 18;
}

// The significant digits shifted to the front: all 16 are written, the end returned is
// after the n that count (the rest is overwritten or trimmed by the caller).
char* put_hex(char* p, uint64_t v) {
  const int n = v ? 16 - __builtin_clzll(v) / 4 : 1;
  p[0] = '0';
  p[1] = 'x';
  hex_digits16(n == 16 ? v : v << (4 * (16 - n)), p + 2);
  return p + 2 + n;
}

void append_hex16(std::string& out, uint64_t v) {
  char* p = open_tail(out, 18);
  close_tail(out, put_hex16(p, v));
}

void append_hex(std::string& out, uint64_t v) {
  char* p = open_tail(out, 18);
  close_tail(out, put_hex(p, v));
}

std::string hex(uint64_t v) {
  std::string s;
  append_hex(s, v);
  return s;
}

namespace {
bool stdin_closed = false;
}

bool reserve_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free descriptor is this one.
    if (::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) std::abort();
    if (fd == 0) stdin_closed = true;
  }
  return stdin_closed;
}

void require_stdin() {
  if (stdin_closed)
    throw CliError(kBadInput, "standard input is closed: give the addresses as arguments, or pipe them in");
}

void check_stdout() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw CliError(kTargetError, fmt::format("cannot write the output: {}", std::strerror(errno ? errno : EIO)));
}

void Output::flush() {
  if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size()) {
    buf_.clear();
    check_stdout();
  }
  buf_.clear();
}

void Output::write_front(size_t n) {
  if (n && std::fwrite(buf_.data(), 1, n, stdout) != n) {
    buf_.clear();
    check_stdout();
  }
}

void LineSplitter::emit(std::string_view line, const Sink& f) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (!line.empty() && line.front() != '#') f(line);
}

void LineSplitter::feed(std::string_view chunk, const Sink& f) {
  size_t start = 0;
  while (true) {
    const size_t nl = chunk.find('\n', start);
    const std::string_view piece = chunk.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (nl == std::string_view::npos) {
      carry_.append(piece.substr(0, kMaxLine - std::min(kMaxLine, carry_.size())));
      return;
    }
    if (carry_.empty()) {
      emit(piece.substr(0, kMaxLine), f);
    } else {
      carry_.append(piece.substr(0, kMaxLine - std::min(kMaxLine, carry_.size())));
      emit(carry_, f);
      carry_.clear();
    }
    start = nl + 1;
  }
}

void LineSplitter::finish(const Sink& f) {
  if (!carry_.empty()) emit(carry_, f);
  carry_.clear();
}

void for_each_stdin_line(const std::function<void(std::string_view)>& f) {
  require_stdin();
  LineSplitter lines;
  std::vector<char> block(1 << 20);
  size_t n;
  while ((n = std::fread(block.data(), 1, block.size(), stdin)) > 0) lines.feed(std::string_view(block.data(), n), f);
  lines.finish(f);
}

}  // namespace pagewalk::cli
