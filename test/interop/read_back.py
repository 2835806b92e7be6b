#!/usr/bin/env python3
"""tsnorm's Arrow output as other tools read it: pyarrow and polars.

For each valid case of fixtures/arrow (written by pyarrow and polars), runs the built CLI to the
Arrow file and stream formats, uncompressed and with --compression lz4 and zstd, then reads the
output with pyarrow (ipc.open_file / open_stream) and polars (read_ipc / read_ipc_stream) and
checks the channels against the case's exact expected values and every other column against the
input's. Run by `npm run test:interop` (which .ci/run runs) with the venv of the README.
"""
import json
import os
import subprocess
import sys
import tempfile

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

from cases import channel_problem, readers_problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "fixtures", "arrow")
CLI = [os.environ.get("NODE", "node"), os.path.join(ROOT, "bin", "tsnorm.js")]


def read_all(path):
    """Every record batch, streams written back to back included (pyarrow reads one stream at a time)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] == b"ARROW1":
        return ipc.open_file(pa.BufferReader(data)).read_all()
    tables, reader = [], pa.BufferReader(data)
    while reader.tell() < len(data):
        tables.append(ipc.open_stream(reader).read_all())
    return pa.concat_tables(tables)


def check(case, table):
    problem = channel_problem(case, CASES, table)
    if problem:
        return problem
    source = read_all(os.path.join(CASES, case["file"]))
    for p in case["pass_through"] + ([{"name": case["id"]}] if case["id"] else []):
        a, b = table.column(p["name"]).to_pylist(), source.column(p["name"]).to_pylist()
        if a != b:
            return f"column {p['name']} changed"
    return None


def main():
    cases = []
    for name in sorted(os.listdir(CASES)):
        if name.endswith(".json"):
            case = json.load(open(os.path.join(CASES, name)))
            if not case.get("expect_error"):
                cases.append(case)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            for fmt in ("arrow", "arrows"):
                for codec in (None, "lz4", "zstd"):
                    out = os.path.join(tmp, f"out.{fmt}")
                    args = [os.path.join(CASES, case["file"]), "-o", out, *case["args"]]
                    if case.get("nan") == "ignore":
                        args += ["--nan", "ignore"]
                    if codec:
                        args += ["--compression", codec]
                    label = f"{case['file']} -> {fmt}{' ' + codec if codec else ''}"
                    r = subprocess.run(CLI + args, capture_output=True, text=True)
                    problems = []
                    if r.returncode != 0:
                        problems.append(f"tsnorm exit {r.returncode}: {r.stderr.strip()}")
                    else:
                        readers = [("pyarrow", lambda: read_all(out))]
                        readers.append(("polars", lambda: (pl.read_ipc(out, memory_map=False) if fmt == "arrow" else pl.read_ipc_stream(out)).to_arrow()))
                        problems += readers_problems(readers, lambda table: check(case, table))
                    if problems:
                        failed += 1
                        print(f"FAIL {label}: {'; '.join(problems)}")
                    else:
                        passed += 1
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
