#!/usr/bin/env python3
"""AArch64 stage 1 translation, every granule and VA size, held to QEMU's own MMU.

For each configuration (4 KiB pages at 39, 48 and 52 bits with FEAT_LPA2; 16 KiB at 36, 47
and 48; 64 KiB at 42, 48 and 52 with FEAT_LPA; 48-bit VAs with 52-bit OAs, 4 KiB under
TCR.DS and 64 KiB with a 52-bit IPS; and two whose halves differ in granule and size: TTBR0
4 KiB/48 bits with TTBR1 64 KiB/42, TTBR0 64 KiB/48 with TTBR1 16 KiB/36) this
suite builds page tables for both halves itself — pages with every AP, UXN, PXN and nG
combination, one with AF clear, a contiguous run, blocks at every level the granule allows
(in both halves) and at one it forbids, a subtree under APTable/UXNTable/PXNTable, invalid
descriptors, holes — and boots a bare-metal guest
(guest/arm64-mmu.S, cross-compiled, no libc) under `qemu-system-aarch64 -M virt -cpu max`
that loads MAIR, TCR, TTBR0 and TTBR1, enables the MMU and spins. With the vCPU stopped at
EL1, QEMU's `gva2gpa` answers for every VA; then `dump-guest-memory` writes an ELF core, and
pagewalk, given that core and the same four registers (`--tcr --ttbr0 --ttbr1 --mair`), must
give the same physical address for every VA (`translate`), and every range `map` reports
must agree with gva2gpa on its first, middle and last page, every hole too.

Where QEMU 7.2's debug translation departs from the architecture, pagewalk follows the
architecture and the suite counts the difference: gva2gpa accepts a block descriptor at a
level where the granule allows none (pagewalk: an invalid encoding, a translation fault).
QEMU's gva2gpa also ignores the access flag: an AF=0 page is mapped to both, and pagewalk
shows AF clear.

Usage: run_arm64_bare.py --pagewalk build/pagewalk [--case NAME] [--keep DIR]
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from qemu_guest import GuestError, QmpClient, free_tcp_port, parse_gva2gpa  # noqa: E402

RAM_BASE, RAM_SIZE = 0x40000000, 256 << 20
CONFIG_PA = 0x40010000      # where guest/arm64-mmu.S reads its four registers
CODE_PA = 0x40080000        # the guest's text (-Wl,-Ttext)
TABLES_PA = 0x44000000      # the suite's tables
# name, (granule KiB, VA bits) of TTBR0's half and of TTBR1's, 52-bit OA
CASES = [(f"{kib}k-{bits}", [(kib, bits)] * 2, oa52) for kib, bits, oa52 in (
    (4, 39, False), (4, 48, False), (4, 52, True), (16, 36, False), (16, 47, False), (16, 48, False),
    (64, 42, False), (64, 48, False), (64, 52, True))]
# 48-bit VAs with 52-bit OAs: 4 KiB pages under TCR.DS (the LPA2 format, level 0 blocks) and
# 64 KiB pages with a 52-bit IPS (OA[51:48] in bits 15:12, level 1 blocks).
CASES += [("4k-48-lpa2", [(4, 48)] * 2, True), ("64k-48-lpa", [(64, 48)] * 2, True)]
# Halves of different granules and sizes (TG0 != TG1, T0SZ != T1SZ): a split mode.
CASES += [("4k-48/64k-42", [(4, 48), (64, 42)], False), ("64k-48/16k-36", [(64, 48), (16, 36)], False)]


def mode_name(halves):
    """The mode pagewalk names for the halves' shapes."""
    low, high = (f"{kib}k-{bits}" for kib, bits in halves)
    return f"arm64-{low}" if low == high else f"arm64-{low}/{high}"
# MAIR_EL1: attr0 Normal write-back, attr1 Device-nGnRnE, attr2 Normal non-cacheable.
MAIR = 0x44_00_ff
V, TABLE_OR_PAGE, AF, NG = 1, 2, 1 << 10, 1 << 11
AP_EL0, AP_RO = 1 << 6, 1 << 7
CONT, PXN, UXN = 1 << 52, 1 << 53, 1 << 54
PXN_TABLE, UXN_TABLE, AP_TABLE_NO_EL0, AP_TABLE_RO = 1 << 59, 1 << 60, 1 << 61, 1 << 62


class SetupError(RuntimeError):
    pass


class Half:
    """One half's shape (D8.2): its granule and VA size give its levels, each resolving
    granule - 3 bits; the descriptor format follows the OA size and TCR.DS (D8.3)."""

    def __init__(self, granule_kib, va_bits, oa52, ds):
        self.g = {4: 12, 16: 14, 64: 16}[granule_kib]
        self.b = self.g - 3
        self.va_bits = va_bits
        self.n = -(-(va_bits - self.g) // self.b)  # levels
        self.top_bits = (va_bits - self.g) - (self.n - 1) * self.b
        self.lpa2 = ds and granule_kib != 64
        self.lpa = oa52 and granule_kib == 64
        self.oa52 = oa52

    def number(self, i):  # the architecture's level number of level i
        return 4 - self.n + i

    def shift(self, i):
        return self.g + (self.n - 1 - i) * self.b

    def index(self, va, i):
        bits = self.top_bits if i == 0 else self.b
        return (va >> self.shift(i)) & ((1 << bits) - 1)

    def block_allowed(self, i):
        k = self.number(i)
        if self.g == 12:
            return k in (1, 2) or (self.oa52 and k == 0)
        return k == 2 or (self.oa52 and k == 1)

    def encode(self, pa):
        if self.lpa2:
            return (pa & ((1 << 50) - 1) & ~((1 << self.g) - 1)) | ((pa >> 50) & 3) << 8
        if self.lpa:
            return (pa & ((1 << 48) - 1) & ~0xffff) | ((pa >> 48) & 0xf) << 12
        return pa & ((1 << 48) - 1) & ~((1 << self.g) - 1)

    def decode_table(self, raw):
        if self.lpa2:
            return (raw & ((1 << 50) - 1) & ~((1 << self.g) - 1)) | ((raw >> 8) & 3) << 50
        if self.lpa:
            return (raw & ((1 << 48) - 1) & ~0xffff) | ((raw >> 12) & 0xf) << 48
        return raw & ((1 << 48) - 1) & ~((1 << self.g) - 1)


class Tables:
    """Stage 1 tables for one configuration, written into a blob loaded at TABLES_PA (the
    Arm ARM's formats, D8.3: table, block and page descriptors; OA[51:48] in bits 15:12 for
    64 KiB pages with a 52-bit OA, OA[51:50] in bits 9:8 under LPA2). Each half has its own
    shape: TTBR0's from T0SZ and TG0, TTBR1's from T1SZ and TG1."""

    def __init__(self, halves, oa52):
        ds = oa52 and any(kib != 64 for kib, _ in halves)  # TCR.DS: one bit for both halves
        self.h = [Half(kib, va_bits, oa52, ds) for kib, va_bits in halves]
        self.ds = ds
        self.oa52 = oa52
        self.words = {}
        self.forbidden_blocks = []  # [start, end) of blocks at levels that allow none
        self.loops = []             # VAs whose top-level entry points back at its own table
        self.next = TABLES_PA
        self.root = [self.alloc(0), self.alloc(1)]

    def alloc(self, half):
        g = self.h[half].g
        at = (self.next + (1 << g) - 1) & ~((1 << g) - 1)
        self.next = at + (1 << g)
        return at

    def slot(self, half, va, level, table_attrs=0):
        """The PA of va's descriptor at `level`, making tables on the way (new tables get
        table_attrs)."""
        h = self.h[half]
        table = self.root[half]
        for i in range(level):
            at = table + 8 * h.index(va, i)
            raw = self.words.get(at, 0)
            if not raw:
                raw = h.encode(self.alloc(half)) | V | TABLE_OR_PAGE | table_attrs
                self.words[at] = raw
            table = h.decode_table(raw)
        return table + 8 * h.index(va, level)

    def free(self, half, level):
        """A VA aligned to `level`'s span, from the top of the half's tree down, whose path
        holds only tables (or nothing yet) and whose own entry is empty; None if none."""
        h = self.h[half]
        span, size = 1 << h.shift(level), 1 << h.va_bits
        for k in range(1, 4096):
            tree = size - k * span
            if tree < 0:
                return None
            va = tree if half == 0 else (1 << 64) - size + tree
            table, ok = self.root[half], True
            for i in range(level + 1):
                raw = self.words.get(table + 8 * h.index(va, i), 0)
                if i == level:
                    ok = raw == 0
                elif raw == 0:
                    break  # nothing below yet: free
                elif raw & 3 != 3:
                    ok = False
                    break
                else:
                    table = h.decode_table(raw)
            if ok:
                return va
        return None

    def put(self, half, va, level, raw, table_attrs=0):
        self.words[self.slot(half, va, level, table_attrs)] = raw

    def leaf(self, half, va, level, pa, attrs, table_attrs=0):
        h = self.h[half]
        page = level == h.n - 1
        sh = 0 if h.lpa2 else 3 << 8
        self.put(half, va, level, h.encode(pa) | V | (TABLE_OR_PAGE if page else 0) | sh | attrs, table_attrs)

    def blob(self):
        size = self.next - TABLES_PA
        out = bytearray(size)
        for at, raw in self.words.items():
            struct.pack_into("<Q", out, at - TABLES_PA, raw)
        return bytes(out)

    def tcr(self):
        h0, h1 = self.h
        tg0 = {12: 0, 14: 2, 16: 1}[h0.g]
        tg1 = {12: 2, 14: 1, 16: 3}[h1.g]
        t = (64 - h0.va_bits) | (64 - h1.va_bits) << 16 | tg0 << 14 | tg1 << 30
        t |= 1 << 8 | 1 << 10 | 1 << 24 | 1 << 26        # IRGN/ORGN write-back, both halves
        if not self.ds:
            t |= 3 << 12 | 3 << 28                       # SH0/SH1 inner shareable
        t |= (6 if self.oa52 else 5) << 32               # IPS: 52 or 48 bits
        t |= 1 << 37                                     # TBI0: TTBR0's VAs may carry a tag
        if self.ds:
            t |= 1 << 59                                 # DS: the LPA2 format
        return t


def build(case):
    """The tables of one case and the VAs to ask about, each with what is expected:
    'same' (pagewalk = gva2gpa) or 'architecture' (QEMU maps what the architecture faults)."""
    _, halves, oa52 = case
    t = Tables(halves, oa52)
    h, h1 = t.h
    page, last = 1 << h.g, h.n - 1
    vas = []
    # The guest's own code page, identity-mapped (EL1 read/write/execute).
    code = CODE_PA & ~(page - 1)
    t.leaf(0, code, last, code, AF | UXN)
    vas.append((code + 0x40, "same", "code"))
    # Pages of every permission combination, nG on some, AF clear on one, above 4 GiB.
    base_va = 0x20000000
    frame = (0x9 << 48 if oa52 else 0) | (0x123 << 32)
    combos = [(ap, x) for ap in (0, AP_EL0, AP_RO, AP_EL0 | AP_RO) for x in (0, UXN, PXN, UXN | PXN)]
    for k, (ap, x) in enumerate(combos):
        va, pa = base_va + k * page, frame + k * 7 * page
        t.leaf(0, va, last, pa, ap | x | (NG if k % 3 == 0 else 0) | (0 if k == 5 else AF) | (k % 3) << 2)
        vas.append((va + 0x10 * k, "same", f"page ap={ap >> 6} x={x >> 53}"))
    # A contiguous run (D8.6.1): 16 pages of 4 KiB, 128 of 16 KiB, 32 of 64 KiB.
    cont = {12: 16, 14: 128, 16: 32}[h.g]
    run_va = base_va + (64 << 20)  # 64 MiB up: aligned for any run, clear of the pages and the code
    run_pa = frame + (1 << 30)
    for k in range(cont):
        t.leaf(0, run_va + k * page, last, run_pa + k * page, AF | CONT)
    vas += [(run_va + k * page + 8, "same", "contiguous") for k in (0, cont // 2, cont - 1)]
    # Not valid with other bits set, a level-3 descriptor with bits[1:0] = 01, a hole.
    t.put(0, base_va + 20 * page, last, 0x0000_1234_5678_9000)
    t.put(0, base_va + 21 * page, last, h.encode(frame) | V | AF)
    vas += [(base_va + 20 * page, "same", "not valid"), (base_va + 21 * page, "same", "L3 01"),
            (base_va + 22 * page, "same", "hole")]
    # Blocks at every level that allows one, and at those that allow none (each in a stretch
    # of the low half its own: a block's parents must be tables, nothing below it).
    for i in range(last):
        span = 1 << h.shift(i)
        va = t.free(0, i)
        if va is None:
            continue
        pa = ((0xa << 48) if oa52 else (0x7 << 40)) & ~(span - 1) or span
        t.leaf(0, va, i, pa, AF | PXN)
        kind = "same" if h.block_allowed(i) else "architecture"
        vas += [(va + 0x1238, kind, f"block L{h.number(i)}"), (va + span - 8, kind, f"block L{h.number(i)} end")]
        if kind == "architecture":
            t.forbidden_blocks.append((va, va + span))
    # A subtree under APTable[0] (no EL0), UXNTable and PXNTable: gva2gpa ignores rights.
    sub_va = base_va + (4 << h.shift(last - 1))
    for k in range(3):
        t.leaf(0, sub_va + k * page, last, frame + (2 << 30) + k * page, AF | AP_EL0,
               table_attrs=AP_TABLE_NO_EL0 | UXN_TABLE | PXN_TABLE)
    vas.append((sub_va + page + 0x44, "same", "under APTable"))
    # The high half, in its own shape: pages and a hole near the top, a page just inside its
    # start, and a block at every level that allows one.
    page1, last1 = 1 << h1.g, h1.n - 1
    top = (1 << 64) - 1
    low1 = top - (1 << h1.va_bits) + 1
    for k, va in enumerate((top - 3 * page1 + 1, low1 + 5 * page1)):
        t.leaf(1, va, last1, frame + (3 << 30) + k * page1, AF | UXN)
        vas.append((va + 0x80, "same", "TTBR1 page"))
    vas.append((top - 7 * page1 + 1, "same", "TTBR1 hole"))
    for i in range(last1):
        va = t.free(1, i) if h1.block_allowed(i) else None
        if va is not None:
            span = 1 << h1.shift(i)
            t.leaf(1, va, i, (0x5 << 40) & ~(span - 1) or span, AF | UXN)
            vas += [(va + 0x2468, "same", f"TTBR1 block L{h1.number(i)}"),
                    (va + span - 8, "same", f"TTBR1 block L{h1.number(i)} end")]
    # A table descriptor that points back at the high half's root: a loop. It goes in the
    # first table on the way to the top page with a free entry halfway down (a 16 KiB root
    # at 48 bits has two entries, both taken). The walk under it reads the root again as the
    # next level; map must say loop and go on.
    table = t.root[1]
    for i in range(last1):
        above = h1.shift(i) + (h1.top_bits if i == 0 else h1.b)
        loop_va = (top >> above << above) | (h1.index(top, i) // 2) << h1.shift(i)
        loop_slot = table + 8 * h1.index(loop_va, i)
        if not t.words.get(loop_slot):
            break
        table = h1.decode_table(t.words[table + 8 * h1.index(top, i)])
    else:
        raise SetupError("no free entry for the loop on the way to the top page")
    t.words[loop_slot] = h1.encode(t.root[1]) | V | TABLE_OR_PAGE
    t.loops.append(loop_va)
    vas.append((loop_va + 0x1000, "same", "under a loop"))
    # Between the halves: no table at all.
    vas.append((1 << h.va_bits, "same", "between the halves"))
    vas.append((low1 - page1, "same", "below TTBR1's half"))
    # Tagged VAs (TCR.TBI0=1, TBI1=0): TTBR0's ignore their top byte; a tag on a TTBR1
    # address leaves it in no region (D8.8).
    user = [va for va, how, _ in vas if how == "same" and va < (1 << h.va_bits)][:4]
    vas += [(va | 0x5A << 56, "same", "tagged TTBR0") for va in user]
    vas += [((va & ~(0xFF << 56)) | 0x5A << 56, "same", "tagged TTBR1")
            for va, how, _ in vas if how == "same" and va >= (1 << 63)][:2]
    return t, vas


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


class Result:
    """A case's counts and failures: the first 5 failures of each check are kept, and every
    check that failed is counted, so that one check's many cannot hide another's."""

    def __init__(self):
        self.failures, self.counts, self.failed = [], {}, {}

    def fail(self, what, detail):
        self.failed[what] = self.failed.get(what, 0) + 1
        if self.failed[what] <= 5:
            self.failures.append(f"{what}: {detail}")

    def count(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + n


def pagewalk_lines(pw, args):
    r = run([pw, *args], timeout=300)
    if r.returncode not in (0, 1):
        raise SetupError(f"pagewalk {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return [json.loads(line) for line in r.stdout.splitlines()]


def run_case(args, case, program, work):
    name = case[0]
    res = Result()
    t, vas = build(case)
    ttbr0 = t.root[0] | 0x12 << 48 | 1  # ASID 0x12 and CnP: taken whole, as a CPU holds it
    ttbr1 = t.root[1]
    tcr = t.tcr()
    cfg = os.path.join(work, "config.bin")
    with open(cfg, "wb") as f:
        f.write(struct.pack("<4Q", MAIR, tcr, ttbr0, ttbr1))
    tables = os.path.join(work, "tables.bin")
    with open(tables, "wb") as f:
        f.write(t.blob())
    qmp_path = os.path.join(work, "qmp.sock")
    gdb_port = free_tcp_port()
    cmd = ["qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-accel", "tcg", "-m", str(RAM_SIZE >> 20),
           "-smp", "1", "-nographic", "-monitor", "none", "-serial", "none", "-no-reboot", "-nic", "none",
           "-kernel", program,
           "-device", f"loader,file={cfg},addr=0x{CONFIG_PA:x},force-raw=on",
           "-device", f"loader,file={tables},addr=0x{TABLES_PA:x},force-raw=on",
           "-qmp", f"unix:{qmp_path},server=on,wait=off", "-gdb", f"tcp:127.0.0.1:{gdb_port}"]
    with open(os.path.join(work, "qemu-cmdline.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    qmp = QmpClient(qmp_path)
    dump = os.path.join(work, "dump.elf")
    try:
        qmp.connect(time.monotonic() + 30, alive=lambda: proc.poll() is None)
        hmp = lambda c: qmp.execute("human-monitor-command", {"command-line": c}, timeout=60)  # noqa: E731
        deadline = time.monotonic() + 30
        while True:  # the guest reached its spin loop: x0 holds the marker
            time.sleep(0.2)
            if "X00=000000005a5a5a5a" in hmp("info registers"):
                break
            if time.monotonic() > deadline:
                raise SetupError("the guest never reached its spin loop:\n" + hmp("info registers")[:600])
        qmp.execute("stop")
        qemu_pa = {va: parse_gva2gpa(hmp(f"gva2gpa 0x{va:x}")) for va, _, _ in vas}
        # The running guest through its gdbstub: the registers come from the vCPU itself.
        live = pagewalk_lines(args.pagewalk, ["translate", "--qemu", f"127.0.0.1:{gdb_port}", "--jsonl",
                                              *[hex(v) for v, _, _ in vas]])
        r = run([args.pagewalk, "info", "--qemu", f"127.0.0.1:{gdb_port}", "--json"], timeout=60)
        live_info = json.loads(r.stdout) if r.returncode == 0 else {}
        qmp.execute("dump-guest-memory", {"paging": False, "protocol": f"file:{dump}", "detach": False}, timeout=300)
        ranges = pagewalk_lines(args.pagewalk, ["map", "--image", dump, "--tcr", hex(tcr), "--ttbr0", hex(ttbr0),
                                                "--ttbr1", hex(ttbr1), "--mair", hex(MAIR), "--holes", "--jsonl"])
        samples = []
        for r in ranges:
            start, end = int(r["start"], 16), int(r["end"], 16)
            if r.get("kind") not in ("mapped", "hole") or end <= start:
                continue
            g = t.h[1 if start >> 63 else 0].g  # the page size of the range's half
            pages = (end - start) // (1 << g)
            for off in sorted({0, pages // 2, max(pages - 1, 0)}):
                va = start + off * (1 << g) + 0x18
                if va not in qemu_pa:
                    samples.append((va, r))
        sample_pa = {va: parse_gva2gpa(hmp(f"gva2gpa 0x{va:x}")) for va, _ in samples[:4000]}
    except (GuestError, OSError, ValueError) as e:
        raise SetupError(f"QEMU: {e}")
    finally:
        try:
            qmp.execute("quit", timeout=5)
        except (GuestError, OSError, ValueError):
            pass
        qmp.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    cpus = live_info.get("cpus") or [{}]
    if cpus[0].get("mode") != mode_name(case[1]):
        res.fail("qemu", f"info --qemu gives mode {cpus[0].get('mode')}, not {mode_name(case[1])}")
    got = cpus[0].get("registers", {})
    for reg, want in (("tcr_el1", tcr), ("ttbr0_el1", ttbr0), ("ttbr1_el1", ttbr1), ("mair_el1", MAIR)):
        if int(got.get(reg, "0x0"), 16) != want:
            res.fail("qemu", f"{reg}: the gdbstub gives {got.get(reg)}, the guest loaded 0x{want:x}")
    for (va, kind, what), r in zip(vas, live):
        ours = int(r["pa"], 16) if r.get("status") == "mapped" else None
        if kind == "same" and ours != qemu_pa[va]:
            res.fail("qemu", f"{what} 0x{va:x}: pagewalk --qemu {r.get('status')} {r.get('pa')}, gva2gpa {qemu_pa[va]}")
        res.count("qemu_vas_compared")
    regs = ["--tcr", hex(tcr), "--ttbr0", hex(ttbr0), "--ttbr1", hex(ttbr1), "--mair", hex(MAIR)]
    results = pagewalk_lines(args.pagewalk, ["translate", "--image", dump, *regs, "--jsonl", *[hex(v) for v, _, _ in vas]])
    if len(results) != len(vas):
        res.fail("translate", f"{len(results)} answers for {len(vas)} VAs")
    for (va, kind, what), r in zip(vas, results):
        ours = int(r["pa"], 16) if r.get("status") == "mapped" else None
        theirs = qemu_pa[va]
        if kind == "same":
            if ours != theirs:
                res.fail("translate", f"{what} 0x{va:x}: pagewalk {r.get('status')} {r.get('pa')}, gva2gpa "
                                      f"{'unmapped' if theirs is None else hex(theirs)}")
            res.count("vas_compared")
        else:  # QEMU maps what the architecture faults: pagewalk must say the encoding is invalid
            if ours is not None or theirs is None or "reserved" not in r.get("status", "") + r.get("reason", ""):
                res.fail("translate", f"{what} 0x{va:x}: pagewalk {r.get('status')} ({r.get('reason')}), gva2gpa "
                                      f"{'unmapped' if theirs is None else hex(theirs)}")
            res.count("architecture_differs_from_gva2gpa")
        if what == "under APTable" and r.get("access", {}).get("user") != "---":
            res.fail("access", f"0x{va:x} under APTable[0]: user {r.get('access')}")
        if what.startswith("page ap=1") and r.get("access", {}).get("kernel", "")[2:] != "-":
            res.fail("access", f"0x{va:x} ({what}): EL0-writable yet EL1-executable: {r.get('access')}")
    for va, r in samples[:4000]:
        theirs = sample_pa[va]
        if r["kind"] == "hole":
            if any(a <= va < b for a, b in t.forbidden_blocks):
                if theirs is None:
                    res.fail("map", f"0x{va:x}: a block where the granule allows none, and gva2gpa does not map it")
                res.count("architecture_differs_from_gva2gpa")
            elif theirs is not None:
                res.fail("map", f"hole {r['start']}..{r['end']} but gva2gpa maps 0x{va:x} to 0x{theirs:x}")
            res.count("hole_samples")
            continue
        ours = int(r["pa"], 16) + (va - int(r["start"], 16))
        if ours != theirs:
            res.fail("map", f"{r['start']}..{r['end']} at 0x{va:x}: pagewalk 0x{ours:x}, gva2gpa {theirs}")
        res.count("map_samples")
    # The Python module, where it was built beside the CLI: the same answers from the same
    # registers (no logic of its own).
    pydir = os.path.join(os.path.dirname(args.pagewalk), "python")
    if os.path.isdir(pydir):
        script = ("import json, sys, pagewalk\n"
                  f"t = pagewalk.open(image={dump!r}, tcr={tcr}, ttbr0={ttbr0}, ttbr1={ttbr1}, mair={MAIR})\n"
                  f"print(json.dumps([t.translate(va).to_dict().get('pa') for va in {[v for v, _, _ in vas]!r}]))\n")
        r = run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": pydir}, timeout=120)
        if r.returncode != 0:
            res.fail("python", r.stderr.strip()[-300:])
        else:
            for (va, _, what), pa, cli in zip(vas, json.loads(r.stdout), results):
                want = int(cli["pa"], 16) if cli.get("status") == "mapped" else None
                if (pa if isinstance(pa, int) or pa is None else int(pa, 16)) != want:
                    res.fail("python", f"{what} 0x{va:x}: Python {pa}, the CLI {cli.get('pa')}")
                res.count("python_vas_compared")
    res.counts["map_rows"] = len(ranges)
    loops = [r for r in ranges if r.get("kind") == "loop"]
    for va in t.loops:
        if not any(int(r["start"], 16) <= va < int(r["end"], 16) or int(r["start"], 16) == va for r in loops):
            res.fail("map", f"no loop row at 0x{va:x} (loop rows: {[r['start'] for r in loops]})")
    res.counts["loop_rows"] = len(loops)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pagewalk", required=True)
    ap.add_argument("--keep", metavar="DIR")
    ap.add_argument("--case", action="append", choices=[c[0] for c in CASES], dest="cases")
    args = ap.parse_args(argv)
    args.pagewalk = os.path.abspath(args.pagewalk)
    for tool in ("qemu-system-aarch64", "aarch64-linux-gnu-gcc"):
        if shutil.which(tool) is None:
            print(f"arm64-bare: {tool} not found (scripts/install-deps.sh test installs it)", file=sys.stderr)
            return 2
    t0 = time.monotonic()
    root = args.keep or tempfile.mkdtemp(prefix="pagewalk-arm64-")
    os.makedirs(root, exist_ok=True)
    program = os.path.join(root, "arm64-mmu.elf")
    r = run(["aarch64-linux-gnu-gcc", "-nostdlib", "-static", "-Wl,-Ttext=0x%x" % CODE_PA, "-Wl,-e,_start",
             "-Wl,--build-id=none", "-o", program, os.path.join(HERE, "guest", "arm64-mmu.S")])
    if r.returncode != 0:
        print(f"arm64-bare: cannot build the guest: {r.stderr}", file=sys.stderr)
        return 2
    failed = 0
    for case in CASES:
        if args.cases and case[0] not in args.cases:
            continue
        work = os.path.join(root, case[0].replace("/", "+"))
        os.makedirs(work, exist_ok=True)
        t1 = time.monotonic()
        try:
            res = run_case(args, case, program, work)
        except SetupError as e:
            print(f"[{case[0]}] FAIL: {e}", flush=True)
            failed += 1
            continue
        counts = ", ".join(f"{k}={v}" for k, v in sorted(res.counts.items()))
        status = "FAIL" if res.failures else "PASS"
        print(f"[{case[0]}] {status} ({time.monotonic() - t1:.1f}s): {counts}", flush=True)
        for f in res.failures:
            print(f"    {f}", flush=True)
        if res.failures:
            print("    failed checks: " + ", ".join(f"{k} x{v}" for k, v in sorted(res.failed.items())), flush=True)
        failed += bool(res.failures)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    print(f"arm64-bare: {'all cases passed' if not failed else f'{failed} case(s) failed'} in "
          f"{time.monotonic() - t0:.0f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
