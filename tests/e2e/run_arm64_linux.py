#!/usr/bin/env python3
"""arm64 Linux end to end: Debian's linux-image-arm64 under qemu-system-aarch64 -M virt
-cpu max (TCG) with a static aarch64 test program, and the dump pagewalk reads offline
held to QEMU's own MMU (`gva2gpa`) and the guest's own /proc:

  * the program's VAs through its mm->pgd (`translate --pid`, no debug symbols: BTF and
    init_task are found in the image): PA = gva2gpa, PFN = /proc/self/pagemap's, and
    "Hello mm paging!" read at the heap's translated address; a page the program paged out
    to the guest's zram swap (MADV_PAGEOUT) is a swap entry with pagemap's type and offset;
  * kernel VAs in every region (linear map, the image, every /proc/vmallocinfo area,
    the module, vmemmap, the fixmap, PCI I/O, holes) through swapper_pg_dir (--kernel) =
    gva2gpa. QEMU's debug translation follows the vCPU's EL and E0PD keeps EL0 out of
    TTBR1's half, so the stopped vCPU is moved to EL1h through the gdbstub (PSTATE) for
    those lookups and put back before the dump;
  * `map` of the program and of the kernel against gva2gpa on a dense sample of every
    mapped range (first, middle and last page) and of the holes (QEMU has no `info tlb`
    for Arm);
  * `layout`: the image region = the kernel's own paging_init vmap areas, every
    vmallocinfo area in a vmalloc/modules/image region; without the image, the layout
    of the mode = the bounds the kernel exports in VMCOREINFO;
  * `kconv`: __pa of linear and image VAs = the tables = gva2gpa; struct page of the
    program's frames through vmemmap, whose flags `page` reads = /proc/kpageflags;
  * `ps` (the program with /proc's parent, state and threads), `maps --pid` =
    /proc/PID/maps, `modules --symbols` = /proc/modules and /proc/kallsyms;
  * `--qemu` on the running guest: the program's and the kernel's VAs = gva2gpa, and `ps`
    finds the program whose mm->pgd is the vCPU's TTBR0_EL1.

The kernel and an arm64 busybox are fetched with `apt-get download` against a private
apt state for arm64 (tests/e2e/foreign_apt.py): the host's architecture list is never
changed.

Usage: run_arm64_linux.py --pagewalk build/pagewalk [--cache DIR] [--keep DIR] [--case NAME]
"""
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import foreign_apt  # noqa: E402
import kmodules  # noqa: E402
from initramfs import build_initramfs  # noqa: E402
from linux_checks import KPF_STABLE, check_maps, check_modules, guest_modules, hello_kpageflags, hello_maps  # noqa: E402
from linux_checks import check_swapped, hello_status, hello_swapped  # noqa: E402
from linux_checks import task_matches_status  # noqa: E402
from qemu_guest import QemuGuest  # noqa: E402
# The checks' shared pieces, as the 32-bit suite defines them.
from run_i386 import Result, SetupError, compare, log, prepare, run, run_cases, suite_args  # noqa: E402
from run_i386 import pagewalk_doc as pw_doc, pagewalk_lines as pw_lines  # noqa: E402

MIB = 1 << 20
PAGE = 4096
CPU = "max,pauth-impdef=on"  # QEMU's own pointer-auth algorithm: the same MMU, a faster TCG
# name, RAM, extra kernel arguments: KASLR as Debian boots, and without it (the image at
# KIMAGE_VADDR = MODULES_END, the modules in their own region). hello-mm pages one page out
# to a zram swap device in both.
CASES = [("arm64-4k-48", "512M", "hellomm=swap"), ("arm64-4k-48-nokaslr", "1G", "nokaslr hellomm=swap")]


def fetch(cache):
    out = os.path.join(cache, "arm64")
    stamp = os.path.join(out, "PACKAGES")
    try:
        if not os.path.isfile(stamp):
            root = foreign_apt.private_apt(cache, "arm64")
            pkgs = [foreign_apt.depends_of(root, "linux-image-arm64"), "busybox-static"]
            foreign_apt.download_and_unpack(root, pkgs, out)
            with open(stamp, "w") as f:
                f.write("\n".join(pkgs) + "\n")
        pkg = open(stamp).read().split()[0]
        found = glob.glob(os.path.join(out, pkg, "boot", "vmlinuz-*"))
        if not found:
            raise SetupError(f"{pkg} holds no vmlinuz (remove {stamp} to fetch again)")
        # qemu_fw_cfg for the VMCOREINFO device; zram for a swap device in the guest.
        modules = os.path.join(out, "modules")
        order = os.path.join(modules, "ORDER")
        if not os.path.isfile(order) or "zram.ko" not in open(order).read().split():
            kmodules.collect(os.path.join(out, pkg, "lib", "modules"), modules, "qemu_fw_cfg", "zram")
    except (foreign_apt.FetchError, kmodules.ModuleError) as e:
        raise SetupError(str(e))
    busybox = os.path.join(out, "busybox-static", "bin", "busybox")
    if not os.path.isfile(busybox):
        raise SetupError(f"no arm64 busybox in {out} (remove {stamp} to fetch again)")
    return found[0], modules, busybox, pkg.removeprefix("linux-image-")


class Gdb:
    """The least of the remote serial protocol: read and write one register."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        # QEMU answers p/P only to a client that has read the target description.
        self.command("qSupported:xmlRegisters=aarch64")
        self.command("qXfer:features:read:target.xml:0,ffb")

    def close(self):
        self.sock.close()

    def _reply(self):
        while True:
            while b"#" not in self.buf or len(self.buf) < self.buf.index(b"#") + 3:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise SetupError("the gdbstub closed the connection")
                self.buf += chunk
            start = self.buf.find(b"$")
            end = self.buf.index(b"#")
            if start < 0 or start > end:
                self.buf = self.buf[end + 3:]
                continue
            body, self.buf = self.buf[start + 1:end], self.buf[end + 3:]
            self.sock.sendall(b"+")
            return body.decode()

    def command(self, body):
        data = body.encode()
        self.sock.sendall(b"$" + data + b"#" + b"%02x" % (sum(data) & 0xFF))
        return self._reply()

    # aarch64-core.xml: x0..x30, sp, pc, then cpsr (register 33, 32 bits)
    def pstate(self):
        return int.from_bytes(bytes.fromhex(self.command("p21")), "little")

    def set_pstate(self, value):
        reply = self.command("P21=" + value.to_bytes(4, "little").hex())
        if reply != "OK":
            raise SetupError(f"the gdbstub refused to write PSTATE: {reply!r}")


def console_lines(guest, tag):
    return [l[len(tag) + 1:].rstrip("\r") for l in guest.serial_text.splitlines() if l.startswith(tag + " ")]


def vmalloc_areas(guest):
    out = []
    for line in console_lines(guest, "INFO vmalloc"):
        f = line.split()
        if f and "-" in f[0]:
            start, end = (int(x, 16) for x in f[0].split("-"))
            out.append((start, end, f[2] if len(f) > 2 else ""))
    return out


def map_samples(rows, first, last, budget):
    """VAs to hold map's rows to: the first, middle and last page of each mapped range and
    of each hole between them, within [first, last], at most `budget`."""
    out, prev_end = [], first
    for r in rows:
        start, end = int(r["start"], 16), int(r["end"], 16) if "end" in r else int(r["start"], 16) + int(r["size"])
        if start > prev_end:
            out += [(prev_end, None), ((prev_end + start) // 2 & ~(PAGE - 1), None)]
        if r.get("kind") == "mapped":
            pa = int(r["pa"], 16)
            for va in (start, (start + end) // 2 & ~(PAGE - 1), end - PAGE):
                out.append((va, pa + (va - start)))
        prev_end = end
    step = max(1, len(out) // budget)
    return [s for s in out[::step] if first <= s[0] <= last]


def check_map(res, pw, dump, scope, guest, kind):
    rows = [r for r in pw_lines(pw, "map", "--image", dump, *scope, "--jsonl") if "start" in r]
    mapped = [r for r in rows if r.get("kind") == "mapped"]
    if not mapped:
        res.fail(kind, "map gives no mapped range")
        return
    first, last = int(mapped[0]["start"], 16), int(mapped[-1]["start"], 16)
    for va, want in map_samples(mapped, first, last, 600):
        got = guest.gva2gpa(va)
        if got != want:
            res.fail(kind, f"0x{va:x}: map says {'a hole' if want is None else hex(want)}, gva2gpa "
                           f"{'unmapped' if got is None else hex(got)}")
            if len(res.failures) > 20:
                return
        res.count(f"{kind}_samples")
    res.counts[f"{kind}_ranges"] = len(mapped)


def check_python(res, pw, dump, pid, program, user_gpa):
    """The Python module beside the CLI: the process found by pid, its VAs = gva2gpa."""
    pydir = os.path.join(os.path.dirname(pw), "python")
    if not os.path.isdir(pydir):
        return
    vas = [va for _, va, _, _ in program]
    script = ("import json, pagewalk\n"
              f"t = pagewalk.open(image={dump!r}, pid={pid})\n"
              "pids = [p['pid'] for p in t.ps()]\n"
              f"ds = [t.translate(va).to_dict() for va in {vas!r}]\n"
              "print(json.dumps([pids, [d.get('pa') if d.get('status') == 'mapped' else None for d in ds]]))\n")
    r = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": pydir},
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        res.fail("python", r.stderr.strip()[-300:])
        return
    pids, pas = json.loads(r.stdout)
    if pid not in pids:
        res.fail("python", f"ps() lacks pid {pid}")
    for va, pa in zip(vas, pas):
        got = pa if isinstance(pa, int) or pa is None else int(pa, 16)
        if got != user_gpa[va]:
            res.fail("python", f"0x{va:x}: Python {pa}, gva2gpa {user_gpa[va]}")
        res.count("python_vas")


def check_bad_vmcoreinfo(res, pw, dump, work):
    """A copy of the dump with one VMCOREINFO entry spoiled at a time (same length, in the
    note): each is one line naming what to supply, or a header that says what it assumed;
    never a crash."""
    bad = os.path.join(work, "bad.elf")
    shutil.copyfile(dump, bad)
    with open(dump, "rb") as f:
        data = f.read()
    cases = [  # entry, spoiled, command, exit codes, what stderr or the header must say
        (b"PAGESIZE=4096", b"PAGESIZE=40x6", ["translate", "--image", bad, "--kernel", "0xffff000001000000"], (0,),
         "name no mode"),
        (b"NUMBER(kimage_voffset)=", b"NUMBER(kimage_voffsez)=", ["ps", "--image", bad], (3,),
         "--base kimage_voffset=VALUE"),
        # A note without swapper_pg_dir is no VMCOREINFO: the kernel's own copy in memory is read.
        (b"SYMBOL(swapper_pg_dir)=", b"SYMBOL(swapper_pg_dix)=", ["ps", "--image", bad], (0,),
         "processes, offsets from the image's BTF"),
        (b"NUMBER(PHYS_OFFSET)=", b"NUMBER(PHYS_OFFSEX)=", ["kconv", "--image", bad, "--phys", "0x41000000"], (2, 3),
         "--base phys_offset=VALUE"),
    ]
    for entry, spoiled, cmd, codes, want in cases:
        at = data.find(entry)
        if at < 0:
            res.fail("bad_vmcoreinfo", f"the dump has no {entry!r}")
            continue
        with open(bad, "r+b") as f:
            f.seek(at)
            f.write(spoiled)
        r = run([pw, *cmd], timeout=120)
        with open(bad, "r+b") as f:
            f.seek(at)
            f.write(entry)
        said = r.stderr if r.returncode else r.stdout
        if r.returncode not in codes or want not in said or (r.returncode and len(r.stderr.strip().splitlines()) != 1):
            res.fail("bad_vmcoreinfo", f"{spoiled.decode()}: exit {r.returncode}, {said.strip()[:300]!r}")
        res.count("bad_vmcoreinfo_cases")
    os.unlink(bad)


def check_live_kernel(res, pw, guest, kernel_vas, kernel_gpa):
    """The running guest's kernel through the gdbstub alone: ps finds the program whose
    mm->pgd is the TTBR0_EL1 QEMU holds, and the kernel's VAs = gva2gpa."""
    live = ["--qemu", f"127.0.0.1:{guest.gdb_port}"]
    info, _ = pw_doc(pw, "info", *live, "--json")
    ttbr0 = int(((info or {}).get("cpus") or [{}])[0].get("registers", {}).get("ttbr0_el1", "0x0"), 16)
    ps, _ = pw_doc(pw, "ps", *live, "--json")
    mine = [t for t in (ps or {}).get("tasks", []) if t["pid"] == guest.pid]
    # TTBR0_EL1: ASID in 63:48, BADDR in 47:1, CnP in bit 0.
    if len(mine) != 1 or int(mine[0].get("pgd_pa") or "0", 16) != ttbr0 & 0x0000FFFFFFFFF000:
        res.fail("qemu_ps", f"pid {guest.pid}: {mine}, TTBR0_EL1 0x{ttbr0:x}")
    results = pw_lines(pw, "translate", *live, "--kernel", "--jsonl", *[hex(v) for v in kernel_vas])
    for va, r in zip(kernel_vas, results):
        compare(res, "qemu_kernel", va, r, kernel_gpa[va])
    status = guest.status()
    if status.get("running") or status.get("status") != "paused":
        res.fail("qemu_state", f"VM state after pagewalk: {status}")


def main(argv=None):
    args = suite_args(__doc__, CASES, argv)
    pw = args.pagewalk
    ready = prepare("arm64", ("qemu-system-aarch64", "aarch64-linux-gnu-gcc", "cpio", "dpkg-deb", "apt-get"),
                    "aarch64-linux-gnu-gcc", fetch, args.cache)
    if not ready:
        return 2
    (vmlinuz, modules, busybox, release), hello, t0 = ready
    log(f"arm64: {release}, busybox {busybox}")

    def one(case):
        name, memory, append = case
        work = os.path.join(args.keep, name) if args.keep else tempfile.mkdtemp(prefix=f"pagewalk-{name}-")
        os.makedirs(work, exist_ok=True)
        try:
            return run_case(pw, work, name, memory, append, vmlinuz, modules, busybox, hello)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    return run_cases("arm64", CASES, args.cases, one, t0)


def run_case(pw, work, name, memory, append, vmlinuz, modules, busybox, hello):
    res = Result(name)
    host_busybox = "/bin/busybox" if os.path.isfile("/bin/busybox") else None
    initrd = build_initramfs(os.path.join(work, "initrd.gz"), hello, busybox=busybox, modules=modules,
                             list_applets_with=host_busybox)
    dump = os.path.join(work, "dump.elf")
    ram = int(memory.rstrip("MG")) * (1024 if memory.endswith("G") else 1) * MIB
    linear = [0xFFFF000000000000 + i * (ram // 24) + 0x5a8 for i in range(24)]
    with QemuGuest(vmlinuz, initrd, work, cpu=CPU, memory=memory, machine="virt", qemu="qemu-system-aarch64",
                   console="ttyAMA0", vmcoreinfo=True, gdb=True, append_extra=append) as g:
        g.boot()
        g.wait_for_line("ORACLES DONE")
        regs, _ = g.stop_in_user_mode()
        program = list(g.vas)
        proc = {"status": hello_status(g), "maps": hello_maps(g), "kpageflags": hello_kpageflags(g),
                "vmalloc": vmalloc_areas(g), "modules": guest_modules(g), "swapped": hello_swapped(g)}
        user_gpa = {va: g.gva2gpa(va) for _, va, _, _ in program}

        # The live guest first, through its gdbstub, while it is stopped at EL0.
        live = pw_lines(pw, "translate", "--qemu", f"127.0.0.1:{g.gdb_port}", "--cpu", "0", "--jsonl",
                        *[hex(va) for _, va, _, _ in program])
        for (_, va, _, _), r in zip(program, live):
            compare(res, "qemu_program", va, r, user_gpa[va])

        # The user half, densely, at EL0.
        pid = g.pid
        g.dump(dump)  # before PSTATE is touched: the dump's CPU note is the vCPU as it ran
        check_map(res, pw, dump, ["--pid", str(pid)], g, "map_user")

        # The kernel's half: QEMU translates it for EL1 only (E0PD), so move the vCPU there.
        gdb = Gdb(g.gdb_port)
        try:
            pstate = gdb.pstate()
            if pstate & 0xF != 0:
                raise SetupError(f"the vCPU's PSTATE 0x{pstate:x} is not EL0t")
            gdb.set_pstate((pstate & ~0xF) | 0x5)  # EL1h
            layout, _ = pw_doc(pw, "layout", "--image", dump, "--json")
            regions = [(int(r["start"], 16), int(r["end"], 16), r["region"]) for r in layout["regions"]]
            region_at = {kind: (s, e) for s, e, kind in regions}
            image = region_at.get("kernel_text")
            kernel_vas = linear[:]
            if image:
                kernel_vas += [image[0] + i * ((image[1] - image[0]) // 16) for i in range(16)]
            kernel_vas += sorted({s for s, _, _ in proc["vmalloc"]})
            for kind in ("vmemmap", "fixmap", "pci_io", "modules", "guard_hole", "unused", "kasan_shadow"):
                if kind in region_at:
                    s, e = region_at[kind]
                    kernel_vas += [s, (s + e) // 2 & ~(PAGE - 1), e - PAGE]
            kernel_vas = sorted(set(kernel_vas))
            kernel_gpa = {va: g.gva2gpa(va) for va in kernel_vas}
            check_map(res, pw, dump, ["--kernel"], g, "map_kernel")
            gdb.set_pstate(pstate)
        finally:
            gdb.close()
        check_live_kernel(res, pw, g, kernel_vas, kernel_gpa)
    res.counts["boot_s"] = round(g.boot_seconds or 0, 1)

    # The program through its own tables, found from the pid alone (BTF and init_task in the image).
    results = pw_lines(pw, "translate", "--image", dump, "--pid", str(pid), "--jsonl",
                       *[hex(va) for _, va, _, _ in program])
    for (name, va, pfn, present), r in zip(program, results):
        compare(res, "program", va, r, user_gpa[va])
        if present and r.get("status") == "mapped" and int(r["pfn"], 16) != pfn:
            res.fail("pagemap", f"{name} 0x{va:x}: pagewalk pfn {r['pfn']}, the guest's pagemap 0x{pfn:x}")
        res.count("pagemap_checked", bool(present))
    # The page the program paged out: a swap entry of 6.1's layout, = the guest's pagemap.
    check_swapped(res, "swap", {n: va for n, va, _, _ in program}, results, proc["swapped"])
    for name in proc["swapped"]:
        va = next(v for n, v, _, _ in program if n == name)
        r = run([pw, "read", "--image", dump, "--pid", str(pid), "-n", "8", hex(va)])
        if r.returncode == 0 or "swapped out" not in r.stdout + r.stderr:
            res.fail("swap", f"read of the swapped page 0x{va:x}: exit {r.returncode}, {(r.stdout + r.stderr).strip()!r}")
    heap = next(va for n, va, _, _ in program if n == "heap")
    doc, _ = pw_doc(pw, "read", "--image", dump, "--pid", str(pid), "--string", "--json", hex(heap))
    if (doc or {}).get("string") != "Hello mm paging!\n":
        res.fail("read", f"heap 0x{heap:x}: {(doc or {}).get('string')!r}")

    # The kernel's VAs through swapper_pg_dir.
    results = pw_lines(pw, "translate", "--image", dump, "--kernel", "--jsonl", *[hex(v) for v in kernel_vas])
    for va, r in zip(kernel_vas, results):
        compare(res, "kernel", va, r, kernel_gpa[va])
    res.counts["kernel_mapped"] = sum(1 for v in kernel_vas if kernel_gpa[v] is not None)

    # layout: the image region is the kernel's own mapping of it (paging_init's vmap areas,
    # each with its guard page); every vmallocinfo area in a region that may hold it.
    def region_of(va):
        return next((kind for s, e, kind in regions if s <= va < e), None)
    segments = [(s, e - PAGE) for s, e, caller in proc["vmalloc"] if caller.startswith("paging_init")]
    if not segments or not image or (image[0], image[1]) != (min(s for s, _ in segments) & ~0xFFFF, max(e for _, e in segments)):
        res.fail("layout", f"kernel image {image and tuple(map(hex, image))}, the kernel's segments "
                           f"{[(hex(s), hex(e)) for s, e in segments]}")
    for s, e, caller in proc["vmalloc"]:
        if region_of(s) not in ("vmalloc", "kernel_text", "modules") or region_of(e - 1) not in ("vmalloc", "kernel_text", "modules"):
            res.fail("layout", f"vmallocinfo 0x{s:x}-0x{e:x} {caller}: pagewalk says {region_of(s)}")
        res.count("vmalloc_areas")
    # Without the image, the mode's layout from memory.h's formulas = what the kernel exports.
    fixed, _ = pw_doc(pw, "layout", "--mode", layout["mode"], "--json")
    bounds = {r["region"]: (int(r["start"], 16), int(r["end"], 16)) for r in fixed["regions"]}
    for kind in ("direct_map", "modules", "vmemmap", "pci_io", "fixmap"):
        if bounds.get(kind) != region_at.get(kind):
            res.fail("layout_formulas", f"{kind}: memory.h {bounds.get(kind)}, the image {region_at.get(kind)}")

    # kconv: the linear samples and the image, each __pa = the tables = gva2gpa.
    sample = [va for va in kernel_vas if kernel_gpa[va] is not None and region_of(va) in ("direct_map", "kernel_text")]
    kc, _ = pw_doc(pw, "kconv", "--image", dump, "--json", *[a for va in sample for a in ("--virt", hex(va))])
    for row in (kc or {}).get("rows", []):
        va = int(row["va"], 16)
        if not row["agrees"] or int(row["pa"], 16) != kernel_gpa.get(va):
            res.fail("kconv", f"0x{va:x}: {row}")
        res.count("kconv_rows")

    # struct page of the program's frames (vmemmap): page's flags = /proc/kpageflags.
    kpf = proc["kpageflags"]
    names = sorted(kpf)
    doc, _ = pw_doc(pw, "page", "--image", dump, "--json", *[a for n in names for a in ("--pfn", hex(kpf[n][0]))])
    # ZERO_PAGE is known by empty_zero_page, a data symbol a kallsyms of text only lacks.
    mask = sum(1 << b for name, b in KPF_STABLE.items() if name != "ZERO_PAGE")
    for n, p in zip(names, (doc or {}).get("pages", [])):
        pfn, want_flags = kpf[n]
        got = int(p["kpageflags"]["raw"], 16)
        if got & mask != want_flags & mask:
            res.fail("page", f"{n} PFN 0x{pfn:x}: kpageflags 0x{got:x}, /proc/kpageflags 0x{want_flags:x}")
        if p.get("zone") != "DMA":  # the guest's only zone (ZONE_DMA covers the first 4 GiB)
            res.fail("page", f"{n} PFN 0x{pfn:x}: zone {p.get('zone')}")
        res.count("page_frames")

    # ps and maps from the kernel's structures, with no debug symbols.
    ps, _ = pw_doc(pw, "ps", "--image", dump, "--json")
    mine = [t for t in (ps or {}).get("tasks", []) if t["pid"] == pid]
    if len(mine) != 1 or mine[0]["comm"] != "hello-mm":
        res.fail("ps", f"pid {pid} hello-mm not found: {mine}")
    else:
        res.counts["ps_status_fields"] = task_matches_status(mine[0], proc["status"], res, "ps")
    res.counts["ps_tasks"] = len((ps or {}).get("tasks", []))
    check_maps(pw, dump, pid, proc, res)
    # The module list without its symbol (found in the image), = /proc/modules and kallsyms.
    if not proc["modules"]["modules"]:
        res.fail("modules", "the guest loaded no module")
    check_modules(pw, dump, proc, res)
    check_python(res, pw, dump, pid, program, user_gpa)
    check_bad_vmcoreinfo(res, pw, dump, work)
    if layout["mode"] != "arm64-4k-48":
        res.fail("mode", f"layout says {layout['mode']}")
    # info says what the image is before anything is read through it.
    info, _ = pw_doc(pw, "info", "--image", dump, "--json")
    kernel = (info or {}).get("kernel") or {}
    if (kernel.get("arch"), kernel.get("mode"), kernel.get("pgd_symbol")) != ("arm64", "arm64-4k-48", "swapper_pg_dir"):
        res.fail("info", f"kernel {kernel}")
    return res


if __name__ == "__main__":
    sys.exit(main())
