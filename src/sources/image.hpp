// Memory images: ELF cores (QEMU dump-guest-memory, kdump vmcores), LiME and raw files.
// The file is mapped read-only; its format is recognised from its first bytes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/phys_memory.hpp"
#include "sources/mapped_file.hpp"

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

struct ImageOptions {
  std::string format = "auto";  // auto, elf, lime, raw
  uint64_t raw_base = 0;        // physical address of a raw file's first byte
};

struct Image {
  std::string path;
  std::string format;  // "ELF core (QEMU dump-guest-memory)", "LiME", ...
  MappedFile file;
  std::unique_ptr<PhysMemory> memory;
  std::vector<CpuRegisters> cpus;
  unsigned prstatus_notes = 0;  // per-CPU NT_PRSTATUS notes (kdump vmcores)
  std::optional<std::string> vmcoreinfo;
  uint16_t elf_machine = 0;
};

[[nodiscard]] tl::expected<Image, std::string> open_image(const std::string& path, const ImageOptions& options);

// The ELF notes of a core (or of a kdump-compressed header): QEMU CPU states, PRSTATUS,
// VMCOREINFO, added to the image.
struct NoteSummary {
  bool qemu = false;
  bool vmcoreinfo = false;
};
NoteSummary parse_core_notes(Image& image, std::span<const std::byte> notes, bool long_mode);

// Parsers over a mapped file, exposed for the fuzzers.
[[nodiscard]] tl::expected<void, std::string> parse_elf_core(Image& image);
[[nodiscard]] tl::expected<void, std::string> parse_lime(Image& image);

}  // namespace pagewalk
