#!/usr/bin/env bash
# Benchmarks (Release build): prints figures with their same-run baselines.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPAGEWALK_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)"
python3 bench/run_bench.py build-bench
