#!/usr/bin/env python3
"""End-to-end test driver: real Debian kernel in QEMU/TCG versus pagewalk.

For each case the driver boots the guest, stops it while the test program
spins in user mode, collects QEMU's own view of the address space (the
oracles: `info registers`, `info tlb`, `gva2gpa`), dumps guest memory to an
ELF file and then checks pagewalk's `translate` and `map --pages` output
against those oracles.  The guest's /proc/self/pagemap and the dump itself
are used as further independent cross-checks.

Exit status: 0 when every check passed, 1 on any mismatch, 2 on setup or
infrastructure errors (which are never reported as success).
"""

import argparse
import bisect
import json
import re
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from elfdump import ElfDump  # noqa: E402
import kcore_checks  # noqa: E402
import kmod_checks  # noqa: E402
import linux_checks  # noqa: E402
import pwjson  # noqa: E402
from initramfs import build_guest_program, build_initramfs  # noqa: E402
from qemu_guest import GuestError, QemuGuest, parse_gva2gpa  # noqa: E402

KIB4 = 0x1000
MIB2 = 0x200000
GIB1 = 0x40000000

CR4_LA57 = 1 << 12
CR3_PTI_USER = 1 << 12

CASES = {
    # qemu64 reports AuthenticAMD: no PTI, no LA57 -> plain 4-level paging.
    "x86-64-4level": {"cpu": "qemu64", "hello_args": ["swap"], "la57": False, "pti": False},
    # TCG implements LA57; the Debian kernel (CONFIG_X86_5LEVEL=y) uses it.
    "x86-64-5level": {"cpu": "qemu64,+la57", "hello_args": ["high", "swap"], "la57": True,
                      "pti": False},
    # A GenuineIntel model without RDCL_NO: the kernel turns on PTI.
    "pti": {"cpu": "Nehalem", "hello_args": ["swap"], "la57": False, "pti": True},
}
# Each case again with -device vmcoreinfo and the fw_cfg driver loaded in the guest, so
# that the dump carries the kernel's VMCOREINFO note; the plain cases must not have one.
for _name in list(CASES):
    CASES[_name]["vmcoreinfo"] = False
    CASES[_name + "+vmcoreinfo"] = dict(CASES[_name], vmcoreinfo=True)

# info tlb letter -> pagewalk flag name (leaf entry bits).
TLB_LETTERS = [("X", "NX"), ("G", "G"), ("P", "PS"), ("D", "D"), ("A", "A"),
               ("C", "PCD"), ("T", "PWT"), ("U", "US"), ("W", "RW")]
TLB_FLAG_NAMES = {name for _, name in TLB_LETTERS}

# Strings the guest program writes; checked in the dump at gva2gpa(va).
DUMP_MARKERS = {"heap": b"Hello mm paging!\n", "thp_mid": b"THP marker",
                "high": b"High VA page", "readonly": b"read-only page"}

PACKAGES = {"qemu-system-x86_64": "qemu-system-x86", "cpio": "cpio",
            "gcc": "gcc", "dpkg-deb": "dpkg", "apt-get": "apt"}


class SetupError(RuntimeError):
    pass


def log(msg):
    print(msg, flush=True)


def hexs(v):
    return "unmapped" if v is None else f"0x{v:x}"


# --------------------------------------------------------------------------
# Setup


def ensure_host_tools(allow_install):
    missing = sorted({pkg for tool, pkg in PACKAGES.items() if shutil.which(tool) is None})
    if not os.path.isfile("/bin/busybox"):
        missing.append("busybox-static")
    if not os.path.isfile("/usr/include/stdio.h"):
        missing.append("libc6-dev")
    if not missing:
        return
    if not allow_install:
        raise SetupError("missing host packages: " + " ".join(missing))
    if os.geteuid() != 0:
        raise SetupError("missing host packages (need root to install): " + " ".join(missing))
    log("installing: " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=False, env=env, timeout=900)
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing,
                       env=env, timeout=1800)
    if r.returncode != 0:
        raise SetupError("apt-get install failed for: " + " ".join(missing))


def fetch_kernel(cache):
    kdir = os.path.join(cache, "kernel")
    r = subprocess.run([os.path.join(HERE, "fetch-kernel.sh"), kdir], timeout=1800)
    if r.returncode != 0:
        raise SetupError("fetch-kernel.sh failed")
    with open(os.path.join(kdir, "VERSION")) as f:
        version = f.read().strip()
    return os.path.join(kdir, "vmlinuz"), version, os.path.join(kdir, "modules")


def build_kmod(kversion, work, allow_install):
    """pagewalk.ko built against Debian's headers for the e2e kernel (installed with apt-get
    when missing), from a copy of kmod/ so that the source tree stays clean. Any compiler or
    modpost warning fails the build."""
    pkg, ver = kversion.split()
    release = pkg[len("linux-image-"):]
    headers = f"linux-headers-{release}"
    kdir = f"/usr/src/{headers}"
    if not os.path.isdir(kdir):
        if not allow_install or os.geteuid() != 0:
            raise SetupError(f"{kdir} is missing: apt-get install {headers}={ver}")
        log(f"installing: {headers}={ver}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", f"{headers}={ver}"],
                           env=env, timeout=1800, stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            raise SetupError(f"apt-get install {headers}={ver} failed")
    src = os.path.join(work, "kmod")
    shutil.copytree(os.path.join(REPO, "kmod"), src,
                    ignore=shutil.ignore_patterns("*.o", "*.ko", "*.mod*", ".*", "Module.symvers", "modules.order"))
    r = subprocess.run(["make", "-C", src, f"KDIR={kdir}"], capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    if r.returncode != 0 or re.search(r"warning|WARNING", out):
        raise SetupError(f"building the module against {kdir} failed or warned:\n{out[-3000:]}")
    probe = build_guest_program(os.path.join(HERE, "guest", "kmod-probe.c"), os.path.join(work, "kmod-probe"),
                                include=os.path.join(REPO, "kmod"))
    log(f"module: pagewalk.ko built against {headers}, no warnings")
    return os.path.join(src, "pagewalk.ko"), probe


# --------------------------------------------------------------------------
# Oracles


def parse_info_tlb(text):
    """Return sorted [(va, pa, letters)] from `info tlb` output.

    QEMU 7.2 prints one line per present leaf entry:
        ffff888000000000: 0000000000000000 XG-DA---W
    The VA is the canonical base of the leaf; PA is the entry's frame
    address (for large pages the large-page base); the letters are the leaf
    entry's own bits: X=NX G=global P=PS D=dirty A=accessed C=PCD T=PWT
    U=user W=writable.  Large pages (P) are one line each.
    """
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        va_s, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or len(parts) != 2 or len(parts[1]) != 9:
            raise SetupError(f"unexpected info tlb line: {raw!r}")
        out.append((int(va_s, 16), int(parts[0], 16), parts[1]))
    out.sort()
    return out


def tlb_flags(letters):
    return {name for (letter, name), ch in zip(TLB_LETTERS, letters) if ch == letter}


def classify_large_pages(guest, tlb):
    """Return {va: size} for every tlb leaf (4K, 2M or 1G).

    info tlb does not say which level a large page came from; a PS leaf is
    taken to be 1 GiB when it is 1 GiB aligned (VA and PA), no other leaf
    starts inside the following GiB and gva2gpa of its last 4K page
    lands at PA + 1 GiB - 4 KiB.  Otherwise it is 2 MiB.
    """
    vas = [va for va, _, _ in tlb]
    sizes = {}
    for i, (va, pa, letters) in enumerate(tlb):
        if "P" not in letters:
            sizes[va] = KIB4
            continue
        size = MIB2
        if va % GIB1 == 0 and pa % GIB1 == 0:
            nxt = vas[i + 1] if i + 1 < len(vas) else None
            if nxt is None or nxt >= va + GIB1 or nxt < va:
                probe = va + GIB1 - KIB4
                if guest.gva2gpa(probe) == pa + GIB1 - KIB4:
                    size = GIB1
        sizes[va] = size
    return sizes


def split_regions(entries, gap=1 << 32):
    regions, cur = [], []
    for e in entries:
        if cur and e[0] - cur[-1][0] > gap:
            regions.append(cur)
            cur = []
        cur.append(e)
    if cur:
        regions.append(cur)
    return regions


def pick_evenly(seq, k):
    if k >= len(seq):
        return list(seq)
    if k == 1:
        return [seq[len(seq) // 2]]
    return [seq[round(i * (len(seq) - 1) / (k - 1))] for i in range(k)]


def kernel_samples(tlb, sizes, count):
    """Pick `count` kernel VAs spread evenly over the distinct regions."""
    kernel = [e for e in tlb if e[0] >= 1 << 63]
    regions = split_regions(kernel)
    quota = [0] * len(regions)
    left = count
    # Round-robin so that small regions are fully used and the rest of the
    # budget goes to the larger ones.
    while left > 0 and any(quota[i] < len(r) for i, r in enumerate(regions)):
        for i, r in enumerate(regions):
            if left and quota[i] < len(r):
                quota[i] += 1
                left -= 1
    samples = []
    for ri, (r, q) in enumerate(zip(regions, quota)):
        for j, (va, _pa, _letters) in enumerate(pick_evenly(r, q)):
            size = sizes[va]
            # A deterministic, 8-byte aligned offset inside the leaf page.
            off = ((j + 1) * 0x9E3779B1 + ri * 0x1F3) % size & ~7
            samples.append((f"k{ri}", va + off))
    return samples, regions


def probe_vas(tlb, sizes, regions, la57):
    """Extra VAs: user leaves, gaps between kernel regions, edge cases."""
    probes = []
    for i, (va, _pa, _l) in enumerate(e for e in tlb if e[0] < 1 << 63):
        probes.append(("user", va + ((i * 0x2A8) % sizes[va] & ~7)))
    for i in range(len(regions) - 1):
        end = regions[i][-1][0] + sizes[regions[i][-1][0]]
        start = regions[i + 1][0][0]
        if start - end > 2 * KIB4:
            probes.append(("gap", ((end + start) // 2) & ~0xFFF))
    probes.append(("null", 0x0))
    probes.append(("low", 0x1000))
    if la57:
        probes.append(("noncanon", 0x0100000000000000))
        probes.append(("noncanon", 0xFE00000000000000))
    else:
        probes.append(("noncanon", 0x0000800000000000))
        probes.append(("noncanon", 0xFFFF7FFFFFFFF000))
    return probes


def is_canonical(va, la57):
    bits = 57 if la57 else 48
    top = va >> (bits - 1)
    return top == 0 or top == (1 << (65 - bits)) - 1


# --------------------------------------------------------------------------
# One case


class CaseResult:
    def __init__(self, name):
        self.name = name
        self.failures = []   # (check, detail)
        self.counts = {}
        self.boot_seconds = None
        self.info = {}

    def fail(self, check, detail):
        self.failures.append((check, detail))

    @property
    def ok(self):
        return not self.failures


def collect_oracles(guest, case, outdir, res, samples):
    regs, regs_text = guest.stop_in_user_mode()
    with open(os.path.join(outdir, "registers.txt"), "w") as f:
        f.write(regs_text)

    tlb_text = guest.hmp("info tlb", timeout=300)
    with open(os.path.join(outdir, "info-tlb.txt"), "w") as f:
        f.write(tlb_text.replace("\r\n", "\n"))
    tlb = parse_info_tlb(tlb_text)
    if not tlb:
        raise SetupError("info tlb returned nothing")
    sizes = classify_large_pages(guest, tlb)

    prog = []
    for name, va, pfn, present in guest.vas:
        prog.append({"name": name, "va": va, "pfn": pfn, "present": present,
                     "gpa": guest.gva2gpa(va)})
    with open(os.path.join(outdir, "vas.txt"), "w") as f:
        f.write("# name va pagemap_pfn pagemap_present gva2gpa\n")
        for p in prog:
            f.write(f"{p['name']} 0x{p['va']:x} 0x{p['pfn']:x} {p['present']} "
                    f"{hexs(p['gpa'])}\n")

    ksamples, regions = kernel_samples(tlb, sizes, samples)
    kern = [(tag, va, guest.gva2gpa(va)) for tag, va in ksamples]
    with open(os.path.join(outdir, "kernel-samples.txt"), "w") as f:
        f.write(f"# {len(kern)} kernel VAs from {len(regions)} info-tlb regions; "
                "region va gva2gpa\n")
        for tag, va, gpa in kern:
            f.write(f"{tag} 0x{va:x} {hexs(gpa)}\n")

    extra = [(tag, va, guest.gva2gpa(va)) for tag, va in
             probe_vas(tlb, sizes, regions, case["la57"])]
    with open(os.path.join(outdir, "probes.txt"), "w") as f:
        f.write("# extra probes (user leaves, gaps, edge cases); kind va gva2gpa\n")
        for tag, va, gpa in extra:
            f.write(f"{tag} 0x{va:x} {hexs(gpa)}\n")

    with open(os.path.join(outdir, "page-sizes.txt"), "w") as f:
        for va, _pa, letters in tlb:
            if "P" in letters:
                f.write(f"0x{va:x} 0x{sizes[va]:x}\n")

    res.counts["tlb_leaves"] = len(tlb)
    res.counts["kernel_regions"] = len(regions)
    res.counts["kernel_samples"] = len(kern)
    return {"regs": regs, "tlb": tlb, "sizes": sizes, "prog": prog,
            "kern": kern, "extra": extra}


def check_oracles(case, guest, orc, dump_path, res):
    """Checks that need no pagewalk: the oracles must agree with each other."""
    regs = orc["regs"]
    la57_on = bool(regs.get("CR4", 0) & CR4_LA57)
    if la57_on != case["la57"]:
        res.fail("cr4-la57", f"CR4=0x{regs.get('CR4', 0):x}: LA57 is "
                 f"{'on' if la57_on else 'off'}, expected {'on' if case['la57'] else 'off'}")
    guest_la57 = guest.info.get("la57") == "yes"
    if guest_la57 != case["la57"]:
        res.fail("guest-la57", f"guest /proc/cpuinfo la57={guest.info.get('la57')}")
    guest_pti = guest.info.get("pti") == "yes"
    if guest_pti != case["pti"]:
        res.fail("guest-pti", f"guest pti={guest.info.get('pti')} "
                 f"meltdown={guest.info.get('meltdown')}")
    if case["pti"] and not regs.get("CR3", 0) & CR3_PTI_USER:
        res.fail("cr3-pti", f"CR3=0x{regs.get('CR3', 0):x} is not a PTI user PGD")
    if not guest.info.get("thp", "").startswith("[always]"):
        res.fail("thp", f"THP mode: {guest.info.get('thp')}")
    for note in guest.notes:
        res.fail("guest-note", note)

    names = {p["name"]: p for p in orc["prog"]}
    expected = {"heap", "thp", "thp_mid", "stack", "data", "bss", "code",
                "untouched", "zeropage", "readonly", "protnone", "swapped"}
    if case["la57"]:
        expected.add("high")
    for missing in sorted(expected - set(names)):
        res.fail("guest-vas", f"program did not report {missing}")

    # pagemap PFN vs gva2gpa.
    n = 0
    for p in orc["prog"]:
        if p["name"] == "protnone":
            # pagemap reports PROT_NONE pages as present; the MMU does not.
            if p["gpa"] is not None:
                res.fail("pagemap", f"protnone 0x{p['va']:x}: gva2gpa {hexs(p['gpa'])}")
            continue
        if p["present"] and p["gpa"] is None:
            res.fail("pagemap", f"{p['name']} 0x{p['va']:x}: pagemap present, gva2gpa unmapped")
        elif not p["present"] and p["gpa"] is not None:
            res.fail("pagemap", f"{p['name']} 0x{p['va']:x}: pagemap not present, "
                     f"gva2gpa {hexs(p['gpa'])}")
        elif p["present"] and p["pfn"] != p["gpa"] >> 12:
            res.fail("pagemap", f"{p['name']} 0x{p['va']:x}: pagemap pfn 0x{p['pfn']:x} "
                     f"!= gva2gpa>>12 0x{p['gpa'] >> 12:x}")
        n += 1
    res.counts["pagemap_checked"] = n

    # THP really is a huge page in the MMU.
    thp = names.get("thp")
    if thp is not None:
        size = orc["sizes"].get(thp["va"])
        if size != MIB2:
            res.fail("thp", f"no 2 MiB leaf at thp VA 0x{thp['va']:x} (got {size})")

    # The dump's QEMU note agrees with info registers, and the markers the
    # program wrote are found at the translated physical addresses.
    with ElfDump(dump_path) as d:
        states = d.qemu_cpu_states()
        if len(states) != 1:
            res.fail("dump-notes", f"{len(states)} QEMU notes, expected 1")
        elif states[0]["cr3"] != regs.get("CR3"):
            res.fail("dump-notes", f"QEMU note CR3 0x{states[0]['cr3']:x} != "
                     f"info registers CR3 0x{regs.get('CR3', 0):x}")
        for name, marker in DUMP_MARKERS.items():
            p = names.get(name)
            if p is None:
                continue
            got = d.read_phys(p["gpa"], len(marker)) if p["gpa"] is not None else None
            if got != marker:
                res.fail("dump-content", f"{name}: at {hexs(p['gpa'])} expected {marker!r}, "
                         f"found {got!r}")
            else:
                res.counts["dump_markers"] = res.counts.get("dump_markers", 0) + 1


def run_pagewalk(pagewalk, args, stdin_text, ok_codes=(0,), timeout=600):
    cmd = shlex.split(pagewalk)
    r = subprocess.run(cmd + args, input=stdin_text, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode not in ok_codes:
        raise SetupError(f"{' '.join(cmd + args)} exited {r.returncode}:\n{r.stderr[-4000:]}")
    try:
        return pwjson.lines(r.stdout, " ".join(args[:3]))
    except json.JSONDecodeError as e:
        raise SetupError(f"pagewalk output is not JSON lines: {e}") from e


def as_int(v):
    if v is None:
        return None
    if isinstance(v, int):
        return v
    return int(str(v), 16)


def check_translate(pagewalk, target, case, orc, res, outdir, label=""):
    """translate over `target` (pagewalk's TARGET options) against gva2gpa and info tlb."""
    items = []   # (kind, va, expected_gpa, extra expectation)
    for p in orc["prog"]:
        want = None
        if p["name"] == "protnone":
            want = "prot-none"
        elif p["name"] == "untouched":
            want = "not-present"
        items.append((p["name"], p["va"], p["gpa"], want))
    for tag, va, gpa in orc["kern"] + orc["extra"]:
        want = "non-canonical" if not is_canonical(va, case["la57"]) else None
        items.append((tag, va, gpa, want))
    stdin = "".join(f"0x{va:x}\n" for _, va, _, _ in items)
    # Non-zero exit statuses are allowed here: pagewalk reports unmapped (1)
    # and non-canonical (2) addresses through its exit status.  Every VA
    # must still have its record; a crash or a status >= 3 is an error.
    out = run_pagewalk(pagewalk, ["translate"] + target + ["--jsonl", "-"], stdin,
                       ok_codes=(0, 1, 2))
    with open(os.path.join(outdir, f"pagewalk-{label}translate.jsonl"), "w") as f:
        for o in out:
            f.write(json.dumps(o) + "\n")
    by_va = {}
    for o in out:
        try:
            by_va[as_int(o["va"])] = o
        except (KeyError, ValueError):
            res.fail("translate", f"malformed record {o}")
    tlb_vas = [va for va, _, _ in orc["tlb"]]
    for kind, va, gpa, want in items:
        o = by_va.get(va)
        if o is None:
            res.fail("translate", f"{kind} 0x{va:x}: no output record")
            continue
        status = o.get("status")
        if gpa is not None:
            pa = as_int(o.get("pa"))
            if status != "mapped" or pa != gpa:
                res.fail("translate", f"{kind} 0x{va:x}: gva2gpa 0x{gpa:x}, pagewalk "
                         f"status={status} pa={o.get('pa')}")
                continue
            i = bisect.bisect_right(tlb_vas, va) - 1
            leaf = tlb_vas[i] if i >= 0 else None
            if leaf is None or leaf + orc["sizes"][leaf] <= va:
                res.fail("translate", f"{kind} 0x{va:x}: mapped but no info tlb leaf")
                continue
            size = orc["sizes"][leaf]
            if o.get("page_size") != size:
                res.fail("translate", f"{kind} 0x{va:x}: page_size {o.get('page_size')}, "
                         f"info tlb leaf 0x{leaf:x} size 0x{size:x}")
            if "flags" in o:
                want_flags = tlb_flags(orc["tlb"][i][2])
                got_flags = set(o["flags"]) & TLB_FLAG_NAMES
                if got_flags != want_flags:
                    res.fail("translate", f"{kind} 0x{va:x}: flags {sorted(got_flags)}, "
                             f"info tlb {sorted(want_flags)}")
        else:
            if status == "mapped":
                res.fail("translate", f"{kind} 0x{va:x}: gva2gpa unmapped, pagewalk "
                         f"mapped pa={o.get('pa')}")
                continue
            if want is not None and status != want:
                res.fail("translate", f"{kind} 0x{va:x}: status {status}, expected {want}")
            if want == "prot-none" and o.get("pa") is not None:
                p = next(p for p in orc["prog"] if p["va"] == va)
                if as_int(o["pa"]) >> 12 != p["pfn"]:
                    res.fail("translate", f"{kind} 0x{va:x}: prot-none pa {o['pa']} vs "
                             f"pagemap pfn 0x{p['pfn']:x}")
    res.counts[label + "vas_compared"] = len(items)


def check_map(pagewalk, target, orc, res, outdir, label=""):
    """map --pages over `target` against info tlb, page for page."""
    out = run_pagewalk(pagewalk, ["map", "--pages"] + target + ["--jsonl"], "")
    with open(os.path.join(outdir, f"pagewalk-{label}map.jsonl"), "w") as f:
        for o in out:
            f.write(json.dumps(o) + "\n")
    got = {}
    skipped = 0
    for o in out:
        try:
            va = as_int(o["start"])
            end = as_int(o["end"])
            pa = as_int(o["pa"])
            size = int(o["page_size"])
            flags = set(o.get("flags", []))
        except (KeyError, ValueError, TypeError):
            res.fail("map", f"malformed record {o}")
            continue
        if (o.get("present") is False or o.get("status", "mapped") != "mapped"
                or o.get("kind", "mapped") != "mapped"):
            skipped += 1
            continue
        if end - va != size:
            res.fail("map", f"0x{va:x}: end-start 0x{end - va:x} != page_size 0x{size:x}")
        if va in got:
            res.fail("map", f"0x{va:x}: reported twice")
        got[va] = (pa, size, flags)
    want = {va: (pa, orc["sizes"][va], tlb_flags(letters)) for va, pa, letters in orc["tlb"]}
    compared = 0
    for va in sorted(set(want) | set(got)):
        w, g = want.get(va), got.get(va)
        if g is None:
            res.fail("map", f"0x{va:x}: in info tlb (pa 0x{w[0]:x}), missing from pagewalk")
            continue
        if w is None:
            res.fail("map", f"0x{va:x}: pagewalk leaf pa 0x{g[0]:x}, not in info tlb")
            continue
        compared += 1
        gflags = g[2] & TLB_FLAG_NAMES
        if g[0] != w[0] or g[1] != w[1] or gflags != w[2]:
            res.fail("map", f"0x{va:x}: info tlb pa=0x{w[0]:x} size=0x{w[1]:x} "
                     f"flags={sorted(w[2])}; pagewalk pa=0x{g[0]:x} size=0x{g[1]:x} "
                     f"flags={sorted(gflags)}")
    res.counts[label + "pages_compared"] = compared
    res.counts[label + "map_skipped_nonpresent"] = skipped


def run_pagewalk_doc(pagewalk, args):
    """Run pagewalk for one JSON document (info --json)."""
    cmd = shlex.split(pagewalk) + args
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SetupError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr[-4000:]}")
    try:
        return pwjson.document(r.stdout, " ".join(args[:3]))
    except json.JSONDecodeError as e:
        raise SetupError(f"{' '.join(cmd)}: output is not JSON: {r.stdout[:200]!r}") from e


def check_qemu(pagewalk, guest, case, orc, lorc, res, outdir):
    """The live guest through its gdbstub (--qemu), while QMP keeps it stopped.

    The VM was stopped over QMP, so attaching the gdbstub finds it stopped and
    pagewalk must leave it so: no detach (which would resume it), physical-memory
    mode switched back off.  The same VAs as the dump checks, against gva2gpa;
    map --pages against info tlb; info's registers against info registers.
    Last, with the VM resumed, info --qemu must halt it and leave it running.
    """
    t0 = time.monotonic()
    target = ["--qemu", f"127.0.0.1:{guest.gdb_port}", "--cpu", "0"]
    info = run_pagewalk_doc(pagewalk, ["info", "--json"] + target[:2])
    with open(os.path.join(outdir, "pagewalk-qemu-info.json"), "w") as f:
        json.dump(info, f, indent=2)
    cpus = info.get("cpus") or []
    if len(cpus) != 1:
        res.fail("qemu-info", f"{len(cpus)} vCPUs reported, expected 1")
    else:
        compared = 0
        for reg in ("CR0", "CR3", "CR4", "EFER"):
            want = orc["regs"].get(reg)
            got = as_int(cpus[0].get("registers", {}).get(reg.lower()))
            if want is None or got != want:
                res.fail("qemu-info", f"{reg}: pagewalk {hexs(got)}, info registers {hexs(want)}")
            else:
                compared += 1
        res.counts["qemu_registers_compared"] = compared
        want_mode = "x86-64-5level" if case["la57"] else "x86-64-4level"
        if cpus[0].get("mode") != want_mode:
            res.fail("qemu-info", f"mode {cpus[0].get('mode')}, expected {want_mode}")
    if info.get("halted_on_attach") is not False:
        res.fail("qemu-info", "the VM was stopped over QMP, but pagewalk saw it running")
    check_translate(pagewalk, target, case, orc, res, outdir, label="qemu_")
    check_map(pagewalk, target, orc, res, outdir, label="qemu_")
    # The kernel's own structures through the gdbstub: the program's VMAs = its
    # /proc/PID/maps, the module list = /proc/modules and /proc/kallsyms.
    t1 = time.monotonic()
    maps = run_pagewalk_doc(pagewalk, ["maps", "--json", "--pid", str(guest.pid)] + target[:2])
    procs = maps.get("processes", [])
    got = [(as_int(v["start"]), as_int(v["end"]), v["perms"], as_int(v["offset"]), v["dev"], v["inode"], v["path"])
           for v in (procs[0]["vmas"] if procs else [])]
    if not lorc["maps"] or got != lorc["maps"]:
        res.fail("qemu-maps", f"{len(got)} VMAs, the guest's maps has {len(lorc['maps'])}")
    res.counts["qemu_maps_vmas"] = len(got)
    mods = run_pagewalk_doc(pagewalk, ["modules", "--json", "--symbols"] + target[:2])
    res.counts["qemu_module_symbols"] = linux_checks.modules_match(mods, lorc["modules"], res, "qemu-modules")
    res.counts["qemu_linux_ms"] = round((time.monotonic() - t1) * 1000)
    # pagewalk left the VM as it found it: still stopped, same vCPU state.
    status = guest.status()
    if status.get("running") or status.get("status") != "paused":
        res.fail("qemu-state", f"VM state after pagewalk: {status}")
    regs, _ = guest.registers()
    for reg in ("CR3", "RIP"):
        if regs.get(reg) != orc["regs"].get(reg):
            res.fail("qemu-state", f"{reg} changed: {hexs(orc['regs'].get(reg))} -> {hexs(regs.get(reg))}")
    # Memory reads through QMP still see guest-virtual memory (the gdbstub's
    # physical-memory mode did not leak into other users).
    p = next((p for p in orc["prog"] if p["name"] == "heap"), None)
    if p is not None and guest.gva2gpa(p["va"]) != p["gpa"]:
        res.fail("qemu-state", "gva2gpa of the heap changed after pagewalk")
    # And a running guest: attaching halts it, pagewalk must resume it on exit.
    guest.cont()
    info = run_pagewalk_doc(pagewalk, ["info", "--json"] + target[:2])
    if info.get("halted_on_attach") is not True:
        res.fail("qemu-state", "the VM was running, but pagewalk did not see attaching halt it")
    status = guest.status()
    if not status.get("running"):
        res.fail("qemu-state", f"a running VM was left {status.get('status')} by pagewalk")
    guest.stop()
    res.counts["qemu_check_ms"] = round((time.monotonic() - t0) * 1000)


def check_vmcoreinfo(pagewalk, dump_path, case, guest_info, res):
    """The dump holds a VMCOREINFO note exactly when the case has -device vmcoreinfo;
    without it, pagewalk finds the kernel's own copy in memory, with the same text."""
    info = run_pagewalk_doc(pagewalk, ["info", "--json", "--image", dump_path])
    vi = info.get("vmcoreinfo")
    source = info.get("vmcoreinfo_source", "")
    if not vi:
        res.fail("vmcoreinfo", f"no VMCOREINFO found ({source})")
        return
    if vi.get("OSRELEASE") != guest_info.get("kernel"):
        res.fail("vmcoreinfo", f"OSRELEASE {vi.get('OSRELEASE')!r} != guest uname -r "
                 f"{guest_info.get('kernel')!r}")
    if case["vmcoreinfo"]:
        if guest_info.get("fwcfg") != "yes":
            res.fail("vmcoreinfo", "the guest has no /sys/firmware/qemu_fw_cfg (module not loaded)")
        if source != "ELF note":
            res.fail("vmcoreinfo", f"-device vmcoreinfo, but the dump has no VMCOREINFO note ({source})")
        res.counts["vmcoreinfo_note_entries"] = len(vi)
    else:
        if source == "ELF note":
            res.fail("vmcoreinfo", f"no -device vmcoreinfo, yet the dump has a VMCOREINFO note "
                     f"({len(vi)} entries)")
        elif not source.startswith("found in memory"):
            res.fail("vmcoreinfo", f"unexpected source {source!r}")
        res.counts["vmcoreinfo_memory_entries"] = len(vi)


def check_python(pagewalk, dump_path, pid, res):
    """tests/python/test_dump.py on this case's dump: `import pagewalk` (the module next to
    the CLI, BUILD/python) answers as the CLI does; skipped when that build has none."""
    pydir = os.path.join(os.path.dirname(os.path.abspath(pagewalk)), "python")
    if not os.path.isdir(pydir):
        return
    env = dict(os.environ, PAGEWALK_PYTHON_DIR=pydir, PAGEWALK=os.path.abspath(pagewalk),
               PAGEWALK_DUMP=dump_path, PAGEWALK_DUMP_PID=str(pid))
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.join(REPO, "tests", "python", "test_dump.py")],
                       env=env, capture_output=True, text=True, timeout=600)
    last = (r.stdout.strip().splitlines() or [""])[-1]
    if r.returncode != 0 or "passed" not in last or "skipped" in last:
        res.fail("python", f"test_dump.py: exit {r.returncode}: {r.stdout[-1500:]}")
    else:
        res.counts["python_tests_passed"] = int(last.split()[0])


def run_case(name, case, args, kernel, kernel_version, hello_mm, workroot):
    res = CaseResult(name)
    t0 = time.monotonic()
    try:
        _run_case(res, case, args, kernel, kernel_version, hello_mm, workroot)
    except (GuestError, SetupError, linux_checks.LinuxSetupError, OSError,
            subprocess.TimeoutExpired) as e:
        res.fail("error", str(e))
    except Exception:  # a harness bug must fail the case too
        res.fail("error", traceback.format_exc())
    res.seconds = time.monotonic() - t0
    return res


def _run_case(res, case, args, kernel, kernel_version, hello_mm, workroot):
    name = res.name
    if args.keep:
        outdir = args.keep if len(args.cases) == 1 else os.path.join(args.keep, name)
    else:
        outdir = os.path.join(workroot, name)
    os.makedirs(outdir, exist_ok=True)
    initrd = os.path.join(workroot, f"{name}-initrd.gz")
    vmcoreinfo = case["vmcoreinfo"] or args.vmcoreinfo
    # The module's checks run in the plain cases (4-level, 5-level, PTI).
    with_kmod = args.kmod is not None and not vmcoreinfo
    build_initramfs(initrd, hello_mm, pagewalk=args.guest_pagewalk,
                    modules=args.modules,
                    kmod=args.kmod[0] if with_kmod else None,
                    kmod_probe=args.kmod[1] if with_kmod else None)
    append = "hellomm=" + ",".join(case["hello_args"]) if case["hello_args"] else ""
    dump_path = os.path.join(outdir, "dump.elf")
    if os.path.exists(dump_path):
        os.unlink(dump_path)
    qdir = os.path.join(workroot, name + "-qemu")
    log(f"[{name}] booting (-cpu {case['cpu']})")
    with QemuGuest(kernel, initrd, qdir, cpu=case["cpu"], append_extra=append,
                   vmcoreinfo=vmcoreinfo) as guest:
        guest.boot(ready_timeout=args.boot_timeout)
        res.boot_seconds = guest.boot_seconds
        res.info = dict(guest.info)
        log(f"[{name}] READY after {guest.boot_seconds:.1f}s; "
            f"{len(guest.vas)} program VAs")
        if args.guest_pagewalk:
            t_kcore = time.monotonic()
            guest.wait_for_line("KCORE-DONE", timeout=args.boot_timeout)
            res.counts["kcore_guest_seconds"] = round(time.monotonic() - t_kcore, 1)
        orc = collect_oracles(guest, case, outdir, res, args.samples)
        lorc = linux_checks.collect(guest)
        if args.guest_pagewalk and not args.oracle_only:
            kcore_checks.check(guest, case, orc, guest.pid, guest.info.get("kernel"),
                               lorc["values"].get("vmalloc_base"), res, outdir)
            if with_kmod:
                kcore_checks.check(guest, case, orc, guest.pid, guest.info.get("kernel"),
                                   lorc["values"].get("vmalloc_base"), res, outdir, source="kmod")
                kmod_checks.check(guest, case, orc, res)
        guest.dump(dump_path)
        os.chmod(dump_path, 0o644)  # QEMU creates dumps 0400
        kdump_path = None
        if args.kdump:
            kdump_path = os.path.join(outdir, "dump.kdump")
            if os.path.exists(kdump_path):
                os.unlink(kdump_path)
            guest.dump(kdump_path, fmt="kdump-zlib")
            os.chmod(kdump_path, 0o644)
        if not args.oracle_only:
            # After the dump and the oracles: the gdbstub checks come last while the
            # guest is alive, and then check that they left it as it was.
            check_qemu(args.pagewalk, guest, case, orc, lorc, res, outdir)
        shutil.copy(guest.serial_path, os.path.join(outdir, "serial.log"))
    meta = {"case": name, "cpu": case["cpu"], "kernel": kernel_version,
            "boot_seconds": round(res.boot_seconds, 2), "guest_info": res.info,
            "registers": {k: (f"0x{v:x}" if k != "CPL" else v)
                          for k, v in orc["regs"].items()}}
    with open(os.path.join(outdir, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    check_oracles(case, guest, orc, dump_path, res)
    if not args.oracle_only:
        image = ["--image", dump_path, "--cpu", "0"]
        check_translate(args.pagewalk, image, case, orc, res, outdir)
        check_map(args.pagewalk, image, orc, res, outdir)
        check_vmcoreinfo(args.pagewalk, dump_path, dict(case, vmcoreinfo=vmcoreinfo),
                         res.info, res)
        linux_checks.check(args.pagewalk, dump_path, kdump_path, case, orc, lorc, res)
        check_python(args.pagewalk, dump_path, guest.pid, res)
    # Every document and line read above, against the schema.
    for p in pwjson.take_problems():
        res.fail("schema", p)
    res.counts["schema_records_checked"] = pwjson.checked


def report(res, max_details):
    status = "PASS" if res.ok else "FAIL"
    counts = ", ".join(f"{k}={v}" for k, v in sorted(res.counts.items()))
    boot = f"{res.boot_seconds:.1f}s" if res.boot_seconds is not None else "n/a"
    took = f"{res.seconds:.1f}s" if getattr(res, "seconds", None) is not None else "n/a"
    log(f"[{res.name}] {status}: boot {boot}, case {took}; {counts}; "
        f"mismatches={len(res.failures)}")
    for check, detail in res.failures[:max_details]:
        log(f"    {check}: {detail}")
    if len(res.failures) > max_details:
        log(f"    ... {len(res.failures) - max_details} more")


def pagewalk_runnable(command):
    try:
        prog = shlex.split(command)[0]
    except (ValueError, IndexError):
        return False
    if os.sep in prog:
        return os.path.isfile(prog) and os.access(prog, os.X_OK)
    return shutil.which(prog) is not None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", action="append", choices=sorted(CASES), dest="cases",
                    help="run only this case (repeatable); default: all")
    ap.add_argument("--pagewalk", default=os.path.join(REPO, "build", "pagewalk"),
                    help="pagewalk binary (or command line) to test (default: build/pagewalk)")
    ap.add_argument("--oracle-only", action="store_true",
                    help="boot, collect oracles and dump; do not run pagewalk")
    ap.add_argument("--keep", metavar="DIR",
                    help="keep artifacts here (DIR itself for one case, DIR/CASE otherwise)")
    ap.add_argument("--cache", metavar="DIR",
                    default=os.path.join(HERE, ".cache"),
                    help="download cache for the Debian kernel (default: tests/e2e/.cache)")
    ap.add_argument("--samples", type=int, default=128,
                    help="number of kernel VAs sampled from info tlb (min 100)")
    ap.add_argument("--guest-pagewalk", metavar="PATH",
                    help="static pagewalk binary to place in the initramfs as /bin/pagewalk; "
                         "/init runs it with --kcore and the results are checked against QEMU")
    ap.add_argument("--no-kmod", action="store_true",
                    help="do not build the pagewalk module for the guest (it is built against "
                         "Debian's headers of the e2e kernel and checked in the plain cases)")
    ap.add_argument("--kdump", action="store_true",
                    help="also write a kdump-zlib dump next to dump.elf")
    ap.add_argument("--vmcoreinfo", action="store_true",
                    help="add -device vmcoreinfo (and the fw_cfg module) to every case")
    ap.add_argument("--boot-timeout", type=float, default=300.0)
    ap.add_argument("--no-install", action="store_true",
                    help="never apt-get install missing host packages")
    ap.add_argument("--max-details", type=int, default=10)
    ap.add_argument("--no-schema", action="store_true",
                    help="do not check pagewalk's JSON against the schema (for refwalk.py)")
    args = ap.parse_args(argv)
    pwjson.enabled = not args.no_schema
    args.cases = args.cases or list(CASES)
    if args.samples < 100:
        ap.error("--samples must be at least 100")

    if not args.oracle_only and not pagewalk_runnable(args.pagewalk):
        log(f"error: pagewalk binary {args.pagewalk} not found or not executable "
            "(build it, pass --pagewalk, or use --oracle-only)")
        return 2

    t0 = time.monotonic()
    results = []
    try:
        ensure_host_tools(not args.no_install)
        kernel, kversion, args.modules = fetch_kernel(args.cache)
        log(f"kernel: {kversion}")
        with tempfile.TemporaryDirectory(prefix="pagewalk-e2e-") as work:
            hello = build_guest_program(os.path.join(HERE, "guest", "hello-mm.c"),
                                        os.path.join(work, "hello-mm"))
            args.kmod = (build_kmod(kversion, work, not args.no_install)
                         if args.guest_pagewalk and not args.no_kmod else None)
            for name in args.cases:
                res = run_case(name, CASES[name], args, kernel, kversion, hello, work)
                results.append(res)
                report(res, args.max_details)
    except (SetupError, OSError, subprocess.TimeoutExpired) as e:
        log(f"error: {e}")
        return 2
    failed = [r.name for r in results if not r.ok]
    log(f"{len(results) - len(failed)}/{len(results)} cases passed "
        f"in {time.monotonic() - t0:.0f}s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
