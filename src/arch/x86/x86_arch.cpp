#include "arch/x86/x86_arch.hpp"

#include <fmt/format.h>

#include "arch/x86/x86_entry.hpp"
#include "arch/x86/x86_modes.hpp"

namespace pagewalk::x86 {
namespace {

constexpr const PagingMode* kModes[] = {&kX86_64_4Level, &kX86_64_5Level, &kX86Pae, &kX86_32};

// Control-register bits (Intel SDM Vol. 3A §2.5, §2.2.1).
constexpr uint64_t kCr0Pg = uint64_t{1} << 31, kCr0Wp = uint64_t{1} << 16;
constexpr uint64_t kCr4Pse = uint64_t{1} << 4, kCr4Pae = uint64_t{1} << 5, kCr4La57 = uint64_t{1} << 12;
constexpr uint64_t kCr4Smep = uint64_t{1} << 20, kCr4Smap = uint64_t{1} << 21;
constexpr uint64_t kEferNxe = uint64_t{1} << 11, kEferLma = uint64_t{1} << 10;

}  // namespace

constinit const X86Architecture kArchitecture;

const PagingMode* mode_from_registers(uint64_t cr0, uint64_t cr4, bool long_mode) {
  if (!(cr0 & kCr0Pg)) return nullptr;
  if (long_mode) return (cr4 & kCr4La57) ? &kX86_64_5Level : &kX86_64_4Level;
  return (cr4 & kCr4Pae) ? &kX86Pae : &kX86_32;
}

bool long_mode(const CpuState& cpu) {
  if (auto efer = cpu.get(CpuRegisterNames::kEfer)) return (*efer & kEferLma) != 0;
  return cpu.get_or(CpuRegisterNames::kLongMode, 0) != 0;
}

std::span<const PagingMode* const> X86Architecture::modes() const { return kModes; }

EntryDecode X86Architecture::decode(const PagingMode& mode, unsigned level, uint64_t raw,
                                    const DecodeOptions& options) const {
  return x86::decode(mode, level, raw, options);
}

FlagNames X86Architecture::flag_names(const PagingMode& mode, unsigned level, uint64_t raw,
                                      const DecodeOptions& options) const {
  return x86::flag_names(mode, level, raw, options);
}

std::vector<EntryField> X86Architecture::entry_fields(const PagingMode& mode, unsigned level, uint64_t raw,
                                                      const DecodeOptions& options) const {
  if (x86::decode(mode, level, raw, options).kind != EntryKind::Leaf || !(mode.arch_traits & kLongMode)) return {};
  return {{"pkey", pkey(mode, raw)}};
}

uint64_t X86Architecture::coalesce_ignored_attrs(const PagingMode&) const {
  return (uint64_t{1} << kA) | (uint64_t{1} << kD);  // set by the MMU as pages are used
}

// Names come from bits 0..12 (12: PAT of a large page) and, in 8-byte entries, 52..63
// (software bits, protection key, NX); the address field between names nothing.
uint64_t X86Architecture::flag_bits(const PagingMode& mode, unsigned) const {
  return mode.entry_bytes == 8 ? 0xfff0000000001fffull : 0x1fffull;
}

std::shared_ptr<const WalkEngine> X86Architecture::make_engine(const Paging& paging) const {
  return std::make_shared<const BasicWalkEngine<HotDecoder>>(paging);
}

PhysAddr X86Architecture::root_from_register(const PagingMode& mode, uint64_t cr3) const {
  if (mode.arch_traits & kLongMode) return PhysAddr(cr3 & 0x000ffffffffff000);  // CR3[51:12]; low bits PCID/PWT/PCD
  if (mode.arch_traits & kPaeRoot) return PhysAddr(cr3 & 0xffffffe0);           // CR3[31:5]
  return PhysAddr(cr3 & 0xfffff000);                                             // CR3[31:12]
}

tl::expected<CpuPaging, std::string> X86Architecture::paging_from_cpu(const CpuState& cpu) const {
  const uint64_t cr0 = cpu.get_or(CpuRegisterNames::kCr0, 0), cr4 = cpu.get_or(CpuRegisterNames::kCr4, 0);
  const std::optional<uint64_t> efer = cpu.get(CpuRegisterNames::kEfer);
  CpuPaging p;
  p.mode = mode_from_registers(cr0, cr4, long_mode(cpu));
  p.mode_source = fmt::format("CPU {} CR0/CR4/{}", cpu.index, efer ? "EFER" : "ELF machine");
  if (!p.mode) {
    p.mode_source = fmt::format("paging disabled (CR0.PG=0, CR0=0x{:x})", cr0);
    return p;
  }
  const uint64_t cr3 = cpu.get_or(CpuRegisterNames::kCr3, 0);
  p.root_register = cr3;
  p.roots = RootSet(root_from_register(*p.mode, cr3));
  p.root_source = fmt::format("CR3 0x{:x} of CPU {} ({})", cr3, cpu.index, cpu.source);
  uint32_t flags = kRegistersKnown;
  if (efer && !(*efer & kEferNxe)) flags |= kNoNx;
  if (!(cr4 & kCr4Pse)) flags |= kNoPse;
  if (cr4 & kCr4Smep) flags |= kSmep;
  if (cr4 & kCr4Smap) flags |= kSmap;
  if (!(cr0 & kCr0Wp)) flags |= kNoWriteProtect;
  p.options.cpu_flags = flags;
  return p;
}

std::vector<std::string> X86Architecture::trace_notes(const Paging& paging, const Translation& t) const {
  std::vector<std::string> notes;
  const uint32_t f = paging.options.cpu_flags;
  if (!(f & kRegistersKnown) || t.status != Status::Mapped) return notes;
  // SDM Vol. 3A §4.6.1: these act on supervisor accesses to user pages and on CR0.WP.
  const bool user = t.access.user() != 0;
  if (user && (f & kSmep)) notes.emplace_back("CR4.SMEP: the kernel cannot execute this user page");
  if (user && (f & kSmap)) notes.emplace_back("CR4.SMAP: kernel reads and writes of this user page fault unless EFLAGS.AC is set");
  if ((f & kNoWriteProtect) && !t.access.has(Access::kKernelWrite))
    notes.emplace_back("CR0.WP=0: the kernel may write this page despite R/W=0");
  return notes;
}

std::string X86Architecture::describe_cpu(const CpuState& c) const {
  const uint64_t cr0 = c.get_or(CpuRegisterNames::kCr0, 0), cr4 = c.get_or(CpuRegisterNames::kCr4, 0);
  const std::optional<uint64_t> efer = c.get(CpuRegisterNames::kEfer);
  const bool lm = long_mode(c);
  const PagingMode* m = mode_from_registers(cr0, cr4, lm);
  return fmt::format("CR0 0x{:x}  CR3 0x{:x}  CR4 0x{:x}  {}  mode {}  RIP 0x{:x}", cr0,
                     c.get_or(CpuRegisterNames::kCr3, 0), cr4,
                     efer ? fmt::format("EFER 0x{:x}", *efer) : std::string(lm ? "long mode" : "legacy"),
                     m ? m->name : "paging off", c.get_or(CpuRegisterNames::kRip, 0));
}

}  // namespace pagewalk::x86
