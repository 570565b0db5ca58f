#include "core/enumerate.hpp"

#include <algorithm>

namespace pagewalk {

std::string_view to_string(RangeKind k) {
  switch (k) {
    case RangeKind::Mapped: return "mapped";
    case RangeKind::Hole: return "hole";
    case RangeKind::NonCanonical: return "non-canonical";
    case RangeKind::Unreadable: return "unreadable";
    case RangeKind::Loop: return "loop";
  }
  return "?";
}

namespace {

class Enumerator {
 public:
  Enumerator(const Paging& p, TableReader& r, const EnumOptions& o, const RangeSink& sink)
      : paging_(p), mode_(*p.mode), reader_(r), sink_(sink), options_(o) {
    const uint64_t size = mode_.space_size();
    const uint64_t half = size / 2;
    auto to_linear = [&](VirtAddr va, bool is_last) -> uint64_t {
      if (mode_.is_canonical(va)) return mode_.linear(va);
      if (!mode_.sign_extended) return is_last ? size - 1 : size;  // beyond a 32-bit space
      return is_last ? half - 1 : half;                            // inside the gap
    };
    lo_ = to_linear(o.first, false);
    hi_ = to_linear(o.last, true);
  }

  EnumReport run(PhysAddr root) {
    if (lo_ <= hi_) {
      ancestors_[0] = root;
      visit(0, root, 0, Perms{});
      flush();
    }
    return std::move(report_);
  }

 private:
  void visit(unsigned level, PhysAddr table, uint64_t base, Perms perms) {
    ++report_.tables;
    const unsigned shift = mode_.levels[level].shift;
    const uint64_t span = mode_.span(level);
    const uint64_t count = mode_.entries(level);
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
      auto raw = reader_.entry(table + i * mode_.entry_bytes, mode_.entry_bytes, level);
      if (!raw) {
        report_.unreadable.push_back(raw.error().addr);
        Range r = make(from, std::min(base + (last + 1) * span - 1, hi_), RangeKind::Unreadable);
        r.level = static_cast<uint8_t>(level);
        emit(r);
        return;
      }
      const EntryDecode d = paging_.decode(level, *raw);
      if (d.kind == EntryKind::Table) {
        const PhysAddr next(d.addr);
        if (std::find(ancestors_.begin(), ancestors_.begin() + level + 1, next) != ancestors_.begin() + level + 1) {
          Range r = make(from, to, RangeKind::Loop);
          r.level = static_cast<uint8_t>(level);
          r.raw = *raw;
          r.pa = next;
          report_.loops.push_back(r);
          emit(r);
          continue;
        }
        ancestors_[level + 1] = next;
        visit(level + 1, next, start, perms & d.perms);
      } else if (d.kind == EntryKind::Leaf) {
        Range r = make(from, to, RangeKind::Mapped);
        r.pa = PhysAddr(d.addr) + (from - start);
        r.level = static_cast<uint8_t>(level);
        r.raw = *raw;
        r.attrs = d.attrs;
        r.perms = perms & d.perms;
        r.pages = 1;
        emit(r);
      } else {
        emit(make(from, to, RangeKind::Hole));
      }
    }
  }

  [[nodiscard]] Range make(uint64_t from, uint64_t to_inclusive, RangeKind kind) const {
    Range r;
    r.start = VirtAddr(from);  // linear for now; made canonical on the way out
    r.size = to_inclusive - from + 1;
    r.kind = kind;
    return r;
  }

  [[nodiscard]] bool done() const { return report_.stopped || report_.truncated; }

  // Ranges arrive in linear order; holes are merged and the canonical gap is filled in.
  void emit(const Range& r) {
    const uint64_t from = r.start.value();
    const uint64_t half = mode_.space_size() / 2;
    if (mode_.sign_extended && !gap_done_ && from >= half && lo_ < half) {
      flush();
      gap_done_ = true;
      Range gap;
      gap.start = VirtAddr(half);
      gap.size = mode_.canonical(half).value() - half;
      gap.kind = RangeKind::NonCanonical;
      deliver(gap);
    }
    if (have_pending_ && pending_.kind == RangeKind::Hole && r.kind == RangeKind::Hole &&
        pending_.start.value() + pending_.size == from) {
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
    Range r = pending_;
    r.start = mode_.canonical(r.start.value());
    deliver(r);
  }

  void deliver(const Range& r) {
    if (!report_.stopped && !sink_(r)) report_.stopped = true;
  }

  const Paging& paging_;
  const PagingMode& mode_;
  TableReader& reader_;
  const RangeSink& sink_;
  const EnumOptions& options_;
  uint64_t lo_ = 0, hi_ = 0;  // the window in linear space, inclusive
  std::array<PhysAddr, kMaxLevels> ancestors_{};
  EnumReport report_;
  Range pending_;
  bool have_pending_ = false;
  bool gap_done_ = false;
};

}  // namespace

EnumReport enumerate(const Paging& paging, TableReader& reader, PhysAddr root, const EnumOptions& options,
                     const RangeSink& sink) {
  return Enumerator(paging, reader, options, sink).run(root);
}

bool Coalescer::joins(const Range& r) const {
  if (!have_run_ || r.kind != RangeKind::Mapped || run_.kind != RangeKind::Mapped) return false;
  if (run_.start + run_.size != r.start) return false;
  if (policy_.same_level && run_.level != r.level) return false;
  if (policy_.contiguous_pa && run_.pa + run_.size != r.pa) return false;
  const uint64_t mask = ~policy_.ignored_attrs;
  return (run_.attrs & mask) == (r.attrs & mask) && run_.perms == r.perms;
}

bool Coalescer::push(const Range& r) {
  if (joins(r)) {
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
