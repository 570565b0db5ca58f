// Commands that need Linux knowledge of the target: layout, kconv, ps.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/output_format.hpp"
#include "cli/target.hpp"

namespace pagewalk::cli {

struct LinuxCommandArgs {
  TargetOptions target;
  OutputFormat f;
  std::string addr;                       // layout ADDR
  std::vector<std::string> virt, phys, pfn, page;  // kconv: addresses of one kind
  std::string size = "1";  // kconv: bytes from each start, one row per page touched
  std::vector<std::string> pids;  // ps: only these processes (a PID or a thread group's id)
};

// Registers layout, kconv and ps; returns a function that runs whichever was chosen (or -1).
struct LinuxCommands {
  CLI::App* layout = nullptr;
  CLI::App* kconv = nullptr;
  CLI::App* ps = nullptr;
  LinuxCommandArgs layout_args, kconv_args, ps_args;

  void add_to(CLI::App& app);
  // The exit status of the chosen command, or -1 when none of these was chosen.
  int run_chosen();
};

}  // namespace pagewalk::cli
