// Library hot paths: translations per second over the 64 GiB benchmark space through the
// caching table reader against the same reader uncached (the baseline), and enumeration.
// bench/run_bench.py prints the ratios.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "bench_machine.hpp"
#include "core/enumerate.hpp"
#include "sources/segmented_memory.hpp"

namespace pagewalk::bench {
namespace {

struct Fixture {
  Fixture() {
    build(machine);
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
