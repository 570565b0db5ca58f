// TARGET options shared by the commands, turned into the library's TargetSpec; opening is
// the target layer's (target/target.hpp). Errors become CliError with the exit status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "target/target.hpp"

namespace pagewalk::cli {

using target::RootView;
using target::Target;

// Which TARGET options a command offers: each offers exactly those it uses.
enum TargetUses : unsigned {
  kSourceOptions = 1,   // --image, --qemu, --kcore, --kcore-file, --kmod, --kmod-device, --qemu-timeout, --format, --base
  kCpuOption = 2,       // --cpu
  kPagingOptions = 4,   // --mode, --pa-bits, --no-nx
  kRootOptions = 8,     // --cr3, --pid, --kernel, --pti: which address space is walked
  kSymbolOptions = 16,  // --kallsyms, --system-map
  kTypeOptions = 32,    // --btf, --vmlinux
  kAllTargetOptions = 63,
};

struct TargetOptions {
  // The options that need no parsing are bound straight into the library's spec.
  target::TargetSpec fields;
  // Numbers and lists parsed into it by spec(): --cr3, --pid (PID or self for live
  // processes), --base (a raw image's base or NAME=VALUE kernel facts).
  std::string tcr, ttbr0, ttbr1, mair;
  std::string cr3, pid;
  std::vector<std::string> bases;

  void add_to(CLI::App& app, unsigned uses = kAllTargetOptions);
  [[nodiscard]] bool given() const { return fields.has_source(); }
  // A live process through /proc: --pid with no image and no guest.
  [[nodiscard]] bool live() const { return !pid.empty() && !given() && !fields.kernel; }
  // The library's description of the target; throws CliError on a malformed value.
  [[nodiscard]] target::TargetSpec spec() const;
};

// Throws CliError with the right exit status for a target-layer error.
[[noreturn]] void raise(const target::Error& e);
// Prints the target's notes and warnings to stderr, one line each.
void print_notes(const std::vector<std::string>& notes);

// Opens the memory and registers (no paging mode or root chosen yet).
[[nodiscard]] std::unique_ptr<Source> open_source(const TargetOptions& options);
// Opens the target and prints its notes.
[[nodiscard]] Target open_target(const TargetOptions& options);
// The kernel in the target, for commands that need Linux knowledge of it; `source` stays
// open for as long as the kernel view reads it. Prints the notes.
[[nodiscard]] std::unique_ptr<linux_kernel::LinuxKernel> open_kernel(const TargetOptions& options,
                                                                     std::unique_ptr<Source>& source);
// The structure offsets for the task list (the options' BTF or vmlinux, or the image's).
[[nodiscard]] const linux_kernel::TaskLayout& kernel_task_layout(linux_kernel::LinuxKernel& kernel);
// After reads: throws CliError(kTargetError) if the source failed under them.
void check_source(const Source& source);

// An address argument of a command that has a target: a number, or a kernel symbol
// expression ("init_task", "init_task+0x40") when the target knows the kernel's symbols.
// Throws CliError(kBadInput) naming `what` and, for a symbol, what would resolve it.
[[nodiscard]] uint64_t target_address(std::string_view text, const char* what, linux_kernel::LinuxKernel* kernel);
// The same without throwing (batch input: one message per bad line).
[[nodiscard]] tl::expected<uint64_t, std::string> resolve_address(std::string_view text,
                                                                  linux_kernel::LinuxKernel* kernel);
// Checks an address argument before the target is opened: numbers fully, symbol names
// only for their form (resolved later by target_address).
void precheck_address(std::string_view text, const char* what);

// The mode named on the command line (--mode), or nullptr when none was given.
[[nodiscard]] const PagingMode* mode_option(const std::string& name);

}  // namespace pagewalk::cli
