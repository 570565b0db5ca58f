// The embedded default: a synthetic machine laid out like the articles' scenario, built in
// memory and walked end to end. No root, no files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/walk.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk::cli {

struct DemoAddress {
  VirtAddr va;
  std::string what;
};

struct DemoSpace {
  std::string name;
  PhysAddr root;
  std::vector<DemoAddress> addresses;
};

struct DemoMachine {
  SyntheticMemory memory;
  std::vector<DemoSpace> spaces;
};

// Builds the machine: the QEMU guest process of the last article (pid 214, its heap holding
// "Hello mm paging!"), the process of the first article, and a kernel address space.
[[nodiscard]] std::unique_ptr<DemoMachine> build_demo_machine();

int run_demo(bool json);

}  // namespace pagewalk::cli
