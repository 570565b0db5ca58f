#!/usr/bin/env python3
"""The bad-input corpus: builds a small Linux x86-64 ELF core and a few hundred bytes of
other files in a temporary directory, derives bad inputs from them (truncated and mutated
headers, notes, VMCOREINFO, page tables, symbol and BTF files, kdump and LiME headers,
arguments, stdin, fake gdbstubs), and runs pagewalk on each under a time and memory limit.
Every case must end with its expected exit status and a stderr whose last line holds the
expected words; a signal, a timeout, the memory limit, a wrong status or message fails it.

Usage: run_badinput.py PAGEWALK [--seconds 20] [--memory-mib 256] [-k SUBSTRING]"""
import argparse
import os
import resource
import shutil
import socket
import struct
import zlib
import subprocess
import sys
import tempfile
import threading

MiB = 1 << 20
START_KERNEL_MAP = 0xFFFFFFFF80000000
PAGE_OFFSET = 0xFFFF888000000000
TEXT = 0xFFFFFFFF81000000
TEXT_PA = 0x400000
PGD_VA, PGD_PA = TEXT + 0x100000, TEXT_PA + 0x100000
PHYS_BASE = (TEXT_PA - (TEXT - START_KERNEL_MAP)) & (2**64 - 1)
RAM = 8 * MiB
CR0, CR4 = 0x80050033, 0x3006F0

# ---- building the base image --------------------------------------------------------


class Ram:
    """8 MiB of physical memory with x86-64 4-level tables: the direct map and the kernel
    image in 2 MiB pages, tables allocated from 0x600000 (the PGD is init_top_pgt)."""

    def __init__(self):
        self.b = bytearray(RAM)
        self.next_table = 0x601000

    def u64(self, pa, v=None):
        if v is None:
            return struct.unpack_from("<Q", self.b, pa)[0]
        struct.pack_into("<Q", self.b, pa, v)

    def table(self, entry_pa):
        e = self.u64(entry_pa)
        if e & 1:
            return e & 0x000FFFFFFFFFF000
        t = self.next_table
        self.next_table += 0x1000
        self.u64(entry_pa, t | 0x63)
        return t

    def map_2m(self, va, pa):
        pdpt = self.table(PGD_PA + ((va >> 39) & 511) * 8)
        pd = self.table(pdpt + ((va >> 30) & 511) * 8)
        self.u64(pd + ((va >> 21) & 511) * 8, pa | 0xE3)


def vmcoreinfo(**overrides):
    fields = {"OSRELEASE": "6.1.0-badinput", "PAGESIZE": "4096", "SYMBOL(init_top_pgt)": f"{PGD_VA:x}",
              "NUMBER(phys_base)": str(PHYS_BASE - 2**64), "KERNELOFFSET": "0",
              "NUMBER(pgtable_l5_enabled)": "0", "SIZE(page)": "64", "NUMBER(KERNEL_IMAGE_SIZE)": "1073741824"}
    fields.update(overrides)
    return "".join(f"{k}={v}\n" for k, v in fields.items() if v is not None).encode()


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    pad = lambda x: x + b"\0" * (-len(x) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def qemu_cpu(cr3):
    regs = bytearray(432)
    struct.pack_into("<II", regs, 0, 1, 432)
    struct.pack_into("<QQQQQ", regs, 392, CR0, 0, 0, cr3, CR4)
    return bytes(regs)


def elf_core(loads, notes, machine=62):
    """loads: [(pa, bytes, memsz)]; an ELF64 core like QEMU's dump-guest-memory."""
    nph = 1 + len(loads)
    notes_off = 64 + 56 * nph
    data_off = (notes_off + len(notes) + 4095) & ~4095
    ph, body, off = [], bytearray(), data_off
    ph.append(struct.pack("<IIQQQQQQ", 4, 0, notes_off, 0, 0, len(notes), len(notes), 4))
    for pa, data, memsz in loads:
        ph.append(struct.pack("<IIQQQQQQ", 1, 7, off, 0, pa, len(data), memsz, 0))
        off += len(data)
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    eh += struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, 64, 0, 0, 64, 56, nph, 64, 0, 0)
    out = bytearray(eh + b"".join(ph))
    out += notes
    out += b"\0" * (data_off - len(out))
    for _, data, _ in loads:
        out += data
    return bytes(out)


def base_ram():
    r = Ram()
    for o in range(0, RAM, 2 * MiB):
        r.map_2m(PAGE_OFFSET + o, o)
    r.map_2m(TEXT, TEXT_PA)
    return r


def base_core(ram=None, vmci=None, cpus=True, memsz=None, machine=62):
    ram = ram or base_ram()
    notes = (note("QEMU", 0, qemu_cpu(PGD_PA)) if cpus else b"") + note("VMCOREINFO", 0, vmci or vmcoreinfo())
    return elf_core([(0, bytes(ram.b), memsz or RAM)], notes, machine)


def kdump_header(block=4096, sub_blocks=1, bitmap_blocks=2, max_mapnr=2048, version=6, note_off=None, note_size=0):
    # The header, its sub-header and at most two bitmap blocks: a header that claims more
    # describes a file larger than this one.
    h = bytearray(block * (1 + sub_blocks + min(bitmap_blocks, 2)) + 4096)
    h[0:8] = b"KDUMP   "
    struct.pack_into("<i", h, 8, version)
    h[12 + 4 * 65:12 + 4 * 65 + 6] = b"x86_64"
    struct.pack_into("<iiiII", h, 424, 0, block, sub_blocks, bitmap_blocks, max_mapnr)
    struct.pack_into("<qQ", h, block + 48, note_off if note_off is not None else 0, note_size)
    struct.pack_into("<Q", h, block + 96, max_mapnr)
    return bytes(h)


def kdump_file(pages=16, corrupt=(), filtered=()):
    """A whole zlib-compressed diskdump of `pages` zero pages: a page in `corrupt` holds a
    stream that does not inflate, one in `filtered` is valid but was not saved."""
    block = 4096
    h = bytearray(kdump_header(max_mapnr=pages))[:2 * block]  # header and sub-header
    struct.pack_into("<I", h, 424, 1)  # status: DUMP_DH_COMPRESSED_ZLIB
    valid, dumpable = bytearray(block), bytearray(block)
    for pfn in range(pages):
        valid[pfn // 8] |= 1 << (pfn % 8)
        if pfn not in filtered:
            dumpable[pfn // 8] |= 1 << (pfn % 8)
    saved = [pfn for pfn in range(pages) if pfn not in filtered]
    data_at = len(h) + 2 * block + 24 * len(saved)
    descs, data = b"", b""
    for pfn in saved:
        blob = b"\x78\x9c" + b"\xde\xad\xbe\xef" * 8 if pfn in corrupt else zlib.compress(bytes(4096))
        descs += struct.pack("<qIIQ", data_at + len(data), len(blob), 1, 0)  # offset, size, flags (zlib), page_flags
        data += blob
    return bytes(h) + bytes(valid) + bytes(dumpable) + descs + data


def lime(ranges):
    out = b""
    for start, end, data in ranges:
        out += struct.pack("<IIQQQ", 0x4C694D45, 1, start, end, 0) + data
    return out


# ---- fake gdbstubs ------------------------------------------------------------------


def checksum(data):
    return f"{sum(data.encode()) & 0xff:02x}"


class FakeStub(threading.Thread):
    """A TCP server on 127.0.0.1 that answers the first packet as `mode` says."""

    def __init__(self, mode):
        super().__init__(daemon=True)
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]

    def run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(30)
        try:
            conn.recv(4096)
            if self.mode == "garbage":
                conn.sendall(b"+" + bytes(range(256)) * 64)
            elif self.mode == "badsum":
                conn.sendall(b"+$PacketSize=1000#00" * 8)
            elif self.mode == "huge":
                conn.sendall(b"+$" + b"a" * (1 << 20) + b"#00")
            elif self.mode == "close":
                pass
            elif self.mode == "silent":
                conn.recv(4096)
            elif self.mode == "error":
                for _ in range(64):
                    conn.sendall(b"+$E14#" + checksum("E14").encode())
                    if not conn.recv(4096):
                        break
        except OSError:
            pass
        finally:
            conn.close()


# ---- the cases ----------------------------------------------------------------------


def cases(d):
    """(name, args, stdin, status, words); {d} is the corpus directory."""
    c = []

    def add(name, args, status, words, stdin=b""):
        c.append((name, args, stdin, status, words))

    def write(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        return os.path.join(d, name)

    good = write("good.elf", base_core())
    kallsyms = write("kallsyms", f"{TEXT:016x} T _text\n{TEXT + 0x10:016x} T _stext\n".encode())
    linux = f"--image {good} --kallsyms {kallsyms} --base page_offset_base=0x{PAGE_OFFSET:x}"

    # Sanity: the base image works (these are the only cases that must succeed).
    add("good-translate", f"translate --image {good} 0x{PAGE_OFFSET + 0x1234:x}", 0, "")
    add("good-kernel", f"translate {linux} --kernel 0x{TEXT:x}", 0, "")

    # ELF headers.
    core = bytearray(base_core())
    for n in (0, 4, 16, 63, 64, 100, 119, 120, 200):
        add(f"elf-truncated-{n}", f"info --image {write(f'trunc{n}.elf', bytes(core[:n]))}", 3,
            "is empty" if n == 0 else "")
    def mutated(name, off, fmt, value):
        b = bytearray(core)
        struct.pack_into(fmt, b, off, value)
        return write(name, bytes(b))
    add("elf-bad-magic", f"info --image {mutated('magic.elf', 1, 'B', 0x41)} --format elf", 3, "")
    add("elf-class32", f"info --image {mutated('class32.elf', 4, 'B', 1)}", 3, "")
    add("elf-class0", f"info --image {mutated('class0.elf', 4, 'B', 0)}", 3, "")
    add("elf-big-endian", f"info --image {mutated('be.elf', 5, 'B', 2)}", 3, "big-endian")
    add("elf-exec", f"info --image {mutated('exec.elf', 16, '<H', 2)}", 3, "not a core dump")
    add("elf-phnum-0", f"info --image {mutated('phnum0.elf', 56, '<H', 0)}", 3, "")
    # PN_XNUM with no section header and a wrong e_phentsize: libelf still reads the real
    # program headers, and so the right memory (checked by hand against the base image).
    add("elf-pn-xnum", f"info --image {mutated('xnum.elf', 56, '<H', 0xFFFF)}", 0, "")
    add("elf-phoff-past-end", f"info --image {mutated('phoff.elf', 32, '<Q', 1 << 40)}", 3, "")
    add("elf-phentsize-1", f"info --image {mutated('phent.elf', 54, '<H', 1)}", 0, "")
    add("elf-arm64-cr3", f"translate --image {mutated('arm64.elf', 18, '<H', 183)} --cr3 0x500000 0x0", 2,
        "give --tcr X --ttbr0 A --ttbr1 B")
    add("elf-arm64-ps", f"ps --image {os.path.join(d, 'arm64.elf')}", 3, "PGD (swapper_pg_dir) is unknown")
    add("elf-riscv", f"translate --image {mutated('riscv.elf', 18, '<H', 243)} 0x0", 2, "ELF machine 243")
    # AArch64's registers by hand: TCR_EL1 values that describe no configuration, roots
    # outside the image's memory, registers given apart.
    a64 = os.path.join(d, "arm64.elf")
    tcr48 = 16 | 16 << 16 | 2 << 30 | 5 << 32  # 4 KiB pages, 48-bit VA both halves, 48-bit IPS
    roots = "--ttbr0 0x500000 --ttbr1 0x500000"
    add("arm64-tcr-tg1-reserved", f"translate --image {a64} --tcr {tcr48 & ~(3 << 30):#x} {roots} 0x0", 2,
        "TG1 is a reserved encoding")
    # Halves of different shapes are a split mode, each half checked on its own.
    add("arm64-tcr-t1sz-40", f"translate --image {a64} --tcr {tcr48 & ~(0x3f << 16) | 40 << 16:#x} {roots} 0x0", 2,
        "a 24-bit TTBR1 VA (T1SZ 40) is outside the 36..52 bits")
    add("arm64-tcr-ttbr1-52-no-ds", f"translate --image {a64} --tcr {tcr48 & ~(0x3f << 16) | 12 << 16:#x} {roots} 0x0",
        2, "52-bit TTBR1 VA with 4 KiB pages needs TCR.DS=1")
    add("arm64-tcr-52-no-ds", f"translate --image {a64} --tcr {12 | 12 << 16 | 2 << 30 | 6 << 32:#x} {roots} 0x0", 2,
        "needs TCR.DS=1")
    add("arm64-tcr-t0sz-63", f"translate --image {a64} --tcr {63 | 63 << 16 | 2 << 30 | 5 << 32:#x} {roots} 0x0", 2,
        "outside the 36..52 bits")
    add("arm64-tcr-ips-reserved", f"translate --image {a64} --tcr {tcr48 | 7 << 32:#x} {roots} 0x0", 2,
        "IPS is a reserved encoding")
    add("arm64-tcr-alone", f"translate --image {a64} --tcr {tcr48:#x} 0x0", 2, "--ttbr0 and --ttbr1 together")
    add("arm64-tcr-and-cr3", f"translate --image {a64} --tcr {tcr48:#x} {roots} --cr3 0x500000 0x0", 2,
        "drop --cr3")
    add("arm64-ttbr-outside-ram", f"translate --image {a64} --tcr {tcr48:#x} --ttbr0 0x7fff0000000 --ttbr1 0x0 0x1000",
        1, "unreadable")

    # Program headers (the PT_LOAD is the second one, at 64 + 56).
    load = 64 + 56
    add("load-offset-past-end", f"info --image {mutated('loadoff.elf', load + 8, '<Q', 1 << 40)}", 3, "")
    add("load-filesz-past-end", f"info --image {mutated('loadsz.elf', load + 32, '<Q', 1 << 40)}", 3, "")
    add("load-paddr-wraps", f"info --image {mutated('wrap.elf', load + 24, '<Q', 2**64 - 4096)}", 3, "")
    add("note-offset-past-end", f"info --image {mutated('noteoff.elf', 64 + 8, '<Q', 1 << 40)}", 3, "")
    add("note-size-past-end", f"info --image {mutated('notesz.elf', 64 + 32, '<Q', 1 << 40)}", 3, "")
    huge_mem = write("memsz.elf", base_core(vmci=b"nothing here\n", memsz=1 << 60))
    add("memsz-2^60-ps", f"ps --image {huge_mem}", 3, "no VMCOREINFO")
    add("memsz-2^60-kconv", f"kconv --image {huge_mem} --virt 0x{TEXT:x}", 3, "")

    # Notes.
    notes_at = 64 + 56 * 2
    # A corrupt note area: the image is still described, the problem said, the status 1.
    add("note-namesz-huge", f"info --image {mutated('namesz.elf', notes_at, '<I', 0x7FFFFFFF)}", 1, "runs past its end")
    add("note-descsz-huge", f"info --image {mutated('descsz.elf', notes_at + 4, '<I', 0x7FFFFFFF)}", 1,
        "runs past its end")
    short_cpu = write("shortcpu.elf", elf_core([(0, bytes(base_ram().b), RAM)], note("QEMU", 0, b"\1\0\0\0" * 4)))
    add("qemu-note-short", f"translate --image {short_cpu} 0x0", 2, "holds no CPU registers")
    big_vi = write("bigvi.elf", elf_core([(0, bytes(base_ram().b), RAM)], note("QEMU", 0, qemu_cpu(PGD_PA)) +
                                       note("VMCOREINFO", 0, vmcoreinfo() + b"X" * (2 * MiB))))
    add("vmcoreinfo-2MiB", f"info --image {big_vi}", 1, "larger than the kernel writes")
    for name, kw, status, words in [
            ("size-page-0", {"SIZE(page)": "0"}, 2, "SIZE(page)=0 rejected"),
            ("size-page-huge", {"SIZE(page)": "99999999"}, 2, "rejected"),
            ("image-size-neg", {"NUMBER(KERNEL_IMAGE_SIZE)": "-1"}, 2, "SIZE(page)"),
            ("phys-base-garbage", {"NUMBER(phys_base)": "12345"}, 1, "do not map"),
            ("pgd-missing", {"SYMBOL(init_top_pgt)": None}, 3, "PGD"),
            ("pgd-not-hex", {"SYMBOL(init_top_pgt)": "zzzz"}, 3, ""),
            ("pagesize-missing", {"PAGESIZE": None}, 3, ""),
            ("l5-garbage", {"NUMBER(pgtable_l5_enabled)": "2"}, 0, "")]:
        img = write(f"vi-{name}.elf", base_core(vmci=vmcoreinfo(**kw) if name != "image-size-neg" else
                                                 vmcoreinfo(**kw, **{"SIZE(page)": "0"})))
        add(f"vmcoreinfo-{name}", f"kconv --image {img} --kallsyms {kallsyms} "
            f"--base page_offset_base=0x{PAGE_OFFSET:x} --base vmemmap_base=0xffffea0000000000 "
            f"--page 0xffffea0000000040", status, words)

    # Strings from the image: escaped in text, valid in JSON (an ESC sequence, a byte
    # that is not UTF-8).
    odd = write("vi-odd-release.elf", base_core(vmci=vmcoreinfo(OSRELEASE="6.1\x01\x1b[31m") + b"EXTRA=\xff\xfe\n"))
    add("vmcoreinfo-odd-strings-json", f"info --json --image {odd}", 0, "")
    add("vmcoreinfo-odd-strings-text", f"info --image {odd}", 0, "")
    add("vmcoreinfo-odd-strings-ps", f"layout --json {linux.replace(good, odd)}", 0, "")

    # Page tables.
    loop = base_ram()
    loop.u64(PGD_PA + 5 * 8, PGD_PA | 0x67)
    add("table-loop-map", f"map --image {write('loop.elf', base_core(loop))} --holes", 1, "points back at table")
    outside = base_ram()
    outside.u64(PGD_PA + 6 * 8, 0x7F000000 | 0x67)
    out_img = write("outside.elf", base_core(outside))
    add("table-outside-translate", f"translate --image {out_img} 0x{6 << 39:x}", 1, "")
    add("table-outside-map", f"map --image {out_img}", 1, "could not be read")
    res = base_ram()
    res.u64(PGD_PA + 7 * 8, (1 << 51) | 0x601000 | 0x67)
    add("table-reserved", f"translate --image {write('reserved.elf', base_core(res))} 0x{7 << 39:x}", 1, "")
    shared = base_ram()
    pdpt = shared.table(PGD_PA + 8 * 8)
    pd = shared.table(pdpt)
    pt = shared.next_table
    shared.next_table += 0x1000
    for i in range(512):
        shared.u64(pt + i * 8, (0x100000 + i * 0x1000) | 0x67)
    for i in range(512):
        shared.u64(pd + i * 8, pt | 0x67)
    for i in range(512):
        shared.u64(pdpt + i * 8, pd | 0x67)
    for i in range(9, 256):
        shared.u64(PGD_PA + i * 8, pdpt | 0x67)
    add("tables-shared-subtrees", f"map --pages --image {write('shared.elf', base_core(shared))}", 1,
        "the map is incomplete")

    # Symbols and BTF.
    add("kallsyms-empty", f"ps {linux.replace(kallsyms, write('empty.txt', b''))}", 3, "")
    add("kallsyms-garbage", f"ps {linux.replace(kallsyms, write('garbage.txt', os.urandom(4096)))}", 3, "")
    add("kallsyms-dev-zero", f"ps --image {good} --kallsyms /dev/zero", 3, "character device")
    os.mkfifo(os.path.join(d, "fifo"))
    fifo = os.path.join(d, "fifo")
    add("kallsyms-fifo", f"ps --image {good} --kallsyms {fifo}", 3, "FIFO")
    add("kallsyms-directory", f"ps --image {good} --kallsyms {d}", 3, "directory")
    add("kallsyms-long-line", f"ps {linux.replace(kallsyms, write('long.txt', b'f' * (8 * MiB)))}", 3, "")
    add("system-map-garbage", f"ps --image {good} --system-map {os.path.join(d, 'garbage.txt')}", 3, "")
    add("btf-garbage", f"ps {linux} --btf {os.path.join(d, 'garbage.txt')}", 3, "")
    add("btf-urandom", f"ps {linux} --btf /dev/urandom", 3, "character device")
    add("btf-fifo", f"ps {linux} --btf {fifo}", 3, "FIFO")
    add("btf-missing", f"ps {linux} --btf {d}/nonexistent", 3, "No such file")
    add("vmlinux-not-elf", f"ps {linux} --vmlinux {os.path.join(d, 'garbage.txt')}", 3, "")
    add("image-fifo", f"info --image {fifo}", 3, "FIFO")
    add("image-dev-zero", f"info --image /dev/zero", 3, "character device")
    add("image-directory", f"info --image {d}", 3, "directory")
    add("image-missing", f"info --image {d}/nonexistent", 3, "No such file")
    add("kcore-fifo", f"ps --kcore --kcore-file {fifo}", 3, "FIFO")
    add("kcore-garbage", f"ps --kcore --kcore-file {os.path.join(d, 'garbage.txt')}", 3, "")

    # kdump and LiME headers.
    add("kdump-truncated", f"info --image {write('kd-trunc.dump', kdump_header()[:300])}", 3, "")
    add("kdump-block-odd", f"info --image {write('kd-block.dump', kdump_header(block=1000))}", 3, "block size")
    add("kdump-bitmap-past-end", f"info --image {write('kd-bitmap.dump', kdump_header(bitmap_blocks=1 << 20))}", 3,
        "beyond the end")
    add("kdump-mapnr-huge", f"info --image {write('kd-mapnr.dump', kdump_header(max_mapnr=0xFFFFFFFF))}", 3, "")
    add("kdump-notes-past-end", f"info --image {write('kd-notes.dump', kdump_header(note_off=1 << 30, note_size=4096))}",
        3, "past the end")
    add("kdump-page-corrupt", f"translate --image {write('kd-corrupt.dump', kdump_file(corrupt={1}))} --cr3 0x1000 0x0",
        1, "corrupt (Decompres")
    add("kdump-page-filtered", f"translate --image {write('kd-filtered.dump', kdump_file(filtered={1}))} --cr3 0x1000 0x0",
        1, "not in the dump")
    add("kdump-version-0", f"info --image {write('kd-v0.dump', kdump_header(version=0))}", 3, "version")
    page = bytes(4096)
    add("lime-bad-magic", f"info --image {write('bad.lime', b'XXXX' + lime([(0, 4095, page)])[4:])} --format lime", 3,
        "bad LiME magic")
    add("lime-end-before-start", f"info --image {write('rev.lime', lime([(8192, 4095, b'')]))}", 3, "ends before")
    add("lime-past-end", f"info --image {write('short.lime', lime([(0, 1 << 30, page)]))}", 3, "past the end")
    add("lime-header-cut", f"info --image {write('cut.lime', lime([(0, 4095, page)]) + b'EMiL')}", 3, "cut short")
    add("lime-overlap", f"info --image {write('overlap.lime', lime([(0, 4095, page), (0, 4095, page)]))}", 3, "")

    # Arguments.
    for name, args, status, words in [
            ("va-not-a-number", f"translate --image {good} zz", 2, "is not a"),
            ("va-too-big", f"translate --image {good} 0x1ffffffffffffffff", 2, "does not fit"),
            ("va-non-canonical", f"translate --image {good} 0x0000800000000000", 1, "in no region"),
            ("cr3-garbage", f"translate --image {good} --cr3 nope 0x0", 2, "--cr3"),
            ("cpu-999", f"translate --image {good} --cpu 999 0x0", 2, "CPUs 0..0"),
            ("info-cpu-999", f"info --image {good} --cpu 999", 2, "CPUs 0..0"),
            ("mode-bogus", f"translate --image {good} --mode bogus 0x0", 2, "unknown paging mode"),
            ("info-mode-bogus", f"translate 0x1000 --image {good} --mode bogus", 2, "unknown paging mode"),
            ("info-mode-not-offered", f"info --image {good} --mode x86-32", 2, "--mode does not apply here"),
            ("pa-bits-12", f"translate --image {good} --pa-bits 12 0x0", 2, "--pa-bits"),
            ("pa-bits-65", f"entry 0x8000000012345867 --pa-bits 65", 2, "--pa-bits"),
            ("pa-bits-200", f"entry 0x8000000012345867 --pa-bits 200", 2, "--pa-bits"),
            ("pa-bits-256", f"translate 0x1000 --image {good} --pa-bits 256", 2, "--pa-bits"),
            ("pa-bits-32bit-mode", f"entry 0x12345067 --mode x86-32 --pa-bits 52", 2, "x86-32"),
            ("format-bogus", f"info --image {good} --format bogus", 2, "--format"),
            ("base-unknown-name", f"ps --image {good} --base nope=1", 2, "unknown name"),
            ("base-bad-value", f"ps --image {good} --base phys_base=zz", 2, "'zz' is not a"),
            ("pid-negative", f"translate --image {good} --pid -1 0x0", 2, ""),
            ("pid-word", f"translate --image {good} --pid abc 0x0", 2, "not a process id"),
            ("pti-bogus", f"translate --image {good} --pid 1 --pti sideways 0x0", 2, "--pti"),
            ("pti-without-pid", f"translate --image {good} --pti user 0x0", 2, "--pti needs --pid"),
            ("map-to-zero", f"map --image {good} --to 0", 2, "empty"),
            ("map-from-above-to", f"map --image {good} --from 0x2000 --to 0x1000", 2, "above --from"),
            ("two-targets", f"info --image {good} --kcore", 2, "give one of"),
            ("kmod-and-kcore", "ps --kmod --kcore", 2, "give one of"),
            ("kmod-not-loaded", f"ps --kmod --kmod-device {os.path.join(d, 'no-such-device')}", 3, "cannot open"),
            ("kmod-not-a-device", f"info --kmod --kmod-device {os.path.join(d, 'garbage.txt')}", 3, "not a pagewalk device"),
            ("kmod-walk-other-target", f"translate --image {good} --kmod-walk 0x1000", 2, "goes with --kmod"),
            ("no-target", "translate 0x0", 2, "give --image"),
            ("unknown-command", "frobnicate", 2, ""),
            ("entry-too-wide-32", "entry 0x100000000 --mode x86-32", 2, "does not fit in a 32-bit"),
            ("entry-level-bogus", "entry 0x1 --level PML9", 2, "does not exist"),
            ("decode-non-canonical", "decode 0x0000800000000000", 1, "in no region"),  # an answer
            ("kconv-pfn-overflow", f"kconv {linux} --pfn 0x10000000000001", 2, "above the largest frame"),
            ("kconv-size-wraps", f"kconv {linux} --virt 0xffffffffffffffff --size 2", 2, "past the end"),
            ("kconv-size-zero", f"kconv {linux} --virt 0x{TEXT:x} --size 0", 2, "--size"),
            ("kconv-nothing", f"kconv {linux}", 2, "give --virt"),
            ("read-symbol-unknown", f"read {linux} --kernel no_such_symbol", 2, "no kernel symbol 'no_such_symbol'"),
            ("read-symbol-no-kernel", f"read --image {good} init_task", 2, "has no kernel symbols"),
            ("translate-not-a-symbol", f"translate --image {good} 'z?z'", 2, "is not a hex number"),
            ("read-symbol-bad-offset", f"translate {linux} --kernel _text+zz", 2, "not a number"),
            ("read-past-the-top", f"read {linux} --kernel 0xfffffffffffffff0 -n 0x20", 2, "past the end"),
            ("read-length-zero", f"read --image {good} --phys 0 -n 0", 2, "reads nothing"),
            ("read-words-odd", f"read --image {good} --phys 0 --words 5", 2, "no word size"),
            ("read-raw-exists", f"read --image {good} --phys 0 --raw {good}", 2, "exists"),
            ("ptov-image-no-types", f"ptov --image {good} 0x1000", 3, ""),
            ("ptov-image-nothing", f"ptov {linux}", 2, "give a physical address"),
            ("ptov-image-all", f"ptov {linux} 0x1000 --all", 2, "for live processes"),
            ("page-nothing", f"page {linux}", 2, "give --pfn N"),
            ("page-no-target", "page --pfn 1", 2, "give --image"),
            ("maps-no-target", "maps --pid 1", 2, "give --image"),
            ("modules-no-target", "modules", 2, "give --image"),
            ("modules-no-types", f"modules {linux}", 3, "BTF"),
            ("translate-module-symbol-unknown", f"translate {linux} --kernel nomod:nosym", 2, "no kernel symbol 'nomod:nosym'"),
            ("search-no-pattern", f"search --image {good}", 2, "give one pattern"),
            ("search-bad-escape", f"search --image {good} 'a\\q'", 2, "unknown escape"),
            ("read-phys-live", "read --phys 0 --pid 1", 2, "needs physical memory"),
            ("qemu-bad-endpoint", "info --qemu nocolon", 2, "--qemu"),
            ("qemu-timeout-0", "info --qemu 127.0.0.1:1 --qemu-timeout 0", 2, "above 0"),
            ("qemu-refused", "info --qemu 127.0.0.1:1 --qemu-timeout 2000", 3, "127.0.0.1:1")]:
        add(name, args, status, words)

    # stdin.
    add("stdin-flood", f"translate --brief --image {good} -", 2, "does not fit", b"1" * (3 * MiB) + b"\n")
    add("stdin-binary", f"translate --brief --image {good} -", 2, "not a", os.urandom(1 << 16))
    add("stdin-crlf", f"translate --brief --image {good} -", 0, "", f"0x{PAGE_OFFSET:x}\r\n0x{TEXT:x}\r\n".encode())
    add("stdin-empty", f"translate --image {good} -", 0, "")
    add("stdin-ptov-malformed", f"ptov {linux} -", 2, "malformed", b"0x1000\nzz\n")

    # Output.
    add("output-full-demo", "demo >/dev/full", 3, "cannot write the output")
    add("output-full-translate", f"translate --image {good} 0x0 >/dev/full", 3, "cannot write the output")
    add("output-full-modes", "modes --json >/dev/full", 3, "cannot write the output")

    # Fake gdbstubs: filled in with their ports by run().
    for mode, words in [("garbage", ""), ("badsum", ""), ("huge", ""), ("close", ""), ("silent", "no reply"),
                        ("error", "")]:
        add(f"gdbstub-{mode}", f"info --qemu 127.0.0.1:{{port:{mode}}} --qemu-timeout 1500", 3, words)
    return c


def run_case(pagewalk, args, stdin, seconds, memory_mib):
    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (memory_mib * MiB, memory_mib * MiB))
    cmd = f"exec {pagewalk} {args}"
    try:
        p = subprocess.run(["sh", "-c", cmd], input=stdin, capture_output=True, timeout=seconds, preexec_fn=limits)
    except subprocess.TimeoutExpired:
        return None, b"", b""
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pagewalk")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--memory-mib", type=int, default=256)
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    pagewalk = os.path.abspath(a.pagewalk)
    d = tempfile.mkdtemp(prefix="pagewalk-badinput-")
    passed = failed = 0
    try:
        all_cases = [c for c in cases(d) if a.k in c[0]]
        for name, args, stdin, status, words in all_cases:
            stub = None
            if "{port:" in args:
                mode = args.split("{port:")[1].split("}")[0]
                stub = FakeStub(mode)
                stub.start()
                args = args.replace(f"{{port:{mode}}}", str(stub.port))
            code, out, err = run_case(pagewalk, args, stdin, a.seconds, a.memory_mib)
            text = err.decode(errors="replace")
            lines = [l for l in text.splitlines() if l]
            problems = []
            if code is None:
                problems.append(f"no answer in {a.seconds:g} s")
            elif code < 0 or code > 100:
                problems.append(f"ended by signal {-code if code < 0 else code - 128}")
            elif code != status:
                problems.append(f"exit {code}, expected {status}")
            # An error's words are in its last stderr lines; an answer's (status 0 or 1) may
            # be anywhere in what it printed.
            said = lines[-2:] if status >= 2 else lines + out.decode(errors="replace").splitlines()
            if code is not None and words and not any(words in l for l in said):
                problems.append(f"message lacks '{words}'")
            if code is not None and status >= 2:
                if not lines:
                    problems.append("no message")
                if lines and (not lines[-1].startswith("pagewalk: ") or len(lines[-1]) > 400):
                    problems.append("the error is not one short 'pagewalk:' line")
                if "internal error" in text:
                    problems.append("an internal error reached the user")
            if problems:
                failed += 1
                print(f"FAIL {name}: {'; '.join(problems)}\n     pagewalk {args}\n     stderr: {text[-300:]!r}")
            else:
                passed += 1
            if stub:
                stub.sock.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(f"badinput: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
