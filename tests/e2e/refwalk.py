#!/usr/bin/env python3
"""Reference page-table walker used to self-test the e2e harness.

It implements just enough of pagewalk's command line for run_e2e.py:

    refwalk.py translate --image DUMP.elf --cpu N --jsonl -   (VAs on stdin)
    refwalk.py map --pages --image DUMP.elf --cpu N --jsonl

reading CR3/CR4 from the dump's "QEMU" note of vCPU N and walking x86-64
4- or 5-level tables in the ELF's physical memory.  It exists so that the
comparison code in run_e2e.py can be exercised without the C++ binary
(`run_e2e.py --pagewalk tests/e2e/refwalk.py`); it is not the product.
"""

import argparse
import json
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from elfdump import ElfDump  # noqa: E402

ADDR_MASK = 0x000FFFFFFFFFF000
BITS = [(0, "P"), (1, "RW"), (2, "US"), (3, "PWT"), (4, "PCD"), (5, "A"),
        (6, "D"), (8, "G"), (63, "NX")]
LEVEL_NAMES = {5: "PML5", 4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}


def leaf_flags(entry, level):
    flags = [name for bit, name in BITS if entry >> bit & 1]
    if level > 1:
        flags.append("PS")
        if entry >> 12 & 1:
            flags.append("PAT")
    elif entry >> 7 & 1:
        flags.append("PAT")
    return flags


class Walker:
    def __init__(self, dump, cpu):
        states = dump.qemu_cpu_states()
        if cpu >= len(states):
            raise SystemExit(f"no QEMU note for cpu {cpu}")
        self.dump = dump
        self.cr3 = states[cpu]["cr3"]
        self.levels = 5 if states[cpu]["cr4"] & (1 << 12) else 4
        self.va_bits = 57 if self.levels == 5 else 48

    def read_entry(self, table, index):
        raw = self.dump.read_phys(table + index * 8, 8)
        return None if raw is None else struct.unpack("<Q", raw)[0]

    def canonical(self, va):
        top = va >> (self.va_bits - 1)
        return top == 0 or top == (1 << (65 - self.va_bits)) - 1

    def translate(self, va):
        out = {"va": f"0x{va:x}", "steps": []}
        if not self.canonical(va):
            out["status"] = "non-canonical"
            return out
        table = self.cr3 & ADDR_MASK
        for level in range(self.levels, 0, -1):
            shift = 12 + 9 * (level - 1)
            index = va >> shift & 0x1FF
            entry = self.read_entry(table, index)
            step = {"level": LEVEL_NAMES[level], "table": f"0x{table:x}",
                    "index": index}
            if entry is None:
                out["steps"].append(step)
                out["status"] = "unreadable"
                return out
            step["entry"] = f"0x{entry:x}"
            out["steps"].append(step)
            if not entry & 1:
                if level == 1 and entry & (1 << 8):
                    # Linux stores the frame of non-present PTEs inverted
                    # (L1TF mitigation, arch/x86/include/asm/pgtable-invert.h).
                    out["status"] = "prot-none"
                    out["pa"] = f"0x{(~entry & ADDR_MASK) | (va & 0xFFF):x}"
                elif level == 1 and entry:
                    out["status"] = "swap"
                else:
                    out["status"] = "not-present"
                return out
            if level == 1 or (level in (2, 3) and entry >> 7 & 1):
                size = 1 << shift
                base = entry & ADDR_MASK & ~(size - 1)
                out.update(status="mapped", pa=f"0x{base | (va & (size - 1)):x}",
                           page_size=size, flags=leaf_flags(entry, level))
                return out
            table = entry & ADDR_MASK
        raise AssertionError("unreachable")

    def leaves(self):
        def canon(va):
            if va >> (self.va_bits - 1) & 1:
                va |= ~((1 << self.va_bits) - 1) & 0xFFFFFFFFFFFFFFFF
            return va

        def walk(table, level, base):
            raw = self.dump.read_phys(table, 4096)
            if raw is None:
                return
            shift = 12 + 9 * (level - 1)
            for index, entry in enumerate(struct.unpack("<512Q", raw)):
                if not entry & 1:
                    continue
                va = base | index << shift
                if level == 1 or (level in (2, 3) and entry >> 7 & 1):
                    size = 1 << shift
                    yield {"start": f"0x{canon(va):x}",
                           "end": f"0x{canon(va) + size:x}",
                           "pa": f"0x{entry & ADDR_MASK & ~(size - 1):x}",
                           "page_size": size, "flags": leaf_flags(entry, level)}
                else:
                    yield from walk(entry & ADDR_MASK, level - 1, va)

        yield from walk(self.cr3 & ADDR_MASK, self.levels, 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["translate", "map"])
    ap.add_argument("vas", nargs="*")
    ap.add_argument("--image", required=True)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--jsonl", action="store_true")
    ap.add_argument("--pages", action="store_true")
    args = ap.parse_intermixed_args()
    with ElfDump(args.image) as dump:
        w = Walker(dump, args.cpu)
        out = sys.stdout
        if args.command == "translate":
            src = sys.stdin if args.vas in ([], ["-"]) else args.vas
            for line in src:
                line = line.strip()
                if line:
                    out.write(json.dumps(w.translate(int(line, 16))) + "\n")
        else:
            for leaf in w.leaves():
                out.write(json.dumps(leaf) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
