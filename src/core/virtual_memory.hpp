// Reading bytes at virtual addresses: every page is found by a walk of the given root.
// Clients that follow kernel pointers (task lists, kallsyms tables, BTF) read through this,
// so they see memory exactly as the MMU would.
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "core/walk.hpp"

namespace pagewalk {

struct VirtReadError {
  VirtAddr va;         // the first address that could not be read
  std::string reason;  // "not mapped (not-present at pmd)", "PA 0x... unreadable", ...
};

class VirtualMemory {
 public:
  VirtualMemory(const Paging& paging, TableReader& reader, PhysAddr root)
      : walker_(paging), reader_(reader), root_(root) {}

  [[nodiscard]] tl::expected<void, VirtReadError> read(VirtAddr va, std::span<std::byte> out);
  [[nodiscard]] tl::expected<PhysAddr, VirtReadError> to_phys(VirtAddr va);

  template <typename T>
  [[nodiscard]] tl::expected<T, VirtReadError> value(VirtAddr va) {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    auto r = read(va, std::as_writable_bytes(std::span(&v, 1)));
    if (!r) return tl::unexpected(r.error());
    return v;
  }

  // A NUL-terminated string of at most max_len bytes (kernel char arrays such as comm).
  [[nodiscard]] tl::expected<std::string, VirtReadError> c_string(VirtAddr va, size_t max_len);

  [[nodiscard]] PhysAddr root() const { return root_; }
  [[nodiscard]] const Paging& paging() const { return walker_.paging(); }

 private:
  Walker walker_;
  TableReader& reader_;
  PhysAddr root_;
  // One-entry translation cache: sequential reads cost one walk per page.
  uint64_t cached_page_ = 1;  // never a page address
  uint64_t cached_size_ = 0;
  PhysAddr cached_pa_;
};

}  // namespace pagewalk
