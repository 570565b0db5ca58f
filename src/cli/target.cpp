#include "cli/target.hpp"

#include <fstream>
#include <sstream>
#include <chrono>

#include <fmt/format.h>

#include "cli/errors.hpp"
#include "cli/numbers.hpp"
#include "linux/tasks.hpp"

namespace pagewalk::cli {

void TargetOptions::add_to(CLI::App& app) {
  app.add_option("--image", image, "memory image: ELF core (QEMU dump-guest-memory, kdump), LiME or raw");
  app.add_option("--qemu", qemu, "a running QEMU guest: its gdbstub at HOST:PORT (QEMU -gdb tcp:HOST:PORT)");
  app.add_flag("--kcore", kcore,
               "the running kernel through /proc/kcore (root), with /proc/kallsyms and /sys/kernel/btf/vmlinux");
  app.add_option("--kcore-file", kcore_file, "with --kcore: read this copy or path instead of /proc/kcore")
      ->capture_default_str();
  app.add_option("--qemu-timeout", qemu_timeout_ms, "milliseconds to wait for the gdbstub to connect or answer")
      ->capture_default_str();
  app.add_option("--format", format, "image format: auto, elf, kdump, lime, raw")->capture_default_str();
  app.add_option("--base", bases,
                 "a raw image's first physical address; or NAME=VALUE for a kernel fact the image lacks "
                 "(kaslr_offset, phys_base, pgd, page_offset_base, vmalloc_base, vmemmap_base, mem_map)");
  app.add_option("--cpu", cpu, "take CR3 and the paging mode from this CPU's registers (dump note or vCPU; default 0)");
  app.add_option("--cr3", cr3, "root table: a CR3 value (or the root table's physical address)");
  app.add_option("--mode", mode, "paging mode: x86-64-4level, x86-64-5level, x86-pae, x86-32");
  app.add_option("--pa-bits", pa_bits, "MAXPHYADDR: physical address bits (default: the mode's, 52 on x86-64)");
  app.add_flag("--no-nx", no_nx, "EFER.NXE is clear: bit 63 is not execute-disable");
  app.add_option("--pid", pid,
                 "a process: with --image, found in the dump's task list; without, a live process through "
                 "/proc (PID or self; PFNs need root)");
  app.add_flag("--kernel", kernel, "walk the kernel's own page tables (init_top_pgt)");
  app.add_option("--pti", pti, "with page-table isolation: walk only the user or the kernel half of the PGD pair")
      ->check(CLI::IsMember({"user", "kernel"}));
  app.add_option("--kallsyms", kallsyms, "kernel symbols from a /proc/kallsyms text (when the image has none)");
  app.add_option("--system-map", system_map, "kernel symbols from the kernel's System.map");
  app.add_option("--btf", btf, "kernel BTF file (e.g. a copy of /sys/kernel/btf/vmlinux) for structure offsets");
  app.add_option("--vmlinux", vmlinux, "a vmlinux with DWARF debug info for structure offsets (kernels without BTF)");
}

namespace {

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError(kTargetError, fmt::format("{} {}: cannot open: {}", what, path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Bases {
  uint64_t raw = 0;
  std::map<std::string, uint64_t, std::less<>> kernel;
};

Bases parse_bases(const std::vector<std::string>& items) {
  Bases b;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      b.raw = number_arg(item, "--base");
      continue;
    }
    const std::string name = item.substr(0, eq);
    const auto& known = linux_kernel::LinuxKernel::override_names();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      throw CliError(kBadInput, fmt::format("--base {}: unknown name '{}' (known: {})", item, name, list));
    }
    b.kernel[name] = number_arg(item.substr(eq + 1), fmt::format("--base {}", item).c_str());
  }
  return b;
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
    if (s.paddr && s.vaddr >= linux_kernel::kStartKernelMap && s.vaddr < linux_kernel::kStartKernelMap + (uint64_t{1} << 30))
      return linux_kernel::Known{*s.paddr - (s.vaddr - linux_kernel::kStartKernelMap), "the kernel text segment of " + k.path};
  return std::nullopt;
}

}  // namespace

const std::optional<std::string>& Target::vmcoreinfo_note() const {
  static const std::optional<std::string> none;
  if (image) return image->vmcoreinfo;
  if (kcore) return kcore->vmcoreinfo;
  return none;
}

std::unique_ptr<linux_kernel::LinuxKernel> open_linux(const Target& t, const TargetOptions& o) {
  linux_kernel::KernelInputs in;
  in.memory = t.memory;
  in.vmcoreinfo_note = t.vmcoreinfo_note();
  if (t.kcore) in.phys_base_hint = kcore_phys_base(*t.kcore);
  if (!t.cpus.empty()) in.cr4 = t.cpus.front().cr4;
  in.mode = mode_option(o.mode);
  in.options.pa_bits = static_cast<uint8_t>(o.pa_bits);
  in.options.nx_enabled = !o.no_nx;
  if (!o.kallsyms.empty() && !o.system_map.empty())
    throw CliError(kBadInput, "give --kallsyms or --system-map, not both");
  if (!o.kallsyms.empty()) {
    in.symbol_text = read_text_file(o.kallsyms, "--kallsyms");
    in.symbol_text_name = o.kallsyms;
  } else if (!o.system_map.empty()) {
    in.symbol_text = read_text_file(o.system_map, "--system-map");
    in.symbol_text_name = o.system_map;
    in.symbol_text_is_system_map = true;
  } else if (o.live_kernel()) {
    std::string text = read_text_file("/proc/kallsyms", "--kcore:");
    if (addresses_hidden(text))
      fmt::print(stderr, "pagewalk: note: /proc/kallsyms hides its addresses (kernel.kptr_restrict); decoding the "
                         "kernel's symbol tables from memory instead\n");
    else {
      in.symbol_text = std::move(text);
      in.symbol_text_name = "/proc/kallsyms";
    }
  }
  in.overrides = parse_bases(o.bases).kernel;
  auto k = linux_kernel::LinuxKernel::discover(in);
  if (!k) throw CliError(kTargetError, fmt::format("{}: {}", t.name, k.error()));
  for (const std::string& w : (*k)->warnings) fmt::print(stderr, "pagewalk: warning: {}\n", w);
  return std::move(*k);
}

linux_kernel::TaskLayout task_layout(linux_kernel::LinuxKernel& k, const TargetOptions& o) {
  if (!o.btf.empty() && !o.vmlinux.empty()) throw CliError(kBadInput, "give --btf or --vmlinux, not both");
  if (!o.vmlinux.empty()) {
    auto l = linux_kernel::task_layout_from_dwarf(o.vmlinux);
    if (!l) throw CliError(kTargetError, l.error());
    return *l;
  }
  std::vector<std::byte> data;
  std::string from;
  const std::string btf = !o.btf.empty() ? o.btf : o.live_kernel() ? "/sys/kernel/btf/vmlinux" : "";
  if (!btf.empty()) {
    // sysfs files report a size of their own; read to the end rather than map.
    const std::string text = read_text_file(btf, "--btf");
    const auto* b = reinterpret_cast<const std::byte*>(text.data());
    data.assign(b, b + text.size());
    from = btf;
  } else {
    auto b = linux_kernel::read_kernel_btf(k);
    if (!b) throw CliError(kTargetError, b.error());
    data = std::move(*b);
    from = "the image's BTF";
  }
  auto l = linux_kernel::task_layout_from_btf(data);
  if (!l) throw CliError(kTargetError, fmt::format("{}: {}", from, l.error()));
  l->source = from;
  return *l;
}

const PagingMode* mode_option(const std::string& name) {
  if (name.empty()) return nullptr;
  if (const PagingMode* m = find_mode(name)) return m;
  std::string known;
  for (const PagingMode* m : all_modes()) known += fmt::format("{}{}", known.empty() ? "" : ", ", m->name);
  throw CliError(kBadInput, fmt::format("unknown paging mode '{}' (known: {})", name, known));
}

Image open_image_option(const TargetOptions& o) {
  if (o.image.empty()) throw CliError(kBadInput, "no target: give --image FILE or --qemu HOST:PORT");
  auto image = open_image(o.image, {o.format, parse_bases(o.bases).raw});
  if (!image) throw CliError(kTargetError, image.error());
  return std::move(*image);
}

void Target::check_source() const {
  if (qemu) {
    if (auto e = qemu->transport_error()) throw CliError(kTargetError, *e);
  }
}

Target open_source(const TargetOptions& o) {
  if (int(!o.image.empty()) + int(!o.qemu.empty()) + int(o.kcore) > 1)
    throw CliError(kBadInput, "give one of --image, --qemu and --kcore");
  Target t;
  if (o.kcore) {
    auto k = open_kcore(o.kcore_file);
    if (!k) throw CliError(kTargetError, k.error());
    t.kcore = std::move(*k);
    t.name = t.kcore->path;
    t.format = "Linux /proc/kcore (the running kernel)";
    t.memory = t.kcore->memory.get();
    return t;
  }
  if (o.qemu.empty()) {
    t.image = open_image_option(o);
    t.name = t.image->path;
    t.format = t.image->format;
    t.memory = t.image->memory.get();
    t.cpus = t.image->cpus;
    return t;
  }
  if (auto ep = gdb::parse_endpoint(o.qemu); !ep) throw CliError(kBadInput, fmt::format("--qemu: {}", ep.error()));
  if (o.qemu_timeout_ms == 0) throw CliError(kBadInput, "--qemu-timeout must be above 0");
  gdb::Options go;
  go.connect_timeout = go.request_timeout = std::chrono::milliseconds(o.qemu_timeout_ms);
  auto stub = gdb::QemuGdbstub::open(o.qemu, go);
  if (!stub) throw CliError(kTargetError, stub.error());
  t.qemu = std::move(*stub);
  t.name = o.qemu;
  t.format = "QEMU gdbstub (physical-memory mode)";
  t.memory = t.qemu.get();
  t.cpus = t.qemu->cpus();
  return t;
}

namespace {

// --pid / --kernel: the root comes from the kernel's own data, not from a CPU register.
void select_linux_root(Target& t, const TargetOptions& o) {
  if (!o.pid.empty() && o.kernel) throw CliError(kBadInput, "give --pid or --kernel, not both");
  if (!o.cr3.empty() || o.cpu) throw CliError(kBadInput, "--pid and --kernel choose the root table: drop --cr3/--cpu");
  t.kernel = open_linux(t, o);
  linux_kernel::LinuxKernel& k = *t.kernel;
  t.paging = k.paging;
  const std::string where = fmt::format("{}: {}, {} ({})", t.name, t.format, k.paging.mode->name, k.mode_source);
  if (o.kernel || o.pid.empty()) {
    t.root = k.kernel_pgd;
    t.root_source = fmt::format("kernel PGD 0x{:x} (init_top_pgt)", k.kernel_pgd.value());
    t.views = {{"", t.root}};
    t.description = fmt::format("{}, root {}", where, t.root_source);
    return;
  }
  auto pid = parse_u64(o.pid);
  if (!pid || *pid > 0x7fffffff) throw CliError(kBadInput, fmt::format("--pid '{}' is not a process id", o.pid));
  const linux_kernel::TaskLayout layout = task_layout(k, o);
  const linux_kernel::TaskList list = linux_kernel::list_tasks(k, layout);
  for (const std::string& w : list.warnings) fmt::print(stderr, "pagewalk: warning: {}\n", w);
  const linux_kernel::Task* task = nullptr;
  for (const auto& tk : list.tasks)
    if (tk.pid == static_cast<int32_t>(*pid)) task = &tk;
  if (!task)
    throw CliError(kBadInput, fmt::format("no process {} in the task list of {} ({} processes; see pagewalk ps)", *pid,
                                          t.name, list.tasks.size()));
  if (!task->mm) throw CliError(kBadInput, fmt::format("pid {} ({}) is a kernel thread: it has no mm; use --kernel", *pid, task->comm));
  if (!task->pgd)
    throw CliError(kTargetError, fmt::format("pid {} ({}): its PGD at 0x{:x} is not mapped by the kernel's tables", *pid,
                                             task->comm, task->pgd_va));
  const PhysAddr kernel_half = *task->pgd;
  const bool pti = linux_kernel::pti_enabled(k, layout).value_or(false);
  t.root = kernel_half;
  t.root_source = fmt::format("pid {} ({}) mm->pgd 0x{:x} = PA 0x{:x}", task->pid, task->comm, task->pgd_va, kernel_half.value());
  if (!pti) {
    if (!o.pti.empty()) fmt::print(stderr, "pagewalk: note: the kernel does not use page-table isolation; --pti ignored\n");
    t.views = {{"", t.root}};
  } else {
    const PhysAddr user_half = kernel_half + linux_kernel::kPtiUserPgdOffset;
    if (o.pti == "user") t.views = {{"user", user_half}};
    else if (o.pti == "kernel") t.views = {{"kernel", kernel_half}};
    else t.views = {{"kernel", kernel_half}, {"user", user_half}};
    t.root = t.views.front().root;
    t.root_source += fmt::format(", PTI: user PGD 0x{:x}", user_half.value());
  }
  t.description = fmt::format("{}, root {}", where, t.root_source);
}

}  // namespace

Target open_target(const TargetOptions& o) {
  Target t = open_source(o);
  if (o.wants_linux()) {
    select_linux_root(t, o);
    return t;
  }
  if (!o.pti.empty()) throw CliError(kBadInput, "--pti needs --pid");
  t.paging.options.pa_bits = static_cast<uint8_t>(o.pa_bits);
  t.paging.options.nx_enabled = !o.no_nx;
  if (o.pa_bits && (o.pa_bits < 32 || o.pa_bits > 52))
    throw CliError(kBadInput, fmt::format("--pa-bits {} is outside 32..52", o.pa_bits));
  const PagingMode* mode = mode_option(o.mode);
  std::string mode_source = "--mode";

  const CpuRegisters* cpu = nullptr;
  const auto& cpus = t.cpus;
  if (o.cpu) {
    if (*o.cpu >= cpus.size())
      throw CliError(kBadInput, cpus.empty() ? fmt::format("--cpu {}: {} holds no CPU registers", *o.cpu, t.name)
                                             : fmt::format("--cpu {}: {} holds registers of CPUs 0..{}", *o.cpu,
                                                           t.name, cpus.size() - 1));
    cpu = &cpus[*o.cpu];
  } else if (!cpus.empty() && o.cr3.empty()) {
    cpu = &cpus[0];
  }

  if (!o.cr3.empty()) {
    const uint64_t cr3 = number_arg(o.cr3, "--cr3");
    if (!mode && cpu) {
      mode = x86_mode_from_registers(cpu->cr0, cpu->cr4, cpu->long_mode);
      mode_source = fmt::format("CPU {} registers", cpu->index);
    }
    if (!mode && !cpus.empty()) {
      mode = x86_mode_from_registers(cpus[0].cr0, cpus[0].cr4, cpus[0].long_mode);
      mode_source = "CPU 0 registers";
    }
    if (!mode) {
      mode = &kX86_64_4Level;
      mode_source = "assumed; give --mode to change";
      fmt::print(stderr, "pagewalk: note: the image names no paging mode; assuming --mode {}\n", mode->name);
    }
    t.root = mode->root_from(cr3);
    t.root_source = fmt::format("--cr3 0x{:x}", cr3);
  } else if (cpu) {
    if (!mode) {
      mode = x86_mode_from_registers(cpu->cr0, cpu->cr4, cpu->long_mode);
      mode_source = fmt::format("CPU {} CR0/CR4/{}", cpu->index, cpu->efer ? "EFER" : "ELF machine");
      if (!mode)
        throw CliError(kTargetError, fmt::format("CPU {} has paging disabled (CR0.PG=0, CR0=0x{:x}): virtual "
                                                 "addresses are physical",
                                                 cpu->index, cpu->cr0));
    }
    t.root = mode->root_from(cpu->cr3);
    t.root_source = fmt::format("CR3 0x{:x} of CPU {} ({})", cpu->cr3, cpu->index, cpu->source);
  } else {
    throw CliError(kBadInput, fmt::format("{} ({}) holds no CPU registers: give --cr3 X (and --mode M)", t.name,
                                          t.format));
  }
  t.paging.mode = mode;
  t.views = {{"", t.root}};
  t.description = fmt::format("{}: {}, {} ({}), root {}", t.name, t.format, mode->name, mode_source, t.root_source);
  return t;
}

}  // namespace pagewalk::cli
