#!/usr/bin/env python3
"""Man pages and bash and zsh completion generated from the CLI's own --help, so that they cannot
drift from it: pagewalk(1), pagewalk-COMMAND(1) for every command, and bash and zsh
completion scripts that offer the commands, each command's options, and file names after an
option that takes a value.

Usage: make_docs.py PAGEWALK OUTDIR
       (writes OUTDIR/man/*.1, *.1.gz, OUTDIR/pagewalk.bash and OUTDIR/_pagewalk)"""
import gzip
import os
import re
import subprocess
import sys

EXIT_STATUS = [
    ("0", "everything answered, everything mapped"),
    ("1", "answered, but some address is not mapped (or a map is incomplete)"),
    ("2", "bad usage or a bad input value"),
    ("3", "the target cannot be opened or read, or the output cannot be written"),
    ("4", "translate --kmod --kmod-walk: the kernel's walk and pagewalk's disagree"),
]


def run_help(pagewalk, *args):
    return subprocess.run([pagewalk, *args, "--help"], capture_output=True, text=True, check=True).stdout


def parse(text):
    """{description, usage, positionals, options: [(names, value, description)], examples, commands}"""
    lines = text.splitlines()
    out = {"description": lines[0].strip() if lines else "", "usage": "", "positionals": [], "options": [],
           "examples": [], "commands": []}
    section = None
    for i, line in enumerate(lines):
        if line.startswith("Usage: "):
            out["usage"] = line[len("Usage: "):]
            continue
        if line and not line.startswith(" "):
            section = line.rstrip(":")
            continue
        if not line.strip():
            continue
        body = line.strip()
        if section == "Subcommands":
            m = re.match(r"(\S+(?:, \S+)*)\s{2,}(.*)", body)
            if m:
                out["commands"].append(([n.strip() for n in m.group(1).split(",")], m.group(2)))
        elif section == "Options" and line.startswith("  -"):
            m = re.match(r"(\S+)(?: ([A-Z][^ ]*)(?: \.\.\.)?)?(?: Excludes: [^ ]+(?: [^ ]+)*?)?(?:\s{2,}(.*))?$", body)
            if not m:
                continue
            desc = m.group(3)
            if desc is None and i + 1 < len(lines) and lines[i + 1].startswith("      "):
                desc = lines[i + 1].strip()
            value = m.group(2)
            if value and "=" in value:
                value = value.split("=")[0]
            out["options"].append((m.group(1).split(","), value, desc or ""))
        elif section == "Positionals":
            m = re.match(r"(\S+) (.+?)\s{2,}(.*)", body)
            if m:
                out["positionals"].append((m.group(1), m.group(3)))
        elif section == "Examples":
            out["examples"].append(body)
    return out


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text)


def man_page(name, title, doc, version, see_also, extra="", command=None):
    """`name` is the page's (NAME, as whatis reads it); `command` what one types."""
    command = command or name
    page = [f'.TH {title.upper()} 1 "" "pagewalk {version}" "User Commands"', ".SH NAME",
            f"{roff(name)} \\- {roff(doc['description'])}", ".SH SYNOPSIS", f".B {roff(command)}",
            roff(doc["usage"][len(command):].strip() if doc["usage"].startswith(command) else doc["usage"]),
            ".SH DESCRIPTION",
            roff(doc["description"][:1].upper() + doc["description"][1:]) + "."]
    if doc["positionals"]:
        page.append(".SH ARGUMENTS")
        for arg, desc in doc["positionals"]:
            page += [".TP", f".I {roff(arg)}", roff(desc)]
    if doc["options"]:
        page.append(".SH OPTIONS")
        for names, value, desc in doc["options"]:
            head = ", ".join(f"\\fB{roff(n)}\\fR" for n in names) + (f" \\fI{roff(value)}\\fR" if value else "")
            page += [".TP", head, roff(desc)]
    page.append(extra)
    if doc["examples"]:
        page += [".SH EXAMPLES", ".nf"] + [roff(e) for e in doc["examples"]] + [".fi"]
    page += [".SH SEE ALSO", ", ".join(f"\\fB{roff(s)}\\fR(1)" for s in see_also)]
    return "\n".join(p for p in page if p) + "\n"


def completion(commands, options_of):
    cases = []
    for names, _ in commands:
        opts = " ".join(n for names_, value, _ in options_of[names[0]] for n in names_)
        takes = " ".join(n for names_, value, _ in options_of[names[0]] if value for n in names_)
        cases.append(f'    {"|".join(names)}) opts="{opts}"; takes="{takes}" ;;')
    words = " ".join(n for names, _ in commands for n in names)
    return f"""# bash completion for pagewalk, generated from its --help (packaging/make_docs.py).
_pagewalk() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} cmd="" i opts="" takes=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${{COMP_WORDS[i]}} in -*) ;; *) cmd=${{COMP_WORDS[i]}}; break ;; esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "{words} --help --version" -- "$cur"))
    return
  fi
  case $cmd in
{chr(10).join(cases)}
  esac
  # After an option that takes a value: file names (images, symbol and BTF files, stdin -).
  if [ -n "$prev" ] && [[ " $takes " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
complete -o filenames -F _pagewalk pagewalk
"""


def zsh_quote(text):
    """A description inside a zsh _arguments spec's [...] or a _describe item: no brackets,
    colons or quotes left to end it early."""
    return text.replace("\\", "").replace("'", "").replace("[", "(").replace("]", ")").replace(":", " -")


def zsh_completion(commands, options_of):
    cases = []
    for names, _ in commands:
        specs = []
        for names_, value, desc in options_of[names[0]]:
            group = "(" + " ".join(names_) + ")" if len(names_) > 1 else ""
            for n in names_:
                # "TEXT:{auto,elf}" names the value and its choices: the name alone here.
                arg = f":{re.sub(r'[^a-z0-9_]', '', value.split(':')[0].lower())}:_files" if value else ""
                specs.append(f"'{group}{n}[{zsh_quote(desc)}]{arg}'")
        cases.append(f"    {'|'.join(names)}) opts=({' '.join(specs)}) ;;")
    items = " ".join(f"'{n}:{zsh_quote(desc)}'" for names, desc in commands for n in names)
    return f"""#compdef pagewalk
# zsh completion for pagewalk, generated from its --help (packaging/make_docs.py).
_pagewalk() {{
  local cmd="" i
  local -a opts
  for ((i = 2; i < CURRENT; i++)); do
    case ${{words[i]}} in -*) ;; *) cmd=${{words[i]}}; break ;; esac
  done
  if [[ -z $cmd ]]; then
    local -a commands=({items})
    _describe command commands
    return
  fi
  case $cmd in
{chr(10).join(cases)}
  esac
  _arguments -s $opts '*:file:_files'
}}
_pagewalk "$@"
"""


def main():
    pagewalk, outdir = sys.argv[1], sys.argv[2]
    version = subprocess.run([pagewalk, "--version"], capture_output=True, text=True).stdout.split()[-1]
    top = parse(run_help(pagewalk))
    top["description"] = top["description"].removeprefix("pagewalk: ")
    os.makedirs(os.path.join(outdir, "man"), exist_ok=True)
    options_of = {}
    for names, desc in top["commands"]:
        doc = parse(run_help(pagewalk, names[0]))
        options_of[names[0]] = doc["options"]
        extra = f".SH ALIASES\n{roff(', '.join(names[1:]))}" if len(names) > 1 else ""
        with open(os.path.join(outdir, "man", f"pagewalk-{names[0]}.1"), "w") as f:
            f.write(man_page(f"pagewalk-{names[0]}", f"pagewalk-{names[0]}", doc, version, ["pagewalk"], extra,
                             f"pagewalk {names[0]}"))
    commands = ".SH COMMANDS\n" + "\n".join(
        f".TP\n\\fB{roff(names[0])}\\fR{(' (' + roff(', '.join(names[1:])) + ')') if len(names) > 1 else ''}\n"
        f"{roff(desc)}; see \\fBpagewalk\\-{roff(names[0])}\\fR(1)." for names, desc in top["commands"])
    status = ".SH EXIT STATUS\n" + "\n".join(f".TP\n{code}\n{roff(what)}" for code, what in EXIT_STATUS)
    with open(os.path.join(outdir, "man", "pagewalk.1"), "w") as f:
        f.write(man_page("pagewalk", "pagewalk", top, version, [f"pagewalk-{n[0]}" for n, _ in top["commands"]],
                         commands + "\n" + status))
    with open(os.path.join(outdir, "pagewalk.bash"), "w") as f:
        f.write(completion(top["commands"], options_of))
    with open(os.path.join(outdir, "_pagewalk"), "w") as f:
        f.write(zsh_completion(top["commands"], options_of))
    # Installed compressed, as Debian's policy wants them (mtime 0: the same bytes each build).
    for name in os.listdir(os.path.join(outdir, "man")):
        if name.endswith(".1"):
            path = os.path.join(outdir, "man", name)
            with open(path, "rb") as f, open(path + ".gz", "wb") as out:
                out.write(gzip.compress(f.read(), 9, mtime=0))


if __name__ == "__main__":
    main()
