#!/usr/bin/env bash
# The layers depend one way (docs/design-notes.md, "Layers"): each folder of src/ may
# include only its own headers and those of the layers below it. Also: core names no
# architecture (no x86 register, mode or flag outside comments). Exits 1 on a violation.
# Usage: scripts/check-layers.sh [SRC_DIR]
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}
declare -A allowed=(
  [core]="core"
  [arch]="core arch"
  [sources]="core arch sources kmod"  # kmod/: the module's protocol header, shared with the kernel
  [linux]="core arch sources linux"
  [live]="core live"
  [target]="core arch sources linux live target"
  [cli]="core arch sources linux live target cli"
)
bad=0
for layer in "${!allowed[@]}"; do
  [ -d "$src/$layer" ] || continue
  while IFS= read -r hit; do
    file=${hit%%:*}
    dep=$(sed -E 's/.*#include "([a-z_0-9]+)\/.*/\1/' <<<"$hit")
    if [[ " ${allowed[$layer]} " != *" $dep "* ]]; then
      echo "layer violation: ${file#"$src"/} ($layer) includes $dep/" >&2
      bad=1
    fi
  done < <(grep -rHE '^#include "[a-z_0-9]+/' "$src/$layer" || true)
done
# Core is architecture-neutral: strip // comments and string literals, then look for x86 words.
words='\b(x86|X86|kX86[A-Za-z0-9_]*|[Cc][Rr][034]|EFER|efer|NX|nx_enabled|pse_enabled|PML[45]|PDPTE?|has_nx|sign_extended|root_mask)\b'
while IFS= read -r f; do
  if hits=$(sed -E 's://.*$::; s/"([^"\\]|\\.)*"/""/g' "$f" | grep -nE "$words"); then
    while IFS= read -r h; do echo "core names an architecture: ${f#"$src"/}:$h" >&2; done <<<"$hits"
    bad=1
  fi
done < <(find "$src/core" -name '*.[ch]pp')
if [ "$bad" -ne 0 ]; then
  echo "layers: FAILED" >&2
  exit 1
fi
echo "layers: core, arch, sources, linux, live, target, cli depend one way; core names no architecture"
