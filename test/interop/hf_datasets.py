#!/usr/bin/env python3
"""A Hugging Face `datasets` folder normalized by tsnorm loads again with `datasets.load_from_disk`.

save_to_disk writes shards that are Arrow streams named .arrow beside state.json and
dataset_info.json. `tsnorm normalize DIR -o OUT --layout list --channels target --copy-others`
must write each shard in its own flavour with its schema metadata (where `datasets` keeps the
features) and list<list<float32>>, and copy the two JSON files, so that load_from_disk(OUT) gives
the same features, the same other columns, and each series normalized (numpy's float64 mean and
biased variance, eps 1e-5, as the reference). Run by `npm run test:interop`.
"""
import os
import subprocess
import sys
import tempfile

import datasets
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = [os.environ.get("NODE", "node"), os.path.join(ROOT, "bin", "tsnorm.js")]


def main():
    rng = np.random.default_rng(11)
    n, c, l = 9, 3, 40
    target = [rng.normal(10, 3, (c, l)).astype(np.float32) for _ in range(n)]
    features = datasets.Features({
        "item_id": datasets.Value("string"),
        "start": datasets.Value("timestamp[s]"),
        "target": datasets.Sequence(datasets.Sequence(datasets.Value("float32"))),
        "feat_static_cat": datasets.Sequence(datasets.Value("int64")),
    })
    ds = datasets.Dataset.from_dict({
        "item_id": ["T%d" % i for i in range(n)],
        "start": [np.datetime64("2021-01-01T00:00:00") + np.timedelta64(i, "h") for i in range(n)],
        "target": [t.tolist() for t in target],
        "feat_static_cat": [[i, i % 3] for i in range(n)],
    }, features=features)
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "ds"), os.path.join(tmp, "ds.norm")
        ds.save_to_disk(src, num_shards=3)
        r = subprocess.run(CLI + ["normalize", src, "-o", out, "--layout", "list", "--channels", "target", "--copy-others"], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr:
            print(f"FAIL tsnorm exit {r.returncode}: {r.stderr.strip()}")
            sys.exit(1)
        if sorted(os.listdir(out)) != sorted(os.listdir(src)):
            problems.append(f"files {sorted(os.listdir(out))} != {sorted(os.listdir(src))}")
        for name in os.listdir(out):
            if name.endswith(".arrow") and open(os.path.join(out, name), "rb").read(4) != b"\xff\xff\xff\xff":
                problems.append(f"{name} is not an Arrow stream as its input was")
        back = datasets.load_from_disk(out)
        if back.features != ds.features:
            problems.append(f"features {back.features} != {ds.features}")
        for col in ("item_id", "start", "feat_static_cat"):
            if back[col] != ds[col]:
                problems.append(f"column {col} changed")
        worst = 0.0
        for i, t in enumerate(target):
            x = t.astype(np.float64)
            want = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
            got = np.array(back[i]["target"], dtype=np.float64)
            worst = max(worst, float(np.max(np.abs(got - want))))
        if not worst <= 1e-6:
            problems.append(f"max |tsnorm - numpy| = {worst:.3g}")
    for p in problems:
        print("FAIL " + p)
    print(f"interop (Hugging Face datasets): {'failed' if problems else 'passed'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
