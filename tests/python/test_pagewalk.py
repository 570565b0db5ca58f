"""The Python module against the CLI on the corpus's small Linux core: the same question
gives the same answer, errors are the CLI's messages, translate_many equals one by one."""
import array
import random

import pytest

from conftest import cli, cli_lines

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


def test_everything_has_a_docstring(pagewalk):
    for name in ("open", "modes"):
        assert getattr(pagewalk, name).__doc__
    for cls in (pagewalk.Target, pagewalk.Translation, pagewalk.Step, pagewalk.Batch):
        assert cls.__doc__
    for meth in ("translate", "translate_all", "translate_many", "map", "read", "read_phys", "ps"):
        assert getattr(pagewalk.Target, meth).__doc__
