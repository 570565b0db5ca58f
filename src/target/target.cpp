#include "target/target.hpp"

#include <chrono>

#include <fmt/format.h>

#include "arch/arm64/arm64_arch.hpp"
#include "arch/registry.hpp"
#include "arch/x86/x86_modes.hpp"
#include "linux/tasks.hpp"
#include "sources/gdb_remote.hpp"
#include "sources/image.hpp"
#include "sources/input_file.hpp"
#include "sources/kcore.hpp"

namespace pagewalk::target {
namespace {

// Errors inside the opening code travel as this exception and leave the public functions
// as values.
struct Failure {
  Error error;
};
[[noreturn]] void fail(Error::Kind kind, std::string message) { throw Failure{{kind, std::move(message), {}}}; }
[[noreturn]] void bad_input(std::string message) { fail(Error::Kind::BadInput, std::move(message)); }
[[noreturn]] void cannot_open(std::string message) { fail(Error::Kind::Target, std::move(message)); }

template <typename F>
auto guarded(F&& f, const std::vector<std::string>* notes = nullptr) -> tl::expected<decltype(f()), Error> {
  try {
    return f();
  } catch (Failure& e) {
    if (notes) e.error.notes = *notes;
    return tl::unexpected(std::move(e.error));
  }
}

// Symbol files and BTF: a running kernel's /proc/kallsyms is about 15 MiB, its BTF 5 MiB.
constexpr size_t kMaxSymbolFile = size_t{256} << 20;

std::string read_text_file(const std::string& path, const char* what) {
  auto text = read_input(path, kMaxSymbolFile, what);
  if (!text) cannot_open(text.error());
  return std::move(*text);
}

// /proc/kallsyms lists every address as zero to whoever may not see them (kptr_restrict).
// Per-CPU symbols are zero anyway, so one non-zero address anywhere says they are shown.
bool addresses_hidden(std::string_view kallsyms) {
  for (size_t at = 0; at < kallsyms.size();) {
    const size_t nl = std::min(kallsyms.find('\n', at), kallsyms.size());
    const std::string_view addr = kallsyms.substr(at, kallsyms.substr(at, nl - at).find(' '));
    if (addr.find_first_not_of('0') != std::string_view::npos) return false;
    at = nl + 1;
  }
  return true;
}

// The kernel image's kcore segment (p_vaddr in __START_KERNEL_map's range, with a
// p_paddr) implies phys_base: __pa_symbol(v) = v - __START_KERNEL_map + phys_base.
std::optional<linux_kernel::Known> kcore_phys_base(const Kcore& k) {
  for (const KcoreSegment& s : k.segments)
    if (s.paddr && s.vaddr >= linux_kernel::kStartKernelMap &&
        s.vaddr < linux_kernel::kStartKernelMap + (uint64_t{1} << 30))
      return linux_kernel::Known{*s.paddr - (s.vaddr - linux_kernel::kStartKernelMap),
                                 "the kernel text segment of " + k.path};
  return std::nullopt;
}

const PagingMode* mode_or_fail(const std::string& name) {
  auto m = mode_by_name(name);
  if (!m) throw Failure{m.error()};
  return *m;
}

std::unique_ptr<Source> open_source_or_fail(const TargetSpec& s) {
  if (int(!s.image.empty()) + int(!s.qemu.empty()) + int(s.kcore) + int(s.kmod) > 1)
    bad_input("give one of --image, --qemu, --kcore and --kmod");
  if (s.kmod) {
    auto k = KmodSource::open(s.kmod_device);
    if (!k) cannot_open(k.error());
    return std::move(*k);
  }
  if (s.kcore) {
    auto k = open_kcore(s.kcore_file);
    if (!k) cannot_open(k.error());
    return std::make_unique<KcoreSource>(std::move(*k));
  }
  if (s.qemu.empty()) {
    if (s.image.empty()) bad_input("no target: give --image FILE or --qemu HOST:PORT");
    auto image = open_image(s.image, {s.format, s.raw_base});
    if (!image) cannot_open(image.error());
    return std::make_unique<ImageSource>(std::move(*image));
  }
  if (auto ep = gdb::parse_endpoint(s.qemu); !ep) bad_input(fmt::format("--qemu: {}", ep.error()));
  if (s.qemu_timeout_ms == 0) bad_input("--qemu-timeout must be above 0");
  gdb::Options go;
  go.connect_timeout = go.request_timeout = std::chrono::milliseconds(s.qemu_timeout_ms);
  auto stub = gdb::QemuGdbstub::open(s.qemu, go);
  if (!stub) cannot_open(stub.error());
  return std::move(*stub);
}

void check_machine(const Source& src, const TargetSpec& s);
linux_kernel::TaskLayout task_layout_or_fail(linux_kernel::LinuxKernel& k, const TargetSpec& s);

std::unique_ptr<linux_kernel::LinuxKernel> open_linux_or_fail(Source& src, const TargetSpec& s,
                                                              std::vector<std::string>& notes) {
  check_machine(src, s);
  linux_kernel::KernelInputs in;
  in.memory = &src.memory();
  in.vmcoreinfo_note = src.vmcoreinfo_note();
  if (const auto* k = dynamic_cast<const KcoreSource*>(&src)) in.phys_base_hint = kcore_phys_base(k->kcore());
  in.cpus.assign(src.cpus().begin(), src.cpus().end());
  in.machine = src.machine();
  in.ram_unknown = !src.scannable();
  in.mode = mode_or_fail(s.mode);
  in.options = user_decode_options({}, s.pa_bits, s.no_nx);
  if (!s.kallsyms.empty() && !s.system_map.empty()) bad_input("give --kallsyms or --system-map, not both");
  if (!s.kallsyms.empty()) {
    in.symbol_text = read_text_file(s.kallsyms, "--kallsyms");
    in.symbol_text_name = s.kallsyms;
  } else if (!s.system_map.empty()) {
    in.symbol_text = read_text_file(s.system_map, "--system-map");
    in.symbol_text_name = s.system_map;
    in.symbol_text_is_system_map = true;
  } else if (s.live_kernel()) {
    std::string text = read_text_file("/proc/kallsyms", s.kmod ? "--kmod:" : "--kcore:");
    if (addresses_hidden(text)) {
      notes.emplace_back("note: /proc/kallsyms hides its addresses (kernel.kptr_restrict); decoding the kernel's "
                         "symbol tables from memory instead");
    } else {
      in.symbol_text = std::move(text);
      in.symbol_text_name = "/proc/kallsyms";
    }
  }
  in.overrides = s.kernel_facts;
  if (!s.btf.empty() && !s.vmlinux.empty()) bad_input("give --btf or --vmlinux, not both");
  if (!s.vmlinux.empty()) {
    // Its data symbols (init_task, modules) complete a kallsyms built without KALLSYMS_ALL.
    auto v = linux_kernel::vmlinux_symbols(s.vmlinux);
    if (!v) cannot_open(v.error());
    in.link_symbols = std::move(*v);
    in.link_symbols_name = s.vmlinux;
  }
  auto k = linux_kernel::LinuxKernel::discover(in);
  if (!k) cannot_open(fmt::format("{}: {}", src.name(), k.error()));
  // An arm64 core must hold an arm64 kernel (and no other core one): the rules follow
  // VMCOREINFO, which a mislabelled or spliced image could contradict.
  if (const std::string machine = src.machine(); !machine.empty() && s.mode.empty() &&
                                                 (machine == "arm64") != ((*k)->arch->name() == "arm64"))
    bad_input(fmt::format("{} is an {} core, but its kernel ({}) is not an {} kernel: its VMCOREINFO {}",
                          src.name(), machine, (*k)->arch->name(), machine,
                          machine == "arm64" ? "lacks NUMBER(kimage_voffset) and NUMBER(TCR_EL1_T1SZ)"
                                             : "is arm64's"));
  for (const std::string& w : (*k)->warnings) notes.push_back("warning: " + w);
  // The types are read when something first needs them (a process, its VMAs, a module).
  (*k)->set_type_loader([s](linux_kernel::LinuxKernel& kernel) -> tl::expected<linux_kernel::TaskLayout, std::string> {
    auto l = guarded([&] { return task_layout_or_fail(kernel, s); });
    if (!l) return tl::unexpected(l.error().message);
    return std::move(*l);
  });
  return std::move(*k);
}

linux_kernel::TaskLayout task_layout_or_fail(linux_kernel::LinuxKernel& k, const TargetSpec& s) {
  if (!s.vmlinux.empty()) {
    auto l = linux_kernel::task_layout_from_dwarf(s.vmlinux);
    if (!l) cannot_open(l.error());
    return *l;
  }
  std::vector<std::byte> data;
  std::string from;
  const std::string btf = !s.btf.empty() ? s.btf : s.live_kernel() ? "/sys/kernel/btf/vmlinux" : "";
  if (!btf.empty()) {
    // sysfs files report a size of their own; read to the end rather than map.
    const std::string text = read_text_file(btf, "--btf");
    const auto* b = reinterpret_cast<const std::byte*>(text.data());
    data.assign(b, b + text.size());
    from = btf;
  } else {
    auto b = linux_kernel::read_kernel_btf(k);
    if (!b) cannot_open(b.error());
    data = std::move(*b);
    from = "the image's BTF";
  }
  auto l = linux_kernel::task_layout_from_btf(data);
  if (!l) cannot_open(fmt::format("{}: {}", from, l.error()));
  l->source = from;
  return *l;
}

// --pid / --kernel: the roots come from the kernel's own data, not from a CPU register.
void select_linux_roots(Target& t, const TargetSpec& s) {
  if (s.pid && s.kernel) bad_input("give --pid or --kernel, not both");
  if (s.root || s.cpu) bad_input("--pid and --kernel choose the root table: drop --cr3/--cpu");
  t.kernel = open_linux_or_fail(*t.source, s, t.notes);
  linux_kernel::LinuxKernel& k = *t.kernel;
  t.paging = k.paging;
  const std::string where = fmt::format("{}: {}, {} ({})", t.name(), t.source->format(), k.paging.mode->name, k.mode_source);
  if (s.kernel || !s.pid) {
    t.roots = k.kernel_pgd;
    t.root_source = fmt::format("kernel PGD 0x{:x} ({})", k.kernel_pgd.value(), k.arch->pgd_symbols().front());
    t.views = {{"", t.roots}};
    if (k.arch->name() == "arm64") t.views[0].first_va = k.paging.mode->regions.back().first;
    t.description = fmt::format("{}, root {}", where, t.root_source);
    return;
  }
  const int32_t pid = *s.pid;
  auto types = k.types();
  if (!types) cannot_open(types.error());
  const linux_kernel::TaskLayout& layout = **types;
  const linux_kernel::TaskList list = linux_kernel::list_tasks(k, layout);
  for (const std::string& w : list.warnings) t.notes.push_back("warning: " + w);
  const linux_kernel::Task* task = nullptr;
  for (const auto& tk : list.tasks)
    if (tk.pid == pid) task = &tk;
  if (!task)
    bad_input(fmt::format("no process {} in the task list of {} ({} processes; see pagewalk ps)", pid, t.name(),
                          list.tasks.size()));
  if (!task->mm) bad_input(fmt::format("pid {} ({}) is a kernel thread: it has no mm; use --kernel", pid, task->comm));
  if (!task->pgd)
    cannot_open(fmt::format("pid {} ({}): its PGD at 0x{:x} is not mapped by the kernel's tables", pid, task->comm,
                            task->pgd_va));
  const PhysAddr pgd = *task->pgd;
  // Through the module the kernel can say itself where the process's PGD is.
  if (const auto* km = dynamic_cast<const KmodSource*>(t.source.get())) {
    auto r = km->device().roots(pid);
    if (r && r->pgd != pgd)
      t.notes.push_back(fmt::format("warning: pid {}: the task list gives PGD 0x{:x}, the kernel's mm->pgd is 0x{:x}",
                                    pid, pgd.value(), r->pgd.value()));
  }
  const std::vector<linux_kernel::ProcessRoot> roots = k.arch->process_roots(k, layout, pgd);
  t.roots = pgd;
  t.process = ProcessName{task->pid, task->comm};
  t.task = *task;
  t.task_layout = layout;
  t.root_source = fmt::format("pid {} ({}) mm->pgd 0x{:x} = PA 0x{:x}", task->pid, task->comm, task->pgd_va, pgd.value());
  if (roots.size() == 1) {
    if (!s.pti.empty()) t.notes.emplace_back("note: the kernel does not use page-table isolation; --pti ignored");
    t.views = {{"", roots.front().roots}};
  } else {
    // A PTI pair: both halves unless --pti picks one.
    for (const auto& r : roots)
      if (s.pti.empty() || s.pti == r.label) t.views.push_back({r.label, r.roots});
    t.roots = t.views.front().roots;
    t.root_source += fmt::format(", PTI: user PGD 0x{:x}", roots.back().roots[0].value());
  }
  t.description = fmt::format("{}, root {}", where, t.root_source);
}

// A CPU state's architecture, or the x86 rules when the source names none.
const Architecture& architecture_of(const CpuState& cpu) {
  if (const Architecture* a = arch::find_architecture(cpu.arch)) return *a;
  return *arch::all_architectures().front();
}

// A source of an architecture pagewalk has no rules for is walked only when --mode says how.
void check_machine(const Source& src, const TargetSpec& s) {
  const std::string machine = src.machine();
  if (machine == "arm64") {
    if (s.root && s.mode.empty() && !s.tcr)
      bad_input(fmt::format("{} is an arm64 core: --cr3 is x86's; give --tcr X --ttbr0 A --ttbr1 B (or --mode "
                            "arm64-<granule>-<bits> with --cr3 for one root)",
                            src.name()));
    return;
  }
  if (machine.empty() || !s.mode.empty() || arch::find_architecture(machine)) return;
  bad_input(fmt::format("{} is a core of {}: pagewalk has no paging rules for it yet (give --mode to read its "
                        "tables as one of: {})",
                        src.name(), machine, arch::mode_names()));
}

Target open_target_or_fail(const TargetSpec& s, Target& t) {
  t.source = open_source_or_fail(s);
  for (const std::string& p : t.source->problems()) t.notes.push_back("warning: " + p);
  check_machine(*t.source, s);
  if (s.wants_linux()) {
    select_linux_roots(t, s);
    return std::move(t);
  }
  if (!s.pti.empty()) bad_input("--pti needs --pid");
  if (auto ok = check_pa_bits(s.pa_bits, nullptr); !ok) throw Failure{ok.error()};
  const PagingMode* mode = mode_or_fail(s.mode);
  std::string mode_source = "--mode";

  std::span<const CpuState> cpus = t.source->cpus();
  const CpuState* cpu = nullptr;
  CpuState given;  // AArch64 registers given by hand
  if (s.tcr || s.ttbr0 || s.ttbr1 || s.mair) {
    if (!s.tcr || !s.ttbr0 || !s.ttbr1) bad_input("give --tcr, --ttbr0 and --ttbr1 together (AArch64's registers)");
    if (s.root || s.cpu) bad_input("--tcr/--ttbr0/--ttbr1 are the CPU's registers: drop --cr3/--cpu");
    using A = arm64::RegisterNames;
    given.arch = arm64::kArchitecture.name();
    given.source = "--tcr/--ttbr0/--ttbr1";
    given.set(A::kTcr, *s.tcr);
    given.set(A::kTtbr0, *s.ttbr0);
    given.set(A::kTtbr1, *s.ttbr1);
    if (s.mair) given.set(A::kMair, *s.mair);
    cpus = std::span<const CpuState>(&given, 1);
    auto p = architecture_of(given).paging_from_cpu(given);
    if (!p) bad_input(p.error());
    cpu = &given;
  } else if (s.cpu) {
    if (*s.cpu >= cpus.size())
      bad_input(cpus.empty() ? fmt::format("--cpu {}: {} holds no CPU registers", *s.cpu, t.name())
                             : fmt::format("--cpu {}: {} holds registers of CPUs 0..{}", *s.cpu, t.name(),
                                           cpus.size() - 1));
    cpu = &cpus[*s.cpu];
  } else if (!cpus.empty() && !s.root) {
    cpu = &cpus[0];
  }
  // What the CPU says (mode, roots, its control bits); --mode and --cr3 override.
  std::optional<CpuPaging> from_cpu;
  const CpuState* mode_cpu = cpu ? cpu : (!cpus.empty() ? &cpus[0] : nullptr);
  if (mode_cpu) {
    auto p = architecture_of(*mode_cpu).paging_from_cpu(*mode_cpu);
    if (p) from_cpu = std::move(*p);
  }
  if (s.root) {
    if (!mode && from_cpu && from_cpu->mode) {
      mode = from_cpu->mode;
      mode_source = cpu ? fmt::format("CPU {} registers", cpu->index) : "CPU 0 registers";
    }
    if (!mode) {
      mode = arch::all_modes().front();
      mode_source = "assumed; give --mode to change";
      t.notes.push_back(fmt::format("note: the image names no paging mode; assuming --mode {}", mode->name));
    }
    t.roots = mode->arch->root_from_register(*mode, *s.root);
    t.root_source = fmt::format("--cr3 0x{:x}", *s.root);
  } else if (cpu) {
    if (!from_cpu) cannot_open(fmt::format("CPU {} of {}: its registers do not say how it pages", cpu->index, t.name()));
    if (!mode) {
      mode = from_cpu->mode;
      mode_source = from_cpu->mode_source;
      if (!mode)
        cannot_open(fmt::format("CPU {} has {}: virtual addresses are physical", cpu->index, from_cpu->mode_source));
      t.roots = from_cpu->roots;
    } else {
      // --mode with a CPU's root register: read it as that mode reads it.
      t.roots = mode->arch->root_from_register(*mode, from_cpu->root_register.value_or(0));
    }
    t.root_source = from_cpu->root_source;
  } else {
    bad_input(fmt::format("{} ({}) holds no CPU registers{}: give --cr3 X (and --mode M)", t.name(), t.source->format(),
                          t.source->problems().empty() ? "" : " it can read (see the warning above)"));
  }
  t.paging.mode = mode;
  if (auto ok = check_pa_bits(s.pa_bits, mode); !ok) throw Failure{ok.error()};
  // The CPU's control bits apply when its registers chose the mode; the user's override them.
  t.paging.options = user_decode_options(from_cpu && from_cpu->mode == mode ? from_cpu->options : DecodeOptions{},
                                         s.pa_bits, s.no_nx);
  t.views = {{"", t.roots}};
  t.description =
      fmt::format("{}: {}, {} ({}), root {}", t.name(), t.source->format(), mode->name, mode_source, t.root_source);
  return std::move(t);
}

}  // namespace

tl::expected<const PagingMode*, Error> mode_by_name(const std::string& name) {
  if (name.empty()) return nullptr;
  if (const PagingMode* m = arch::find_mode(name)) return m;
  return tl::unexpected(
      Error{Error::Kind::BadInput, fmt::format("unknown paging mode '{}' (known: {})", name, arch::mode_names()), {}});
}

tl::expected<void, Error> check_pa_bits(unsigned pa_bits, const PagingMode* mode) {
  const unsigned most = mode ? mode->default_pa_bits : 52;
  if (pa_bits == 0 || (pa_bits >= 32 && pa_bits <= most)) return {};
  return tl::unexpected(Error{Error::Kind::BadInput,
                              mode ? fmt::format("--pa-bits {} is outside 32..{} ({}'s physical address bits)", pa_bits,
                                                 most, mode->name)
                                   : fmt::format("--pa-bits {} is outside 32..52 (the physical address bits)", pa_bits),
                              {}});
}

DecodeOptions user_decode_options(DecodeOptions base, unsigned pa_bits, bool no_nx) {
  if (pa_bits) base.pa_bits = static_cast<uint8_t>(pa_bits);  // else the CPU's (AArch64: TCR.IPS)
  if (no_nx) base.cpu_flags |= x86::kNoNx;  // --no-nx is x86's EFER.NXE
  return base;
}

std::string describe_regions(const PagingMode& mode) {
  std::string s;
  for (const VaRegion& r : mode.regions)
    s += fmt::format("{}{} 0x{:x}-0x{:x}", s.empty() ? "" : ", ", r.name, r.first, r.last);
  return s;
}

tl::expected<std::unique_ptr<Source>, Error> open_source(const TargetSpec& spec) {
  return guarded([&] { return open_source_or_fail(spec); });
}

tl::expected<Target, Error> open_target(const TargetSpec& spec) {
  Target t;  // its notes outlive a failure
  return guarded([&] { return open_target_or_fail(spec, t); }, &t.notes);
}

tl::expected<std::unique_ptr<linux_kernel::LinuxKernel>, Error> open_linux(Source& source, const TargetSpec& spec,
                                                                           std::vector<std::string>& notes) {
  return guarded([&] { return open_linux_or_fail(source, spec, notes); }, &notes);
}

}  // namespace pagewalk::target
