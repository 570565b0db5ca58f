#include "core/text.hpp"

namespace pagewalk {

namespace {

// Writes v's decimal digits backwards ending at `end`; returns where they start.
char* digits_before(char* end, uint64_t v) {
  do {
    *--end = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  return end;
}

}  // namespace

// Digits are written in place, not copied from a scratch buffer: a copy of a few bytes of
// varying length is a library call, and costs more than the digits.
unsigned dec_len(uint64_t v) {
  unsigned n = 1;
  for (; v >= 10; v /= 10) ++n;
  return n;
}

char* put_dec(char* p, uint64_t v) {
  char* end = p + dec_len(v);
  digits_before(end, v);
  return end;
}

char* put_size(char* p, uint64_t bytes, size_t width) {
  // The largest unit the size reaches, with one decimal when it is not a whole number of
  // them: 4K, 2M, 10.5M, 16E (what ls -h and df -h print).
  constexpr char units[] = {'B', 'K', 'M', 'G', 'T', 'P', 'E'};
  unsigned u = 0;
  while (u + 1 < sizeof units && bytes >> (10 * (u + 1)) != 0) ++u;
  const unsigned shift = 10 * u;
  uint64_t whole = bytes >> shift;
  const uint64_t rest = bytes - (whole << shift);
  uint64_t tenth = 0;
  bool exact = rest == 0;
  if (!exact) {
    // rest < 2^60, so 10 * rest fits; rounded to the nearest tenth.
    tenth = (rest * 10 + (uint64_t{1} << shift) / 2) >> shift;
    if (tenth == 10) whole += 1, tenth = 0;
  }
  const size_t len = dec_len(whole) + (exact ? 0 : 2) + 1;
  for (; width > len; --width) *p++ = ' ';
  p = put_dec(p, whole);
  if (!exact) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + tenth);
  }
  *p++ = units[u];
  return p;
}

void append_dec(std::string& out, uint64_t v) {
  char* p = open_tail(out, 20);
  close_tail(out, put_dec(p, v));
}

void append_size(std::string& out, uint64_t bytes, size_t width) {
  char* p = open_tail(out, 24 + width);
  close_tail(out, put_size(p, bytes, width));
}

std::string human_size(uint64_t bytes) {
  std::string s;
  append_size(s, bytes, 0);
  return s;
}

}  // namespace pagewalk
