"""The guest's own static pagewalk, run by /init through /proc/kcore while the test program
spins (see initramfs.py), against what QEMU says once the guest is stopped.

Oracles, all outside pagewalk:
  * the test program's PID line, and QEMU's `info registers` CR3: ps --kcore;
  * QEMU's gva2gpa for the program's VAs: translate --kcore --pid and map --kcore --pid;
  * QEMU's `info tlb` (every kernel leaf the CPU's tables map): map --kcore --kernel;
  * gva2gpa for kernel symbols, vmalloc areas and module bases: translate --kcore --kernel.
The guest ran pagewalk a few seconds before the stop; kernel mappings made or dropped in
between (vmalloc'd stacks of exited processes) can only differ inside the vmalloc area, and
those are counted apart and bounded.
"""

import base64
import bisect
import gzip
import json
import os
import re

import linux_checks
import pwjson

KERNEL_HALF = 0xff00000000000000  # both 4- and 5-level kernel halves lie above this
VMALLOC_SPAN = {False: 32 << 40, True: 12800 << 40}  # mm.rst: 32 TiB / 12.5 PiB
# Kernel stacks are vmalloc'd (16 KiB + guard): the pagewalk runs' stacks are gone by the
# stop, a few new ones may exist. More churn than this is a failure, not noise.
MAX_VMALLOC_CHURN_PAGES = 256


def as_int(v):
    return None if v is None else int(v, 16)


def parse_console(text):
    """{tag: {"out": [lines], "err": [lines], "rc": int, "seconds": float}} from the
    console's KCORE lines (stdout arrives gzipped and base64-encoded)."""
    runs, encoded = {}, {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = re.match(r"^KCORE-(GZ|ERR|RC) (\w+) ?(.*)$", line)
        if not m:
            continue
        kind, tag, rest = m.groups()
        run = runs.setdefault(tag, {"out": [], "err": [], "rc": None, "seconds": None})
        if kind == "RC":
            parts = rest.split()
            run["rc"] = int(parts[0])
            if len(parts) == 3:
                run["seconds"] = round(float(parts[2]) - float(parts[1]), 2)
        elif kind == "ERR":
            run["err"].append(rest)
        else:
            encoded.setdefault(tag, []).append(rest)
    for tag, chunks in encoded.items():
        try:
            data = gzip.decompress(base64.b64decode("".join(chunks), validate=True))
            runs[tag]["out"] = data.decode().splitlines()
        except (ValueError, OSError, EOFError) as e:
            runs[tag]["out"] = []
            runs[tag]["err"].append(f"(harness) the encoded output does not decode: {e}")
    return runs


def _doc(runs, tag, res, ok=(0,)):
    run = runs.get(tag)
    if run is None or run["rc"] is None:
        res.fail("kcore", f"{tag}: no output from the guest's pagewalk")
        return None
    if run["rc"] not in ok:
        res.fail("kcore", f"{tag}: exit {run['rc']}: {' | '.join(run['err'][-5:])}")
        return None
    return run


def _parsed(runs, tag, res, ok=(0,), lines=False):
    """The run's stdout as one JSON document, or as JSON lines."""
    run = _doc(runs, tag, res, ok)
    if run is None:
        return None
    try:
        text = "\n".join(run["out"])
        return pwjson.lines(text, f"kcore {tag}") if lines else pwjson.document(text, f"kcore {tag}")
    except ValueError as e:
        res.fail("kcore", f"{tag}: not JSON ({e})")
        return None


def _levels(case):
    return 5 if case["la57"] else 4


def check(guest, case, orc, pid, kernel_version, vmalloc_base, res, outdir, source="kcore"):
    """Called while the guest is stopped in the test program (as collect_oracles left it).
    source "kcore" checks the runs through /proc/kcore, "kmod" the same runs through the
    pagewalk module (tags kmod_*)."""
    prefix = "" if source == "kcore" else source + "_"
    runs = parse_console(guest.serial_text)
    with open(os.path.join(outdir, f"{source}-runs.json"), "w") as f:
        json.dump(runs, f)
    for tag, run in runs.items():
        if run["seconds"] is not None and tag.startswith(prefix) and (prefix or not tag.startswith("kmod_")):
            res.counts[f"{source}_{tag}_s"] = run["seconds"]
    cr3 = orc["regs"]["CR3"]
    user_pgd = cr3 & ~0xfff
    kernel_pgd = user_pgd & ~(1 << 12) if case["pti"] else user_pgd

    info = _parsed(runs, prefix + "info", res)
    if info is not None and source == "kcore":  # the module's info: kmod_checks
        vi = info.get("vmcoreinfo") or {}
        if vi.get("OSRELEASE") != kernel_version:
            res.fail(f"{source}-info", f"VMCOREINFO note OSRELEASE {vi.get('OSRELEASE')!r}, guest {kernel_version!r}")
        if not any(s.get("pa") is None for s in info.get("segments", [])) or \
           not any(s.get("pa") is not None for s in info.get("segments", [])):
            res.fail(f"{source}-info", "expected segments with and without physical addresses")
        res.counts[f"{source}_segments"] = len(info.get("segments", []))

    ps = _parsed(runs, prefix + "ps", res)
    if ps is not None:
        mine = [t for t in ps["tasks"] if t["pid"] == pid]
        if len(mine) != 1 or mine[0]["comm"] != "hello-mm":
            res.fail(f"{source}-ps", f"pid {pid} hello-mm not found: {mine}")
        elif as_int(mine[0]["pgd_pa"]) != kernel_pgd:
            res.fail(f"{source}-ps", f"pid {pid} PGD PA {mine[0]['pgd_pa']}, CR3 0x{cr3:x}")
        else:
            res.counts[f"{source}_ps_status_fields"] = linux_checks.task_matches_status(
                mine[0], linux_checks.hello_status(guest), res, f"{source}-ps")
        if not any(t["comm"] == "pagewalk" for t in ps["tasks"]):
            res.fail(f"{source}-ps", "the running pagewalk itself is not in the task list")
        if bool(ps["pti"]) != case["pti"]:
            res.fail(f"{source}-ps", f"pti={ps['pti']}, the case expects {case['pti']}")
        res.counts[f"{source}_ps_tasks"] = len(ps["tasks"])

    # maps --kcore: the program's VMAs from the running kernel's maple tree = its own
    # /proc/PID/maps, printed by /init just before.
    maps = _parsed(runs, prefix + "maps", res)
    if maps is not None:
        want = linux_checks.hello_maps(guest)
        procs = maps.get("processes", [])
        got = [(as_int(v["start"]), as_int(v["end"]), v["perms"], as_int(v["offset"]), v["dev"], v["inode"], v["path"])
               for v in (procs[0]["vmas"] if procs else [])]
        if not want or got != want:
            res.fail(f"{source}-maps", f"{len(got)} VMAs, /proc/{pid}/maps has {len(want)}: "
                                   f"missing {[w for w in want if w not in got][:3]}, extra {[g for g in got if g not in want][:3]}")
        res.counts[f"{source}_maps_vmas"] = len(got)
    # modules --kcore: the running kernel's module list = its /proc/modules and /proc/kallsyms.
    mods = _parsed(runs, prefix + "modules", res)
    if mods is not None:
        res.counts[f"{source}_module_symbols"] = linux_checks.modules_match(
            mods, linux_checks.guest_modules(guest), res, f"{source}-modules")
    # read --kcore --string at the heap VA (the first the program wrote): the article's string.
    rd = _parsed(runs, prefix + "read", res)
    if rd is not None and (rd.get("string") != "Hello mm paging!\n" or not rd.get("terminated")):
        res.fail(f"{source}-read", f"read --string at the heap VA gave {rd.get('string')!r}")

    # With kptr_restrict=2 the symbols come from the kernel's memory: same answer, and a note.
    hidden = _parsed(runs, "pshidden", res) if source == "kcore" else None
    if hidden is not None and ps is not None:
        key = lambda doc: [(t["pid"], t["comm"], t["pgd_pa"]) for t in doc["tasks"] if t["comm"] != "pagewalk"]
        if key(hidden) != key(ps):
            res.fail(f"{source}-kptr", "ps with kptr_restrict=2 differs from ps with readable /proc/kallsyms")
        if not any("kptr_restrict" in line for line in runs["pshidden"]["err"]):
            res.fail(f"{source}-kptr", f"no note about hidden addresses: {runs['pshidden']['err']}")

    # translate --pid: every level printed, and the answer = gva2gpa. Under PTI each VA
    # comes twice (kernel and user half of the PGD pair), each from its own root.
    tr = _parsed(runs, prefix + "translate", res, ok=(0, 1), lines=True)
    if tr is not None:
        def levels_and_root(p, rec):
            steps = rec.get("steps", [])
            root = user_pgd if rec.get("pgd") == "user" else kernel_pgd
            if not steps or as_int(steps[0]["table"]) != root:
                res.fail(f"{source}-translate", f"0x{p['va']:x}: first table {steps[0]['table'] if steps else None}, "
                         f"expected 0x{root:x}")
            if rec["status"] == "mapped" and rec["page_size"] == 4096 and len(steps) != _levels(case):
                res.fail(f"{source}-translate", f"0x{p['va']:x}: {len(steps)} levels for a 4K page")

        if linux_checks.pid_records_match_gva2gpa(tr, orc["prog"], case, res, f"{source}-translate", levels_and_root):
            res.counts[f"{source}_pid_vas"] = len(tr)

    # map --pid: the program's VAs fall in rows whose physical runs give gva2gpa.
    mp = _parsed(runs, prefix + "map", res, lines=True)
    if mp is not None:
        rows = [(as_int(r["start"]), as_int(r["end"]), as_int(r["pa"]), r.get("pgd"))
                for r in mp if r.get("pa")]
        compared = 0
        for p in orc["prog"]:
            hits = [r for r in rows if r[0] <= p["va"] < r[1]]
            want = p["gpa"]
            if want is None:
                if hits:
                    res.fail(f"{source}-map", f"{p['name']} 0x{p['va']:x}: mapped by pagewalk, not by gva2gpa")
                continue
            if not hits:
                res.fail(f"{source}-map", f"{p['name']} 0x{p['va']:x}: gva2gpa 0x{want:x}, not in pagewalk's map")
            for va0, _end, pa0, _pgd in hits:
                compared += 1
                if pa0 + (p["va"] - va0) != want:
                    res.fail(f"{source}-map", f"{p['name']} 0x{p['va']:x}: row gives 0x{pa0 + p['va'] - va0:x}, "
                             f"gva2gpa 0x{want:x}")
        res.counts[f"{source}_map_pid_vas"] = compared

    # translate --kernel: symbols, vmalloc areas, module bases = gva2gpa (under PTI the user
    # CR3 maps little of the kernel: what it does not map is counted, not compared).
    kt = _parsed(runs, prefix + "ktranslate", res, ok=(0, 1), lines=True)
    if kt is not None:
        compared = invisible = 0
        for rec in kt:
            va = as_int(rec["va"])
            want = guest.gva2gpa(va)
            got = as_int(rec.get("pa")) if rec["status"] == "mapped" else None
            if want is None and case["pti"]:
                invisible += 1
                continue
            compared += 1
            if got != want:
                res.fail(f"{source}-ktranslate", f"0x{va:x}: pagewalk {rec['status']} {rec.get('pa')}, gva2gpa {want}")
            if got is not None and not rec.get("steps"):
                res.fail(f"{source}-ktranslate", f"0x{va:x}: no per-level steps")
        if len(kt) < 5:
            res.fail(f"{source}-ktranslate", f"only {len(kt)} kernel addresses were tried")
        res.counts[f"{source}_kernel_vas"] = compared
        res.counts[f"{source}_kernel_vas_not_in_user_cr3"] = invisible

    # map --kernel against info tlb: every kernel leaf QEMU sees lies in a pagewalk row with
    # the same physical address.
    km = _parsed(runs, prefix + "kmap", res, lines=True)
    if km is not None:
        rows = sorted((as_int(r["start"]), as_int(r["end"]), as_int(r["pa"]))
                      for r in km if r.get("pa"))
        starts = [r[0] for r in rows]
        vstart = vmalloc_base
        vend = None if vmalloc_base is None else vmalloc_base + VMALLOC_SPAN[case["la57"]]
        compared = churn = 0
        for va, pa, _letters in orc["tlb"]:
            if va < KERNEL_HALF:
                continue
            i = bisect.bisect_right(starts, va) - 1
            hit = rows[i] if i >= 0 and va < rows[i][1] else None
            ok = hit is not None and hit[2] + (va - hit[0]) == pa
            if ok:
                compared += 1
                continue
            if vstart is not None and vstart <= va < vend:
                churn += 1
                continue
            res.fail(f"{source}-kmap", f"0x{va:x}: info tlb pa 0x{pa:x}, pagewalk "
                     f"{'row 0x%x-0x%x pa 0x%x' % hit if hit else 'no row'}")
        # kmalloc'd objects in the direct map: the program's task_struct and mm_struct as
        # ps --kcore named them (under PTI the user CR3 does not map them: not compared).
        mine = [t for t in (ps or {}).get("tasks", []) if t["pid"] == pid]
        for field in ("task", "mm", "pgd"):
            if not mine:
                break
            va = as_int(mine[0][field])
            want = guest.gva2gpa(va)
            if want is None and case["pti"]:
                continue
            i = bisect.bisect_right(starts, va) - 1
            got = rows[i][2] + (va - rows[i][0]) if i >= 0 and va < rows[i][1] else None
            if got != want:
                res.fail(f"{source}-kmap", f"{field} of pid {pid} at 0x{va:x}: pagewalk {got}, gva2gpa {want}")
            else:
                res.counts[f"{source}_kmalloc_objects"] = res.counts.get(f"{source}_kmalloc_objects", 0) + 1
        if churn > MAX_VMALLOC_CHURN_PAGES:
            res.fail(f"{source}-kmap", f"{churn} vmalloc pages differ (more than {MAX_VMALLOC_CHURN_PAGES})")
        if compared < 100:
            res.fail(f"{source}-kmap", f"only {compared} kernel leaves compared")
        res.counts[f"{source}_kmap_rows"] = len(rows)
        res.counts[f"{source}_kmap_leaves_compared"] = compared
        res.counts[f"{source}_kmap_vmalloc_churn"] = churn
