#include "core/virtual_memory.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace pagewalk {

tl::expected<PhysAddr, VirtReadError> VirtualMemory::to_phys(VirtAddr va) {
  if (cached_size_ && va.align_down(cached_size_).value() == cached_page_)
    return cached_pa_ + va.offset_in(cached_size_);
  const Translation t = walker_.walk(reader_, root_, va);
  if (!t.mapped()) {
    std::string why{to_string(t.status)};
    if (t.status == Status::NotPresent && t.nsteps)
      why = fmt::format("not mapped (not present at {})", paging().mode->levels[t.last().level].linux_name);
    if (t.status == Status::Unreadable)
      why = fmt::format("table at PA 0x{:x} cannot be read: {}", t.unreadable.value(),
                        read_failure(reader_.memory(), t.unreadable));
    return tl::unexpected(VirtReadError{va, why});
  }
  cached_size_ = t.page_size;
  cached_page_ = va.align_down(t.page_size).value();
  cached_pa_ = t.pa - va.offset_in(t.page_size);
  return t.pa;
}

tl::expected<void, VirtReadError> VirtualMemory::read(VirtAddr va, std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const VirtAddr at = va + done;
    auto pa = to_phys(at);
    if (!pa) return tl::unexpected(pa.error());
    // Stay within one 4 KiB page per read: neighbouring pages need not be contiguous.
    const size_t chunk = std::min<size_t>(out.size() - done, 4096 - at.offset_in(4096));
    auto r = reader_.memory().read(*pa, out.subspan(done, chunk));
    if (!r)
      return tl::unexpected(
          VirtReadError{at, fmt::format("PA 0x{:x} cannot be read: {}", r.error().addr.value(), r.error().reason)});
    done += chunk;
  }
  return {};
}

tl::expected<std::string, VirtReadError> VirtualMemory::c_string(VirtAddr va, size_t max_len) {
  std::vector<std::byte> buf(max_len);
  auto r = read(va, buf);
  if (!r) return tl::unexpected(r.error());
  const auto* p = reinterpret_cast<const char*>(buf.data());
  return std::string(p, strnlen(p, max_len));
}

}  // namespace pagewalk
