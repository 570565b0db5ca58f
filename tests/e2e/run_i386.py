#!/usr/bin/env python3
"""32-bit x86 Linux end to end: Debian's 686-pae (PAE) and 686 (2-level) kernels under
qemu-system-i386 (TCG) with a static i386 test program, and the dumps pagewalk translates
offline held to QEMU's own MMU (`gva2gpa`, `info tlb`) and the guest's own
/proc/self/pagemap:

  * the program's VAs through the dump's CPU registers: PA = gva2gpa, PFN = pagemap's;
  * kernel VAs across lowmem and the top of the space through swapper_pg_dir (--kernel);
  * `map --pages` against every leaf of `info tlb` (frames compared: QEMU 7.2 prints the
    NX bit inside its PA column on PAE guests, the articles' mistake);
  * "Hello mm paging!" read at the translated address;
  * `layout` (PAGE_OFFSET, lowmem), `kconv` (__pa of lowmem checked against the tables
    and gva2gpa, no __va for a frame above lowmem), and `ps` saying which package holds the
    types it needs (these kernels have no BTF);
  * a 1 GiB PAE guest whose program pages sit in highmem;
  * `layout`'s regions above lowmem against /proc/vmallocinfo and info tlb;
  * with the kernel's DWARF (--vmlinux, from Debian's -dbg package): ps, translate --pid,
    maps --pid, modules and page against the guest's /proc;
  * a PAE guest under page-table isolation, whose PGDs are pairs.

The kernels, their vmlinux and an i386 busybox are fetched with `apt-get download`
against a private apt state for i386 (the host's architecture list is never changed).
The guests without PTI boot with `nopti`, so that the stopped program's CR3 maps the
kernel too and gva2gpa can answer for kernel VAs; under PTI the kernel VAs go through the
CPU's CR3 (the user half), as gva2gpa's do.

Usage: run_i386.py --pagewalk build/pagewalk [--cache DIR] [--keep DIR]
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import foreign_apt  # noqa: E402
import kmodules  # noqa: E402
from initramfs import build_guest_program, build_initramfs  # noqa: E402
from linux_checks import KPF_STABLE, check_maps, check_modules, guest_modules, hello_kpageflags, hello_maps  # noqa: E402
from linux_checks import check_swapped, hello_status, hello_swapped, task_matches_status  # noqa: E402
from qemu_guest import QemuGuest  # noqa: E402

PAGE_OFFSET = 0xC0000000  # CONFIG_VMSPLIT_3G of Debian's i386 kernels
MIB = 1 << 20
# name, kernel flavour, CPU model, RAM, the mode pagewalk must find, frame bits of an entry,
# page-table isolation (pti=on; the others boot with nopti)
CASES = [
    ("686-pae", "686-pae", "qemu64", "512M", "x86-pae", 0x000FFFFFFFFFF000, False),
    ("686", "686", "qemu32", "512M", "x86-32", 0xFFFFF000, False),
    ("686-pae-highmem", "686-pae", "qemu64", "1G", "x86-pae", 0x000FFFFFFFFFF000, False),
    ("686-pae-pti", "686-pae", "qemu64", "512M", "x86-pae", 0x000FFFFFFFFFF000, True),
]


class SetupError(RuntimeError):
    pass


def log(msg):
    print(msg, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def fetch(cache):
    """{flavour: vmlinuz} and the i386 busybox, downloaded and unpacked once."""
    out = os.path.join(cache, "i386")
    os.makedirs(out, exist_ok=True)
    stamp = os.path.join(out, "PACKAGES")
    if not os.path.isfile(stamp):
        try:
            root = foreign_apt.private_apt(cache, "i386")
            pkgs = [foreign_apt.depends_of(root, "linux-image-686-pae"), foreign_apt.depends_of(root, "linux-image-686"),
                    "busybox-static"]
            foreign_apt.download_and_unpack(root, pkgs, out)
        except foreign_apt.FetchError as e:
            raise SetupError(str(e))
        with open(stamp, "w") as f:
            f.write("\n".join(pkgs) + "\n")
    pkgs = open(stamp).read().split()
    kernels = {}
    for pkg in pkgs[:2]:
        flavour = "686-pae" if pkg.endswith("-686-pae") else "686"
        found = glob.glob(os.path.join(out, pkg, "boot", "vmlinuz-*"))
        if not found:
            raise SetupError(f"{pkg} holds no vmlinuz (remove {stamp} to fetch again)")
        # qemu_fw_cfg and what it needs, loaded by /init: the modules' oracle; zram, the swap
        # device hello-mm pages a page out to.
        modules = os.path.join(out, f"modules-{flavour}")
        order = os.path.join(modules, "ORDER")
        if not os.path.isfile(order) or "zram.ko" not in open(order).read().split():
            try:
                kmodules.collect(os.path.join(out, pkg, "lib", "modules"), modules, "qemu_fw_cfg", "zram")
            except kmodules.ModuleError as e:
                raise SetupError(str(e))
        kernels[flavour] = (found[0], modules)
    busybox = os.path.join(out, "busybox-static", "bin", "busybox")
    if not os.path.isfile(busybox):
        raise SetupError(f"no i386 busybox in {out} (remove {stamp} to fetch again)")
    vmlinux = {("686-pae" if pkg.endswith("-686-pae") else "686"): fetch_vmlinux(cache, out, pkg) for pkg in pkgs[:2]}
    return kernels, vmlinux, busybox, pkgs[0].removeprefix("linux-image-")


def fetch_vmlinux(cache, out, pkg):
    """The kernel's DWARF: /usr/lib/debug/boot/vmlinux-RELEASE of Debian's PKG-dbg, alone
    (the package's 3 GiB of module debug info is never unpacked)."""
    release = pkg.removeprefix("linux-image-")
    dest = os.path.join(out, f"{pkg}-dbg", f"vmlinux-{release}")
    if os.path.isfile(dest):
        return dest
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    try:
        return foreign_apt.download_member(foreign_apt.private_apt(cache, "i386"), f"{pkg}-dbg",
                                           f"./usr/lib/debug/boot/vmlinux-{release}", dest)
    except foreign_apt.FetchError as e:
        raise SetupError(str(e))


# --------------------------------------------------------------------------
# The checks


class Result:
    def __init__(self, name):
        self.name, self.failures, self.counts = name, [], {}

    def fail(self, what, detail):
        self.failures.append(f"{what}: {detail}")

    def count(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + n


def pagewalk_lines(pw, *args):
    r = run([pw, *args], timeout=300)
    if r.returncode not in (0, 1):
        raise SetupError(f"pagewalk {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return [json.loads(line) for line in r.stdout.splitlines()]


def pagewalk_doc(pw, *args, ok=(0, 1)):
    r = run([pw, *args], timeout=300)
    if r.returncode not in ok:
        raise SetupError(f"pagewalk {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout) if r.stdout.strip() else None, r


def parse_info_tlb(text, frame_mask):
    """{va: frame} of every leaf `info tlb` lists ("c0000000: 8000000000000000 XG-DA---W")."""
    leaves = {}
    for raw in text.splitlines():
        va_s, sep, rest = raw.strip().partition(":")
        parts = rest.split()
        if not sep or len(parts) != 2:
            raise SetupError(f"unexpected info tlb line: {raw!r}")
        leaves[int(va_s, 16)] = int(parts[0], 16) & frame_mask
    return leaves


def compare(res, kind, va, ours, theirs):
    """ours: pagewalk's JSON result; theirs: gva2gpa's PA or None."""
    mapped = ours.get("status") == "mapped"
    pa = int(ours["pa"], 16) if mapped else None
    if pa != theirs:
        res.fail(kind, f"0x{va:x}: pagewalk {ours.get('status')} {ours.get('pa')}, gva2gpa "
                       f"{'unmapped' if theirs is None else hex(theirs)}")
    res.count(f"{kind}_vas")


def vmalloc_areas(guest):
    """[(start, end, caller)] from the guest's /proc/vmallocinfo, as /init printed it (after
    READY, so not in guest.info)."""
    out = []
    for line in guest.serial_text.splitlines():
        if not line.startswith("INFO vmalloc "):
            continue
        f = line[len("INFO vmalloc "):].split()
        if f and "-" in f[0]:
            start, end = (int(x, 16) for x in f[0].split("-"))
            out.append((start, end, f[2] if len(f) > 2 else ""))
    return out


def check_layout_regions(res, layout, vmalloc, tlb):
    """layout's regions against the kernel's own: every area of /proc/vmallocinfo lies in
    the vmalloc region, and every kernel leaf of info tlb above lowmem in a region that may
    map (vmalloc, pkmap, LDT remap, cpu_entry_area and fixmap), none in a guard hole."""
    regions = [(int(r["start"], 16), int(r["end"], 16), r["region"]) for r in layout["regions"]]

    def region_of(va):
        return next((kind for start, end, kind in regions if start <= va < end), None)
    if not vmalloc:
        res.fail("layout", "the guest printed no /proc/vmallocinfo lines")
    for start, end, caller in vmalloc:
        if region_of(start) != "vmalloc" or region_of(end - 1) != "vmalloc":
            res.fail("layout", f"vmallocinfo 0x{start:x}-0x{end:x} {caller}: pagewalk says {region_of(start)}")
        res.count("vmalloc_areas")
    mappable = {"direct_map", "vmalloc", "pkmap", "ldt_remap", "cpu_entry_area"}
    for va in sorted(tlb):
        if va >= PAGE_OFFSET and region_of(va) not in mappable:
            res.fail("layout", f"info tlb maps 0x{va:x}, in pagewalk's {region_of(va)}")
            break
        if va >= PAGE_OFFSET and region_of(va) not in ("direct_map", "vmalloc"):
            res.count("top_leaves_placed")


def check_live(res, pw, guest, pti, program, user_gpa, kernel_vas, kernel_gpa, tlb, vmlinux, proc):
    """The running guest through its gdbstub (--qemu), while QMP keeps it stopped: the same
    answers as QEMU's own MMU for the program's and the kernel's VAs, map --pages against
    info tlb, and the program's VMAs through the kernel's structures."""
    t0 = time.monotonic()
    live = ["--qemu", f"127.0.0.1:{guest.gdb_port}"]
    results = pagewalk_lines(pw, "translate", *live, "--cpu", "0", "--jsonl", *[hex(va) for _, va, _, _ in program])
    for (_, va, _, _), r in zip(program, results):
        compare(res, "qemu_program", va, r, user_gpa[va])
    roots = ["--cpu", "0"] if pti else ["--kernel"]
    results = pagewalk_lines(pw, "translate", *live, *roots, "--jsonl", *[hex(v) for v in kernel_vas])
    for va, r in zip(kernel_vas, results):
        compare(res, "qemu_kernel", va, r, kernel_gpa[va])
    ours = {int(r["start"], 16): int(r["pa"], 16)
            for r in pagewalk_lines(pw, "map", *live, "--cpu", "0", "--pages", "--jsonl") if r.get("kind") == "mapped"}
    if ours != tlb:
        res.fail("qemu_map", f"{len(ours)} leaves vs info tlb's {len(tlb)}")
    res.counts["qemu_tlb_leaves"] = len(ours)
    maps, _ = pagewalk_doc(pw, "maps", *live, "--vmlinux", vmlinux, "--pid", str(guest.pid), "--json")
    procs = (maps or {}).get("processes", [])
    got = [(int(v["start"], 16), int(v["end"], 16), v["perms"], int(v["offset"], 16), v["dev"], v["inode"], v["path"])
           for v in (procs[0]["vmas"] if procs else [])]
    if not proc["maps"] or got != proc["maps"]:
        res.fail("qemu_maps", f"{len(got)} VMAs, the guest's maps has {len(proc['maps'])}")
    status = guest.status()
    if status.get("running") or status.get("status") != "paused":
        res.fail("qemu_state", f"VM state after pagewalk: {status}")
    res.counts["qemu_check_ms"] = round((time.monotonic() - t0) * 1000)


def check_processes(res, pw, dump, vmlinux, pid, regs, want_mode, pti, program, user_gpa, proc, lowmem_end):
    """With the kernel's DWARF (--vmlinux from the -dbg package): ps finds the program with
    the CR3 QEMU shows and /proc's parent, state and threads; translate --pid = gva2gpa
    (through both halves of a PTI pair); maps --pid = /proc/PID/maps; page = /proc/kpageflags
    and the zone of the frame."""
    dwarf = ["--vmlinux", vmlinux]
    ps, _ = pagewalk_doc(pw, "ps", "--image", dump, *dwarf, "--json")
    mine = [t for t in (ps or {}).get("tasks", []) if t["pid"] == pid]
    if len(mine) != 1 or mine[0]["comm"] != "hello-mm":
        res.fail("ps", f"pid {pid} hello-mm not found: {mine}")
        return
    # A PAE CR3 is a 32-byte-aligned PDPT (inside a slab page); a 2-level one a page. Under
    # PTI the PGD is a page pair and the stopped program's CR3 its user half, 4 KiB up.
    cr3 = regs["CR3"] & (~0x1F if want_mode == "x86-pae" else ~0xFFF)
    if int(mine[0]["pgd_pa"] or "0", 16) != (cr3 - 0x1000 if pti else cr3):
        res.fail("ps", f"pid {pid} PGD PA {mine[0]['pgd_pa']}, CR3 0x{regs['CR3']:x}")
    if bool(ps.get("pti")) != pti:
        res.fail("ps", f"pagewalk says pti={ps.get('pti')}, the case boots with pti={'on' if pti else 'off'}")
    res.counts["ps_status_fields"] = task_matches_status(mine[0], proc["status"], res, "ps")
    res.counts["ps_tasks"] = len(ps["tasks"])

    results = pagewalk_lines(pw, "translate", "--image", dump, *dwarf, "--pid", str(pid), "--jsonl",
                             *[hex(va) for _, va, _, _ in program])
    views = 2 if pti else 1
    if len(results) != views * len(program):
        res.fail("translate_pid", f"{len(results)} records for {len(program)} VAs x {views} PGD(s)")
    for i, (_, va, _, _) in enumerate(program):
        for r in results[i * views:(i + 1) * views]:
            compare(res, "translate_pid", va, r, user_gpa[va])
    res.counts["pid_vas"] = len(results)
    # The page the program paged out to zram: a swap entry of the 32-bit layout
    # (pgtable-2level.h / pgtable-3level.h) with the type and offset of the guest's pagemap.
    check_swapped(res, "swap", {n: va for n, va, _, _ in program}, results[::views], proc["swapped"])

    check_maps(pw, dump, pid, proc, res, extra=dwarf)
    if not proc["modules"]["modules"]:
        res.fail("modules", "the guest loaded no module")
    check_modules(pw, dump, proc, res, extra=dwarf)

    kpf = proc["kpageflags"]
    if not kpf:
        res.fail("page", "the program printed no /proc/kpageflags words")
        return
    names = sorted(kpf)
    doc, _ = pagewalk_doc(pw, "page", "--image", dump, *dwarf, "--json",
                          *[a for n in names for a in ("--pfn", hex(kpf[n][0]))])
    mask = sum(1 << b for b in KPF_STABLE.values())
    for n, p in zip(names, (doc or {}).get("pages", [])):
        pfn, want = kpf[n]
        got = int(p["kpageflags"]["raw"], 16)
        if got & mask != want & mask:
            res.fail("page", f"{n} PFN 0x{pfn:x}: kpageflags 0x{got:x}, /proc/kpageflags 0x{want:x}")
        # i386's zones by address (arch/x86/mm/init.c, zone_sizes_init): DMA below 16 MiB,
        # Normal up to the end of lowmem, HighMem above.
        pa = pfn << 12
        want_zone = "DMA" if pa < 16 * MIB else "NORMAL" if pa < lowmem_end else "HIGHMEM"
        if p.get("zone") != want_zone:
            res.fail("page", f"{n} PFN 0x{pfn:x}: zone {p.get('zone')}, want {want_zone}")
        res.count("page_frames")


def run_case(args, name, flavour, cpu, memory, want_mode, frame_mask, pti, kernels, vmlinux, busybox, hello):
    res = Result(name)
    work = os.path.join(args.keep, name) if args.keep else tempfile.mkdtemp(prefix=f"pagewalk-i386-{name}-")
    os.makedirs(work, exist_ok=True)
    # The host's busybox-static (the same Debian version) lists the applets: the i386 one may
    # not run on this machine.
    host_busybox = "/bin/busybox" if os.path.isfile("/bin/busybox") else None
    vmlinuz, modules = kernels[flavour]
    initrd = build_initramfs(os.path.join(work, "initrd.gz"), hello, busybox=busybox, modules=modules,
                             list_applets_with=host_busybox)
    dump = os.path.join(work, "dump.elf")
    ram = int(memory.rstrip("MG")) * (1024 if memory.endswith("G") else 1) * MIB
    # Lowmem VAs from PAGE_OFFSET up to the smaller of RAM and 768 MiB, then the top of the space.
    low = min(ram, 768 * MIB)
    kernel_vas = [PAGE_OFFSET + i * (low // 24) + 0x5a8 for i in range(24)] + \
                 [0xE0000000, 0xF0000000, 0xF8000000, 0xFF400000, 0xFF800000, 0xFFC00000, 0xFFFFF000]
    with QemuGuest(vmlinuz, initrd, work, cpu=cpu, memory=memory, machine="pc",
                   qemu="qemu-system-i386", append_extra=("pti=on" if pti else "nopti") + " hellomm=swap",
                   gdb=True) as g:
        g.boot()
        g.wait_for_line("ORACLES DONE")
        regs, _ = g.stop_in_user_mode()
        program = [(n, va, pfn, present) for n, va, pfn, present in g.vas]
        proc = {"status": hello_status(g), "maps": hello_maps(g), "kpageflags": hello_kpageflags(g),
                "vmalloc": vmalloc_areas(g), "modules": guest_modules(g), "swapped": hello_swapped(g)}
        user_gpa = {va: g.gva2gpa(va) for _, va, _, _ in program}
        # And every region: the first page of each vmalloc area the kernel lists, and the
        # first pages of PAE's pkmap and LDT remap (both in the 2-level kernel's LDT remap).
        kernel_vas += sorted({start for start, _, _ in proc["vmalloc"]}) + [0xFF000000, 0xFF200000]
        kernel_gpa = {va: g.gva2gpa(va) for va in kernel_vas}
        tlb = parse_info_tlb(g.hmp("info tlb", timeout=300), frame_mask)
        check_live(res, args.pagewalk, g, pti, program, user_gpa, kernel_vas, kernel_gpa, tlb, vmlinux[flavour], proc)
        g.dump(dump)
    res.counts["boot_s"] = round(g.boot_seconds or 0, 1)
    pw = args.pagewalk

    # The program's VAs through the CPU's registers, against gva2gpa and the guest's pagemap.
    results = pagewalk_lines(pw, "translate", "--image", dump, "--cpu", "0", "--jsonl",
                             *[hex(va) for _, va, _, _ in program])
    for (pname, va, pfn, present), r in zip(program, results):
        compare(res, "program", va, r, user_gpa[va])
        if present and r.get("status") == "mapped" and int(r["pfn"], 16) != pfn:
            res.fail("pagemap", f"{pname} 0x{va:x}: pagewalk pfn {r['pfn']}, the guest's pagemap 0x{pfn:x}")
        res.count("pagemap_checked", bool(present))
    info, _ = pagewalk_doc(pw, "info", "--image", dump, "--json")
    modes = {c.get("mode") for c in info.get("cpus", [])}
    if want_mode not in modes:
        res.fail("mode", f"info gives {modes}, not {want_mode}")

    # The kernel's own tables (swapper_pg_dir from VMCOREINFO), against gva2gpa. Under PTI
    # the stopped program's CR3 is the user half, which maps little of the kernel: gva2gpa
    # answers from it, and so the same VAs go through the CPU's CR3.
    roots = ["--cpu", "0"] if pti else ["--kernel"]
    results = pagewalk_lines(pw, "translate", "--image", dump, *roots, "--jsonl", *[hex(v) for v in kernel_vas])
    for va, r in zip(kernel_vas, results):
        compare(res, "kernel", va, r, kernel_gpa[va])

    # Every leaf of the CPU's tables, page by page, against info tlb's.
    ours = {}
    for r in pagewalk_lines(pw, "map", "--image", dump, "--cpu", "0", "--pages", "--jsonl"):
        if r.get("kind") == "mapped":
            ours[int(r["start"], 16)] = int(r["pa"], 16)
    if ours != tlb:
        only_ours = sorted(set(ours) - set(tlb))[:3]
        only_qemu = sorted(set(tlb) - set(ours))[:3]
        differ = sorted(v for v in set(ours) & set(tlb) if ours[v] != tlb[v])[:3]
        res.fail("map", f"{len(ours)} leaves vs info tlb's {len(tlb)}: only pagewalk {list(map(hex, only_ours))}, only "
                        f"QEMU {list(map(hex, only_qemu))}, frames differ at {list(map(hex, differ))}")
    res.counts["tlb_leaves"] = len(tlb)

    # The articles' string at the translated address.
    heap = next((va for n, va, _, _ in program if n == "heap"), None)
    doc, _ = pagewalk_doc(pw, "read", "--image", dump, "--cpu", "0", "--string", "--json", hex(heap))
    got = doc.get("string") if doc else None
    if got != "Hello mm paging!\n":
        res.fail("read", f"heap 0x{heap:x}: {got!r}")

    # layout and kconv: lowmem from PAGE_OFFSET, __pa checked against the tables and gva2gpa.
    layout, _ = pagewalk_doc(pw, "layout", "--image", dump, "--json")
    direct = [r for r in layout["regions"] if r["region"] == "direct_map"]
    if layout["mode"] != want_mode or not direct or int(direct[0]["start"], 16) != PAGE_OFFSET:
        res.fail("layout", f"mode {layout['mode']}, direct map {direct}")
    lowmem_end = int(direct[0]["end"], 16) - PAGE_OFFSET if direct else 0
    res.counts["lowmem_mib"] = lowmem_end // MIB
    sample = [va for va in kernel_vas if kernel_gpa[va] is not None and va - PAGE_OFFSET < lowmem_end]
    if not sample and not pti:
        res.fail("kconv", "gva2gpa maps no lowmem sample")
    kc = pagewalk_doc(pw, "kconv", "--image", dump, "--json", *[a for va in sample for a in ("--virt", hex(va))])[0] \
        if sample else {}
    for row in (kc or {}).get("rows", []):
        va = int(row["va"], 16)
        if va in kernel_gpa and (not row["agrees"] or int(row["pa"], 16) != kernel_gpa[va]):
            res.fail("kconv", f"0x{va:x}: {row}")
        res.count("kconv_rows")

    # Frames above lowmem: the program's pages in the 1 GiB guest, which have no __va.
    high = sorted({user_gpa[va] & ~0xFFF for _, va, _, _ in program
                   if user_gpa[va] is not None and user_gpa[va] >= lowmem_end})
    res.counts["highmem_program_pages"] = len(high)
    if name.endswith("highmem"):
        if not high:
            res.fail("highmem", f"no program page above lowmem (0x{lowmem_end:x}) in a {memory} guest")
        else:
            _, r = pagewalk_doc(pw, "kconv", "--image", dump, "--phys", hex(high[0]), ok=(1, 2, 3))
            if "no __va" not in r.stderr:
                res.fail("highmem", f"kconv --phys 0x{high[0]:x}: {r.stderr.strip()!r}")

    # No BTF and no init_task in kallsyms: ps says what supplies the types.
    r = run([pw, "ps", "--image", dump], timeout=120)
    if r.returncode != 3 or f"linux-image-{layout['release']}-dbg" not in r.stderr or "--vmlinux" not in r.stderr:
        res.fail("ps", f"exit {r.returncode}: {r.stderr.strip()!r}")

    check_layout_regions(res, layout, proc["vmalloc"], tlb)
    check_processes(res, pw, dump, vmlinux[flavour], g.pid, regs, want_mode, pti, program, user_gpa, proc, lowmem_end)
    # The twin flavour's vmlinux is another build: refused in one line, by build ID.
    other = vmlinux["686" if flavour == "686-pae" else "686-pae"]
    r = run([pw, "ps", "--image", dump, "--vmlinux", other], timeout=120)
    if r.returncode != 3 or "another build" not in r.stderr or len(r.stderr.strip().splitlines()) != 1:
        res.fail("vmlinux", f"the other flavour's vmlinux: exit {r.returncode}: {r.stderr.strip()!r}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return res


def main(argv=None):
    args = suite_args(__doc__, CASES, argv)
    ready = prepare("i386", ("qemu-system-i386", "i686-linux-gnu-gcc", "cpio", "dpkg-deb", "apt-get"),
                    "i686-linux-gnu-gcc", fetch, args.cache)
    if not ready:
        return 2
    (kernels, vmlinux, busybox, release), hello, t0 = ready
    log(f"i386: {release} (and its 686 twin), busybox {busybox}")
    return run_cases("i386", CASES, args.cases, lambda case: run_case(args, *case, kernels, vmlinux, busybox, hello), t0)


def suite_args(doc, cases, argv):
    """A suite's command line: --pagewalk, --cache, --keep, --case."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pagewalk", required=True)
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--keep", metavar="DIR", help="keep each case's dump and logs under DIR")
    ap.add_argument("--case", action="append", choices=[c[0] for c in cases], dest="cases")
    args = ap.parse_args(argv)
    args.pagewalk = os.path.abspath(args.pagewalk)
    return args


def prepare(suite, tools, cc, fetch_packages, cache):
    """The tools checked, the packages fetched and hello-mm built with `cc`: (what
    fetch_packages(cache) gave, hello-mm's path, the start time), or None, said on stderr."""
    missing = missing_tool(suite, tools)
    if missing:
        print(missing, file=sys.stderr)
        return None
    t0 = time.monotonic()
    try:
        fetched = fetch_packages(cache)
        hello = os.path.join(cache, suite, "hello-mm")
        build_guest_program(os.path.join(HERE, "guest", "hello-mm.c"), hello, cc=cc)
    except SetupError as e:
        print(f"{suite}: {e}", file=sys.stderr)
        return None
    return fetched, hello, t0


def missing_tool(suite, tools):
    """What the suite says of the first tool this machine lacks, or None."""
    for tool in tools:
        if shutil.which(tool) is None:
            return f"{suite}: {tool} not found (scripts/install-deps.sh test installs it)"
    return None


def run_cases(suite, cases, wanted, run_one, t0):
    """Each case (named by its first field; only those `wanted`, when given) through
    run_one(case) -> Result, one line each; a setup failure fails its case and the others
    still run. Returns the suite's exit status."""
    failed = 0
    for case in cases:
        if wanted and case[0] not in wanted:
            continue
        t1 = time.monotonic()
        try:
            res = run_one(case)
        except Exception as e:  # noqa: BLE001 - any setup failure is this case's, said in one line
            log(f"[{case[0]}] FAIL: {type(e).__name__}: {e}")
            failed += 1
            continue
        counts = ", ".join(f"{k}={v}" for k, v in sorted(res.counts.items()))
        log(f"[{case[0]}] {'FAIL' if res.failures else 'PASS'} ({time.monotonic() - t1:.0f}s): {counts}")
        for f in res.failures:
            log(f"    {f}")
        failed += bool(res.failures)
    log(f"{suite}: {'all cases passed' if not failed else f'{failed} case(s) failed'} in {time.monotonic() - t0:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
