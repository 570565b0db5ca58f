#include "target/describe.hpp"

#include <bit>

#include <fmt/format.h>

#include "core/architecture.hpp"
#include "core/entry.hpp"
#include "target/target.hpp"

namespace pagewalk::target {

std::string translation_reason(const Paging& paging, const Translation& t, std::string_view unreadable_why) {
  const PagingMode& m = *paging.mode;
  switch (t.status) {
    case Status::Mapped:
      return "";
    case Status::NoRegion:
      return fmt::format("in no region of {} ({})", m.name, target::describe_regions(m));
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

}  // namespace pagewalk::target
