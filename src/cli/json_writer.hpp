// The one JSON writer of the command line. Every document and stream line goes through it,
// so every string is escaped one way, addresses are one form ("0x1f") and a range's end
// one form (exclusive, 2^64 written in full): the schema is docs/schema/pagewalk.schema.json.
//
// It writes in place at the end of a std::string: room() grows the string ahead of the
// writes and sync() trims it to what was written, so a field costs a compare and a memcpy
// (the translate and map streams write millions of lines). While a writer is open on a
// string nothing else may append to it; sync() first.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cli/io.hpp"
#include "cli/numbers.hpp"

// The writer's small members are the streams' inner loop: inlined into the callers, a
// member name becomes a few constant-size stores.
#define PAGEWALK_JSON_INLINE [[gnu::always_inline]] inline

namespace pagewalk::cli {

// Version of the JSON output; docs/json-schema.md says what changed.
inline constexpr int kSchemaVersion = 3;

// An exclusive end: the top of a 64-bit space as 0x10000000000000000, never 0x0.
char* put_range_end(char* p, uint64_t start, uint64_t size);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;
  ~JsonWriter() { sync(); }

  // Trims the string to what has been written and returns it.
  std::string& sync() {
    if (p_) {
      out_.resize(static_cast<size_t>(p_ - out_.data()));
      p_ = end_ = nullptr;
    }
    return out_;
  }

  // After the string's bytes up to size() were written out elsewhere: start again at its
  // front, keeping the room (nothing to clear, nothing to grow).
  void rewind() {
    if (p_) {
      end_ = out_.data() + out_.size();
      p_ = out_.data();
    } else {
      out_.clear();
    }
  }

  // Bytes in the string, the writer's part included.
  [[nodiscard]] size_t size() const { return p_ ? static_cast<size_t>(p_ - out_.data()) : out_.size(); }

  // A record: a document, a stream line, opened with its schema version and command.
  PAGEWALK_JSON_INLINE JsonWriter& record(std::string_view command) {
    static_assert(kSchemaVersion >= 0 && kSchemaVersion <= 9, "one digit below");
    constexpr std::string_view head = R"({"schema_version":0,"command":")";
    char* p = value(head.size() + command.size() + 1);
    p = put(p, head);
    p[-13] = static_cast<char>('0' + kSchemaVersion);  // the digit after "schema_version":
    p = put(p, command);
    *p++ = '"';
    p_ = p;
    ++depth_;
    has_member_ |= uint64_t{1} << depth_;
    arrays_ &= ~(uint64_t{1} << depth_);
    return *this;
  }
  PAGEWALK_JSON_INLINE JsonWriter& object() { return open('{', false); }
  PAGEWALK_JSON_INLINE JsonWriter& array() { return open('[', true); }
  // Closes the innermost object or array.
  PAGEWALK_JSON_INLINE JsonWriter& end() {
    if (depth_ == 0) throw std::logic_error("JsonWriter::end with nothing open");
    put_char((arrays_ >> depth_ & 1) ? ']' : '}');
    --depth_;
    return *this;
  }
  // After a top-level value: the next line of a stream.
  PAGEWALK_JSON_INLINE JsonWriter& newline() {
    put_char('\n');
    return *this;
  }

  // A member name. Names are the schema's own words, never input: written as they are.
  template <size_t N>
  PAGEWALK_JSON_INLINE JsonWriter& key(const char (&name)[N]) {
    char* p = room(N + 3);
    if (has_member_ >> depth_ & 1) *p++ = ',';
    has_member_ |= uint64_t{1} << depth_;
    *p++ = '"';
    std::memcpy(p, name, N - 1);
    p += N - 1;
    *p++ = '"';
    *p++ = ':';
    p_ = p;
    after_key_ = true;
    return *this;
  }
  JsonWriter& key(std::string_view name) {
    char* p = room(name.size() + 4);
    if (has_member_ >> depth_ & 1) *p++ = ',';
    has_member_ |= uint64_t{1} << depth_;
    *p++ = '"';
    p = put(p, name);
    *p++ = '"';
    *p++ = ':';
    p_ = p;
    after_key_ = true;
    return *this;
  }

  // A member name that comes from the input (a register's, a VMCOREINFO key): escaped.
  JsonWriter& name(std::string_view text) {
    char* p = room(1);
    if (has_member_ >> depth_ & 1) *p++ = ',';
    has_member_ |= uint64_t{1} << depth_;
    p_ = p;
    after_key_ = true;
    str(text);
    put_char(':');
    after_key_ = true;
    return *this;
  }

  // Values.
  // Escaped; bytes that are not UTF-8 become U+FFFD. Strings with nothing to escape (the
  // schema's words, most names) are copied whole.
  PAGEWALK_JSON_INLINE JsonWriter& str(std::string_view s) {
    if (!plain(s)) return escaped_str(s);
    char* p = value(s.size() + 2);
    *p++ = '"';
    p = put(p, s);
    *p++ = '"';
    p_ = p;
    return *this;
  }
  PAGEWALK_JSON_INLINE JsonWriter& hex(uint64_t v) {
    char* p = value(20);
    *p++ = '"';
    p = put_hex(p, v);
    *p++ = '"';
    p_ = p;
    return *this;
  }
  // The exclusive end of [start, start + size).
  PAGEWALK_JSON_INLINE JsonWriter& range_end(uint64_t start, uint64_t size) {
    char* p = value(22);
    *p++ = '"';
    p = put_range_end(p, start, size);
    *p++ = '"';
    p_ = p;
    return *this;
  }
  // The exclusive end after an inclusive last address.
  JsonWriter& end_after(uint64_t last) { return last == ~uint64_t{0} ? raw("\"0x10000000000000000\"") : hex(last + 1); }
  PAGEWALK_JSON_INLINE JsonWriter& num(uint64_t v) {
    p_ = put_dec(value(20), v);
    return *this;
  }
  JsonWriter& num(int v) { return v < 0 ? signed_num(v) : num(static_cast<uint64_t>(v)); }
  JsonWriter& num(unsigned v) { return num(static_cast<uint64_t>(v)); }
  JsonWriter& signed_num(int64_t v) {
    char* p = value(21);
    if (v < 0) *p++ = '-';
    p_ = put_dec(p, v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v));
    return *this;
  }
  JsonWriter& boolean(bool b) { return raw(b ? "true" : "false"); }
  JsonWriter& null() { return raw("null"); }
  // A value already in JSON (a cached array of flag names).
  PAGEWALK_JSON_INLINE JsonWriter& raw(std::string_view json) {
    p_ = put(value(json.size()), json);
    return *this;
  }
  // A JSON array of strings.
  template <typename Strings>
  JsonWriter& strings(const Strings& list) {
    array();
    for (const auto& s : list) str(s);
    return end();
  }

 private:
  // Room for n bytes at the write position.
  PAGEWALK_JSON_INLINE char* room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) grow(n);
    return p_;
  }
  void grow(size_t n);
  JsonWriter& escaped_str(std::string_view s);
  static bool plain(std::string_view s) {
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x80 || u == '"' || u == '\\') return false;
    }
    return true;
  }
  PAGEWALK_JSON_INLINE void put_char(char c) {
    *room(1) = c;
    ++p_;
  }
  // Room for a value of at most n bytes, after the comma an array element needs.
  PAGEWALK_JSON_INLINE char* value(size_t n) {
    char* p = room(n + 1);
    if (after_key_) {
      after_key_ = false;
    } else if (depth_ > 0) {
      if (has_member_ >> depth_ & 1) *p++ = ',';
      has_member_ |= uint64_t{1} << depth_;
    }
    return p;
  }
  PAGEWALK_JSON_INLINE JsonWriter& open(char c, bool is_array) {
    if (depth_ == 63) throw std::logic_error("JsonWriter: nested too deep");
    char* p = value(1);
    *p++ = c;
    p_ = p;
    ++depth_;
    has_member_ &= ~(uint64_t{1} << depth_);
    arrays_ = is_array ? arrays_ | (uint64_t{1} << depth_) : arrays_ & ~(uint64_t{1} << depth_);
    return *this;
  }

  std::string& out_;
  char* p_ = nullptr;
  char* end_ = nullptr;
  unsigned depth_ = 0;
  uint64_t has_member_ = 0;  // bit d: the container at depth d holds a value already
  uint64_t arrays_ = 0;      // bit d: the container at depth d is an array
  bool after_key_ = false;
};

// Flushes `out` once it holds 64 KiB, what `w` wrote into it included: the streams call it
// after every record, so that the writer keeps its room between records.
inline void flush_when_full(Output& out, JsonWriter& w) {
  if (w.size() >= (1u << 16)) {
    out.write_front(w.size());
    w.rewind();
  }
}

// A JSON string literal appended to out (the writer's escaping, for the few places that
// build a fragment on its own).
void append_json_string(std::string& out, std::string_view s);

}  // namespace pagewalk::cli
