#!/usr/bin/env bash
# The Ray cluster test (test/cluster/ray_cluster_test.py): starts a local Ray head, runs
# examples/ray/fit_merge_apply.py against it, checks the results against single-machine tsnorm.
# Needs a built checkout (npm run build) and ray in .venv (npm run venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv/bin/python ]; then
  echo "cluster: no .venv/bin/python: run npm run venv (it installs ray)" >&2
  echo "cluster: 0 passed, 1 failed"
  exit 1
fi
exec .venv/bin/python test/cluster/ray_cluster_test.py "$@"
