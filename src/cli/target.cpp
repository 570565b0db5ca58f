#include "cli/target.hpp"

#include <fmt/format.h>

#include "cli/errors.hpp"
#include "cli/numbers.hpp"

namespace pagewalk::cli {

void TargetOptions::add_to(CLI::App& app, unsigned uses) {
  if (uses & kSourceOptions) {
    app.add_option("--image", fields.image, "memory image: ELF core (QEMU dump-guest-memory, kdump), LiME or raw");
    app.add_option("--qemu", fields.qemu, "a running QEMU guest: its gdbstub at HOST:PORT (QEMU -gdb tcp:HOST:PORT)");
    app.add_flag("--kcore", fields.kcore,
                 "the running kernel through /proc/kcore (root), with /proc/kallsyms and /sys/kernel/btf/vmlinux");
    app.add_option("--kcore-file", fields.kcore_file, "with --kcore: read this copy or path instead of /proc/kcore")
        ->capture_default_str();
    app.add_flag("--kmod", fields.kmod,
                 "the running kernel through the pagewalk module (make kmod; insmod kmod/pagewalk.ko), for "
                 "machines without /proc/kcore");
    app.add_option("--kmod-device", fields.kmod_device, "with --kmod: the module's device")->capture_default_str();
    app.add_option("--qemu-timeout", fields.qemu_timeout_ms, "milliseconds to wait for the gdbstub to connect or answer")
        ->capture_default_str();
    app.add_option("--format", fields.format, "image format: auto, elf, kdump, lime, raw")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "elf", "kdump", "lime", "raw"}));
    // One value per --base: a list option would take a following positional (ADDR) as its own.
    app.add_option("--base", bases,
                   "a raw image's first physical address; or NAME=VALUE for a kernel fact the image lacks "
                   "(kaslr_offset, phys_base, pgd, page_offset_base, vmalloc_base, vmemmap_base, mem_map)")
        ->allow_extra_args(false);
  }
  if (uses & kCpuOption)
    app.add_option("--cpu", fields.cpu,
                   "take CR3 and the paging mode from this CPU's registers (dump note or vCPU; default 0)");
  if (uses & kRootOptions) {
    app.add_option("--cr3", cr3, "root table: a CR3 value (or the root table's physical address)");
    app.add_option("--tcr", tcr, "AArch64: TCR_EL1, which picks the mode (T0SZ/T1SZ, TG0/TG1, IPS, DS); with --ttbr0/--ttbr1");
    app.add_option("--ttbr0", ttbr0, "AArch64: TTBR0_EL1, the root of the low half (taken whole: ASID and CnP are dropped)");
    app.add_option("--ttbr1", ttbr1, "AArch64: TTBR1_EL1, the root of the high half");
    app.add_option("--mair", mair, "AArch64: MAIR_EL1, the memory types AttrIndx selects");
  }
  if (uses & kPagingOptions) {
    app.add_option("--mode", fields.mode,
                   "paging mode: x86-64-4level, x86-64-5level, x86-pae, x86-32, arm64-<4|16|64>k-<36..52> (see pagewalk modes)");
    app.add_option("--pa-bits", fields.pa_bits, "MAXPHYADDR: physical address bits (default: the mode's, 52 on x86-64)");
    app.add_flag("--no-nx", fields.no_nx, "EFER.NXE is clear: bit 63 is not execute-disable");
  }
  if (uses & kRootOptions) {
    app.add_option("--pid", pid,
                   "a process: with --image, found in the dump's task list; without, a live process through "
                   "/proc (PID or self; PFNs need root)");
    app.add_flag("--kernel", fields.kernel, "walk the kernel's own page tables (init_top_pgt; swapper_pg_dir on i386)");
    app.add_option("--pti", fields.pti, "with page-table isolation: walk only the user or the kernel half of the PGD pair")
        ->check(CLI::IsMember({"user", "kernel"}));
  }
  if (uses & kSymbolOptions) {
    app.add_option("--kallsyms", fields.kallsyms, "kernel symbols from a /proc/kallsyms text (when the image has none)");
    app.add_option("--system-map", fields.system_map, "kernel symbols from the kernel's System.map");
  }
  if (uses & kTypeOptions) {
    app.add_option("--btf", fields.btf, "kernel BTF file (e.g. a copy of /sys/kernel/btf/vmlinux) for structure offsets");
    app.add_option("--vmlinux", fields.vmlinux,
                   "a vmlinux with DWARF debug info for structure offsets (kernels without BTF)");
  }
}

target::TargetSpec TargetOptions::spec() const {
  target::TargetSpec s = fields;
  if (auto ok = target::check_pa_bits(s.pa_bits, nullptr); !ok) raise(ok.error());
  if (!cr3.empty()) s.root = address_arg(cr3, "--cr3");
  if (!tcr.empty()) s.tcr = address_arg(tcr, "--tcr");
  if (!ttbr0.empty()) s.ttbr0 = address_arg(ttbr0, "--ttbr0");
  if (!ttbr1.empty()) s.ttbr1 = address_arg(ttbr1, "--ttbr1");
  if (!mair.empty()) s.mair = address_arg(mair, "--mair");
  if (!pid.empty()) {
    auto p = parse_count(pid);
    if (!p || *p > 0x7fffffff) throw CliError(kBadInput, fmt::format("--pid '{}' is not a process id", pid));
    s.pid = static_cast<int32_t>(*p);
  }
  for (const std::string& item : bases) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      s.raw_base = address_arg(item, "--base");
      continue;
    }
    const std::string name = item.substr(0, eq);
    const auto& known = linux_kernel::LinuxKernel::override_names();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      throw CliError(kBadInput, fmt::format("--base {}: unknown name '{}' (known: {})", item, name, list));
    }
    s.kernel_facts[name] = address_arg(item.substr(eq + 1), fmt::format("--base {}", item).c_str());
  }
  return s;
}

void raise(const target::Error& e) {
  print_notes(e.notes);
  throw CliError(e.kind == target::Error::Kind::BadInput ? kBadInput : kTargetError, e.message);
}

void print_notes(const std::vector<std::string>& notes) {
  for (const std::string& n : notes) fmt::print(stderr, "pagewalk: {}\n", n);
}

std::unique_ptr<Source> open_source(const TargetOptions& o) {
  auto s = target::open_source(o.spec());
  if (!s) raise(s.error());
  return std::move(*s);
}

Target open_target(const TargetOptions& o) {
  auto t = target::open_target(o.spec());
  if (!t) raise(t.error());
  print_notes(t->notes);
  return std::move(*t);
}

std::unique_ptr<linux_kernel::LinuxKernel> open_kernel(const TargetOptions& o, std::unique_ptr<Source>& source) {
  source = open_source(o);
  std::vector<std::string> notes;
  auto k = target::open_linux(*source, o.spec(), notes);
  if (!k) raise(k.error());
  print_notes(notes);
  return std::move(*k);
}

const linux_kernel::TaskLayout& kernel_task_layout(linux_kernel::LinuxKernel& kernel) {
  auto l = kernel.types();
  if (!l) throw CliError(kTargetError, l.error());
  return **l;
}

void check_source(const Source& source) {
  if (auto e = source.health()) throw CliError(kTargetError, *e);
}

tl::expected<uint64_t, std::string> resolve_address(std::string_view text, linux_kernel::LinuxKernel* kernel) {
  if (!linux_kernel::looks_like_symbol(text)) return parse_address(text);
  if (!kernel || kernel->symbols.empty())
    return tl::unexpected(fmt::format("'{}' is not a hex number, and this target has no kernel symbols to read it as "
                                      "one (give --kernel or --pid where the command takes them, or --kallsyms FILE)",
                                      shown_input(text)));
  auto v = kernel->resolve(text);
  if (!v) return tl::unexpected(fmt::format("{} ({})", v.error(), kernel->symbols_source));
  return *v;
}

uint64_t target_address(std::string_view text, const char* what, linux_kernel::LinuxKernel* kernel) {
  auto v = resolve_address(text, kernel);
  if (!v) throw CliError(kBadInput, fmt::format("{}: {}", what, v.error()));
  return *v;
}

void precheck_address(std::string_view text, const char* what) {
  if (!linux_kernel::looks_like_symbol(text)) (void)address_arg(std::string(text), what);
}

const PagingMode* mode_option(const std::string& name) {
  auto m = target::mode_by_name(name);
  if (!m) raise(m.error());
  return *m;
}

}  // namespace pagewalk::cli
