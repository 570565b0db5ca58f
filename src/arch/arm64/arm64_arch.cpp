#include "arch/arm64/arm64_arch.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "arch/arm64/arm64_modes.hpp"

namespace pagewalk::arm64 {
namespace {

constexpr bool bit(uint64_t v, unsigned b) { return (v >> b) & 1; }
constexpr uint64_t mask(unsigned hi, unsigned lo) { return ((~uint64_t{0}) >> (63 - hi)) & ~((uint64_t{1} << lo) - 1); }

struct Format {
  bool lpa2;  // OA[51:50] in bits 9:8 (4 and 16 KiB pages, TCR.DS=1)
  bool lpa;   // OA[51:48] in bits 15:12 (64 KiB pages, a 52-bit OA)
};

Format format_of(const PagingMode& mode, const DecodeOptions& opt) {
  const unsigned pa_bits = opt.pa_bits ? opt.pa_bits : mode.default_pa_bits;
  return {lpa2_format(mode, opt.cpu_flags), granule_shift(mode) == 16 && pa_bits >= 52};
}

// The bits that hold the output address in this format (D8.3.1 and D8.3.2).
uint64_t address_bits(const PagingMode& mode, Format f) {
  const unsigned g = granule_shift(mode);
  if (f.lpa2) return mask(49, g) | mask(9, 8);
  if (f.lpa) return mask(47, 16) | mask(15, 12);
  return mask(47, g);
}

// Whether a block descriptor may sit at `level` (the Arm ARM's AArch64.BlockDescSupported):
// where the mode allows one, and with a 52-bit OA format one level higher: level 0 of 4 KiB
// and level 1 of 16 KiB pages under TCR.DS (FEAT_LPA2), level 1 of 64 KiB pages on a CPU
// with 52-bit PAs (FEAT_LPA), which a 52-bit IPS shows.
bool block_allowed(const PagingMode& mode, unsigned level, Format f) {
  if (mode.levels[level].can_be_leaf) return true;
  const int number = level_number(mode, level);
  switch (granule_shift(mode)) {
    case 12: return number == 0 && f.lpa2;
    case 14: return number == 1 && f.lpa2;
    default: return number == 1 && f.lpa;
  }
}

// Where Linux keeps swap and PROT_NONE entries: the last level and the block levels
// (huge pages: pmd and pud).
bool linux_leafish(const PagingMode& mode, unsigned level) {
  return level + 1 == mode.level_count() || mode.levels[level].can_be_leaf;
}

// Whether an invalid entry where Linux keeps leaves is present to Linux (pgtable.h's
// pte_present): up to 6.9, PTE_PROT_NONE (bit 58) or, in a block, PMD_PRESENT_INVALID (bit
// 59, a huge page being split); from 6.10, PTE_PRESENT_INVALID (PTE_NG, bit 11) for both.
bool linux_present_invalid(const PagingMode& mode, unsigned level, uint64_t raw, uint32_t cpu_flags) {
  if (cpu_flags & kLinuxSince610) return bit(raw, kNg);
  return bit(raw, kSwProtNone) || (level + 1 < mode.level_count() && bit(raw, kSwPmdPresentInvalid));
}

// What a present-invalid entry is (6.10's pte_protnone: no EL0 access and UXN set).
bool linux_prot_none(uint64_t raw, uint32_t cpu_flags) {
  if (cpu_flags & kLinuxSince610) return !bit(raw, kAp1) && bit(raw, kUxn);
  return bit(raw, kSwProtNone);
}

// EL1 and EL0 rights a leaf grants (D8.4.1, "Stage 1 data access permissions" and the
// execute-never rules): AP[2] read-only, AP[1] EL0 access; UXN and PXN; a region EL0 may
// write is never executable at EL1. EL0 may execute what UXN allows even without AP[1]
// (Linux's execute-only mappings).
Access leaf_access(uint64_t raw) {
  const bool el0 = bit(raw, kAp1), ro = bit(raw, kAp2);
  const bool el0_writable = el0 && !ro;
  const uint8_t kernel = static_cast<uint8_t>(1 | (ro ? 0 : 2) | (bit(raw, kPxn) || el0_writable ? 0 : 4));
  const uint8_t user = static_cast<uint8_t>((el0 ? 1 : 0) | (el0_writable ? 2 : 0) | (bit(raw, kUxn) ? 0 : 4));
  return Access::of(kernel, user);
}

// What a table descriptor leaves to everything below it (D8.4.2, hierarchical controls):
// APTable[0] takes EL0's access, APTable[1] every write, UXNTable and PXNTable execution.
Access table_access(uint64_t raw) {
  const uint8_t kernel = static_cast<uint8_t>(1 | (bit(raw, kApTable1) ? 0 : 2) | (bit(raw, kPxnTable) ? 0 : 4));
  const uint8_t user = bit(raw, kApTable0) ? 0 : static_cast<uint8_t>(1 | (bit(raw, kApTable1) ? 0 : 2) | (bit(raw, kUxnTable) ? 0 : 4));
  return Access::of(kernel, user);
}

// A MAIR_EL1 attribute byte as a memory type (D19.2.97): Device when the outer half is 0
// (nGnRnE, nGnRE, nGRE, GRE by bits 3:2), else Normal with its outer and inner caching;
// 0xf0 is Normal tagged (FEAT_MTE).
std::string_view memory_type(uint64_t attr) {
  if ((attr & 0xf0) == 0) {
    static constexpr std::string_view kDevice[] = {"DEVICE_nGnRnE", "DEVICE_nGnRE", "DEVICE_nGRE", "DEVICE_GRE"};
    return (attr & 3) ? "DEVICE_RESERVED" : kDevice[(attr >> 2) & 3];
  }
  switch (attr) {
    case 0xff: return "NORMAL_WB";
    case 0xbb: return "NORMAL_WT";
    case 0x44: return "NORMAL_NC";
    case 0xf0: return "NORMAL_TAGGED";
    default: return "NORMAL";
  }
}

}  // namespace

constinit const Arm64Architecture kArchitecture;

HotDecoder::HotDecoder(const PagingMode& mode, const DecodeOptions& opt) {
  const Format f = format_of(mode, opt);
  for (unsigned i = 0; i < 16; ++i) {
    // Index bits: AP[1], AP[2], PXN, UXN (leaf); PXNTable, UXNTable, APTable[0], APTable[1].
    const uint64_t leaf = uint64_t{i & 3} << kAp1 | uint64_t{(i >> 2) & 3} << kPxn;
    leaf_access_[i] = leaf_access(leaf).bits();
    table_access_[i] = table_access(uint64_t{i} << kPxnTable).bits();
  }
  for (unsigned level = 0; level < mode.level_count(); ++level) {
    Level& l = levels_[level];
    l.last = level + 1 == mode.level_count();
    l.block = !l.last && block_allowed(mode, level, f);
    l.addr = address_bits(mode, f);
    l.block_addr = l.addr & ~((uint64_t{1} << mode.levels[level].shift) - 1);
    l.fast = !f.lpa2 && !f.lpa;  // the split 52-bit fields go to decode()
  }
}

std::shared_ptr<const WalkEngine> Arm64Architecture::make_engine(const Paging& paging) const {
  return std::make_shared<const BasicWalkEngine<HotDecoder>>(paging);
}

std::span<const PagingMode* const> Arm64Architecture::modes() const { return all_modes(); }

uint64_t output_address(const PagingMode& mode, uint64_t raw, unsigned align_shift, bool lpa2, bool lpa) {
  const unsigned g = granule_shift(mode);
  uint64_t oa;
  if (lpa2) oa = (raw & mask(49, g)) | ((raw >> 8) & 3) << 50;
  else if (lpa) oa = (raw & mask(47, 16)) | ((raw >> 12) & 0xf) << 48;
  else oa = raw & mask(47, g);
  return oa & ~((uint64_t{1} << align_shift) - 1);
}

EntryDecode Arm64Architecture::decode(const PagingMode& mode, unsigned level, uint64_t raw,
                                      const DecodeOptions& opt) const {
  EntryDecode d;
  if (raw == 0) return d;
  const Format f = format_of(mode, opt);
  const bool last = level + 1 == mode.level_count();
  const unsigned span_shift = mode.levels[level].shift;
  d.attrs = raw & ~address_bits(mode, f);
  if (!bit(raw, kValid)) {
    if (!linux_leafish(mode, level)) {
      d.kind = EntryKind::NotPresent;
    } else if (linux_present_invalid(mode, level, raw, opt.cpu_flags)) {
      // Invalid to the MMU, present to Linux (PROT_NONE, or a huge page being split): the
      // frame kept as a valid entry keeps it.
      d.kind = EntryKind::ProtNone;
      d.addr = output_address(mode, raw, span_shift, f.lpa2, f.lpa);
    } else {
      const LinuxSwapFormat s = linux_swap_format(opt.cpu_flags);
      d.kind = EntryKind::Swap;
      d.swap_type = static_cast<uint8_t>((raw >> s.type_shift) & ((1u << s.type_bits) - 1));
      d.swap_offset = (raw >> s.offset_shift) & ((uint64_t{1} << 50) - 1);
    }
    return d;
  }
  const bool table_or_page = bit(raw, kTableOrPage);
  if (last ? !table_or_page : (!table_or_page && !block_allowed(mode, level, f))) {
    // bits[1:0] = 01 at level 3, or a block where the granule allows none: an invalid
    // encoding, a translation fault (D8.3).
    d.kind = EntryKind::Reserved;
    d.reserved = uint64_t{1} << kTableOrPage;
    return d;
  }
  if (!last && table_or_page) {
    d.kind = EntryKind::Table;
    d.addr = output_address(mode, raw, granule_shift(mode), f.lpa2, f.lpa);
    d.access = table_access(raw);
    return d;
  }
  d.kind = EntryKind::Leaf;  // a page, or a block; AF=0 still maps (the flag is shown)
  d.addr = output_address(mode, raw, span_shift, f.lpa2, f.lpa);
  d.access = leaf_access(raw);
  return d;
}

FlagNames Arm64Architecture::flag_names(const PagingMode& mode, unsigned level, uint64_t raw,
                                        const DecodeOptions& opt) const {
  FlagNames out;
  if (raw == 0) return out;
  auto add = [&](bool on, std::string_view name) { out.add(on, name); };
  const EntryDecode d = decode(mode, level, raw, opt);
  switch (d.kind) {
    case EntryKind::Swap: {
      const LinuxSwapFormat s = linux_swap_format(opt.cpu_flags);
      add(true, "SWAP");
      add(s.exclusive_bit >= 0 && bit(raw, static_cast<unsigned>(s.exclusive_bit)), "SWP_EXCLUSIVE");
      add(s.uffd_wp_bit >= 0 && bit(raw, static_cast<unsigned>(s.uffd_wp_bit)), "SWP_UFFD_WP");
      return out;
    }
    case EntryKind::NotPresent:
      add(true, "NOT_VALID");
      return out;
    case EntryKind::Reserved:
      add(true, "V");
      add(true, "INVALID_ENCODING");
      return out;
    case EntryKind::Table:
      add(true, "V");
      add(true, "TABLE");
      add(bit(raw, kPxnTable), "PXNTABLE");
      add(bit(raw, kUxnTable), "UXNTABLE");
      add(bit(raw, kApTable0), "APTABLE_NO_EL0");
      add(bit(raw, kApTable1), "APTABLE_RDONLY");
      add(bit(raw, kNsTable), "NSTABLE");
      return out;
    default:
      break;
  }
  const bool present_invalid = d.kind == EntryKind::ProtNone;
  add(!present_invalid, "V");
  add(present_invalid && linux_prot_none(raw, opt.cpu_flags), "PROT_NONE");
  add(present_invalid && !linux_prot_none(raw, opt.cpu_flags), "PRESENT_INVALID");
  const bool page = level + 1 == mode.level_count();
  add(page, "PAGE");
  add(!page, "BLOCK");
  add(bit(raw, kNs), "NS");
  add(bit(raw, kAp1), "USER");     // AP[1], Linux's PTE_USER
  add(bit(raw, kAp2), "RDONLY");   // AP[2], PTE_RDONLY
  add(bit(raw, kAf), "AF");
  add(bit(raw, kNg), "NG");
  add(bit(raw, kGp), "GP");
  add(bit(raw, kDbm), "DBM");      // PTE_WRITE with hardware dirty state
  add(bit(raw, kContiguous), "CONT");
  add(bit(raw, kPxn), "PXN");
  add(bit(raw, kUxn), "UXN");
  add(bit(raw, kSwDirty), "DIRTY");
  add(bit(raw, kSwSpecial), "SPECIAL");
  add(bit(raw, kSwDevmap), "DEVMAP");
  add(!present_invalid && (opt.cpu_flags & kLinuxSince610) && bit(raw, kSwUffdWp), "UFFD_WP");
  if (opt.attribute_register) add(true, memory_type((*opt.attribute_register >> (8 * ((raw >> kAttrIndx) & 7))) & 0xff));
  return out;
}

std::vector<EntryField> Arm64Architecture::entry_fields(const PagingMode& mode, unsigned level, uint64_t raw,
                                                        const DecodeOptions& opt) const {
  const EntryDecode d = decode(mode, level, raw, opt);
  if (d.kind != EntryKind::Leaf && d.kind != EntryKind::ProtNone) return {};
  std::vector<EntryField> out{{"AttrIndx", (raw >> kAttrIndx) & 7}};
  if (!format_of(mode, opt).lpa2) out.push_back({"SH", (raw >> kSh) & 3});  // under LPA2 SH is TCR's
  if (const unsigned n = bit(raw, kContiguous) ? contiguous_entries(mode, level) : 0)
    out.push_back({"ContiguousRun", uint64_t{n} << mode.levels[level].shift});  // bytes the run maps
  return out;
}

LinuxSwapFormat linux_swap_format(uint32_t cpu_flags) {
  if (cpu_flags & kLinuxSince610) return {6, 5, 12, 2, 3};  // 6.10: bit 11 is PTE_PRESENT_INVALID
  if (cpu_flags & kLinuxBefore519) return {2, 6, 8, -1, -1};
  return {3, 5, 8, 2, -1};  // 5.19 ("remember PG_anon_exclusive via a swp pte bit") to 6.9
}

unsigned contiguous_entries(const PagingMode& mode, unsigned level) {
  const int number = level_number(mode, level);
  switch (granule_shift(mode)) {
    case 12: return number >= 1 ? 16 : 0;
    case 14: return number == 3 ? 128 : number == 2 ? 32 : 0;
    default: return number >= 2 ? 32 : 0;
  }
}

// A leaf with the Contiguous bit is one of a run the TLB may cache as one entry: the run's
// aligned VA and PA ranges, for the trace.
std::vector<std::string> Arm64Architecture::trace_notes(const Paging& paging, const Translation& t) const {
  if (t.status != Status::Mapped || !bit(t.last().raw, kContiguous)) return {};
  const unsigned n = contiguous_entries(*paging.mode, t.last().level);
  if (!n) return {};
  const uint64_t run = n * t.page_size, va = t.va.value() & ~(run - 1), pa = t.pa.value() & ~(run - 1);
  return {fmt::format("Contiguous: one of {} {} entries that map 0x{:x}-0x{:x} to PA 0x{:x} together (a TLB may hold "
                      "the run as one entry)",
                      n, paging.mode->levels[t.last().level].linux_name, va, va + run - 1, pa)};
}

// The access flag and Linux's software dirty bit change as pages are used, not what they map.
uint64_t Arm64Architecture::coalesce_ignored_attrs(const PagingMode&) const {
  return (uint64_t{1} << kAf) | (uint64_t{1} << kSwDirty);
}

// TTBRn_EL1 (D19.2): ASID in 63:48, BADDR below, CnP in bit 0; with a 52-bit OA, BADDR[51:48]
// sits in bits 5:2 and the table is 64-byte aligned at least.
PhysAddr Arm64Architecture::root_from_register(const PagingMode& mode, uint64_t ttbr) const {
  const uint64_t table_bytes = uint64_t{8} << mode.levels.front().index_bits;
  const uint64_t align = table_bytes < 64 ? 64 : table_bytes;
  const uint64_t low = ttbr & mask(47, 1) & ~(align - 1);
  if (mode.default_pa_bits >= 52) return PhysAddr(low | ((ttbr >> 2) & 0xf) << 48);
  return PhysAddr(low);
}

TcrFields decode_tcr(uint64_t tcr) {
  TcrFields f;
  f.va_bits[0] = 64 - static_cast<unsigned>(tcr & 0x3f);
  f.va_bits[1] = 64 - static_cast<unsigned>((tcr >> 16) & 0x3f);
  static constexpr unsigned kTg0[] = {4, 64, 16, 0}, kTg1[] = {0, 16, 4, 64};
  f.granule_kib[0] = kTg0[(tcr >> 14) & 3];
  f.granule_kib[1] = kTg1[(tcr >> 30) & 3];
  static constexpr unsigned kIps[] = {32, 36, 40, 42, 44, 48, 52, 0};
  f.pa_bits = kIps[(tcr >> 32) & 7];
  f.ds = bit(tcr, 59);
  f.tbi[0] = bit(tcr, 37);
  f.tbi[1] = bit(tcr, 38);
  f.walks_off[0] = bit(tcr, 7);
  f.walks_off[1] = bit(tcr, 23);
  return f;
}

tl::expected<CpuPaging, std::string> Arm64Architecture::paging_from_cpu(const CpuState& cpu) const {
  using R = RegisterNames;
  CpuPaging p;
  if (auto sctlr = cpu.get(R::kSctlr); sctlr && !(*sctlr & 1)) {
    p.mode_source = "SCTLR_EL1.M clear (the MMU is off)";
    return p;
  }
  const auto tcr = cpu.get(R::kTcr);
  if (!tcr) return tl::unexpected(fmt::format("CPU {} holds no TCR_EL1: give --tcr X --ttbr0 A --ttbr1 B", cpu.index));
  const TcrFields f = decode_tcr(*tcr);
  for (unsigned h = 0; h < 2; ++h)
    if (!f.granule_kib[h]) return tl::unexpected(fmt::format("TCR_EL1 0x{:x}: TG{} is a reserved encoding", *tcr, h));
  // Each half has its own size and granule (T0SZ/TG0, T1SZ/TG1); halves that differ make a
  // split mode, each half walked in its own shape.
  const PagingMode* halves[2] = {nullptr, nullptr};
  for (unsigned h = 0; h < 2; ++h) {
    const unsigned va = f.va_bits[h], kib = f.granule_kib[h];
    if (va < 36 || va > 52)
      return tl::unexpected(fmt::format("TCR_EL1 0x{:x}: a {}-bit TTBR{} VA (T{}SZ {}) is outside the 36..52 bits "
                                        "pagewalk knows",
                                        *tcr, va, h, h, 64 - va));
    if (va > 48 && kib != 64 && !f.ds)
      return tl::unexpected(fmt::format("TCR_EL1 0x{:x}: a {}-bit TTBR{} VA with {} KiB pages needs TCR.DS=1 "
                                        "(FEAT_LPA2)",
                                        *tcr, va, h, kib));
    halves[h] = mode_named(fmt::format("arm64-{}k-{}", kib, va));
  }
  if (!f.pa_bits) return tl::unexpected(fmt::format("TCR_EL1 0x{:x}: IPS is a reserved encoding", *tcr));
  p.mode = &split_mode(*halves[0], *halves[1]);
  if (p.mode->split())
    p.mode_source = fmt::format("TCR_EL1 0x{:x} (T0SZ {}, TG0 {}K, T1SZ {}, TG1 {}K, IPS {} bits{})", *tcr,
                                64 - f.va_bits[0], f.granule_kib[0], 64 - f.va_bits[1], f.granule_kib[1], f.pa_bits,
                                f.ds ? ", DS" : "");
  else
    p.mode_source = fmt::format("TCR_EL1 0x{:x} (T0SZ {}, TG0 {}K, IPS {} bits{})", *tcr, 64 - f.va_bits[0],
                                f.granule_kib[0], f.pa_bits, f.ds ? ", DS" : "");
  // The OA size is IPS's, whatever the VA size: 64 KiB descriptors carry OA[51:48] in bits
  // 15:12 whenever it is 52 bits (FEAT_LPA, D8.3.1), a 48-bit VA too.
  p.options.pa_bits = static_cast<uint8_t>(f.pa_bits);
  p.options.attribute_register = cpu.get(R::kMair);
  if (f.ds) p.options.cpu_flags |= kDs;  // the LPA2 format of the 4 and 16 KiB halves (lpa2_format)
  // TBI0/TBI1: that half ignores the VA's top byte (D8.8); the source says which it took.
  p.options.tagged_halves = static_cast<uint8_t>((f.tbi[0] ? 1 : 0) | (f.tbi[1] ? 2 : 0));
  if (f.tbi[0] || f.tbi[1])
    p.mode_source += fmt::format(", top byte ignored in {}", f.tbi[0] && f.tbi[1] ? "both halves" : f.tbi[0] ? "TTBR0's half" : "TTBR1's half");
  const auto ttbr0 = cpu.get(R::kTtbr0), ttbr1 = cpu.get(R::kTtbr1);
  if (!ttbr0 || !ttbr1) return tl::unexpected(fmt::format("CPU {} lacks TTBR0_EL1 or TTBR1_EL1", cpu.index));
  p.roots = RootSet(root_from_register(p.mode->tree(0), *ttbr0), root_from_register(p.mode->tree(1), *ttbr1));
  p.root_register = *ttbr0;
  p.root_source = fmt::format("TTBR0_EL1 0x{:x}, TTBR1_EL1 0x{:x}", *ttbr0, *ttbr1);
  return p;
}

}  // namespace pagewalk::arm64
