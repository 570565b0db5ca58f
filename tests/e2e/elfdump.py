"""Independent reader for QEMU `dump-guest-memory` ELF files.

Only what the e2e checks need: the PT_LOAD segments (guest-physical ranges,
keyed by p_paddr) and the PT_NOTE contents (NT_PRSTATUS "CORE" notes and
the "QEMU" CPU-state notes, one of each per vCPU).
"""

import mmap
import struct

PT_LOAD = 1
PT_NOTE = 4


class ElfDumpError(RuntimeError):
    pass


class ElfDump:
    def __init__(self, path):
        self.path = path
        self._f = open(path, "rb")
        try:
            self._m = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as e:
            self._f.close()
            raise ElfDumpError(f"{path}: empty or unreadable") from e
        self.loads = []   # (paddr, offset, filesz, memsz, vaddr)
        self.notes = []   # (name, type, desc bytes)
        self._parse()

    def close(self):
        self._m.close()
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _parse(self):
        m = self._m
        if m[:4] != b"\x7fELF":
            raise ElfDumpError(f"{self.path}: not an ELF file")
        if m[4] != 2 or m[5] != 1:
            raise ElfDumpError(f"{self.path}: not ELF64 little-endian")
        (e_type, e_machine, _ver, _entry, e_phoff, _shoff, _flags, _ehsize,
         e_phentsize, e_phnum, _shentsize, _shnum, _shstrndx) = struct.unpack_from(
            "<HHIQQQIHHHHHH", m, 16)
        self.e_type, self.e_machine = e_type, e_machine
        if e_phnum == 0xFFFF:
            # Extended numbering: real count lives in section 0's sh_info.
            _shoff_val = struct.unpack_from("<Q", m, 40)[0]
            e_phnum = struct.unpack_from("<I", m, _shoff_val + 44)[0]
        for i in range(e_phnum):
            off = e_phoff + i * e_phentsize
            (p_type, _p_flags, p_offset, p_vaddr, p_paddr, p_filesz,
             p_memsz, _p_align) = struct.unpack_from("<IIQQQQQQ", m, off)
            if p_type == PT_LOAD:
                self.loads.append((p_paddr, p_offset, p_filesz, p_memsz, p_vaddr))
            elif p_type == PT_NOTE:
                self._parse_notes(p_offset, p_filesz)
        self.loads.sort()

    def _parse_notes(self, off, size):
        m = self._m
        end = off + size
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", m, off)
            off += 12
            name = bytes(m[off:off + namesz]).rstrip(b"\0").decode(errors="replace")
            off += (namesz + 3) & ~3
            desc = bytes(m[off:off + descsz])
            off += (descsz + 3) & ~3
            self.notes.append((name, ntype, desc))

    def read_phys(self, pa, size):
        """Bytes at guest-physical pa, or None if not (fully) in the file."""
        for paddr, offset, filesz, _memsz, _vaddr in self.loads:
            if paddr <= pa and pa + size <= paddr + filesz:
                start = offset + (pa - paddr)
                return bytes(self._m[start:start + size])
        return None

    def qemu_cpu_states(self):
        """Decode the "QEMU" notes (QEMUCPUState, version 1)."""
        out = []
        for name, _ntype, desc in self.notes:
            if name != "QEMU" or len(desc) < 8:
                continue
            version, size = struct.unpack_from("<II", desc, 0)
            # 2 header words, 18 GPRs + rip + rflags, then segment
            # descriptors (cs ds es fs gs ss ldt tr: 8 x 24 bytes),
            # gdt/idt (2 x 24 bytes), then cr[0..4] and kernel_gs_base.
            regs = struct.unpack_from("<18Q", desc, 8)
            off = 8 + 18 * 8
            off += 10 * 24
            if len(desc) >= off + 6 * 8:
                cr = struct.unpack_from("<6Q", desc, off)
            else:
                cr = (None,) * 6
            out.append({"version": version, "size": size, "rip": regs[16],
                        "rflags": regs[17], "cr0": cr[0], "cr2": cr[2],
                        "cr3": cr[3], "cr4": cr[4]})
        return out
