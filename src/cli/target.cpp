#include "cli/target.hpp"

#include <fmt/format.h>

#include "cli/errors.hpp"
#include "cli/numbers.hpp"

namespace pagewalk::cli {

void TargetOptions::add_to(CLI::App& app) {
  app.add_option("--image", image, "memory image: ELF core (QEMU dump-guest-memory, kdump), LiME or raw");
  app.add_option("--format", format, "image format: auto, elf, lime, raw")->capture_default_str();
  app.add_option("--base", base, "physical address of a raw image's first byte")->capture_default_str();
  app.add_option("--cpu", cpu, "take CR3 and the paging mode from this CPU's registers in the dump (default 0)");
  app.add_option("--cr3", cr3, "root table: a CR3 value (or the root table's physical address)");
  app.add_option("--mode", mode, "paging mode: x86-64-4level, x86-64-5level, x86-pae, x86-32");
  app.add_option("--pa-bits", pa_bits, "MAXPHYADDR: physical address bits (default: the mode's, 52 on x86-64)");
  app.add_flag("--no-nx", no_nx, "EFER.NXE is clear: bit 63 is not execute-disable");
  app.add_option("--pid", pid, "a live process through /proc (PID or self); needs root for PFNs");
}

bool TargetOptions::live() const {
  if (pid.empty()) return false;
  if (!image.empty()) throw CliError(kBadInput, "--pid with --image (a process inside a dump) is not supported yet");
  return true;
}

const PagingMode* mode_option(const std::string& name) {
  if (name.empty()) return nullptr;
  if (const PagingMode* m = find_mode(name)) return m;
  std::string known;
  for (const PagingMode* m : all_modes()) known += fmt::format("{}{}", known.empty() ? "" : ", ", m->name);
  throw CliError(kBadInput, fmt::format("unknown paging mode '{}' (known: {})", name, known));
}

Image open_image_option(const TargetOptions& o) {
  (void)o.live();  // rejects --pid with --image
  if (o.image.empty()) throw CliError(kBadInput, "no target: give --image FILE");
  auto base = parse_u64(o.base);
  if (!base) throw CliError(kBadInput, fmt::format("--base: {}", base.error()));
  auto image = open_image(o.image, {o.format, *base});
  if (!image) throw CliError(kTargetError, image.error());
  return std::move(*image);
}

Target open_target(const TargetOptions& o) {
  Target t;
  t.image = open_image_option(o);
  t.memory = t.image->memory.get();
  t.paging.options.pa_bits = static_cast<uint8_t>(o.pa_bits);
  t.paging.options.nx_enabled = !o.no_nx;
  if (o.pa_bits && (o.pa_bits < 32 || o.pa_bits > 52))
    throw CliError(kBadInput, fmt::format("--pa-bits {} is outside 32..52", o.pa_bits));
  const PagingMode* mode = mode_option(o.mode);
  std::string mode_source = "--mode";

  const CpuRegisters* cpu = nullptr;
  const auto& cpus = t.image->cpus;
  if (o.cpu) {
    if (*o.cpu >= cpus.size())
      throw CliError(kBadInput, cpus.empty() ? fmt::format("--cpu {}: {} holds no CPU registers", *o.cpu, o.image)
                                             : fmt::format("--cpu {}: {} holds registers of CPUs 0..{}", *o.cpu,
                                                           o.image, cpus.size() - 1));
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
    throw CliError(kBadInput, fmt::format("{} ({}) holds no CPU registers: give --cr3 X (and --mode M)", o.image,
                                          t.image->format));
  }
  t.paging.mode = mode;
  t.description = fmt::format("{}: {}, {} ({}), root {}", o.image, t.image->format, mode->name, mode_source,
                              t.root_source);
  return t;
}

}  // namespace pagewalk::cli
