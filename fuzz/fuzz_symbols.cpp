// Any bytes as a /proc/kallsyms text or a System.map, with and without a slide.
#include <cstdint>
#include <string_view>

#include "linux/symbols.hpp"

using namespace pagewalk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const uint64_t slide : {uint64_t{0}, uint64_t{0x1c000000}}) {
    auto t = linux_kernel::parse_symbol_text(text, slide);
    if (!t) continue;
    (void)t->find("_text");
    (void)t->find("init_task");
    t->slide(0x200000);
  }
  return 0;
}
