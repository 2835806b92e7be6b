#!/usr/bin/env python3
"""tsnorm's Arrow output as other tools read it: pyarrow and polars.

For each valid case of fixtures/arrow (written by pyarrow and polars), runs the built CLI to the
Arrow file and stream formats, uncompressed and with --compression lz4 and zstd, then reads the
output with pyarrow (ipc.open_file / open_stream) and polars (read_ipc / read_ipc_stream) and
checks the channels against the case's exact expected values and every other column against the
input's. Run by `npm run test:interop` (which .ci/run runs) with the venv of the README.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

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


def expected_rows(case):
    e = np.load(os.path.join(CASES, case["expected"]))
    if case["expected_shape_kind"] == "rows":
        return e
    n, c, l = e.shape
    return e.transpose(0, 2, 1).reshape(n * l, c)


def output_rows(table, case, channels):
    if case["layout"] == "long":
        return np.stack([np.array([np.nan if v is None else v for v in table.column(c).to_pylist()], dtype=float) for c in channels], axis=1)
    rows = []
    for r in range(table.num_rows):
        if len(channels) == 1 and isinstance(table.column(channels[0])[r].as_py()[0], list):
            series = table.column(channels[0])[r].as_py()
        else:
            series = [table.column(c)[r].as_py() for c in channels]
        rows.extend([[np.nan if s[t] is None else s[t] for s in series] for t in range(len(series[0]))])
    return np.array(rows, dtype=float)


def check(case, out, reader_name, table):
    want = expected_rows(case)
    got = output_rows(table, case, case["channels"])
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return "missing values differ"
    ok = ~np.isnan(want)
    err = np.max(np.abs(got[ok] - want[ok]) / np.maximum(1, np.abs(want[ok]))) if ok.any() else 0.0
    if not err <= 1e-6:
        return f"max relative error {err:.3g}"
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
                        for reader_name, read in readers:
                            try:
                                problem = check(case, out, reader_name, read())
                            except Exception as e:  # a reader refusing the file is the failure we look for
                                problem = f"cannot read: {type(e).__name__}: {str(e).splitlines()[0]}"
                            if problem:
                                problems.append(f"{reader_name}: {problem}")
                    if problems:
                        failed += 1
                        print(f"FAIL {label}: {'; '.join(problems)}")
                    else:
                        passed += 1
    print(f"interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
