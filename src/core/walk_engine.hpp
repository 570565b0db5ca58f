// The walk prepared once per paging mode and CPU, as a template over an architecture's
// fast path: what each level needs from the mode's description (shifts, index masks, the
// regions and their roots) is worked out up front, and present entries the fast path can
// decide never reach the full decoder. Core instantiates it with no fast path; an
// architecture instantiates it with its own (arch/x86/x86_walk.cpp) and returns it from
// Architecture::make_engine, so the choice is made once per Walker, not per level.
#pragma once

#include <algorithm>

#include "core/architecture.hpp"

namespace pagewalk {

// What a fast path says about an entry it takes: where it points, whether it ends the
// walk, what it still allows (Access bits) and its attribute bits.
struct FastEntry {
  uint64_t addr;
  uint64_t attrs;
  bool leaf;
  uint8_t access;
};

// The fast path of an architecture that has none: every entry goes to the full decoder.
struct NoFastPath {
  NoFastPath(const PagingMode& /*mode*/, const DecodeOptions& /*options*/) {}
  [[nodiscard]] bool decode(unsigned /*level*/, uint64_t /*raw*/, FastEntry& /*out*/) const { return false; }
};

// How the full decoder's answer continues (or ends) a walk: the one rule translate and
// enumerate share for every entry the fast path declines.
[[nodiscard]] StepOutcome outcome_of(const EntryDecode& d, Access above);

template <typename Fast>
class BasicWalkEngine final : public WalkEngine {
 public:
  explicit BasicWalkEngine(const Paging& paging)
      : paging_(paging), fast_(*paging.mode, paging.options),
        nlevels_(static_cast<uint8_t>(paging.mode->level_count())), entry_bytes_(paging.mode->entry_bytes),
        tagged_halves_(paging.options.tagged_halves) {
    const PagingMode& mode = *paging.mode;
    for (unsigned i = 0; i < nlevels_; ++i)
      levels_[i] = {mode.levels[i].shift, (uint64_t{1} << mode.levels[i].index_bits) - 1};
    nregions_ = static_cast<uint8_t>(std::min<size_t>(mode.regions.size(), kMaxRegions));
    for (unsigned i = 0; i < nregions_; ++i) {
      const VaRegion& r = mode.regions[i];
      regions_[i] = {r.first, r.last - r.first, r.root};
    }
  }

  [[nodiscard]] Translation walk(TableReader& reader, const RootSet& roots, VirtAddr va) const override {
    Translation t;
    t.va = va;
    unsigned r = 0;
    const uint64_t v = tagged_halves_ ? untagged(va.value(), tagged_halves_) : va.value();
    while (r < nregions_ && v - regions_[r].first > regions_[r].extent) ++r;
    if (r == nregions_) {
      t.status = Status::NoRegion;
      return t;
    }
    t.region = static_cast<uint8_t>(r);
    Cursor c{&t, va, roots[regions_[r].root], PhysAddr(), 0, Access::kAllBits};
    for (;;) {
      begin_step(c);
      uint64_t raw;
      if (!read_step(reader, c, raw) || !finish_step(c, raw)) return t;
    }
  }

  [[nodiscard]] StepOutcome step(unsigned level, uint64_t raw, Access above) const override {
    FastEntry f;
    if (!fast_.decode(level, raw, f)) return outcome_of(paging_.decode(level, raw), above);
    StepOutcome o;
    o.kind = f.leaf ? StepOutcome::Kind::Leaf : StepOutcome::Kind::Table;
    o.status = Status::Mapped;
    o.access = above & Access(f.access);
    o.addr = f.addr;
    o.attrs = f.attrs;
    return o;
  }

  [[nodiscard]] const Paging& paging() const override { return paging_; }

 private:
  static constexpr unsigned kMaxRegions = 4;
  struct Level {
    uint8_t shift;
    uint64_t index_mask;
  };
  struct Region {
    uint64_t first;
    uint64_t extent;  // last - first: one unsigned compare tests membership
    uint8_t root;
  };
  // A walk in progress: the state between two levels.
  struct Cursor {
    Translation* t;
    VirtAddr va;
    PhysAddr table;       // of the current level
    PhysAddr entry_addr;  // of the step begun
    uint8_t level;        // of the step begun
    uint8_t access;       // Access bits accumulated above it
  };
  struct Next {
    PhysAddr table;
    uint8_t access;
    bool more;
  };

  // A walk is, per level, begin_step(), read_step() and finish_step(). The walk's own state
  // stays in the Cursor (registers): the Translation is only written, since reading back
  // what was just stored would put a store-forwarding delay on every level's critical
  // path. (Written as one loop with plain locals, GCC 12 compiles it to half the speed.)
  [[gnu::always_inline]] void begin_step(Cursor& c) const {
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

  [[gnu::always_inline]] bool read_step(TableReader& reader, const Cursor& c, uint64_t& raw) const {
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
  [[gnu::always_inline]] void map_to(Translation& t, Status status, unsigned level, uint64_t frame,
                                     uint8_t access) const {
    t.status = status;
    t.access = Access(access);
    t.page_size = uint64_t{1} << levels_[level].shift;
    t.pa = PhysAddr(frame) + t.va.offset_in(t.page_size);
  }

  // Takes the entry's value: true when the walk goes on at c.table, false when *c.t holds
  // the outcome.
  [[gnu::always_inline]] bool finish_step(Cursor& c, uint64_t raw) const {
    Translation& t = *c.t;
    t.steps[c.level].raw = raw;
    FastEntry f;
    if (!fast_.decode(c.level, raw, f)) {
      const Next n = finish_decoded(t, c.level, raw, c.access);
      c.table = n.table;
      c.access = n.access;
      return n.more && ++c.level < nlevels_;  // a decoder never makes a last-level entry a table
    }
    c.access &= f.access;
    if (!f.leaf) {
      c.table = PhysAddr(f.addr);
      return ++c.level < nlevels_;
    }
    map_to(t, Status::Mapped, c.level, f.addr, c.access);
    return false;
  }

  // Every entry the fast path declines. Kept out of line; returns in registers.
  [[gnu::noinline]] Next finish_decoded(Translation& t, unsigned level, uint64_t raw, uint8_t access) const {
    const StepOutcome o = outcome_of(paging_.decode(level, raw), Access(access));
    switch (o.kind) {
      case StepOutcome::Kind::Table:
        return {PhysAddr(o.addr), o.access.bits(), true};
      case StepOutcome::Kind::Leaf:
        map_to(t, o.status, level, o.addr, o.access.bits());
        break;
      case StepOutcome::Kind::End:
        t.status = o.status;
        t.swap_type = o.swap_type;
        t.swap_offset = o.swap_offset;
        break;
    }
    return {PhysAddr(), access, false};
  }

  Paging paging_;
  Fast fast_;
  uint8_t nlevels_;
  uint8_t entry_bytes_;
  uint8_t tagged_halves_;  // DecodeOptions::tagged_halves: which halves take a tagged VA
  uint8_t nregions_ = 0;
  std::array<Level, kMaxLevels> levels_{};
  std::array<Region, kMaxRegions> regions_{};
};

}  // namespace pagewalk
