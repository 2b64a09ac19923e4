#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash test, CI size: 3 cycles of SIGKILL during a mixed load, restart,
# nothing acknowledged lost, audit export verifies, every acknowledged read
# and write audited (tests/crash/crash_test.py; the bench runs 100 cycles
# with scripts/crash-test.sh). Then the checks themselves are shown to
# fail: a journal claiming an acknowledged write the vault never had is
# reported as LOST, and a read without its audit record is reported.
. "$(dirname "$0")/lib.sh"

CRASH_LOAD="$TV_BIN/crash_load"
[ -x "$CRASH_LOAD" ] || tv_fail "no crash_load at $CRASH_LOAD"

out=$(/usr/bin/python3 "$TV_HERE/../crash/crash_test.py" --bin "$TV_BIN" --cycles 3 \
    --kill-min-ms 100 --kill-max-ms 800 2>&1) || { echo "$out" >&2; tv_fail "crash test failed"; }
echo "$out" | tail -n 5
summary=$(echo "$out" | tail -n 1)
case "$summary" in
    *" lost=0 missing_audit=0 "*) ;;
    *) tv_fail "unexpected summary: $summary" ;;
esac
writes=$(echo "$summary" | sed -n 's/.* acked_writes=\([0-9]*\) .*/\1/p')
[ "${writes:-0}" -gt 0 ] || tv_fail "no acknowledged writes in 3 cycles: $summary"

# The verifier can fail: an acknowledged write the vault does not hold.
tv_start_dev
j="$TV_DIR/journal.tsv"
printf 'W\tcrash/neg/t0/k0\t1\tneverwritten\n' >"$j"
if "$CRASH_LOAD" verify --addr "unix:$TV_SOCK" --token-file "$TV_ROOT_TOKEN_FILE" --journal "$j" \
    >"$TV_DIR/v.out" 2>&1; then
    tv_fail "verify passed on a write the vault never had"
fi
grep -q "LOST: crash/neg/t0/k0 version 1" "$TV_DIR/v.out" || tv_fail "no LOST line: $(cat "$TV_DIR/v.out")"
# ... and a wrong value at an existing version.
"$TV_BIN/teevault" --addr "unix:$TV_SOCK" --token-file "$TV_ROOT_TOKEN_FILE" kv put crash/neg/t0/k1 \
    < <(printf 'real-value') >/dev/null || tv_fail "kv put failed"
printf 'W\tcrash/neg/t0/k1\t1\tother-value\n' >"$j"
if "$CRASH_LOAD" verify --addr "unix:$TV_SOCK" --token-file "$TV_ROOT_TOKEN_FILE" --journal "$j" \
    >"$TV_DIR/v.out" 2>&1; then
    tv_fail "verify passed on a mismatched value"
fi
grep -q "MISMATCH: crash/neg/t0/k1 version 1" "$TV_DIR/v.out" || tv_fail "no MISMATCH line"
tv_stop

# The audit matcher can fail: a read acknowledged twice, recorded once.
PYTHONPATH="$TV_HERE/../crash" /usr/bin/python3 - <<'PY' || tv_fail "check_audit does not catch a missing record"
import crash_test as C
recs = [{"principal": "root-token:ab", "method": "teevault.v1.Secrets/Get", "status": 0,
         "secret": "crash/c1/t0/k0", "version": 3},
        {"principal": "root-token:ab", "method": "teevault.v1.Secrets/Put", "status": 0,
         "secret": "crash/c1/t0/k0", "version": 3}]
assert C.check_audit(recs, [("crash/c1/t0/k0", 3)], [("crash/c1/t0/k0", 3)]) == []
m = C.check_audit(recs, [("crash/c1/t0/k0", 3)], [("crash/c1/t0/k0", 3)] * 2)
assert m == [(("R", "crash/c1/t0/k0", 3), 2, 1)], m
assert C.check_audit(recs, [("crash/c1/t0/k0", 4)], []) != []
PY
echo "test_crash: ok"
