// Memory images: ELF cores (QEMU dump-guest-memory, kdump vmcores), LiME and raw files.
// The file is mapped read-only; its format is recognised from its first bytes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/phys_memory.hpp"
#include "sources/source.hpp"
#include "sources/core_notes.hpp"
#include "sources/mapped_file.hpp"

namespace pagewalk {

struct ImageOptions {
  std::string format = "auto";  // auto, elf, lime, raw
  uint64_t raw_base = 0;        // physical address of a raw file's first byte
};

struct Image {
  std::string path;
  std::string format;  // "ELF core (QEMU dump-guest-memory)", "LiME", ...
  MappedFile file;
  std::unique_ptr<PhysMemory> memory;
  std::vector<CpuState> cpus;
  unsigned prstatus_notes = 0;  // per-CPU NT_PRSTATUS notes (kdump vmcores)
  std::optional<std::string> vmcoreinfo;
  uint16_t elf_machine = 0;
  std::vector<std::string> problems;  // what in the file is malformed but did not stop reading it

  void take_notes(CoreNotes&& notes);
};

// An image as a target's source.
class ImageSource final : public Source {
 public:
  explicit ImageSource(Image image) : image_(std::move(image)) {}
  [[nodiscard]] std::string_view name() const override { return image_.path; }
  [[nodiscard]] std::string_view format() const override { return image_.format; }
  [[nodiscard]] std::string_view kind() const override { return "image"; }
  [[nodiscard]] PhysMemory& memory() override { return *image_.memory; }
  [[nodiscard]] std::span<const CpuState> cpus() const override { return image_.cpus; }
  [[nodiscard]] const std::optional<std::string>& vmcoreinfo_note() const override { return image_.vmcoreinfo; }
  [[nodiscard]] std::string machine() const override;
  [[nodiscard]] std::vector<std::string> problems() const override { return image_.problems; }
  [[nodiscard]] const Image& image() const { return image_; }

 private:
  Image image_;
};

[[nodiscard]] tl::expected<Image, std::string> open_image(const std::string& path, const ImageOptions& options);

// Parsers over a mapped file, exposed for the fuzzers.
[[nodiscard]] tl::expected<void, std::string> parse_elf_core(Image& image);
[[nodiscard]] tl::expected<void, std::string> parse_lime(Image& image);

}  // namespace pagewalk
