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

Walker::Walker(const Paging& paging)
    : paging_(paging), nlevels_(static_cast<uint8_t>(paging.mode->level_count())),
      entry_bytes_(paging.mode->entry_bytes), hot_(*paging.mode, paging.options) {
  const PagingMode& mode = *paging.mode;
  for (unsigned i = 0; i < mode.level_count(); ++i)
    levels_[i] = {mode.levels[i].shift, (uint64_t{1} << mode.levels[i].index_bits) - 1};
}

// A walk is start(), then per level begin_step(), read_step() and finish_step(). The walk's
// own state stays in the Cursor (registers): the Translation is only written, since reading
// back what was just stored would put a store-forwarding delay on every level's critical
// path. (Written as one loop with plain locals, GCC 12 compiles it to half the speed.)

[[gnu::always_inline]] inline bool Walker::start(Translation& t, VirtAddr va) const {
  t.va = va;
  if (!paging_.mode->is_canonical(va)) {
    t.status = Status::NonCanonical;
    return false;
  }
  return true;
}

[[gnu::always_inline]] inline void Walker::begin_step(Cursor& c) const {
  const Level& l = levels_[c.level];
  const uint64_t index = (c.va.value() >> l.shift) & l.index_mask;
  c.entry_addr = c.table + index * entry_bytes_;
  Step& s = c.t->steps[c.level];
  s.level = c.level;
  s.index = static_cast<uint16_t>(index);
  s.table = c.table;
  s.entry_addr = c.entry_addr;
  c.t->nsteps = static_cast<uint8_t>(c.level + 1);
}

[[gnu::always_inline]] inline bool Walker::read_step(TableReader& reader, const Cursor& c, uint64_t& raw) const {
  auto r = reader.entry(c.entry_addr, entry_bytes_, c.level);
  if (!r) {
    c.t->steps[c.level].raw = 0;
    c.t->status = Status::Unreadable;
    c.t->unreadable = r.error().addr;
    return false;
  }
  raw = *r;
  return true;
}

// The outcome of a leaf (or of a PROT_NONE entry, with no access): where va lands.
[[gnu::always_inline]] inline void Walker::map_to(Translation& t, Status status, unsigned level, uint64_t frame,
                                                  uint8_t perms) const {
  t.status = status;
  t.perms = Perms::from_bits(perms);
  t.page_size = uint64_t{1} << levels_[level].shift;
  t.pa = PhysAddr(frame) + t.va.offset_in(t.page_size);
}

// Takes the entry's value: true when the walk goes on at c.table, false when *c.t holds
// the outcome.
[[gnu::always_inline]] inline bool Walker::finish_step(Cursor& c, uint64_t raw) const {
  Translation& t = *c.t;
  t.steps[c.level].raw = raw;
  x86::HotEntry h;
  if (!hot_.decode(c.level, raw, h)) {
    const Next n = finish_decoded(t, c.level, raw, c.perms);
    c.table = n.table;
    c.perms = n.perms;
    return n.more && ++c.level < nlevels_;  // a decoder never makes a last-level entry a table
  }
  c.perms &= h.perms;
  if (!h.leaf) {
    c.table = PhysAddr(h.addr);
    return ++c.level < nlevels_;
  }
  map_to(t, Status::Mapped, c.level, h.addr, c.perms);
  return false;
}

// Every entry the hot decoder declines: not present, faulty, 32-bit. Returns in registers.
Walker::Next Walker::finish_decoded(Translation& t, unsigned level, uint64_t raw, uint8_t perms) const {
  const EntryDecode d = paging_.decode(level, raw);
  switch (d.kind) {
    case EntryKind::Table:
      return {PhysAddr(d.addr), static_cast<uint8_t>(perms & d.perms.bits()), true};
    case EntryKind::Leaf:
      map_to(t, Status::Mapped, level, d.addr, perms & d.perms.bits());
      break;
    case EntryKind::ProtNone:
      map_to(t, Status::ProtNone, level, d.addr, 0);
      break;
    case EntryKind::Swap:
      t.status = Status::Swap;
      t.swap_type = d.swap_type;
      t.swap_offset = d.swap_offset;
      break;
    case EntryKind::Reserved:
      t.status = Status::Reserved;
      break;
    case EntryKind::Empty:
    case EntryKind::NotPresent:
      t.status = Status::NotPresent;
      break;
  }
  return {PhysAddr(), perms, false};
}

Translation Walker::walk(TableReader& reader, PhysAddr root, VirtAddr va) const {
  Translation t;
  if (!start(t, va)) return t;
  Cursor c{&t, va, root, PhysAddr(), 0, kPermAll};
  for (;;) {
    begin_step(c);
    uint64_t raw;
    if (!read_step(reader, c, raw) || !finish_step(c, raw)) return t;
  }
}

Translation walk(const Paging& paging, TableReader& reader, PhysAddr root, VirtAddr va) {
  return Walker(paging).walk(reader, root, va);
}

}  // namespace pagewalk
