// Effective access to a page: {kernel, user} x {read, write, execute}. Each entry of a walk
// allows a subset; the walk ANDs them down the levels, so an architecture whose rights
// combine otherwise (x86 NX is an OR of "execute-disable") states them as what each entry
// still allows. Privilege-mode checks that depend on the CPU rather than on the tables
// (x86 SMEP/SMAP/CR0.WP, Arm PAN) are not folded in: they are reported beside the rights.
#pragma once

#include <cstdint>
#include <string_view>

namespace pagewalk {

class Access {
 public:
  // One bit per right; the kernel's three, then the user's three, each read/write/execute.
  enum Bit : uint8_t {
    kKernelRead = 1, kKernelWrite = 2, kKernelExec = 4,
    kUserRead = 8, kUserWrite = 16, kUserExec = 32,
  };
  static constexpr uint8_t kAllBits = 63;

  constexpr Access() = default;  // no access
  constexpr explicit Access(uint8_t bits) : bits_(static_cast<uint8_t>(bits & kAllBits)) {}
  [[nodiscard]] static constexpr Access all() { return Access(kAllBits); }
  [[nodiscard]] static constexpr Access none() { return Access(0); }
  // Both privilege levels given as rwx triples (bit 0 read, 1 write, 2 execute).
  [[nodiscard]] static constexpr Access of(uint8_t kernel_rwx, uint8_t user_rwx) {
    return Access(static_cast<uint8_t>((kernel_rwx & 7) | ((user_rwx & 7) << 3)));
  }

  [[nodiscard]] constexpr uint8_t bits() const { return bits_; }
  [[nodiscard]] constexpr uint8_t kernel() const { return bits_ & 7; }
  [[nodiscard]] constexpr uint8_t user() const { return static_cast<uint8_t>(bits_ >> 3); }
  [[nodiscard]] constexpr bool has(Bit b) const { return (bits_ & b) != 0; }
  constexpr Access operator&(Access o) const { return Access(static_cast<uint8_t>(bits_ & o.bits_)); }
  constexpr bool operator==(const Access&) const = default;

  // "rwx", "r-x", "---" for one privilege level's triple.
  [[nodiscard]] static constexpr std::string_view rwx(uint8_t triple) {
    constexpr std::string_view kNames[] = {"---", "r--", "-w-", "rw-", "--x", "r-x", "-wx", "rwx"};
    return kNames[triple & 7];
  }

 private:
  uint8_t bits_ = 0;
};

}  // namespace pagewalk
