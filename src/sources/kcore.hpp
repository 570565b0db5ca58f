// The running kernel's memory through /proc/kcore: an ELF core whose PT_LOAD segments cover
// kernel virtual ranges. For the direct map and the kernel image the kernel also gives the
// physical address (p_paddr; -1 for vmalloc and vmemmap), so those segments are physical
// memory read with pread: /proc/kcore cannot be mmapped.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/phys_memory.hpp"
#include "sources/source.hpp"

namespace pagewalk {

// One PT_LOAD of the file, as the kernel lists it.
struct KcoreSegment {
  uint64_t vaddr = 0;
  std::optional<uint64_t> paddr;  // none for vmalloc, modules and vmemmap
  uint64_t offset = 0;
  uint64_t size = 0;
};

class KcoreMemory final : public PhysMemory {
 public:
  struct Run {
    PhysAddr pa;
    uint64_t offset = 0;  // file offset of pa
    uint64_t size = 0;
  };
  KcoreMemory(int fd, std::vector<Run> runs) : fd_(fd), runs_(std::move(runs)) {}
  ~KcoreMemory() override;

  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override;
  std::vector<PhysRange> ranges() const override;

 private:
  int fd_;
  std::vector<Run> runs_;  // sorted by pa, not overlapping
};

struct Kcore {
  std::string path;
  std::vector<KcoreSegment> segments;
  std::unique_ptr<KcoreMemory> memory;
  std::optional<std::string> vmcoreinfo;  // the kernel's VMCOREINFO note
};

// /proc/kcore (or a copy of it) as a target's source. It holds no CPU registers.
class KcoreSource final : public Source {
 public:
  explicit KcoreSource(Kcore kcore) : kcore_(std::move(kcore)) {}
  [[nodiscard]] std::string_view name() const override { return kcore_.path; }
  [[nodiscard]] std::string_view format() const override { return "Linux /proc/kcore (the running kernel)"; }
  [[nodiscard]] std::string_view kind() const override { return "kcore"; }
  [[nodiscard]] PhysMemory& memory() override { return *kcore_.memory; }
  [[nodiscard]] const std::optional<std::string>& vmcoreinfo_note() const override { return kcore_.vmcoreinfo; }
  // One pread per page: scanning all of RAM for VMCOREINFO is left to the note.
  [[nodiscard]] bool scannable() const override { return false; }
  [[nodiscard]] const Kcore& kcore() const { return kcore_; }

 private:
  Kcore kcore_;
};

// Opens the file read-only and reads its headers and notes.
[[nodiscard]] tl::expected<Kcore, std::string> open_kcore(const std::string& path);

}  // namespace pagewalk
