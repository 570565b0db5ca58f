// Enumeration: the address space as a sequence of maximal ranges in VA order, holes
// included, each unmapped subtree skipped in one step, the gaps between the mode's regions
// reported as such. Every entry is judged by the walk's own step (WalkEngine::step of its
// region's tree), so what enumerate calls a leaf translates to the same PA, size and access.
// Coalescing (ptdump-style runs of equal attributes) is a separate stage with its policy as
// a parameter.
#pragma once

#include <functional>
#include <vector>

#include "core/walk.hpp"

namespace pagewalk {

enum class RangeKind : uint8_t {
  Mapped,      // one leaf entry (or a merged run, after coalescing)
  Hole,        // nothing mapped (empty, not-present, swap and PROT_NONE entries alike)
  NoRegion,    // between two regions of the address space (printed "non-canonical")
  Unreadable,  // a table here could not be read from the source
  Loop,        // a table entry points back at its own table or an ancestor: skipped
};
[[nodiscard]] std::string_view to_string(RangeKind k);

struct Range {
  VirtAddr start;
  uint64_t size = 0;  // start + size wraps to 0 for a range that ends at the top of the space
  RangeKind kind = RangeKind::Hole;
  PhysAddr pa;        // Mapped: the PA of `start`
  uint8_t level = 0;  // Mapped: the leaf's level; Loop/Unreadable: where it happened
  uint8_t region = 0; // the mode's region (not NoRegion)
  uint64_t raw = 0;   // Mapped: the leaf entry; Loop: the entry that loops
  uint64_t attrs = 0;
  Access access;
  uint64_t pages = 0;  // Mapped: leaf entries in the range
  uint64_t pa_runs = 1;  // Mapped: physically contiguous pieces (> 1 only when coalesced by attributes)

  [[nodiscard]] uint64_t page_size(const PagingMode& m) const { return m.region_tree(region).span(level); }
};

struct EnumOptions {
  VirtAddr first{0};           // window, inclusive at both ends
  VirtAddr last{~uint64_t{0}};
  uint64_t max_entries = uint64_t{1} << 30;  // work bound against hostile tables
};

struct EnumReport {
  uint64_t entries = 0;  // entries examined
  uint64_t tables = 0;   // tables visited
  bool truncated = false;  // max_entries reached
  bool stopped = false;    // the sink asked to stop
  std::vector<Range> loops;       // entries that point back at an ancestor table
  std::vector<PhysAddr> unreadable;  // tables that could not be read
};

// The work bound for enumerating tables held in `memory`: 64 entries for every 4 KiB page
// the source holds (between 4 Mi and 1 Gi entries). Honest tables examine at most 512
// entries per table page, and tables are a small share of memory; tables whose entries
// share subtrees many times over (which a hostile image can make) would otherwise
// multiply the work without bound in what the source claims to hold.
[[nodiscard]] uint64_t default_max_entries(const PhysMemory& memory);

// The sink returns false to stop early.
using RangeSink = std::function<bool(const Range&)>;

EnumReport enumerate(const Paging& paging, TableReader& reader, const RootSet& roots, const EnumOptions& options,
                     const RangeSink& sink);

struct CoalescePolicy {
  bool contiguous_pa = true;   // merge only when the physical side continues as well
  bool same_level = true;      // keep 4 KiB, 2 MiB and 1 GiB runs apart
  uint64_t ignored_attrs = 0;  // attribute bits that do not split a run (Architecture::coalesce_ignored_attrs)
  bool keep_holes = false;     // pass holes, gaps and errors through

  // The policy with the architecture's ignored attribute bits.
  [[nodiscard]] static CoalescePolicy for_mode(const PagingMode& mode);
};

// Merges neighbouring mapped ranges with equal attributes and access.
class Coalescer {
 public:
  Coalescer(CoalescePolicy policy, RangeSink out) : policy_(policy), out_(std::move(out)) {}
  bool push(const Range& r);
  bool finish();

 private:
  [[nodiscard]] bool joins(const Range& r) const;
  CoalescePolicy policy_;
  RangeSink out_;
  Range run_;
  bool have_run_ = false;
};

}  // namespace pagewalk
