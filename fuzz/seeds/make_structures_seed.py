#!/usr/bin/python3
"""Writes fuzz/seeds/fuzz_structures/kernel: kernel data laid out as fuzz_structures.cpp
reads it (its TaskLayout offsets), so that the fuzzer starts from structures that walk:

  0x0080  the `modules` list head (the kernel image maps PA 0 too)
  0x1000  an mm_struct whose maple tree (mm_mt.ma_root) is one leaf node at 0x2000
  0x3000  three VMAs: a file mapping (/bin/hello-mm), the heap, the stack
  0x3800  the struct file; 0x4000 its mount; 0x5000.. dentries, inode, super_block
  0x6000  two modules, each with a core area and a symbol table
  0x8000  struct pages (vmemmap): PFN 1 a page cache page of the inode

    python3 fuzz/seeds/make_structures_seed.py OUT
"""
import struct
import sys

DM = 0xffff888000000000     # the direct map: PA 0 upwards
TEXT = 0xffffffff81000000   # the kernel image: PA 0 upwards too
mem = bytearray(0x9000)


def u64(off, v):
    struct.pack_into("<Q", mem, off, v)


def u32(off, v):
    struct.pack_into("<I", mem, off, v)


def put(off, b):
    mem[off:off + len(b)] = b


# mm_struct at 0x1000: mm_mt at 0x40, ma_root at +8; brk and stack.
MM, NODE = 0x1000, 0x2000
u64(MM + 0x48, DM + NODE | 1 << 3 | 2)  # a maple_leaf_64 node, as mte_mk_root encodes it
u64(MM + 0x100, 0x1000000)              # start_brk
u64(MM + 0x108, 0x1021000)              # brk
u64(MM + 0x110, 0x7ffd00010000)         # start_stack
VMA_FILE, VMA_HEAP, VMA_STACK = 0x3000, 0x3100, 0x3200
ranges = [(0x400000, 0x401000, VMA_FILE), (0x1000000, 0x1021000, VMA_HEAP), (0x7ffd00000000, 0x7ffd00021000, VMA_STACK)]
# The leaf: parent, 15 pivots, 16 slots; gaps between the VMAs hold no entry.
slots, pivots = [], []
lo = 0
for start, end, vma in ranges:
    if start > lo:
        slots.append(0)
        pivots.append(start - 1)
    slots.append(DM + vma)
    pivots.append(end - 1)
    lo = end
for i, p in enumerate(pivots):
    u64(NODE + 8 + 8 * i, p)
for i, s in enumerate(slots):
    u64(NODE + 8 * 16 + 8 * i, s)
for start, end, vma in ranges:
    u64(vma + 0x0, start)
    u64(vma + 0x8, end)
    u64(vma + 0x10, DM + MM)
    u64(vma + 0x20, 0x75 if vma == VMA_FILE else 0x173)  # VM_READ|VM_EXEC|VM_MAY*, or rw
FILE, MOUNT, ROOT, DENTRY, INODE, SB = 0x3800, 0x4000, 0x5000, 0x5100, 0x5800, 0x5c00
u64(VMA_FILE + 0x38, DM + FILE)
u64(FILE + 0x10, DM + MOUNT + 0x20)  # f_path.mnt: the vfsmount inside the mount
u64(FILE + 0x18, DM + DENTRY)
u64(FILE + 0x20, DM + INODE)
u64(MOUNT + 0x20, DM + ROOT)         # mnt.mnt_root
u64(MOUNT + 0x10, DM + MOUNT)        # mnt_parent: itself, the namespace's root
u64(MOUNT + 0x18, DM + ROOT)
u64(MOUNT + 0x60, DM + SB + 0x20)    # mnt_instance, on the super_block's s_mounts
u64(ROOT + 0x18, DM + ROOT)
u32(ROOT + 0x24, 1)
u64(ROOT + 0x28, DM + ROOT + 0x80)
put(ROOT + 0x80, b"/")
BIN = 0x5200
u64(BIN + 0x18, DM + ROOT)
u32(BIN + 0x24, 3)
u64(BIN + 0x28, DM + BIN + 0x80)
put(BIN + 0x80, b"bin")
u64(DENTRY + 0x18, DM + BIN)
u32(DENTRY + 0x24, 8)
u64(DENTRY + 0x28, DM + DENTRY + 0x80)
put(DENTRY + 0x80, b"hello-mm")
u64(INODE + 0x28, DM + SB)
u64(INODE + 0x40, 4242)
u64(INODE + 0x60, DM + DENTRY + 0x40)  # i_dentry.first: the dentry's d_u.d_alias
u32(SB + 0x10, 0x800001)
u64(SB + 0x20, DM + MOUNT + 0x60)      # s_mounts.next
u64(0x30, DM + INODE)                  # the inode fuzz_structures walks by itself

# Modules: the head at 0x80 (TEXT + 0x80), two modules, newest first.
HEAD, MOD_A, MOD_B = 0x80, 0x6000, 0x6800
u64(HEAD, DM + MOD_A + 8)
for mod, nxt, name, code in ((MOD_A, DM + MOD_B + 8, b"fuzz_module", 0x7000), (MOD_B, TEXT + HEAD, b"other", 0x7800)):
    u32(mod + 0x0, 0)
    u64(mod + 0x8, nxt)
    put(mod + 0x18, name)
    u64(mod + 0x100, DM + code)
    u32(mod + 0x108, 0x800)
    ks, symtab, strtab = mod + 0x300, mod + 0x400, mod + 0x600
    u64(mod + 0x200, DM + ks)
    names = [b"", b"fuzz_symbol", b".LC0", b"helper"]
    strings, offs = b"", []
    for n in names:
        offs.append(len(strings))
        strings += n + b"\0"
    put(strtab, strings)
    put(strtab + len(strings), b"?tdt")
    for i, (n, o) in enumerate(zip(names, offs)):
        struct.pack_into("<IBBHQQ", mem, symtab + 24 * i, o, 0, 0, 1 if n else 0, DM + code + 0x40 * i if n else 0, 0)
    u64(ks + 0x0, DM + symtab)
    u32(ks + 0x8, len(names))
    u64(ks + 0x10, DM + strtab)
    u64(ks + 0x18, DM + strtab + len(strings))

# struct page of PFN 1 (vmemmap starts at 0x8000, 64 bytes each): a page cache page.
PAGE1 = 0x8000 + 64
u64(PAGE1 + 0x0, 1 << 2 | 1 << 4)    # uptodate, lru
u64(PAGE1 + 0x18, DM + INODE + 0x100)  # mapping: an address_space whose host (at 0) is the inode
u64(INODE + 0x100, DM + INODE)
u32(PAGE1 + 0x34, 2)
u32(PAGE1 + 0x30, 0)

with open(sys.argv[1], "wb") as f:
    f.write(mem)
