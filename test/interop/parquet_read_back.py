#!/usr/bin/env python3
"""tsnorm's Parquet output as other tools read it: pyarrow, polars and DuckDB.

For each case of fixtures/parquet (files written by pyarrow, polars and DuckDB), runs the built CLI
to Parquet with each codec tsnorm writes, then reads the output with pyarrow (parquet.read_table),
polars (read_parquet) and DuckDB (read_parquet) and checks the channels against the case's exact
expected values and every other column against the input as pyarrow reads it (the case's twin).
With pyarrow it also checks the schema metadata of the input kept (in the Arrow schema and as
the file's key-value metadata), a row group per
--row-group-size rows, and min/max statistics in every column chunk of a channel. Run by
`npm run test:interop` with the venv of the README.
"""
import json
import os
import subprocess
import sys
import tempfile

import duckdb
import polars as pl
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from cases import channel_problem, readers_problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "fixtures", "parquet")
CLI = [os.environ.get("NODE", "node"), os.path.join(ROOT, "bin", "tsnorm.js")]
CODECS = ["zstd", "snappy", "gzip", "lz4", "brotli", "none"]
ROW_GROUP = 16


def plain(values):
    """Cells compared as values: DuckDB and polars give a dictionary's strings, a map as pairs."""
    return [dict(v) if isinstance(v, list) and v and isinstance(v[0], tuple) else v for v in values]


def check(case, table, twin):
    problem = channel_problem(case, CASES, table)
    if problem:
        return problem
    for p in case["pass_through"] + ([{"name": case["id"]}] if case["id"] else []):
        if plain(table.column(p["name"]).to_pylist()) != plain(twin.column(p["name"]).to_pylist()):
            return f"column {p['name']} changed"
    return None


def check_file(case, out, source):
    """What pyarrow sees of the file itself: metadata, row groups, statistics."""
    meta = pq.read_metadata(out)
    want_meta = {k: v for k, v in (pq.read_schema(source).metadata or {}).items() if k != b"ARROW:schema"}
    got_meta = pq.read_schema(out).metadata or {}
    # The file's own key-value pairs too (what DuckDB, Spark and polars read).
    got_kv = meta.metadata or {}
    for k, v in want_meta.items():
        if got_meta.get(k) != v:
            return f"schema metadata {k!r} not kept"
        if got_kv.get(k) != v:
            return f"key-value metadata {k!r} not in the file's footer"
    if case["layout"] == "long":
        rows = meta.num_rows
        if meta.num_row_groups != -(-rows // ROW_GROUP):
            return f"{meta.num_row_groups} row groups for {rows} rows in groups of {ROW_GROUP}"
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    for g in range(meta.num_row_groups):
        for i, name in enumerate(names):
            if name.split(".")[0] in case["channels"]:
                st = meta.row_group(g).column(i).statistics
                if st is None or not st.has_null_count:
                    return f"row group {g}, column {name}: no statistics"
    return None


def main():
    cases = [json.load(open(os.path.join(CASES, n))) for n in sorted(os.listdir(CASES)) if n.endswith(".json")]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, case in enumerate(cases):
            source = os.path.join(CASES, case["file"])
            twin = ipc.open_file(os.path.join(CASES, case["twin"])).read_all()
            # Every codec on a few cases, one codec a case for the rest (each codec on several).
            codecs = CODECS if k < 3 else [CODECS[k % len(CODECS)]]
            for codec in codecs:
                out = os.path.join(tmp, "out.parquet")
                args = [source, "-o", out, *case["args"], "--compression", codec, "--row-group-size", str(ROW_GROUP)]
                if case.get("nan") == "ignore" and "--nan" not in args:
                    args += ["--nan", "ignore"]
                label = f"{case['file']} -> parquet {codec}"
                r = subprocess.run(CLI + args, capture_output=True, text=True)
                problems = []
                if r.returncode != 0:
                    problems.append(f"tsnorm exit {r.returncode}: {r.stderr.strip()}")
                else:
                    readers = [
                        ("pyarrow", lambda: pq.read_table(out)),
                        ("polars", lambda: pl.read_parquet(out).to_arrow()),
                        ("duckdb", lambda: duckdb.sql(f"SELECT * FROM read_parquet('{out}')").arrow().read_all()),
                    ]
                    problems += readers_problems(readers, lambda table: check(case, table, twin))
                    problem = check_file(case, out, source)
                    if problem:
                        problems.append(f"file: {problem}")
                if problems:
                    failed += 1
                    print(f"FAIL {label}: {'; '.join(problems)}")
                else:
                    passed += 1
    print(f"interop (Parquet): {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
