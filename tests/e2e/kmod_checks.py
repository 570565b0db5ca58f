"""The pagewalk module in the guest (kmod/, loaded by /init; see initramfs.py), against QEMU.

kcore_checks.check(source="kmod") holds the module's runs of the same commands as the kcore
ones to the same oracles. This file checks what only the module does:
  * the kernel's own walk (translate --kmod-walk): its PA = QEMU's gva2gpa, and beside
    pagewalk's walk (--kmod --kmod-walk) it agrees level for level;
  * the articles' form: `insmod pagewalk.ko pid=N va=X` and `kernel=1 va=X` log one line per
    level (value and index) and the PA, which must be gva2gpa's, with each index the VA's;
  * what the module refuses (kmod-probe badinput, eperm, lockdown): each errno as the
    protocol says;
  * the CLI's one-line errors for a kernel thread and for MMIO;
  * a stress run (mapping, unmapping and exiting processes walked meanwhile) that leaves no
    WARNING, BUG, Oops or "sleeping function called from invalid context" in the kernel log.
"""

import errno
import re

import kcore_checks
import linux_checks

# kmod/pagewalk_ioctl.h lists these answers.
BAD_INPUT = {
    "ok_info": 0, "wrong_ioctl_size": errno.EINVAL, "wrong_header_size": errno.EINVAL,
    "wrong_version": errno.EPROTO, "reserved_set": errno.EINVAL, "unknown_command": errno.ENOTTY,
    "va_non_canonical_57": errno.ERANGE, "pid_kernel_thread": errno.ENODATA,
    "pid_never_existed": errno.ESRCH, "pid_negative": errno.ESRCH, "roots_kernel_thread": errno.ENODATA,
    "read_mmio": errno.ENXIO, "read_above_ram": errno.ENXIO, "read_unaligned": errno.EINVAL,
    "read_ragged_length": errno.EINVAL, "read_oversized": errno.EINVAL, "read_empty": errno.EINVAL,
    "read_wraps": errno.EINVAL, "read_bad_buffer": errno.EFAULT, "ok_read": 0,
}
# Exit statuses a stress command may end with: answered (0, 1), the process gone (3), the
# tables changed between pagewalk's walk and the kernel's (4). A signal (128+) or a hang is not.
STRESS_OK = {0, 1, 3, 4}
# The module's answers while processes come and go: done, no such process, no mm (exiting).
HAMMER_OK = {0, errno.ESRCH, errno.ENODATA}
LEVEL_SHIFTS = {"pgd": None, "p4d": 39, "pud": 30, "pmd": 21, "pte": 12}
DMESG_BAD = re.compile(r"WARNING:|BUG:|Oops|sleeping function called from invalid context")


def _lines(text, prefix):
    out = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith(prefix):
            out.append(line[len(prefix):])
    return out


def check_log(guest, case, label, va, res):
    """One insmod's log lines: levels with their indexes, then the PA = gva2gpa(va)."""
    lines = [re.sub(r"^\[[^\]]*\]\s*", "", l) for l in _lines(guest.serial_text, f"KMOD-LOG {label} ")]
    if not lines:
        res.fail("kmod-log", f"{label}: no kernel log lines from insmod")
        return
    pgd_shift = 48 if case["la57"] else 39
    seen = []
    pa = None
    for line in lines:
        m = re.search(r"pagewalk: (\w+)_val = 0x([0-9a-f]+), \w+_index = (\d+)", line)
        if m:
            name, index = m.group(1), int(m.group(3))
            shift = pgd_shift if name == "pgd" else LEVEL_SHIFTS[name]
            if index != (va >> shift) & 511:
                res.fail("kmod-log", f"{label}: {name}_index {index}, the VA gives {(va >> shift) & 511}")
            seen.append(name)
        elif "folded into" in line:
            seen.append(line.split("pagewalk: ")[-1].split()[0] + "(folded)")
        m = re.search(r"pagewalk: pa = 0x([0-9a-f]+) \(frame 0x([0-9a-f]+), (\d+) KiB page\), flags: (.*)$", line)
        if m:
            pa = int(m.group(1), 16)
    want_levels = ["pgd", "p4d", "pud", "pmd", "pte"] if case["la57"] else ["pgd", "p4d(folded)", "pud", "pmd", "pte"]
    if seen[:len(want_levels)] != want_levels[:len(seen)] or len(seen) < 3:
        res.fail("kmod-log", f"{label}: levels {seen}, expected a prefix of {want_levels}")
    want = guest.gva2gpa(va)
    if pa != want:
        res.fail("kmod-log", f"{label}: the log gives PA {pa and hex(pa)}, gva2gpa {want and hex(want)}: {lines[-1]}")
    else:
        res.counts[f"kmod_log_{label}_levels"] = len(seen)


def _kernel_walk_records(runs, tag, res, ok=(0, 1)):
    return kcore_checks._parsed(runs, tag, res, ok=ok, lines=True)


def check(guest, case, orc, res):
    runs = kcore_checks.parse_console(guest.serial_text)
    text = guest.serial_text
    ksyms = linux_checks.guest_ksyms(guest)

    info = kcore_checks._parsed(runs, "kmod_info", res)
    if info is not None:
        m = info.get("module") or {}
        release = guest.info.get("kernel")
        if m.get("release") != release or (info.get("vmcoreinfo") or {}).get("OSRELEASE") != release:
            res.fail("kmod-info", f"module release {m.get('release')!r}, VMCOREINFO "
                     f"{(info.get('vmcoreinfo') or {}).get('OSRELEASE')!r}, guest {release!r}")
        if m.get("levels") != (5 if case["la57"] else 4) or m.get("pti") != case["pti"]:
            res.fail("kmod-info", f"module says {m.get('levels')} levels, pti {m.get('pti')}; the case {case}")
        want_pgd = guest.gva2gpa(ksyms["init_top_pgt"])
        if want_pgd is None and case["pti"]:
            want_pgd = None  # not mapped by the user CR3: compared through the kernel walks below
        elif kcore_checks.as_int(m.get("kernel_pgd")) != want_pgd:
            res.fail("kmod-info", f"kernel PGD {m.get('kernel_pgd')}, gva2gpa(init_top_pgt) {want_pgd}")
        cpus = info.get("cpus") or []
        if not cpus or cpus[0].get("mode") != ("x86-64-5level" if case["la57"] else "x86-64-4level"):
            res.fail("kmod-info", f"the module's CPU registers give mode {cpus[0].get('mode') if cpus else None}")

    # Both walks: pagewalk's over the module's reads and the kernel's, level for level.
    by_va = {p["va"]: p for p in orc["prog"]}
    tr = _kernel_walk_records(runs, "kmod_translate", res)
    if tr is not None:
        beside = 0
        for rec in tr:
            kw = rec.get("kernel_walk")
            if kw is None:
                if rec.get("pgd") != "user":
                    res.fail("kmod-walk", f"{rec['va']}: no kernel_walk beside pagewalk's walk")
                continue
            beside += 1
            va = kcore_checks.as_int(rec["va"])
            if not kw["agrees"]:
                res.fail("kmod-walk", f"{rec['va']}: the walks disagree: {kw['differences']}")
            p = by_va.get(va)
            if p is not None and (kcore_checks.as_int(kw.get("pa")) if kw["mapped"] else None) != p["gpa"] \
                    and p["name"] != "protnone":
                res.fail("kmod-walk", f"{p['name']} {rec['va']}: kernel PA {kw.get('pa')}, gva2gpa {p['gpa']}")
        res.counts["kmod_walks_side_by_side"] = beside
    # The kernel's walk alone: its answer = gva2gpa, and pagewalk's decoding of its entries agrees.
    kw_only = _kernel_walk_records(runs, "kmod_kwalk", res)
    if kw_only is not None:
        n = 0
        for rec in kw_only:
            va = kcore_checks.as_int(rec["va"])
            p = by_va.get(va)
            kw = rec.get("kernel_walk") or {}
            if not kw.get("agrees", False):
                res.fail("kmod-kwalk", f"{rec['va']}: decoding the kernel's entries disagrees: {kw.get('differences')}")
            if p is None or p["name"] == "protnone":
                continue
            n += 1
            got = kcore_checks.as_int(rec.get("pa")) if rec["status"] == "mapped" else None
            if got != p["gpa"]:
                res.fail("kmod-kwalk", f"{p['name']} {rec['va']}: the kernel's walk gives {rec.get('pa')}, "
                         f"gva2gpa {p['gpa']}")
            if got is not None and not rec.get("steps"):
                res.fail("kmod-kwalk", f"{rec['va']}: no per-level steps")
        res.counts["kmod_kernel_walk_vas"] = n
    # Kernel VAs: both walks of init_mm's tables, and gva2gpa.
    kt = _kernel_walk_records(runs, "kmod_ktranslate", res)
    if kt is not None:
        n = 0
        for rec in kt:
            kw = rec.get("kernel_walk") or {}
            if not kw.get("agrees", False):
                res.fail("kmod-kwalk", f"kernel {rec['va']}: the walks disagree: {kw.get('differences')}")
            want = guest.gva2gpa(kcore_checks.as_int(rec["va"]))
            if want is None and case["pti"]:
                continue
            n += 1
            if (kcore_checks.as_int(kw.get("pa")) if kw.get("mapped") else None) != want:
                res.fail("kmod-kwalk", f"kernel {rec['va']}: the kernel's walk {kw.get('pa')}, gva2gpa {want}")
        res.counts["kmod_kernel_vas_both_walks"] = n
    # kconv through the module: each row checked against the tables, and = gva2gpa.
    kc = kcore_checks._parsed(runs, "kmod_kconv", res)
    if kc is not None:
        for row in kc["rows"]:
            if not row["agrees"]:
                res.fail("kmod-kconv", f"{row['va']}: {row['rule']} gives {row['pa']}, the tables {row['walk_pa']}")
        virt = [r for r in kc["rows"] if r["region"] != "physical"][:1]
        for row in virt:
            want = guest.gva2gpa(kcore_checks.as_int(row["va"]))
            if want is not None and kcore_checks.as_int(row["pa"]) != want:
                res.fail("kmod-kconv", f"{row['va']}: kconv {row['pa']}, gva2gpa 0x{want:x}")
        res.counts["kmod_kconv_rows"] = len(kc["rows"])

    # The articles' form.
    check_log(guest, case, "kernel=1", ksyms["_text"], res)
    heap = next((p for p in orc["prog"] if p["name"] == "heap"), None)
    if heap is None:
        res.fail("kmod-log", "the program reported no heap VA")
    else:
        check_log(guest, case, f"pid={guest.pid}", heap["va"], res)

    # What the module refuses, errno for errno.
    got = {}
    for line in _lines(text, "KMOD-BAD "):
        name, _, err = line.partition(" ")
        got[name] = int(err)
    want = dict(BAD_INPUT, va_non_canonical=0 if case["la57"] else errno.ERANGE)
    for name, err in want.items():
        if got.get(name) != err:
            res.fail("kmod-badinput", f"{name}: errno {got.get(name)}, the protocol says {err} "
                     f"({errno.errorcode.get(err, 'ok')})")
    res.counts["kmod_bad_requests"] = len(got)
    eperm = _lines(text, "KMOD-EPERM ")
    if eperm != [f"{errno.EACCES} {errno.EPERM}"]:
        res.fail("kmod-eperm", f"as uid 65534: open and ioctl gave {eperm}, expected EACCES then EPERM")
    # A kernel thread is bad input (one line on stderr); MMIO is a read's unreadable range,
    # named in its output (exit 1, as for a page a dump lacks).
    run = runs.get("kmod_kthread")
    if run is None or run["rc"] != 2 or len(run["err"]) != 1 or "kernel thread" not in run["err"][0]:
        res.fail("kmod-errors", f"kmod_kthread: exit {run and run['rc']}, stderr {run and run['err']}; "
                 "expected exit 2 and one line naming the kernel thread")
    run = runs.get("kmod_mmio")
    if run is None or run["rc"] != 1 or not any("is not System RAM" in l for l in run["out"]):
        res.fail("kmod-errors", f"kmod_mmio: exit {run and run['rc']}, output {run and run['out']}; "
                 "expected exit 1 and the range named not System RAM")

    # Locked down (integrity, set at run time through securityfs): EACCES from the open
    # descriptor's ioctl and from a new open, and the CLI's one line says it is lockdown.
    lock = _lines(text, "KMOD-LOCKDOWN ")
    if lock != [f"{errno.EACCES} {errno.EACCES}"]:
        res.fail("kmod-lockdown", f"after lockdown the module answered {lock}, expected EACCES twice")
    run = runs.get("kmod_lockdown")
    if run is None or run["rc"] != 3 or len(run["err"]) != 1 or "locked down" not in run["err"][0]:
        res.fail("kmod-lockdown", f"info --kmod when locked down: exit {run and run['rc']}, stderr {run and run['err']}")

    # Stress, then the kernel log.
    rcs = [r.split(None, 2) for r in _lines(text, "KMOD-STRESS-RC ")]
    bad = [r for r in rcs if int(r[1]) not in STRESS_OK and not (r[1] == "2" and "no process" in r[-1])]
    churn = _lines(text, "KMOD-CHURN ")
    hammer = _lines(text, "KMOD-HAMMER ")
    if bad or not rcs:
        res.fail("kmod-stress", f"{len(bad)} of {len(rcs)} pagewalk commands failed: {bad[:3]}")
    if not churn or min(int(x) for x in churn[0].split()) == 0:
        res.fail("kmod-stress", f"the churning process reported {churn}")
    else:
        res.counts["kmod_stress_map_unmap_rounds"], res.counts["kmod_stress_exited_children"] = \
            (int(x) for x in churn[0].split())
    if not hammer:
        res.fail("kmod-stress", "no report from the module's hammering")
    else:
        calls, *answers = hammer[0].split()
        errs = {int(k): int(v) for k, v in (a.split(":") for a in answers)}
        unexpected = {k: v for k, v in errs.items() if k not in HAMMER_OK}
        if unexpected or int(calls) < 100:
            res.fail("kmod-stress", f"{calls} rounds of requests; errnos other than ESRCH/ENODATA: {unexpected}")
        res.counts["kmod_stress_requests"] = int(calls)
        res.counts["kmod_stress_requests_ok"] = errs.get(0, 0)
    res.counts["kmod_stress_commands"] = len(rcs)
    if "KMOD-DMESG-END" not in text:
        res.fail("kmod-dmesg", "the kernel log was not read after the stress run")
    for line in _lines(text, "KMOD-DMESG "):
        if DMESG_BAD.search(line):
            res.fail("kmod-dmesg", line)
