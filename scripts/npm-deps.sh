#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: nodejs npm
# Install the npm packages of client/js and examples/functions once, into one
# directory outside the source tree (default build/node), and print its
# node_modules path for NODE_PATH. Reinstalls only when a package.json's
# dependencies change (a stamp of their hash). Never touches the source tree.
#   NODE_PATH=$(scripts/npm-deps.sh [DIR]) node ...
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-$ROOT/build/node}"
# Debian's node and npm (the '# deps:' line) only when none is there; stdout is the result.
command -v node >/dev/null && command -v npm >/dev/null || "$ROOT/scripts/deps.sh" --for "$0" >&2
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
manifest=$(node -e '
const fs = require("fs"), deps = {};
for (const p of process.argv.slice(1)) Object.assign(deps, JSON.parse(fs.readFileSync(p)).dependencies || {});
process.stdout.write(JSON.stringify({ name: "teevault-npm-deps", private: true, dependencies: deps }, null, 2) + "\n");
' "$ROOT/client/js/package.json" "$ROOT/examples/functions/package.json")
stamp=$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)
if [ ! -d "$DIR/node_modules" ] || [ "$(cat "$DIR/.stamp" 2>/dev/null)" != "$stamp" ]; then
  # Serialise concurrent installers (ctest -j) on the directory.
  exec 9>"$DIR/.lock"
  flock 9
  if [ "$(cat "$DIR/.stamp" 2>/dev/null)" != "$stamp" ]; then
    printf '%s' "$manifest" >"$DIR/package.json"
    (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error >&2)
    printf '%s' "$stamp" >"$DIR/.stamp"
  fi
  exec 9>&-
fi
echo "$DIR/node_modules"
