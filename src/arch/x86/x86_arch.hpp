// x86 as an architecture of the shared core: its four modes, the entry decoder and its fast
// path, flag names, Linux's swap and PROT_NONE entries, and CR0/CR3/CR4/EFER.
#pragma once

#include "core/architecture.hpp"

namespace pagewalk::x86 {

class X86Architecture final : public Architecture {
 public:
  [[nodiscard]] std::string_view name() const override { return "x86"; }
  [[nodiscard]] std::span<const PagingMode* const> modes() const override;
  [[nodiscard]] EntryDecode decode(const PagingMode& mode, unsigned level, uint64_t raw,
                                   const DecodeOptions& options) const override;
  [[nodiscard]] FlagNames flag_names(const PagingMode& mode, unsigned level, uint64_t raw,
                                     const DecodeOptions& options) const override;
  [[nodiscard]] std::vector<EntryField> entry_fields(const PagingMode& mode, unsigned level, uint64_t raw,
                                                     const DecodeOptions& options) const override;
  [[nodiscard]] uint64_t coalesce_ignored_attrs(const PagingMode& mode) const override;
  [[nodiscard]] uint64_t flag_bits(const PagingMode& mode, unsigned level) const override;
  [[nodiscard]] std::shared_ptr<const WalkEngine> make_engine(const Paging& paging) const override;
  [[nodiscard]] PhysAddr root_from_register(const PagingMode& mode, uint64_t cr3) const override;
  [[nodiscard]] tl::expected<CpuPaging, std::string> paging_from_cpu(const CpuState& cpu) const override;
  [[nodiscard]] std::vector<std::string> trace_notes(const Paging& paging, const Translation& t) const override;
  [[nodiscard]] std::string describe_cpu(const CpuState& cpu) const override;
};

extern const X86Architecture kArchitecture;
[[nodiscard]] inline const Architecture& architecture() { return kArchitecture; }

// Chooses the x86 paging mode the CPU is in (Intel SDM Vol. 3A §4.1.1): CR0.PG, CR4.PAE,
// EFER.LMA and CR4.LA57. Empty when paging is off.
[[nodiscard]] const PagingMode* mode_from_registers(uint64_t cr0, uint64_t cr4, bool long_mode);

// A CPU state's registers as x86 sources name them.
struct CpuRegisterNames {
  static constexpr const char* kCr0 = "cr0";
  static constexpr const char* kCr2 = "cr2";
  static constexpr const char* kCr3 = "cr3";
  static constexpr const char* kCr4 = "cr4";
  static constexpr const char* kEfer = "efer";
  static constexpr const char* kRip = "rip";
  static constexpr const char* kRsp = "rsp";
  // The descriptor tables' bases (GDTR, IDTR): Linux points the IDTR at its cpu_entry_area
  // (idt_map_in_cea, arch/x86/kernel/idt.c).
  static constexpr const char* kGdtBase = "gdtr_base";
  static constexpr const char* kIdtBase = "idtr_base";
  // EFER.LMA as the source implies it when it has no EFER (QEMU writes an EM_X86_64 core
  // exactly when the CPU is in long mode): 1 or 0.
  static constexpr const char* kLongMode = "lma";
};

// Whether the CPU state is in long mode: EFER.LMA, else what the source implies.
[[nodiscard]] bool long_mode(const CpuState& cpu);

}  // namespace pagewalk::x86
