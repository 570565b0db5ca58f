#include "cli/json_writer.hpp"

#include <algorithm>

namespace pagewalk::cli {

char* put_range_end(char* p, uint64_t start, uint64_t size) {
  const uint64_t end = start + size;
  if (size != 0 && end == 0) return put(p, "0x10000000000000000");
  return put_hex(p, end);
}

// The room is zero-filled by resize: 64 KiB at a time, and kept between records
// (flush_when_full), makes that one memset per flush of the output.
void JsonWriter::grow(size_t n) {
  const size_t used = p_ ? static_cast<size_t>(p_ - out_.data()) : out_.size();
  out_.resize(used + std::max<size_t>(n, size_t{1} << 16));
  p_ = out_.data() + used;
  end_ = out_.data() + out_.size();
}

JsonWriter& JsonWriter::escaped_str(std::string_view s) {
  // At most 6 bytes per input byte (\u001f), and the quotes.
  char* p = value(2 + 6 * s.size());
  *p++ = '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': p = put(p, "\\\""); break;
        case '\\': p = put(p, "\\\\"); break;
        case '\n': p = put(p, "\\n"); break;
        case '\t': p = put(p, "\\t"); break;
        case '\r': p = put(p, "\\r"); break;
        default:
          if (c < 0x20) {
            static constexpr char kDigits[] = "0123456789abcdef";
            p = put(p, "\\u00");
            *p++ = kDigits[c >> 4];
            *p++ = kDigits[c & 15];
          } else {
            *p++ = static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) is
    // copied; anything else is one replacement character per byte.
    const size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = n != 0 && c <= 0xf4 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && n >= 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) && !(c == 0xf0 && c1 < 0x90) &&
           !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      p = put(p, s.substr(i, n));
      i += n;
    } else {
      p = put(p, "\xEF\xBF\xBD");
      ++i;
    }
  }
  *p++ = '"';
  p_ = p;
  return *this;
}

void append_json_string(std::string& out, std::string_view s) {
  JsonWriter w(out);
  w.str(s);
}

}  // namespace pagewalk::cli
