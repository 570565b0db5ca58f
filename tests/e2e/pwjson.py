"""pagewalk's JSON, parsed and checked against docs/schema/pagewalk.schema.json.

Every parse of pagewalk output in the e2e suite goes through here. Documents are checked
whole; of a stream of lines, the first 50 and one line of every (status, kind, pgd)
combination after them, which bounds the time on streams of many thousand lines and still
meets every shape the stream has. Problems are collected and reported by the case
(take_problems). Off with --no-schema (for harness checks with refwalk.py, which writes
the fields the checks read and nothing else).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schema"))
import validate  # noqa: E402

enabled = True
_checker = None
_problems = []
checked = 0


def _check(record, what):
    global _checker, checked
    if not enabled:
        return
    if _checker is None:
        with open(validate.SCHEMA, encoding="utf-8") as f:
            _checker = validate.Checker(json.load(f))
    checked += 1
    if not _checker.valid(record):
        _problems.append(f"{what}: {_checker.why(record)}")


def document(text, what):
    doc = json.loads(text)
    _check(doc, what)
    return doc


def lines(text, what):
    out, shapes = [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        out.append(rec)
        shape = (rec.get("status"), rec.get("kind"), rec.get("pgd")) if isinstance(rec, dict) else None
        if n <= 50 or shape not in shapes:
            _check(rec, f"{what} (line {n})")
        shapes.add(shape)
    return out


def take_problems():
    """The problems found since the last call."""
    global _problems
    p, _problems = _problems, []
    return p
