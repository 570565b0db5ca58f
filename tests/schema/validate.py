#!/usr/bin/python3
"""Checks pagewalk's JSON output against docs/schema/pagewalk.schema.json.

    validate.py [--require-all [--except KIND]...] [--self-test] [--docs MD] PATH...

Each PATH is a file (or a directory of *.json files) holding one JSON document or JSON
lines, optionally after '#' comment lines (the test suite writes the command line there).
Every record must match the schema. With --require-all, every kind of document and line
the schema defines must have been seen at least once. With --self-test, one sample of each
kind, with any one member renamed, must fail: the schema leaves no field unchecked. With
--docs, every member name the schema defines must appear in the prose (and every name the
prose's examples show must be in the schema).

Uses Debian's python3-jsonschema (Draft 2020-12).
"""
import argparse
import json
import os
import re
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("validate.py: python3-jsonschema is not installed (scripts/install-deps.sh test installs it)")

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "docs", "schema", "pagewalk.schema.json")


def records_of(path):
    """(label, record) for each JSON value in the file: one document, or one per line."""
    with open(path, "rb") as f:
        raw = f.read().split(b"\n")
    label = path
    while raw and raw[0].startswith(b"#"):  # the command line, which may hold any bytes
        label = f"{os.path.basename(path)}: pagewalk {raw[0][1:].decode(errors='replace').strip()}"
        raw.pop(0)
    try:
        lines = [line.decode("utf-8") for line in raw]
    except UnicodeDecodeError as e:
        return [(label, ("not UTF-8", str(e)))]
    body = "\n".join(lines)
    if not body.strip():
        return []
    try:
        return [(label, json.loads(body))]
    except json.JSONDecodeError:
        pass
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append((f"{label} (line {n})", json.loads(line)))
            except json.JSONDecodeError as e:
                out.append((f"{label} (line {n})", ("not JSON", str(e))))
    return out


def files_of(paths):
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if name.endswith(".json"):
                    yield os.path.join(p, name)
        else:
            yield p


class Checker:
    def __init__(self, schema):
        jsonschema.Draft202012Validator.check_schema(schema)
        self.schema = schema
        # One validator per kind of record (each branch of the top-level anyOf).
        # One validator per kind of record (each branch of the top-level anyOf), found by the
        # record's command: the same answer as the whole anyOf, without trying every branch.
        self.kinds, self.by_command = {}, {}
        for branch in schema["anyOf"]:
            name = branch["$ref"].rsplit("/", 1)[1]
            self.kinds[name] = jsonschema.Draft202012Validator({**branch, "$defs": schema["$defs"]})
            cmd = schema["$defs"][name]["properties"]["command"]["const"]
            self.by_command.setdefault(cmd, []).append(name)

    def candidates(self, record):
        cmd = record.get("command") if isinstance(record, dict) else None
        return self.by_command.get(cmd, []) if isinstance(cmd, str) else []

    def valid(self, record):
        return any(self.kinds[k].is_valid(record) for k in self.candidates(record))

    def why(self, record):
        # The kind of record it comes nearest to: the candidate with the fewest errors.
        best = None
        for name in self.candidates(record):
            errors = list(self.kinds[name].iter_errors(record))
            if best is None or len(errors) < len(best[1]):
                best = (name, errors)
        if best is None:
            return "matches no kind of record (no known command)"
        name, errors = best
        e = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(x) for x in e.absolute_path) or "(top)"
        return f"as {name}: at {where}: {e.message[:300]}"

    def kind_of(self, record):
        return [name for name in self.candidates(record) if self.kinds[name].is_valid(record)]


def renamings(record, path=()):
    """Every copy of the record with one member renamed, at any depth (arrays: first element)."""
    if isinstance(record, dict):
        for key in record:
            yield path + (key,), {(k + "_renamed" if k == key else k): v for k, v in record.items()}
            for sub_path, sub in renamings(record[key], path + (key,)):
                yield sub_path, {**record, key: sub}
    elif isinstance(record, list) and record:
        for sub_path, sub in renamings(record[0], path + (0,)):
            yield sub_path, [sub] + record[1:]


# Objects whose member names are data, not the schema's words: renaming those is no error.
FREE_FORM = {"vmcoreinfo", "registers", "fields"}


def free_form(path):
    return len(path) >= 2 and path[-2] in FREE_FORM


def schema_names(node, out):
    if isinstance(node, dict):
        for k, v in node.get("properties", {}).items():
            out.add(k)
        for v in node.values():
            schema_names(v, out)
    elif isinstance(node, list):
        for v in node:
            schema_names(v, out)
    return out


def check_docs(schema, md_path):
    with open(md_path, encoding="utf-8") as f:
        md = f.read()
    problems = []
    names = schema_names(schema, set())
    for n in sorted(names):
        if not re.search(r'[`"{,( ]' + re.escape(n) + r'[`":,)} ]', md):
            problems.append(f"docs: the schema's member '{n}' is not described in {os.path.basename(md_path)}")
    # Every "name": in the prose's examples is a member the schema knows.
    for block in re.findall(r"```(.*?)```", md, re.S):
        for free in FREE_FORM:  # their member names are data (register names, keys)
            block = re.sub(r'"' + free + r'":\{[^}]*\}', "", block)
        for n in re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)":', block):
            if n not in names and not n.isupper():
                problems.append(f"docs: {os.path.basename(md_path)} shows a member '{n}' the schema does not define")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--schema", default=SCHEMA)
    ap.add_argument("--require-all", action="store_true")
    ap.add_argument("--except", dest="excepted", action="append", default=[],
                    help="a kind --require-all does not ask for (made by another suite)")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--docs")
    a = ap.parse_args()
    with open(a.schema, encoding="utf-8") as f:
        schema = json.load(f)
    checker = Checker(schema)
    failures, seen, samples, count = [], {}, {}, 0
    for path in files_of(a.paths):
        for label, rec in records_of(path):
            count += 1
            if isinstance(rec, tuple):
                failures.append(f"{label}: {rec[0]}: {rec[1]}")
                continue
            if not checker.valid(rec):
                failures.append(f"{label}: {checker.why(rec)}")
                continue
            if a.require_all or a.self_test:
                for kind in checker.kind_of(rec):
                    seen[kind] = seen.get(kind, 0) + 1
                    samples.setdefault(kind, rec)
    if a.require_all:
        for kind in checker.kinds:
            if kind not in seen and kind not in a.excepted:
                failures.append(f"coverage: no output of the suite is a {kind}")
    renamed_checked = 0
    if a.self_test:
        for kind, rec in samples.items():
            for path, changed in renamings(rec):
                if path[-1] in ("schema_version",) or free_form(path):
                    continue
                renamed_checked += 1
                if checker.valid(changed):
                    where = "/".join(str(p) for p in path)
                    failures.append(f"self-test: a {kind} with '{where}' renamed still passes the schema")
    if a.docs:
        failures += check_docs(schema, a.docs)
    for f in failures[:60]:
        print(f"validate: {f}", file=sys.stderr)
    if len(failures) > 60:
        print(f"validate: ... and {len(failures) - 60} more", file=sys.stderr)
    kinds = ", ".join(f"{k} {seen[k]}" for k in checker.kinds if k in seen)
    print(f"schema: {count} records checked, {len(failures)} problems"
          + (f"; {renamed_checked} renamed-member copies rejected" if a.self_test else "")
          + (f"; kinds seen: {kinds}" if seen else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
