#!/usr/bin/env python3
"""examples/ray/fit_merge_apply.py on a real (local, one-node) Ray cluster.

Starts a Ray head with `ray start` (2 CPUs, 100 MB object store, its own temp folder, loopback
only), writes 4 random float32 NPY shards, runs the example driver against the cluster for a few
tsnorm settings, and checks:
  - each shard's stats (parts/) equal a local `tsnorm fit` of that shard, byte for byte;
  - the merged stats equal one local `tsnorm fit` over all shards in order (running_mean and
    running_var to 1e-12 relative, num_batches_tracked and momentum equal);
  - each output equals a local `tsnorm apply` of the shard with the merged stats, byte for byte;
  - a shard tsnorm refuses makes the driver fail with tsnorm's own error message.
The cluster is stopped at the end, on failure and on Ctrl-C or SIGTERM too, and the temporary
folders are removed. Prints `cluster: N passed, M failed`; exits 1 if anything failed.

Needs the venv with ray (see examples/ray/README.md) and a built checkout (npm run build). Run
from anywhere: test/cluster/run.sh runs it with the repo's .venv/bin/python.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "examples" / "ray" / "fit_merge_apply.py"
TSNORM = [os.environ.get("NODE", "node"), str(ROOT / "bin" / "tsnorm.js")]
PYTHON = sys.executable
RAY = Path(PYTHON).parent / "ray"  # the `ray` command of the same venv
START_TIMEOUT = 60  # seconds for `ray start` and a driver to see the cluster's CPUs, in all
DRIVER_TIMEOUT = 180  # seconds for one run of the driver
SETTINGS = [
    ("fit's default", []),
    ("--momentum 0.1 --batch-size 3", ["--momentum", "0.1", "--batch-size", "3"]),
    ("--momentum cumulative --batch-size 2", ["--momentum", "cumulative", "--batch-size", "2"]),
]

# Ray resolves 127.0.0.1 to the machine's network address unless this says "no multi-node
# clusters": with it, the head, its workers and the drivers all talk over loopback only.
ENV = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok   {name}")
    else:
        failed += 1
        print(f"  FAIL {name}" + (f": {detail}" if detail else ""))
    return ok


def finish():
    print(f"cluster: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def tsnorm(*args):
    done = subprocess.run([*TSNORM, *map(str, args)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"tsnorm {' '.join(map(str, args))}: exit {done.returncode}: {done.stderr.strip()}")


def relative_error(got, want):
    return max(abs(g - w) / max(abs(w), 1e-300) for g, w in zip(got, want))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A Ray head started with `ray start` in a session of its own: every process it starts (GCS,
    raylet, agents, workers) stays in that session, so stopping it ends exactly those, not other
    Ray clusters on the machine as `ray stop` would (it ends every Ray process it finds)."""

    def __init__(self, temp_dir):
        self.temp_dir = temp_dir
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.sid = None
        self.log = Path(temp_dir).with_suffix(".start.log")

    def start(self):
        command = [str(RAY), "start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1",
                   "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={self.temp_dir}",
                   "--object-store-memory=100000000", "--disable-usage-stats",
                   # Ports the OS picks for workers and drivers: `ray start` would take them in
                   # order from 10002, as would another cluster on the machine (a test run beside).
                   "--min-worker-port=0", "--max-worker-port=0"]
        with open(self.log, "w") as log:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=ENV, start_new_session=True)
        self.sid = proc.pid  # the new session's id, kept by everything `ray start` starts
        self.deadline = time.monotonic() + START_TIMEOUT
        try:
            code = proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the cluster did not start within {START_TIMEOUT} s (`ray start` still running):\n{self.log_tail()}")
        if code != 0:
            raise RuntimeError(f"`ray start` exited with {code}:\n{self.log_tail()}")

    def wait_for_cpus(self):
        """Connect a driver (ray.init) and wait until the cluster shows its 2 CPUs. In a child
        process: ray.init blocks in native code, which a timeout here can still end."""
        probe = (
            "import sys, time, ray\n"
            "ray.init(address=sys.argv[1], logging_level='WARNING', log_to_driver=False)\n"
            "while ray.cluster_resources().get('CPU', 0) < 2: time.sleep(0.2)\n"
            "print(ray.cluster_resources())\n"
        )
        try:
            r = subprocess.run([PYTHON, "-c", probe, self.address], capture_output=True, text=True, env=ENV,
                               timeout=max(1.0, self.deadline - time.monotonic()), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the cluster did not start within {START_TIMEOUT} s: no driver could connect "
                               f"and see its 2 CPUs\n{self.log_tail()}")
        if r.returncode != 0:
            # Ray's native errors end in a stack trace: keep the lines before it.
            lines = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith(("/", "*** "))]
            raise RuntimeError("a driver could not connect to the cluster:\n" + "\n".join(lines[:25]))

    def stop(self):
        """SIGTERM to the cluster's processes, SIGKILL to those left after 3 s (the GCS server
        can take longer than that to flush its events on SIGTERM)."""
        if self.sid is None:
            return []
        for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
            for pid in self.members():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while self.members() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self.members():
                break
        left = self.members()
        self.sid = None
        return left

    def members(self):
        """The live (not zombie) processes of the cluster's session. (Ray gives its workers
        process groups of their own, but they stay in the session.)"""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, _ppid, _pgrp, session = stat.read_text().rsplit(")", 1)[1].split()[:4]
            except (OSError, ValueError):
                continue
            if state != "Z" and int(session) == self.sid:
                pids.append(int(stat.parent.name))
        return pids

    def log_tail(self, lines=20):
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"


def make_shards(folder):
    import numpy as np
    rng = np.random.default_rng(20261126)
    shards = []
    # Different sizes (so batches of 2 and 3 end part-way through a shard), offsets and scales.
    for k, (n, length) in enumerate([(5, 64), (3, 40), (8, 64), (4, 17)]):
        x = rng.standard_normal((n, 3, length)) * (1 + k) + 10 * k
        path = folder / f"shard{k}.npy"
        np.save(path, x.astype(np.float32))
        shards.append(path)
    return shards


def run_driver(address, out, shards, fit_flags):
    command = [PYTHON, str(DRIVER), "--address", address, "--out", str(out), *map(str, shards)]
    if fit_flags:
        command += ["--", *fit_flags]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=DRIVER_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def check_setting(address, work, shards, label, fit_flags):
    print(f"{label}:")
    work = work / f"setting-{len(list(work.glob('setting-*')))}"
    work.mkdir()
    out = work / "out"
    started = time.monotonic()
    r = run_driver(address, out, shards, fit_flags)
    seconds = time.monotonic() - started
    if not check(f"driver exits 0 ({seconds:.1f} s)", r.returncode == 0, f"exit {r.returncode}\n{r.stdout}{r.stderr}"):
        return
    summary = r.stdout.strip().splitlines()
    check("driver prints a one-line summary", len(summary) == 1 and summary[0].startswith("fit_merge_apply: 4 shards"), repr(r.stdout))

    local = work / "local"
    local.mkdir()
    # Each shard's stats, fitted by a task, as a local fit of that shard gives them.
    parts = sorted((out / "parts").iterdir())
    same = len(parts) == len(shards)
    for k, (shard, part) in enumerate(zip(shards, parts)):
        tsnorm("fit", shard, "--save-stats", local / f"part{k}.json", *fit_flags)
        same = same and part.read_bytes() == (local / f"part{k}.json").read_bytes()
    check("each task's stats equal a local fit of its shard", same, f"parts: {[p.name for p in parts]}")

    # (a) The merged stats: one fit over all shards in order.
    tsnorm("fit", *shards, "--save-stats", local / "whole.json", *fit_flags)
    want = json.loads((local / "whole.json").read_text())
    got = json.loads((out / "stats.json").read_text())
    mean_err = relative_error(got["running_mean"], want["running_mean"])
    var_err = relative_error(got["running_var"], want["running_var"])
    check(f"merged running_mean = one fit over all shards (rel. error {mean_err:.1e})", mean_err <= 1e-12)
    check(f"merged running_var = one fit over all shards (rel. error {var_err:.1e})", var_err <= 1e-12)
    check(f"num_batches_tracked and momentum equal ({got['num_batches_tracked']}, {got['momentum']})",
          (got["num_batches_tracked"], got["momentum"]) == (want["num_batches_tracked"], want["momentum"]),
          f"got {got['num_batches_tracked']}, {got['momentum']}; want {want['num_batches_tracked']}, {want['momentum']}")
    check("merged value sketch = one fit's, count for count (check compares distributions with it)",
          "sketch" in want and got.get("sketch") == want["sketch"])
    # The merge did something: no single shard's stats are the whole fit's.
    check("the shards' own stats differ from the merged ones",
          all(json.loads(p.read_text())["running_mean"] != got["running_mean"] for p in parts))

    # (b) Each output: a local apply of the same shard with the same merged stats.
    differ = []
    for shard in shards:
        tsnorm("apply", shard, "-o", local / shard.name, "--stats", out / "stats.json")
        produced = out / shard.name
        if not produced.exists() or produced.read_bytes() != (local / shard.name).read_bytes():
            differ.append(shard.name)
    check("each output equals a local apply with the merged stats, byte for byte", not differ, f"differ: {differ}")


def check_failure(address, work, shards):
    print("a shard tsnorm refuses:")
    bad = work / "broken.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00not a header")
    out = work / "out-broken"
    r = run_driver(address, out, [shards[0], bad], [])
    lines = r.stderr.strip().splitlines()
    check("driver exits non-zero", r.returncode != 0, f"exit {r.returncode}")
    check("its error carries tsnorm's stderr", any(l.startswith("tsnorm: ") and "broken.npy" in l for l in lines),
          f"stderr ends: {lines[-5:]}")
    check("no merged stats written", not (out / "stats.json").exists())


def main():
    try:  # the driver needs ray too: fail here, with a clear message
        import numpy
        import ray
        print(f"cluster: ray {ray.__version__}, numpy {numpy.__version__}, {PYTHON}")
    except ImportError as e:
        print(f"cluster: cannot import {e.name} in {PYTHON}: install ray into the venv (examples/ray/README.md)")
        check("ray and numpy importable", False)
        finish()
    if subprocess.run([*TSNORM, "--version"], capture_output=True).returncode != 0:
        check("tsnorm runs (node bin/tsnorm.js --version)", False, "build it first: npm run build")
        finish()

    work = Path(tempfile.mkdtemp(prefix="tsnorm-cluster-"))
    # The tasks' (and tsnorm's) temporary files go in it too: removed even after a task is killed.
    (work / "tmp").mkdir()
    ENV["TMPDIR"] = str(work / "tmp")
    ray_tmp = tempfile.mkdtemp(prefix="tsnorm-ray-", dir="/tmp")  # short: Ray puts sockets in it
    cluster = Cluster(ray_tmp)
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the cluster is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        began = time.monotonic()
        cluster.start()
        cluster.wait_for_cpus()
        check(f"ray start: a head with 2 CPUs at {cluster.address} ({time.monotonic() - began:.1f} s)", True)
        shards = make_shards(work)
        for label, flags in SETTINGS:
            check_setting(cluster.address, work, shards, label, flags)
        check_failure(cluster.address, work, shards)
    except (KeyboardInterrupt, SystemExit):
        check("the test ran to its end", False, "interrupted")
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        check("the test ran to its end", False, str(e))
    except Exception:  # noqa: BLE001  (a bug here: count it, then clean up)
        check("the test ran to its end", False, traceback.format_exc())
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        started = cluster.sid is not None
        left = cluster.stop()
        if started:
            check("the cluster stopped: none of its processes left", not left, f"still running: {left}")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ray_tmp, ignore_errors=True)
        cluster.log.unlink(missing_ok=True)
    finish()


if __name__ == "__main__":
    main()
