#!/usr/bin/env python3
"""Kernel modules and the modules they depend on, from an unpacked linux-image package's
lib/modules tree, decompressed and in insmod order (each module's .modinfo "depends="
string: the package ships no modules.dep, depmod writes it on installation).

Usage: kmodules.py LIB_MODULES_DIR OUT_DIR MODULE...   (writes OUT_DIR/*.ko and OUT_DIR/ORDER)
"""
import lzma
import os
import re
import sys


class ModuleError(RuntimeError):
    pass


def collect(root, out, *wants):
    """Write `wants` and their dependencies as OUT/NAME.ko and their load order as OUT/ORDER."""
    paths = {}
    for d, _, files in os.walk(root):
        for f in files:
            m = re.match(r"(.+)\.ko(\.xz)?$", f)
            if m:
                paths[m.group(1).replace("-", "_")] = os.path.join(d, f)

    def load(name):
        p = paths.get(name.replace("-", "_"))
        if p is None:
            raise ModuleError(f"module {name} not in {root}")
        data = open(p, "rb").read()
        return lzma.decompress(data) if p.endswith(".xz") else data

    os.makedirs(out, exist_ok=True)
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        data = load(name)
        m = re.search(rb"(?:^|\0)depends=([^\0]*)", data)
        for dep in (m.group(1).decode().split(",") if m and m.group(1) else []):
            visit(dep)
        with open(os.path.join(out, name + ".ko"), "wb") as f:
            f.write(data)
        order.append(name + ".ko")
    for want in wants:
        visit(want)
    with open(os.path.join(out, "ORDER"), "w") as f:
        f.write("\n".join(order) + "\n")
    return order


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    try:
        collect(*sys.argv[1:])
    except ModuleError as e:
        sys.exit(f"error: {e}")
