#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of teevault-bench (issue 7): a few hundred requests of each
# kind at 1 and 4 connections against a real --dev teevaultd; the JSON has
# exactly the documented keys and a positive rate; set-up and usage errors
# exit 1 and 2. Numbers are not judged here (the machine decides them).
. "$(dirname "$0")/lib.sh"

BENCH="$TV_BIN/teevault-bench"
[ -x "$BENCH" ] || tv_fail "no teevault-bench at $BENCH"
tv_start_dev

check_json() { # check_json OP CONNS REQUESTS JSON
  tv_py -c '
import json, sys
op, conns, req, text = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
d = json.loads(text)
keys = {"op", "connections", "requests", "ops_per_sec", "p50_us", "p99_us", "p999_us"}
assert set(d) == keys, "keys %s" % sorted(d)
assert d["op"] == op and d["connections"] == conns and d["requests"] == req, d
assert d["ops_per_sec"] > 0, d
assert 0 < d["p50_us"] <= d["p99_us"] <= d["p999_us"], d
' "$@" || tv_fail "bad JSON for $1 c=$2: $4"
}

for op in get put attest-get attest; do
  for c in 1 4; do
    case $op in # Put fsyncs and Attest verifies evidence per request: fewer
    get | attest-get) n=300 ;;
    put) n=100 ;;
    attest) n=24 ;;
    esac
    out=$(timeout 60 "$BENCH" --addr "unix:$TV_SOCK" --token-file "$TV_ROOT_TOKEN_FILE" --op "$op" \
      --connections "$c" --requests "$n" --value-size 64 --format json 2>"$TV_DIR/bench.err") ||
      tv_fail "teevault-bench $op c=$c failed: $(cat "$TV_DIR/bench.err")"
    check_json "$op" "$c" "$n" "$out"
    echo "ok: $op c=$c $out"
  done
done

# Text output names the percentiles.
out=$("$BENCH" --addr "unix:$TV_SOCK" --token-file "$TV_ROOT_TOKEN_FILE" --op get \
  --connections 2 --requests 50 --value-size 16)
case "$out" in *ops/s*p50*p99*p99.9*) ;; *) tv_fail "text output: $out" ;; esac

# A token that is not valid: set-up fails, exit 1, nothing measured.
echo "not-a-token" >"$TV_DIR/bad-token"
rc=0
"$BENCH" --addr "unix:$TV_SOCK" --token-file "$TV_DIR/bad-token" --op get --connections 1 \
  --requests 10 --value-size 64 --format json >"$TV_DIR/out" 2>"$TV_DIR/err" || rc=$?
[ "$rc" -eq 1 ] || tv_fail "bad token: exit $rc, want 1"
[ ! -s "$TV_DIR/out" ] || tv_fail "bad token still printed a result"
grep -q "set-up" "$TV_DIR/err" || tv_fail "bad token: no set-up error: $(cat "$TV_DIR/err")"
if grep -q "not-a-token" "$TV_DIR/err"; then tv_fail "the token was echoed"; fi

# Usage errors exit 2.
for args in "--op nope" "--op get --connections 0" "--op get --format xml"; do
  rc=0
  # shellcheck disable=SC2086
  "$BENCH" --addr "unix:$TV_SOCK" --token-file "$TV_ROOT_TOKEN_FILE" $args >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || tv_fail "usage error ($args): exit $rc, want 2"
done

# No daemon: exit 1.
rc=0
"$BENCH" --addr "unix:$TV_DIR/nothing.sock" --token-file "$TV_ROOT_TOKEN_FILE" --op get \
  --connections 1 --requests 10 --value-size 64 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || tv_fail "no daemon: exit $rc, want 1"

tv_stop
echo "PASS test_bench_smoke"
