#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages the build and the tests need; does nothing
# when they are all present. Usage: install-deps.sh build|deb|test|all
set -euo pipefail
build_pkgs=(cmake ninja-build g++ make pkg-config libfmt-dev libcli11-dev nlohmann-json3-dev pybind11-dev python3-dev
            libexpected-dev libelf-dev libdw-dev libbpf-dev libkdumpfile-dev libgtest-dev libgmock-dev libbenchmark-dev
            zlib1g-dev liblzma-dev libzstd-dev libbz2-dev)  # the last four: the static (guest) build
deb_pkgs=(dpkg-dev)  # dpkg-shlibdeps, for the package's Depends
test_pkgs=(dpkg-dev lintian man-db zsh gcc-i686-linux-gnu libc6-dev-i386-cross gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm clang-14 libclang-rt-14-dev qemu-system-x86 busybox-static cpio python3 python3-jsonschema python3-pytest gzip)
case "${1:-all}" in
  build) want=("${build_pkgs[@]}") ;;
  deb) want=("${build_pkgs[@]}" "${deb_pkgs[@]}") ;;
  test|all) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|deb|test|all" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
