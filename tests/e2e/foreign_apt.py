#!/usr/bin/env python3
"""Debian packages of another architecture (i386, arm64), fetched with `apt-get download`
against a private apt state under the e2e cache: the host's Debian sources, the foreign
architecture alone, its own lists and status. The host's architecture list and apt
configuration are never changed.

    root = private_apt(cache, "arm64")
    pkg = depends_of(root, "linux-image-arm64")          # linux-image-6.1.0-NN-arm64
    download_and_unpack(root, [pkg, "busybox-static"], out)   # out/<package>/...
"""
import functools
import glob
import os
import shutil
import subprocess
import tempfile


class FetchError(RuntimeError):
    pass


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def apt_options(root, arch):
    return ["-o", f"Dir::Etc={root}/etc", "-o", "Dir::Etc::SourceList=/dev/null",
            "-o", f"Dir::Etc::SourceParts={root}/etc/sources.list.d", "-o", f"Dir::Etc::Parts={root}/etc/apt.conf.d",
            "-o", f"Dir::Etc::Preferences={root}/etc/preferences", "-o", f"Dir::Etc::PreferencesParts={root}/etc/preferences.d",
            "-o", f"Dir::State={root}/state", "-o", f"Dir::State::status={root}/state/status",
            "-o", f"Dir::Cache={root}/cache", "-o", f"APT::Architecture={arch}", "-o", f"APT::Architectures::={arch}",
            "-o", "Dir::Etc::Trusted=/etc/apt/trusted.gpg", "-o", "Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root"]


@functools.lru_cache(maxsize=None)
def private_apt(cache, arch):
    """A private apt state for `arch` with the host's Debian sources, its lists fresh."""
    root = os.path.join(cache, f"apt-{arch}")
    for d in ("etc/sources.list.d", "etc/apt.conf.d", "etc/preferences.d", "state/lists/partial",
              "cache/archives/partial"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    open(os.path.join(root, "state/status"), "a").close()
    sources = [f for f in glob.glob("/etc/apt/sources.list.d/*") if f.endswith((".sources", ".list"))]
    if os.path.isfile("/etc/apt/sources.list"):
        sources.append("/etc/apt/sources.list")
    for src in sources:
        shutil.copy(src, os.path.join(root, "etc/sources.list.d", os.path.basename(src).replace("sources.list", "host.list")))
    r = _run(["apt-get", *apt_options(root, arch), "update", "-qq"], timeout=600)
    if r.returncode != 0:
        raise FetchError(f"apt-get update (private {arch} state) failed: " + r.stderr[-400:])
    return root


def arch_of(root):
    """The architecture a private state was made for (its directory's name)."""
    return os.path.basename(root).removeprefix("apt-")


def depends_of(root, meta):
    """The linux-image-RELEASE-FLAVOUR package a metapackage depends on."""
    r = _run(["apt-cache", *apt_options(root, arch_of(root)), "depends", meta], timeout=120)
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1]
    raise FetchError(f"cannot resolve {meta} for {arch_of(root)}: {r.stdout[-300:]} {r.stderr[-300:]}")


def download_and_unpack(root, packages, out):
    """Each package downloaded and unpacked as out/<package name>/."""
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        r = _run(["apt-get", *apt_options(root, arch_of(root)), "download", *packages], cwd=tmp, timeout=900)
        if r.returncode != 0:
            raise FetchError("apt-get download failed: " + r.stderr[-400:])
        for deb in glob.glob(os.path.join(tmp, "*.deb")):
            name = os.path.basename(deb).split("_")[0]
            dest = os.path.join(out, name)
            shutil.rmtree(dest, ignore_errors=True)
            if _run(["dpkg-deb", "-x", deb, dest], timeout=300).returncode != 0:
                raise FetchError(f"dpkg-deb -x {deb} failed")


def download_member(root, package, member, dest):
    """One file of a package, alone (a -dbg package's vmlinux, without its GiBs of module
    debug information); `member` as the package's data tar names it ("./usr/...")."""
    with tempfile.TemporaryDirectory(dir=os.path.dirname(dest)) as tmp:
        r = _run(["apt-get", *apt_options(root, arch_of(root)), "download", package], cwd=tmp, timeout=1800)
        debs = glob.glob(os.path.join(tmp, "*.deb"))
        if r.returncode != 0 or not debs:
            raise FetchError(f"apt-get download {package} failed: " + r.stderr[-400:])
        # tar stops at the first match, so dpkg-deb may die of SIGPIPE: judge by the file.
        subprocess.run(f"dpkg-deb --fsys-tarfile '{debs[0]}' | tar -x --occurrence=1 -C '{tmp}' '{member}'",
                       shell=True, capture_output=True, timeout=900)
        got = os.path.join(tmp, member)
        if not os.path.isfile(got):
            raise FetchError(f"{os.path.basename(debs[0])} holds no {member}")
        shutil.move(got, dest)
    return dest
