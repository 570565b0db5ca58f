#include "cli/target.hpp"

#include <chrono>

#include <fmt/format.h>

#include "cli/errors.hpp"
#include "cli/numbers.hpp"

namespace pagewalk::cli {

void TargetOptions::add_to(CLI::App& app) {
  app.add_option("--image", image, "memory image: ELF core (QEMU dump-guest-memory, kdump), LiME or raw");
  app.add_option("--qemu", qemu, "a running QEMU guest: its gdbstub at HOST:PORT (QEMU -gdb tcp:HOST:PORT)");
  app.add_option("--qemu-timeout", qemu_timeout_ms, "milliseconds to wait for the gdbstub to connect or answer")
      ->capture_default_str();
  app.add_option("--format", format, "image format: auto, elf, lime, raw")->capture_default_str();
  app.add_option("--base", base, "physical address of a raw image's first byte")->capture_default_str();
  app.add_option("--cpu", cpu, "take CR3 and the paging mode from this CPU's registers (dump note or vCPU; default 0)");
  app.add_option("--cr3", cr3, "root table: a CR3 value (or the root table's physical address)");
  app.add_option("--mode", mode, "paging mode: x86-64-4level, x86-64-5level, x86-pae, x86-32");
  app.add_option("--pa-bits", pa_bits, "MAXPHYADDR: physical address bits (default: the mode's, 52 on x86-64)");
  app.add_flag("--no-nx", no_nx, "EFER.NXE is clear: bit 63 is not execute-disable");
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
  auto base = parse_u64(o.base);
  if (!base) throw CliError(kBadInput, fmt::format("--base: {}", base.error()));
  auto image = open_image(o.image, {o.format, *base});
  if (!image) throw CliError(kTargetError, image.error());
  return std::move(*image);
}

void Target::check_source() const {
  if (qemu) {
    if (auto e = qemu->transport_error()) throw CliError(kTargetError, *e);
  }
}

Target open_source(const TargetOptions& o) {
  if (!o.image.empty() && !o.qemu.empty()) throw CliError(kBadInput, "give either --image or --qemu, not both");
  Target t;
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

Target open_target(const TargetOptions& o) {
  Target t = open_source(o);
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
    auto cr3 = parse_u64(o.cr3);
    if (!cr3) throw CliError(kBadInput, fmt::format("--cr3: {}", cr3.error()));
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
    t.root = mode->root_from(*cr3);
    t.root_source = fmt::format("--cr3 0x{:x}", *cr3);
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
  t.description = fmt::format("{}: {}, {} ({}), root {}", t.name, t.format, mode->name, mode_source, t.root_source);
  return t;
}

}  // namespace pagewalk::cli
