#include "core/walk.hpp"

#include "arch/x86/x86_entry.hpp"

namespace pagewalk {

EntryDecode Paging::decode(unsigned level, uint64_t raw) const {
  switch (mode->arch) {
    case Arch::X86:
      return x86::decode(*mode, level, raw, options);
  }
  return {};
}

std::string_view to_string(Status s) {
  switch (s) {
    case Status::Mapped: return "mapped";
    case Status::NotPresent: return "not-present";
    case Status::Swap: return "swap";
    case Status::ProtNone: return "prot-none";
    case Status::NonCanonical: return "non-canonical";
    case Status::Unreadable: return "unreadable";
    case Status::Reserved: return "reserved";
  }
  return "?";
}

Translation walk(const Paging& paging, TableReader& reader, PhysAddr root, VirtAddr va) {
  const PagingMode& mode = *paging.mode;
  Translation t;
  t.va = va;
  if (!mode.is_canonical(va)) {
    t.status = Status::NonCanonical;
    return t;
  }
  Perms perms;
  PhysAddr table = root;
  for (unsigned level = 0; level < mode.level_count(); ++level) {
    Step& s = t.steps[t.nsteps++];
    s.level = static_cast<uint8_t>(level);
    s.index = static_cast<uint16_t>(mode.index(va, level));
    s.table = table;
    s.entry_addr = table + uint64_t{s.index} * mode.entry_bytes;
    auto raw = reader.entry(s.entry_addr, mode.entry_bytes, level);
    if (!raw) {
      t.status = Status::Unreadable;
      t.unreadable = raw.error().addr;
      return t;
    }
    s.raw = *raw;
    const EntryDecode d = paging.decode(level, s.raw);
    switch (d.kind) {
      case EntryKind::Table:
        perms = perms & d.perms;
        table = PhysAddr(d.addr);
        continue;
      case EntryKind::Leaf:
        t.status = Status::Mapped;
        t.perms = perms & d.perms;
        t.page_size = mode.span(level);
        t.pa = PhysAddr(d.addr) + va.offset_in(t.page_size);
        return t;
      case EntryKind::ProtNone:
        t.status = Status::ProtNone;
        t.page_size = mode.span(level);
        t.pa = PhysAddr(d.addr) + va.offset_in(t.page_size);
        return t;
      case EntryKind::Swap:
        t.status = Status::Swap;
        t.swap_type = d.swap_type;
        t.swap_offset = d.swap_offset;
        return t;
      case EntryKind::Reserved:
        t.status = Status::Reserved;
        return t;
      case EntryKind::Empty:
      case EntryKind::NotPresent:
        t.status = Status::NotPresent;
        return t;
    }
  }
  return t;  // unreachable: the last level always ends the walk
}

}  // namespace pagewalk
