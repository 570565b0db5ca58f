// TARGET options shared by every command, and opening what they name: which memory to read,
// which paging mode, which root table.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/walk.hpp"
#include "sources/gdb_remote.hpp"
#include "sources/image.hpp"

namespace pagewalk::cli {

struct TargetOptions {
  std::string image;
  std::string qemu;  // HOST:PORT of QEMU's gdbstub
  unsigned qemu_timeout_ms = 10000;
  std::string format = "auto";
  std::string base = "0";
  std::optional<unsigned> cpu;
  std::string cr3;
  std::string mode;
  unsigned pa_bits = 0;
  bool no_nx = false;

  void add_to(CLI::App& app);
  [[nodiscard]] bool given() const { return !image.empty() || !qemu.empty(); }
};

// Where registers and memory come from: an image file or a live QEMU guest. Every source
// gives the same two things, CPU registers and a PhysMemory, and one code path
// (open_target) turns them into a paging mode and a root table.
struct Target {
  std::string name;    // the image path or HOST:PORT
  std::string format;  // "ELF core (...)", "QEMU gdbstub (physical-memory mode)"
  std::optional<Image> image;
  std::unique_ptr<gdb::QemuGdbstub> qemu;
  PhysMemory* memory = nullptr;
  std::vector<CpuRegisters> cpus;

  // Set by open_target.
  std::string description;
  Paging paging;
  PhysAddr root;
  std::string root_source;

  // After reads: throws CliError(kTargetError) if the source failed under them (a lost or
  // garbled gdbstub connection), so that the command ends with that one error.
  void check_source() const;
};

// Opens the image the options name; throws CliError with the right exit status.
[[nodiscard]] Image open_image_option(const TargetOptions& options);

// Opens the memory and registers (no paging mode or root chosen yet).
[[nodiscard]] Target open_source(const TargetOptions& options);

// Opens the target; throws CliError with the right exit status.
[[nodiscard]] Target open_target(const TargetOptions& options);

// The mode named on the command line (--mode), or nullptr when none was given.
[[nodiscard]] const PagingMode* mode_option(const std::string& name);

}  // namespace pagewalk::cli
