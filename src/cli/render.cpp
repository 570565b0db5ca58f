#include "cli/render.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "core/architecture.hpp"
#include "target/describe.hpp"
#include "target/target.hpp"
#include "cli/io.hpp"
#include "cli/numbers.hpp"

namespace pagewalk::cli {
namespace {

auto sink(std::string& out) { return std::back_inserter(out); }

FlagNames flags_of(const Paging& p, unsigned level, uint64_t raw) {
  return p.mode->arch->flag_names(*p.mode, level, raw, p.options);
}

// A split mode's trace or range is printed in its region's tree (PagingMode::trees): `print`
// gets that tree's paging. Out of line, so that the rows of a uniform mode pay one test.
template <typename Print>
[[gnu::noinline]] void in_tree(const Paging& space, unsigned region, const Print& print) {
  print(space.for_region(region));
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

namespace {

// {"kernel":"rwx","user":"rwx"}: 29 bytes for every Access.
constexpr AccessTable<29> kAccessJson([](Access a, auto put) {
  put(R"({"kernel":")");
  put(Access::rwx(a.kernel()));
  put(R"(","user":")");
  put(Access::rwx(a.user()));
  put(R"("})");
});

}  // namespace

void write_access(JsonWriter& w, Access a) {
  w.raw(kAccessJson[a]);
}

void write_target(JsonWriter& w, std::string_view kind, std::string_view name, std::string_view format) {
  w.key("target").object().key("kind").str(kind).key("name").str(name).key("format").str(format).end();
}

void write_process(JsonWriter& w, int pid, std::string_view comm) {
  w.key("process").object().key("pid").num(pid).key("comm").str(comm).end();
}

std::string join_flags(const Paging& paging, unsigned level, uint64_t raw) { return flags_of(paging, level, raw).join(); }

std::string reason(const Paging& paging, const Translation& t, const SourceNotes& notes) {
  return target::translation_reason(paging, t, notes.unreadable_why);
}

void append_trace(std::string& out, const Paging& paging, const Translation& t, const SourceNotes& notes) {
  target::append_translation_trace(out, paging, t, notes);
}

void append_brief_header(std::string& out) {
  fmt::format_to(sink(out), "{:<18}  {:<13}  {:<18}  {:>4}  {}\n", "VA", "STATUS", "PA", "SIZE", "ACCESS");
}

// The batch path writes millions of these: the line is built in place (open_tail), as the
// JSON lines are, so its speed does not hang on what the compiler inlines.
void append_brief(std::string& out, const Paging& paging, const Translation& t, const SourceNotes& notes) {
  if (t.status == Status::Mapped || t.status == Status::ProtNone) {
    const std::string_view status = to_string(t.status);
    char* p = open_tail(out, 128);
    p = put_hex16(p, t.va.value());
    p = put(p, "  ");
    p = put(p, status);
    std::memset(p, ' ', 15 - status.size());  // padded to 13, then two spaces
    p += 15 - status.size();
    p = put_hex16(p, t.pa.value());
    p = put(p, "  ");
    // The size right-aligned in 4 columns (put_size writes the largest unit: 4K, 2M, 1G).
    p = put_size(p, t.page_size, 4);
    p = put(p, "  ");
    if (t.status == Status::Mapped) {
      const auto& text = kAccessNames.text[t.access.bits()];
      std::memcpy(p, text.data(), text.size());
      p += kAccessNames.length[t.access.bits()];
    } else {
      p = put(p, "none");
    }
    *p++ = '\n';
    close_tail(out, p);
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
      JsonWriter w(s.json);
      w.strings(flags_of(p, level, raw));
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

}  // namespace

// The batch path writes millions of these: the writer works in place, and the flag arrays
// come from the cache; only the rare members (swap, reasons) are formatted.
void write_translation(JsonWriter& w, const Paging& paging, const Translation& t, const SourceNotes& notes,
                       bool with_steps) {
  if (paging.mode->split() && t.status != Status::NoRegion) [[unlikely]]
    return in_tree(paging, t.region, [&](const Paging& tree) { write_translation(w, tree, t, notes, with_steps); });
  const PagingMode& m = *paging.mode;
  w.key("va").hex(t.va.value()).key("status").str(to_string(t.status));
  if (t.status == Status::Mapped || t.status == Status::ProtNone) {
    w.key("pa").hex(t.pa.value()).key("pfn").hex(t.pa.value() >> m.page_shift()).key("page_size").num(t.page_size);
  }
  if (t.status == Status::Mapped) {
    w.key("access");
    write_access(w, t.access);
    if (!notes.frame_held) w.key("frame_in_source").boolean(false);
    if (!with_steps) return;  // the whole one-line answer
  }
  if (t.status == Status::Swap) {
    w.key("swap").object().key("type").num(t.swap_type).key("offset").hex(t.swap_offset);
    w.key("kind").str(m.arch->swap_kind(t.swap_type)).end();
  }
  if (t.status == Status::Unreadable) w.key("unreadable_pa").hex(t.unreadable.value());
  if (t.status != Status::Mapped) w.key("reason").str(reason(paging, t, notes));  // may quote the source
  if (!with_steps) return;
  w.key("steps").array();
  for (unsigned i = 0; i < t.nsteps; ++i) {
    const Step& s = t.steps[i];
    const LevelDesc& l = m.levels[s.level];
    w.object().key("level").str(l.linux_name).key("hw_level").str(l.hw_name);
    w.key("table").hex(s.table.value()).key("index").num(s.index).key("entry_pa").hex(s.entry_addr.value());
    if (i + 1 < t.nsteps || t.status != Status::Unreadable)
      w.key("raw").hex(s.raw).key("flags").raw(flags_json(paging, s.level, s.raw));
    w.end();
  }
  w.end();
}

void table_translation_header(DelimitedWriter& t) {
  t.header({"va", "status", "pa", "pfn", "page_size", "access_kernel", "access_user", "reason"});
}

void table_translation(DelimitedWriter& t, const Paging& paging, const Translation& tr, const SourceNotes& notes) {
  if (paging.mode->split() && tr.status != Status::NoRegion) [[unlikely]]
    return in_tree(paging, tr.region, [&](const Paging& tree) { table_translation(t, tree, tr, notes); });
  t.hex(tr.va.value()).str(to_string(tr.status));
  if (tr.status == Status::Mapped || tr.status == Status::ProtNone)
    t.hex(tr.pa.value()).hex(tr.pa.value() >> paging.mode->page_shift()).num(tr.page_size);
  else
    t.empty().empty().empty();
  if (tr.status == Status::Mapped)
    t.str(Access::rwx(tr.access.kernel())).str(Access::rwx(tr.access.user())).empty();
  else
    t.empty().empty().str(reason(paging, tr, notes));
  t.end();
}

void append_range_header(std::string& out) {
  fmt::format_to(sink(out), "{:<37}  {:>6}  {:<18}  {:<4}  {:<11}  {}\n", "VA RANGE", "SIZE", "PA", "LVL", "ACCESS",
                 "FLAGS");
}

void append_range(std::string& out, const Paging& paging, const Range& r) {
  if (paging.mode->split() && r.kind != RangeKind::NoRegion) [[unlikely]]
    return in_tree(paging, r.region, [&](const Paging& tree) { append_range(out, tree, r); });
  const uint64_t end = r.start.value() + r.size;
  fmt::format_to(sink(out), "0x{:016x}-0x{:016x}  {:>6}  ", r.start.value(), end, human_size(r.size));
  if (r.kind == RangeKind::Mapped) {
    fmt::format_to(sink(out), "0x{:016x}  {:<4}  {:<11}  {}", r.pa.value(), paging.mode->levels[r.level].linux_name,
                   access_view(r.access), join_flags(paging, r.level, r.raw));
    // Merged by attributes: the PA column is where the row starts; say that it jumps.
    if (r.pa_runs > 1) fmt::format_to(sink(out), "  (PA jumps: {} runs)", r.pa_runs);
    out += '\n';
  } else if (r.kind == RangeKind::Loop) {
    fmt::format_to(sink(out), "{:<18}  {:<4}  loop: entry 0x{:x} points back at table 0x{:x}\n", "-",
                   paging.mode->levels[r.level].linux_name, r.raw, r.pa.value());
  } else {
    fmt::format_to(sink(out), "{:<18}  {:<4}  {}\n", "-", "-", to_string(r.kind));
  }
}

void write_range(JsonWriter& w, const Paging& paging, const Range& r) {
  if (paging.mode->split() && r.kind != RangeKind::NoRegion) [[unlikely]]
    return in_tree(paging, r.region, [&](const Paging& tree) { write_range(w, tree, r); });
  const PagingMode& m = *paging.mode;
  w.key("start").hex(r.start.value()).key("end").range_end(r.start.value(), r.size).key("kind").str(to_string(r.kind));
  if (r.kind == RangeKind::Mapped) {
    w.key("pa").hex(r.pa.value()).key("pfn").hex(r.pa.value() >> m.page_shift());
    w.key("page_size").num(m.span(r.level)).key("pages").num(r.pages).key("pa_runs").num(r.pa_runs);
    w.key("level").str(m.levels[r.level].linux_name).key("access");
    write_access(w, r.access);
    w.key("flags").raw(flags_json(paging, r.level, r.raw));
  } else if (r.kind == RangeKind::Loop) {
    w.key("level").str(m.levels[r.level].linux_name).key("raw").hex(r.raw).key("table").hex(r.pa.value());
  }
}

void table_range_header(DelimitedWriter& t) {
  t.header({"start", "end", "kind", "pa", "pfn", "page_size", "pages", "pa_runs", "level", "access_kernel",
            "access_user", "flags"});
}

void table_range(DelimitedWriter& t, const Paging& paging, const Range& r) {
  if (paging.mode->split() && r.kind != RangeKind::NoRegion) [[unlikely]]
    return in_tree(paging, r.region, [&](const Paging& tree) { table_range(t, tree, r); });
  const PagingMode& m = *paging.mode;
  t.hex(r.start.value());
  // The exclusive end, 2^64 in full at the top of the space.
  char end[24];
  t.str(std::string_view(end, static_cast<size_t>(put_range_end(end, r.start.value(), r.size) - end)));
  t.str(to_string(r.kind));
  if (r.kind == RangeKind::Mapped) {
    t.hex(r.pa.value()).hex(r.pa.value() >> m.page_shift()).num(m.span(r.level)).num(r.pages).num(r.pa_runs);
    t.str(m.levels[r.level].linux_name).str(Access::rwx(r.access.kernel())).str(Access::rwx(r.access.user()));
    t.str(join_flags(paging, r.level, r.raw));
  } else {
    for (int i = 0; i < 5; ++i) t.empty();
    if (r.kind == RangeKind::Loop) t.str(m.levels[r.level].linux_name);  // where the loop is
    else t.empty();
    for (int i = 0; i < 3; ++i) t.empty();
  }
  t.end();
}

}  // namespace pagewalk::cli
