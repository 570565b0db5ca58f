// A machine built in memory: sparse physical pages and a builder that lays out page
// tables for any x86 mode (the TableBuilder writes x86 entries). Used by `demo`, the tests, the benchmarks and the fuzzers.
// Reading a page that was never written fails, so a walk that strays is caught.
#pragma once

#include <memory>
#include <string>
#include <vector>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "arch/x86/x86_modes.hpp"
#include "core/paging_mode.hpp"
#include "core/phys_memory.hpp"
#include "sources/source.hpp"

namespace pagewalk {

class SyntheticMemory final : public PhysMemory {
 public:
  static constexpr uint64_t kPage = 4096;
  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override;
  std::span<const std::byte> view(PhysAddr page) override;
  std::vector<PhysRange> ranges() const override;

  // The page holding pa, created zero-filled on first use.
  std::byte* page(PhysAddr pa);
  void write(PhysAddr pa, std::span<const std::byte> data);
  void write_u64(PhysAddr pa, uint64_t v, unsigned bytes = 8);
  [[nodiscard]] bool has(PhysAddr pa) const { return pages_.contains(pa.value() / kPage); }
  [[nodiscard]] size_t page_count() const { return pages_.size(); }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<std::byte[]>> pages_;
};

// A synthetic machine as a target's source: its memory and the CPU states given to it.
class SyntheticSource final : public Source {
 public:
  explicit SyntheticSource(std::string name = "synthetic machine") : name_(std::move(name)) {}
  [[nodiscard]] std::string_view name() const override { return name_; }
  [[nodiscard]] std::string_view format() const override { return "synthetic (page tables built in memory)"; }
  [[nodiscard]] std::string_view kind() const override { return "synthetic"; }
  [[nodiscard]] PhysMemory& memory() override { return mem_; }
  [[nodiscard]] std::span<const CpuState> cpus() const override { return cpus_; }
  [[nodiscard]] SyntheticMemory& synthetic() { return mem_; }
  void add_cpu(CpuState cpu) { cpus_.push_back(std::move(cpu)); }

 private:
  std::string name_;
  SyntheticMemory mem_;
  std::vector<CpuState> cpus_;
};

// Lays out page tables in a SyntheticMemory, allocating table pages from a bump allocator.
class TableBuilder {
 public:
  // New tables come from table_pool upwards; the root is `root` if given (its existing
  // entries are followed), else a fresh table.
  TableBuilder(SyntheticMemory& mem, const PagingMode& mode, PhysAddr table_pool,
               std::optional<PhysAddr> root = std::nullopt);
  [[nodiscard]] PhysAddr root() const { return root_; }
  [[nodiscard]] const PagingMode& mode() const { return mode_; }

  // Maps [va, va + page_size) to pa with the leaf's flag bits (P is added; PS for large
  // pages). Tables created on the way get `table_flags` (Linux's _PAGE_TABLE by default;
  // _KERNPG_TABLE, 0x63, for kernel addresses).
  void map(VirtAddr va, PhysAddr pa, uint64_t page_size, uint64_t leaf_flags, uint64_t table_flags = 0x67);
  // Stores a raw (e.g. non-present) value in the entry at `level` for va, creating tables.
  void set_entry(VirtAddr va, unsigned level, uint64_t raw);
  // The physical address of the entry for va at `level` (tables created as needed).
  PhysAddr entry_addr(VirtAddr va, unsigned level, uint64_t table_flags = 0x67);
  [[nodiscard]] uint64_t tables_allocated() const { return tables_; }

 private:
  PhysAddr alloc_table();
  SyntheticMemory& mem_;
  const PagingMode& mode_;
  PhysAddr next_;
  PhysAddr root_;
  uint64_t tables_ = 0;
};

}  // namespace pagewalk
