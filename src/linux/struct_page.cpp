#include "linux/struct_page.hpp"

#include <algorithm>
#include <array>
#include <bit>

#include <fmt/format.h>

#include "linux/paths.hpp"

namespace pagewalk::linux_kernel {
namespace {

// page->mapping's low bits (include/linux/page-flags.h): PAGE_MAPPING_ANON 1, MOVABLE 2,
// both for KSM.
constexpr uint64_t kMappingAnon = 1, kMappingMovable = 2, kMappingFlags = 3;
// page_type, which overlays _mapcount (6.1): PAGE_TYPE_BASE 0xf0000000 with the type's bit
// clear when the page is of that type.
constexpr uint32_t kPageTypeBase = 0xf0000000, kPgBuddy = 0x80, kPgOffline = 0x100, kPgTable = 0x200;

// The kpageflags names copied from page->flags as stable_page_flags copies them, with the
// kernel's flag each comes from.
constexpr std::array<std::pair<const char*, const char*>, 20> kCopiedBits = {{
    {"LOCKED", "locked"},         {"SLAB", "slab"},           {"ERROR", "error"},
    {"DIRTY", "dirty"},           {"UPTODATE", "uptodate"},   {"WRITEBACK", "writeback"},
    {"LRU", "lru"},               {"REFERENCED", "referenced"}, {"ACTIVE", "active"},
    {"RECLAIM", "reclaim"},       {"SWAPBACKED", "swapbacked"}, {"UNEVICTABLE", "unevictable"},
    {"MLOCKED", "mlocked"},       {"HWPOISON", "hwpoison"},   {"RESERVED", "reserved"},
    {"MAPPEDTODISK", "mappedtodisk"}, {"PRIVATE", "private"}, {"PRIVATE_2", "private_2"},
    {"OWNER_PRIVATE", "owner_priv_1"}, {"ARCH", "arch_1"},
}};

}  // namespace

tl::expected<PageInfo, std::string> read_page(LinuxKernel& k, const TaskLayout& l, Pfn pfn) {
  if (!l.page_flags || !l.page_refcount || !l.page_mapcount || !l.page_mapping || !l.page_index ||
      !l.page_compound_head)
    return tl::unexpected(std::string("the kernel's types lack struct page's flags/_refcount/_mapcount/mapping/index"));
  auto page = k.pfn_to_page(pfn);
  if (!page) return tl::unexpected(page.error());
  VirtualMemory& vm = k.memory();
  auto ulong = [&](uint64_t va) { return vm.word(VirtAddr(va)); };  // unsigned longs and pointers
  auto u32 = [&](uint64_t va) { return vm.value<uint32_t>(VirtAddr(va)); };
  PageInfo p;
  p.pfn = pfn;
  p.page = page->value();
  auto flags = ulong(p.page + *l.page_flags);
  auto ref = u32(p.page + *l.page_refcount), map = u32(p.page + *l.page_mapcount);
  auto mapping = ulong(p.page + *l.page_mapping), index = ulong(p.page + *l.page_index);
  auto compound = ulong(p.page + *l.page_compound_head);
  if (!flags || !ref || !map || !mapping || !index || !compound)
    return tl::unexpected(fmt::format("struct page 0x{:x} (PFN 0x{:x}) cannot be read: {}", p.page, pfn.value(),
                                      (!flags ? flags : ulong(p.page)).error().reason));
  p.flags = *flags;
  p.refcount = static_cast<int32_t>(*ref);
  p.mapcount = static_cast<int32_t>(*map);
  p.index = *index;
  if (l.page_private)
    if (auto priv = ulong(p.page + *l.page_private)) p.private_data = *priv;
  const auto& names = l.page_flag_names;
  auto bit_of = [&](std::string_view name) -> std::optional<unsigned> {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) return std::nullopt;
    return static_cast<unsigned>(it - names.begin());
  };
  auto has = [&](uint64_t word, std::string_view name) {
    auto b = bit_of(name);
    return b && (word >> *b & 1);
  };
  for (size_t b = 0; b < names.size(); ++b)
    if (!names[b].empty() && (p.flags >> b & 1)) p.flag_names.push_back(names[b]);

  // A tail page names its head in compound_head's bit 0 (include/linux/page-flags.h).
  uint64_t head_page = p.page, head_flags = p.flags, head_mapping = *mapping;
  if (*compound & 1) {
    p.head = *compound - 1;
    head_page = *p.head;
    auto hf = ulong(head_page + *l.page_flags), hm = ulong(head_page + *l.page_mapping);
    if (hf) head_flags = *hf;
    if (hm) head_mapping = *hm;
  } else {
    p.mapping = *mapping;
  }
  if (p.head) p.mapping = head_mapping;
  const bool is_head = has(p.flags, "head"), compound_page = is_head || p.head;
  if (compound_page && l.page_compound_order && k.struct_page_size)
    if (auto order = vm.value<uint8_t>(VirtAddr(head_page + k.struct_page_size + *l.page_compound_order)))
      p.order = *order;
  // The node and the zone at the top of page->flags (include/linux/page-flags-layout.h:
  // SECTIONS_WIDTH is 0 with SPARSEMEM_VMEMMAP, as on every x86-64 kernel, and with FLATMEM,
  // as on i386; NODES_SHIFT is log2(MAX_NUMNODES); ZONES_SHIFT covers MAX_NR_ZONES; flags is
  // an unsigned long).
  if (l.max_numnodes && !l.zone_names.empty()) {
    const unsigned bits = k.paging.mode->word_bits;
    const unsigned nodes_shift = static_cast<unsigned>(std::bit_width(l.max_numnodes - 1));
    const size_t zones = l.zone_names.size();
    const unsigned zones_shift = zones <= 1 ? 0 : zones <= 2 ? 1 : zones <= 4 ? 2 : 3;
    p.node = nodes_shift ? p.flags >> (bits - nodes_shift) : 0;
    const uint64_t zone = zones_shift ? (p.flags >> (bits - nodes_shift - zones_shift)) & ((1u << zones_shift) - 1) : 0;
    if (zone < zones) p.zone = l.zone_names[zone];
  }
  if (k.vmcoreinfo)
    if (auto bits = k.vmcoreinfo->number("SECTION_SIZE_BITS"); bits && *bits >= 12 && *bits < 64)
      p.section = pfn.value() >> (*bits - 12);
  switch (head_mapping & kMappingFlags) {
    case kMappingAnon: p.mapping_kind = "anon"; break;
    case kMappingAnon | kMappingMovable: p.mapping_kind = "ksm"; break;
    case kMappingMovable: p.mapping_kind = "movable"; break;
    default: p.mapping_kind = head_mapping ? "file" : "none"; break;
  }
  // A page cache page: its file (a slab's struct page holds its kmem_cache there instead).
  if (p.mapping_kind == "file" && !has(head_flags, "slab") && l.mapping_host) {
    auto host = ulong(head_mapping + *l.mapping_host);
    auto path = !host ? tl::unexpected(fmt::format("mapping->host at 0x{:x}: {}", head_mapping, host.error().reason))
                      : inode_path(vm, l, *host);
    p.file = path ? *path : fmt::format("(path unknown: {})", path.error());
  }

  // stable_page_flags (fs/proc/page.c, 6.1), for what it decides from the struct page.
  auto& kp = p.kpageflags;
  const uint32_t type = *map;
  const bool anon = (head_mapping & kMappingAnon) != 0;
  if (anon) kp.push_back("ANON");
  if ((head_mapping & kMappingFlags) == kMappingFlags) kp.push_back("KSM");
  if (is_head) kp.push_back("COMPOUND_HEAD");
  if (p.head) kp.push_back("COMPOUND_TAIL");
  // PageHuge: the head's first tail page names hugetlb's destructor (VMCOREINFO's
  // NUMBER(HUGETLB_PAGE_DTOR)); else a compound page anonymous or on the LRU is a THP.
  bool huge = false;
  if (compound_page && l.page_compound_dtor && k.struct_page_size && k.vmcoreinfo)
    if (auto dtor = k.vmcoreinfo->number("HUGETLB_PAGE_DTOR"))
      if (auto d = vm.value<uint8_t>(VirtAddr(head_page + k.struct_page_size + *l.page_compound_dtor)))
        huge = *d == *dtor;
  if (huge) kp.push_back("HUGE");
  else if (compound_page && (has(head_flags, "lru") || anon)) kp.push_back("THP");
  // page_mapped (6.1): a page's own _mapcount, or for a compound page the head's
  // compound_mapcount (kept in the first tail page) too.
  bool mapped = p.mapcount >= 0;
  if (!mapped && compound_page && l.page_compound_mapcount && k.struct_page_size)
    if (auto cm = vm.value<int32_t>(VirtAddr(head_page + k.struct_page_size + *l.page_compound_mapcount)))
      mapped = *cm >= 0;
  if (mapped) kp.push_back("MMAP");
  if (const auto zero = k.symbol("empty_zero_page"))
    if (auto zpa = vm.to_phys(VirtAddr(*zero)); zpa && zpa->value() >> 12 == pfn.value()) kp.push_back("ZERO_PAGE");
  if ((type & (kPageTypeBase | kPgBuddy)) == kPageTypeBase) kp.push_back("BUDDY");
  if ((type & (kPageTypeBase | kPgOffline)) == kPageTypeBase) kp.push_back("OFFLINE");
  if ((type & (kPageTypeBase | kPgTable)) == kPageTypeBase) kp.push_back("PGTABLE");
  if (has(p.flags, "swapcache") && has(head_flags, "swapbacked")) kp.push_back("SWAPCACHE");
  for (const auto& [kpf, pg] : kCopiedBits)
    if (has(p.flags, pg)) kp.push_back(kpf);
  return p;
}

}  // namespace pagewalk::linux_kernel
