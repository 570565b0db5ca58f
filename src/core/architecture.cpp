// What an architecture gets when it supplies nothing of its own.
#include "core/architecture.hpp"

#include <iterator>

#include <fmt/format.h>

#include "core/walk_engine.hpp"

namespace pagewalk {

std::string FlagNames::join(char sep) const {
  std::string s;
  for (std::string_view n : *this) {
    if (!s.empty()) s += sep;
    s += n;
  }
  return s;
}

std::string Architecture::mode_names() const {
  std::string s;
  for (const PagingMode* m : modes()) s += (s.empty() ? "" : ", ") + std::string(m->name);
  return s;
}

std::vector<EntryField> Architecture::entry_fields(const PagingMode&, unsigned, uint64_t,
                                                   const DecodeOptions&) const {
  return {};
}

std::string_view Architecture::swap_kind(unsigned type) const {
  constexpr unsigned kMaxSwapfiles = 23;  // 32 - 4 device - 3 migration - 1 hwpoison - 1 marker
  constexpr std::string_view kSpecial[] = {"hwpoison",
                                           "migration-read",
                                           "migration-read-exclusive",
                                           "migration-write",
                                           "device-private-write",
                                           "device-private-read",
                                           "device-exclusive-write",
                                           "device-exclusive-read",
                                           "pte-marker"};
  if (type < kMaxSwapfiles) return "swap";
  if (type - kMaxSwapfiles < std::size(kSpecial)) return kSpecial[type - kMaxSwapfiles];
  return "unknown";
}

uint64_t Architecture::coalesce_ignored_attrs(const PagingMode&) const { return 0; }

uint64_t Architecture::flag_bits(const PagingMode&, unsigned) const { return ~uint64_t{0}; }

std::shared_ptr<const WalkEngine> Architecture::make_engine(const Paging& paging) const {
  return std::make_shared<const BasicWalkEngine<NoFastPath>>(paging);
}

PhysAddr Architecture::root_from_register(const PagingMode& mode, uint64_t value) const {
  // Without other knowledge: the register holds the table's address, aligned to a page.
  return PhysAddr(value & ~(mode.page_size() - 1));
}

tl::expected<CpuPaging, std::string> Architecture::paging_from_cpu(const CpuState& cpu) const {
  return tl::unexpected(
      fmt::format("{} has no rules for CPU {}'s registers: give the root and the mode", name(), cpu.index));
}

std::vector<std::string> Architecture::trace_notes(const Paging&, const Translation&) const { return {}; }

std::string Architecture::describe_registers(const CpuState& cpu) {
  std::string s;
  for (const auto& [n, v] : cpu.registers) fmt::format_to(std::back_inserter(s), "{}{} 0x{:x}", s.empty() ? "" : "  ", n, v);
  return s;
}

}  // namespace pagewalk
