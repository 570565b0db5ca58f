#include "core/enumerate.hpp"

#include <algorithm>

#include "core/architecture.hpp"

namespace pagewalk {

std::string_view to_string(RangeKind k) {
  switch (k) {
    case RangeKind::Mapped: return "mapped";
    case RangeKind::Hole: return "hole";
    case RangeKind::NoRegion: return "non-canonical";
    case RangeKind::Unreadable: return "unreadable";
    case RangeKind::Loop: return "loop";
  }
  return "?";
}

namespace {

class Enumerator {
 public:
  Enumerator(const Paging& p, TableReader& r, const EnumOptions& o, const RangeSink& sink)
      : walker_(p), mode_(*p.mode), tree_(&mode_), engine_(&walker_.region_engine(0)), reader_(r), sink_(sink),
        options_(o) {}

  EnumReport run(const RootSet& roots) {
    const uint64_t first = options_.first.value(), last = options_.last.value();
    if (first > last) return std::move(report_);
    const VaRegion* previous = nullptr;
    for (unsigned i = 0; i < mode_.regions.size() && !done(); ++i) {
      const VaRegion& region = mode_.regions[i];
      if (region.first > last) break;
      // The gap between two regions, as far as the window reaches into it.
      if (previous && region.first > previous->last + 1) {
        const uint64_t from = std::max(previous->last + 1, first), to = std::min(region.first - 1, last);
        if (from <= to) emit(make(from, to, RangeKind::NoRegion));
      }
      previous = &region;
      if (region.last < first) continue;
      // A region's VAs are its tree's addresses above a fixed base (x86-64's upper half:
      // 0xffff000000000000 + the tree's 2^48 bytes).
      // Each region is read in its own tree's shape (PagingMode::trees).
      tree_ = &mode_.region_tree(i);
      engine_ = &walker_.region_engine(i);
      tree_base_ = region.first & ~(tree_->tree_size() - 1);
      region_ = static_cast<uint8_t>(i);
      lo_ = std::max(region.first, first) - tree_base_;
      hi_ = std::min(region.last, last) - tree_base_;
      ancestors_[0] = roots[region.root];
      visit(0, roots[region.root], 0, Access::all());
    }
    flush();
    return std::move(report_);
  }

 private:
  void visit(unsigned level, PhysAddr table, uint64_t base, Access access) {
    // Regions that share a root (x86-64's halves) visit that one table once each.
    if (level > 0 || std::find(roots_seen_.begin(), roots_seen_.begin() + nroots_seen_, table) ==
                         roots_seen_.begin() + nroots_seen_) {
      ++report_.tables;
      if (level == 0 && nroots_seen_ < roots_seen_.size()) roots_seen_[nroots_seen_++] = table;
    }
    const PagingMode& tree = *tree_;
    const unsigned shift = tree.levels[level].shift;
    const uint64_t span = tree.span(level);
    const uint64_t count = tree.entries(level);
    const uint64_t first = lo_ > base ? (lo_ - base) >> shift : 0;
    const uint64_t last = std::min<uint64_t>(count - 1, (hi_ - base) >> shift);
    for (uint64_t i = first; i <= last && !done(); ++i) {
      if (++report_.entries > options_.max_entries) {
        report_.truncated = true;
        return;
      }
      const uint64_t start = base + i * span;
      const uint64_t from = std::max(start, lo_);
      const uint64_t to = std::min(start + (span - 1), hi_);
      auto raw = reader_.entry(table + i * tree.entry_bytes, tree.entry_bytes, level);
      if (!raw) {
        report_.unreadable.push_back(raw.error().addr);
        Range r = make_tree(from, std::min(base + (last + 1) * span - 1, hi_), RangeKind::Unreadable);
        r.level = static_cast<uint8_t>(level);
        emit(r);
        return;
      }
      const StepOutcome o = engine_->step(level, *raw, access);
      if (o.kind == StepOutcome::Kind::Table && level + 1 < tree.level_count()) {
        const PhysAddr next(o.addr);
        if (std::find(ancestors_.begin(), ancestors_.begin() + level + 1, next) != ancestors_.begin() + level + 1) {
          Range r = make_tree(from, to, RangeKind::Loop);
          r.level = static_cast<uint8_t>(level);
          r.raw = *raw;
          r.pa = next;
          report_.loops.push_back(r);
          emit(r);
          continue;
        }
        ancestors_[level + 1] = next;
        visit(level + 1, next, start, o.access);
      } else if (o.kind == StepOutcome::Kind::Leaf && o.status == Status::Mapped) {
        Range r = make_tree(from, to, RangeKind::Mapped);
        r.pa = PhysAddr(o.addr) + (from - start);
        r.level = static_cast<uint8_t>(level);
        r.raw = *raw;
        r.attrs = o.attrs;
        r.access = o.access;
        r.pages = 1;
        emit(r);
      } else {
        emit(make_tree(from, to, RangeKind::Hole));
      }
    }
  }

  // A range given by its tree addresses, placed at its VAs.
  [[nodiscard]] Range make_tree(uint64_t from, uint64_t to_inclusive, RangeKind kind) const {
    Range r = make(tree_base_ + from, tree_base_ + to_inclusive, kind);
    r.region = region_;
    return r;
  }
  [[nodiscard]] static Range make(uint64_t from, uint64_t to_inclusive, RangeKind kind) {
    Range r;
    r.start = VirtAddr(from);
    r.size = to_inclusive - from + 1;
    r.kind = kind;
    return r;
  }

  [[nodiscard]] bool done() const { return report_.stopped || report_.truncated; }

  // Ranges arrive in VA order; neighbouring holes are merged.
  void emit(const Range& r) {
    if (have_pending_ && pending_.kind == RangeKind::Hole && r.kind == RangeKind::Hole &&
        pending_.start + pending_.size == r.start) {
      pending_.size += r.size;
      return;
    }
    flush();
    pending_ = r;
    have_pending_ = true;
  }

  void flush() {
    if (!have_pending_) return;
    have_pending_ = false;
    if (!report_.stopped && !sink_(pending_)) report_.stopped = true;
  }

  const Walker walker_;
  const PagingMode& mode_;
  const PagingMode* tree_;    // the current region's tree
  const WalkEngine* engine_;  // and its walk
  TableReader& reader_;
  const RangeSink& sink_;
  const EnumOptions& options_;
  uint64_t tree_base_ = 0;
  uint8_t region_ = 0;
  uint64_t lo_ = 0, hi_ = 0;  // the window inside the current region, as tree addresses
  std::array<PhysAddr, kMaxLevels> ancestors_{};
  std::array<PhysAddr, kMaxRoots> roots_seen_{};
  unsigned nroots_seen_ = 0;
  EnumReport report_;
  Range pending_;
  bool have_pending_ = false;
};

}  // namespace

EnumReport enumerate(const Paging& paging, TableReader& reader, const RootSet& roots, const EnumOptions& options,
                     const RangeSink& sink) {
  return Enumerator(paging, reader, options, sink).run(roots);
}

uint64_t default_max_entries(const PhysMemory& memory) {
  uint64_t pages = 0;
  for (const PhysRange& r : memory.backed_ranges()) pages += r.size / 4096;
  constexpr uint64_t kFloor = uint64_t{1} << 22, kCeiling = uint64_t{1} << 30;
  return pages >= kCeiling / 64 ? kCeiling : std::max(kFloor, pages * 64);
}

CoalescePolicy CoalescePolicy::for_mode(const PagingMode& mode) {
  CoalescePolicy p;
  p.ignored_attrs = mode.arch->coalesce_ignored_attrs(mode);
  return p;
}

bool Coalescer::joins(const Range& r) const {
  if (!have_run_ || r.kind != RangeKind::Mapped || run_.kind != RangeKind::Mapped) return false;
  if (run_.start + run_.size != r.start) return false;
  if (policy_.same_level && run_.level != r.level) return false;
  if (policy_.contiguous_pa && run_.pa + run_.size != r.pa) return false;
  const uint64_t mask = ~policy_.ignored_attrs;
  return (run_.attrs & mask) == (r.attrs & mask) && run_.access == r.access;
}

bool Coalescer::push(const Range& r) {
  if (joins(r)) {
    if (run_.pa + run_.size != r.pa) ++run_.pa_runs;  // the physical side jumps here
    run_.size += r.size;
    run_.pages += r.pages;
    return true;
  }
  bool ok = finish();
  if (r.kind == RangeKind::Mapped) {
    run_ = r;
    have_run_ = true;
  } else if (policy_.keep_holes) {
    ok = out_(r) && ok;
  }
  return ok;
}

bool Coalescer::finish() {
  if (!have_run_) return true;
  have_run_ = false;
  return out_(run_);
}

}  // namespace pagewalk
