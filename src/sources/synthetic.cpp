#include "sources/synthetic.hpp"

#include "arch/x86/x86_modes.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace pagewalk {

tl::expected<void, ReadError> SyntheticMemory::read(PhysAddr pa, std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = pa.value() + done;
    auto it = pages_.find(at / kPage);
    if (it == pages_.end()) return tl::unexpected(ReadError{PhysAddr(at), "no such page in the synthetic machine"});
    const uint64_t off = at % kPage;
    const size_t n = std::min<size_t>(out.size() - done, kPage - off);
    std::memcpy(out.data() + done, it->second.get() + off, n);
    done += n;
  }
  return {};
}

std::span<const std::byte> SyntheticMemory::view(PhysAddr page) {
  auto it = pages_.find(page.value() / kPage);
  if (it == pages_.end()) return {};
  return {it->second.get(), kPage};  // pages are separate allocations: one at a time
}

std::vector<PhysRange> SyntheticMemory::ranges() const {
  std::vector<uint64_t> frames;
  frames.reserve(pages_.size());
  for (const auto& [f, _] : pages_) frames.push_back(f);
  std::sort(frames.begin(), frames.end());
  std::vector<PhysRange> out;
  for (uint64_t f : frames) {
    if (!out.empty() && out.back().start.value() + out.back().size == f * kPage)
      out.back().size += kPage;
    else
      out.push_back({PhysAddr(f * kPage), kPage});
  }
  return out;
}

std::byte* SyntheticMemory::page(PhysAddr pa) {
  auto& p = pages_[pa.value() / kPage];
  if (!p) {
    p = std::make_unique<std::byte[]>(kPage);
    std::memset(p.get(), 0, kPage);
  }
  return p.get();
}

void SyntheticMemory::write(PhysAddr pa, std::span<const std::byte> data) {
  size_t done = 0;
  while (done < data.size()) {
    const uint64_t at = pa.value() + done;
    const size_t n = std::min<size_t>(data.size() - done, kPage - at % kPage);
    std::memcpy(page(PhysAddr(at)) + at % kPage, data.data() + done, n);
    done += n;
  }
}

void SyntheticMemory::write_u64(PhysAddr pa, uint64_t v, unsigned bytes) {
  write(pa, {reinterpret_cast<const std::byte*>(&v), bytes});
}

TableBuilder::TableBuilder(SyntheticMemory& mem, const PagingMode& mode, PhysAddr table_pool,
                           std::optional<PhysAddr> root)
    : mem_(mem), mode_(mode), next_(table_pool) {
  if (root) {
    root_ = *root;
    mem_.page(root_);
  } else {
    root_ = alloc_table();
  }
}

PhysAddr TableBuilder::alloc_table() {
  const PhysAddr t = next_;
  next_ = next_ + SyntheticMemory::kPage;
  mem_.page(t);
  ++tables_;
  return t;
}

PhysAddr TableBuilder::entry_addr(VirtAddr va, unsigned level, uint64_t table_flags) {
  PhysAddr table = root_;
  for (unsigned l = 0;; ++l) {
    const PhysAddr e = table + uint64_t{mode_.index(va, l)} * mode_.entry_bytes;
    if (l == level) return e;
    uint64_t raw = 0;
    std::memcpy(&raw, mem_.page(e) + e.offset_in(SyntheticMemory::kPage), mode_.entry_bytes);
    if (!(raw & 1)) {
      const PhysAddr t = alloc_table();
      // PAE PDPTEs take only P (their RW/US bits are reserved).
      raw = t.value() | (((mode_.arch_traits & x86::kPaeRoot) && l == 0) ? 0x1 : table_flags);
      mem_.write_u64(e, raw, mode_.entry_bytes);
    } else if (l + 1 < mode_.level_count() && (raw & 0x80) && mode_.levels[l].can_be_leaf) {
      throw std::logic_error(fmt::format("0x{:x} is already covered by a large page", va.value()));
    }
    table = PhysAddr(raw & (mode_.entry_bytes == 8 ? 0x000ffffffffff000ull : 0xfffff000ull));
  }
}

void TableBuilder::map(VirtAddr va, PhysAddr pa, uint64_t page_size, uint64_t leaf_flags, uint64_t table_flags) {
  unsigned level = mode_.level_count() - 1;
  while (mode_.span(level) != page_size) {
    if (level == 0) throw std::logic_error(fmt::format("{} has no 0x{:x}-byte pages", mode_.name, page_size));
    --level;
  }
  const bool large = level + 1 < mode_.level_count();
  uint64_t raw = pa.value() | leaf_flags | 1 | (large ? 0x80 : 0);
  if (large && mode_.entry_bytes == 4) {
    // PSE-36: PA bits 39:32 go to PDE bits 20:13.
    raw = (pa.value() & 0xffc00000ull) | (((pa.value() >> 32) & 0xff) << 13) | leaf_flags | 0x81;
  }
  mem_.write_u64(entry_addr(va, level, table_flags), raw, mode_.entry_bytes);
}

void TableBuilder::set_entry(VirtAddr va, unsigned level, uint64_t raw) {
  mem_.write_u64(entry_addr(va, level), raw, mode_.entry_bytes);
}

}  // namespace pagewalk
