"""pagewalk.live against the CLI's live translate and the process's own /proc/PID/pagemap,
on a child process that maps, touches and leaves alone pages of its own."""
import os
import struct
import subprocess
import sys

import pytest

from conftest import cli_doc

CHILD = r"""
import mmap, sys, time
touched = mmap.mmap(-1, 64 * 4096)
for i in range(0, 64 * 4096, 4096 * 2):   # every other page: present ones and holes
    touched[i] = 1
untouched = mmap.mmap(-1, 16 * 4096)
print(hex(id(touched)), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def child():
    p = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    yield p.pid
    p.stdin.close()
    p.wait(timeout=10)


def sample_vas(pid):
    """A few pages of every mapping /proc/PID/maps lists, and addresses in none."""
    vas = [0x1000, 0x7ffffffff000]
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            vas += list(range(start + 0x10, min(end, start + 8 * 0x1000), 0x1000))
    return vas


def pagemap_pfn(pid, va):
    """The PFN the kernel's own pagemap gives (bits 0..54 when present, bit 63)."""
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(va // 4096 * 8)
        (word,) = struct.unpack("<Q", f.read(8))
    return word & ((1 << 55) - 1) if word >> 63 else None


def steady(result):
    return {k: v for k, v in result.items() if k not in ("kpageflags", "kpagecount")}


def test_live_equals_the_cli_and_pagemap(pagewalk, child):
    p = pagewalk.live(child)
    assert p.pid == child and p.comm
    vas = sample_vas(child)
    got = p.translate_many(vas)
    want = cli_doc("translate", "--pid", str(child), *[hex(v) for v in vas])["results"]
    # A frame's flags and map count are the machine's, not the process's: the CLI itself
    # maps the shared libraries it counts. Both must be there; their values may move.
    assert [r.keys() for r in got] == [r.keys() for r in want]
    assert [steady(r) for r in got] == [steady(r) for r in want]
    assert steady(p.translate(vas[-1])) == steady(got[-1])
    statuses = {r["status"] for r in got}
    assert {"mapped", "not-present", "no-mapping"} <= statuses, statuses
    if p.privileged:
        for r in got:
            if r["status"] == "mapped":
                assert r["pfn"] == pagemap_pfn(child, r["va"]), hex(r["va"])
    regions = {(m["start"], m["end"]) for m in p.mappings()}
    assert all((r["region"]["start"], r["region"]["end"]) in regions for r in got if "region" in r)


def test_live_errors(pagewalk):
    with pytest.raises(pagewalk.BadInput, match="--pid"):
        pagewalk.live("not-a-pid")
    with pytest.raises(pagewalk.TargetError):
        pagewalk.live(2 ** 22 + 7)
    assert pagewalk.live().pid == os.getpid()
