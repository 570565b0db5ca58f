#!/bin/sh
# Fetch Debian's stock amd64 kernel image into OUTDIR without installing it.
#
# Usage: fetch-kernel.sh OUTDIR
#
# Resolves the concrete package behind the linux-image-amd64 metapackage,
# downloads it with `apt-get download` and unpacks it with `dpkg-deb -x`.
# The host's /boot and bootloader are never touched.  OUTDIR/vmlinuz is a
# copy of the kernel image and OUTDIR/VERSION records "package version".
# OUTDIR/modules/ holds qemu_fw_cfg.ko, zram.ko and the modules they depend on
# (decompressed), and OUTDIR/modules/ORDER the order to insmod them: Debian
# builds the fw_cfg driver as a module (CONFIG_FW_CFG_SYSFS=m), and only that
# driver hands the guest's VMCOREINFO to QEMU's -device vmcoreinfo; zram gives
# the guest a swap device to page the test program's page out to.
# If all of these already exist nothing is done.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
outdir=$1
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

if [ -s "$outdir/vmlinuz" ] && [ -s "$outdir/VERSION" ] && grep -qx zram.ko "$outdir/modules/ORDER" 2>/dev/null; then
    echo "kernel already present: $(cat "$outdir/VERSION")"
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb python3; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "error: $tool not found (a Debian-based host is required)" >&2
        exit 1
    }
done

# linux-image-amd64 depends on exactly one linux-image-<abi>-amd64 package.
resolve() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-amd64\).*$/\1/p' | head -n 1
}
pkg=$(resolve)
if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
    # Fresh machines may have no package lists yet.
    apt-get update -qq >&2 || true
    pkg=$(resolve)
fi
if [ -z "$pkg" ]; then
    echo "error: cannot resolve linux-image-amd64 (run apt-get update?)" >&2
    exit 1
fi
ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: *//p' | head -n 1)
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    echo "error: no candidate version for $pkg" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
echo "downloading $pkg=$ver"
# apt-get download writes into the current directory; run it unprivileged
# inside the temp dir when possible (the _apt user needs write access).
chmod 777 "$work"
(cd "$work" && apt-get download -q "$pkg=$ver") >&2
deb=$(ls "$work"/*.deb | head -n 1)
mkdir -p "$work/root"
dpkg-deb -x "$deb" "$work/root"

img=$(ls "$work"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
if [ -z "$img" ]; then
    echo "error: no /boot/vmlinuz-* inside $deb" >&2
    exit 1
fi
# qemu_fw_cfg and its dependencies, decompressed, with their insmod order.
rm -rf "$outdir/modules.tmp"
python3 "$(dirname "$0")/kmodules.py" "$work/root/lib/modules" "$outdir/modules.tmp" qemu_fw_cfg zram
rm -rf "$outdir/modules"
mv "$outdir/modules.tmp" "$outdir/modules"
rm -rf "$outdir/boot"
cp -a "$work/root/boot" "$outdir/boot"
cp "$img" "$outdir/vmlinuz.tmp"
mv "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
echo "$pkg $ver" > "$outdir/VERSION"
echo "kernel ready: $pkg $ver -> $outdir/vmlinuz"
