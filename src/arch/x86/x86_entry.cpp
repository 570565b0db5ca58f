#include "arch/x86/x86_entry.hpp"


namespace pagewalk::x86 {
namespace {

constexpr bool bit(uint64_t v, unsigned b) { return (v >> b) & 1; }
constexpr uint64_t kAddrField64 = 0x000ffffffffff000;  // bits 51:12, the widest frame field

struct LevelFacts {
  bool last;           // the PT level: a present entry always maps a 4 KiB page
  bool linux_leafish;  // pte or pmd level, where Linux stores swap and PROT_NONE entries
  bool large_leaf;     // PS=1 maps a large page here
  bool ps_reserved;    // PS=1 is a reserved-bit fault here (PML4E, PML5E)
};

LevelFacts facts(const PagingMode& mode, unsigned level, uint64_t raw, const DecodeOptions& opt) {
  const LevelDesc& l = mode.levels[level];
  LevelFacts f{};
  f.last = level + 1 == mode.level_count();
  f.linux_leafish = f.last || (l.can_be_leaf && level + 2 == mode.level_count());
  if (!f.last && bit(raw, kPS)) {
    // With CR4.PSE clear, 32-bit paging ignores PDE.PS (SDM Table 4-5).
    const bool pse_ignored = mode.entry_bytes == 4 && (opt.cpu_flags & kNoPse);
    f.large_leaf = l.can_be_leaf && !pse_ignored;
    // The PAE PDPTE has no PS bit: bit 7 is reserved there too.
    f.ps_reserved = !l.can_be_leaf && !pse_ignored;
  }
  return f;
}

unsigned effective_pa_bits(const PagingMode& mode, const DecodeOptions& opt) {
  return opt.pa_bits ? opt.pa_bits : mode.default_pa_bits;
}

bool nx_in_use(const PagingMode& mode, const DecodeOptions& opt) {
  return (mode.arch_traits & kHasNx) && !(opt.cpu_flags & kNoNx);
}

}  // namespace

EntryDecode decode(const PagingMode& mode, unsigned level, uint64_t raw, const DecodeOptions& opt) {
  EntryDecode d;
  if (raw == 0) return d;
  const LevelDesc& l = mode.levels[level];
  const LevelFacts f = facts(mode, level, raw, opt);
  const uint64_t pmask = pa_mask(effective_pa_bits(mode, opt));
  const bool wide = mode.entry_bytes == 8;

  if (!bit(raw, kP)) {
    d.attrs = raw;
    if (!f.linux_leafish) {
      d.kind = EntryKind::NotPresent;
    } else if (bit(raw, kProtNone)) {
      // Since the L1TF fix the PFN of a non-present, non-zero 64-bit entry is stored
      // inverted (arch/x86/include/asm/pgtable-invert.h); 2-level paging does not invert.
      d.kind = EntryKind::ProtNone;
      const unsigned shift = l.shift;  // a pmd-level PROT_NONE entry is a huge page
      const uint64_t frame_bits = (wide ? ~raw : raw) & pmask & ~((uint64_t{1} << shift) - 1);
      d.addr = frame_bits;
      d.attrs = raw & ~(wide ? kAddrField64 : 0xfffff000ull);
    } else {
      d.kind = EntryKind::Swap;
      if (wide) {
        // arch/x86/include/asm/pgtable_64.h: TYPE in 63:59, ~OFFSET in 58:9.
        d.swap_type = static_cast<uint8_t>(raw >> 59);
        d.swap_offset = (~raw << 5) >> 14;
      } else {
        // arch/x86/include/asm/pgtable-2level.h: TYPE in 5:1, OFFSET from bit 9.
        d.swap_type = static_cast<uint8_t>((raw >> 1) & 0x1f);
        d.swap_offset = raw >> 9;
      }
    }
    return d;
  }

  // Present. PAE PDPTEs carry no access-rights bits (SDM §4.4.1).
  const bool pae_pdpte = (mode.arch_traits & kPaeRoot) && level == 0;
  d.access = access_of(pae_pdpte || bit(raw, kRW), pae_pdpte || bit(raw, kUS), !(nx_in_use(mode, opt) && bit(raw, kNX)));

  if (f.ps_reserved) {
    d.kind = EntryKind::Reserved;
    d.attrs = raw;
    d.reserved = uint64_t{1} << kPS;
    return d;
  }
  if (!wide) {
    if (f.large_leaf) {
      // PSE-36: PA[31:22] from PDE[31:22], PA[39:32] from PDE[20:13].
      d.addr = ((raw & 0xffc00000ull) | (((raw >> 13) & 0xff) << 32)) & pmask;
      d.attrs = raw & 0x1fff;
    } else {
      d.addr = raw & 0xfffff000ull;
      d.attrs = raw & 0xfff;
    }
    d.kind = (f.last || f.large_leaf) ? EntryKind::Leaf : EntryKind::Table;
    return d;
  }

  const uint64_t reserved_pa = raw & kAddrField64 & ~pmask;  // bits 51:MAXPHYADDR
  if (f.large_leaf) {
    const uint64_t low = uint64_t{1} << l.shift;
    d.addr = raw & pmask & ~(low - 1);
    // Bits shift-1:13 of a large leaf are reserved; bit 12 is PAT.
    const uint64_t reserved_low = raw & (low - 1) & ~0x1fffull;
    d.attrs = raw & ~(kAddrField64 & ~0x1000ull);
    d.kind = (reserved_pa || reserved_low) ? EntryKind::Reserved : EntryKind::Leaf;
    d.reserved = reserved_pa | reserved_low;
    return d;
  }
  d.addr = raw & pmask & ~0xfffull;
  d.attrs = raw & ~kAddrField64;
  d.kind = reserved_pa ? EntryKind::Reserved : (f.last ? EntryKind::Leaf : EntryKind::Table);
  d.reserved = reserved_pa;
  return d;
}

HotDecoder::HotDecoder(const PagingMode& mode, const DecodeOptions& opt) {
  if (mode.entry_bytes != 8) return;  // every level declines: 32-bit entries go to decode()
  const uint64_t pmask = pa_mask(effective_pa_bits(mode, opt));
  const uint64_t reserved_pa = kAddrField64 & ~pmask;  // bits 51:MAXPHYADDR
  nx_ = nx_in_use(mode, opt) ? uint64_t{1} << kNX : 0;
  for (unsigned i = 0; i < mode.level_count(); ++i) {
    const LevelDesc& l = mode.levels[i];
    Level& h = levels_[i];
    h.last = i + 1 == mode.level_count();
    h.reserved = reserved_pa;
    h.addr = pmask & ~0xfffull;
    h.attrs = ~kAddrField64;
    const bool pae_pdpte = (mode.arch_traits & kPaeRoot) && i == 0;
    for (unsigned bits = 0; bits < 8; ++bits)
      h.access[bits] = access_of(pae_pdpte || (bits & 1), pae_pdpte || (bits & 2), !(bits & 4)).bits();
    if (h.last) continue;
    h.ps = uint64_t{1} << kPS;
    if (l.can_be_leaf) {
      const uint64_t low = uint64_t{1} << l.shift;
      h.reserved_large = reserved_pa | ((low - 1) & ~0x1fffull);  // bit 12 is PAT
      h.addr_large = pmask & ~(low - 1);
      h.attrs_large = ~(kAddrField64 & ~0x1000ull);
    }
  }
}

unsigned pkey(const PagingMode& mode, uint64_t raw) {
  return ((mode.arch_traits & kLongMode) && bit(raw, kP)) ? static_cast<unsigned>((raw >> kPkey0) & 0xf) : 0;
}

FlagNames flag_names(const PagingMode& mode, unsigned level, uint64_t raw, const DecodeOptions& opt) {
  FlagNames out;
  if (raw == 0) return out;
  const LevelFacts f = facts(mode, level, raw, opt);
  const bool wide = mode.entry_bytes == 8;
  auto add = [&](bool on, std::string_view name) { out.add(on, name); };
  const bool present = bit(raw, kP);
  const bool leaf = present && (f.last || f.large_leaf);
  const bool protnone = !present && f.linux_leafish && bit(raw, kProtNone);
  const bool swap = !present && f.linux_leafish && !protnone;

  if (swap) {
    add(true, "SWAP");
    if (wide) {
      // _PAGE_SWP_SOFT_DIRTY, _PAGE_SWP_UFFD_WP, _PAGE_SWP_EXCLUSIVE (pgtable_64.h)
      add(bit(raw, kRW), "SWP_SOFT_DIRTY");
      add(bit(raw, kUS), "SWP_UFFD_WP");
      add(bit(raw, kPWT), "SWP_EXCLUSIVE");
    }
    return out;
  }
  add(present, "P");
  add(protnone, "PROTNONE");
  if (!present && !protnone) {
    add(true, "NOT_PRESENT");
    return out;
  }
  add(bit(raw, kRW), "RW");
  add(bit(raw, kUS), "US");
  add(bit(raw, kPWT), "PWT");
  add(bit(raw, kPCD), "PCD");
  add(bit(raw, kA), "A");
  const bool leafish = leaf || protnone;
  if (leafish) add(bit(raw, kD), "D");
  if (!f.last) add(bit(raw, kPS), "PS");
  if (leafish) {
    add(f.last ? bit(raw, kPat4K) : (bit(raw, kPS) && bit(raw, kPatLarge)), "PAT");
    add(present && bit(raw, kG), "G");
    if (wide) {
      add(bit(raw, kSoftw1), "SPECIAL");
      add(bit(raw, kSoftw2), "UFFD_WP");
      add(bit(raw, kSoftw3), "SOFT_DIRTY");
      if (mode.arch_traits & kLongMode) add(bit(raw, kSoftw5), "SAVED_DIRTY");
    }
    static constexpr std::string_view kPkeys[] = {"",       "PKEY=1",  "PKEY=2",  "PKEY=3",  "PKEY=4", "PKEY=5",
                                                  "PKEY=6", "PKEY=7",  "PKEY=8",  "PKEY=9",  "PKEY=10", "PKEY=11",
                                                  "PKEY=12", "PKEY=13", "PKEY=14", "PKEY=15"};
    if (const unsigned k = pkey(mode, raw)) add(true, kPkeys[k]);
  }
  add(nx_in_use(mode, opt) && bit(raw, kNX), "NX");
  return out;
}

uint64_t encode_swap(const PagingMode& mode, unsigned type, uint64_t offset) {
  if (mode.entry_bytes == 4) return (uint64_t{type & 0x1f} << 1) | (offset << 9);
  return (uint64_t{type} << 59) | ((~offset << 14) >> 5 & ((uint64_t{1} << 59) - (uint64_t{1} << 9)));
}

uint64_t encode_protnone(const PagingMode& mode, uint64_t frame, uint64_t flags) {
  const uint64_t base = (flags & ~uint64_t{1}) | (uint64_t{1} << kProtNone);
  if (mode.entry_bytes == 4) return base | (frame & 0xfffff000ull);
  return base | (~frame & kAddrField64);
}

}  // namespace pagewalk::x86
