// Reading bytes at virtual addresses: every page is found by a walk of the given root.
// Clients that follow kernel pointers (task lists, kallsyms tables, BTF) read through this,
// so they see memory exactly as the MMU would.
#pragma once

#include <cstring>
#include <functional>
#include <optional>
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
  // `roots` as a walk takes them: one table for every region (x86's CR3, or a PhysAddr), or
  // one per root (AArch64's TTBR0 and TTBR1).
  VirtualMemory(const Paging& paging, TableReader& reader, const RootSet& roots)
      : walker_(paging), reader_(reader), roots_(roots) {}

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

  // An unsigned long of the software the tables serve: the mode's word (4 bytes under 32-bit
  // paging, PAE included; 8 in long mode).
  [[nodiscard]] tl::expected<uint64_t, VirtReadError> word(VirtAddr va) {
    if (paging().mode->word_bits == 32) return value<uint32_t>(va);
    return value<uint64_t>(va);
  }

  // A NUL-terminated string of at most max_len bytes (kernel char arrays such as comm).
  [[nodiscard]] tl::expected<std::string, VirtReadError> c_string(VirtAddr va, size_t max_len);

  [[nodiscard]] const RootSet& roots() const { return roots_; }
  [[nodiscard]] TableReader& reader() const { return reader_; }
  [[nodiscard]] const Paging& paging() const { return walker_.paging(); }

 private:
  Walker walker_;
  TableReader& reader_;
  RootSet roots_;
  // One-entry translation cache: sequential reads cost one walk per page.
  uint64_t cached_page_ = 1;  // never a page address
  uint64_t cached_size_ = 0;
  PhysAddr cached_pa_;
};

// One stretch of a long read: bytes that were read (at most one 4 KiB page), or a run of
// pages that could not be, with the reason they share.
struct MemoryPiece {
  uint64_t addr = 0;  // the first byte's address (a VA, or a PA for a physical read)
  uint64_t size = 0;
  std::optional<PhysAddr> pa;         // a virtual read that worked: where the bytes are
  std::span<const std::byte> bytes;   // size bytes when read, empty when not
  std::string error;                  // why not ("not mapped (not present at pte)", ...)
  [[nodiscard]] bool read() const { return error.empty(); }
};
// Returns false to stop the read.
using PieceSink = std::function<bool(const MemoryPiece&)>;

// [va, va + size) through the tables of `vm`, each page translated on its own: a page that
// is not mapped or cannot be read is reported in place and the rest is still read.
// `size` may run up to the top of the address space (va + size == 2^64), not past it.
void read_virtual_pieces(VirtualMemory& vm, VirtAddr va, uint64_t size, const PieceSink& sink);
// The same for [pa, pa + size) of physical memory.
void read_physical_pieces(PhysMemory& memory, PhysAddr pa, uint64_t size, const PieceSink& sink);

}  // namespace pagewalk
