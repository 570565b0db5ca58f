// Physical memory held in a byte buffer (usually an mmapped file) as a list of segments:
// the common reader behind ELF cores, LiME, raw images and in-memory test machines.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/phys_memory.hpp"

namespace pagewalk {

struct Segment {
  PhysAddr pa;
  uint64_t offset = 0;  // into the buffer
  uint64_t file_size = 0;
  uint64_t mem_size = 0;  // bytes past file_size read as zero (ELF p_memsz semantics)
};

// What the buffer is: only a read-only file mapping may have its pages dropped on release().
enum class Backing { Buffer, FileMapping };

class SegmentedMemory final : public PhysMemory {
 public:
  // Checks that every segment lies inside the buffer and none overlap; the message names
  // the first offending segment.
  static tl::expected<std::unique_ptr<SegmentedMemory>, std::string> create(std::span<const std::byte> buffer,
                                                                              std::vector<Segment> segments,
                                                                              Backing backing = Backing::Buffer);

  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override;
  std::span<const std::byte> view(PhysAddr page) override;
  std::vector<PhysRange> ranges() const override;
  std::vector<PhysRange> backed_ranges() const override;
  void release(PhysRange range) override;
  [[nodiscard]] const std::vector<Segment>& segments() const { return segments_; }

 private:
  SegmentedMemory(std::span<const std::byte> b, std::vector<Segment> s, Backing k)
      : buffer_(b), segments_(std::move(s)), backing_(k) {}
  [[nodiscard]] const Segment* find(uint64_t pa) const;
  std::span<const std::byte> buffer_;
  std::vector<Segment> segments_;  // sorted by pa
  Backing backing_;
};

}  // namespace pagewalk
