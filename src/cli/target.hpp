// TARGET options shared by every command, and opening what they name: which memory to read,
// which paging mode, which root table.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "core/walk.hpp"
#include "sources/image.hpp"

namespace pagewalk::cli {

struct TargetOptions {
  std::string image;
  std::string format = "auto";
  std::string base = "0";
  std::optional<unsigned> cpu;
  std::string cr3;
  std::string mode;
  unsigned pa_bits = 0;
  bool no_nx = false;
  std::string pid;  // --pid PID|self

  void add_to(CLI::App& app);
  [[nodiscard]] bool given() const { return !image.empty(); }
  // A live process through /proc: --pid without --image. Throws for --pid with --image
  // (a process inside a dump), which is not supported yet.
  [[nodiscard]] bool live() const;
};

struct Target {
  std::string description;
  std::optional<Image> image;
  PhysMemory* memory = nullptr;
  Paging paging;
  PhysAddr root;
  std::string root_source;
};

// Opens the image the options name; throws CliError with the right exit status.
[[nodiscard]] Image open_image_option(const TargetOptions& options);

// Opens the target; throws CliError with the right exit status.
[[nodiscard]] Target open_target(const TargetOptions& options);

// The mode named on the command line (--mode), or nullptr when none was given.
[[nodiscard]] const PagingMode* mode_option(const std::string& name);

}  // namespace pagewalk::cli
