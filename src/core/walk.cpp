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

namespace {

// The walk of a split mode: each root's tree has an engine of its own (its architecture's,
// fast path included), and the region a VA falls in picks which one walks it.
class SplitWalkEngine final : public WalkEngine {
 public:
  explicit SplitWalkEngine(const Paging& paging) : paging_(paging) {
    for (unsigned root = 0; root < kMaxRoots; ++root) {
      const Paging tree{&paging.mode->tree(root), paging.options};
      trees_[root] = tree.mode->arch->make_engine(tree);
    }
  }

  [[nodiscard]] Translation walk(TableReader& reader, const RootSet& roots, VirtAddr va) const override {
    // The trees' regions are the split mode's (PagingMode::trees), so the tree found here
    // finds the same region again.
    const uint64_t v = untagged(va.value(), paging_.options.tagged_halves);
    if (const VaRegion* r = paging_.mode->region_of(VirtAddr(v))) return trees_[r->root]->walk(reader, roots, va);
    Translation t;
    t.va = va;
    t.status = Status::NoRegion;
    return t;
  }
  [[nodiscard]] StepOutcome step(unsigned level, uint64_t raw, Access above) const override {
    return trees_[kMaxRoots - 1]->step(level, raw, above);  // the mode's own levels are its last tree's
  }
  [[nodiscard]] const Paging& paging() const override { return paging_; }
  [[nodiscard]] const WalkEngine& tree(unsigned root) const override { return *trees_[root]; }

 private:
  Paging paging_;
  std::array<std::shared_ptr<const WalkEngine>, kMaxRoots> trees_;
};

std::shared_ptr<const WalkEngine> make_walk_engine(const Paging& paging) {
  if (paging.mode->split()) return std::make_shared<const SplitWalkEngine>(paging);
  return paging.mode->arch->make_engine(paging);
}

}  // namespace

Walker::Walker(const Paging& paging) : engine_(make_walk_engine(paging)) {}

Translation walk(const Paging& paging, TableReader& reader, const RootSet& roots, VirtAddr va) {
  return Walker(paging).walk(reader, roots, va);
}

}  // namespace pagewalk
