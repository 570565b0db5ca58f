// TARGET options shared by every command, and opening what they name: which memory to read,
// which paging mode, which root table.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/walk.hpp"
#include "linux/btf_layout.hpp"
#include "linux/kernel.hpp"
#include "sources/gdb_remote.hpp"
#include "sources/image.hpp"
#include "sources/kcore.hpp"

namespace pagewalk::cli {

struct TargetOptions {
  std::string image;
  std::string qemu;  // HOST:PORT of QEMU's gdbstub
  bool kcore = false;  // the running kernel through /proc/kcore
  std::string kcore_file = std::string(kLiveKcore);
  unsigned qemu_timeout_ms = 10000;
  std::string format = "auto";
  std::vector<std::string> bases;  // a raw image's base, or NAME=VALUE kernel facts
  std::optional<unsigned> cpu;
  std::string cr3;
  std::string mode;
  unsigned pa_bits = 0;
  bool no_nx = false;
  // Linux knowledge (images): whose tables, and where symbols come from when the image
  // does not say.
  std::string pid;
  bool kernel = false;
  std::string pti;  // user | kernel
  std::string kallsyms, system_map, btf, vmlinux;

  static constexpr const char* kLiveKcore = "/proc/kcore";

  void add_to(CLI::App& app);
  [[nodiscard]] bool given() const { return !image.empty() || !qemu.empty() || kcore; }
  // Linux knowledge of the target's kernel: --pid with an image or a guest, --kernel, or
  // --kcore (which has no CPU registers: its tables are the kernel's or a process's).
  [[nodiscard]] bool wants_linux() const { return (!pid.empty() && given()) || kernel || kcore; }
  // --kcore on this machine's own /proc/kcore: /proc/kallsyms and /sys/kernel/btf/vmlinux
  // describe the same kernel.
  [[nodiscard]] bool live_kernel() const { return kcore && kcore_file == kLiveKcore; }
  // A live process through /proc: --pid with no image and no guest.
  [[nodiscard]] bool live() const { return !pid.empty() && !given() && !kernel; }
};

// One root table to walk, and what it is (PTI gives a process two).
struct RootView {
  std::string label;  // "" for the only one; "kernel" / "user" for a PTI pair
  PhysAddr root;
};

// Where registers and memory come from: an image file or a live QEMU guest. Every source
// gives the same two things, CPU registers and a PhysMemory, and one code path
// (open_target) turns them into a paging mode and a root table.
struct Target {
  std::string name;    // the image path or HOST:PORT
  std::string format;  // "ELF core (...)", "QEMU gdbstub (physical-memory mode)"
  std::optional<Image> image;
  std::unique_ptr<gdb::QemuGdbstub> qemu;
  std::optional<Kcore> kcore;
  PhysMemory* memory = nullptr;
  std::vector<CpuRegisters> cpus;

  // Set by open_target.
  std::string description;
  Paging paging;
  PhysAddr root;
  std::string root_source;
  std::vector<RootView> views;  // what translate and map walk: {root}, or both PTI halves
  std::unique_ptr<linux_kernel::LinuxKernel> kernel;  // when the options asked for Linux knowledge

  // After reads: throws CliError(kTargetError) if the source failed under them (a lost or
  // garbled gdbstub connection), so that the command ends with that one error.
  void check_source() const;
  // The VMCOREINFO note of a dump or of /proc/kcore.
  [[nodiscard]] const std::optional<std::string>& vmcoreinfo_note() const;
};

// Opens the image the options name; throws CliError with the right exit status.
[[nodiscard]] Image open_image_option(const TargetOptions& options);

// Opens the memory and registers (no paging mode or root chosen yet).
[[nodiscard]] Target open_source(const TargetOptions& options);

// Opens the target; throws CliError with the right exit status.
[[nodiscard]] Target open_target(const TargetOptions& options);

// The kernel in the target's image, from VMCOREINFO and the --kallsyms/--system-map/--base
// fallbacks; throws CliError when nothing identifies it.
[[nodiscard]] std::unique_ptr<linux_kernel::LinuxKernel> open_linux(const Target& target, const TargetOptions& options);

// Structure offsets for the task walk: --btf FILE, else the BTF inside the image.
[[nodiscard]] linux_kernel::TaskLayout task_layout(linux_kernel::LinuxKernel& kernel, const TargetOptions& options);

// The mode named on the command line (--mode), or nullptr when none was given.
[[nodiscard]] const PagingMode* mode_option(const std::string& name);

}  // namespace pagewalk::cli
