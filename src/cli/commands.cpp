#include "cli/commands.hpp"

#include <algorithm>
#include <bit>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arch/registry.hpp"
#include "core/architecture.hpp"
#include "sources/gdb_remote.hpp"
#include "sources/image.hpp"
#include "sources/kcore.hpp"
#include "sources/kmod.hpp"
#include "cli/demo.hpp"
#include "cli/errors.hpp"
#include "cli/forensic_commands.hpp"
#include "linux/linux_arch.hpp"
#include "cli/help.hpp"
#include "cli/linux_commands.hpp"
#include "cli/io.hpp"
#include "cli/live_commands.hpp"
#include "cli/numbers.hpp"
#include "cli/output_format.hpp"
#include "cli/render.hpp"
#include "cli/target.hpp"
#include "core/enumerate.hpp"
#include "linux/tasks.hpp"
#include "linux/vmas.hpp"
#include "linux/vmcoreinfo.hpp"
#include "target/kernel_walk.hpp"
#include "target/map.hpp"

namespace pagewalk::cli {
namespace {

// What a translate or map document says first: the target, the walked process, the mode
// and the root.
void write_document_head(JsonWriter& w, const Target& t) {
  write_target(w, *t.source);
  if (t.process) write_process(w, t.process->pid, t.process->comm);
  w.key("mode").str(t.paging.mode->name).key("root").hex(t.roots[0].value());
}

// What each result or row carries of its context: the pid of a walked process, and which
// PGD of a PTI pair it came from.
void write_line_context(JsonWriter& w, const Target& t, const RootView& view) {
  if (t.process) w.key("pid").num(t.process->pid);
  if (!view.label.empty()) w.key("pgd").str(view.label);
}

// The kernel symbol an address falls in, when the target knows the kernel's symbols.
std::optional<std::string> symbol_of(const Target& t, uint64_t va) {
  if (!t.kernel) return std::nullopt;
  return t.kernel->name_of(va);
}

// ---- translate -------------------------------------------------------------------------

struct TranslateArgs {
  std::vector<std::string> vas;
  TargetOptions target;
  OutputFormat f;
  bool kmod_walk = false;  // the kernel's own walk (the module's); with --kmod beside pagewalk's
};

// The kernel's walk beside a translation: where it went and whether it agrees.
void write_kernel_walk(JsonWriter& w, const target::KernelWalk& k, const std::vector<std::string>& diffs) {
  w.key("kernel_walk").object();
  w.key("root").hex(k.kernel.root.value());
  w.key("mapped").boolean(k.kernel.mapped);
  if (k.kernel.mapped) w.key("pa").hex(k.kernel.pa).key("page_size").num(k.kernel.page_size);
  if (k.kernel.pid) w.key("in_vma").boolean(k.kernel.in_vma);
  w.key("pte_locked").boolean(k.kernel.locked);
  w.key("agrees").boolean(diffs.empty());
  w.key("differences").array();
  for (const std::string& d : diffs) w.str(d);
  w.end().end();
}

void append_kernel_walk(std::string& out, const target::KernelWalk& k, const std::vector<std::string>& diffs) {
  const std::string how = k.kernel.locked ? "the PTE read under its table's lock"
                          : k.kernel.pid  ? (k.kernel.in_vma ? "in a VMA" : "no VMA: read with interrupts off")
                                          : "the kernel's tables, read with interrupts off";
  const std::string answer =
      k.kernel.mapped ? fmt::format("PA 0x{:x}, {} page", k.kernel.pa, human_size(k.kernel.page_size)) : "not present";
  if (diffs.empty()) {
    fmt::format_to(std::back_inserter(out), "  kernel     agrees: {} ({})\n", answer, how);
    return;
  }
  fmt::format_to(std::back_inserter(out), "  kernel     DISAGREES: {} ({})\n", answer, how);
  for (const std::string& d : diffs) fmt::format_to(std::back_inserter(out), "             {}\n", d);
}

int cmd_translate(const TranslateArgs& a) {
  if (a.vas.empty()) throw CliError(kBadInput, "translate: give one or more VAs, or - to read them from stdin");
  // --kmod-walk alone: the kernel's walk only; with --kmod: both, side by side.
  const bool kernel_only = a.kmod_walk && !a.target.fields.kmod;
  if (a.kmod_walk && a.target.fields.has_source() && !a.target.fields.kmod)
    throw CliError(kBadInput, "--kmod-walk asks the pagewalk module: it goes with --kmod, not another target");
  TargetOptions options = a.target;
  if (kernel_only) options.fields.kmod = true;
  if (a.vas.size() == 1 && a.vas[0] == "-") require_stdin();
  const bool stream = a.vas.size() == 1 && a.vas[0] == "-";
  // Addresses on the command line are checked before anything is printed.
  if (!stream)
    for (const std::string& va : a.vas) precheck_address(va, "VA");
  Target t = open_target(options);
  if (!stream)
    for (const std::string& va : a.vas) (void)target_address(va, "VA", t.kernel.get());
  // The kernel walks a process's mm->pgd, the kernel half of a PTI pair.
  if (kernel_only) t.views.resize(1);
  TableReader reader(t.memory());
  const Walker walker(t.paging);
  const RangeSet held(t.memory().ranges());
  Output out;
  int status = kAllMapped;
  bool first = true;
  JsonWriter w(out.buf());
  DelimitedWriter table(out.buf(), a.f.table);
  const bool pti = t.views.size() > 1;
  if (a.f.json) {
    w.record("translate");
    write_document_head(w, t);
    w.key("results").array();
  }
  const bool brief = a.f.brief || stream;
  if (a.f.delimited() && !a.f.no_header) {
    if (t.process) table.str("pid");
    if (pti) table.str("pgd");
    table_translation_header(table);
  }
  if (brief && a.f.human() && !a.f.no_header) append_brief_header(out.buf());

  // One walk of one view in the chosen format, with the kernel's walk and what differs from
  // it when given. Inlined into the stream's loop: a call and a vector per line cost the
  // brief stream ~10 %.
  using Diffs = std::vector<std::string>;
  auto report = [&](uint64_t va, const RootView& view, const Translation& tr, const target::KernelWalk* kw,
                    const Diffs* diffs) __attribute__((always_inline)) {
    // A VA in no region (non-canonical) is an answer like any unmapped one.
    if (!tr.mapped() && status == kAllMapped) status = kSomeUnmapped;
    if (a.f.any_json()) {
      if (a.f.jsonl) w.record("translate");
      else w.object();
      write_line_context(w, t, view);
      write_translation(w, t.paging, tr, SourceNotes::of(t.memory(), held, tr), !a.f.brief);
      if (!a.f.brief)
        if (auto sym = symbol_of(t, va)) w.key("symbol").str(*sym);
      if (kw) write_kernel_walk(w, *kw, *diffs);
      w.end();
      if (a.f.jsonl) w.newline();
    } else if (a.f.delimited()) {
      if (t.process) table.num(static_cast<uint64_t>(t.process->pid));
      if (pti) table.str(view.label);
      table_translation(table, t.paging, tr, SourceNotes::of(t.memory(), held, tr));
    } else if (brief) {
      append_brief(out.buf(), t.paging, tr, SourceNotes::of(t.memory(), held, tr));
      if (!view.label.empty()) {
        out.buf().pop_back();
        out.buf() += fmt::format("  ({} PGD)\n", view.label);
      }
    } else {
      if (!first) out.buf() += '\n';
      if (!view.label.empty() && !a.f.no_header)
        out.buf() += fmt::format("# PTI {} PGD 0x{:x}\n", view.label, view.roots[0].value());
      append_trace(out.buf(), t.paging, tr, SourceNotes::of(t.memory(), held, tr));
      if (auto sym = symbol_of(t, va)) fmt::format_to(std::back_inserter(out.buf()), "  symbol     {}\n", *sym);
      if (kw) append_kernel_walk(out.buf(), *kw, *diffs);
    }
    first = false;
    flush_when_full(out, w);
  };

  auto one = [&](std::string_view text) {
    std::optional<uint64_t> v = parse_address_fast(text);
    if (!v) {
      auto parsed = resolve_address(text, t.kernel.get());
      if (!parsed) {
        w.sync();
        out.flush();
        fmt::print(stderr, "pagewalk: {}\n", parsed.error());
        status = kBadInput;
        return;
      }
      v = *parsed;
    }
    for (const RootView& view : t.views)
      if (*v < view.first_va) {
        w.sync();
        out.flush();
        fmt::print(stderr, "pagewalk: 0x{:x} is below the kernel's half (from 0x{:x}): the kernel's tables map that "
                   "half alone; give --pid P for a process's address\n", *v, view.first_va);
        status = kBadInput;
        return;
      }
    if (!a.kmod_walk) {
      for (const RootView& view : t.views)
        report(*v, view, walker.walk(reader, view.roots, VirtAddr(*v)), nullptr, nullptr);
      return;
    }
    auto kw = target::kernel_walk(t, VirtAddr(*v));
    if (!kw) {
      w.sync();
      out.flush();
      fmt::print(stderr, "pagewalk: 0x{:x}: the kernel's walk: {}\n", *v, kw.error().message);
      status = kTargetError;
      return;
    }
    for (const RootView& view : t.views) {
      // Both walks: compared where pagewalk walked the PGD the kernel walked (under PTI the
      // kernel half); alone, the kernel's entries as pagewalk decodes them.
      const Translation tr = kernel_only ? kw->decoded : walker.walk(reader, view.roots, VirtAddr(*v));
      const bool beside = kernel_only || view.roots[0] == kw->kernel.root;
      const Diffs diffs = !beside       ? Diffs{}
                          : kernel_only ? kw->decode_differences
                                        : target::compare_walks(t.paging, tr, kw->kernel);
      if (!diffs.empty()) {
        w.sync();
        out.flush();
        fmt::print(stderr, "pagewalk: warning: 0x{:x}: the kernel's walk disagrees: {}\n", *v, fmt::join(diffs, "; "));
        if (status != kTargetError) status = kWalksDisagree;
      }
      report(*v, view, tr, beside ? &*kw : nullptr, &diffs);
    }
  };

  if (stream) {
    for_each_stdin_line(one);
  } else {
    if (a.f.human() && !brief && !a.f.no_header) out.buf() += fmt::format("# {}\n", t.description);
    for (const std::string& s : a.vas) one(s);
  }
  if (a.f.json) w.end().end().newline();
  w.sync();
  out.flush();
  check_source(*t.source);
  return status;
}

// ---- map -------------------------------------------------------------------------------

struct MapArgs {
  TargetOptions target;
  OutputFormat f;
  bool pages = false, holes = false, by_attributes = false;
  bool with_kernel = false;  // a process of an image: its kernel half too
  std::string from, to;
  uint64_t max_entries = 0;  // 0: default_max_entries() of the target's memory
};

int cmd_map(const MapArgs& a) {
  Target t = open_target(a.target);
  TableReader reader(t.memory());
  const VaWindow window = VaWindow::from_args(a.from, a.to);
  target::MapOptions mo;
  if (!a.from.empty()) mo.from = window.from;
  mo.to = window.to;
  mo.pages = a.pages;
  mo.holes = a.holes;
  mo.by_attributes = a.by_attributes;
  mo.with_kernel = a.with_kernel;
  mo.max_entries = a.max_entries;
  if (auto ok = target::check_map(t, mo); !ok) raise(ok.error());

  Output out;
  const bool human = a.f.human();
  const bool pti = t.views.size() > 1;
  JsonWriter w(out.buf());
  DelimitedWriter table(out.buf(), a.f.table);
  if (a.f.json) {
    w.record("map");
    write_document_head(w, t);
    w.key("ranges").array();
  }
  if (a.f.delimited() && !a.f.no_header) {
    if (pti) table.str("pgd");
    table_range_header(table);
  }
  const bool user_half = target::map_user_half(t, mo);
  if (human && !a.f.no_header) {
    out.buf() += fmt::format("# {}\n", t.description);
    if (user_half) out.buf() += "# the process's half of the space (--with-kernel for the kernel's too)\n";
    append_range_header(out.buf());
  }
  uint64_t rows = 0;
  // Progress for a person watching stderr while the rows go elsewhere (a file, a pipe, any
  // format); not between the rows on the same terminal.
  const bool progress = isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
  auto last_progress = std::chrono::steady_clock::now();
  auto emit = [&](const target::MapRow& row) {
    const Range& r = row.range;
    ++rows;
    if (a.f.any_json()) {
      if (a.f.jsonl) w.record("map");
      else w.object();
      write_line_context(w, t, *row.view);
      write_range(w, t.paging, r);
      if (!t.task && r.kind == RangeKind::Mapped)
        if (auto sym = symbol_of(t, r.start.value())) w.key("symbol").str(*sym);
      if (const auto* m = row.vma) {
        w.key("region").object().key("start").hex(m->start).key("end").hex(m->end).key("perms").str(m->perms());
        w.key("offset").hex(m->offset).key("path").str(m->name).end();
      }
      w.end();
      if (a.f.jsonl) w.newline();
    } else if (a.f.delimited()) {
      if (pti) table.str(row.view->label);
      table_range(table, t.paging, r);
    } else {
      append_range(out.buf(), t.paging, r);
      if (!t.task && r.kind == RangeKind::Mapped)
        if (auto sym = symbol_of(t, r.start.value())) {
          out.buf().pop_back();
          fmt::format_to(std::back_inserter(out.buf()), "  {}\n", *sym);
        }
      if (const auto* m = row.vma) {
        out.buf().pop_back();
        fmt::format_to(std::back_inserter(out.buf()), "  {} {}\n", m->perms(), m->name.empty() ? "[anon]" : m->name);
      }
    }
    flush_when_full(out, w);
    if (progress && (rows & 0xfff) == 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::milliseconds(250)) {
        fmt::print(stderr, "\r  {} rows, at 0x{:x} ", rows, r.start.value());
        last_progress = now;
      }
    }
    return true;
  };
  auto on_view = [&](const RootView& v) {
    if (human && !v.label.empty() && !a.f.no_header)
      out.buf() += fmt::format("# PTI {} PGD 0x{:x}\n", v.label, v.roots[0].value());
  };
  auto on_problem = [](const std::string& why) { fmt::print(stderr, "pagewalk: note: rows without VMA names: {}\n", why); };
  auto mapped = target::map_target(t, reader, mo, emit, on_view, on_problem);
  if (!mapped) raise(mapped.error());
  const target::MapReport& mr = *mapped;
  const EnumReport& rep = mr.totals;
  if (progress) fmt::print(stderr, "\r\033[K");
  if (a.f.json) {
    w.end().key("report").object();
    w.key("rows").num(mr.rows).key("entries").num(rep.entries).key("tables").num(rep.tables);
    w.key("mapped_bytes").num(mr.mapped_bytes).key("truncated").boolean(rep.truncated);
    w.key("loops").num(rep.loops.size()).key("unreadable_tables").num(rep.unreadable.size());
    w.end().end().newline();
  }
  w.sync();  // before anything else touches the buffer
  if (human && !a.f.no_header) {
    out.buf() += fmt::format("# {} rows, {} mapped, {} tables, {} entries examined\n", mr.rows,
                             human_size(mr.mapped_bytes), rep.tables, rep.entries);
  }
  out.flush();
  check_source(*t.source);
  for (const Range& l : rep.loops)
    fmt::print(stderr, "pagewalk: warning: the {} entry for 0x{:x} (0x{:x}) points back at table 0x{:x}; that "
                       "subtree was skipped\n",
               t.paging.mode->region_tree(l.region).levels[l.level].linux_name, l.start.value(), l.raw, l.pa.value());
  if (!rep.unreadable.empty())
    fmt::print(stderr, "pagewalk: warning: {} table(s) could not be read from the image, first at PA 0x{:x}\n",
               rep.unreadable.size(), rep.unreadable.front().value());
  if (rep.truncated)
    fmt::print(stderr, "pagewalk: warning: stopped after {} entries (--max-entries); the map is incomplete\n",
               mr.max_entries);
  return (rep.truncated || !rep.loops.empty() || !rep.unreadable.empty()) ? kSomeUnmapped : kAllMapped;
}

// ---- decode / entry / modes ------------------------------------------------------------

const PagingMode& mode_or_default(const std::string& name) {
  const PagingMode* m = mode_option(name);
  return m ? *m : *arch::all_modes().front();
}

struct DecodeArgs {
  std::vector<std::string> vas;
  TargetOptions target;  // a target's mode instead of --mode
  bool json = false;
};

int cmd_decode(const DecodeArgs& a) {
  if (a.vas.empty()) throw CliError(kBadInput, "decode: give one or more VAs");
  std::vector<VirtAddr> vas;
  for (const std::string& v : a.vas) vas.emplace_back(address_arg(v, "VA"));
  // The mode of a target (its CPU's registers, or the kernel's) when one is given.
  std::optional<Target> t;
  if (a.target.given()) t = open_target(a.target);
  const PagingMode& space = t ? *t->paging.mode : mode_or_default(a.target.fields.mode);
  int status = kAllMapped;
  std::string out;
  JsonWriter w(out);
  if (a.json) {
    w.record("decode");
    if (t) write_target(w, *t->source);
    w.key("mode").str(space.name).key("results").array();
  }
  for (const VirtAddr va : vas) {
    const VaRegion* region = space.region_of(va);
    if (!region) {
      // Like translate: an address in no region is an answer, not bad usage.
      Translation nt;
      nt.va = va;
      nt.status = Status::NoRegion;
      const std::string why = reason(Paging{&space, {}}, nt);
      status = kSomeUnmapped;
      if (a.json)
        w.object().key("va").hex(va.value()).key("status").str(to_string(nt.status)).key("reason").str(why).end();
      else
        out += fmt::format("0x{:x}: {}: {}\n\n", va.value(), to_string(nt.status), why);
      continue;
    }
    const PagingMode& m = space.tree(region->root);  // a split mode's VA is its tree's
    const auto linux_levels = m.linux_levels();
    if (a.json) {
      w.object().key("va").hex(va.value()).key("levels").array();
      for (unsigned l = 0; l < m.level_count(); ++l) {
        const LevelDesc& d = m.levels[l];
        w.object().key("level").str(d.linux_name).key("hw_level").str(d.hw_name);
        w.key("bits").str(fmt::format("{}:{}", d.shift + d.index_bits - 1, d.shift)).key("index").num(m.index(va, l));
        w.end();
      }
      w.end().key("folded").array();
      for (const auto& v : linux_levels)
        if (v.folded) w.str(v.name);
      w.end().key("offset").hex(m.page_offset(va)).end();
      continue;
    }
    out += fmt::format("0x{:x} in {}\n  {:<4} {:<5} {:>6}  {:>11}\n", va.value(), m.name, "lvl", "hw", "bits", "index");
    for (const auto& v : linux_levels) {
      if (v.folded) {
        out += fmt::format("  {:<4} {:<5} {:>6}  {:>3} (folded into the level above)\n", v.name, "-", "-", 0);
        continue;
      }
      for (unsigned l = 0; l < m.level_count(); ++l) {
        const LevelDesc& d = m.levels[l];
        if (d.linux_name != v.name) continue;
        const unsigned idx = m.index(va, l);
        out += fmt::format("  {:<4} {:<5} {:>6}  {:>3} (0x{:03x})\n", d.linux_name, d.hw_name,
                           fmt::format("{}:{}", d.shift + d.index_bits - 1, d.shift), idx, idx);
      }
    }
    out += fmt::format("  {:<10} {:>6}  0x{:x}\n\n", "offset", fmt::format("{}:0", m.page_shift() - 1), m.page_offset(va));
  }
  if (a.json) w.end().end().newline();
  w.sync();
  if (!a.json && !out.empty()) out.pop_back();  // no blank line after the last
  fmt::print("{}", out);
  return status;
}

unsigned level_option(const PagingMode& m, const std::string& name) {
  if (name.empty()) return m.level_count() - 1;
  if (auto l = m.level_named(name)) return *l;
  throw CliError(kBadInput, fmt::format("level '{}' does not exist in {} (levels: {})", name, m.name, m.level_names()));
}

int cmd_entry(const std::string& value, const std::string& level_name, const std::string& mode_name,
              unsigned pa_bits, bool no_nx, bool json) {
  const PagingMode& m = mode_or_default(mode_name);
  const uint64_t raw = address_arg(value, "entry value");
  if (m.entry_bytes == 4 && raw > 0xffffffffull)
    throw CliError(kBadInput, fmt::format("0x{:x} does not fit in a 32-bit {} entry", raw, m.name));
  const unsigned level = level_option(m, level_name);
  if (auto ok = target::check_pa_bits(pa_bits, &m); !ok) raise(ok.error());
  const Paging p{&m, target::user_decode_options({}, pa_bits, no_nx)};
  const EntryDecode d = p.decode(level, raw);
  const LevelDesc& l = m.levels[level];
  const uint64_t size = m.span(level);
  if (json) {
    std::string out;
    JsonWriter w(out);
    w.record("entry").key("raw").hex(raw).key("mode").str(m.name).key("level").str(l.linux_name);
    w.key("hw_level").str(l.hw_name).key("kind").str(to_string(d.kind));
    if (d.kind == EntryKind::Table) w.key("table").hex(d.addr);
    if (d.kind == EntryKind::Leaf || d.kind == EntryKind::ProtNone)
      w.key("pa").hex(d.addr).key("pfn").hex(d.addr >> m.page_shift()).key("page_size").num(size);
    if (d.kind == EntryKind::Reserved) w.key("reserved_bits").hex(d.reserved);
    w.key("flags").strings(m.arch->flag_names(m, level, raw, p.options));
    if (d.kind == EntryKind::Leaf || d.kind == EntryKind::Table) {
      w.key("access");
      write_access(w, d.access);
    }
    // The architecture's own numbers (x86: the protection key).
    w.key("fields").object();
    for (const EntryField& f : m.arch->entry_fields(m, level, raw, p.options)) w.key(f.name).num(f.value);
    w.end();
    if (d.kind == EntryKind::Swap) {
      w.key("swap").object().key("type").num(d.swap_type).key("offset").hex(d.swap_offset);
      w.key("kind").str(m.arch->swap_kind(d.swap_type)).end();
    }
    w.end().newline();
    fmt::print("{}", w.sync());
    return kAllMapped;
  }
  std::string out = fmt::format("0x{:x} as a {} ({}) entry of {}\n", raw, l.linux_name, l.hw_name, m.name);
  switch (d.kind) {
    case EntryKind::Empty: out += "  kind    empty\n"; break;
    case EntryKind::Table: out += fmt::format("  kind    table\n  next    table at PA 0x{:x}\n", d.addr); break;
    case EntryKind::Leaf:
      out += fmt::format("  kind    leaf: maps a {} page\n  frame   0x{:x} (pfn 0x{:x})\n", human_size(size), d.addr,
                         d.addr >> m.page_shift());
      break;
    case EntryKind::ProtNone:
      out += fmt::format("  kind    PROT_NONE (not present to the MMU; Linux keeps the frame in it)\n"
                         "  frame   0x{:x} (pfn 0x{:x}), {} page\n",
                         d.addr, d.addr >> m.page_shift(), human_size(size));
      break;
    case EntryKind::Swap:
      out += fmt::format("  kind    swap entry\n  type    {} ({})\n  offset  0x{:x}\n", d.swap_type,
                         m.arch->swap_kind(d.swap_type), d.swap_offset);
      break;
    case EntryKind::NotPresent: out += "  kind    not present\n"; break;
    case EntryKind::Reserved:
      out += fmt::format("  kind    reserved bit{} {} set: the MMU would fault\n",
                         std::popcount(d.reserved) == 1 ? "" : "s", bit_list(d.reserved));
      break;
  }
  out += fmt::format("  flags   {}\n", join_flags(p, level, raw));
  // The architecture's own numbers (x86: the protection key; AArch64: AttrIndx, SH, the span
  // of a contiguous run).
  std::string fields;
  for (const EntryField& f : m.arch->entry_fields(m, level, raw, p.options))
    fields += fmt::format("{}{} {}", fields.empty() ? "" : ", ", f.name,
                          f.value >= 4096 ? fmt::format("0x{:x} ({})", f.value, human_size(f.value)) : std::to_string(f.value));
  if (!fields.empty()) out += fmt::format("  fields  {}\n", fields);
  if (d.kind == EntryKind::Leaf || d.kind == EntryKind::Table) out += fmt::format("  access  {}\n", access_view(d.access));
  fmt::print("{}", out);
  return kAllMapped;
}

int cmd_modes(const std::string& mode_name, bool json) {
  std::vector<const PagingMode*> modes;
  if (mode_name.empty())
    modes = arch::all_modes();
  else
    modes.push_back(mode_option(mode_name));
  std::string out;
  JsonWriter w(out);
  if (json) w.record("modes").key("modes").array();
  for (const PagingMode* m : modes) {
    const linux_kernel::KernelMasks km = linux_kernel::kernel_masks(*m);
    const auto lv = m->linux_levels();
    const auto& shift_names = linux_kernel::kLevelShiftNames;
    const auto& ptrs_names = linux_kernel::kPtrsPerNames;
    if (json) {
      w.object().key("mode").str(m->name).key("description").str(m->description).key("va_bits").num(m->va_bits);
      w.key("entry_bytes").num(m->entry_bytes).key("max_pa_bits").num(m->default_pa_bits);
      for (unsigned i = 0; i < 5; ++i) w.key(shift_names[i]).num(lv[i].shift).key(ptrs_names[i]).num(lv[i].ptrs_per);
      w.key("levels").array();
      for (const LevelDesc& d : m->levels) {
        w.object().key("level").str(d.linux_name).key("hw_level").str(d.hw_name).key("shift").num(d.shift);
        w.key("index_bits").num(d.index_bits).key("large_pages").boolean(d.can_be_leaf).end();
      }
      w.end().key("folded").array();
      for (const auto& v : lv)
        if (v.folded) w.str(v.name);
      w.end();
      w.key("PAGE_SIZE").num(uint64_t{1} << m->page_shift()).key("PAGE_MASK").hex(km.page_mask);
      w.key("PMD_MASK").hex(km.pmd_mask).key("PUD_MASK").hex(km.pud_mask).key("PGDIR_MASK").hex(km.pgdir_mask);
      w.key("PTE_PFN_MASK").hex(km.pte_pfn_mask).key("__PHYSICAL_MASK_SHIFT").num(km.physical_mask_shift);
      w.end();
      continue;
    }
    out += fmt::format("{}: {}\n", m->name, m->description);
    for (unsigned i = 0; i < 5; ++i)
      out += fmt::format("  {:<12} {:>2}    {:<13} {:>4}{}\n", shift_names[i], lv[i].shift, ptrs_names[i],
                         lv[i].ptrs_per, lv[i].folded ? "  (folded)" : "");
    out += fmt::format("  {:<12} 0x{:x}\n", "PAGE_SIZE", uint64_t{1} << m->page_shift());
    out += fmt::format("  {:<12} 0x{:x}\n", "PAGE_MASK", km.page_mask);
    out += fmt::format("  {:<12} 0x{:x}\n", "PMD_MASK", km.pmd_mask);
    out += fmt::format("  {:<12} 0x{:x}\n", "PUD_MASK", km.pud_mask);
    out += fmt::format("  {:<12} 0x{:x}\n", "PGDIR_MASK", km.pgdir_mask);
    out += fmt::format("  {:<12} 0x{:x}  (frame bits {}..{}, __PHYSICAL_MASK_SHIFT {}; never PAGE_MASK)\n",
                       "PTE_PFN_MASK", km.pte_pfn_mask, m->page_shift(), std::bit_width(km.pte_pfn_mask) - 1,
                       km.physical_mask_shift);
    std::string hw, large;
    for (const LevelDesc& d : m->levels) {
      hw += fmt::format("{}{}({})", hw.empty() ? "" : " -> ", d.hw_name, d.linux_name);
      if (d.can_be_leaf) large += fmt::format("{}{} at {}", large.empty() ? "" : ", ", human_size(uint64_t{1} << d.shift), d.hw_name);
    }
    out += fmt::format("  levels       {}\n  large pages  {}\n  VA bits {}, {}-byte entries, MAXPHYADDR {}\n\n",
                       hw, large.empty() ? "none" : large, m->va_bits, m->entry_bytes, m->default_pa_bits);
  }
  if (json) w.end().end().newline();
  fmt::print("{}", w.sync());
  return kAllMapped;
}

// ---- info ------------------------------------------------------------------------------

// A CPU state's paging mode, as its architecture reads it.
std::string cpu_mode_name(const CpuState& c) {
  const Architecture* a = arch::find_architecture(c.arch);
  if (!a) return "unknown";
  auto p = a->paging_from_cpu(c);
  if (!p) return "unknown";
  return p->mode ? std::string(p->mode->name) : "paging-off";
}

int cmd_info(const TargetOptions& o, bool json) {
  const std::unique_ptr<Source> src = open_source(o);
  const auto* image = dynamic_cast<const ImageSource*>(src.get());
  const auto* kcore = dynamic_cast<const KcoreSource*>(src.get());
  const auto* qemu = dynamic_cast<const gdb::QemuGdbstub*>(src.get());
  const auto* kmod = dynamic_cast<const KmodSource*>(src.get());
  std::vector<PhysRange> ranges;
  uint64_t total = 0;
  std::optional<linux_kernel::VmcoreInfo> vi;
  std::string vi_source = qemu ? "not read through the gdbstub" : "none: no ELF note and no copy in memory";
  if (!qemu) {
    ranges = src->memory().ranges();
    for (const PhysRange& r : ranges) total += r.size;
    if (const auto& note = src->vmcoreinfo_note()) {
      vi = linux_kernel::VmcoreInfo::parse(*note);
      vi_source = kmod ? fmt::format("the kernel's note at PA 0x{:x}", kmod->info().vmcoreinfo_pa) : "ELF note";
    } else if (src->scannable()) {
      if (auto found = linux_kernel::find_vmcoreinfo(src->memory())) {
        // Taken without the note (QEMU without -device vmcoreinfo): the kernel's own copy.
        vi = linux_kernel::VmcoreInfo::parse(found->text);
        vi_source = fmt::format("found in memory at PA 0x{:x}", found->at.value());
      }
    }
  }
  const std::span<const CpuState> cpus = src->cpus();
  const std::vector<std::string> problems = src->problems();
  // A CPU the source does not hold is refused rather than ignored.
  if (o.fields.cpu && *o.fields.cpu >= cpus.size())
    throw CliError(kBadInput, cpus.empty() ? fmt::format("--cpu {}: {} holds no CPU registers", *o.fields.cpu, src->name())
                                           : fmt::format("--cpu {}: {} holds registers of CPUs 0..{}", *o.fields.cpu,
                                                         src->name(), cpus.size() - 1));

  if (json) {
    std::string out;
    JsonWriter w(out);
    w.record("info");
    write_target(w, *src);
    if (!qemu) {
      if (image) w.key("file_size").num(image->image().file.bytes().size());
      w.key("memory_bytes").num(total).key("ranges").array();
      for (const PhysRange& r : ranges) w.object().key("start").hex(r.start.value()).key("end").range_end(r.start.value(), r.size).end();
      w.end();
      if (kcore) {
        // Every PT_LOAD: vmalloc, modules and vmemmap have no physical address.
        w.key("segments").array();
        for (const KcoreSegment& sg : kcore->kcore().segments) {
          w.object().key("start").hex(sg.vaddr).key("end").range_end(sg.vaddr, sg.size).key("pa");
          if (sg.paddr) w.hex(*sg.paddr);
          else w.null();
          w.end();
        }
        w.end();
      }
      if (kmod) {
        const KmodInfo& m = kmod->info();
        w.key("module").object().key("abi").num(m.abi).key("release").str(m.release).key("levels").num(m.levels);
        w.key("pti").boolean(m.pti).key("page_offset").hex(m.page_offset).key("kernel_pgd");
        if (m.kernel_pgd) w.hex(m.kernel_pgd);
        else w.null();
        w.end();
      }
    } else {
      w.key("architecture").str(qemu->description().architecture).key("packet_size").num(qemu->packet_size());
      w.key("halted_on_attach").boolean(qemu->halted_on_attach());
    }
    w.key("cpus").array();
    for (const CpuState& c : cpus) {
      w.object().key("cpu").num(c.index).key("arch").str(c.arch).key("registers").object();
      for (const auto& [name, value] : c.registers) w.name(name).hex(value);
      w.end().key("mode").str(cpu_mode_name(c)).key("source").str(c.source).end();
    }
    w.end();
    if (image) w.key("prstatus_notes").num(image->image().prstatus_notes);
    w.key("vmcoreinfo");
    if (vi) {
      // Keys and values as the kernel wrote them, escaped by the writer.
      w.object();
      for (const auto& [k, val] : vi->entries()) w.name(k).str(val);
      w.end();
    } else {
      w.null();
    }
    w.key("vmcoreinfo_source").str(vi_source);
    w.key("kernel");
    if (vi) {
      const linux_kernel::KernelSummary ks = linux_kernel::summarize_kernel(*vi, cpus);
      w.object().key("arch").str(ks.arch).key("mode").str(ks.mode ? ks.mode->name : "").key("mode_source").str(ks.mode_source);
      w.key("pgd_symbol").str(ks.pgd_symbol).key("pgd_va");
      if (ks.pgd_va) w.hex(*ks.pgd_va);
      else w.null();
      w.end();
    } else {
      w.null();
    }
    w.key("problems").strings(problems).end().newline();
    fmt::print("{}", w.sync());
    check_source(*src);
    for (const std::string& p : problems) fmt::print(stderr, "pagewalk: warning: {}\n", p);
    return problems.empty() ? kAllMapped : kSomeUnmapped;
  }
  std::string out;
  if (image) {
    out = fmt::format("image    {}\nformat   {}\nsize     {} bytes in the file, {} of physical memory in {} "
                      "range(s)\n",
                      src->name(), src->format(), image->image().file.bytes().size(), human_size(total), ranges.size());
  } else if (kcore) {
    out = fmt::format("kcore    {}\nformat   {}\nsize     {} of physical memory in {} range(s), {} segments\n",
                      src->name(), src->format(), human_size(total), ranges.size(), kcore->kcore().segments.size());
  } else if (qemu) {
    out = fmt::format("qemu     {}\nformat   {}, {}, packet size {}\nstate    {}\n", src->name(), src->format(),
                      qemu->description().architecture, qemu->packet_size(),
                      qemu->halted_on_attach() ? "was running; halted while attached, resumed on detach"
                                               : "was already stopped; left stopped");
  } else if (kmod) {
    const KmodInfo& m = kmod->info();
    out = fmt::format("kmod     {}\nformat   {}\nkernel   {}, {} levels, PTI {}, kernel PGD {}, ABI {}\n"
                      "size     {} of System RAM in {} range(s)\n",
                      src->name(), src->format(), m.release, m.levels, m.pti ? "on" : "off",
                      m.kernel_pgd ? fmt::format("0x{:x}", m.kernel_pgd) : std::string("unknown"), m.abi,
                      human_size(total), ranges.size());
  } else {
    out = fmt::format("source   {}\nformat   {}\n", src->name(), src->format());
  }
  for (const PhysRange& r : ranges)
    out += fmt::format("  0x{:012x}-0x{:012x}  {:>8}\n", r.start.value(), r.start.value() + r.size, human_size(r.size));
  if (kcore) {
    out += "segments (virtual -> physical)\n";
    for (const KcoreSegment& sg : kcore->kcore().segments)
      out += fmt::format("  0x{:016x}  {:>8}  {}\n", sg.vaddr, human_size(sg.size),
                         sg.paddr ? fmt::format("PA 0x{:x}", *sg.paddr) : std::string("no physical address (vmalloc, modules, vmemmap)"));
  }
  if (cpus.empty()) {
    const unsigned notes = image ? image->image().prstatus_notes : 0;
    out += fmt::format("cpus     no control registers in the {}{}{}\n", image ? "image" : kcore ? "kcore" : "target",
                       notes ? fmt::format(" ({} NT_PRSTATUS notes)", notes) : "",
                       vi ? ": the kernel's tables are found through VMCOREINFO (--kernel, --pid)" : "");
  }
  for (const CpuState& c : cpus) {
    const Architecture* a = arch::find_architecture(c.arch);
    out += fmt::format("cpu {:<4} {}\n", c.index, a ? a->describe_cpu(c) : Architecture::describe_registers(c));
  }
  if (vi) {
    out += fmt::format("vmcoreinfo  {}: {} entries", vi_source, vi->entries().size());
    if (auto rel = vi->get("OSRELEASE")) out += fmt::format(", OSRELEASE {}", linux_kernel::escaped(*rel));
    if (auto off = vi->kernel_offset()) out += fmt::format(", KERNELOFFSET 0x{:x}", *off);
    out += '\n';
    const linux_kernel::KernelSummary ks = linux_kernel::summarize_kernel(*vi, cpus);
    out += fmt::format("kernel   {} Linux, {} ({}), {} {}\n", ks.arch, ks.mode ? ks.mode->name : "no known mode",
                       ks.mode_source, ks.pgd_symbol,
                       ks.pgd_va ? fmt::format("0x{:x}", *ks.pgd_va) : std::string("not in VMCOREINFO"));
  } else {
    out += fmt::format("vmcoreinfo  {}\n", vi_source);
  }
  fmt::print("{}", out);
  check_source(*src);
  // A malformed part of the file: described as far as it reads, said, and not a clean 0.
  for (const std::string& p : problems) fmt::print(stderr, "pagewalk: warning: {}\n", p);
  return problems.empty() ? kAllMapped : kSomeUnmapped;
}

// CLI11's words, or ours where they say more: an option the command does not offer names the
// commands that do.
std::string parse_error_message(CLI::App& app, const CLI::ParseError& e) {
  const std::vector<CLI::App*> chosen = app.get_subcommands();
  const std::string cmd = chosen.empty() ? "" : chosen.front()->get_name();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) && !chosen.empty()) {
    for (const std::string& extra : chosen.front()->remaining()) {
      if (extra.rfind("--", 0) != 0) continue;
      const std::string name = extra.substr(0, extra.find('='));
      std::vector<std::string> offered_by;
      for (const CLI::App* sub : app.get_subcommands({}))
        if (sub->get_option_no_throw(name)) offered_by.push_back(sub->get_name());
      if (offered_by.empty())
        return fmt::format("{}: unknown option {} (see pagewalk {} --help)", cmd, name, cmd);
      return fmt::format("{}: {} does not apply here; it is an option of {} (see pagewalk {} --help)", cmd, name,
                         fmt::join(offered_by, ", "), cmd);
    }
  }
  return fmt::format("{}{}{} (see pagewalk {}--help)", cmd, cmd.empty() ? "" : ": ", e.what(), cmd.empty() ? "" : cmd + " ");
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// A first word that is no command: the nearest one, or the command that does what another
// tool's command of that name does.
std::string unknown_command_message(CLI::App& app, const std::string& word) {
  static constexpr std::pair<std::string_view, std::string_view> kOtherTools[] = {
      {"vm", "map --pid P"},      {"task", "ps"},         {"kmem", "kconv"},
      {"pte", "entry"},           {"tlb", "map --pages"}, {"mm", "layout"},
      {"pslist", "ps"},           {"ptdump", "map --kernel"}, {"virt_to_phys", "kconv --virt"},
      {"dump", "read --raw FILE"}, {"hexdump", "read"},
  };
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  for (const auto& [other, ours] : kOtherTools)
    if (word == other) return fmt::format("no command '{}'; for that use: pagewalk {}", shown_input(word), ours);
  std::string best;
  size_t best_d = word.size() >= 5 ? 3 : 2;  // two edits away for longer words, one for short
  for (const std::string& n : names)
    if (const size_t d = edit_distance(word, n); d < best_d) best_d = d, best = n;
  if (!best.empty())
    return fmt::format("no command '{}'; did you mean '{}'? (see pagewalk help {})", shown_input(word), best, best);
  return fmt::format("no command '{}'; the commands are {} (see pagewalk --help)", shown_input(word),
                     fmt::join(names, ", "));
}

}  // namespace

int run(int argc, char** argv) {
  reserve_standard_descriptors();
  CLI::App app{"pagewalk: virtual to physical addresses, every page-table level shown"};
  app.name("pagewalk");
  app.require_subcommand(1);
  app.set_version_flag("--version", "pagewalk 0.1.0");

  bool demo_json = false;
  auto* demo = app.add_subcommand("demo", "walk a built-in synthetic machine (the articles' scenario)");
  demo->add_flag("--json", demo_json, "one JSON document");
  demo->footer(examples({"pagewalk demo", "pagewalk demo --json"}));

  TranslateArgs ta;
  auto* translate = app.add_subcommand("translate", "translate virtual addresses, showing every level");
  translate->alias("vtop");
  translate->add_option("VA", ta.vas, "virtual addresses, hex (0x optional; 0n for decimal); - reads one per line from stdin");
  ta.target.add_to(*translate);
  ta.f.add_to(*translate, true, "address");
  translate->add_flag("--brief", ta.f.brief, "one line per address instead of the per-level trace");
  translate->add_flag("--kmod-walk", ta.kmod_walk,
                      "the kernel's own walk, through the pagewalk module; with --kmod, beside pagewalk's walk of the "
                      "same tables, and any disagreement flagged (exit 4)");
  translate->footer(examples({"pagewalk translate --image dump.elf --pid 117 401000",
                              "pagewalk translate --pid self --brief 0x7ffd4a3c1000",
                              "pagewalk translate --image dump.elf --kernel --jsonl - < addresses.txt"}));

  MapArgs ma;
  auto* map = app.add_subcommand("map", "enumerate mapped ranges, coalesced (ptdump-like)");
  ma.target.add_to(*map);
  ma.f.add_to(*map, true, "range");
  map->add_flag("--pages", ma.pages, "one row per leaf entry (comparable with QEMU's info tlb)");
  map->add_flag("--holes", ma.holes, "also list unmapped ranges");
  map->add_flag("--by-attributes", ma.by_attributes, "merge runs with equal attributes even if the PA jumps");
  map->add_flag("--with-kernel", ma.with_kernel, "with --pid on an image, guest or kcore: the kernel's half too");
  map->add_option("--from", ma.from, "first VA of the window");
  map->add_option("--to", ma.to, "end of the window (exclusive)");
  map->add_option("--max-entries", ma.max_entries,
                  "stop after examining this many entries (default: 64 per 4 KiB page the target holds, "
                  "4 Mi at least, 1 Gi at most)");
  map->footer(examples({"pagewalk map --image dump.elf --pid 117 --to 0x800000000000",
                        "pagewalk map --qemu 127.0.0.1:1234 --pages",
                        "pagewalk map --kcore --kernel --from ffffc90000000000 --to ffffe90000000000"}));

  DecodeArgs da;
  auto* decode = app.add_subcommand("decode", "split VAs into their index at each level and the page offset");
  decode->add_option("VA", da.vas, "virtual addresses, hex (0x optional; 0n for decimal)")->required();
  da.target.add_to(*decode, kSourceOptions | kCpuOption | kPagingOptions);
  decode->add_flag("--json", da.json, "JSON output");
  decode->footer(examples({"pagewalk decode 0x5651b590c2a0 7ffd4a3c1000",
                           "pagewalk decode --mode x86-64-5level ff11000000000000",
                           "pagewalk decode --image dump.elf ffffffff81000000"}));

  std::string evalue, elevel, emode;
  unsigned epa = 0;
  bool ejson = false, enonx = false;
  auto* entry = app.add_subcommand("entry", "decode one raw page-table entry");
  entry->add_option("VALUE", evalue, "the entry's raw value")->required();
  entry->add_option("--level", elevel, "pgd/p4d/pud/pmd/pte or PML5/PML4/PDPT/PD/PT (default: the last level)");
  entry->add_option("--mode", emode, "paging mode (default x86-64-4level)");
  entry->add_option("--pa-bits", epa, "MAXPHYADDR (default: the mode's)");
  entry->add_flag("--no-nx", enonx, "EFER.NXE is clear");
  entry->add_flag("--json", ejson, "JSON output");
  entry->footer(examples({"pagewalk entry 0x80000001422c5867", "pagewalk entry --level pmd 0x80000000400000e7"}));

  std::string mmode;
  bool mjson = false;
  auto* modes = app.add_subcommand("modes", "paging-mode geometry as the kernel names it");
  modes->add_option("--mode", mmode, "one mode (default: all)");
  modes->add_flag("--json", mjson, "JSON output");
  modes->footer(examples({"pagewalk modes", "pagewalk modes --mode x86-pae --json"}));

  PtovArgs pa;
  auto* ptov = app.add_subcommand("ptov", "every (pid, VA) and kernel VA that maps a physical address: live processes, or an image's page tables");
  add_ptov_options(*ptov, pa);
  ptov->footer(examples({"pagewalk ptov 0x1422c52a0", "pagewalk ptov --pfn 1422c5 --pid 117",
                         "pagewalk ptov --image dump.elf fdcc6d0", "pagewalk ptov --image dump.elf --jsonl - < pas.txt"}));

  TargetOptions io;
  bool ijson = false;
  auto* info = app.add_subcommand("info", "what a target holds: format, RAM ranges, CPUs and registers, VMCOREINFO");
  io.add_to(*info, kSourceOptions | kCpuOption);
  info->add_flag("--json", ijson, "JSON output");
  info->footer(examples({"pagewalk info --image dump.elf", "pagewalk info --qemu 127.0.0.1:1234 --json"}));

  LinuxCommands linux_cmds;
  linux_cmds.add_to(app);
  ForensicCommands forensic_cmds;
  forensic_cmds.add_to(app);

  // `pagewalk help [CMD]` is `pagewalk [CMD] --help`; a first word that is no command is
  // named, with the nearest one.
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "help") {
    args.erase(args.begin());
    args.resize(std::min<size_t>(args.size(), 1));
    args.push_back("--help");
  }
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known |= sub->check_name(args[0]);
    if (!known) {
      fmt::print(stderr, "pagewalk: {}\n", unknown_command_message(app, args[0]));
      return kBadInput;
    }
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "pagewalk: {}\n", parse_error_message(app, e));
    return kBadInput;
  }
  auto run_chosen = [&]() -> int {
    if (*demo) return run_demo(demo_json);
    if (*translate)
      return ta.target.live() && !ta.kmod_walk ? live_translate(ta.vas, ta.target, ta.f) : cmd_translate(ta);
    if (*map) {
      if (!ma.target.live()) return cmd_map(ma);
      // A live process is read through pagemap, by mapping: there are no page tables to
      // list leaf by leaf, and holes are the gaps between the mappings it prints.
      for (const auto& [given, name] : {std::pair{ma.pages, "--pages"}, std::pair{ma.holes, "--holes"},
                                        std::pair{ma.by_attributes, "--by-attributes"},
                                        std::pair{ma.with_kernel, "--with-kernel"}})
        if (given)
          throw CliError(kBadInput, fmt::format("map --pid on a live process lists each mapping's physical runs from "
                                                "pagemap; {} needs page tables: give --kcore (or --image, --qemu) "
                                                "with --pid", name));
      return live_map(ma.target, ma.f, VaWindow::from_args(ma.from, ma.to));
    }
    if (*ptov) return pa.target.given() ? image_ptov(pa) : cmd_ptov(pa);
    if (*decode) return cmd_decode(da);
    if (*entry) return cmd_entry(evalue, elevel, emode, epa, enonx, ejson);
    if (*modes) return cmd_modes(mmode, mjson);
    if (*info) return cmd_info(io, ijson);
    if (int rc = linux_cmds.run_chosen(); rc >= 0) return rc;
    if (int rc = forensic_cmds.run_chosen(); rc >= 0) return rc;
    return kBadInput;
  };
  try {
    const int rc = run_chosen();
    check_stdout();
    return rc;
  } catch (const CliError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "pagewalk: {}\n", e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    // Every size read from an input is bounded where it enters; what is left is a machine
    // with too little memory for the work asked (a whole-space map, a huge batch).
    std::fflush(stdout);
    fmt::print(stderr, "pagewalk: out of memory for this request (narrow it: --from/--to, --max-entries, "
                       "fewer addresses per run)\n");
    return kTargetError;
  } catch (const std::exception& e) {
    if (std::ferror(stdout)) {
      fmt::print(stderr, "pagewalk: cannot write the output: {}\n", std::strerror(errno ? errno : EIO));
      return kTargetError;
    }
    std::fflush(stdout);
    fmt::print(stderr, "pagewalk: internal error: {}\n", e.what());
    return kTargetError;
  }
  return kBadInput;
}

}  // namespace pagewalk::cli
