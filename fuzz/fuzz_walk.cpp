// Arbitrary bytes as physical memory holding page tables: translation and enumeration must
// terminate, stay within their work bound and keep their invariants (ranges in order, no
// overlap), whatever the tables say.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "arch/registry.hpp"
#include "arch/x86/x86_modes.hpp"
#include "core/enumerate.hpp"
#include "sources/segmented_memory.hpp"

using namespace pagewalk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 16) return 0;
  const auto modes = arch::all_modes();
  const PagingMode& mode = *modes[data[0] % modes.size()];
  Paging paging{&mode, {}};
  paging.options.pa_bits = static_cast<uint8_t>(data[1] % 2 ? 52 : 36 + data[1] % 16);
  if (!(data[2] & 1)) paging.options.cpu_flags |= x86::kNoPse;
  if (data[2] & 2) paging.options.cpu_flags |= x86::kNoNx;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto mem = SegmentedMemory::create(bytes, {{PhysAddr(0), 0, size, size}});
  if (!mem) return 0;
  TableReader reader(**mem, 8);
  const PhysAddr root = mode.arch->root_from_register(mode, uint64_t{data[3]} << 12 | data[4] << 5);

  // One Walker through the small cache and fresh walks through no cache must agree, step
  // for step, however the tables look.
  const Walker walker(paging);
  TableReader uncached(**mem, 1, false);
  for (size_t i = 8; i + 8 <= size && i < 8 * 64; i += 8) {
    uint64_t va;
    std::memcpy(&va, data + i, 8);
    const Translation t = walker.walk(reader, root, VirtAddr(va));
    if (t.nsteps > mode.level_count()) std::abort();
    if (t.status == Status::Mapped && (t.page_size == 0 || t.pa.offset_in(t.page_size) != va % t.page_size))
      std::abort();
    const Translation u = walk(paging, uncached, root, VirtAddr(va));
    if (t.status != u.status || t.nsteps != u.nsteps || t.pa != u.pa || t.page_size != u.page_size ||
        t.access != u.access || t.swap_offset != u.swap_offset || t.unreadable != u.unreadable)
      std::abort();
    for (unsigned l = 0; l < t.nsteps; ++l)
      if (t.steps[l].raw != u.steps[l].raw || t.steps[l].entry_addr != u.steps[l].entry_addr) std::abort();
  }

  EnumOptions o;
  o.max_entries = 20000;
  uint64_t cursor = 0;
  bool first = true;
  const EnumReport rep = enumerate(paging, reader, root, o, [&](const Range& r) {
    if (r.size == 0) std::abort();
    if (!first && r.start.value() != cursor) std::abort();  // contiguous, in order
    first = false;
    cursor = r.start.value() + r.size;
    // A leaf enumerate yields is what the walk finds there: same PA, size and access.
    if (r.kind == RangeKind::Mapped) {
      const Translation w = walker.walk(reader, root, r.start);
      if (w.status != Status::Mapped || w.pa != r.pa || w.page_size != r.page_size(mode) || w.access != r.access)
        std::abort();
    }
    return true;
  });
  if (rep.entries > o.max_entries + 1) std::abort();
  return 0;
}
