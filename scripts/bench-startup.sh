#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: python3 cmake
# Start-up time with a large store and RSS with many idle connections
# (issue 7 targets: < 200 ms with 1,000,000 secrets; < 64 MiB with 1,000).
#
#   scripts/bench-startup.sh [SECRETS] [CONNECTIONS]     # defaults 1000000 1000
#
# Initialises a --dev vault on the normal disk (TV_BENCH_DIR, default
# /var/tmp), stops it, fills it with SECRETS 64-byte secrets through
# vault_store (teevault-bench-fill: each with its audit record, as a Put
# writes them), then scripts/bench/startup_rss.py times 5 starts (exec until
# Sys.Status answers) and measures VmRSS idle and with CONNECTIONS idle
# connections. Finally the last secret is read back through the CLI.
# TV_BIN: the build's bin directory (default build/bin).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TV_BIN="${TV_BIN:-$ROOT/build/bin}"
"$ROOT/scripts/deps.sh" --for "$0"
N="${1:-1000000}"
C="${2:-1000}"
if ! [[ "$N" =~ ^[0-9]+$ ]] || [ "$N" -lt 1 ] || ! [[ "$C" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECRETS] [CONNECTIONS]" >&2
  exit 2
fi
if [ "$TV_BIN" = "$ROOT/build/bin" ] && ! [ -x "$TV_BIN/teevault-bench-fill" ]; then
  echo "bench-startup: building into $ROOT/build" >&2
  "$ROOT/scripts/deps.sh"
  cmake -S "$ROOT" -B "$ROOT/build" >/dev/null
  cmake --build "$ROOT/build" -j"$(nproc)" --target teevaultd teevault_cli teevault-bench-fill >/dev/null
fi
for b in teevaultd teevault teevault-bench-fill; do
  if ! [ -x "$TV_BIN/$b" ]; then
    echo "bench-startup: no $TV_BIN/$b (build first)" >&2
    exit 1
  fi
done
W="$(mktemp -d "${TV_BENCH_DIR:-/var/tmp}/tv-bench-startup.XXXXXX")"
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$W"
}
trap cleanup EXIT

"$TV_BIN/teevaultd" --dev --state-dir "$W/state" --socket "$W/init.sock" >"$W/init.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do
  [ -s "$W/state/root-token" ] && [ -S "$W/init.sock" ] && break
  sleep 0.05
done
[ -s "$W/state/root-token" ] || {
  echo "bench-startup: teevaultd --dev did not initialise" >&2
  exit 1
}
kill -TERM "$PID"
wait "$PID" || true
PID=""
echo "bench-startup: filling $N secrets" >&2
"$TV_BIN/teevault-bench-fill" --state-dir "$W/state" --count "$N" --value-size 64 >&2
echo "bench-startup: store $(du -sh "$W/state/data.mdb" | cut -f1)" >&2
/usr/bin/python3 "$ROOT/scripts/bench/startup_rss.py" "$TV_BIN/teevaultd" "$W/state" --connections "$C"

# The data is really there: the last secret reads back through the CLI.
"$TV_BIN/teevaultd" --dev --state-dir "$W/state" --socket "$W/s.sock" >>"$W/init.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do
  [ -S "$W/s.sock" ] && break
  sleep 0.05
done
last=$(printf 'bench/fill/k%08d' $((N - 1)))
val=$(TEEVAULT_ADDR="unix:$W/s.sock" TEEVAULT_TOKEN="$(cat "$W/state/root-token")" \
  "$TV_BIN/teevault" kv get "$last")
[ "${#val}" -eq 64 ] || {
  echo "bench-startup: $last did not read back (${#val} bytes)" >&2
  exit 1
}
echo "bench-startup: $last reads back (64 bytes)" >&2
