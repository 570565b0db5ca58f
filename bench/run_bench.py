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


def cat_output_rate(cmd, stdin_path, count, tmp):
    """The baseline for an output stream: `cat` of the very bytes the command wrote, in
    items per second (the rate at which the output alone can be moved)."""
    path = os.path.join(tmp, "out.bin")
    with open(path, "wb") as out, open(stdin_path or os.devnull, "rb") as inp:
        subprocess.run(cmd, stdin=inp, stdout=out, stderr=subprocess.DEVNULL, check=False)
    s, _ = best_of(3, ["cat", path])
    size = os.path.getsize(path)
    os.remove(path)
    return count / s, size


def best_of(n, cmd, stdin_path=None):
    runs = [run_timed(cmd, stdin_path) for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def library():
    # Five repetitions: this is a shared VM, so each figure is the median with its range.
    out = subprocess.run([os.path.join(BUILD, "bench", "bench_core"), "--benchmark_format=json",
                          "--benchmark_min_time=0.5", "--benchmark_repetitions=5"],
                         check=True, capture_output=True, text=True).stdout
    runs = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type") == "iteration":
            runs.setdefault(b["run_name"], []).append(b["items_per_second"])
    rates = {name: sorted(r)[len(r) // 2] for name, r in runs.items()}
    print("library (64 GiB space: 4K/2M/1G pages, 1M random VAs; tables in an mmapped-style buffer)")
    print("  median of 5 (range)")
    for name, r in runs.items():
        print(f"  {name:<28} {rates[name] / 1e6:8.2f} M/s  ({min(r) / 1e6:.2f}-{max(r) / 1e6:.2f})")
    print(f"  ratio cached/uncached (random) {rates['BM_TranslateCached'] / rates['BM_TranslateUncached']:.2f}x")
    print(f"  ratio cached/uncached (sorted) "
          f"{rates['BM_TranslateSortedCached'] / rates['BM_TranslateSortedUncached']:.2f}x")
    print(f"  ratio arm64-4k-48/x86-64 (random, cached) "
          f"{rates['BM_TranslateArm64Cached'] / rates['BM_TranslateCached']:.2f}x")
    print(f"  ratio arm64 fast path/full decoder      "
          f"{rates['BM_TranslateArm64Cached'] / rates['BM_TranslateArm64Generic']:.2f}x")


def cli(tmp):
    image, vas = os.path.join(tmp, "bench.elf"), os.path.join(tmp, "vas.txt")
    lines = 2_000_000
    subprocess.run([os.path.join(BUILD, "bench", "make_bench_image"), image, "512", vas, str(lines)], check=True)
    print(f"\nCLI on a 512 MiB ELF image ({os.path.getsize(image) >> 20} MiB file), {lines} VAs on stdin")
    cat_s, _ = best_of(3, ["cat", vas])
    print(f"  baseline cat of the input         {lines / cat_s / 1e6:8.2f} M lines/s")
    for label, extra in (("translate - (brief)", []), ("translate - --jsonl", ["--jsonl"]),
                         ("translate - --brief --jsonl", ["--brief", "--jsonl"])):
        cmd = [PAGEWALK, "translate", "--image", image, "-"] + extra
        s, rss = best_of(3, cmd, vas)
        cat_rate, size = cat_output_rate(cmd, vas, lines, tmp)
        print(f"  {label:<33} {lines / s / 1e6:8.2f} M lines/s  (cat of its {size >> 20} MiB output: "
              f"{cat_rate / 1e6:.1f} M lines/s; peak RSS {rss / 1024:.1f} MiB)")
    t0, _ = best_of(5, ["true"])
    t1, rss = best_of(5, [PAGEWALK, "translate", "--image", image, "0x100000000000"])
    print(f"  first answer (one VA, whole process) {t1 * 1e3:6.1f} ms  (starting `true`: {t0 * 1e3:.1f} ms); "
          f"peak RSS {rss / 1024:.1f} MiB")
    python_api(image, vas, lines / best_of(3, [PAGEWALK, "translate", "--image", image, "-"], vas)[0])
    rows = 4 * 1024 * 1024 // 4 + 28 * 512 + 32
    cmd = [PAGEWALK, "map", "--pages", "--jsonl", "--image", image]
    s, rss = best_of(1, cmd)
    cat_rate, _ = cat_output_rate(cmd, None, rows, tmp)
    print(f"  map --pages --jsonl               {rows / s / 1e6:8.2f} M rows/s ({rows} leaves, {s:.2f} s; "
          f"cat of its output {cat_rate / 1e6:.1f} M rows/s; peak RSS {rss / 1024:.1f} MiB)")


PY_BENCH = r"""
import array, sys, time
sys.path.insert(0, sys.argv[1])
import pagewalk
t = pagewalk.open(image=sys.argv[2])
vas = array.array("Q", (int(line, 16) for line in open(sys.argv[3])))
runs = []
for _ in range(3):
    t0 = time.perf_counter(); t.translate_many(vas); runs.append(time.perf_counter() - t0)
few = vas[:200000]
t0 = time.perf_counter()
for va in few:
    t.translate(va)
one = time.perf_counter() - t0
print(len(vas) / min(runs), len(few) / one)
"""


def python_api(image, vas, cli_rate):
    """translate_many through the buffer path, beside one-by-one translate() calls and the CLI
    stream on the same VAs."""
    pydir = os.path.join(BUILD, "python")
    if not os.path.isdir(pydir):
        print("  (no Python module in this build)")
        return
    out = subprocess.run(["/usr/bin/python3", "-c", PY_BENCH, pydir, image, vas], check=True, capture_output=True,
                         text=True).stdout.split()
    many, one = float(out[0]), float(out[1])
    print(f"  python translate_many (buffer)    {many / 1e6:8.2f} M VAs/s  (translate() one by one: "
          f"{one / 1e6:.2f} M/s, {many / one:.1f}x; the CLI stream: {cli_rate / 1e6:.2f} M lines/s)")


def available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def live():
    """map --pid over a process with up to 8 GiB resident against a raw loop of 8,192-entry
    preads over the same pagemap (same run); ptov over every process, per GiB resident."""
    print("\nlive processes (/proc/PID/pagemap)")
    if os.geteuid() != 0:
        print("  skipped: needs root (PFNs, kpageflags)")
        return
    want = 8192
    size = min(want, available_mib() - 1536)  # leave at least 1.5 GiB free
    if size < 256:
        print(f"  skipped: only {available_mib()} MiB available")
        return
    note = "" if size == want else f" (8 GiB cannot be made resident here: {available_mib()} MiB available)"
    proc = subprocess.Popen([os.path.join(BUILD, "bench", "live_resident"), str(size)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        pid = proc.stdout.readline().strip()
        raw = min(float(subprocess.run([os.path.join(BUILD, "bench", "pagemap_raw"), pid, "1"], check=True,
                                       capture_output=True, text=True).stdout.split()[2]) for _ in range(5))
        pages = int(subprocess.run([os.path.join(BUILD, "bench", "pagemap_raw"), pid, "1"], check=True,
                                   capture_output=True, text=True).stdout.split()[0])
        print(f"  target: {size} MiB resident, 4 KiB pages, {pages} pagemap entries{note}")
        print(f"  baseline raw 8,192-entry pread loop  {pages / raw / 1e6:8.2f} M pages/s ({raw * 1e3:.1f} ms, in process)")
        for label, extra in (("map --pid (text)", []), ("map --pid --jsonl", ["--jsonl"])):
            s, rss = best_of(5, [PAGEWALK, "map", "--pid", pid] + extra)
            print(f"  {label:<36} {pages / s / 1e6:8.2f} M pages/s ({s * 1e3:.1f} ms, whole process; "
                  f"{raw / s:.2f}x raw; peak RSS {rss / 1024:.1f} MiB)")
        # After the timed runs: peak RSS is the maximum over every child so far, and the one
        # --json document is much bigger than the streamed forms.
        first = json.loads(subprocess.run([PAGEWALK, "map", "--pid", pid, "--json"], check=True, capture_output=True,
                                          text=True).stdout)
        # One output row per physical run: how scattered the frames are sets the formatting work.
        print(f"  rows printed: {len(first['ranges'])} physical runs")
        big = max(first["mappings"], key=lambda m: m["resident_bytes"])
        runs = [r for r in first["ranges"] if r["mapping"] == big["region"]["start"]]
        pa = runs[len(runs) // 2]["pa"]
        start = time.perf_counter()
        out = subprocess.run([PAGEWALK, "ptov", "--all", "--json", pa], capture_output=True, text=True)
        s = time.perf_counter() - start
        r = json.loads(out.stdout)
        gib = r["resident_pages"] * 4096 / 2**30
        print(f"  ptov --all (every process, {r['processes_scanned']} scanned, {gib:.2f} GiB resident) "
              f"{s:.3f} s = {s / gib:.4f} s per GiB resident; found {len(r['mappers'])} mapper(s)")
    finally:
        proc.stdin.close()
        proc.wait()


def real_dump(dump, tmp):
    """The stream figures on a real guest's dump (PAGEWALK_BENCH_DUMP=FILE, an ELF core of a
    Linux guest with its CPU registers, as the e2e suite's --keep leaves): random VAs that
    the dump's own tables map, from map --pages."""
    import random
    rows = subprocess.run([PAGEWALK, "map", "--pages", "--jsonl", "--image", dump, "--cpu", "0"],
                          capture_output=True, text=True).stdout.splitlines()
    leaves = [json.loads(r) for r in rows]
    leaves = [(int(r["start"], 16), int(r["end"], 16)) for r in leaves if r.get("kind") == "mapped"]
    if not leaves:
        print(f"\nreal dump {dump}: no mapped leaves; skipped")
        return
    rng = random.Random(1)
    lines = 2_000_000
    vas = os.path.join(tmp, "dump-vas.txt")
    with open(vas, "w") as f:
        for _ in range(lines):
            a, b = leaves[rng.randrange(len(leaves))]
            f.write(f"{rng.randrange(a, b):x}\n")
    print(f"\nCLI on a real dump ({os.path.getsize(dump) >> 20} MiB, {len(leaves)} leaves mapped by CPU 0's CR3), "
          f"{lines} random mapped VAs")
    for label, extra in (("translate - (brief)", []), ("translate - --jsonl", ["--jsonl"]),
                         ("translate - --brief --jsonl", ["--brief", "--jsonl"])):
        cmd = [PAGEWALK, "translate", "--image", dump, "--cpu", "0", "-"] + extra
        s, rss = best_of(3, cmd, vas)
        cat_rate, size = cat_output_rate(cmd, vas, lines, tmp)
        print(f"  {label:<33} {lines / s / 1e6:8.2f} M lines/s  (cat of its {size >> 20} MiB output: "
              f"{cat_rate / 1e6:.1f} M lines/s; peak RSS {rss / 1024:.1f} MiB)")
    for label, extra in (("map --jsonl", []), ("map --pages --jsonl", ["--pages"])):
        cmd = [PAGEWALK, "map", "--jsonl", "--image", dump, "--cpu", "0"] + extra
        n = len(subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines())
        s, rss = best_of(3, cmd)
        cat_rate, _ = cat_output_rate(cmd, None, n, tmp)
        print(f"  {label:<33} {n / s / 1e6:8.2f} M rows/s ({n} rows, {s:.2f} s; cat of its output "
              f"{cat_rate / 1e6:.1f} M rows/s; peak RSS {rss / 1024:.1f} MiB)")


def forensics(dump, tmp):
    """The forensic passes on a real Linux dump: the reverse map of many frames over every
    process and the kernel, search against grep over the same file, maps of every process;
    each beside `ps` on the same dump (opening the kernel and its task list, which every one
    of them does first)."""
    import random
    ps_s, _ = best_of(3, [PAGEWALK, "ps", "--image", dump])
    print(f"\nforensics on the real dump (baseline: ps, opening the kernel and its task list, {ps_s * 1e3:.0f} ms)")
    info = json.loads(subprocess.run([PAGEWALK, "info", "--image", dump, "--json"], capture_output=True,
                                     text=True).stdout)
    ranges = [(int(r["start"], 16), int(r["end"], 16)) for r in info.get("ram", info.get("ranges", []))]
    rng = random.Random(2)
    pas = os.path.join(tmp, "pas.txt")
    count = 10_000
    with open(pas, "w") as f:
        for _ in range(count):
            a, b = ranges[rng.randrange(len(ranges))] if ranges else (0, 1 << 29)
            f.write(f"{rng.randrange(a, b):x}\n")
    for label, cmd, stdin in (
            (f"ptov - ({count} random PAs)", [PAGEWALK, "ptov", "--image", dump, "--jsonl", "-"], pas),
            ("ptov one PA", [PAGEWALK, "ptov", "--image", dump, "1000"], None),
            ("maps (every process)", [PAGEWALK, "maps", "--image", dump], None)):
        s, rss = best_of(3, cmd, stdin)
        print(f"  {label:<33} {s * 1e3:8.0f} ms  ({(s - ps_s) * 1e3:+.0f} ms over ps; peak RSS {rss / 1024:.1f} MiB)")
    pattern = "Hello mm paging!"
    # grep's output goes to a pipe: GNU grep stops at the first match when it sees its
    # stdout is /dev/null, which best_of gives.
    grep_s = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(["grep", "-c", "-a", "-F", pattern, dump], stdout=subprocess.PIPE, check=False)
        grep_s = min(grep_s, time.perf_counter() - start)
    for label, extra in (("search --no-vas", ["--no-vas"]), ("search (with every VA of each hit)", [])):
        s, rss = best_of(3, [PAGEWALK, "search", "--image", dump, pattern] + extra)
        print(f"  {label:<33} {s * 1e3:8.0f} ms  ({grep_s / s:.2f}x the speed of grep -c -a -F over the file, "
              f"{grep_s * 1e3:.0f} ms; peak RSS {rss / 1024:.1f} MiB)")


def main():
    library()
    with tempfile.TemporaryDirectory() as tmp:
        cli(tmp)
        if os.environ.get("PAGEWALK_BENCH_DUMP"):
            real_dump(os.environ["PAGEWALK_BENCH_DUMP"], tmp)
            forensics(os.environ["PAGEWALK_BENCH_DUMP"], tmp)
    live()


if __name__ == "__main__":
    main()
