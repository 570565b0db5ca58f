// What an architecture supplies to the shared code: its paging modes (as data), its entry
// decoder and optional fast path, its flag names, the Linux meanings of its non-present
// entries, the attribute bits coalescing ignores, and how a CPU state picks a mode and the
// roots. Everything in core calls an architecture through this interface only; see
// "Adding an architecture" in the README.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/cpu_state.hpp"
#include "core/walk.hpp"

namespace pagewalk {

// Names of the bits set in one entry, as the level reads them: static strings, so that the
// hot output paths allocate nothing.
class FlagNames {
 public:
  using value_type = std::string_view;
  using const_iterator = const std::string_view*;
  static constexpr unsigned kMax = 32;
  void add(bool on, std::string_view name) {
    if (on && count_ < kMax) names_[count_++] = name;
  }
  [[nodiscard]] const std::string_view* begin() const { return names_.data(); }
  [[nodiscard]] const std::string_view* end() const { return names_.data() + count_; }
  [[nodiscard]] unsigned size() const { return count_; }
  [[nodiscard]] bool empty() const { return count_ == 0; }
  [[nodiscard]] std::string join(char sep = ' ') const;

 private:
  std::array<std::string_view, kMax> names_{};
  unsigned count_ = 0;
};

// A number an entry carries besides its address and flags (x86: the protection key).
struct EntryField {
  std::string_view name;
  uint64_t value;
};

// What a CPU state says about paging.
struct CpuPaging {
  const PagingMode* mode = nullptr;  // nullptr: paging is off (virtual addresses are physical)
  RootSet roots;
  std::optional<uint64_t> root_register;  // the register value the roots came from (x86 CR3)
  DecodeOptions options;
  std::string mode_source;  // the registers that chose the mode; why paging is off
  std::string root_source;  // the registers that hold the roots
};

class Architecture {
 public:
  Architecture() = default;
  Architecture(const Architecture&) = delete;
  Architecture& operator=(const Architecture&) = delete;
  virtual ~Architecture() = default;

  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual std::span<const PagingMode* const> modes() const = 0;
  // The modes' names for a one-line message: every name by default; an architecture with
  // many modes gives their pattern.
  [[nodiscard]] virtual std::string mode_names() const;

  [[nodiscard]] virtual EntryDecode decode(const PagingMode& mode, unsigned level, uint64_t raw,
                                           const DecodeOptions& options) const = 0;
  [[nodiscard]] virtual FlagNames flag_names(const PagingMode& mode, unsigned level, uint64_t raw,
                                             const DecodeOptions& options) const = 0;
  // The bits of an entry flag_names reads (besides whether the entry is zero): entries
  // equal in these have the same names, so a printer may reuse them. Default: every bit.
  [[nodiscard]] virtual uint64_t flag_bits(const PagingMode& mode, unsigned level) const;
  [[nodiscard]] virtual std::vector<EntryField> entry_fields(const PagingMode& mode, unsigned level, uint64_t raw,
                                                             const DecodeOptions& options) const;
  // What a Linux swap type number denotes on this architecture's kernels. By default the
  // generic numbering of include/linux/swap.h on a kernel with every special type configured
  // (32 types, the top 9 hwpoison, migration, device, marker), which x86 and arm64 share.
  [[nodiscard]] virtual std::string_view swap_kind(unsigned type) const;
  // Attribute bits that do not split a coalesced run (bits the MMU sets as it goes).
  [[nodiscard]] virtual uint64_t coalesce_ignored_attrs(const PagingMode& mode) const;
  // The walk prepared for `paging`: the generic engine, or one with a fast path for this
  // architecture's present entries.
  [[nodiscard]] virtual std::shared_ptr<const WalkEngine> make_engine(const Paging& paging) const;
  // The root table a root register's value names (its other bits are flags or tags).
  [[nodiscard]] virtual PhysAddr root_from_register(const PagingMode& mode, uint64_t value) const;
  // The mode, roots and decode options a CPU state selects.
  [[nodiscard]] virtual tl::expected<CpuPaging, std::string> paging_from_cpu(const CpuState& cpu) const;
  // What the trace adds about a translation (nothing by default): rules the CPU applies
  // beyond the page's own rights (x86's SMEP, SMAP, CR0.WP), how far one TLB entry for it
  // may reach (AArch64's contiguous runs).
  [[nodiscard]] virtual std::vector<std::string> trace_notes(const Paging& paging, const Translation& t) const;
  // One line on a CPU state's paging registers, for `info` (by default every register).
  [[nodiscard]] virtual std::string describe_cpu(const CpuState& cpu) const { return describe_registers(cpu); }
  // "cr0 0x... cr3 0x...": every register of a CPU state.
  [[nodiscard]] static std::string describe_registers(const CpuState& cpu);
};

}  // namespace pagewalk
