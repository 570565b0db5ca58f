#include "target/describe.hpp"

#include <algorithm>
#include <bit>
#include <iterator>

#include <fmt/format.h>

#include "core/architecture.hpp"
#include "core/entry.hpp"
#include "core/text.hpp"
#include "target/target.hpp"

namespace pagewalk::target {

std::string translation_reason(const Paging& space, const Translation& t, std::string_view unreadable_why) {
  if (t.status == Status::NoRegion)
    return fmt::format("in no region of {} ({})", space.mode->name, target::describe_regions(*space.mode));
  const Paging paging = space.for_region(t.region);  // the trace is its tree's
  const PagingMode& m = *paging.mode;
  switch (t.status) {
    case Status::Mapped:
      return "";
    case Status::Unreadable:
      return fmt::format("the {} table entry at PA 0x{:x} cannot be read: {}", m.levels[t.last().level].linux_name,
                         t.unreadable.value(), unreadable_why.empty() ? "the source has no such bytes" : unreadable_why);
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

void append_translation_trace(std::string& out, const Paging& space, const Translation& t, const SourceNotes& notes) {
  auto o = std::back_inserter(out);
  if (t.status == Status::Mapped)
    fmt::format_to(o, "0x{:x} -> 0x{:x}  ({} page, {})\n", t.va.value(), t.pa.value(), human_size(t.page_size),
                   access_view(t.access));
  else
    fmt::format_to(o, "0x{:x}: {}: {}\n", t.va.value(), to_string(t.status),
                   translation_reason(space, t, notes.unreadable_why));
  if (t.nsteps == 0) return;
  const Paging paging = space.for_region(t.region);  // the trace is its tree's
  const PagingMode& m = *paging.mode;
  // Indexes as wide as the mode's largest table needs (AArch64's 64 KiB tables hold 8192).
  unsigned widest = 0;
  for (unsigned i = 0; i < m.level_count(); ++i) widest = std::max(widest, m.entries(i));
  const unsigned dec = widest > 1000 ? 4 : 3, hexw = widest > 4096 ? 4 : 3;
  fmt::format_to(o, "  {:<10} {:<18} {:>{}}  {:<18} {:<18} {}\n", "level", "table", "index", dec + hexw + 3, "entry at",
                 "entry", "flags");
  for (unsigned i = 0; i < t.nsteps; ++i) {
    const Step& s = t.steps[i];
    const LevelDesc& l = m.levels[s.level];
    fmt::format_to(o, "  {:<4} {:<5} 0x{:016x} {:>{}} 0x{:0{}x}  0x{:016x} ", l.linux_name, l.hw_name, s.table.value(),
                   s.index, dec, s.index, hexw, s.entry_addr.value());
    if (i + 1 < t.nsteps || t.status != Status::Unreadable)
      fmt::format_to(o, "0x{:016x} {}\n", s.raw, m.arch->flag_names(m, s.level, s.raw, paging.options).join());
    else
      out += "(unreadable)\n";
  }
  if (t.status == Status::Mapped || t.status == Status::ProtNone) {
    const uint64_t off = t.va.offset_in(t.page_size);
    fmt::format_to(o, "  {:<10} 0x{:016x} + offset 0x{:x} = 0x{:x}\n", "page", (t.pa - off).value(), off, t.pa.value());
  }
  if (t.status == Status::Mapped && !notes.frame_held)
    fmt::format_to(o, "  note: PA 0x{:x} is not in the target's memory: the frame is mapped but its bytes are not in "
                      "this source\n", t.pa.value());
  for (const std::string& note : m.arch->trace_notes(paging, t)) fmt::format_to(o, "  note: {}\n", note);
}

}  // namespace pagewalk::target
