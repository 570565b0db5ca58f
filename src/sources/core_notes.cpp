#include "sources/core_notes.hpp"

#include <elf.h>

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "arch/x86/x86_arch.hpp"
#include "sources/bytes.hpp"

namespace pagewalk {
namespace {

// QEMU's per-CPU "QEMU" note is a QEMUCPUState (target/i386/arch_dump.c): version, size,
// 18 general registers, 10 segment descriptors of 24 bytes (cs, ds, es, fs, gs, ss, ldt, tr,
// gdt, idt; each selector, limit, flags, pad, then the 8-byte base), then cr[0..4].
struct QemuCpuStateLayout {
  static constexpr size_t kRip = 8 + 16 * 8;
  static constexpr size_t kRsp = 8 + 6 * 8;
  static constexpr size_t kGdtBase = 8 + 18 * 8 + 8 * 24 + 16;
  static constexpr size_t kIdtBase = 8 + 18 * 8 + 9 * 24 + 16;
  static constexpr size_t kCr = 8 + 18 * 8 + 10 * 24;
  static constexpr size_t kMinSize = kCr + 5 * 8;
};

void add_qemu_note(CoreNotes& notes, std::span<const std::byte> desc, bool long_mode) {
  if (desc.size() < QemuCpuStateLayout::kMinSize) {
    notes.problems.push_back(fmt::format("a QEMU CPU note of {} bytes, fewer than the {} its registers take: not read",
                                         desc.size(), QemuCpuStateLayout::kMinSize));
    return;
  }
  using R = x86::CpuRegisterNames;
  CpuState r;
  r.index = static_cast<unsigned>(notes.cpus.size());
  r.arch = x86::architecture().name();
  const std::byte* p = desc.data();
  r.set(R::kCr0, load<uint64_t>(p + QemuCpuStateLayout::kCr));
  r.set(R::kCr2, load<uint64_t>(p + QemuCpuStateLayout::kCr + 16));
  r.set(R::kCr3, load<uint64_t>(p + QemuCpuStateLayout::kCr + 24));
  r.set(R::kCr4, load<uint64_t>(p + QemuCpuStateLayout::kCr + 32));
  // QEMU's note carries no EFER; it writes an EM_X86_64 core exactly when the CPU is in
  // long mode (EFER.LMA).
  r.set(R::kLongMode, long_mode ? 1 : 0);
  r.set(R::kRip, load<uint64_t>(p + QemuCpuStateLayout::kRip));
  r.set(R::kRsp, load<uint64_t>(p + QemuCpuStateLayout::kRsp));
  r.set(R::kGdtBase, load<uint64_t>(p + QemuCpuStateLayout::kGdtBase));
  r.set(R::kIdtBase, load<uint64_t>(p + QemuCpuStateLayout::kIdtBase));
  r.source = "QEMU note";
  notes.cpus.push_back(r);
}

uint32_t align4(uint32_t v) { return (v + 3) & ~uint32_t{3}; }

// The kernel's VMCOREINFO is one page (VMCOREINFO_BYTES, include/linux/crash_core.h); a note
// far larger is corrupt, and is not taken (the copy in memory may still be found).
constexpr uint32_t kMaxVmcoreinfo = 1u << 20;

}  // namespace

void parse_core_notes(CoreNotes& out, std::span<const std::byte> notes, bool long_mode) {
  // Elf64_Nhdr: namesz, descsz, type; name and desc each padded to 4 bytes.
  size_t off = 0;
  while (notes.size() - off >= 12) {
    const std::byte* h = notes.data() + off;
    const uint32_t namesz = load<uint32_t>(h), descsz = load<uint32_t>(h + 4), type = load<uint32_t>(h + 8);
    const uint64_t name_at = off + 12, desc_at = name_at + align4(namesz), end = desc_at + uint64_t{align4(descsz)};
    if (namesz > notes.size() || descsz > notes.size() || end > notes.size() + 3 || desc_at + descsz > notes.size()) {
      out.problems.push_back(fmt::format("a note at offset {} of a note segment runs past its end (name {} bytes, "
                                         "description {} bytes, {} bytes left): it and the notes after it are not read",
                                         off, namesz, descsz, notes.size() - off));
      break;
    }
    const std::string_view name(reinterpret_cast<const char*>(notes.data() + name_at), namesz ? namesz - 1 : 0);
    const std::span<const std::byte> desc = notes.subspan(desc_at, descsz);
    if (name == "QEMU") {
      out.qemu = true;
      add_qemu_note(out, desc, long_mode);
    } else if (name == "CORE" && type == NT_PRSTATUS) {
      ++out.prstatus;
    } else if (name == "VMCOREINFO" && descsz > kMaxVmcoreinfo) {
      out.problems.push_back(fmt::format("a VMCOREINFO note of {} bytes, larger than the kernel writes: not read", descsz));
    } else if (name == "VMCOREINFO") {
      out.vmcoreinfo.emplace(reinterpret_cast<const char*>(desc.data()), desc.size());
      while (!out.vmcoreinfo->empty() && out.vmcoreinfo->back() == '\0') out.vmcoreinfo->pop_back();
    }
    off = std::min<uint64_t>(end, notes.size());
  }
}

}  // namespace pagewalk
