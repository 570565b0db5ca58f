// VMCOREINFO: the kernel's "KEY=VALUE" notes about itself (kernel/crash_core.c), found in
// kdump vmcores and in QEMU dumps taken with -device vmcoreinfo.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/phys_memory.hpp"

namespace pagewalk::linux_kernel {

class VmcoreInfo {
 public:
  static VmcoreInfo parse(std::string_view text);
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const;
  // SYMBOL(x), NUMBER(x), SIZE(x), OFFSET(x) values, and KERNELOFFSET; LENGTH(x) through get().
  [[nodiscard]] std::optional<uint64_t> symbol(std::string_view name) const;
  [[nodiscard]] std::optional<int64_t> number(std::string_view name) const;
  // NUMBER(name) as the unsigned long it is (an address: arm64 prints them in hex).
  [[nodiscard]] std::optional<uint64_t> unsigned_number(std::string_view name) const;
  [[nodiscard]] std::optional<uint64_t> size(std::string_view name) const;
  [[nodiscard]] std::optional<uint64_t> offset(std::string_view name) const;
  [[nodiscard]] std::optional<uint64_t> kernel_offset() const;
  [[nodiscard]] const std::map<std::string, std::string, std::less<>>& entries() const { return entries_; }

 private:
  std::map<std::string, std::string, std::less<>> entries_;
};

// The kernel keeps its VMCOREINFO text in memory (vmcoreinfo_data, and a copy inside the
// ELF note buffer it exports through /sys/kernel/vmcoreinfo), so an image taken without the
// note still holds it. Returns the first copy that reads as a complete VMCOREINFO, looking
// in `where` in its order, each range from its top down (when empty: the memory's backed
// ranges, the highest first).
struct FoundVmcoreInfo {
  PhysAddr at;
  std::string text;
};
[[nodiscard]] std::optional<FoundVmcoreInfo> find_vmcoreinfo(PhysMemory& memory, std::span<const PhysRange> where = {});
// The slow path find_vmcoreinfo falls back to: every byte of the image, not only the
// page offsets where the kernel's own copies start.
[[nodiscard]] std::optional<FoundVmcoreInfo> find_vmcoreinfo_anywhere(PhysMemory& memory,
                                                                 std::span<const PhysRange> where = {});

// Whether text looks like a kernel's VMCOREINFO rather than the format strings that build it.
[[nodiscard]] bool plausible_vmcoreinfo(std::string_view text);

}  // namespace pagewalk::linux_kernel
