// Distinct address types: a virtual address, a physical address and a page frame number
// cannot be mixed up by accident. Canonical-form rules belong to the paging mode, not here.
#pragma once

#include <compare>
#include <cstdint>

namespace pagewalk {

template <typename Tag>
class Address {
 public:
  constexpr Address() = default;
  constexpr explicit Address(uint64_t value) : value_(value) {}
  [[nodiscard]] constexpr uint64_t value() const { return value_; }

  constexpr Address operator+(uint64_t bytes) const { return Address(value_ + bytes); }
  constexpr Address operator-(uint64_t bytes) const { return Address(value_ - bytes); }
  // The distance between two addresses of one kind is a byte count, not an address.
  constexpr uint64_t operator-(Address other) const { return value_ - other.value_; }
  constexpr auto operator<=>(const Address&) const = default;

  [[nodiscard]] constexpr Address align_down(uint64_t size) const { return Address(value_ & ~(size - 1)); }
  [[nodiscard]] constexpr uint64_t offset_in(uint64_t size) const { return value_ & (size - 1); }

 private:
  uint64_t value_ = 0;
};

struct VirtTag {};
struct PhysTag {};
using VirtAddr = Address<VirtTag>;
using PhysAddr = Address<PhysTag>;

// A page frame number counts 4 KiB frames on x86 (and base pages on other architectures).
class Pfn {
 public:
  constexpr Pfn() = default;
  constexpr explicit Pfn(uint64_t value) : value_(value) {}
  [[nodiscard]] constexpr uint64_t value() const { return value_; }
  [[nodiscard]] constexpr PhysAddr to_phys(unsigned page_shift = 12) const { return PhysAddr(value_ << page_shift); }
  [[nodiscard]] static constexpr Pfn of(PhysAddr pa, unsigned page_shift = 12) { return Pfn(pa.value() >> page_shift); }
  constexpr auto operator<=>(const Pfn&) const = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace pagewalk
