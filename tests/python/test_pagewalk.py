"""The Python module against the CLI on the corpus's small Linux core: the same question
gives the same answer, errors are the CLI's messages, translate_many equals one by one."""
import array
import random

import pytest

from conftest import cli, cli_doc, cli_lines

import run_badinput as core_layout

# Mapped (the direct map, the kernel image), empty, non-canonical, and past the image's RAM.
VAS = [core_layout.PAGE_OFFSET + 0x1234, core_layout.PAGE_OFFSET + 0x200000 + 0x10, core_layout.TEXT + 0x42,
       core_layout.PGD_VA, 0x0, 0x400000, 0x0000800000000000, 0xffffffffff600000,
       core_layout.PAGE_OFFSET + 0x40000000]


def test_translate_equals_the_cli(pagewalk, core):
    t = pagewalk.open(image=core, cpu=0)
    want = cli_lines("translate", "--image", core, "--cpu", "0", "--jsonl", *[hex(v) for v in VAS])
    assert len(want) == len(VAS)
    for va, rec in zip(VAS, want):
        assert t.translate(va).to_dict() == rec, hex(va)


def test_kernel_tables_and_symbols_equal_the_cli(pagewalk, core):
    t = pagewalk.open(image=core, kernel=True)
    want = cli_lines("translate", "--image", core, "--kernel", "--jsonl", *[hex(v) for v in VAS])
    assert [t.translate(va).to_dict() for va in VAS] == want
    assert t.mode == "x86-64-4level" and t.root == core_layout.PGD_PA


@pytest.mark.parametrize("options", [[], ["--pages"], ["--holes"], ["--from", "0xffff888000000000", "--to",
                                                                   "0xffff888000a00000", "--pages"]])
def test_map_equals_the_cli(pagewalk, core, options):
    t = pagewalk.open(image=core, kernel=True)
    want = cli_lines("map", "--image", core, "--kernel", "--jsonl", *options)
    kw = {"pages": "--pages" in options, "holes": "--holes" in options}
    if "--from" in options:
        kw.update(from_=int(options[1], 16), to=int(options[3], 16))
    got = list(t.map(**kw))
    assert got == want and len(got) > 0


def cli_traces(*args):
    """The CLI's human answer for one VA: each PGD's trace, its '#' header lines left out."""
    blocks = cli(*args).stdout.split("\n\n")
    return ["".join(line + "\n" for line in b.splitlines() if not line.startswith("#")) for b in blocks]


def test_str_is_the_clis_trace(pagewalk, core):
    t = pagewalk.open(image=core, cpu=0)
    for va in VAS:
        assert [str(t.translate(va))] == cli_traces("translate", "--image", core, "--cpu", "0", hex(va)), hex(va)
    assert repr(t.translate(VAS[0])).startswith("<Translation 0x")


def test_translation_members(pagewalk, core):
    t = pagewalk.open(image=core, cpu=0)
    r = t.translate(core_layout.TEXT + 0x42)
    assert r.mapped and r.status == "mapped"
    assert r.pa == core_layout.TEXT_PA + 0x42 and r.pfn == r.pa >> 12 and r.page_size == 0x200000
    assert [s.level for s in r.steps] == ["pgd", "pud", "pmd"]
    assert r.steps[0].table == core_layout.PGD_PA and "PS" in r.steps[-1].flags
    assert r.access["kernel"].startswith("r")
    miss = t.translate(0x0000800000000000)
    assert not miss.mapped and miss.status == "non-canonical" and "no region" in miss.reason


def test_translate_many_equals_one_by_one(pagewalk, core):
    t = pagewalk.open(image=core, cpu=0)
    rng = random.Random(7)
    vas = VAS + [core_layout.PAGE_OFFSET + rng.randrange(0, 16 << 20) for _ in range(500)]
    for given in (array.array("Q", vas), vas, iter(vas)):
        b = t.translate_many(given)
        assert len(b) == len(vas)
        for i, va in enumerate(vas):
            one = t.translate(va)
            assert b.va[i] == va
            assert b.status_names[b.status[i]] == one.status
            assert b.pa[i] == (one.pa or 0) and b.page_size[i] == (one.page_size or 0)
    assert memoryview(t.translate_many(array.array("Q", vas)).pa).format in ("Q", "L", "K")


def test_translate_many_refuses_a_buffer_of_another_width(pagewalk, core):
    t = pagewalk.open(image=core, cpu=0)
    with pytest.raises(pagewalk.BadInput, match="unsigned 64-bit"):
        t.translate_many(array.array("I", [1, 2, 3]))


def test_read_phys_and_read_equal_the_cli(pagewalk, core, tmp_path):
    t = pagewalk.open(image=core, cpu=0)
    out = tmp_path / "phys.bin"
    cli("read", "--image", core, "--phys", "--raw", str(out), "-n", "64", hex(core_layout.PGD_PA))
    assert t.read_phys(core_layout.PGD_PA, 64) == out.read_bytes()
    out2 = tmp_path / "virt.bin"
    cli("read", "--image", core, "--cpu", "0", "--raw", str(out2), "-n", "64", hex(core_layout.PGD_VA))
    assert t.read(core_layout.PGD_VA, 64) == out2.read_bytes() == out.read_bytes()


def cli_error(*args):
    r = cli(*args, ok=(2, 3))
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("pagewalk: ")
    return r.returncode, line[len("pagewalk: "):]


def test_errors_are_the_clis_messages(pagewalk, core, tmp_path):
    missing = str(tmp_path / "no-such-dump")
    code, msg = cli_error("translate", "--image", missing, "0")
    assert code == 3
    with pytest.raises(pagewalk.TargetError) as e:
        pagewalk.open(image=missing)
    assert str(e.value) == msg and isinstance(e.value, OSError)
    code, msg = cli_error("translate", "--image", core, "--mode", "x86-99", "0")
    assert code == 2
    with pytest.raises(pagewalk.BadInput) as e:
        pagewalk.open(image=core, mode="x86-99")
    assert str(e.value) == msg and isinstance(e.value, ValueError)
    with pytest.raises(pagewalk.BadInput, match="no target"):
        pagewalk.open()
    with pytest.raises(pagewalk.BadInput, match="one PGD"):
        pagewalk.open(image=core, cpu=0).translate(0, pgd="user")


def test_modes_are_the_clis(pagewalk):
    names = [line.split(":")[0] for line in cli("modes").stdout.splitlines() if line and not line.startswith(" ")]
    assert pagewalk.modes() == names
    for name in names:
        assert pagewalk.mode(name) == cli_doc("modes", "--mode", name)["modes"][0], name


def test_decode_equals_the_cli(pagewalk, core):
    vas = VAS + [0xffffffffffffffff, 0x00fffffffffff123]
    for name in pagewalk.modes():
        doc = cli_doc("decode", "--mode", name, *[hex(v) for v in vas])
        assert [pagewalk.decode(v, mode=name) for v in vas] == doc["results"], name
    t = pagewalk.open(image=core, cpu=0)
    doc = cli_doc("decode", "--image", core, "--cpu", "0", *[hex(v) for v in vas])
    assert [t.decode(v) for v in vas] == doc["results"]


# Entries of every kind: a table, 4K/2M/1G leaves, NX, a swap entry, PROT_NONE, not
# present, a reserved bit, the protection key.
ENTRIES = [0x0, 0x1001, 0x8000000012345067, 0x00000000fee000e3, 0x0000000040000083, 0x8000000000000000 | (7 << 59) | 0x3,
           0x7ffffffffffff, 0x0000fffffffff000 | 0x100, 0x0010000000000001, 0x4 << 1, 0x12345000 | 0x1 << 8]


def test_entry_equals_the_cli(pagewalk):
    for name in pagewalk.modes():
        levels = [lv["level"] for lv in pagewalk.mode(name)["levels"]]
        for level in levels:
            for raw in ENTRIES:
                if pagewalk.mode(name)["entry_bytes"] == 4 and raw > 0xffffffff:
                    with pytest.raises(pagewalk.BadInput, match="does not fit"):
                        pagewalk.entry(raw, level=level, mode=name)
                    continue
                want = cli_doc("entry", hex(raw), "--level", level, "--mode", name)
                assert pagewalk.entry(raw, level=level, mode=name) == want, (name, level, hex(raw))
    assert pagewalk.entry(0x8000000012345067, pa_bits=36)["pa"] == 0x12345000
    assert pagewalk.entry(0x8000000012345067, no_nx=True) == cli_doc("entry", "0x8000000012345067", "--no-nx")
    code, msg = cli_error("entry", "0x1", "--level", "pmdx")
    with pytest.raises(pagewalk.BadInput) as e:
        pagewalk.entry(0x1, level="pmdx")
    assert str(e.value) == msg


def test_layout_equals_the_cli(pagewalk, core):
    for name in ("x86-64-4level", "x86-64-5level"):
        assert pagewalk.layout(mode=name) == cli_doc("layout", "--mode", name)
    t = pagewalk.open(image=core, kernel=True)
    assert t.layout(addr=core_layout.TEXT + 0x42) == cli_doc("layout", "--image", core, hex(core_layout.TEXT + 0x42))
    assert t.layout()["regions"] == cli_doc("layout", "--image", core)["regions"]


def test_kconv_equals_the_cli(pagewalk, core):
    base = {"page_offset_base": core_layout.PAGE_OFFSET}
    t = pagewalk.open(image=core, kernel=True, base=base)
    want = cli_doc("kconv", "--image", core, "--base", f"page_offset_base={core_layout.PAGE_OFFSET:#x}", "--virt",
                   hex(core_layout.TEXT + 0x42), "--virt", hex(core_layout.PAGE_OFFSET + 0x1ff000), "--phys", "0x3000",
                   "--pfn", "0x10", "--size", "0x2000")
    got = t.kconv(virt=[core_layout.TEXT + 0x42, core_layout.PAGE_OFFSET + 0x1ff000], phys=[0x3000], pfn=[0x10],
                  size=0x2000)
    assert got == want and len(got["rows"]) == 9  # the first start is not page-aligned: 3 pages
    assert all(r["agrees"] for r in got["rows"])
    with pytest.raises(pagewalk.BadInput, match="--size"):
        t.kconv(phys=[0], size=0)
    with pytest.raises(pagewalk.BadInput, match="give virt="):
        t.kconv()


def test_kernel_readers_raise_the_clis_messages(pagewalk, core):
    """The corpus's core has no BTF: every reader of the kernel's structures says so as the CLI does."""
    t = pagewalk.open(image=core, kernel=True)
    for args, call in ((["maps"], lambda: t.maps()), (["page", "--pfn", "1"], lambda: t.page(pfn=1)),
                       (["modules"], lambda: t.modules()), (["ptov", "0x1000"], lambda: t.ptov(0x1000)),
                       (["search", "--hex", "7f454c46"], lambda: t.search(b"\x7fELF"))):
        code, msg = cli_error(*args, "--image", core)
        assert code == 3
        with pytest.raises(pagewalk.TargetError) as e:
            call()
        assert str(e.value) == msg, args
    with pytest.raises(pagewalk.BadInput, match="open the target with kernel=True"):
        pagewalk.open(image=core, cpu=0).maps()


def test_search_without_vas_equals_the_cli(pagewalk, core):
    t = pagewalk.open(image=core, cpu=0)
    pgd = t.read_phys(core_layout.PGD_PA + 0xff8, 8)
    for pattern, kw in ((pgd, {}), (pgd[:4], {"max_hits": 1})):
        args = ["search", "--image", core, "--no-vas", "--hex", pattern.hex()]
        if kw:
            args += ["--max-hits", "1"]
        want = cli_doc(*args)
        assert t.search(pattern, vas=False, **kw) == want
        assert want["hits"]
    with pytest.raises(pagewalk.BadInput, match="empty"):
        t.search(b"")


def test_everything_has_a_docstring(pagewalk):
    for name in ("open", "live", "modes", "mode", "decode", "entry", "layout"):
        assert getattr(pagewalk, name).__doc__
    for cls in (pagewalk.Target, pagewalk.Translation, pagewalk.Step, pagewalk.Batch, pagewalk.LiveProcess):
        assert cls.__doc__
    for meth in ("translate", "translate_all", "translate_many", "map", "read", "read_phys", "ps", "layout", "kconv",
                 "decode", "maps", "ptov", "search", "page", "modules"):
        assert getattr(pagewalk.Target, meth).__doc__
    for meth in ("translate", "translate_many", "mappings"):
        assert getattr(pagewalk.LiveProcess, meth).__doc__


def test_the_stub_names_what_the_module_has(pagewalk):
    """python/pagewalk.pyi and the module list the same functions, classes and methods."""
    import ast
    import os
    from conftest import REPO
    tree = ast.parse(open(os.path.join(REPO, "python", "pagewalk.pyi")).read())
    stub = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            stub[node.name] = None
        elif isinstance(node, ast.ClassDef):
            stub[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | \
                              {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
    public = {n for n in dir(pagewalk) if not n.startswith("_")}
    assert public == set(stub)
    for name, members in stub.items():
        if members is None:
            continue
        cls = getattr(pagewalk, name)
        if issubclass(cls, Exception):
            continue
        have = {n for n in dir(cls) if not n.startswith("_")}
        assert members - {"__len__"} == have, name
