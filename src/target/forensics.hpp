// What the forensic commands ask of a kernel, for every client: the task list with a pid
// checked against it, every process's VMAs, and the mappers of search hits. `pagewalk maps`,
// `ptov` and `search` and the Python module's maps(), ptov() and search() render these.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/search.hpp"
#include "linux/reverse_map.hpp"
#include "linux/struct_page.hpp"
#include "linux/tasks.hpp"
#include "linux/vmas.hpp"
#include "target/target.hpp"

namespace pagewalk::target {

// The kernel's task list; `only` must be in it (BadInput otherwise). The list's own
// warnings (a loop, a bad pointer) stay in it.
[[nodiscard]] tl::expected<linux_kernel::TaskList, Error> task_list(linux_kernel::LinuxKernel& kernel,
                                                                    const linux_kernel::TaskLayout& layout,
                                                                    std::optional<int32_t> only);

struct ProcessVmas {
  const linux_kernel::Task* task = nullptr;
  linux_kernel::VmaList list;
};

struct MapsResult {
  std::vector<ProcessVmas> processes;  // in task-list order
  std::vector<std::string> warnings;   // "pid N: ..." for a list that did not read, or read in part
};

// The VMAs of `only`, or of every process with an address space. A process whose list does
// not read is a warning, or the error when it is `only`.
[[nodiscard]] tl::expected<MapsResult, Error> process_maps(linux_kernel::LinuxKernel& kernel,
                                                           const linux_kernel::TaskLayout& layout,
                                                           const linux_kernel::TaskList& tasks,
                                                           std::optional<int32_t> only);

// The mappers of search hits. With options.pid only the hits that process maps stay in
// `hits`, and the mappers' query numbers follow them.
[[nodiscard]] linux_kernel::ReverseMapResult hit_mappers(linux_kernel::LinuxKernel& kernel,
                                                         const std::vector<linux_kernel::Task>& tasks,
                                                         std::vector<PhysAddr>& hits,
                                                         const linux_kernel::ReverseMapOptions& options);

// Whether the image has the frame (below max_pfn, when the kernel says it).
[[nodiscard]] tl::expected<void, Error> check_frame(const linux_kernel::LinuxKernel& kernel, Pfn pfn);

// A frame's struct page: BadInput above the image's frames (max_pfn), Target when it does
// not read.
[[nodiscard]] tl::expected<linux_kernel::PageInfo, Error> page_of(linux_kernel::LinuxKernel& kernel,
                                                                 const linux_kernel::TaskLayout& layout, Pfn pfn);

// The longest pattern search takes, in bytes.
inline constexpr size_t kMaxSearchPattern = 4096;

// A search's pattern checked: not empty, at most kMaxSearchPattern bytes.
[[nodiscard]] tl::expected<void, Error> check_search_pattern(std::span<const std::byte> pattern);

}  // namespace pagewalk::target
