#include "core/virtual_memory.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <fmt/format.h>

namespace pagewalk {

tl::expected<PhysAddr, VirtReadError> VirtualMemory::to_phys(VirtAddr va) {
  if (cached_size_ && va.align_down(cached_size_).value() == cached_page_)
    return cached_pa_ + va.offset_in(cached_size_);
  const Translation t = walker_.walk(reader_, roots_, va);
  if (!t.mapped()) {
    std::string why{to_string(t.status)};
    if (t.status == Status::Swap)
      why = fmt::format("swapped out (swap type {}, offset 0x{:x})", t.swap_type, t.swap_offset);
    if (t.status == Status::ProtNone) why = "PROT_NONE: mapped with no access";
    if (t.status == Status::NotPresent && t.nsteps)
      why = fmt::format("not mapped (not present at {})", paging().mode->region_tree(t.region).levels[t.last().level].linux_name);
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

namespace {

// Runs of failed pages with the same reason become one piece; read pages go out one by one.
class PieceJoiner {
 public:
  explicit PieceJoiner(const PieceSink& sink) : sink_(sink) {}
  bool data(uint64_t addr, std::optional<PhysAddr> pa, std::span<const std::byte> bytes) {
    if (!flush()) return false;
    MemoryPiece p;
    p.addr = addr;
    p.size = bytes.size();
    p.pa = pa;
    p.bytes = bytes;
    return sink_(p);
  }
  bool failure(uint64_t addr, uint64_t size, std::string why) {
    if (pending_ && held_.error == why && held_.addr + held_.size == addr) {
      held_.size += size;
      return true;
    }
    if (!flush()) return false;
    held_.addr = addr;
    held_.size = size;
    held_.error = std::move(why);
    pending_ = true;
    return true;
  }
  bool flush() {
    if (!pending_) return true;
    pending_ = false;
    return sink_(held_);
  }

 private:
  const PieceSink& sink_;
  MemoryPiece held_;  // the failed run so far, when pending_
  bool pending_ = false;
};

constexpr uint64_t kPieceBytes = 4096;

}  // namespace

namespace {

// The page-by-page loop both reads share: `one(addr, out, joiner)` reads one piece of at
// most a page into `out` and reports it; false stops.
template <typename ReadOne>
void read_pieces(uint64_t addr, uint64_t size, const PieceSink& sink, ReadOne&& one) {
  PieceJoiner joiner(sink);
  std::array<std::byte, kPieceBytes> buf;
  for (uint64_t done = 0; done < size;) {
    const uint64_t at = addr + done;
    const uint64_t chunk = std::min<uint64_t>(size - done, kPieceBytes - (at & (kPieceBytes - 1)));
    if (!one(at, std::span<std::byte>(buf.data(), chunk), joiner)) return;
    done += chunk;
  }
  (void)joiner.flush();
}

}  // namespace

void read_virtual_pieces(VirtualMemory& vm, VirtAddr va, uint64_t size, const PieceSink& sink) {
  read_pieces(va.value(), size, sink, [&](uint64_t at, std::span<std::byte> out, PieceJoiner& joiner) {
    auto pa = vm.to_phys(VirtAddr(at));
    if (!pa) return joiner.failure(at, out.size(), std::move(pa.error().reason));
    if (auto r = vm.reader().memory().read(*pa, out); !r)
      return joiner.failure(at, out.size(),
                            fmt::format("PA 0x{:x} cannot be read: {}", r.error().addr.value(), r.error().reason));
    return joiner.data(at, *pa, out);
  });
}

void read_physical_pieces(PhysMemory& memory, PhysAddr pa, uint64_t size, const PieceSink& sink) {
  read_pieces(pa.value(), size, sink, [&](uint64_t at, std::span<std::byte> out, PieceJoiner& joiner) {
    if (auto r = memory.read(PhysAddr(at), out); !r) return joiner.failure(at, out.size(), std::move(r.error().reason));
    return joiner.data(at, std::nullopt, out);
  });
}

}  // namespace pagewalk
