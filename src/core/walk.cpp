#include "core/walk.hpp"

#include <iterator>

#include <fmt/format.h>

#include "core/architecture.hpp"
#include "core/walk_engine.hpp"

namespace pagewalk {

EntryDecode Paging::decode(unsigned level, uint64_t raw) const {
  return mode->arch->decode(*mode, level, raw, options);
}

std::string_view to_string(Status s) {
  switch (s) {
    case Status::Mapped: return "mapped";
    case Status::NotPresent: return "not-present";
    case Status::Swap: return "swap";
    case Status::ProtNone: return "prot-none";
    case Status::NoRegion: return "non-canonical";
    case Status::Unreadable: return "unreadable";
    case Status::Reserved: return "reserved";
  }
  return "?";
}

StepOutcome outcome_of(const EntryDecode& d, Access above) {
  StepOutcome o;
  switch (d.kind) {
    case EntryKind::Table:
      o.kind = StepOutcome::Kind::Table;
      o.status = Status::Mapped;
      o.access = above & d.access;
      o.addr = d.addr;
      break;
    case EntryKind::Leaf:
      o.kind = StepOutcome::Kind::Leaf;
      o.status = Status::Mapped;
      o.access = above & d.access;
      o.addr = d.addr;
      o.attrs = d.attrs;
      break;
    case EntryKind::ProtNone:
      // Where the page would be, with no access: Linux maps it PROT_NONE (or NUMA-hinting).
      o.kind = StepOutcome::Kind::Leaf;
      o.status = Status::ProtNone;
      o.addr = d.addr;
      o.attrs = d.attrs;
      break;
    case EntryKind::Swap:
      o.status = Status::Swap;
      o.swap_type = d.swap_type;
      o.swap_offset = d.swap_offset;
      break;
    case EntryKind::Reserved:
      o.status = Status::Reserved;
      break;
    case EntryKind::Empty:
    case EntryKind::NotPresent:
      o.status = Status::NotPresent;
      break;
  }
  return o;
}

Walker::Walker(const Paging& paging) : engine_(paging.mode->arch->make_engine(paging)) {}

Translation walk(const Paging& paging, TableReader& reader, const RootSet& roots, VirtAddr va) {
  return Walker(paging).walk(reader, roots, va);
}

// ---- Architecture defaults ----------------------------------------------------------------

std::string FlagNames::join(char sep) const {
  std::string s;
  for (std::string_view n : *this) {
    if (!s.empty()) s += sep;
    s += n;
  }
  return s;
}

std::vector<EntryField> Architecture::entry_fields(const PagingMode&, unsigned, uint64_t,
                                                   const DecodeOptions&) const {
  return {};
}

std::string_view Architecture::swap_kind(unsigned /*type*/) const { return "swap"; }

uint64_t Architecture::coalesce_ignored_attrs(const PagingMode&) const { return 0; }

std::shared_ptr<const WalkEngine> Architecture::make_engine(const Paging& paging) const {
  return std::make_shared<const BasicWalkEngine<NoFastPath>>(paging);
}

PhysAddr Architecture::root_from_register(const PagingMode& mode, uint64_t value) const {
  // Without other knowledge: the register holds the table's address, aligned to a page.
  return PhysAddr(value & ~(mode.page_size() - 1));
}

tl::expected<CpuPaging, std::string> Architecture::paging_from_cpu(const CpuState& cpu) const {
  return tl::unexpected(
      fmt::format("{} has no rules for CPU {}'s registers: give the root and the mode", name(), cpu.index));
}

std::vector<std::string> Architecture::access_notes(const Paging&, const Translation&) const { return {}; }

std::string Architecture::describe_registers(const CpuState& cpu) {
  std::string s;
  for (const auto& [n, v] : cpu.registers) fmt::format_to(std::back_inserter(s), "{}{} 0x{:x}", s.empty() ? "" : "  ", n, v);
  return s;
}

}  // namespace pagewalk
