// The ELF notes of a core: per-CPU register states (QEMU's "QEMU" notes, the kernel's
// NT_PRSTATUS) and the kernel's VMCOREINFO. ELF dumps, kdump-compressed headers and
// /proc/kcore all carry them the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/cpu_state.hpp"

namespace pagewalk {

struct CoreNotes {
  std::vector<CpuState> cpus;  // from QEMU notes, in order (x86 registers: arch/x86/x86_arch.hpp)
  unsigned prstatus = 0;           // per-CPU NT_PRSTATUS notes (kdump vmcores, kcore)
  std::optional<std::string> vmcoreinfo;
  bool qemu = false;
  std::vector<std::string> problems;  // malformed notes, said once each
};

// Adds what one note segment holds to `out` (called once per PT_NOTE). A malformed note
// ends the segment; what came before it is kept.
void parse_core_notes(CoreNotes& out, std::span<const std::byte> notes, bool long_mode);

}  // namespace pagewalk
