#include "target/forensics.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace pagewalk::target {

tl::expected<linux_kernel::TaskList, Error> task_list(linux_kernel::LinuxKernel& k,
                                                      const linux_kernel::TaskLayout& layout,
                                                      std::optional<int32_t> only) {
  linux_kernel::TaskList tasks = linux_kernel::list_tasks(k, layout);
  if (only && std::none_of(tasks.tasks.begin(), tasks.tasks.end(), [&](const auto& t) { return t.pid == *only; }))
    return tl::unexpected(
        Error{Error::Kind::BadInput, fmt::format("--pid {}: no such process in the kernel's task list", *only), {}});
  return tasks;
}

tl::expected<MapsResult, Error> process_maps(linux_kernel::LinuxKernel& k, const linux_kernel::TaskLayout& layout,
                                             const linux_kernel::TaskList& tasks, std::optional<int32_t> only) {
  MapsResult r;
  for (const linux_kernel::Task& t : tasks.tasks) {
    if (only ? (t.pid != *only) : !t.mm) continue;
    auto list = linux_kernel::list_vmas(k, layout, t);
    if (!list) {
      if (only) return tl::unexpected(Error{Error::Kind::BadInput, list.error(), {}});
      r.warnings.push_back(fmt::format("pid {}: {}", t.pid, list.error()));
      continue;
    }
    for (const std::string& w : list->warnings) r.warnings.push_back(fmt::format("pid {}: {}", t.pid, w));
    r.processes.push_back({&t, std::move(*list)});
  }
  return r;
}

linux_kernel::ReverseMapResult hit_mappers(linux_kernel::LinuxKernel& k, const std::vector<linux_kernel::Task>& tasks,
                                           std::vector<PhysAddr>& hits, const linux_kernel::ReverseMapOptions& o) {
  linux_kernel::ReverseMapResult r = linux_kernel::reverse_map(k, tasks, hits, o);
  if (o.pid) {  // only the hits the process maps, numbered anew
    std::vector<PhysAddr> kept;
    std::vector<size_t> renumber(hits.size(), SIZE_MAX);
    for (auto& m : r.mappers)
      if (renumber[m.query] == SIZE_MAX) renumber[m.query] = kept.size(), kept.push_back(hits[m.query]);
    for (auto& m : r.mappers) m.query = renumber[m.query];
    hits = std::move(kept);
  }
  return r;
}

tl::expected<void, Error> check_frame(const linux_kernel::LinuxKernel& k, Pfn pfn) {
  if (k.max_pfn && pfn.value() >= k.max_pfn)
    return tl::unexpected(Error{Error::Kind::BadInput,
                                fmt::format("PFN 0x{:x} is above the image's frames (max_pfn 0x{:x})", pfn.value(), k.max_pfn),
                                {}});
  return {};
}

tl::expected<linux_kernel::PageInfo, Error> page_of(linux_kernel::LinuxKernel& k, const linux_kernel::TaskLayout& layout,
                                                   Pfn pfn) {
  if (auto ok = check_frame(k, pfn); !ok) return tl::unexpected(ok.error());
  auto p = linux_kernel::read_page(k, layout, pfn);
  if (!p) return tl::unexpected(Error{Error::Kind::Target, fmt::format("PFN 0x{:x}: {}", pfn.value(), p.error()), {}});
  return std::move(*p);
}

tl::expected<void, Error> check_search_pattern(std::span<const std::byte> pattern) {
  if (pattern.empty()) return tl::unexpected(Error{Error::Kind::BadInput, "search: the pattern is empty", {}});
  if (pattern.size() > kMaxSearchPattern)
    return tl::unexpected(
        Error{Error::Kind::BadInput, fmt::format("search: patterns end at {} bytes", kMaxSearchPattern), {}});
  return {};
}

}  // namespace pagewalk::target
