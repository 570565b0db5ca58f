// The running kernel through the pagewalk module (kmod/, /dev/pagewalk): physical RAM read
// page by page with the kernel's own checks, the paging registers of the CPU that answered,
// the kernel's VMCOREINFO note, a process's roots, and the kernel's own walk of an address.
// For machines without /proc/kcore. The protocol is kmod/pagewalk_ioctl.h.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "core/phys_memory.hpp"
#include "sources/source.hpp"

namespace pagewalk {

inline constexpr const char* kKmodDevice = "/dev/pagewalk";

// What the module says of the kernel and of the CPU that answered.
struct KmodInfo {
  unsigned abi = 0;
  std::string arch;  // an Architecture's name ("x86"), or what the module reported
  unsigned page_shift = 0;
  unsigned levels = 0;
  bool pti = false;
  uint64_t vmcoreinfo_pa = 0, vmcoreinfo_size = 0;
  uint64_t kernel_pgd = 0;  // 0: not known
  uint64_t page_offset = 0;
  std::vector<std::pair<std::string, uint64_t>> registers;
  std::string release;
};

// A process's roots as the kernel holds them.
struct KmodRoots {
  int32_t pid = 0;
  std::string comm;
  PhysAddr pgd;
  std::optional<PhysAddr> user_pgd;  // the user half of a PTI pair
};

// One level of the kernel's walk (pgd, p4d, pud, pmd, pte), folded levels included.
struct KmodLevel {
  const char* name = "";
  uint64_t table = 0, entry = 0, value = 0;
  unsigned index = 0;
  bool folded = false, leaf = false;
};

struct KmodWalk {
  int32_t pid = 0;  // 0: the kernel's tables
  uint64_t va = 0;
  PhysAddr root;
  std::vector<KmodLevel> levels;  // the levels the kernel read, in order
  bool mapped = false, in_vma = false, locked = false;
  uint64_t pa = 0, page_size = 0;
};

// The device, opened read-only; each request is one ioctl.
class KmodDevice {
 public:
  static tl::expected<std::unique_ptr<KmodDevice>, std::string> open(const std::string& path);
  ~KmodDevice();
  KmodDevice(const KmodDevice&) = delete;
  KmodDevice& operator=(const KmodDevice&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] tl::expected<KmodInfo, std::string> info() const;
  [[nodiscard]] tl::expected<std::vector<PhysRange>, std::string> ram() const;
  // Reads System RAM; the error is the module's errno.
  [[nodiscard]] tl::expected<void, int> read(uint64_t pa, std::span<std::byte> out) const;
  [[nodiscard]] tl::expected<KmodRoots, std::string> roots(int32_t pid) const;
  // pid 0: the kernel's own tables.
  [[nodiscard]] tl::expected<KmodWalk, std::string> walk(int32_t pid, uint64_t va) const;

 private:
  KmodDevice(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// The module's answer to a read, in words: "PA 0x... is not System RAM".
[[nodiscard]] std::string kmod_read_error(uint64_t pa, int err);

class KmodMemory final : public PhysMemory {
 public:
  KmodMemory(const KmodDevice& device, std::vector<PhysRange> ram) : device_(device), ram_(std::move(ram)) {}
  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override;
  std::vector<PhysRange> ranges() const override { return ram_; }

 private:
  const KmodDevice& device_;
  std::vector<PhysRange> ram_;
};

class KmodSource final : public Source {
 public:
  [[nodiscard]] std::string_view name() const override { return device_->path(); }
  [[nodiscard]] std::string_view format() const override { return "the pagewalk module (the running kernel)"; }
  [[nodiscard]] std::string_view kind() const override { return "kmod"; }
  [[nodiscard]] PhysMemory& memory() override { return *memory_; }
  [[nodiscard]] std::span<const CpuState> cpus() const override { return cpus_; }
  [[nodiscard]] std::string machine() const override { return info_.arch; }
  [[nodiscard]] const std::optional<std::string>& vmcoreinfo_note() const override { return vmcoreinfo_; }
  // One ioctl per page: a scan of all RAM is left to the note.
  [[nodiscard]] bool scannable() const override { return false; }

  [[nodiscard]] const KmodDevice& device() const { return *device_; }
  [[nodiscard]] const KmodInfo& info() const { return info_; }

  static tl::expected<std::unique_ptr<KmodSource>, std::string> open(const std::string& path);

 private:
  KmodSource() = default;
  std::unique_ptr<KmodDevice> device_;
  std::unique_ptr<KmodMemory> memory_;
  KmodInfo info_;
  std::vector<CpuState> cpus_;
  std::optional<std::string> vmcoreinfo_;
};

}  // namespace pagewalk
