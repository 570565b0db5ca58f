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


def test_str_is_the_clis_trace(pagewalk):
    from test_pagewalk import cli_traces
    t = pagewalk.open(image=DUMP, pid=int(PID))
    for va in program_vas()[:5] + [0x0, 0x401000]:
        assert [str(x) for x in t.translate_all(va)] == cli_traces("translate", "--image", DUMP, "--pid", PID, hex(va))


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
    assert "0x401000 -> 0x" in out and "pages mapped" in out and " tasks" in out, out
    assert "writable user pages" in out and f"({PID}, '0x" in out and "/hello-mm kernel text" in out, out
    assert out.rstrip().endswith("True"), out


def program_pas(n=4):
    """The PAs of the program's first few mapped pages, from the CLI's translate."""
    vas = program_vas()[:n]
    return [r["pa"] for r in cli_lines("translate", "--image", DUMP, "--pid", PID, "--jsonl", *[hex(v) for v in vas])
            if r.get("status") == "mapped"]


def test_layout_and_kconv_equal_the_cli(pagewalk):
    from conftest import cli_doc
    t = pagewalk.open(image=DUMP, kernel=True)
    assert t.layout(addr="init_task") == cli_doc("layout", "--image", DUMP, "init_task")
    init_task = t.layout(addr="init_task")["address"]["va"]
    direct = t.layout()["bases"]["page_offset_base"]["value"]
    want = cli_doc("kconv", "--image", DUMP, "--virt", "init_task", "--virt", hex(direct + 0x100000), "--phys",
                   "0x1000", "--pfn", "0x100", "--page", hex(t.kconv(pfn=[0x200])["rows"][0]["page"]), "--size",
                   "0x2000")
    got = t.kconv(virt=["init_task", direct + 0x100000], phys=[0x1000], pfn=[0x100],
                  page=[t.kconv(pfn=[0x200])["rows"][0]["page"]], size=0x2000)
    assert got == want
    assert got["rows"][0]["va"] == init_task and all(r["agrees"] for r in got["rows"])


def test_maps_equal_the_cli(pagewalk):
    from conftest import cli_doc
    t = pagewalk.open(image=DUMP, kernel=True)
    assert t.maps(pid=int(PID)) == cli_doc("maps", "--image", DUMP, "--pid", PID)
    every = t.maps()
    assert every == cli_doc("maps", "--image", DUMP)
    assert int(PID) in [p["process"]["pid"] for p in every["processes"]]
    with pytest.raises(pagewalk.BadInput, match="no such process"):
        t.maps(pid=999999)


def test_ptov_equals_the_cli(pagewalk):
    from conftest import cli_doc
    t = pagewalk.open(image=DUMP, kernel=True)
    pas = program_pas()
    assert len(pas) >= 2
    got = t.ptov(pas)
    assert got == cli_doc("ptov", "--image", DUMP, "-", input="".join(f"{pa:#x}\n" for pa in pas))
    assert all(any(m.get("pid") == int(PID) for m in q["mappers"]) for q in got["queries"])
    assert t.ptov(pas[0], pid=int(PID)) == cli_doc("ptov", "--image", DUMP, "--pid", PID, hex(pas[0]))


def test_search_equals_the_cli(pagewalk):
    from conftest import cli_doc
    t = pagewalk.open(image=DUMP, kernel=True)
    got = t.search("Hello mm paging!")
    assert got == cli_doc("search", "--image", DUMP, "Hello mm paging!")
    assert any(m.get("pid") == int(PID) for h in got["hits"] for m in h["mappers"])
    assert t.search(b"Hello mm paging!", pid=int(PID)) == cli_doc("search", "--image", DUMP, "--pid", PID,
                                                                   "Hello mm paging!")
    assert t.search(b"Hello mm", vas=False, max_hits=2) == cli_doc("search", "--image", DUMP, "--no-vas",
                                                                    "--max-hits", "2", "Hello mm")


def test_page_and_modules_equal_the_cli(pagewalk):
    from conftest import cli_doc
    t = pagewalk.open(image=DUMP, kernel=True)
    for pa in program_pas():
        assert [t.page(phys=pa)] == cli_doc("page", "--image", DUMP, "--phys", hex(pa))["pages"]
        assert t.page(pfn=pa >> 12) == t.page(phys=pa)
    assert t.modules(symbols=True) == cli_doc("modules", "--image", DUMP, "--symbols")
    with pytest.raises(pagewalk.BadInput, match="above the image's frames"):
        t.page(pfn=1 << 40)
