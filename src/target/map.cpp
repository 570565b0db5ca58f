#include "target/map.hpp"

#include <algorithm>

namespace pagewalk::target {

tl::expected<void, Error> check_map(const Target& t, const MapOptions& o) {
  if (o.with_kernel && !t.task)
    return tl::unexpected(Error{Error::Kind::BadInput, "map --with-kernel is for a process of an image: give --pid P", {}});
  return {};
}

// A process's map is its own half of the space (the mode's first region) unless asked:
// the kernel's half is the same in every process, and much larger.
bool map_user_half(const Target& t, const MapOptions& o) {
  return t.task && !o.from && !o.to && !o.with_kernel && t.paging.mode->regions.size() > 1;
}

tl::expected<MapReport, Error> map_target(const Target& t, TableReader& reader, const MapOptions& o,
                                          const MapSink& sink, const ViewStart& on_view,
                                          const std::function<void(const std::string&)>& on_problem) {
  if (auto ok = check_map(t, o); !ok) return tl::unexpected(ok.error());
  MapReport rep;
  EnumOptions eo;
  eo.first = VirtAddr(o.from.value_or(0));
  if (o.to) eo.last = VirtAddr(*o.to - 1);
  rep.user_half = map_user_half(t, o);
  if (rep.user_half) eo.last = VirtAddr(t.paging.mode->regions.front().last);
  eo.max_entries = o.max_entries ? o.max_entries : default_max_entries(t.memory());
  rep.max_entries = eo.max_entries;
  // Each row of a process's map names the VMA it starts in, from the kernel's own list.
  std::vector<linux_kernel::Vma> vmas;
  if (t.task) {
    auto list = linux_kernel::list_vmas(*t.kernel, *t.task_layout, *t.task);
    if (list) vmas = std::move(list->vmas);
    else rep.vma_problem = list.error();
    if (rep.vma_problem && on_problem) on_problem(*rep.vma_problem);
  }
  // The first VMA that starts above va; the one before it holds va if it reaches it.
  auto vma_after = [&](uint64_t va) {
    return std::upper_bound(vmas.begin(), vmas.end(), va, [](uint64_t v, const linux_kernel::Vma& m) { return v < m.start; });
  };
  auto vma_at = [&](uint64_t va) -> const linux_kernel::Vma* {
    const auto it = vma_after(va);
    return it != vmas.begin() && va < std::prev(it)->end ? &*std::prev(it) : nullptr;
  };
  MapRow row;
  auto emit = [&](const Range& r) {
    if (r.kind == RangeKind::Mapped) rep.mapped_bytes += r.size;
    if (!o.holes && r.kind != RangeKind::Mapped && r.kind != RangeKind::Loop) return true;
    ++rep.rows;
    row.range = r;
    row.vma = vmas.empty() ? nullptr : vma_at(r.start.value());
    return sink(row);
  };
  // A run of leaves that crosses into the next VMA is two rows, one per VMA (a run merged
  // by attributes has no single PA to cut at, and stays whole).
  auto emit_by_vma = [&](const Range& r) {
    if (vmas.empty() || r.kind != RangeKind::Mapped || o.by_attributes) return emit(r);
    Range piece = r;
    const uint64_t page = r.page_size(*t.paging.mode);
    while (true) {
      const auto* m = vma_at(piece.start.value());
      const auto next = vma_after(piece.start.value());
      const uint64_t cut = m ? m->end : next != vmas.end() ? next->start : 0;
      const uint64_t piece_end = piece.start.value() + piece.size;  // 0 at the top of the space
      if (!cut || cut <= piece.start.value() || (piece_end && cut >= piece_end) || (cut - piece.start.value()) % page)
        return emit(piece);
      Range head = piece;
      head.size = cut - piece.start.value();
      head.pages = head.size / page;
      if (!emit(head)) return false;
      piece.start = VirtAddr(cut);
      piece.pa = piece.pa + head.size;
      piece.size -= head.size;
      piece.pages -= head.pages;
    }
  };
  CoalescePolicy policy = CoalescePolicy::for_mode(*t.paging.mode);
  policy.keep_holes = true;
  policy.contiguous_pa = !o.by_attributes;
  Coalescer coalescer(policy, emit_by_vma);
  for (const RootView& v : t.views) {
    row.view = &v;
    if (on_view) on_view(v);
    EnumOptions view_eo = eo;
    view_eo.first = VirtAddr(std::max(eo.first.value(), v.first_va));
    if (view_eo.first > view_eo.last) continue;
    const EnumReport r = enumerate(t.paging, reader, v.roots, view_eo, [&](const Range& rg) {
      return o.pages ? emit(rg) : coalescer.push(rg);
    });
    if (!o.pages) coalescer.finish();
    rep.totals.entries += r.entries;
    rep.totals.tables += r.tables;
    rep.totals.truncated = rep.totals.truncated || r.truncated;
    rep.totals.stopped = rep.totals.stopped || r.stopped;
    rep.totals.loops.insert(rep.totals.loops.end(), r.loops.begin(), r.loops.end());
    rep.totals.unreadable.insert(rep.totals.unreadable.end(), r.unreadable.begin(), r.unreadable.end());
    if (r.stopped) break;
  }
  return rep;
}

}  // namespace pagewalk::target
