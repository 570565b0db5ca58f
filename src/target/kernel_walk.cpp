#include "target/kernel_walk.hpp"

#include <cstring>
#include <map>

#include <fmt/format.h>

namespace pagewalk::target {
namespace {

// Physical memory that holds only the entries the kernel read, so that pagewalk's walker
// decodes exactly those values (and fails on anything else).
class EntriesRead final : public PhysMemory {
 public:
  void add(uint64_t pa, uint64_t value) { entries_[pa] = value; }
  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override {
    const auto it = entries_.find(pa.value());
    if (it == entries_.end() || out.size() > 8)
      return tl::unexpected(ReadError{pa, "the kernel's walk did not read this entry"});
    std::memcpy(out.data(), &it->second, out.size());  // little-endian, as the tables are
    return {};
  }
  std::vector<PhysRange> ranges() const override { return {}; }

 private:
  std::map<uint64_t, uint64_t> entries_;
};

// The kernel's levels that are tables of their own (folded ones repeat the level above).
std::vector<const KmodLevel*> real_levels(const KmodWalk& k) {
  std::vector<const KmodLevel*> out;
  for (const KmodLevel& l : k.levels)
    if (!l.folded) out.push_back(&l);
  return out;
}

bool has_frame(const Translation& t) { return t.status == Status::Mapped || t.status == Status::ProtNone; }

}  // namespace

std::vector<std::string> compare_walks(const Paging& paging, const Translation& ours, const KmodWalk& kernel) {
  std::vector<std::string> diffs;
  const std::vector<const KmodLevel*> levels = real_levels(kernel);
  const unsigned common = std::min<unsigned>(ours.nsteps, static_cast<unsigned>(levels.size()));
  for (unsigned i = 0; i < common; ++i) {
    const Step& s = ours.steps[i];
    const KmodLevel& k = *levels[i];
    const std::string_view name = paging.mode->region_tree(ours.region).levels[s.level].linux_name;
    if (name != k.name)
      diffs.push_back(fmt::format("level {}: pagewalk reads a {} entry, the kernel a {} entry", i + 1, name, k.name));
    else if (s.entry_addr.value() != k.entry)
      diffs.push_back(fmt::format("{}: pagewalk reads the entry at 0x{:x}, the kernel at 0x{:x}", name,
                                  s.entry_addr.value(), k.entry));
    else if (s.raw != k.value)
      diffs.push_back(fmt::format("{} entry at 0x{:x}: pagewalk read 0x{:016x}, the kernel 0x{:016x}", name, k.entry,
                                  s.raw, k.value));
  }
  if (ours.nsteps != levels.size())
    diffs.push_back(fmt::format("pagewalk read {} level(s), the kernel {}", ours.nsteps, levels.size()));
  for (std::string& d : compare_answers(ours, kernel)) diffs.push_back(std::move(d));
  return diffs;
}

std::vector<std::string> compare_answers(const Translation& ours, const KmodWalk& kernel) {
  std::vector<std::string> diffs;
  if (has_frame(ours) != kernel.mapped)
    diffs.push_back(fmt::format("pagewalk says {}, the kernel says {}", to_string(ours.status),
                                kernel.mapped ? "present" : "not present"));
  else if (kernel.mapped && (ours.pa.value() != kernel.pa || ours.page_size != kernel.page_size))
    diffs.push_back(fmt::format("pagewalk gives PA 0x{:x} in a 0x{:x}-byte page, the kernel PA 0x{:x} in a "
                                "0x{:x}-byte page",
                                ours.pa.value(), ours.page_size, kernel.pa, kernel.page_size));
  return diffs;
}

tl::expected<KernelWalk, Error> kernel_walk(const Target& t, VirtAddr va) {
  const auto* src = dynamic_cast<const KmodSource*>(t.source.get());
  if (!src) return tl::unexpected(Error{Error::Kind::BadInput, "the kernel's walk needs the module: give --kmod", {}});
  auto k = src->device().walk(t.process ? t.process->pid : 0, va.value());
  if (!k) return tl::unexpected(Error{Error::Kind::Target, k.error(), {}});
  KernelWalk out;
  out.kernel = std::move(*k);
  EntriesRead entries;
  for (const KmodLevel* l : real_levels(out.kernel)) entries.add(l->entry, l->value);
  TableReader reader(entries, 8, false);
  out.decoded = walk(t.paging, reader, RootSet(out.kernel.root), va);
  // The kernel's helpers and pagewalk's decoding read the same entries here: only the
  // answer can differ.
  out.decode_differences = compare_answers(out.decoded, out.kernel);
  return out;
}

}  // namespace pagewalk::target
