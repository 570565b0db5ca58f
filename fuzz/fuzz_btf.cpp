// Any bytes as raw BTF (the kernel's .BTF or /sys/kernel/btf/vmlinux), through libbpf.
#include <cstdint>
#include <span>

#include "linux/btf_layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)pagewalk::linux_kernel::task_layout_from_btf(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
  return 0;
}
