"""pytest for `import pagewalk`: every answer of the Python module against the CLI's JSON
for the same question. The module is found in PAGEWALK_PYTHON_DIR (default build/python),
the CLI at PAGEWALK (default build/pagewalk)."""
import json
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("PAGEWALK_PYTHON_DIR", os.path.join(REPO, "build", "python")))
sys.path.insert(0, os.path.join(REPO, "tests", "badinput"))
PAGEWALK = os.environ.get("PAGEWALK", os.path.join(REPO, "build", "pagewalk"))

# The CLI's hex strings ("0x1f", "0x10000000000000000"), as the module's ints; free text
# (names, paths, notes) stays as it is.
HEX = re.compile(r"0x[0-9a-f]+")
TEXT = {"comm", "path", "name", "note", "symbol", "problem", "reason", "description", "file", "source", "rule"}


def ints(x, key=None):
    if isinstance(x, dict):
        return {k: ints(v, k) for k, v in x.items()}
    if isinstance(x, list):
        return [ints(v, key) for v in x]
    if isinstance(x, str) and key not in TEXT and HEX.fullmatch(x):
        return int(x, 16)
    return x


def cli(*args, ok=(0, 1), input=None):
    r = subprocess.run([PAGEWALK, *args], capture_output=True, text=True, timeout=120, input=input)
    if r.returncode not in ok:
        raise AssertionError(f"pagewalk {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r


def cli_lines(*args):
    out = []
    for line in cli(*args).stdout.splitlines():
        rec = json.loads(line)
        rec.pop("schema_version")
        rec.pop("command")
        out.append(ints(rec))
    return out


def cli_doc(*args, ok=(0, 1), input=None):
    """The CLI's --json document with numbers as ints, less what names the run (schema
    version, command, target)."""
    doc = json.loads(cli(*args, "--json", ok=ok, input=input).stdout)
    for k in ("schema_version", "command", "target"):
        doc.pop(k, None)
    return ints(doc)


@pytest.fixture(scope="session")
def pagewalk():
    import pagewalk as module
    return module


@pytest.fixture(scope="session")
def core(tmp_path_factory):
    """The bad-input corpus's small Linux x86-64 ELF core (QEMU CPU note, VMCOREINFO, the
    direct map and the kernel image in 2 MiB pages)."""
    import run_badinput
    path = tmp_path_factory.mktemp("core") / "core.elf"
    path.write_bytes(run_badinput.base_core())
    return str(path)
