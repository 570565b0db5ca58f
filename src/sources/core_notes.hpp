// The ELF notes of a core: per-CPU register states (QEMU's "QEMU" notes, the kernel's
// NT_PRSTATUS) and the kernel's VMCOREINFO. ELF dumps, kdump-compressed headers and
// /proc/kcore all carry them the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pagewalk {

// One CPU's control registers, as a dump's notes give them.
struct CpuRegisters {
  unsigned index = 0;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0;
  std::optional<uint64_t> efer;  // QEMU's note does not carry EFER
  bool long_mode = false;        // EFER.LMA, or what the dump implies about it
  uint64_t rip = 0, rsp = 0;
  std::string source;            // which note the values came from
};

struct CoreNotes {
  std::vector<CpuRegisters> cpus;  // from QEMU notes, in order
  unsigned prstatus = 0;           // per-CPU NT_PRSTATUS notes (kdump vmcores, kcore)
  std::optional<std::string> vmcoreinfo;
  bool qemu = false;
};

// Adds what one note segment holds to `out` (called once per PT_NOTE). A malformed note
// ends the segment; what came before it is kept.
void parse_core_notes(CoreNotes& out, std::span<const std::byte> notes, bool long_mode);

}  // namespace pagewalk
