// Commands on live processes through /proc (src/live): translate and map with --pid, and
// the machine-wide reverse map, ptov.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/numbers.hpp"
#include "cli/output_format.hpp"
#include "cli/target.hpp"

namespace pagewalk::cli {

// translate --pid P VA... (or -): pagemap, the mapping, kpageflags/kpagecount.
int live_translate(const std::vector<std::string>& vas, const TargetOptions& target, const OutputFormat& f);

// map --pid P: every mapping with its physical runs and page counts, cut to the window.
int live_map(const TargetOptions& target, const OutputFormat& f, VaWindow window = {});

struct PtovArgs {
  std::string pa, pfn, pid;
  bool all = false;
  OutputFormat format;
  TargetOptions target;  // an image, guest or kcore: its page tables instead of /proc (forensic_commands)
};
void add_ptov_options(CLI::App& app, PtovArgs& a);
// ptov PA | --pfn N: every (pid, VA) that maps the frame.
int cmd_ptov(const PtovArgs& a);

}  // namespace pagewalk::cli
