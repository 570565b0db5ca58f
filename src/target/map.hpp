// A target's map: the ranges its tables map, coalesced or page by page, each row with the
// PTI half it came from and (for a process) the VMA it lies in. `pagewalk map` and the
// Python module's map() are two renderings of these rows.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/enumerate.hpp"
#include "linux/vmas.hpp"
#include "target/target.hpp"

namespace pagewalk::target {

struct MapOptions {
  std::optional<uint64_t> from;  // the window [from, to); none: from 0
  std::optional<uint64_t> to;    // none: to the top of the space
  bool pages = false;           // one row per leaf instead of coalesced runs
  bool holes = false;           // holes, gaps and unreadable tables too
  bool by_attributes = false;   // runs of equal attributes, whatever their PAs
  bool with_kernel = false;     // a process: its kernel half too
  uint64_t max_entries = 0;     // 0: default_max_entries() of the target's memory
};

struct MapRow {
  const RootView* view = nullptr;  // the PGD (of a PTI pair) it came from
  Range range;
  const linux_kernel::Vma* vma = nullptr;  // a process's VMA the row starts in
};

struct MapReport {
  EnumReport totals;
  uint64_t rows = 0, mapped_bytes = 0;
  bool user_half = false;           // a process's map stopped at its half of the space
  uint64_t max_entries = 0;         // the bound the walk ran with
  std::optional<std::string> vma_problem;  // why the rows carry no VMA (the list did not read)
};

// Whether the options make sense for the target (checked by map_target too; a client that
// prints a header first asks before).
[[nodiscard]] tl::expected<void, Error> check_map(const Target& t, const MapOptions& options);
// Whether a process's map stops at its half of the space (no window, no with_kernel).
[[nodiscard]] bool map_user_half(const Target& t, const MapOptions& options);

using MapSink = std::function<bool(const MapRow&)>;
using ViewStart = std::function<void(const RootView&)>;

// The rows of the target's map, in VA order per view, handed to `sink` (false stops);
// `on_view` is told when each view's walk begins. `vma_problem` is known before the first
// row.
[[nodiscard]] tl::expected<MapReport, Error> map_target(const Target& t, TableReader& reader,
                                                        const MapOptions& options, const MapSink& sink,
                                                        const ViewStart& on_view = {},
                                                        const std::function<void(const std::string&)>& on_problem = {});

}  // namespace pagewalk::target
