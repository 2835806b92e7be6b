"""What the interop checks share: a case's exact expected channels and a table's channels, both as
(total rows, C) in row order, and each reader's verdict on one output."""
import os

import numpy as np


def expected_rows(case, cases_dir):
    e = np.load(os.path.join(cases_dir, case["expected"]))
    if case["expected_shape_kind"] == "rows":
        return e
    n, c, l = e.shape
    return e.transpose(0, 2, 1).reshape(n * l, c)


def output_rows(table, case):
    channels = case["channels"]
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


def channel_problem(case, cases_dir, table):
    """None when the table's channels are the case's exact values (1e-6 relative: float32 outputs), else what differs."""
    want = expected_rows(case, cases_dir)
    got = output_rows(table, case)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return "missing values differ"
    ok = ~np.isnan(want)
    err = np.max(np.abs(got[ok] - want[ok]) / np.maximum(1, np.abs(want[ok]))) if ok.any() else 0.0
    if not err <= 1e-6:
        return f"max relative error {err:.3g}"
    return None


def readers_problems(readers, check):
    """Each (name, read) reader's table through `check`; a reader refusing the file is a problem too."""
    problems = []
    for reader_name, read in readers:
        try:
            problem = check(read())
        except Exception as e:  # a reader refusing the file is the failure we look for
            problem = f"cannot read: {type(e).__name__}: {str(e).splitlines()[0]}"
        if problem:
            problems.append(f"{reader_name}: {problem}")
    return problems
