#include "cli/live_commands.hpp"

#include <unistd.h>

#include <optional>

#include <fmt/format.h>

#include "cli/errors.hpp"
#include "cli/io.hpp"
#include "cli/numbers.hpp"
#include "cli/render.hpp"
#include "live/process.hpp"

namespace pagewalk::cli {

using namespace std::string_view_literals;
namespace {

using live::LiveError;
using live::LiveStatus;
using live::Mapping;
using live::PageKind;

auto sink(std::string& out) { return std::back_inserter(out); }

// Every live failure means the target could not be read (no such process, no permission,
// exited, unparsable /proc file).
[[noreturn]] void fail(const LiveError& e) { throw CliError(kTargetError, e.message); }

int pid_or_throw(const std::string& text) {
  auto pid = live::parse_pid(text);
  if (!pid) throw CliError(kBadInput, fmt::format("--pid: {}", pid.error()));
  return *pid;
}

template <typename Names>
std::string join(const Names& names) {
  std::string s;
  for (const auto& n : names) {
    if (!s.empty()) s += ' ';
    s += n;
  }
  return s;
}

using live::region_text;

void write_region(JsonWriter& w, const Mapping& m) {
  w.key("region").object().key("start").hex(m.start.value()).key("end").hex(m.end.value());
  w.key("perms").str(m.perms_view()).key("offset").hex(m.offset).key("path").str(m.path).end();
}

// The JSON form of a pagemap entry: {"raw","flags"}.
void write_pagemap(JsonWriter& w, const live::PagemapEntry& e) {
  w.key("pagemap").object().key("raw").hex(e.raw).key("flags").strings(live::pagemap_flag_names(e)).end();
}

void write_kpageflags(JsonWriter& w, uint64_t flags) {
  w.key("kpageflags").object().key("raw").hex(flags).key("flags").strings(live::kpageflag_names(flags)).end();
}

// A live process as a target: its /proc directory.
void write_live_target(JsonWriter& w, int pid, std::string_view files) {
  write_target(w, "live", fmt::format("/proc/{}", pid), files);
}

// "4K", "2M THP", "2M hugetlb", "1G hugetlb".
std::string size_label(uint64_t page_size, PageKind kind) {
  switch (kind) {
    case PageKind::Base: return human_size(page_size);
    case PageKind::Thp: return human_size(page_size) + " THP";
    case PageKind::Hugetlb: return human_size(page_size) + " hugetlb";
  }
  return human_size(page_size);
}

std::string live_reason(const live::LiveTranslation& t, int pid) { return live::translation_reason(t, pid); }

struct LiveContext {
  std::optional<live::LiveProcess> process;
  std::optional<live::Kpage> kpage;
  bool privileged = false;
  std::string kpage_error;
};

LiveContext open_live(const TargetOptions& target, bool smaps, bool want_kpage) {
  LiveContext c;
  const int pid = pid_or_throw(target.pid);
  auto p = live::LiveProcess::open(pid, smaps);
  if (!p) fail(p.error());
  c.process = std::move(*p);
  c.privileged = live::has_cap_sys_admin();
  if (want_kpage) {
    auto k = live::Kpage::open();
    if (k)
      c.kpage = std::move(*k);
    else
      c.kpage_error = k.error().message;
  }
  return c;
}

void note_hidden_pfns() {
  fmt::print(stderr,
             "pagewalk: note: no CAP_SYS_ADMIN: the kernel shows every PFN as 0, so physical addresses are hidden; "
             "present/swapped are real\n");
}

void append_translation_text(std::string& out, const live::LiveTranslation& t, int pid) {
  if (t.status == LiveStatus::Mapped && !t.pfn_hidden) {
    fmt::format_to(sink(out), "0x{:x} -> 0x{:x}  ({} page)\n", t.va.value(), t.pa.value(),
                   size_label(t.page_size, t.kind));
  } else if (t.status == LiveStatus::Mapped) {
    fmt::format_to(sink(out), "0x{:x} -> PFN hidden  ({} page): {}\n", t.va.value(), size_label(t.page_size, t.kind),
                   live_reason(t, pid));
  } else {
    fmt::format_to(sink(out), "0x{:x}: {}: {}\n", t.va.value(), to_string(t.status), live_reason(t, pid));
  }
  if (!t.mapping) return;
  fmt::format_to(sink(out), "  {:<9} {}\n", "region", region_text(*t.mapping));
  if (!t.mapping->in_pagemap()) return;
  fmt::format_to(sink(out), "  {:<9} 0x{:016x}", "pagemap", t.entry.raw);
  if (t.status == LiveStatus::Mapped) fmt::format_to(sink(out), "  PFN 0x{:x}", t.entry.pfn().value());
  if (t.status == LiveStatus::Swapped)
    fmt::format_to(sink(out), "  swap type {} offset 0x{:x}", t.entry.swap_type(), t.entry.swap_offset());
  fmt::format_to(sink(out), "  {}\n", join(live::pagemap_flag_names(t.entry)));
  if (t.has_kpage)
    fmt::format_to(sink(out), "  {:<9} flags 0x{:x} {}; mapped {} time(s) (kpagecount)\n", "frame", t.kpage.flags,
                   join(live::kpageflag_names(t.kpage.flags)), t.kpage.count);
}

void append_translation_brief(std::string& out, const live::LiveTranslation& t, int pid) {
  append_hex16(out, t.va.value());
  fmt::format_to(sink(out), "  {:<11}  ", to_string(t.status));
  if (t.status == LiveStatus::Mapped && !t.pfn_hidden)
    append_hex16(out, t.pa.value());
  else
    fmt::format_to(sink(out), "{:<18}", t.status == LiveStatus::Mapped ? "hidden" : "-");
  if (t.status == LiveStatus::Mapped)
    fmt::format_to(sink(out), "  {:>10}  ", size_label(t.page_size, t.kind));
  else
    fmt::format_to(sink(out), "  {:>10}  ", "-");
  if (t.status == LiveStatus::Mapped && !t.pfn_hidden)
    fmt::format_to(sink(out), "{} {}\n", t.mapping->perms_view(), t.mapping->path.empty() ? "[anon]" : t.mapping->path);
  else
    fmt::format_to(sink(out), "{}\n", live_reason(t, pid));
}

// A live translation's members, into the object the caller has open.
void write_translation(JsonWriter& w, const live::LiveTranslation& t, int pid) {
  w.key("pid").num(pid).key("va").hex(t.va.value()).key("status").str(to_string(t.status));
  if (t.status == LiveStatus::Mapped) {
    if (!t.pfn_hidden) w.key("pa").hex(t.pa.value()).key("pfn").hex(t.entry.pfn().value());
    w.key("page_size").num(t.page_size).key("page_kind").str(to_string(t.kind)).key("pfn_hidden").boolean(t.pfn_hidden);
  }
  if (t.status == LiveStatus::Swapped)
    w.key("swap").object().key("type").num(t.entry.swap_type()).key("offset").hex(t.entry.swap_offset()).end();
  if (t.mapping && t.mapping->in_pagemap()) write_pagemap(w, t.entry);
  if (t.has_kpage) {
    write_kpageflags(w, t.kpage.flags);
    w.key("kpagecount").num(t.kpage.count);
  }
  if (t.mapping) write_region(w, *t.mapping);
  if (t.status != LiveStatus::Mapped || t.pfn_hidden) w.key("reason").str(live_reason(t, pid));
}

void table_translation(DelimitedWriter& t, const live::LiveTranslation& tr, int pid) {
  t.num(static_cast<uint64_t>(pid)).hex(tr.va.value()).str(to_string(tr.status));
  if (tr.status == LiveStatus::Mapped && !tr.pfn_hidden) t.hex(tr.pa.value()).hex(tr.entry.pfn().value());
  else t.empty().empty();
  if (tr.status == LiveStatus::Mapped) t.num(tr.page_size).str(to_string(tr.kind));
  else t.empty().empty();
  if (tr.mapping && tr.mapping->in_pagemap()) t.hex(tr.entry.raw);
  else t.empty();
  if (tr.mapping) t.hex(tr.mapping->start.value()).hex(tr.mapping->end.value()).str(tr.mapping->perms_view()).str(tr.mapping->path);
  else t.empty().empty().empty().empty();
  if (tr.status != LiveStatus::Mapped || tr.pfn_hidden) t.str(live_reason(tr, pid));
  else t.empty();
  t.end();
}

constexpr std::string_view kTranslateFiles = "Linux /proc/PID/pagemap, smaps, /proc/kpageflags, kpagecount";
constexpr std::string_view kMapFiles = "Linux /proc/PID/maps, smaps, pagemap, /proc/kpageflags";

}  // namespace

int live_translate(const std::vector<std::string>& vas, const TargetOptions& target, const OutputFormat& f) {
  if (vas.empty()) throw CliError(kBadInput, "translate: give one or more VAs, or - to read them from stdin");
  if (vas.size() == 1 && vas[0] == "-") require_stdin();
  const bool stream = vas.size() == 1 && vas[0] == "-";
  // Addresses on the command line are checked before anything is printed.
  if (!stream)
    for (const std::string& va : vas) (void)address_arg(va, "VA");
  LiveContext c = open_live(target, true, true);
  const live::LiveProcess& p = *c.process;
  const bool brief = (f.brief || stream) && f.human();
  const bool human = f.human() && !brief;
  live::TranslateOptions to;
  to.kpage = c.kpage ? &*c.kpage : nullptr;
  to.privileged = c.privileged;

  Output out;
  int status = kAllMapped;
  bool first = true, hidden = false;
  JsonWriter w(out.buf());
  DelimitedWriter table(out.buf(), f.table);
  if (f.delimited() && !f.no_header)
    table.header({"pid", "va", "status", "pa", "pfn", "page_size", "page_kind", "pagemap", "region_start",
                  "region_end", "perms", "path", "reason"});
  if (f.json) {
    w.record("translate");
    write_live_target(w, p.pid(), kTranslateFiles);
    write_process(w, p.pid(), p.comm());
    w.key("results").array();
  }
  if (human && !f.no_header)
    fmt::format_to(sink(out.buf()), "# pid {} ({}): /proc/{}/pagemap, smaps{}\n", p.pid(), p.comm(), p.pid(),
                   c.kpage ? ", kpageflags, kpagecount" : "");
  if (brief && !f.no_header)
    fmt::format_to(sink(out.buf()), "{:<18}  {:<11}  {:<18}  {:>10}  {}\n", "VA", "STATUS", "PA", "SIZE", "REGION");
  if (!c.kpage_error.empty() && c.privileged)
    fmt::print(stderr, "pagewalk: note: frame flags left out: {}\n", c.kpage_error);

  // Batches of up to 1 Mi addresses: each is translated with sorted pagemap reads and
  // printed in input order; a malformed line is reported at its place.
  std::vector<VirtAddr> batch;
  std::vector<std::string> bad;      // per input: "" or the parse error
  std::vector<size_t> batch_index;   // input position -> index into batch, or npos
  auto run_batch = [&] {
    auto results = live::translate(p, batch, to);
    if (!results) fail(results.error());
    for (size_t i = 0; i < batch_index.size(); ++i) {
      if (batch_index[i] == SIZE_MAX) {
        w.sync();
        out.flush();
        std::fflush(stdout);
        fmt::print(stderr, "pagewalk: {}\n", bad[i]);
        status = kBadInput;
        continue;
      }
      const live::LiveTranslation& t = (*results)[batch_index[i]];
      if (t.status != LiveStatus::Mapped && status == kAllMapped) status = kSomeUnmapped;
      hidden |= t.pfn_hidden;
      if (f.json || f.jsonl) {
        if (f.jsonl) w.record("translate");
        else w.object();
        write_translation(w, t, p.pid());
        w.end();
        if (f.jsonl) w.newline();
      } else if (f.delimited()) {
        table_translation(table, t, p.pid());
      } else if (brief) {
        append_translation_brief(out.buf(), t, p.pid());
      } else {
        if (!first) out.buf() += '\n';
        append_translation_text(out.buf(), t, p.pid());
      }
      first = false;
      flush_when_full(out, w);
    }
    batch.clear();
    bad.clear();
    batch_index.clear();
  };
  auto one = [&](std::string_view text) {
    std::optional<uint64_t> v = parse_address_fast(text);
    if (!v) {
      auto parsed = parse_address(text);
      if (!parsed) {
        bad.push_back(parsed.error());
        batch_index.push_back(SIZE_MAX);
        return;
      }
      v = *parsed;
    }
    bad.emplace_back();
    batch_index.push_back(batch.size());
    batch.push_back(VirtAddr(*v));
    if (batch.size() >= (1u << 20)) run_batch();
  };
  if (stream)
    for_each_stdin_line(one);
  else
    for (const std::string& s : vas) one(s);
  run_batch();
  if (f.json) w.end().end().newline();
  w.sync();
  out.flush();
  if (hidden) note_hidden_pfns();
  return status;
}

int live_map(const TargetOptions& target, const OutputFormat& f, VaWindow window) {
  // maps, not smaps: smaps costs as much as the pagemap; the scan reads it only if a
  // 2 MiB block of consecutive frames turns up (LiveProcess::detailed).
  LiveContext c = open_live(target, false, true);
  const live::LiveProcess& p = *c.process;
  const bool human = f.human();
  auto inside = [&](const Mapping& m) {
    return m.end.value() > window.from && (!window.to || m.start.value() < *window.to);
  };
  const size_t shown = static_cast<size_t>(std::count_if(p.mappings().begin(), p.mappings().end(), inside));
  Output out;
  std::string& o = out.buf();
  JsonWriter w(o);
  // --json: the runs stream into "ranges"; each mapping's summary waits here for "mappings".
  std::string summaries;
  JsonWriter sw(summaries);
  DelimitedWriter table(o, f.table);
  if (f.delimited() && !f.no_header)
    table.header({"pid", "start", "end", "pa", "pfn", "page_size", "pages", "page_kind", "mapping", "perms", "path"});
  if (f.json) {
    w.record("map");
    write_live_target(w, p.pid(), kMapFiles);
    write_process(w, p.pid(), p.comm());
    w.key("ranges").array();
    sw.array();
  }
  if (human && !f.no_header)
    fmt::format_to(sink(o), "# pid {} ({}): {} mappings from /proc/{}/smaps, frames from pagemap\n", p.pid(), p.comm(),
                   shown, p.pid());
  live::MappingCounts total;
  uint64_t huge_bytes = 0, total_huge_bytes = 0;
  bool hidden = false;
  const Mapping* current = nullptr;
  auto on_run = [&](const live::PhysRun& r) {
    const uint64_t bytes = r.pages * live::kPageSize;
    hidden |= r.pfn_hidden;
    if (r.kind != PageKind::Base) huge_bytes += bytes;
    if (human) {
      char* q = open_tail(o, 192);
      q = put(q, "    "sv);
      q = put_hex16(q, r.va.value());
      *q++ = '-';
      q = put_hex16(q, r.va.value() + bytes);
      q = put(q, "  "sv);
      q = r.pfn_hidden ? put(q, "PFN hidden        "sv) : put_hex16(q, r.pfn.value() << live::kPageShift);
      q = put(q, "  "sv);
      q = put_size(q, bytes, 6);
      q = put(q, "  "sv);
      q = put_dec(q, bytes / r.page_size);
      q = put(q, " x "sv);
      q = put_size(q, r.page_size, 0);
      if (r.kind != PageKind::Base) q = put(q, r.kind == PageKind::Thp ? " THP"sv : " hugetlb"sv);
      *q++ = '\n';
      close_tail(o, q);
    } else if (f.delimited()) {
      table.num(static_cast<uint64_t>(p.pid())).hex(r.va.value()).hex(r.va.value() + bytes);
      if (r.pfn_hidden) table.empty().empty();
      else table.hex(r.pfn.value() << live::kPageShift).hex(r.pfn.value());
      table.num(r.page_size).num(bytes / r.page_size).str(to_string(r.kind)).hex(current->start.value());
      table.str(current->perms_view()).str(current->path);
      table.end();
    } else {
      // A run is a mapped range like an image's map row: pages of page_size.
      if (f.jsonl) w.record("map").key("pid").num(p.pid());
      else w.object();
      w.key("start").hex(r.va.value()).key("end").hex(r.va.value() + bytes).key("kind").str("mapped");
      if (!r.pfn_hidden) w.key("pa").hex(r.pfn.value() << live::kPageShift).key("pfn").hex(r.pfn.value());
      w.key("page_size").num(r.page_size).key("pages").num(bytes / r.page_size).key("page_kind").str(to_string(r.kind));
      w.key("pfn_hidden").boolean(r.pfn_hidden).key("mapping").hex(current->start.value()).end();
      if (f.jsonl) w.newline();
    }
    flush_when_full(out, w);
  };
  for (const Mapping& whole : p.mappings()) {
    // The part inside the window; a file mapping's offset moves with its start.
    const uint64_t lo = std::max(whole.start.value(), window.from);
    const uint64_t hi = window.to ? std::min(whole.end.value(), *window.to) : whole.end.value();
    if (lo >= hi) continue;
    Mapping clipped = whole;
    clipped.offset += lo - whole.start.value();
    clipped.start = VirtAddr(lo);
    clipped.end = VirtAddr(hi);
    const Mapping& m = lo == whole.start.value() && hi == whole.end.value() ? whole : clipped;
    current = &m;
    if (human) {
      append_hex16(o, m.start.value());
      o += '-';
      append_hex16(o, m.end.value());
      fmt::format_to(sink(o), "  {}  {:>6}  {}\n", m.perms_view(), human_size(m.size()), m.path.empty() ? "[anon]" : m.path);
    }
    huge_bytes = 0;
    auto counts = live::scan_mapping(p, m, on_run, c.privileged, c.kpage ? &*c.kpage : nullptr);
    if (!counts) fail(counts.error());
    total.resident += counts->resident;
    total.swapped += counts->swapped;
    total.huge_pages += counts->huge_pages;
    total.runs += counts->runs;
    total_huge_bytes += huge_bytes;
    const Mapping& known = p.detailed(m, false);
    const uint64_t page_size = known.hugetlb ? known.kernel_page_size : live::kPageSize;
    if (human) {
      fmt::format_to(sink(o), "    = {} resident ({}), {} swapped, {} huge, {} run(s)\n", counts->resident,
                     human_size(counts->resident * live::kPageSize), counts->swapped, counts->huge_pages, counts->runs);
    } else if (f.any_json()) {
      JsonWriter& mw = f.json ? sw : w;
      if (f.jsonl) mw.record("map").key("pid").num(p.pid()).key("kind").str("mapping");
      else mw.object();
      write_region(mw, m);
      mw.key("page_size").num(page_size).key("resident_bytes").num(counts->resident * live::kPageSize);
      mw.key("swapped_bytes").num(counts->swapped * live::kPageSize).key("huge_bytes").num(huge_bytes);
      mw.key("runs").num(counts->runs).end();
      if (f.jsonl) mw.newline();
    }
    flush_when_full(out, w);
  }
  if (f.json) {
    sw.end();
    w.end().key("mappings").raw(sw.sync()).key("totals").object();
    w.key("mappings").num(shown).key("resident_bytes").num(total.resident * live::kPageSize);
    w.key("swapped_bytes").num(total.swapped * live::kPageSize).key("huge_bytes").num(total_huge_bytes);
    w.key("runs").num(total.runs).end().end().newline();
  }
  w.sync();  // before anything else touches the buffer
  if (human && !f.no_header)
    fmt::format_to(sink(o), "# {} mappings: {} resident pages ({}), {} swapped, {} huge pages, {} physical runs\n",
                   shown, total.resident, human_size(total.resident * live::kPageSize), total.swapped,
                   total.huge_pages, total.runs);
  out.flush();
  if (hidden) note_hidden_pfns();
  return kAllMapped;
}

void add_ptov_options(CLI::App& app, PtovArgs& a) {
  app.add_option("PA", a.pa, "physical address, hex (0x optional; 0n for decimal)");
  app.add_option("--pfn", a.pfn, "page frame number instead of a PA");
  app.add_option("--pid", a.pid, "look in this process only (PID or self); default: every process in /proc");
  app.add_flag("--all", a.all, "keep scanning after kpagecount mappers are found");
  a.format.add_to(app, true, "mapper");
  // With a source, the frame is looked up in the page tables of every process of the
  // kernel's task list and in the kernel's own (image_ptov).
  a.target.add_to(app, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions | kTypeOptions);
}

int cmd_ptov(const PtovArgs& a) {
  if (a.pa.empty() == a.pfn.empty()) throw CliError(kBadInput, "ptov: give a physical address or --pfn N (one of them)");
  uint64_t pfn = 0, offset = 0;
  if (!a.pfn.empty()) {
    pfn = address_arg(a.pfn, "--pfn");
  } else {
    const uint64_t pa = address_arg(a.pa, "PA");
    pfn = pa >> live::kPageShift;
    offset = pa & (live::kPageSize - 1);
  }
  if (pfn >= live::PagemapEntry::kFrameMask)
    throw CliError(kBadInput, fmt::format("PFN 0x{:x} is beyond what pagemap can show (55 bits)", pfn));
  if (!live::has_cap_sys_admin())
    throw CliError(kTargetError, "ptov needs CAP_SYS_ADMIN: without it the kernel shows every PFN as 0");
  live::ReverseOptions ro;
  if (!a.pid.empty()) ro.pids = {pid_or_throw(a.pid)};
  std::optional<live::KpageInfo> info;
  auto kpage = live::Kpage::open();
  if (kpage) {
    auto i = kpage->info(Pfn(pfn));
    if (i) info = *i;
  }
  // Stop once every mapping the kernel counts is found. A count of 0 proves nothing (the
  // shared zero page is mapped everywhere and counted nowhere), so then scan everything.
  if (info && info->count > 0 && !a.all && a.pid.empty()) ro.stop_after = info->count;
  const bool progress = isatty(STDERR_FILENO);
  if (progress)
    ro.progress = [](size_t done, size_t total) { fmt::print(stderr, "\r  {}/{} processes ", done, total); };
  const live::ReverseResult r = live::reverse_map(Pfn(pfn), offset, ro);
  if (progress) fmt::print(stderr, "\r\033[K");

  Output out;
  std::string& o = out.buf();
  const bool human = a.format.human();
  const uint64_t pa = (pfn << live::kPageShift) | offset;
  DelimitedWriter table(o, a.format.table);
  if (a.format.delimited() && !a.format.no_header)
    table.header({"pid", "comm", "va", "pagemap", "region_start", "region_end", "perms", "path"});
  if (human && !a.format.no_header) {
    fmt::format_to(sink(o), "# PFN 0x{:x} (PA 0x{:x})", pfn, pa);
    if (info)
      fmt::format_to(sink(o), ": kpagecount {}, flags 0x{:x} {}", info->count, info->flags,
                     join(live::kpageflag_names(info->flags)));
    o += '\n';
    fmt::format_to(sink(o), "{:<8} {:<16} {:<18}  {}\n", "PID", "COMM", "VA", "REGION");
  }
  JsonWriter w(o);
  if (a.format.json) {
    w.record("ptov");
    write_target(w, "live", "/proc", "Linux /proc/PID/pagemap of every process, /proc/kpageflags, kpagecount");
    w.key("pfn").hex(pfn).key("pa").hex(pa);
    if (info) {
      w.key("kpagecount").num(info->count);
      write_kpageflags(w, info->flags);
    }
    w.key("mappers").array();
  }
  for (const live::ReverseHit& h : r.hits) {
    if (human) {
      fmt::format_to(sink(o), "{:<8} {:<16} ", h.pid, h.comm);
      append_hex16(o, h.va.value());
      fmt::format_to(sink(o), "  {}\n", region_text(h.mapping));
      continue;
    }
    if (a.format.delimited()) {
      table.num(static_cast<uint64_t>(h.pid)).str(h.comm).hex(h.va.value()).hex(h.entry.raw);
      table.hex(h.mapping.start.value()).hex(h.mapping.end.value()).str(h.mapping.perms_view()).str(h.mapping.path);
      table.end();
      continue;
    }
    if (a.format.jsonl) w.record("ptov");
    else w.object();
    w.key("pid").num(h.pid).key("comm").str(h.comm).key("va").hex(h.va.value());
    write_pagemap(w, h.entry);
    write_region(w, h.mapping);
    w.end();
    if (a.format.jsonl) w.newline();
  }
  if (a.format.json) {
    w.end().key("processes_scanned").num(r.processes).key("pages_read").num(r.pages_read);
    w.key("resident_pages").num(r.resident_pages).key("stopped_early").boolean(r.stopped_early);
    w.key("unreadable_processes").num(r.failures.size()).end().newline();
  }
  w.sync();
  if (human && !a.format.no_header)
    fmt::format_to(sink(o), "# {} mapping(s) found{}; {} processes scanned{}\n", r.hits.size(),
                   info ? fmt::format(" (kpagecount {})", info->count) : std::string(), r.processes,
                   r.stopped_early ? ", stopped once kpagecount mappers were found" : "");
  out.flush();
  for (const live::ProcessFailure& fl : r.failures) fmt::print(stderr, "pagewalk: warning: {}\n", fl.error.message);
  return r.hits.empty() ? kSomeUnmapped : kAllMapped;
}

}  // namespace pagewalk::cli
