#!/usr/bin/env bash
# Runs the test suites: unit (GCC build), sanitize (clang ASan+UBSan build of the same
# tests), fuzz (each libFuzzer target for FUZZ_SECONDS), e2e (Debian's kernel under QEMU).
# Usage: scripts/test.sh all|unit|sanitize|fuzz|e2e
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
stage=${1:-all}

banner() { printf '\n=== %s ===\n' "$*"; }

unit() {
  banner "unit tests (GCC, RelWithDebInfo)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$JOBS"
  # Every JSON document and line the CLI tests produce is kept and checked against the schema.
  local json_dir
  json_dir=$(mktemp -d)
  PAGEWALK_JSON_DIR=$json_dir ctest --test-dir build --output-on-failure -j "$JOBS"
  banner "JSON output of the unit tests against docs/schema/pagewalk.schema.json"
  # ps, maps, page, modules and ptov on an image need a real kernel's structures: the e2e suite checks their records.
  /usr/bin/python3 tests/schema/validate.py --require-all --except ps_document --except ptov_image_document --except ptov_image_line \
    --except maps_document --except maps_line --except page_document --except page_line \
    --except modules_document --except modules_line --self-test \
    --docs docs/json-schema.md "$json_dir"
  rm -rf "$json_dir"
  banner "Python module (import pagewalk) against the CLI"
  PAGEWALK_PYTHON_DIR=build/python PAGEWALK=build/pagewalk /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python
  banner "install into a scratch prefix: the CLI, find_package, pkg-config, the Python module"
  tests/install_test.sh build
  banner "the Debian package (make deb, lintian, unpacked into a scratch root)"
  tests/deb_test.sh
  banner "bad-input corpus (20 s and 256 MiB per case)"
  python3 tests/badinput/run_badinput.py build/pagewalk
}

sanitize_build() {
  cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 \
    -DPAGEWALK_SANITIZE=address,undefined -DPAGEWALK_FUZZ=ON -DPAGEWALK_BENCH=OFF >/dev/null
  cmake --build build-san -j "$JOBS"
}

sanitize() {
  banner "unit tests under ASan+UBSan (clang-14)"
  sanitize_build
  # Whole-process pagemap scans (the reverse map, map --pid of the test process) stay in the
  # GCC stage: under ASan every process carries a shadow mapping of 16+ TiB, and such a scan
  # reads pagemap for all of it, entry by entry (minutes per process).
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-san --output-on-failure -j "$JOBS" -E '^(ReverseMap\.|LiveCli\.Ptov|LiveCli\.MapCounts)'

}

fuzz() {
  banner "fuzzing, ${FUZZ_SECONDS}s per target"
  [ -x build-san/fuzz/fuzz_lines ] || sanitize_build
  local corpus found
  local targets=(fuzz_image fuzz_walk fuzz_gdb_packet fuzz_vmcoreinfo fuzz_symbols fuzz_btf fuzz_kernel fuzz_lines
                 fuzz_structures)
  for t in "${targets[@]}"; do
    corpus=$(mktemp -d)
    cp fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
    echo "--- $t"
    build-san/fuzz/"$t" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$corpus" 2>&1 | grep -E '^(Done [0-9]+ runs|stat::peak_rss_mb|==|SUMMARY|.*ERROR|.*crash-)' || true
    # libFuzzer leaves crash-* files when it finds something.
    # (ls fails when any one pattern matches nothing, so collect what exists.)
    found=$(ls -1 crash-* leak-* timeout-* oom-* 2>/dev/null || true)
    if [ -n "$found" ]; then
      echo "fuzzer $t found a failing input:" >&2
      echo "$found" >&2
      exit 1
    fi
    rm -rf "$corpus"
  done
  echo "fuzz: ${#targets[@]} passed, 0 failed"
}

e2e() {
  banner "real-kernel end to end (Debian kernel under QEMU/TCG)"
  [ -x build/pagewalk ] || unit
  make --no-print-directory static  # the guest's own pagewalk
  python3 tests/e2e/run_e2e.py --pagewalk build/pagewalk --guest-pagewalk build-static/pagewalk --kdump
  banner "32-bit x86 Linux end to end (Debian's 686-pae and 686 kernels under qemu-system-i386)"
  python3 tests/e2e/run_i386.py --pagewalk build/pagewalk
  banner "AArch64 stage 1, every granule and VA size (a bare-metal guest under qemu-system-aarch64)"
  python3 tests/e2e/run_arm64_bare.py --pagewalk build/pagewalk
  banner "arm64 Linux end to end (Debian's arm64 kernel under qemu-system-aarch64 -M virt -cpu max)"
  python3 tests/e2e/run_arm64_linux.py --pagewalk build/pagewalk
}

case "$stage" in
  unit) unit ;;
  sanitize) sanitize ;;
  fuzz) fuzz ;;
  e2e) e2e ;;
  all)
    unit; sanitize; fuzz; e2e
    echo
    echo "stages: 4 passed, 0 failed"  # set -e ends the run at the first failing stage
    ;;
  *) echo "usage: $0 all|unit|sanitize|fuzz|e2e" >&2; exit 2 ;;
esac
