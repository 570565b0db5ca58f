#!/usr/bin/env bash
# The layer check passes on the tree and fails on a copy of it broken in two ways: core
# including arch/, and core naming an x86 mode in code.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/check-layers.sh" "$root/src" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/src" "$tmp/src"
sed -i '1a #include "arch/x86/x86_entry.hpp"' "$tmp/src/core/walk.cpp"
if "$root/scripts/check-layers.sh" "$tmp/src" 2>/dev/null; then echo "an include of arch/ from core passed" >&2; exit 1; fi
cp "$root/src/core/walk.cpp" "$tmp/src/core/walk.cpp"
echo 'inline const void* probe = &kX86Pae;' >> "$tmp/src/core/entry.hpp"
if "$root/scripts/check-layers.sh" "$tmp/src" 2>/dev/null; then echo "an x86 mode named in core passed" >&2; exit 1; fi
echo "layer check: passes on the tree, fails on both broken copies"
