#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: python3
# Crash test as a bench: CYCLES (default 100) times, SIGKILL teevaultd during
# a mixed Put/Get load, restart it, and check that every acknowledged write
# is there with its value, that the audit export verifies, and that every
# acknowledged read and write has its audit record (tests/crash/crash_test.py).
#   scripts/crash-test.sh [CYCLES] [crash_test.py options...]
# Uses the binaries in $TV_BIN (default build/bin); builds them if missing.
# Prints per-cycle lines and a summary: cycles=.. acked_writes=.. lost=..
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --for scripts/crash-test.sh
cycles=${1:-100}
shift || true
bin=${TV_BIN:-build/bin}
if [ ! -x "$bin/teevaultd" ] || [ ! -x "$bin/crash_load" ] || [ ! -x "$bin/teevault" ]; then
    ./scripts/build.sh >/dev/null
fi
exec /usr/bin/python3 tests/crash/crash_test.py --bin "$bin" --cycles "$cycles" "$@"
