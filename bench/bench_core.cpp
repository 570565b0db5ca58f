// Library hot paths: translations per second over the 64 GiB benchmark space through the
// caching table reader against the same reader uncached (the baseline), and enumeration.
// bench/run_bench.py prints the ratios.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "arch/registry.hpp"
#include "bench_machine.hpp"
#include "core/enumerate.hpp"
#include "core/walk_engine.hpp"
#include "sources/segmented_memory.hpp"

namespace pagewalk::bench {
namespace {

struct Fixture {
  explicit Fixture(const PagingMode* arm64 = nullptr) {
    if (arm64) build_arm64(machine, *arm64);
    else build(machine);
    flat = flatten(machine.mem, kTablePool + (machine.tables + 1) * 4096);
    memory = std::move(*SegmentedMemory::create(flat, {{PhysAddr(0), 0, flat.size(), flat.size()}}));
    vas = random_vas(1 << 20);
  }
  Machine machine;
  std::vector<std::byte> flat;
  std::unique_ptr<SegmentedMemory> memory;
  std::vector<uint64_t> vas;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

const PagingMode& arm64_mode() { return *arch::find_mode("arm64-4k-48"); }

// The same space and VAs in AArch64 tables: the decoder of another architecture on the same
// walk, against the x86-64 figure of the same run.
Fixture& arm64_fixture() {
  static Fixture f(&arm64_mode());
  return f;
}

void translate(benchmark::State& state, bool cached, bool sorted = false) {
  Fixture& f = fixture();
  static const std::vector<uint64_t> sorted_vas = [&] {
    auto v = f.vas;
    std::sort(v.begin(), v.end());
    return v;
  }();
  const std::vector<uint64_t>& vas = sorted ? sorted_vas : f.vas;
  TableReader reader(*f.memory, 256, cached);
  const Walker walker(Paging{&kX86_64_4Level, {}});
  size_t i = 0;
  for (auto _ : state) {
    const Translation t = walker.walk(reader, f.machine.root, VirtAddr(vas[i]));
    benchmark::DoNotOptimize(t.pa);
    if (++i == vas.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_TranslateCached(benchmark::State& s) { translate(s, true); }
void BM_TranslateUncached(benchmark::State& s) { translate(s, false); }
BENCHMARK(BM_TranslateCached);
BENCHMARK(BM_TranslateUncached);
// The same addresses in VA order: what a scan of nearby addresses costs.
void BM_TranslateSortedCached(benchmark::State& s) { translate(s, true, true); }
void BM_TranslateSortedUncached(benchmark::State& s) { translate(s, false, true); }
BENCHMARK(BM_TranslateSortedCached);
BENCHMARK(BM_TranslateSortedUncached);

template <typename Engine>
void translate_arm64(benchmark::State& state, const Engine& engine) {
  Fixture& f = arm64_fixture();
  TableReader reader(*f.memory, 256, true);
  const RootSet roots(f.machine.root, f.machine.root);
  size_t i = 0;
  for (auto _ : state) {
    const Translation t = engine.walk(reader, roots, VirtAddr(f.vas[i]));
    benchmark::DoNotOptimize(t.pa);
    if (++i == f.vas.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
void BM_TranslateArm64Cached(benchmark::State& s) { translate_arm64(s, Walker(Paging{&arm64_mode(), {}})); }
// The same walk with every descriptor through the full decoder (no fast path): the baseline
// the fast path is measured against.
void BM_TranslateArm64Generic(benchmark::State& s) {
  translate_arm64(s, BasicWalkEngine<NoFastPath>(Paging{&arm64_mode(), {}}));
}
BENCHMARK(BM_TranslateArm64Cached);
BENCHMARK(BM_TranslateArm64Generic);

void BM_Enumerate(benchmark::State& state) {
  Fixture& f = fixture();
  TableReader reader(*f.memory);
  const Paging paging{&kX86_64_4Level, {}};
  uint64_t ranges = 0;
  for (auto _ : state) {
    enumerate(paging, reader, f.machine.root, {}, [&](const Range&) {
      ++ranges;
      return true;
    });
  }
  state.SetItemsProcessed(static_cast<int64_t>(ranges));
}
BENCHMARK(BM_Enumerate)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pagewalk::bench

BENCHMARK_MAIN();
