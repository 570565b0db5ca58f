#!/usr/bin/env python3
"""Runs pagewalk's benchmarks and prints each figure next to a baseline measured in the
same run: the library (cached table reader vs. uncached), the CLI stream (`translate -`
vs. `cat` of the same input), enumeration, and first answer / peak RSS on a 512 MiB image
(vs. starting `true`)."""
import json
import os
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
PAGEWALK = os.path.join(BUILD, "pagewalk")


def run_timed(cmd, stdin_path=None):
    """Wall seconds and peak RSS (KiB) of one child process."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if stdin_path:
        stdin.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(cmd)} exited {code}: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def best_of(n, cmd, stdin_path=None):
    runs = [run_timed(cmd, stdin_path) for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def library():
    out = subprocess.run([os.path.join(BUILD, "bench", "bench_core"), "--benchmark_format=json",
                          "--benchmark_min_time=1"], check=True, capture_output=True, text=True).stdout
    rates = {b["name"]: b["items_per_second"] for b in json.loads(out)["benchmarks"]}
    print("library (64 GiB space: 4K/2M/1G pages, 1M random VAs; tables in an mmapped-style buffer)")
    for name, rate in rates.items():
        print(f"  {name:<28} {rate / 1e6:8.2f} M/s")
    print(f"  ratio cached/uncached (random) {rates['BM_TranslateCached'] / rates['BM_TranslateUncached']:.2f}x")
    print(f"  ratio cached/uncached (sorted) "
          f"{rates['BM_TranslateSortedCached'] / rates['BM_TranslateSortedUncached']:.2f}x")


def cli(tmp):
    image, vas = os.path.join(tmp, "bench.elf"), os.path.join(tmp, "vas.txt")
    lines = 2_000_000
    subprocess.run([os.path.join(BUILD, "bench", "make_bench_image"), image, "512", vas, str(lines)], check=True)
    print(f"\nCLI on a 512 MiB ELF image ({os.path.getsize(image) >> 20} MiB file), {lines} VAs on stdin")
    cat_s, _ = best_of(3, ["cat", vas])
    print(f"  baseline cat                      {lines / cat_s / 1e6:8.2f} M lines/s")
    for label, extra in (("translate - (brief)", []), ("translate - --jsonl", ["--jsonl"])):
        s, rss = best_of(3, [PAGEWALK, "translate", "--image", image, "-"] + extra, vas)
        print(f"  {label:<33} {lines / s / 1e6:8.2f} M lines/s  ({cat_s / s:.3f}x cat; peak RSS {rss / 1024:.1f} MiB)")
    t0, _ = best_of(5, ["true"])
    t1, rss = best_of(5, [PAGEWALK, "translate", "--image", image, "0x100000000000"])
    print(f"  first answer (one VA, whole process) {t1 * 1e3:6.1f} ms  (starting `true`: {t0 * 1e3:.1f} ms); "
          f"peak RSS {rss / 1024:.1f} MiB")
    s, rss = best_of(1, [PAGEWALK, "map", "--pages", "--jsonl", "--image", image])
    rows = 4 * 1024 * 1024 // 4 + 28 * 512 + 32
    print(f"  map --pages --jsonl               {rows / s / 1e6:8.2f} M rows/s ({rows} leaves, {s:.2f} s; "
          f"peak RSS {rss / 1024:.1f} MiB)")


def main():
    library()
    with tempfile.TemporaryDirectory() as tmp:
        cli(tmp)


if __name__ == "__main__":
    main()
