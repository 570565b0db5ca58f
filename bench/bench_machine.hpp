// The benchmark machine: a 64 GiB x86-64 4-level address space made of 4 GiB of 4 KiB
// pages, 28 GiB of 2 MiB pages and 32 GiB of 1 GiB pages, with its tables packed from PA
// 1 MiB upwards; plus random VAs drawn evenly from the three page sizes.
#pragma once

#include <random>
#include <vector>

#include "sources/synthetic.hpp"

namespace pagewalk::bench {

inline constexpr uint64_t kBase4K = 0x0000100000000000;  // user half, 4 KiB pages
inline constexpr uint64_t kBase2M = 0x0000200000000000;
inline constexpr uint64_t kBase1G = 0x0000300000000000;
inline constexpr uint64_t kSize4K = uint64_t{4} << 30;
inline constexpr uint64_t kSize2M = uint64_t{28} << 30;
inline constexpr uint64_t kSize1G = uint64_t{32} << 30;
inline constexpr uint64_t kTablePool = 0x100000;

struct Machine {
  SyntheticMemory mem;
  PhysAddr root;
  uint64_t tables = 0;
};

inline void build(Machine& m) {
  TableBuilder b(m.mem, kX86_64_4Level, PhysAddr(kTablePool));
  // Leaf PAs are arbitrary (never read): spread them over 64 GiB of "RAM".
  for (uint64_t off = 0; off < kSize4K; off += 4096)
    b.map(VirtAddr(kBase4K + off), PhysAddr(((off * 7919) % kSize4K) & ~0xfffull), 4096, 0x67 | (uint64_t{1} << 63));
  for (uint64_t off = 0; off < kSize2M; off += uint64_t{2} << 20)
    b.map(VirtAddr(kBase2M + off), PhysAddr(kSize4K + off), uint64_t{2} << 20, 0x67);
  for (uint64_t off = 0; off < kSize1G; off += uint64_t{1} << 30)
    b.map(VirtAddr(kBase1G + off), PhysAddr(kSize4K + kSize2M + off), uint64_t{1} << 30, 0x67);
  m.root = b.root();
  m.tables = b.tables_allocated();
}

inline std::vector<uint64_t> random_vas(size_t n, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    switch (i % 3) {
      case 0: v[i] = kBase4K + rng() % kSize4K; break;
      case 1: v[i] = kBase2M + rng() % kSize2M; break;
      default: v[i] = kBase1G + rng() % kSize1G; break;
    }
  }
  return v;
}

// The same space as AArch64 tables (arm64-4k-48, TTBR0): pages, 2 MiB and 1 GiB blocks at
// the same VAs and PAs, descriptors as the Arm ARM writes them (table 0b11, page 0b11 and
// block 0b01, each leaf with AF), so the two architectures walk the same work.
inline void build_arm64(Machine& m, const PagingMode& mode) {
  uint64_t next = kTablePool;
  auto alloc = [&] {
    const uint64_t at = next;
    next += 4096;
    (void)m.mem.page(PhysAddr(at));
    ++m.tables;
    return at;
  };
  const uint64_t root = alloc();
  constexpr uint64_t kTable = 3, kPage = 3, kBlock = 1, kAf = 1u << 10, kAddr = 0x0000fffffffff000;
  auto map = [&](uint64_t va, uint64_t pa, unsigned leaf_level) {
    uint64_t table = root;
    for (unsigned level = 0; level < leaf_level; ++level) {
      const PhysAddr slot(table + 8 * mode.index(VirtAddr(va), level));
      uint64_t raw = 0;
      (void)m.mem.read(slot, std::as_writable_bytes(std::span(&raw, 1)));
      if (!raw) {
        raw = alloc() | kTable;
        m.mem.write_u64(slot, raw);
      }
      table = raw & kAddr;
    }
    const bool page = leaf_level + 1 == mode.level_count();
    m.mem.write_u64(PhysAddr(table + 8 * mode.index(VirtAddr(va), leaf_level)), pa | (page ? kPage : kBlock) | kAf);
  };
  for (uint64_t off = 0; off < kSize4K; off += 4096) map(kBase4K + off, ((off * 7919) % kSize4K) & ~0xfffull, 3);
  for (uint64_t off = 0; off < kSize2M; off += uint64_t{2} << 20) map(kBase2M + off, kSize4K + off, 2);
  for (uint64_t off = 0; off < kSize1G; off += uint64_t{1} << 30) map(kBase1G + off, kSize4K + kSize2M + off, 1);
  m.root = PhysAddr(root);
}

// The tables as one contiguous buffer of physical memory starting at PA 0.
inline std::vector<std::byte> flatten(SyntheticMemory& mem, uint64_t size) {
  std::vector<std::byte> buf(size);
  for (const PhysRange& r : mem.ranges())
    (void)mem.read(r.start, {buf.data() + r.start.value(), r.size});
  return buf;
}

}  // namespace pagewalk::bench
