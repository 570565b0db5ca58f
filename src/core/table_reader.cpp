#include "core/table_reader.hpp"

#include <algorithm>
#include <bit>

namespace pagewalk {

TableReader::TableReader(PhysMemory& mem, unsigned slots, bool cached)
    : mem_(mem), cached_(cached), per_level_(std::bit_ceil(std::max(slots / kLevelSets, 1u))),
      slots_(per_level_ * kLevelSets), buffers_(std::make_unique_for_overwrite<std::byte[]>(slots_.size() * kPage)) {}

void TableReader::clear() {
  for (Slot& s : slots_) s = Slot{};
  extents_ = {};
}

bool TableReader::fill(Slot& s, uint64_t frame) {
  const PhysAddr page(frame * kPage);
  if (const std::span<const std::byte> view = mem_.view(page); view.size() >= kPage) {
    if (view.size() >= kMinExtent) {  // long: later reads anywhere in it skip the slots
      extents_[1] = extents_[0];
      extents_[0] = {page.value(), view.size(), view.data()};
    }
    s = {frame + 1, view.data()};
    return true;
  }
  std::byte* buf = buffers_.get() + static_cast<size_t>(&s - slots_.data()) * kPage;
  if (!mem_.read(page, {buf, kPage})) {
    s = Slot{};
    return false;  // the page is not wholly readable: fall back to the single entry
  }
  s = {frame + 1, buf};
  return true;
}

tl::expected<uint64_t, EntryReadError> TableReader::read_direct(PhysAddr addr, unsigned bytes) {
  std::byte buf[8]{};
  if (auto r = mem_.read(addr, {buf, bytes}); !r) return tl::unexpected(EntryReadError{r.error().addr});
  return load(buf, bytes);
}

}  // namespace pagewalk
