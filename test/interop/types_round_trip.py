#!/usr/bin/env python3
"""Files written by pyarrow, polars, DuckDB and pandas, with a column of every type each writes
(fixtures/interop/, made by fixtures/generate_interop_types.py), through tsnorm and read back by
pyarrow, value by value:

- `convert` to Arrow (file, stream file, stream on stdout) and `normalize` to Arrow: the schema's
  and each field's metadata (pandas's among them) as they were; every column but the channel has its type and every value (dictionaries come back decoded, view types as
  their plain types); the channel is the input's (convert) or numpy's normalization (normalize).
- `convert` to CSV: each column pyarrow's CSV writer writes comes out as the same text.
- `convert` to Parquet, read back by pyarrow: what pyarrow reads back from Parquet it writes itself
  for the same table.

Run by `npm run test:interop` (which .ci/run runs).
"""
import csv
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.csv as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "fixtures", "interop")
CLI = [os.environ.get("NODE", "node"), os.path.join(ROOT, "bin", "tsnorm.js")]


def plain_type(t):
    """The type tsnorm writes for an input column of type t: dictionaries decoded, views plain."""
    if pa.types.is_dictionary(t):
        return plain_type(t.value_type)
    if t == pa.string_view():
        return pa.string()
    if t == pa.binary_view():
        return pa.binary()
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(plain_type(f.type)) for f in t])
    return t


def expected_column(col):
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        # pyarrow cannot take from a string_view dictionary: its values made plain first.
        values = col.dictionary.cast(plain_type(col.dictionary.type))
        col = pa.DictionaryArray.from_arrays(col.indices, values).dictionary_decode()
    return col.cast(plain_type(col.type)) if plain_type(col.type) != col.type else col


def same_values(got, want):
    """Array.equals, but a NaN equals a NaN (equals says it does not) and -0.0 stays apart from 0.0."""
    if not pa.types.is_floating(got.type):
        return got.equals(want)
    if not got.is_null().equals(want.is_null()):
        return False
    g = got.to_numpy(zero_copy_only=False)
    w = want.to_numpy(zero_copy_only=False)
    return np.array_equal(g, w, equal_nan=True) and np.array_equal(np.signbit(g), np.signbit(w))


def read_arrow(data):
    if data[:6] == b"ARROW1":
        return ipc.open_file(pa.BufferReader(data)).read_all()
    return ipc.open_stream(pa.BufferReader(data)).read_all()


def normalized(x, ids, eps=1e-5):
    out = np.empty_like(x)
    for i in dict.fromkeys(ids):
        rows = [r for r, v in enumerate(ids) if v == i]
        s = x[rows]
        out[rows] = (s - s.mean()) / np.sqrt(s.var() + eps)
    return out


def tsnorm(args, stdout_file=None):
    r = subprocess.run(CLI + args, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"tsnorm {' '.join(args)}: exit {r.returncode}: {r.stderr.decode().strip()}")
    return r.stdout


def check_arrow(source, out, command):
    problems = []
    # The schema's metadata (pandas keeps its index and dtypes there, polars and others theirs) and each field's.
    if out.schema.metadata != source.schema.metadata:
        problems.append(f"schema metadata: {out.schema.metadata} != {source.schema.metadata}")
    for field in source.schema:
        if out.schema.field(field.name).metadata != field.metadata:
            problems.append(f"{field.name}: field metadata {out.schema.field(field.name).metadata} != {field.metadata}")
    ids = source.column("id").to_pylist()
    for name in source.column_names:
        got = out.column(name).combine_chunks()
        if name == "x":
            want = np.array(source.column("x").to_pylist(), dtype=float)
            if command == "normalize":
                want = normalized(want, ids)
            g = np.array(got.to_pylist(), dtype=float)
            if not np.allclose(g, want, rtol=1e-12, atol=0):
                problems.append(f"x: {g.tolist()} != {want.tolist()}")
            continue
        want = expected_column(source.column(name))
        if got.type != want.type:
            problems.append(f"{name}: type {got.type}, expected {want.type}")
        elif not same_values(got, want):
            problems.append(f"{name}: values differ: {got.to_string()[:200]} != {want.to_string()[:200]}")
    return problems


def csv_texts(data):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    # A one-column row whose cell is empty is an empty line, which csv reads as no cells.
    return {name: [row[k] if k < len(row) else "" for row in rows[1:]] for k, name in enumerate(rows[0])}


def check_csv(source, out):
    problems = []
    ours = csv_texts(out)
    for name in source.column_names:
        if name == "x":
            continue
        col = expected_column(source.column(name))
        if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type) or pa.types.is_fixed_size_binary(col.type):
            continue  # tsnorm writes binary as hexadecimal; pyarrow as text when it is UTF-8, else not at all
        buf = io.BytesIO()
        try:
            pc.write_csv(pa.table({name: col}), buf)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue  # a type pyarrow does not write to CSV: nothing to compare with
        want = csv_texts(buf.getvalue())[name]
        got = ours.get(name)
        if got != want and pa.types.is_timestamp(col.type) and col.type.tz is not None and got is not None:
            # pyarrow applies no daylight saving time after 2037 (where its zone data's transitions
            # end); tsnorm applies the zone's rules. There the same instant may read another local time.
            got = [w if g != w and same_instant_after_2037(g, w) else g for g, w in zip(got, want)]
        if got != want:
            problems.append(f"{name}: {ours.get(name)} != pyarrow's {want}")
    return problems


def instant(text):
    """'2262-04-11 00:00:00.000000000+0200' as nanoseconds since the epoch (numpy: nanoseconds, any year it holds)."""
    local, sign, offset = text[:-5], text[-5], text[-4:]
    minutes = (int(offset[:2]) * 60 + int(offset[2:])) * (1 if sign == "+" else -1)
    return np.datetime64(local.replace(" ", "T"), "ns") - np.timedelta64(minutes, "m")


def same_instant_after_2037(ours, theirs):
    return ours != "" and theirs != "" and int(theirs[:4]) > 2037 and instant(ours) == instant(theirs)


def main():
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fixture in sorted(f for f in os.listdir(FIXTURES) if f.endswith(".arrow")):
            path = os.path.join(FIXTURES, fixture)
            source = ipc.open_file(path).read_all()
            common = ["--id", "id", "--channels", "x"]
            runs = {
                "convert -> arrow": lambda: read_arrow(open(run(["convert", path, *common, "-o", os.path.join(tmp, "o.arrow")], os.path.join(tmp, "o.arrow")), "rb").read()),
                "convert -> arrows file": lambda: read_arrow(open(run(["convert", path, *common, "-o", os.path.join(tmp, "o.arrows")], os.path.join(tmp, "o.arrows")), "rb").read()),
                "convert -> arrows stdout": lambda: read_arrow(tsnorm(["convert", path, *common, "--to", "arrows"])),
                "normalize -> arrow": lambda: read_arrow(open(run(["normalize", path, *common, "-o", os.path.join(tmp, "n.arrow")], os.path.join(tmp, "n.arrow")), "rb").read()),
            }
            # Parquet: against what pyarrow itself gets back from Parquet for the same table (it
            # writes seconds as milliseconds, date64 as date32; the Arrow schema in the footer
            # restores the rest), read by pyarrow from tsnorm's file.
            # A column pyarrow cannot take through Parquet itself (polars' fixed-size lists with
            # nulls) cannot be read back by it from tsnorm's file either: left out of the reading.
            reference = os.path.join(tmp, "reference.parquet")
            columns, fields, unreadable = [], [], set()
            for f, c in zip(source.schema, source.columns):
                col = expected_column(c)
                try:
                    pq.write_table(pa.table({f.name: col}), reference)
                    col = pq.read_table(reference).column(0).combine_chunks()
                except pa.ArrowException:
                    unreadable.add(f.name)
                    continue
                columns.append(col)
                fields.append(pa.field(f.name, col.type, metadata=f.metadata))
            parquet_source = pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=source.schema.metadata))
            # A date64 with a time of day has no Parquet date (pyarrow drops the time): tsnorm refuses it.
            sub_day = [f.name for f, c in zip(source.schema, source.columns) if pa.types.is_date64(c.type) and any(v % 86400000 for v in c.cast(pa.int64()).to_pylist() if v is not None)]
            out_path = os.path.join(tmp, fixture + ".parquet")
            r = subprocess.run([*CLI, "convert", path, *common, "-o", out_path], capture_output=True, text=True)
            if sub_day:
                want = f"column '{sub_day[0]}': a date64 with a time of day"
                problems = [] if r.returncode == 2 and want in r.stderr and not os.path.exists(out_path) else [f"expected the refusal of {sub_day[0]}, got exit {r.returncode}: {r.stderr.strip()}"]
            elif r.returncode != 0:
                problems = [f"tsnorm exit {r.returncode}: {r.stderr.strip()}"]
            else:
                try:
                    problems = check_arrow(parquet_source, pq.read_table(out_path, columns=[n for n in source.column_names if n not in unreadable]), "convert")
                except Exception as e:
                    problems = [f"{type(e).__name__}: {e}"]
            passed, failed = report(f"{fixture}: convert -> parquet", problems, passed, failed)
            for label, make in runs.items():
                try:
                    problems = check_arrow(source, make(), label.split()[0])
                except Exception as e:  # tsnorm refusing, or pyarrow unable to read the output
                    problems = [f"{type(e).__name__}: {e}"]
                passed, failed = report(f"{fixture}: {label}", problems, passed, failed)
            try:
                problems = check_csv(source, tsnorm(["convert", path, *common, "--to", "csv"]))
            except Exception as e:
                problems = [f"{type(e).__name__}: {e}"]
            passed, failed = report(f"{fixture}: convert -> csv", problems, passed, failed)
    print(f"interop types: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run(args, output):
    tsnorm(args)
    return output


def report(label, problems, passed, failed):
    if problems:
        print(f"FAIL {label}:\n  " + "\n  ".join(problems))
        return passed, failed + 1
    print(f"ok   {label}")
    return passed + 1, failed


if __name__ == "__main__":
    main()
