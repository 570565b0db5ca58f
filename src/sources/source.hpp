// A source is everything a target's memory comes from: its physical memory, the CPU states
// it holds (a dump's notes, a guest's vCPUs), its VMCOREINFO note when it has one, a
// description, and its health after reads. Images, kdump files, /proc/kcore, the QEMU
// gdbstub and synthetic machines implement it; see "Adding a memory source" in the README.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/cpu_state.hpp"
#include "core/phys_memory.hpp"

namespace pagewalk {

class Source {
 public:
  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  virtual ~Source() = default;

  [[nodiscard]] virtual std::string_view name() const = 0;    // a path, HOST:PORT, "synthetic"
  [[nodiscard]] virtual std::string_view format() const = 0;  // "ELF core (QEMU dump-guest-memory)", ...
  // What kind of target this is, one word: "image", "kcore", "qemu", "synthetic".
  [[nodiscard]] virtual std::string_view kind() const = 0;
  [[nodiscard]] virtual PhysMemory& memory() = 0;
  [[nodiscard]] virtual std::span<const CpuState> cpus() const { return {}; }
  // The architecture the source says its memory belongs to (an ELF core's e_machine), as
  // an Architecture's name ("x86") or a description of one pagewalk lacks; "" when it
  // does not say.
  [[nodiscard]] virtual std::string machine() const { return ""; }
  // The kernel's VMCOREINFO as the source's own note gives it (dumps, /proc/kcore).
  [[nodiscard]] virtual const std::optional<std::string>& vmcoreinfo_note() const {
    static const std::optional<std::string> none;
    return none;
  }
  // Whether scanning the whole memory (for an in-memory VMCOREINFO) is reasonable: not over
  // a network link to a gdbstub.
  [[nodiscard]] virtual bool scannable() const { return true; }
  // What is malformed in the source but did not stop it being read (a corrupt note).
  [[nodiscard]] virtual std::vector<std::string> problems() const { return {}; }
  // After reads: why the source failed under them (a lost gdbstub connection), if it did.
  [[nodiscard]] virtual std::optional<std::string> health() const { return std::nullopt; }
};

}  // namespace pagewalk
