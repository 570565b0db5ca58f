#!/usr/bin/env bash
# The Debian package: `make deb` builds it; lintian must report no error; its Depends must
# name the shared libraries the binary links; unpacked into a scratch root (never installed
# on this machine) its CLI runs the demo, its man page reads with man -l, and its Python
# module imports from the package's own path with Debian's python3.
# Usage: tests/deb_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(make --no-print-directory deb | tail -n 1)
[ -f "$deb" ] || { echo "deb: make deb gave no package ($deb)" >&2; exit 1; }
lintian --fail-on error --tag-display-limit 0 "$deb" >"$deb.lintian" 2>&1 || {
  cat "$deb.lintian" >&2
  echo "deb: lintian reports errors" >&2
  exit 1
}
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libelf libdw libbpf libkdumpfile libfmt libc6 python3; do
  [[ "$depends" == *"$lib"* ]] || { echo "deb: Depends lacks $lib: $depends" >&2; exit 1; }
done
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
# Whole outputs first, then the match: under pipefail `cmd | grep -q` fails when grep stops
# at its first match and cmd dies of SIGPIPE on its next write.
demo=$("$root/usr/bin/pagewalk" demo) && grep -q "Hello mm paging!" <<<"$demo" ||
  { echo "deb: pagewalk demo from the package failed" >&2; exit 1; }
page=$(MANWIDTH=80 man -l "$root/usr/share/man/man1/pagewalk-translate.1.gz") && grep -q "kmod-walk" <<<"$page" ||
  { echo "deb: man -l pagewalk-translate.1.gz" >&2; exit 1; }
env -u PYTHONPATH PYTHONPATH="$root/usr/lib/python3/dist-packages" /usr/bin/python3 -c '
import sys, pagewalk
assert pagewalk.__file__.startswith(sys.argv[1]), pagewalk.__file__
assert "x86-64-4level" in pagewalk.modes()
' "$root"
[ -f "$root/usr/lib/x86_64-linux-gnu/cmake/pagewalk/pagewalkConfig.cmake" ] && [ -f "$root/usr/share/bash-completion/completions/pagewalk" ] ||
  { echo "deb: no CMake package or completion in the package" >&2; exit 1; }
warnings=$(grep -c '^W:' "$deb.lintian" || true)
echo "deb: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB; lintian: no errors, $warnings warnings; Depends: $depends"
