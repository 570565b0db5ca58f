// The walk: one function that every client (translate, enumerate, reverse map, reading
// virtual memory) sits on. It returns the whole trace, not just the answer.
#pragma once

#include <array>
#include <string_view>

#include "arch/x86/x86_entry.hpp"
#include "core/entry.hpp"
#include "core/paging_mode.hpp"
#include "core/table_reader.hpp"

namespace pagewalk {

// A paging mode together with the CPU facts that change how its entries read.
struct Paging {
  const PagingMode* mode = nullptr;
  DecodeOptions options;

  [[nodiscard]] EntryDecode decode(unsigned level, uint64_t raw) const;
};

enum class Status : uint8_t {
  Mapped,
  NotPresent,    // an empty or non-present entry at steps[nsteps-1]
  Swap,          // a Linux swap/migration entry in the leaf
  ProtNone,      // a Linux PROT_NONE (or NUMA-hinting) leaf; pa is where it would map
  NonCanonical,  // the address is outside the mode's address space
  Unreadable,    // a table could not be read from the source
  Reserved,      // a reserved bit is set: the MMU would fault
};
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
  std::array<Step, kMaxLevels> steps;  // [0, nsteps) are valid
  PhysAddr pa;             // Mapped, ProtNone
  uint64_t page_size = 0;  // Mapped, ProtNone
  Perms perms{false, false, false};  // effective access, accumulated down the levels
  uint8_t swap_type = 0;   // Swap
  uint64_t swap_offset = 0;
  PhysAddr unreadable;     // Unreadable: the address that failed

  [[nodiscard]] bool mapped() const { return status == Status::Mapped; }
  [[nodiscard]] const Step& last() const { return steps[nsteps - 1]; }
};

// The walk prepared for one paging mode and CPU: what each level needs from the mode's
// description (shifts, index masks, page sizes, the entry decoder's masks) is worked out
// once. Clients that translate many addresses keep one.
class Walker {
 public:
  explicit Walker(const Paging& paging);

  [[nodiscard]] Translation walk(TableReader& reader, PhysAddr root, VirtAddr va) const;

  [[nodiscard]] const Paging& paging() const { return paging_; }

 private:
  struct Level {
    uint8_t shift;
    uint64_t index_mask;
  };
  // A walk in progress: the state between two levels.
  struct Cursor {
    Translation* t;
    VirtAddr va;
    PhysAddr table;       // of the current level
    PhysAddr entry_addr;  // of the step begun
    uint8_t level;        // of the step begun
    uint8_t perms;        // kPerm* bits accumulated above it
  };
  struct Next {
    PhysAddr table;
    uint8_t perms;
    bool more;
  };
  [[nodiscard]] bool start(Translation& t, VirtAddr va) const;
  void begin_step(Cursor& c) const;
  [[nodiscard]] bool read_step(TableReader& reader, const Cursor& c, uint64_t& raw) const;
  [[nodiscard]] bool finish_step(Cursor& c, uint64_t raw) const;
  void map_to(Translation& t, Status status, unsigned level, uint64_t frame, uint8_t perms) const;
  [[nodiscard]] Next finish_decoded(Translation& t, unsigned level, uint64_t raw, uint8_t perms) const;

  Paging paging_;
  uint8_t nlevels_;
  uint8_t entry_bytes_;
  std::array<Level, kMaxLevels> levels_{};
  x86::HotDecoder hot_;
};

// One walk, for a single address (a Walker made for it).
[[nodiscard]] Translation walk(const Paging& paging, TableReader& reader, PhysAddr root, VirtAddr va);

}  // namespace pagewalk
