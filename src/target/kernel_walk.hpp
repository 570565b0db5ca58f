// The kernel's own walk of an address (the pagewalk module's, with pgd_offset ..
// pte_offset_map_lock), shown in pagewalk's terms and set beside pagewalk's walk of the
// same tables: a disagreement is a bug in one of them, or the tables changing between the
// two reads.
#pragma once

#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "core/walk.hpp"
#include "sources/kmod.hpp"
#include "target/target.hpp"

namespace pagewalk::target {

struct KernelWalk {
  KmodWalk kernel;
  // The entries the kernel read, decoded by pagewalk's rules for the target's mode (the
  // trace that translate prints for --kmod-walk).
  Translation decoded;
  // Where the kernel's helpers and pagewalk's decoding of the same entries disagree (the
  // frame, the page size, present or not).
  std::vector<std::string> decode_differences;
};

// The kernel's walk of `va` in the target's process (--pid) or in the kernel's tables; the
// target must be a --kmod one.
[[nodiscard]] tl::expected<KernelWalk, Error> kernel_walk(const Target& t, VirtAddr va);

// What differs between pagewalk's walk and the kernel's: each level's entry address and
// value, and the answer (mapped or not, the physical address, the page size).
[[nodiscard]] std::vector<std::string> compare_walks(const Paging& paging, const Translation& ours,
                                                     const KmodWalk& kernel);
// Only the answer: present or not, the physical address, the page size.
[[nodiscard]] std::vector<std::string> compare_answers(const Translation& ours, const KmodWalk& kernel);

}  // namespace pagewalk::target
