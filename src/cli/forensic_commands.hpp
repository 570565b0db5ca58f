// Commands about the bytes behind the addresses and what owns them: read (memory at a VA or
// PA), search (bytes in physical memory, with every VA that maps each hit), maps (a
// process's VMAs), page (a frame's struct page) and modules (the loaded modules).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/output_format.hpp"
#include "cli/target.hpp"

namespace pagewalk::cli {

struct ReadArgs {
  std::string addr;
  std::string length;  // bytes; default 64, or 4096 at most for --string
  bool phys = false;
  unsigned words = 0;  // 1, 2, 4 or 8: words instead of a hexdump
  bool string = false;
  std::string raw;     // write the bytes to this new file ("-": stdout)
  TargetOptions target;
  OutputFormat f;
};

struct SearchArgs {
  std::string text;       // the bytes of a string (C escapes \n \t \\ \xNN understood)
  std::string hex;        // "48 65 6c 6c 6f" or "48656c6c6f"
  std::string u64, u32;   // a little-endian value (an address or a kernel symbol)
  std::string pid;        // only hits this process maps
  uint64_t max_hits = 1000;
  bool no_vas = false;    // physical addresses only: no reverse map
  TargetOptions target;
  OutputFormat f;
};

struct MapsArgs {
  std::string pid;  // one process; default: every process with an mm
  TargetOptions target;
  OutputFormat f;
};

struct ModulesArgs {
  bool symbols = false;  // each module's symbols, as /proc/kallsyms lists them
  TargetOptions target;
  OutputFormat f;
};

struct PageArgs {
  std::vector<std::string> pfn, phys, page;  // frames, by number, by a PA in them, by struct page address
  TargetOptions target;
  OutputFormat f;
};

// ptov on an image, guest or kcore: every (pid, VA) and kernel VA whose tables map each
// PA (one, --pfn N, or many from stdin with -), from one pass over every address space.
struct PtovArgs;
int image_ptov(const PtovArgs& a);

struct ForensicCommands {
  CLI::App* read = nullptr;
  CLI::App* search = nullptr;
  CLI::App* maps = nullptr;
  CLI::App* page = nullptr;
  CLI::App* modules = nullptr;
  ReadArgs read_args;
  ModulesArgs modules_args;
  PageArgs page_args;
  MapsArgs maps_args;
  SearchArgs search_args;

  void add_to(CLI::App& app);
  // The exit status of the chosen command, or -1 when none of these was chosen.
  int run_chosen();
};

}  // namespace pagewalk::cli
