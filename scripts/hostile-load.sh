#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: python3
# Hostile-load test and bench (issue 14): flood, challenge storm, login storm,
# slot exhaustion and slow readers together against a fresh --dev teevaultd
# while a legitimate client does audited Gets and a function attests; reports
# the legitimate p50/p99, attestation success, audit-store growth and RSS.
#   scripts/hostile-load.sh [--duration S] [--json] [--check ...]
# (tests/bench/hostile_load.py --help for every option). Uses build/bin, or
# $BUILD_DIR/bin. Run as root to have the attackers run as uid nobody (a
# separate peer); as another user they share the legitimate client's uid.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --for scripts/hostile-load.sh
BIN="${BUILD_DIR:-build}/bin"
[ -x "$BIN/teevaultd" ] && [ -x "$BIN/teevault-bench" ] ||
  { echo "hostile-load: build first (no $BIN/teevaultd or teevault-bench)" >&2; exit 2; }
exec /usr/bin/python3 tests/bench/hostile_load.py --bin "$BIN" "$@"
