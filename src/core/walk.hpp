// The walk: one step that every client (translate, enumerate, reverse map, reading virtual
// memory) sits on. It returns the whole trace, not just the answer.
#pragma once

#include <array>
#include <memory>
#include <string_view>

#include "core/entry.hpp"
#include "core/paging_mode.hpp"
#include "core/table_reader.hpp"

namespace pagewalk {

// A paging mode together with the CPU facts that change how its entries read.
struct Paging {
  const PagingMode* mode = nullptr;
  DecodeOptions options;

  // The full decoder of the mode's architecture.
  [[nodiscard]] EntryDecode decode(unsigned level, uint64_t raw) const;
  // The paging of the tree that serves region `region` (PagingMode::region_tree): the same
  // paging unless the mode is split. A trace or a range is read in its region's.
  [[nodiscard]] Paging for_region(unsigned region) const { return {&mode->region_tree(region), options}; }
};

enum class Status : uint8_t {
  Mapped,
  NotPresent,  // an empty or non-present entry at steps[nsteps-1]
  Swap,        // a Linux swap/migration entry in the leaf
  ProtNone,    // a Linux PROT_NONE (or NUMA-hinting) leaf; pa is where it would map
  NoRegion,    // the address is in no region of the mode's address space
  Unreadable,  // a table could not be read from the source
  Reserved,    // a reserved bit is set: the MMU would fault
};
// "no-region" is printed as "non-canonical": the word users of every architecture know
// for an address outside the translatable ranges.
[[nodiscard]] std::string_view to_string(Status s);

// Left uninitialised on purpose: a walk writes only the steps it takes (hot path).
struct Step {
  uint8_t level;  // index into the mode's levels
  uint16_t index;
  PhysAddr table;
  PhysAddr entry_addr;
  uint64_t raw;  // 0 when the entry could not be read (status Unreadable)
};

struct Translation {
  VirtAddr va;
  Status status = Status::NotPresent;
  uint8_t nsteps = 0;
  uint8_t region = 0;      // the mode's region that holds va (not NoRegion)
  std::array<Step, kMaxLevels> steps;  // [0, nsteps) are valid
  PhysAddr pa;             // Mapped, ProtNone
  uint64_t page_size = 0;  // Mapped, ProtNone
  Access access;           // effective access, accumulated down the levels
  uint8_t swap_type = 0;   // Swap
  uint64_t swap_offset = 0;
  PhysAddr unreadable;     // Unreadable: the address that failed

  [[nodiscard]] bool mapped() const { return status == Status::Mapped; }
  [[nodiscard]] const Step& last() const { return steps[nsteps - 1]; }
};

// What one entry means for the walk that reads it: go on at a table, stop at a leaf, or
// stop with a reason. Translate and enumerate both take their decisions from this.
struct StepOutcome {
  enum class Kind : uint8_t { Table, Leaf, End };
  Kind kind = Kind::End;
  Status status = Status::NotPresent;  // Leaf: Mapped or ProtNone; End: why the walk stops
  Access access;                        // accumulated down to this entry (ProtNone: none)
  uint8_t swap_type = 0;                // End with Swap
  uint64_t addr = 0;                    // Table: the next table; Leaf: the frame's base
  uint64_t attrs = 0;                   // Leaf: attribute bits, for coalescing
  uint64_t swap_offset = 0;
};

// The walk prepared for one paging mode and CPU (core/walk_engine.hpp); an architecture
// may supply its own with a fast path for present entries. Chosen once per Walker, so a
// walk makes no per-level dispatch.
class WalkEngine {
 public:
  virtual ~WalkEngine() = default;
  [[nodiscard]] virtual Translation walk(TableReader& reader, const RootSet& roots, VirtAddr va) const = 0;
  [[nodiscard]] virtual StepOutcome step(unsigned level, uint64_t raw, Access above) const = 0;
  [[nodiscard]] virtual const Paging& paging() const = 0;
  // The walk of one root's tree: this one unless the mode is split.
  [[nodiscard]] virtual const WalkEngine& tree(unsigned /*root*/) const { return *this; }
};

// The walk for one paging mode and CPU. Clients that translate many addresses keep one.
class Walker {
 public:
  explicit Walker(const Paging& paging);

  [[nodiscard]] Translation walk(TableReader& reader, const RootSet& roots, VirtAddr va) const {
    return engine_->walk(reader, roots, va);
  }
  [[nodiscard]] const Paging& paging() const { return engine_->paging(); }
  // The walk of the tree that serves region `region` (its step() reads that tree's levels).
  [[nodiscard]] const WalkEngine& region_engine(unsigned region) const {
    return engine_->tree(paging().mode->regions[region].root);
  }

 private:
  std::shared_ptr<const WalkEngine> engine_;
};

// One walk, for a single address (a Walker made for it).
[[nodiscard]] Translation walk(const Paging& paging, TableReader& reader, const RootSet& roots, VirtAddr va);

}  // namespace pagewalk
