// Translations in words, for every client: why an address is not mapped (the `reason` the
// CLI prints and the Python module returns), and the per-level trace `pagewalk translate`
// prints and a Python Translation's str() is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/enumerate.hpp"
#include "core/phys_memory.hpp"
#include "core/walk.hpp"

namespace pagewalk::target {

// Why `t` is not mapped ("" when it is). `unreadable_why` is the source's own words for a
// table it could not read (read_failure); empty: "the source has no such bytes".
[[nodiscard]] std::string translation_reason(const Paging& paging, const Translation& t,
                                             std::string_view unreadable_why = {});

// What the source adds to a translation's words.
struct SourceNotes {
  // Whether the source holds the frame a mapped address lands in (an image may leave frames
  // out: kdump's filtered pages, RAM a dump never saw); said when it does not.
  bool frame_held = true;
  // Why a table entry could not be read, in the source's words (read_failure).
  std::string unreadable_why;

  // Asks the source only when there is something to say (no strings on the mapped path).
  static SourceNotes of(PhysMemory& memory, const RangeSet& held, const Translation& t) {
    SourceNotes n;
    if (t.mapped()) n.frame_held = held.contains(t.pa);
    if (t.status == Status::Unreadable) n.unreadable_why = read_failure(memory, t.unreadable);
    return n;
  }
};

// The full per-level trace of one translation: the answer, then each level's table, index,
// entry address, entry and flags, then the page and offset, and the architecture's notes.
void append_translation_trace(std::string& out, const Paging& paging, const Translation& t,
                              const SourceNotes& notes = {});

}  // namespace pagewalk::target
