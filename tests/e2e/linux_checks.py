"""Linux-knowledge checks: pagewalk's view of the kernel in a dump, with no vmlinux and no
debug package, against what the guest and QEMU say.

Oracles, all outside pagewalk:
  * the guest's own /proc/kallsyms (printed by /init): symbol addresses;
  * QEMU reading guest memory at those symbols (gva2gpa + xp): the KASLR bases;
  * the test program's PID line and comm, and QEMU's gva2gpa for its VAs and for the
    kernel samples.
The kdump-compressed dump of the same stopped guest must give the same answers as the ELF.
"""

import json
import shlex
import subprocess

import pwjson

KERNEL_TEXT_LINK = 0xffffffff81000000
# Symbols /init prints from /proc/kallsyms (see initramfs.py).
KSYMS = ("_text", "init_task", "init_top_pgt", "page_offset_base", "vmalloc_base", "vmemmap_base")
BASES = ("page_offset_base", "vmalloc_base", "vmemmap_base")


class LinuxSetupError(RuntimeError):
    pass


def pagewalk_json(pagewalk, args, ok_codes=(0,), stdin_text=None, lines=False):
    cmd = shlex.split(pagewalk) + args
    r = subprocess.run(cmd, input=stdin_text, capture_output=True, text=True, timeout=600)
    if r.returncode not in ok_codes:
        raise LinuxSetupError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr[-3000:]}")
    what = " ".join(args[:3])
    return pwjson.lines(r.stdout, what) if lines else pwjson.document(r.stdout, what)


def guest_ksyms(guest):
    out = {}
    for line in guest.info.get("ksym", "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[1]] = int(parts[0], 16)
    return out


def read_u64(guest, va):
    """QEMU's read of the 8 bytes at a guest VA (its own walk, then physical memory)."""
    gpa = guest.gva2gpa(va)
    if gpa is None:
        return None
    text = guest.hmp(f"xp /1gx 0x{gpa:x}")
    return int(text.split()[-1], 16)


def collect(guest):
    """While the guest is stopped: the symbols and the values QEMU reads at them."""
    ksyms = guest_ksyms(guest)
    missing = [s for s in KSYMS if s not in ksyms]
    if missing:
        raise LinuxSetupError(f"the guest's /proc/kallsyms did not give {missing}")
    values = {}
    for name in BASES:
        v = read_u64(guest, ksyms[name])
        if v is not None:
            values[name] = v
    return {"ksyms": ksyms, "values": values, "pid": guest.pid, "status": hello_status(guest),
            "maps": hello_maps(guest), "kpageflags": hello_kpageflags(guest), "modules": guest_modules(guest),
            "swapped": hello_swapped(guest)}


def hello_status(guest):
    """The line /init prints once the program is up (after READY, so not in guest.info)."""
    for line in guest.serial_text.splitlines():
        if line.startswith("INFO hello_status "):
            return parse_status(line[len("INFO hello_status "):])
    return {}


def hello_kpageflags(guest):
    """{name: (pfn, word)}: /proc/kpageflags for each present program page, as it printed it."""
    out = {}
    for line in guest.info.get("kpageflags", "").splitlines():
        f = line.split()
        if len(f) == 3:
            out[f[0]] = (int(f[1], 16), int(f[2], 16))
    return out


def hello_swapped(guest):
    """{name: (type, offset)}: the swap entry /proc/self/pagemap gives for each program page
    that was paged out, as the program printed it."""
    out = {}
    for line in guest.info.get("swap", "").splitlines():
        f = line.split()
        if len(f) == 3:
            out[f[0]] = (int(f[1]), int(f[2], 16))
    return out


def check_swapped(res, kind, va_of, records, swapped):
    """Each paged-out program page (`va_of`: the program's VAs by name): pagewalk's
    translate record for it says swap, with the type and offset the guest's pagemap gives,
    so the release's swap layout is read as the kernel wrote it. Fails when none was paged
    out."""
    if not swapped:
        res.fail(kind, "the guest paged nothing out (no zram swap, or MADV_PAGEOUT kept the page)")
    by_va = {as_int(r.get("va")): r for r in records}
    for name, (stype, offset) in swapped.items():
        va = va_of.get(name)
        r = by_va.get(va, {})
        got = r.get("swap") or {}
        if r.get("status") != "swap" or got.get("type") != stype or as_int(got.get("offset")) != offset:
            res.fail(kind, f"{name} 0x{va or 0:x}: pagewalk {r.get('status')} {got}, pagemap swap type {stype} "
                           f"offset 0x{offset:x}")
        res.counts[f"{kind}_entries"] = res.counts.get(f"{kind}_entries", 0) + 1


# Bits of /proc/kpageflags (include/uapi/linux/kernel-page-flags.h) that page decides from
# the struct page alone and that stay as they are once the program's pages are faulted in
# (LRU, ACTIVE, REFERENCED move with reclaim's per-CPU batches; MMAP is counted elsewhere).
KPF_STABLE = {"SLAB": 7, "BUDDY": 10, "MMAP": 11, "ANON": 12, "HUGE": 17, "SWAPBACKED": 14, "COMPOUND_HEAD": 15, "COMPOUND_TAIL": 16,
              "UNEVICTABLE": 18, "HWPOISON": 19, "KSM": 21, "THP": 22, "ZERO_PAGE": 24, "PGTABLE": 26,
              "UPTODATE": 3, "MLOCKED": 33}


def check_page(pagewalk, dump_path, orc, lorc, res):
    """page: the struct page of each program frame, its kpageflags as the kernel computes
    them = the word the program read from the guest's /proc/kpageflags (the stable bits);
    a page cache page's file = the path /proc/PID/maps gives the VMA it is mapped in."""
    kpf = lorc.get("kpageflags") or {}
    if not kpf:
        res.fail("page", "the program printed no /proc/kpageflags words")
        return
    names = sorted(kpf)
    args = ["page", "--image", dump_path, "--json"]
    for n in names:
        args += ["--pfn", f"0x{kpf[n][0]:x}"]
    doc = pagewalk_json(pagewalk, args)
    mask = sum(1 << b for b in KPF_STABLE.values())
    if len(doc["pages"]) != len(names):
        res.fail("page", f"{len(doc['pages'])} pages for {len(names)} frames")
        return
    for n, p in zip(names, doc["pages"]):
        want = kpf[n][1] & mask
        got = as_int(p["kpageflags"]["raw"]) & mask
        if want != got:
            names_of = lambda w: sorted(k for k, b in KPF_STABLE.items() if w >> b & 1)
            res.fail("page", f"{n} PFN 0x{kpf[n][0]:x}: pagewalk {names_of(got)}, /proc/kpageflags {names_of(want)}")
        # x86-64's zones by address (arch/x86/mm/init.c, zone_sizes_init): DMA below 16 MiB,
        # DMA32 below 4 GiB; the guests have one node.
        pa = kpf[n][0] << 12
        want_zone = "DMA" if pa < (16 << 20) else "DMA32" if pa < (4 << 30) else "NORMAL"
        if p.get("zone") != want_zone or p.get("node") != 0:
            res.fail("page", f"{n} PFN 0x{kpf[n][0]:x}: node {p.get('node')} zone {p.get('zone')}, want 0 {want_zone}")
    if not any("THP" in p["kpageflags"]["flags"] for p in doc["pages"]):
        res.fail("page", "no THP among the program's pages")
    va_of = {p["name"]: p["va"] for p in orc["prog"]}
    files = 0
    for n, p in zip(names, doc["pages"]):
        vma = next((v for v in lorc.get("maps") or [] if n in va_of and v[0] <= va_of[n] < v[1]), None)
        if p["mapping_kind"] != "file":
            continue
        files += 1
        if vma is None or p.get("file") != vma[6]:
            res.fail("page", f"{n} PFN 0x{kpf[n][0]:x}: file {p.get('file')!r}, /proc/PID/maps {vma[6] if vma else None!r}")
    if not files:
        res.fail("page", "no page cache page among the program's pages (its code should be one)")
    res.counts["page_files"] = files
    res.counts["page_frames"] = len(names)


def hello_maps(guest):
    """The program's /proc/PID/maps as /init printed it: (start, end, perms, offset, dev,
    inode, name) per line."""
    out = []
    for line in guest.serial_text.splitlines():
        line = line.strip()
        if not line.startswith("INFO hello_maps "):
            continue
        f = line[len("INFO hello_maps "):].split(None, 5)
        if len(f) < 5:
            continue
        start, end = (int(x, 16) for x in f[0].split("-"))
        out.append((start, end, f[1], int(f[2], 16), f[3], int(f[4]), f[5] if len(f) > 5 else ""))
    return out


def guest_modules(guest):
    """/proc/modules and the module lines of /proc/kallsyms, as /init printed them:
    {"modules": [(name, size, state, base)], "symbols": {(addr, type, name, module)}}."""
    # From the whole console: /init prints them later when it loads the pagewalk module.
    lines = [l.rstrip("\r") for l in guest.serial_text.splitlines()]
    info = {k: "\n".join(l[len(f"INFO {k} "):] for l in lines if l.startswith(f"INFO {k} "))
            for k in ("proc_module", "modsym")}
    mods = []
    for line in info["proc_module"].splitlines():
        f = line.split()
        if len(f) >= 6:  # name size refcount deps state address
            mods.append((f[0], int(f[1]), f[4], int(f[5], 16)))
    syms = set()
    for line in info["modsym"].splitlines():
        f = line.split()
        if len(f) == 4 and f[3].startswith("[") and f[3].endswith("]"):
            syms.add((int(f[0], 16), f[1], f[2], f[3][1:-1]))
    return {"modules": mods, "symbols": syms}


def modules_match(doc, want, res, check):
    """A modules --symbols document against /proc/modules and /proc/kallsyms' module lines."""
    got = [(m["name"], m["size"], m["state"], as_int(m["base"])) for m in doc["modules"]]
    if sorted(got) != sorted(want["modules"]):
        res.fail(check, f"modules {got}, /proc/modules {want['modules']}")
    syms = {(as_int(s["addr"]), s["type"], s["name"], m["name"]) for m in doc["modules"] for s in m["symbols"]}
    if syms != want["symbols"]:
        res.fail(check, f"{len(syms)} module symbols, /proc/kallsyms {len(want['symbols'])}: missing "
                 f"{sorted(want['symbols'] - syms)[:3]}, extra {sorted(syms - want['symbols'])[:3]}")
    return len(syms)


def check_modules(pagewalk, dump_path, lorc, res, extra=()):
    """modules from the kernel's list = the guest's /proc/modules and /proc/kallsyms; then
    translate --kernel names each module symbol's address, one byte into it, and resolves
    MODULE:NAME to the address the guest gave."""
    want = lorc.get("modules") or {"modules": [], "symbols": set()}
    doc = pagewalk_json(pagewalk, ["modules", "--image", dump_path, *extra, "--symbols", "--json"])
    res.counts["modules_symbols"] = modules_match(doc, want, res, "modules")
    res.counts["modules"] = len(doc["modules"])
    if not want["symbols"]:
        return
    # The kernel names an address by the symbols that are not local labels or mapping
    # symbols (find_kallsyms_symbol, is_arm_mapping_symbol); /proc/kallsyms lists those too.
    # A module's per-CPU variables (zsmalloc's zs_map_area) are no kernel VA on x86-64: its
    # per-CPU area is zero-based, and kallsyms gives them as offsets (mod_percpu).
    wide = any(base >= 1 << 32 for _, _, _, base in want["modules"])
    by_addr = {}
    for addr, _t, name, mod in want["symbols"]:
        if wide and addr < 1 << 32:
            continue
        if not (name.startswith(".L") or name.startswith("$")):
            by_addr.setdefault(addr, set()).add((name, mod))
    addrs = sorted(by_addr)
    # Each symbol's own address, and one byte in unless the next symbol starts there.
    queries = [(a, 0) for a in addrs] + [(a, 1) for i, a in enumerate(addrs) if i + 1 == len(addrs) or addrs[i + 1] > a + 1]
    name0, mod0 = sorted(by_addr[addrs[0]])[0]
    stdin = "".join(f"0x{a + off:x}\n" for a, off in queries) + f"{mod0}:{name0}\n"
    out = pagewalk_json(pagewalk, ["translate", "--image", dump_path, *extra, "--kernel", "--jsonl", "-"], ok_codes=(0, 1),
                        stdin_text=stdin, lines=True)
    if len(out) != len(queries) + 1:
        res.fail("modules-names", f"{len(out)} lines for {len(queries) + 1} addresses")
        return
    bad = 0
    for (a, off), rec in zip(queries, out):
        names = {f"{n}+0x{off:x} [{m}]" if off else f"{n} [{m}]" for n, m in by_addr[a]}
        if rec.get("symbol") not in names:
            bad += 1
            if bad <= 3:
                res.fail("modules-names", f"0x{a + off:x}: pagewalk {rec.get('symbol')!r}, /proc/kallsyms {sorted(names)}")
    if as_int(out[-1].get("va")) != addrs[0]:
        res.fail("modules-names", f"{mod0}:{name0} resolved to {out[-1].get('va')}, /proc/kallsyms says 0x{addrs[0]:x}")
    res.counts["modules_names_checked"] = len(queries) + 1


def check_maps(pagewalk, dump_path, pid, lorc, res, extra=()):
    """maps --pid from the kernel's maple tree = the guest's own /proc/PID/maps, line for line
    (`extra`: options that supply the kernel's types, such as --vmlinux FILE)."""
    want = lorc.get("maps") or []
    if not want:
        res.fail("maps", "the guest printed no /proc/PID/maps lines")
        return
    doc = pagewalk_json(pagewalk, ["maps", "--image", dump_path, *extra, "--pid", str(pid), "--json"])
    procs = doc["processes"]
    got = [(as_int(v["start"]), as_int(v["end"]), v["perms"], as_int(v["offset"]), v["dev"], v["inode"], v["path"])
           for v in (procs[0]["vmas"] if procs else [])]
    if got != want:
        missing = [w for w in want if w not in got]
        surplus = [g for g in got if g not in want]
        res.fail("maps", f"{len(got)} VMAs, the guest's maps has {len(want)}; missing {missing[:4]}, extra {surplus[:4]}")
    # The text form is maps' own, fields and padding: the same lines the guest printed.
    text = subprocess.run(shlex.split(pagewalk) + ["maps", "--image", dump_path, *extra, "--pid", str(pid), "--no-header"],
                          capture_output=True, text=True, timeout=120).stdout.splitlines()
    if [l.split() for l in text] != [[f"{w[0]:08x}-{w[1]:08x}", w[2], f"{w[3]:08x}", w[4], str(w[5])] + ([w[6]] if w[6] else [])
                                     for w in want]:
        res.fail("maps", "the text form differs from the guest's /proc/PID/maps")
    res.counts["maps_vmas"] = len(want)


def parse_status(text):
    """'State: R (running) PPid: 1 Threads: 1' (from /proc/PID/status) as ps's fields."""
    words = text.split()
    out = {}
    for i, w in enumerate(words[:-1]):
        if w == "State:":
            out["state"] = words[i + 1]
        elif w == "PPid:":
            out["ppid"] = int(words[i + 1])
        elif w == "Threads:":
            out["threads"] = int(words[i + 1])
    return out


def task_matches_status(task, status, res, check):
    """ps's ppid, state and threads for the test program against the guest's /proc. The
    program spins, so it is R whenever it is looked at."""
    if not status:
        return 0
    for key in ("ppid", "state", "threads"):
        if key in status and task.get(key) != status[key]:
            res.fail(check, f"pid {task['pid']} {key}: pagewalk {task.get(key)!r}, /proc/PID/status {status[key]!r}")
    return len(status)


def as_int(v):
    return None if v is None else int(v, 16)


def pid_records_match_gva2gpa(records, prog, case, res, check, each=None):
    """translate --pid records, one per program VA (two under PTI: both halves of the PGD
    pair), against gva2gpa. `each(p, rec)` adds checks of its own. False when the record
    count is wrong (nothing compared)."""
    views = 2 if case["pti"] else 1
    if len(records) != views * len(prog):
        res.fail(check, f"{len(records)} records for {len(prog)} VAs x {views} PGD(s)")
        return False
    for i, p in enumerate(prog):
        for rec in records[i * views:(i + 1) * views]:
            got = as_int(rec.get("pa")) if rec["status"] == "mapped" else None
            if as_int(rec["va"]) != p["va"] or got != p["gpa"]:
                res.fail(check, f"{p['name']} 0x{p['va']:x} ({rec.get('pgd', 'pgd')}): "
                                f"pagewalk {rec['status']} {rec.get('pa')}, gva2gpa {p['gpa']}")
            if each:
                each(p, rec)
    return True


# The strings the test program wrote (tests/e2e/guest/hello-mm.c), by the name of its VA.
PROGRAM_STRINGS = {"heap": "Hello mm paging!\n", "thp_mid": "THP marker", "readonly": "read-only page"}


def check_read(pagewalk, dump_path, pid, orc, lorc, res):
    """read: the program's strings at its VAs (through its tables) and at the PAs gva2gpa
    gives; the kernel's variables by symbol name = what QEMU reads there."""
    strings = 0
    for p in orc["prog"]:
        want = PROGRAM_STRINGS.get(p["name"])
        if want is None or p["gpa"] is None:
            continue
        for args in (["--pid", str(pid), f"0x{p['va']:x}"], ["--phys", f"0x{p['gpa']:x}"]):
            doc = pagewalk_json(pagewalk, ["read", "--image", dump_path, "--string", "--json"] + args)
            first = doc["pieces"][0] if doc["pieces"] else {}
            if doc.get("string") != want or not doc.get("terminated"):
                res.fail("read", f"{p['name']} {' '.join(args)}: {doc.get('string')!r}, the program wrote {want!r}")
            if "--pid" in args and as_int(first.get("pa")) != p["gpa"]:
                res.fail("read", f"{p['name']}: read at PA {first.get('pa')}, gva2gpa 0x{p['gpa']:x}")
            strings += 1
    if strings < 4:
        res.fail("read", f"only {strings} program strings compared")
    res.counts["read_strings"] = strings
    # A PROT_NONE page is reported in place, not read.
    pn = next((p for p in orc["prog"] if p["name"] == "protnone"), None)
    if pn is not None:
        doc = pagewalk_json(pagewalk, ["read", "--image", dump_path, "--pid", str(pid), "--json", f"0x{pn['va']:x}"],
                            ok_codes=(1,))
        if [x["status"] for x in doc["pieces"]] != ["unreadable"] or "PROT_NONE" not in doc["pieces"][0]["reason"]:
            res.fail("read", f"protnone page: {doc['pieces']}")
    # Symbols: the kernel's variables read by name = QEMU's reads at the guest's addresses.
    for name, value in lorc["values"].items():
        doc = pagewalk_json(pagewalk, ["read", "--image", dump_path, "--kernel", name, "-n", "8", "--json"])
        got = int.from_bytes(bytes.fromhex(doc["pieces"][0].get("bytes", "")), "little") if doc["pieces"] else None
        if as_int(doc["address"]) != lorc["ksyms"][name] or got != value:
            res.fail("read_symbol", f"{name}: pagewalk {doc['address']} = {hex(got) if got is not None else None}, "
                                    f"guest 0x{lorc['ksyms'][name]:x} = 0x{value:x}")
    tr = pagewalk_json(pagewalk, ["translate", "--image", dump_path, "--kernel", "--json", "init_task+0x10"])
    r0 = tr["results"][0]
    if as_int(r0["va"]) != lorc["ksyms"]["init_task"] + 0x10 or r0.get("symbol") != "init_task+0x10":
        res.fail("read_symbol", f"init_task+0x10: va {r0['va']} symbol {r0.get('symbol')}, "
                                f"guest init_task 0x{lorc['ksyms']['init_task']:x}")
    res.counts["read_symbols"] = len(lorc["values"]) + 1


def tlb_aliases(orc, pa, kernel_half=1 << 63):
    """Every kernel VA QEMU's `info tlb` (of the stopped program's CR3) shows mapping `pa`."""
    out = set()
    for va, base, _letters in orc["tlb"]:
        size = orc["sizes"].get(va, 4096)
        if va >= kernel_half and base <= pa < base + size:
            out.add(va + (pa - base))
    return out


def check_ptov(pagewalk, dump_path, pid, case, orc, res):
    """ptov on the dump: each program frame is found under its pid at the VA the program
    printed, and its kernel aliases are the ones `info tlb` lists (all of them, outside
    PTI, where the stopped CR3 is the user PGD and shows almost none of the kernel)."""
    prog = [p for p in orc["prog"] if p["gpa"] is not None]
    stdin = "".join(f"0x{p['gpa']:x}\n" for p in prog)
    doc = pagewalk_json(pagewalk, ["ptov", "--image", dump_path, "--json", "-"], stdin_text=stdin)
    if len(doc["queries"]) != len(prog):
        res.fail("ptov", f"{len(doc['queries'])} answers for {len(prog)} PAs")
        return
    aliases = 0
    for p, q in zip(prog, doc["queries"]):
        mine = {as_int(m["va"]) for m in q["mappers"] if m.get("pid") == pid}
        if p["va"] not in mine:
            res.fail("ptov", f"{p['name']} PA 0x{p['gpa']:x}: pid {pid} VA 0x{p['va']:x} not among {sorted(map(hex, mine))}")
        if case["pti"]:
            continue
        got = {as_int(m["va"]) for m in q["mappers"] if m["space"] == "kernel"}
        want = tlb_aliases(orc, p["gpa"])
        if got != want:
            res.fail("ptov", f"{p['name']} PA 0x{p['gpa']:x}: kernel VAs {sorted(map(hex, got))}, "
                             f"info tlb {sorted(map(hex, want))}")
        aliases += len(want)
    res.counts["ptov_frames"] = len(prog)
    res.counts["ptov_kernel_aliases"] = aliases


def check_search(pagewalk, dump_path, pid, orc, res):
    """search finds each program string at the PA gva2gpa gives, mapped by the program at
    the VA it printed; --pid keeps only the hits the program maps."""
    found = 0
    for p in orc["prog"]:
        want = PROGRAM_STRINGS.get(p["name"])
        if want is None or p["gpa"] is None:
            continue
        doc = pagewalk_json(pagewalk, ["search", "--image", dump_path, "--json", want])
        hit = next((h for h in doc["hits"] if as_int(h["pa"]) == p["gpa"]), None)
        if hit is None:
            res.fail("search", f"{want!r}: no hit at PA 0x{p['gpa']:x} among {[h['pa'] for h in doc['hits']]}")
            continue
        if not any(m.get("pid") == pid and as_int(m["va"]) == p["va"] for m in hit["mappers"]):
            res.fail("search", f"{want!r} at PA 0x{p['gpa']:x}: pid {pid} VA 0x{p['va']:x} not among its mappers")
            continue
        mine = pagewalk_json(pagewalk, ["search", "--image", dump_path, "--json", "--pid", str(pid), want])
        if [as_int(h["pa"]) for h in mine["hits"]] != [p["gpa"]]:
            res.fail("search", f"{want!r} --pid {pid}: hits {[h['pa'] for h in mine['hits']]}, want only 0x{p['gpa']:x}")
            continue
        found += 1
    if found < 2:
        res.fail("search", f"only {found} program strings found")
    res.counts["search_strings"] = found


def check(pagewalk, dump_path, kdump_path, case, orc, lorc, res):
    ksyms, values, pid = lorc["ksyms"], lorc["values"], lorc["pid"]

    # The bases pagewalk finds in the dump = the guest's symbols and QEMU's reads there.
    layout = pagewalk_json(pagewalk, ["layout", "--image", dump_path, "--json"])
    bases = layout["bases"]
    want_offset = ksyms["_text"] - KERNEL_TEXT_LINK
    got_offset = as_int((bases["kaslr_offset"] or {}).get("value"))
    if got_offset != want_offset:
        res.fail("kaslr_offset", f"pagewalk 0x{got_offset or 0:x}, guest _text says 0x{want_offset:x}")
    if as_int(bases["kernel_pgd_va"]["value"]) != ksyms["init_top_pgt"]:
        res.fail("kernel_pgd", f"pagewalk {bases['kernel_pgd_va']['value']}, guest init_top_pgt 0x{ksyms['init_top_pgt']:x}")
    if len(values) != len(BASES) and not case["pti"]:
        res.fail("bases", f"QEMU could read only {sorted(values)}")
    for name, v in values.items():
        got = as_int((bases[name] or {}).get("value"))
        if got != v:
            res.fail("bases", f"{name}: pagewalk {hex(got) if got is not None else None}, QEMU reads 0x{v:x}")
    res.counts["bases_compared"] = len(values) + 2

    # ps finds the test program by pid and comm; its PGD is the CR3 QEMU showed.
    ps = pagewalk_json(pagewalk, ["ps", "--image", dump_path, "--json"])
    mine = [t for t in ps["tasks"] if t["pid"] == pid]
    if len(mine) != 1 or mine[0]["comm"] != "hello-mm":
        res.fail("ps", f"pid {pid} hello-mm not found: {mine}")
        return
    cr3 = orc["regs"]["CR3"]
    pgd_pa = as_int(mine[0]["pgd_pa"])
    want_pgd = cr3 & ~0xfff & ~(1 << 12) if case["pti"] else cr3 & ~0xfff
    if pgd_pa != want_pgd:
        res.fail("ps", f"pid {pid} PGD PA 0x{pgd_pa or 0:x}, CR3 0x{cr3:x}")
    res.counts["ps_status_fields"] = task_matches_status(mine[0], lorc["status"], res, "ps")
    if bool(ps["pti"]) != case["pti"]:
        res.fail("ps", f"pagewalk says pti={ps['pti']}, the case expects {case['pti']}")
    res.counts["ps_tasks"] = len(ps["tasks"])

    # translate --pid: the program's VAs through its own tables = gva2gpa (under PTI, both
    # halves of the PGD pair map user memory the same way).
    vas = [p for p in orc["prog"]]
    stdin = "".join(f"0x{p['va']:x}\n" for p in vas)
    out = pagewalk_json(pagewalk, ["translate", "--image", dump_path, "--pid", str(pid), "--jsonl", "-"],
                        ok_codes=(0, 1), stdin_text=stdin, lines=True)
    if pid_records_match_gva2gpa(out, vas, case, res, "translate_pid"):
        res.counts["pid_vas_compared"] = len(out)
    # The page the program paged out to zram: the x86-64 swap entry (type in 63:59, the
    # offset inverted in 58:9, pgtable_64.h) with the guest's pagemap type and offset.
    check_swapped(res, "swap", {p["name"]: p["va"] for p in vas}, out, lorc["swapped"])

    check_read(pagewalk, dump_path, pid, orc, lorc, res)
    check_ptov(pagewalk, dump_path, pid, case, orc, res)
    check_search(pagewalk, dump_path, pid, orc, res)
    check_maps(pagewalk, dump_path, pid, lorc, res)
    check_page(pagewalk, dump_path, orc, lorc, res)
    check_modules(pagewalk, dump_path, lorc, res)

    # kconv: the kernel's own formulas on direct-map and kernel-text samples = gva2gpa.
    kern = [(va, gpa) for _tag, va, gpa in orc["kern"] if gpa is not None]
    args = ["kconv", "--image", dump_path, "--json"]
    for va, _ in kern:
        args += ["--virt", f"0x{va:x}"]
    kc = pagewalk_json(pagewalk, args, ok_codes=(0, 1))
    by_rule = {"direct_map": 0, "kernel_text": 0}
    for row, (va, gpa) in zip(kc["rows"], kern):
        if row["region"] not in by_rule:
            continue
        by_rule[row["region"]] += 1
        if as_int(row["pa"]) != gpa or not row["agrees"]:
            res.fail("kconv", f"0x{va:x} ({row['region']}): formula {row['pa']}, tables {row['walk_pa']}, gva2gpa 0x{gpa:x}")
    if len(kc["rows"]) != len(kern):
        res.fail("kconv", f"{len(kc['rows'])} rows for {len(kern)} addresses")
    if not case["pti"] and (by_rule["direct_map"] == 0 or by_rule["kernel_text"] == 0):
        res.fail("kconv", f"samples cover too little: {by_rule}")
    res.counts["kconv_direct_map"] = by_rule["direct_map"]
    res.counts["kconv_kernel_text"] = by_rule["kernel_text"]

    # The kdump-compressed dump of the same guest gives the same answers.
    if kdump_path:
        ps2 = pagewalk_json(pagewalk, ["ps", "--image", kdump_path, "--json"])
        if [(t["pid"], t["comm"], t["pgd_pa"]) for t in ps2["tasks"]] != \
           [(t["pid"], t["comm"], t["pgd_pa"]) for t in ps["tasks"]]:
            res.fail("kdump", "ps differs between the kdump-compressed and the ELF dump")
        out2 = pagewalk_json(pagewalk, ["translate", "--image", kdump_path, "--pid", str(pid), "--jsonl", "-"],
                             ok_codes=(0, 1), stdin_text=stdin, lines=True)
        if out2 != out:
            res.fail("kdump", "translate --pid differs between the kdump-compressed and the ELF dump")
        res.counts["kdump_vas_compared"] = len(out2)
