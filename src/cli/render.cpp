#include "cli/render.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "core/architecture.hpp"
#include "target/target.hpp"
#include "cli/io.hpp"
#include "cli/numbers.hpp"

namespace pagewalk::cli {
namespace {

auto sink(std::string& out) { return std::back_inserter(out); }

void append_padded(std::string& out, std::string_view s, size_t width) {
  out += s;
  if (s.size() < width) out.append(width - s.size(), ' ');
}

FlagNames flags_of(const Paging& p, unsigned level, uint64_t raw) {
  return p.mode->arch->flag_names(*p.mode, level, raw, p.options);
}

}  // namespace

std::string access_string(Access a) { return std::string(access_view(a)); }

// A fixed-size copy and a trim: a variable-length copy here compiles to `rep movs`, which
// cost the brief stream a tenth of its speed.
void append_access(std::string& out, Access a) {
  const size_t n = out.size();
  const auto& text = kAccessNames.text[a.bits()];
  out.resize(n + text.size());
  std::memcpy(out.data() + n, text.data(), text.size());
  out.resize(n + kAccessNames.length[a.bits()]);
}

void append_access_json(std::string& out, Access a) {
  out += R"({"kernel":")";
  out += Access::rwx(a.kernel());
  out += R"(","user":")";
  out += Access::rwx(a.user());
  out += R"("})";
}

std::string join_flags(const Paging& paging, unsigned level, uint64_t raw) { return flags_of(paging, level, raw).join(); }

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) fmt::format_to(sink(out), "\\u{:04x}", static_cast<unsigned>(c));
          else out += static_cast<char>(c);
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
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  out += '"';
}

std::string reason(const Paging& paging, const Translation& t, const SourceNotes& notes) {
  const PagingMode& m = *paging.mode;
  switch (t.status) {
    case Status::Mapped:
      return "";
    case Status::NoRegion:
      return fmt::format("in no region of {} ({})", m.name, target::describe_regions(m));
    case Status::Unreadable:
      return fmt::format("the {} table entry at PA 0x{:x} cannot be read: {}", m.levels[t.last().level].linux_name,
                         t.unreadable.value(), notes.unreadable_why.empty() ? "the source has no such bytes"
                                                                           : notes.unreadable_why);
    default:
      break;
  }
  const Step& s = t.last();
  const std::string_view lvl = m.levels[s.level].linux_name;
  switch (t.status) {
    case Status::NotPresent:
      return s.raw == 0 ? fmt::format("{} entry is empty", lvl)
                        : fmt::format("{} entry is not present (0x{:x})", lvl, s.raw);
    case Status::Swap:
      return fmt::format("swapped out: {} entry holds swap type {} ({}), offset 0x{:x}", lvl, t.swap_type,
                         m.arch->swap_kind(t.swap_type), t.swap_offset);
    case Status::ProtNone:
      return fmt::format("PROT_NONE {} entry: no access; it would map PA 0x{:x}", lvl, t.pa.value());
    case Status::Reserved:
    {
      const uint64_t bits = paging.decode(s.level, s.raw).reserved;
      return fmt::format("reserved bit{} {} set in the {} entry 0x{:x}: the MMU would fault",
                         std::popcount(bits) == 1 ? "" : "s", bit_list(bits), lvl, s.raw);
    }
    default:
      return "";
  }
}

void append_trace(std::string& out, const Paging& paging, const Translation& t, const SourceNotes& notes) {
  const PagingMode& m = *paging.mode;
  if (t.status == Status::Mapped) {
    fmt::format_to(sink(out), "0x{:x} -> 0x{:x}  ({} page, {})\n", t.va.value(), t.pa.value(),
                   human_size(t.page_size), access_view(t.access));
  } else {
    fmt::format_to(sink(out), "0x{:x}: {}: {}\n", t.va.value(), to_string(t.status), reason(paging, t, notes));
  }
  if (t.nsteps == 0) return;
  fmt::format_to(sink(out), "  {:<10} {:<18} {:>9}  {:<18} {:<18} {}\n", "level", "table", "index", "entry at",
                 "entry", "flags");
  for (unsigned i = 0; i < t.nsteps; ++i) {
    const Step& s = t.steps[i];
    const LevelDesc& l = m.levels[s.level];
    const bool read = i + 1 < t.nsteps || t.status != Status::Unreadable;
    fmt::format_to(sink(out), "  {:<4} {:<5} 0x{:016x} {:>3} 0x{:03x}  0x{:016x} ", l.linux_name, l.hw_name,
                   s.table.value(), s.index, s.index, s.entry_addr.value());
    if (read)
      fmt::format_to(sink(out), "0x{:016x} {}\n", s.raw, join_flags(paging, s.level, s.raw));
    else
      out += "(unreadable)\n";
  }
  if (t.status == Status::Mapped || t.status == Status::ProtNone) {
    const uint64_t off = t.va.offset_in(t.page_size);
    fmt::format_to(sink(out), "  {:<10} 0x{:016x} + offset 0x{:x} = 0x{:x}\n", "page", (t.pa - off).value(), off,
                   t.pa.value());
  }
  if (t.status == Status::Mapped && !notes.frame_held)
    fmt::format_to(sink(out), "  note: PA 0x{:x} is not in the target's memory: the frame is mapped but its bytes "
                              "are not in this source\n", t.pa.value());
  for (const std::string& note : m.arch->access_notes(paging, t)) fmt::format_to(sink(out), "  note: {}\n", note);
}

void append_brief_header(std::string& out) {
  fmt::format_to(sink(out), "{:<18}  {:<13}  {:<18}  {:>4}  {}\n", "VA", "STATUS", "PA", "SIZE", "ACCESS");
}

void append_brief(std::string& out, const Paging& paging, const Translation& t, const SourceNotes& notes) {
  if (t.status == Status::Mapped || t.status == Status::ProtNone) {
    const std::string_view size = t.page_size == 4096         ? "4K"
                                  : t.page_size == (2u << 20) ? "2M"
                                  : t.page_size == (1u << 30) ? "1G"
                                                              : "?";
    append_hex16(out, t.va.value());
    out.append("  ", 2);
    append_padded(out, to_string(t.status), 13);
    out.append("  ", 2);
    append_hex16(out, t.pa.value());
    out.append("  ", 2);
    const std::string sz = size == "?" ? human_size(t.page_size) : std::string(size);
    out.append(sz.size() < 4 ? 4 - sz.size() : 0, ' ');
    out += sz;
    out.append("  ", 2);
    if (t.status == Status::Mapped) append_access(out, t.access);
    else out.append("none", 4);
    out += '\n';
  } else {
    fmt::format_to(sink(out), "0x{:016x}  {:<13}  {:<18}  {:>4}  {}\n", t.va.value(), to_string(t.status), "-", "-",
                   reason(paging, t, notes));
  }
}

namespace {

// The JSON array of an entry's flag names, kept for the last entries seen: a stream of
// translations meets the same few flag combinations over and over, and the names depend
// only on the architecture's flag_bits (tested per architecture).
class FlagJsonCache {
 public:
  std::string_view get(const Paging& p, unsigned level, uint64_t raw) {
    const uint64_t key = raw & p.mode->arch->flag_bits(*p.mode, level);
    Slot& s = slots_[(key * 0x9e3779b97f4a7c15ull >> 56) ^ level];
    if (!s.valid || s.key != key || s.level != level || s.mode != p.mode || s.pa_bits != p.options.pa_bits ||
        s.cpu_flags != p.options.cpu_flags || raw == 0 || s.zero) {
      s = {true, key, level, p.mode, p.options.pa_bits, p.options.cpu_flags, raw == 0, {}};
      s.json += '[';
      bool first = true;
      for (std::string_view f : flags_of(p, level, raw)) {
        if (!first) s.json += ',';
        first = false;
        s.json += '"';
        s.json += f;
        s.json += '"';
      }
      s.json += ']';
    }
    return s.json;
  }

 private:
  struct Slot {
    bool valid = false;
    uint64_t key = 0;
    unsigned level = 0;
    const PagingMode* mode = nullptr;
    uint8_t pa_bits = 0;
    uint32_t cpu_flags = 0;
    bool zero = false;  // flag_bits leave out whether the entry is zero: never reused
    std::string json;
  };
  std::array<Slot, 256> slots_;
};

// Valid until the next call.
std::string_view flags_json(const Paging& p, unsigned level, uint64_t raw) {
  thread_local FlagJsonCache cache;
  return cache.get(p, level, raw);
}

// The end of a range, exclusive: the top of the address space is written in full
// (0x10000000000000000) rather than wrapping to 0x0.
char* put_range_end(char* p, uint64_t start, uint64_t size) {
  const uint64_t end = start + size;
  if (size != 0 && end == 0) return put(p, "0x10000000000000000");
  return put_hex(p, end);
}

}  // namespace

// The batch path writes millions of these: each part goes straight into the end of the
// buffer (open_tail), sized from what it holds; only the rare fields (swap, reasons) go
// through fmt.
void append_translation_json(std::string& out, const Paging& paging, const Translation& t, const SourceNotes& notes,
                             bool with_steps) {
  const PagingMode& m = *paging.mode;
  const std::string_view status = to_string(t.status);
  char* p = open_tail(out, 256 + status.size());
  p = put(p, R"({"va":")");
  p = put_hex(p, t.va.value());
  p = put(p, R"(","status":")");
  p = put(p, status);
  *p++ = '"';
  if (t.status == Status::Mapped || t.status == Status::ProtNone) {
    p = put(p, R"(,"pa":")");
    p = put_hex(p, t.pa.value());
    p = put(p, R"(","page_size":)");
    switch (t.page_size) {  // the common sizes without a division loop
      case 4096: p = put(p, "4096"); break;
      case 2097152: p = put(p, "2097152"); break;
      case 1073741824: p = put(p, "1073741824"); break;
      default: p = put_dec(p, t.page_size);
    }
  }
  if (t.status == Status::Mapped) {
    p = put(p, R"(,"access":{"kernel":")");
    p = put(p, Access::rwx(t.access.kernel()));
    p = put(p, R"(","user":")");
    p = put(p, Access::rwx(t.access.user()));
    p = put(p, R"("})");
    if (!notes.frame_held) p = put(p, R"(,"frame_in_source":false)");
    if (!with_steps) {  // the whole one-line answer
      *p++ = '}';
      close_tail(out, p);
      return;
    }
  }
  close_tail(out, p);
  if (t.status == Status::Swap)
    fmt::format_to(sink(out), R"(,"swap":{{"type":{},"offset":"0x{:x}","kind":"{}"}})", t.swap_type, t.swap_offset,
                   m.arch->swap_kind(t.swap_type));
  if (t.status == Status::Unreadable) fmt::format_to(sink(out), R"(,"unreadable_pa":"0x{:x}")", t.unreadable.value());
  if (t.status != Status::Mapped) {
    out += R"(,"reason":)";
    append_json_string(out, reason(paging, t, notes));  // may quote the source's own words
  }
  if (!with_steps) {
    out += '}';
    return;
  }
  out += R"(,"steps":[)";
  for (unsigned i = 0; i < t.nsteps; ++i) {
    const Step& s = t.steps[i];
    const LevelDesc& l = m.levels[s.level];
    const bool read = i + 1 < t.nsteps || t.status != Status::Unreadable;
    const std::string_view flags = read ? flags_json(paging, s.level, s.raw) : std::string_view{};
    p = open_tail(out, 192 + l.linux_name.size() + l.hw_name.size() + flags.size());
    if (i) *p++ = ',';
    p = put(p, R"({"level":")");
    p = put(p, l.linux_name);
    p = put(p, R"(","hw_level":")");
    p = put(p, l.hw_name);
    p = put(p, R"(","table":")");
    p = put_hex(p, s.table.value());
    p = put(p, R"(","index":)");
    p = put_dec(p, s.index);
    p = put(p, R"(,"entry_addr":")");
    p = put_hex(p, s.entry_addr.value());
    *p++ = '"';
    if (read) {
      p = put(p, R"(,"raw":")");
      p = put_hex(p, s.raw);
      p = put(p, R"(","flags":)");
      p = put(p, flags);
    }
    *p++ = '}';
    close_tail(out, p);
  }
  out += "]}";
}

void append_range_header(std::string& out) {
  fmt::format_to(sink(out), "{:<37}  {:>6}  {:<18}  {:<4}  {:<11}  {}\n", "VA RANGE", "SIZE", "PA", "LVL", "ACCESS",
                 "FLAGS");
}

void append_range(std::string& out, const Paging& paging, const Range& r) {
  const uint64_t end = r.start.value() + r.size;
  fmt::format_to(sink(out), "0x{:016x}-0x{:016x}  {:>6}  ", r.start.value(), end, human_size(r.size));
  if (r.kind == RangeKind::Mapped) {
    fmt::format_to(sink(out), "0x{:016x}  {:<4}  {:<11}  {}\n", r.pa.value(),
                   paging.mode->levels[r.level].linux_name, access_view(r.access),
                   join_flags(paging, r.level, r.raw));
  } else if (r.kind == RangeKind::Loop) {
    fmt::format_to(sink(out), "{:<18}  {:<4}  loop: entry 0x{:x} points back at table 0x{:x}\n", "-",
                   paging.mode->levels[r.level].linux_name, r.raw, r.pa.value());
  } else {
    fmt::format_to(sink(out), "{:<18}  {:<4}  {}\n", "-", "-", to_string(r.kind));
  }
}

void append_range_json(std::string& out, const Paging& paging, const Range& r) {
  const std::string_view kind = to_string(r.kind);
  const std::string_view level = paging.mode->levels[r.level].linux_name;
  const std::string_view flags = r.kind == RangeKind::Mapped ? flags_json(paging, r.level, r.raw) : "";
  char* p = open_tail(out, 256 + kind.size() + level.size() + flags.size());
  p = put(p, R"({"va_start":")");
  p = put_hex(p, r.start.value());
  p = put(p, R"(","va_end":")");
  p = put_range_end(p, r.start.value(), r.size);
  p = put(p, R"(","kind":")");
  p = put(p, kind);
  *p++ = '"';
  if (r.kind == RangeKind::Mapped) {
    p = put(p, R"(,"pa_start":")");
    p = put_hex(p, r.pa.value());
    p = put(p, R"(","page_size":)");
    p = put_dec(p, r.page_size(*paging.mode));
    p = put(p, R"(,"pages":)");
    p = put_dec(p, r.pages);
    p = put(p, R"(,"level":")");
    p = put(p, level);
    p = put(p, R"(","access":{"kernel":")");
    p = put(p, Access::rwx(r.access.kernel()));
    p = put(p, R"(","user":")");
    p = put(p, Access::rwx(r.access.user()));
    p = put(p, R"("},"flags":)");
    p = put(p, flags);
    *p++ = '}';
    close_tail(out, p);
    return;
  }
  close_tail(out, p);
  if (r.kind == RangeKind::Loop) {
    fmt::format_to(sink(out), R"(,"level":"{}","raw":"0x{:x}","target":"0x{:x}")",
                   paging.mode->levels[r.level].linux_name, r.raw, r.pa.value());
  }
  out += '}';
}

}  // namespace pagewalk::cli
