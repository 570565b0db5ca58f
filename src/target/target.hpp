// Opening a whole target from a plain description: which source (an image, a QEMU guest's
// gdbstub, /proc/kcore), which paging mode and root (a CPU's registers, a CR3 value, a
// process of the kernel's task list, the kernel's own PGD), and the fallbacks for what the
// image does not say (symbols, types, kernel facts). The CLI and the Python module fill a
// TargetSpec from their own arguments and get back memory, mode, roots and Linux knowledge.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "core/walk.hpp"
#include "linux/btf_layout.hpp"
#include "linux/kernel.hpp"
#include "linux/tasks.hpp"
#include "sources/kmod.hpp"
#include "sources/source.hpp"

namespace pagewalk::target {

inline constexpr const char* kLiveKcore = "/proc/kcore";

struct TargetSpec {
  // The source: one of these.
  std::string image;   // a memory image file
  std::string qemu;    // HOST:PORT of a QEMU gdbstub
  bool kcore = false;  // the running kernel through kcore_file
  std::string kcore_file = kLiveKcore;
  bool kmod = false;   // the running kernel through the pagewalk module's device
  std::string kmod_device = kKmodDevice;

  std::string format = "auto";  // image format: auto, elf, kdump, lime, raw
  uint64_t raw_base = 0;        // a raw image's first physical address
  unsigned qemu_timeout_ms = 10000;

  // Paging: a mode by name overrides what the CPU or the kernel says.
  std::string mode;
  unsigned pa_bits = 0;  // 0: the mode's default
  bool no_nx = false;    // x86: EFER.NXE clear
  std::optional<unsigned> cpu;     // take the root and mode from this CPU
  std::optional<uint64_t> root;    // a root register's value (x86 CR3)
  // AArch64 by hand: TCR_EL1 picks the mode, TTBR0_EL1/TTBR1_EL1 the roots (taken whole,
  // ASID and CnP included), MAIR_EL1 the memory types AttrIndx names.
  std::optional<uint64_t> tcr, ttbr0, ttbr1, mair;

  // Linux: whose tables, and where the kernel's facts come from when the image is silent.
  std::optional<int32_t> pid;
  bool kernel = false;
  std::string pti;  // "", "user" or "kernel": one half of a PTI pair
  std::string kallsyms, system_map, btf, vmlinux;  // files
  std::map<std::string, uint64_t, std::less<>> kernel_facts;  // NAME=VALUE (LinuxKernel::override_names)

  [[nodiscard]] bool has_source() const { return !image.empty() || !qemu.empty() || kcore || kmod; }
  // Linux knowledge is needed: a process of an image or guest, the kernel's tables, the
  // running kernel.
  [[nodiscard]] bool wants_linux() const { return (pid && has_source()) || kernel || kcore || kmod; }
  // The running kernel of this machine (kcore of /proc/kcore, or the module):
  // /proc/kallsyms and /sys/kernel/btf/vmlinux describe the same kernel.
  [[nodiscard]] bool live_kernel() const { return (kcore && kcore_file == kLiveKcore) || kmod; }
};

// Why a target could not be opened: bad input (a value or a combination that cannot work)
// or a source that cannot be opened or read.
struct Error {
  enum class Kind { BadInput, Target } kind = Kind::Target;
  std::string message;
  std::vector<std::string> notes;  // what was noted before the failure, for the user
};

// One root set to walk, and what it is (PTI gives a process two).
struct RootView {
  std::string label;  // "" for the only one; "kernel" / "user" for a PTI pair
  RootSet roots;
  // The lowest VA the roots serve: arm64's kernel tables (swapper_pg_dir) are TTBR1's alone,
  // and the kernel's own TTBR0 (reserved_pg_dir) maps nothing.
  uint64_t first_va = 0;
};

// The process whose tables a target walks.
struct ProcessName {
  int32_t pid = 0;
  std::string comm;
};

struct Target {
  std::unique_ptr<Source> source;
  Paging paging;
  RootSet roots;
  std::string root_source;
  std::string description;
  std::vector<RootView> views;  // what translate and map walk: {roots}, or both PTI halves
  std::optional<ProcessName> process;  // when the roots are a process's (--pid)
  std::unique_ptr<linux_kernel::LinuxKernel> kernel;  // when the spec asked for Linux knowledge
  // A process's walk (--pid on an image, guest or kcore): its task and the kernel's
  // structure offsets, for what else is asked of it (its VMAs).
  std::optional<linux_kernel::Task> task;
  std::optional<linux_kernel::TaskLayout> task_layout;

  [[nodiscard]] std::string_view name() const { return source->name(); }
  [[nodiscard]] PhysMemory& memory() const { return source->memory(); }
  // Notes for the user (a note is advice, not a failure), in the order they arose.
  std::vector<std::string> notes;
};

// Opens the memory and registers only (no paging mode or root chosen yet).
[[nodiscard]] tl::expected<std::unique_ptr<Source>, Error> open_source(const TargetSpec& spec);

// Opens the target: source, mode, roots and, when asked for, Linux knowledge.
[[nodiscard]] tl::expected<Target, Error> open_target(const TargetSpec& spec);

// The kernel in the source, from VMCOREINFO and the spec's fallbacks. Warnings of the
// discovery go to `notes`.
[[nodiscard]] tl::expected<std::unique_ptr<linux_kernel::LinuxKernel>, Error> open_linux(
    Source& source, const TargetSpec& spec, std::vector<std::string>& notes);

// The mode a name gives, or an error listing the known ones; nullptr for "".
[[nodiscard]] tl::expected<const PagingMode*, Error> mode_by_name(const std::string& name);

// --pa-bits: 0 (the mode's default), or 32 up to the physical address bits the mode can
// hold (52 for 64-bit entries, 40 for x86-32); `mode` may be unknown yet.
[[nodiscard]] tl::expected<void, Error> check_pa_bits(unsigned pa_bits, const PagingMode* mode);

// The decode options the user's --pa-bits and --no-nx give, on top of `base`.
[[nodiscard]] DecodeOptions user_decode_options(DecodeOptions base, unsigned pa_bits, bool no_nx);

// "the VA is in no region": the regions of the mode, for messages.
[[nodiscard]] std::string describe_regions(const PagingMode& mode);

}  // namespace pagewalk::target
