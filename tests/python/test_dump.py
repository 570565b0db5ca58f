"""The Python module against the CLI on a real dump of Debian's kernel (the e2e suite runs
this with PAGEWALK_DUMP=dump.elf and PAGEWALK_DUMP_PID=<the test program's pid>; skipped
without them): the task list, a process's walks, the kernel's, reads, translate_many."""
import array
import os

import pytest

from conftest import cli, cli_lines, ints

DUMP = os.environ.get("PAGEWALK_DUMP")
PID = os.environ.get("PAGEWALK_DUMP_PID")
pytestmark = pytest.mark.skipif(not DUMP or not PID, reason="needs PAGEWALK_DUMP and PAGEWALK_DUMP_PID")


def program_vas():
    """Every 4 KiB page of the program's leaves (at most 2,000), from the CLI's map."""
    vas = []
    for rec in cli_lines("map", "--image", DUMP, "--pid", PID, "--pages", "--jsonl"):
        if rec.get("kind") == "mapped":
            start, end = rec["start"], rec["end"]
            vas += list(range(start + 0x123, min(end, start + 0x10000), 0x1000))
    return vas[:2000]


def test_ps_equals_the_cli(pagewalk):
    import json
    doc = json.loads(cli("ps", "--image", DUMP, "--json").stdout)
    t = pagewalk.open(image=DUMP, kernel=True)
    assert t.ps() == [ints(task) for task in doc["tasks"]]


def test_a_process_equals_the_cli(pagewalk):
    t = pagewalk.open(image=DUMP, pid=int(PID))
    vas = program_vas()
    assert len(vas) > 20
    want = cli_lines("translate", "--image", DUMP, "--pid", PID, "--jsonl", *[hex(v) for v in vas])
    got = [d.to_dict() for va in vas for d in t.translate_all(va)]
    assert got == want
    for half in t.pgds:
        b = t.translate_many(array.array("Q", vas), pgd=half or None)
        assert [b.pa[i] for i in range(len(vas))] == [t.translate(v, pgd=half or None).pa or 0 for v in vas]


def test_a_process_map_equals_the_cli(pagewalk):
    t = pagewalk.open(image=DUMP, pid=int(PID))
    for options, kw in (([], {}), (["--pages"], {"pages": True}), (["--with-kernel"], {"with_kernel": True})):
        want = cli_lines("map", "--image", DUMP, "--pid", PID, "--jsonl", *options)
        got = list(t.map(**kw))
        assert got == want, options
        assert any("region" in r for r in got)


def test_the_kernel_equals_the_cli(pagewalk):
    t = pagewalk.open(image=DUMP, kernel=True)
    syms = ["init_task", "init_top_pgt", "jiffies_64", "_text"]
    want = cli_lines("translate", "--image", DUMP, "--kernel", "--jsonl", *syms)
    vas = [w["va"] for w in want]
    assert [t.translate(v).to_dict() for v in vas] == want
    assert all(w.get("symbol") for w in want)


def test_reads_equal_the_cli(pagewalk, tmp_path):
    t = pagewalk.open(image=DUMP, pid=int(PID))
    va = program_vas()[0] & ~0xfff
    out = tmp_path / "page.bin"
    cli("read", "--image", DUMP, "--pid", PID, "--pti", "kernel", "--raw", str(out), "-n", "4096", hex(va)) \
        if len(t.pgds) > 1 else cli("read", "--image", DUMP, "--pid", PID, "--raw", str(out), "-n", "4096", hex(va))
    assert t.read(va, 4096) == out.read_bytes()


def test_the_readme_example_runs(capsys):
    """README.md's "Use it from Python", on this dump and the test program's pid."""
    import re
    from conftest import REPO
    readme = open(os.path.join(REPO, "README.md")).read()
    code = re.search(r"## Use it from Python.*?```python\n(.*?)```", readme, re.S).group(1)
    code = code.replace('"dump.elf"', repr(DUMP)).replace("pid=117", f"pid={PID}")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "<Translation 0x401000 mapped" in out and "pages mapped" in out and " tasks" in out, out
