#!/usr/bin/env python3
"""Fit running statistics on many shards in parallel with Ray, merge them, normalize every shard.

    python examples/ray/fit_merge_apply.py --address 127.0.0.1:6379 --out out/ \\
        data/shard0.npy data/shard1.npy data/shard2.npy -- --momentum 0.1 --batch-size 4

1. `tsnorm fit SHARD --save-stats ...` runs on each shard as a Ray task, all in parallel. A task
   returns the stats file's text, so the driver needs no folder shared with the workers.
2. The driver writes those files to OUT/parts/ and runs `tsnorm stats merge` on them, in the
   order the shards were given, into OUT/stats.json: the same statistics as one `tsnorm fit`
   over all the shards in that order.
3. `tsnorm apply SHARD --stats OUT/stats.json` runs on each shard as a Ray task. A task returns
   the normalized file's bytes and the driver writes them to OUT/ under the shard's file name.
   (Returning bytes moves each output through Ray's object store to the driver: simple, and
   it works without shared storage. For shards too large for that, have the task write its
   output to shared storage itself and return only the path.)

Flags after `--` go to `tsnorm fit` (apply refuses fit-only flags such as --momentum); flags
for `tsnorm apply` go in --apply-flags, one string ("--nan ignore --dtype float64").

The shards are read by the tasks, so every node must see them at the same path (give absolute
paths on shared storage, e.g. NFS). Every node must also be able to run tsnorm: the command is
--tsnorm, else $TSNORM_CMD, else `node <this checkout>/bin/tsnorm.js` (else `tsnorm`).
"""
import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray

# This checkout's CLI when the script sits in one, else a `tsnorm` on PATH (npm install -g).
CHECKOUT_CLI = Path(__file__).resolve().parents[2] / "bin" / "tsnorm.js"
DEFAULT_TSNORM = f"node {CHECKOUT_CLI}" if CHECKOUT_CLI.exists() else "tsnorm"


class TsnormFailed(RuntimeError):
    """A tsnorm command exited with an error; the message holds its stderr."""


def run_tsnorm(tsnorm, args):
    """Run `tsnorm ARGS...` and fail with its exit code and stderr (and this node's name)."""
    command = [*tsnorm, *args]
    where = socket.gethostname()
    try:
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError as e:  # the command itself is not there (no node, wrong path)
        raise TsnormFailed(f"on {where}: cannot run {shlex.join(command)}: {e}") from None
    if done.returncode != 0:
        raise TsnormFailed(f"on {where}: {shlex.join(command)} exited with {done.returncode}:\n"
                           f"{done.stderr.strip()}")


@ray.remote
def fit_shard(tsnorm, shard, fit_flags):
    """`tsnorm fit` on one shard; returns the stats file's text."""
    with tempfile.TemporaryDirectory(prefix="tsnorm-fit-") as tmp:
        stats = os.path.join(tmp, "stats.json")
        run_tsnorm(tsnorm, ["fit", shard, "--save-stats", stats, *fit_flags])
        return Path(stats).read_text()


@ray.remote
def apply_shard(tsnorm, shard, stats_text, apply_flags):
    """`tsnorm apply` on one shard with the merged stats; returns the output file's bytes."""
    with tempfile.TemporaryDirectory(prefix="tsnorm-apply-") as tmp:
        stats = os.path.join(tmp, "stats.json")
        Path(stats).write_text(stats_text)
        output = os.path.join(tmp, "out" + "".join(Path(shard).suffixes))  # same format
        run_tsnorm(tsnorm, ["apply", shard, "-o", output, "--stats", stats, *apply_flags])
        return Path(output).read_bytes()


def write_atomically(path, data):
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


def fit_merge_apply(tsnorm, shards, out, fit_flags, apply_flags):
    """The three steps; returns the merged stats (a dict)."""
    # 1. Fit every shard in parallel. ray.get returns the results in the order of the shards.
    texts = ray.get([fit_shard.remote(tsnorm, s, fit_flags) for s in shards])

    # 2. Merge on the driver, in the shards' order.
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    part_files = []
    for k, (shard, text) in enumerate(zip(shards, texts)):
        part_files.append(parts / f"{k:04d}-{Path(shard).name}.json")
        write_atomically(part_files[-1], text.encode())
    merged = out / "stats.json"
    run_tsnorm(tsnorm, ["stats", "merge", *map(str, part_files), "-o", str(merged)])
    merged_text = merged.read_text()

    # 3. Apply the merged stats to every shard in parallel; write each output as it arrives.
    stats_ref = ray.put(merged_text)  # stored once, not once per task
    pending = {apply_shard.remote(tsnorm, s, stats_ref, apply_flags): out / Path(s).name for s in shards}
    while pending:
        [ready], _ = ray.wait(list(pending), num_returns=1)
        write_atomically(pending.pop(ready), ray.get(ready))
    return json.loads(merged_text)


def parse_args(argv):
    # Everything after the first `--` is for `tsnorm fit`.
    fit_flags = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(
        description="tsnorm fit on each shard as a Ray task, stats merge, then apply on each shard.",
        usage="%(prog)s [--address A] --out DIR [--tsnorm CMD] [--apply-flags STR] SHARD... [-- FIT_FLAGS...]")
    p.add_argument("shards", nargs="+", help="input files, in the order the fit takes them")
    p.add_argument("--out", required=True, type=Path,
                   help="output folder: stats.json, parts/ (each shard's stats), the normalized shards")
    p.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                   help="Ray cluster (host:port, or 'auto'); default $RAY_ADDRESS, else what ray.init() finds")
    p.add_argument("--tsnorm", default=os.environ.get("TSNORM_CMD", DEFAULT_TSNORM),
                   help="the tsnorm command on every node; default $TSNORM_CMD, else %(default)s")
    p.add_argument("--apply-flags", default="", help="flags for tsnorm apply, as one string")
    args = p.parse_args(argv)
    args.fit_flags = fit_flags
    return args


def main(argv):
    args = parse_args(argv)
    tsnorm = shlex.split(args.tsnorm)
    shards = [os.path.abspath(s) for s in args.shards]
    names = [Path(s).name for s in shards]
    if len(set(names)) != len(names):
        sys.exit("fit_merge_apply: two shards have the same file name; outputs are named after them")
    out = args.out.resolve()
    if any(Path(s).resolve().parent == out for s in shards):
        sys.exit("fit_merge_apply: --out is the shards' own folder: the outputs would replace them")
    out.mkdir(parents=True, exist_ok=True)

    start = time.monotonic()
    ray.init(address=args.address)
    try:
        stats = fit_merge_apply(tsnorm, shards, out, args.fit_flags, shlex.split(args.apply_flags))
    except ray.exceptions.RayTaskError as e:  # a task failed: show tsnorm's error, not Ray's traceback
        sys.exit(f"fit_merge_apply: {e.cause if isinstance(e.cause, TsnormFailed) else e}")
    except TsnormFailed as e:  # the merge, run here
        sys.exit(f"fit_merge_apply: {e}")
    finally:
        ray.shutdown()
    print(f"fit_merge_apply: {len(shards)} shards fitted, merged and applied on Ray in "
          f"{time.monotonic() - start:.1f} s: {out / 'stats.json'} "
          f"(momentum {stats['momentum']}, {stats['num_batches_tracked']} updates), outputs in {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
