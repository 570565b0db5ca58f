"""pytest for `import pagewalk`: every answer of the Python module against the CLI's JSON
for the same question. The module is found in PAGEWALK_PYTHON_DIR (default build/python),
the CLI at PAGEWALK (default build/pagewalk)."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("PAGEWALK_PYTHON_DIR", os.path.join(REPO, "build", "python")))
sys.path.insert(0, os.path.join(REPO, "tests", "badinput"))
PAGEWALK = os.environ.get("PAGEWALK", os.path.join(REPO, "build", "pagewalk"))

# The CLI's hex strings, as the module's ints.
HEX = {"va", "pa", "pfn", "table", "entry_pa", "raw", "offset", "unreadable_pa", "task", "mm", "pgd_pa",
       "user_pgd_pa", "start", "end"}


def ints(x, key=None):
    if isinstance(x, dict):
        return {k: ints(v, k) for k, v in x.items()}
    if isinstance(x, list):
        return [ints(v) for v in x]
    if isinstance(x, str) and x.startswith("0x") and (key in HEX or key == "pgd"):
        return int(x, 16)
    return x


def cli(*args, ok=(0, 1)):
    r = subprocess.run([PAGEWALK, *args], capture_output=True, text=True, timeout=120)
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
