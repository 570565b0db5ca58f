#!/usr/bin/env bash
# Installs the build into a scratch prefix (cmake --install) and uses it as a user would:
# the installed CLI, a CMake project with find_package(pagewalk) (tests/consumer), the same
# program built with pkg-config, and `import pagewalk` from the installed Python path, each
# answer compared with the CLI's for the same question.
# Usage: tests/install_test.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
"$prefix/bin/pagewalk" demo >/dev/null
python3 -c "import sys; sys.path.insert(0, 'tests/badinput'); import run_badinput as r; open('$work/core.elf', 'wb').write(r.base_core())"
vas=(ffffffff81000042 ffff888000001234 0)
# Exit status 1: answered, some address not mapped (0x0).
"$prefix/bin/pagewalk" translate --image "$work/core.elf" --output tsv --no-header "${vas[@]}" >"$work/want.tsv" ||
  [ $? -eq 1 ]
want=$(cut -f1,3 "$work/want.tsv")

# find_package(pagewalk)
cmake -S tests/consumer -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
got=$("$work/consumer/consumer" "$work/core.elf" "${vas[@]}")
# pkg-config
libdir=$(dirname "$(find "$prefix" -name pagewalk.pc)")
PKG_CONFIG_PATH=$libdir g++ -O1 -o "$work/pc-consumer" tests/consumer/main.cpp \
  $(PKG_CONFIG_PATH=$libdir pkg-config --cflags --libs pagewalk)
got_pc=$("$work/pc-consumer" "$work/core.elf" "${vas[@]}")
[ "$got" = "$got_pc" ] || { printf 'install: the pkg-config build answers differently:\n%s\n' "$got_pc" >&2; exit 1; }
# The consumer prints "VA -> PA" or "VA: status"; the CLI's table gives va and pa columns.
while IFS=$'\t' read -r va pa; do
  line=$(grep -m1 "^$va" <<<"$got" || true)
  if [ -n "$pa" ]; then
    [ "$line" = "$va -> $pa" ] || { echo "install: consumer says '$line', the CLI $va -> $pa" >&2; exit 1; }
  else
    [[ "$line" == "$va: "* ]] || { echo "install: consumer says '$line', the CLI: not mapped" >&2; exit 1; }
  fi
done <<<"$want"
# The Python module where the installed tree puts it, with Debian's python3.
pydir=$(dirname "$(find "$prefix" -name 'pagewalk.cpython-*.so')")
[ -f "$pydir/pagewalk.pyi" ] || { echo "install: no pagewalk.pyi beside the module" >&2; exit 1; }
env -u PYTHONPATH PYTHONPATH="$pydir" /usr/bin/python3 - "$work/core.elf" "$pydir" <<'PY'
import sys
import pagewalk
assert pagewalk.__file__.startswith(sys.argv[2]), pagewalk.__file__
t = pagewalk.open(image=sys.argv[1])
assert t.translate(0xffffffff81000042).pa == 0x400042
PY
# Man pages: one per command of `pagewalk --help`, each naming every option its --help lists;
# bash completion offers the commands and a command's options.
man1=$(dirname "$(find "$prefix" -name pagewalk.1.gz)")
commands=$("$prefix/bin/pagewalk" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF {sub(",", "", $1); print $1}')
for c in $commands; do
  page=$(MANWIDTH=200 man -l "$man1/pagewalk-$c.1.gz" | sed 's/\x08.//g') || { echo "install: man -l pagewalk-$c.1.gz failed" >&2; exit 1; }
  grep -q "^NAME" <<<"$page" || { echo "install: man -l pagewalk-$c.1.gz shows no NAME" >&2; exit 1; }
  for opt in $("$prefix/bin/pagewalk" "$c" --help | grep -oE '^  (-[a-z],)?--[a-z0-9-]+' | sed 's/.*--/--/'); do
    grep -q -- "$opt" <<<"$page" || { echo "install: pagewalk-$c(1) lacks $opt of its --help" >&2; exit 1; }
  done
done
page=$(MANWIDTH=80 man -l "$man1/pagewalk.1.gz")  # whole, then grep (no SIGPIPE race under pipefail)
grep -q "EXIT STATUS" <<<"$page" || { echo "install: pagewalk(1) has no EXIT STATUS" >&2; exit 1; }
completion=$(find "$prefix" -path '*bash-completion/completions/pagewalk')
got=$(bash -c 'source "$1"; COMP_WORDS=(pagewalk tra); COMP_CWORD=1; _pagewalk; echo "${COMPREPLY[*]}";
               COMP_WORDS=(pagewalk translate --kmod-w); COMP_CWORD=2; _pagewalk; echo "${COMPREPLY[*]}"' _ "$completion")
[ "$got" = $'translate\n--kmod-walk' ] || { echo "install: bash completion gave '$got'" >&2; exit 1; }
# zsh completion: the script parses, and with zsh's completion functions stubbed to print what
# they are given it offers the commands, then a command's options.
zcomp=$(find "$prefix" -path '*zsh/vendor-completions/_pagewalk')
zsh -n "$zcomp" || { echo "install: zsh completion does not parse" >&2; exit 1; }
zoffer() {
  zsh -fc 'words=(${=1}); CURRENT=$2; _describe() { print -rl -- "${(@P)2}" }; _arguments() { print -rl -- "$@" }
           source "$3"' _ "$1" "$2" "$zcomp"
}
got=$(zoffer "pagewalk tra" 2)
grep -q '^translate:translate virtual addresses' <<<"$got" || { echo "install: zsh offered no translate: $got" >&2; exit 1; }
got=$(zoffer "pagewalk translate --kmod-w" 3)
grep -q '^--kmod-walk\[' <<<"$got" && grep -q '^--image\[.*\]:text:_files$' <<<"$got" ||
  { echo "install: zsh offered no translate options: $got" >&2; exit 1; }

# The README's C++ example is this very program.
python3 - <<'PY'
import re
readme = open("README.md").read()
blocks = re.findall(r"```cpp\n(.*?)```", readme, re.S)
if open("tests/consumer/main.cpp").read() not in blocks:
    raise SystemExit("install: README.md's C++ example is not tests/consumer/main.cpp")
PY
echo "install: CLI, find_package(pagewalk), pkg-config and the Python module from $(basename "$prefix")/ agree with" \
  "the CLI; $(echo $commands | wc -w) man pages follow --help; bash and zsh completion work"
