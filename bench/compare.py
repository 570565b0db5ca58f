#!/usr/bin/env python3
"""Runs the hot-path benchmarks of two builds in one run, interleaved, and prints each
figure of both with the ratio after/before: the library (cached and uncached, random and
in VA order, enumeration), the CLI `translate -` stream (brief and --jsonl) and
`map --pages` (text and --jsonl) on the same 512 MiB image. Usage:
    bench/compare.py BEFORE_BUILD AFTER_BUILD"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from run_bench import best_of  # noqa: E402


def library(build, reps):
    out = subprocess.run([os.path.join(build, "bench", "bench_core"), "--benchmark_format=json",
                          "--benchmark_min_time=0.5", f"--benchmark_repetitions={reps}"],
                         check=True, capture_output=True, text=True).stdout
    runs = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type") == "iteration":
            runs.setdefault(b["run_name"], []).append(b["items_per_second"])
    return runs


def write_mapped_vas(pagewalk, dump, path, count):
    """`count` random VAs inside the leaves CPU 0's tables map in the dump."""
    import random
    out = subprocess.run([pagewalk, "map", "--pages", "--output", "tsv", "--no-header", "--image", dump, "--cpu", "0"],
                         capture_output=True, text=True).stdout
    leaves = [(int(f[0], 16), int(f[1], 16)) for f in (line.split("\t") for line in out.splitlines()) if f[2] == "mapped"]
    rng = random.Random(1)
    with open(path, "w") as f:
        for _ in range(count):
            a, b = leaves[rng.randrange(len(leaves))]
            f.write(f"{rng.randrange(a, b):x}\n")
    return count


def median(v):
    return sorted(v)[len(v) // 2]


def main():
    before, after = sys.argv[1], sys.argv[2]
    rounds = 3  # each round runs both builds, so a slow minute of the VM hits both
    lib = {before: {}, after: {}}
    for _ in range(rounds):
        for b in (before, after):
            for name, r in library(b, 2).items():
                lib[b].setdefault(name, []).extend(r)
    print(f"library, median of {2 * rounds} repetitions per build (M items/s)")
    print(f"  {'benchmark':<28} {'before':>9} {'after':>9}  after/before")
    for name in lib[before]:
        x, y = median(lib[before][name]), median(lib[after][name])
        print(f"  {name:<28} {x / 1e6:9.2f} {y / 1e6:9.2f}  {y / x:.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        image, vas = os.path.join(tmp, "bench.elf"), os.path.join(tmp, "vas.txt")
        lines = 2_000_000
        subprocess.run([os.path.join(after, "bench", "make_bench_image"), image, "512", vas, str(lines)], check=True)
        rows = 4 * 1024 * 1024 // 4 + 28 * 512 + 32
        cases = [("translate - (brief)", ["translate", "--image", image, "-"], vas, lines, "lines"),
                 ("translate - --jsonl", ["translate", "--image", image, "--jsonl", "-"], vas, lines, "lines"),
                 ("translate - --brief --jsonl", ["translate", "--image", image, "--brief", "--jsonl", "-"], vas,
                  lines, "lines"),
                 ("map --jsonl", ["map", "--jsonl", "--image", image], None, None, "rows"),
                 ("map --pages", ["map", "--pages", "--image", image], None, rows, "rows"),
                 ("map --pages --jsonl", ["map", "--pages", "--jsonl", "--image", image], None, rows, "rows")]
        dump = os.environ.get("PAGEWALK_BENCH_DUMP")
        if dump:
            # A real guest's dump: random VAs its own tables map (see run_bench.real_dump).
            dump_vas = os.path.join(tmp, "dump-vas.txt")
            n_dump = write_mapped_vas(os.path.join(after, "pagewalk"), dump, dump_vas, lines)
            d = ["--image", dump, "--cpu", "0"]
            cases += [("dump: translate - (brief)", ["translate"] + d + ["-"], dump_vas, n_dump, "lines"),
                      ("dump: translate - --jsonl", ["translate"] + d + ["--jsonl", "-"], dump_vas, n_dump, "lines"),
                      ("dump: translate --brief --jsonl", ["translate"] + d + ["--brief", "--jsonl", "-"], dump_vas,
                       n_dump, "lines"),
                      ("dump: map --jsonl", ["map", "--jsonl"] + d, None, None, "rows"),
                      ("dump: map --pages --jsonl", ["map", "--pages", "--jsonl"] + d, None, None, "rows")]
        print(f"\nCLI on a 512 MiB ELF image{' and a real dump' if dump else ''}, {lines} VAs on stdin; "
              "best of 3 rounds, builds interleaved (M/s)")
        print(f"  {'command':<32} {'before':>9} {'after':>9}  after/before")
        for label, args, stdin, n, unit in cases:
            best = {before: float("inf"), after: float("inf")}
            for _ in range(3):
                for b in (before, after):
                    s, _ = best_of(1, [os.path.join(b, "pagewalk")] + args, stdin)
                    best[b] = min(best[b], s)
            if n is None:  # rows counted from the output
                out = subprocess.run([os.path.join(after, "pagewalk")] + args, capture_output=True, check=False).stdout
                n = out.count(b"\n")
            x, y = n / best[before], n / best[after]
            print(f"  {label:<32} {x / 1e6:9.2f} {y / 1e6:9.2f}  {y / x:.3f}  ({unit})")


if __name__ == "__main__":
    main()
