#include "core/walk.hpp"


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

}  // namespace pagewalk
