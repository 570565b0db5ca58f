#include "linux/reverse_map.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_set>

#include <fmt/format.h>

namespace pagewalk::linux_kernel {
namespace {

// The asked addresses sorted, each with its place in the caller's list.
struct SortedQueries {
  std::vector<uint64_t> pa;
  std::vector<size_t> index;
  explicit SortedQueries(std::span<const PhysAddr> pas) {
    std::vector<size_t> order(pas.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pas[a] < pas[b]; });
    for (size_t i : order) pa.push_back(pas[i].value()), index.push_back(i);
  }
};

}  // namespace

ReverseMapResult reverse_map(LinuxKernel& kernel, const std::vector<Task>& tasks, std::span<const PhysAddr> pas,
                             const ReverseMapOptions& o) {
  ReverseMapResult out;
  const SortedQueries q(pas);
  const PagingMode& mode = *kernel.paging.mode;
  TableReader& reader = kernel.reader();
  const uint64_t max_entries = o.max_entries ? o.max_entries : default_max_entries(kernel.phys());
  // User space is the first region when the mode has more than one (x86-64's lower half);
  // otherwise a process's walk covers the whole space and the kernel pass is left out.
  const bool split = mode.regions.size() > 1;
  const uint64_t user_last = split ? mode.regions.front().last : ~uint64_t{0};

  auto walk = [&](const RootSet& roots, uint64_t first, uint64_t last, std::optional<int32_t> pid,
                  const std::string& comm) {
    EnumOptions eo;
    eo.first = VirtAddr(first);
    eo.last = VirtAddr(last);
    eo.max_entries = max_entries;
    const EnumReport rep = enumerate(kernel.paging, reader, roots, eo, [&](const Range& r) {
      if (r.kind != RangeKind::Mapped) return true;
      ++out.leaves;
      const uint64_t base = r.pa.value();
      // Every asked address inside [base, base + size) of this leaf.
      for (auto it = std::lower_bound(q.pa.begin(), q.pa.end(), base); it != q.pa.end() && *it - base < r.size; ++it) {
        FrameMapper m;
        m.query = q.index[static_cast<size_t>(it - q.pa.begin())];
        m.pid = pid;
        m.comm = comm;
        m.va = r.start + (*it - base);
        m.page_size = r.size;
        m.level = r.level;
        m.region = r.region;
        m.raw = r.raw;
        m.access = r.access;
        out.mappers.push_back(std::move(m));
      }
      return true;
    });
    ++out.address_spaces;
    const std::string who = pid ? fmt::format("pid {}", *pid) : std::string("the kernel");
    if (rep.truncated) out.warnings.push_back(fmt::format("{}: stopped after {} entries", who, rep.entries));
    for (PhysAddr t : rep.unreadable) out.warnings.push_back(fmt::format("{}: table at PA 0x{:x} unreadable", who, t.value()));
    if (!rep.loops.empty()) out.warnings.push_back(fmt::format("{}: {} looping entries skipped", who, rep.loops.size()));
  };

  std::vector<const Task*> spaces;
  std::unordered_set<uint64_t> seen_pgd;
  for (const Task& t : tasks) {
    if (!t.mm || (o.pid && t.pid != *o.pid && t.tgid != *o.pid)) continue;
    if (!t.pgd) {
      out.warnings.push_back(fmt::format("pid {}: mm->pgd 0x{:x} is not mapped", t.pid, t.pgd_va));
      continue;
    }
    if (seen_pgd.insert(t.pgd->value()).second) spaces.push_back(&t);
  }
  const bool kernel_pass = o.kernel && !o.pid && split;
  const size_t total = spaces.size() + (kernel_pass ? 1 : 0);
  size_t done = 0;
  if (kernel_pass) {
    walk(RootSet(kernel.kernel_pgd), user_last + 1, ~uint64_t{0}, std::nullopt, "");
    if (o.progress) o.progress(++done, total);
  }
  for (const Task* t : spaces) {
    walk(RootSet(*t->pgd), 0, user_last, t->pid, t->comm);
    if (o.progress) o.progress(++done, total);
  }
  std::stable_sort(out.mappers.begin(), out.mappers.end(), [](const FrameMapper& a, const FrameMapper& b) {
    if (a.query != b.query) return a.query < b.query;
    if (a.pid.has_value() != b.pid.has_value()) return !a.pid.has_value();
    if (a.pid != b.pid) return *a.pid < *b.pid;
    return a.va < b.va;
  });
  return out;
}

}  // namespace pagewalk::linux_kernel
