#include "target/kconv.hpp"

#include <fmt/format.h>

#include "arch/registry.hpp"
#include "core/walk.hpp"
#include "linux/linux_arch.hpp"
#include "linux/layout.hpp"
#include "target/describe.hpp"

namespace pagewalk::target {
namespace {

using linux_kernel::LinuxKernel;
using linux_kernel::RegionKind;

Error bad(std::string message) { return Error{Error::Kind::BadInput, std::move(message), {}}; }

tl::expected<KconvRow, Error> kconv_row(LinuxKernel& k, const std::vector<linux_kernel::Region>& regions,
                                        bool physical, uint64_t at) {
  KconvRow row;
  if (physical) {
    row.phys = at;
    auto v = k.phys_to_virt(PhysAddr(at));
    if (!v) return tl::unexpected(Error{Error::Kind::Target, v.error(), {}});
    row.virt = v->value();
    row.rule = fmt::format("__va: + {}", k.arch->direct_map_base_name());
  } else {
    row.virt = at;
  }
  const auto& region = linux_kernel::classify(regions, row.virt);
  row.region = linux_kernel::region_id(region.kind);
  const Translation tr = walk(k.paging, k.reader(), k.kernel_pgd, VirtAddr(row.virt));
  if (tr.mapped()) row.walk_pa = tr.pa.value();
  if (!physical) {
    if (region.kind == RegionKind::DirectMap || region.kind == RegionKind::KernelText) {
      // The image's own rule (__pa_symbol) says how it is written on this architecture.
      std::string how;
      auto p = region.kind == RegionKind::KernelText ? k.arch->image_to_phys(k, VirtAddr(row.virt), how)
                                                     : k.virt_to_phys(VirtAddr(row.virt));
      if (p) row.phys = p->value();
      else row.problem = p.error();
      row.rule = region.kind == RegionKind::KernelText ? "__pa_symbol: " + how
                                                       : fmt::format("__pa: - {}", k.arch->direct_map_base_name());
    } else {
      // vmalloc, modules, fixmap...: no linear rule; the tables are the only answer (what
      // vmalloc_to_page does).
      row.phys = row.walk_pa;
      row.rule = "page tables (no linear rule here)";
    }
  }
  if (row.phys) {
    row.pfn = *row.phys >> k.paging.mode->page_shift();
    auto pg = k.pfn_to_page(Pfn(*row.pfn));
    if (pg) row.page = pg->value();
    else if (row.problem.empty()) row.problem = pg.error();
  }
  row.disagree = row.phys && row.walk_pa && *row.phys != *row.walk_pa;
  if (!row.walk_pa && row.problem.empty())
    row.problem = fmt::format("the kernel's tables do not map 0x{:x} ({})", row.virt, translation_reason(k.paging, tr));
  return row;
}

}  // namespace

tl::expected<LayoutView, Error> layout_view(const LinuxKernel* k, std::string_view source_name, const PagingMode* mode) {
  LayoutView v;
  if (k) {
    v.mode = k->paging.mode;
    v.source = fmt::format("{}: Linux {}", source_name, k->release.empty() ? "(release unknown)" : k->release);
  } else {
    v.mode = mode ? mode : arch::all_modes().front();
    if (!linux_kernel::has_linux_rules(v.mode))
      return tl::unexpected(bad(fmt::format("layout: pagewalk has no Linux layout for {} yet", v.mode->name)));
    v.source = fmt::format("no image: the fixed layout of {}", linux_kernel::linux_arch_for(v.mode).layout_document());
  }
  auto l = k ? k->layout() : linux_kernel::linux_arch_for(v.mode).layout(nullptr, *v.mode);
  if (!l) return tl::unexpected(bad(fmt::format("layout: {}", l.error())));
  v.regions = std::move(*l);
  return v;
}

tl::expected<KconvStart, Error> kconv_pfn(const LinuxKernel& k, uint64_t pfn) {
  const unsigned shift = k.paging.mode->page_shift();
  if (pfn >> (64 - shift))
    return tl::unexpected(bad(fmt::format("--pfn 0x{:x}: above the largest frame number (0x{:x})", pfn, ~uint64_t{0} >> shift)));
  return KconvStart{true, pfn << shift};
}

tl::expected<KconvStart, Error> kconv_page(const LinuxKernel& k, uint64_t page) {
  auto pfn = k.page_to_pfn(VirtAddr(page));
  if (!pfn) return tl::unexpected(bad(pfn.error()));
  return KconvStart{true, pfn->value() << k.paging.mode->page_shift()};
}

tl::expected<std::vector<KconvRow>, Error> kconv(LinuxKernel& k, std::span<const KconvStart> starts, uint64_t size) {
  if (size == 0 || size > (uint64_t{1} << 30)) return tl::unexpected(bad("--size must be 1 byte .. 1 GiB"));
  auto regions = k.layout();
  if (!regions) return tl::unexpected(bad(fmt::format("layout: {}", regions.error())));
  std::vector<KconvRow> rows;
  for (const auto& [physical, start] : starts) {
    if (start + (size - 1) < start)
      return tl::unexpected(bad(fmt::format("0x{:x} + {} bytes runs past the end of the address space", start, size)));
    const unsigned shift = k.paging.mode->page_shift();
    const uint64_t pages = ((start + size - 1) >> shift) - (start >> shift) + 1;
    for (uint64_t i = 0; i < pages; ++i) {
      auto row = kconv_row(k, *regions, physical, i == 0 ? start : ((start >> shift) + i) << shift);
      if (!row) return tl::unexpected(row.error());
      rows.push_back(std::move(*row));
    }
  }
  return rows;
}

}  // namespace pagewalk::target
