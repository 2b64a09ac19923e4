#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: a second teevaultd on the same state directory (docs/SECURITY.md).
# Two daemons writing one store fork the audit chain for good. The second one
# must exit non-zero before it reads anything, naming the holder's pid, and
# the first must keep serving with an intact chain. After the first stops
# (even killed: the lock dies with its process) a new daemon starts.
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
FIRST=$TV_PID
tv --format=json status
SEQ0=$(json audit_seq)

# The second daemon: same state directory, its own socket.
RC2=0
timeout -k 5 20 "$TVD" --dev --state-dir "$TV_DIR/state" --socket "$T/second.sock" \
  >"$T/second.out" 2>&1 || RC2=$?
CHECKS=$((CHECKS + 1))
[ "$RC2" -ne 0 ] || fail "a second teevaultd started on the same state directory"
[ "$RC2" -ne 124 ] || fail "the second teevaultd did not exit (still running after 20 s)"
expect_in "in use by another teevaultd (pid $FIRST)" "$(cat "$T/second.out")"
[ ! -e "$T/second.sock" ] || fail "the second daemon created its socket"
pass "second daemon refused (exit $RC2): $(head -n 1 "$T/second.out")"

# The first is unharmed: it serves, and its chain verifies end to end.
tv_in "v1" kv put app/x
[ "$RC" -eq 0 ] || fail "kv put on the first daemon: $ERR"
tv --format=json status
[ "$RC" -eq 0 ] || fail "the first daemon stopped answering"
PUB=$(json audit_pubkey)
[ "$(json audit_seq)" -gt "$SEQ0" ] || fail "audit seq did not move"
"$TV" audit export >"$T/ex.jsonl" 2>"$T/ex.err" || fail "export: $(cat "$T/ex.err")"
expect_rc 0 audit verify "$T/ex.jsonl" --pubkey "$PUB"
pass "the first daemon keeps serving; its audit log verifies"

# Killed without a clean shutdown: the kernel drops the lock with the process.
kill -KILL "$FIRST"
wait "$FIRST" 2>/dev/null || true
TV_PID=""
rm -f "$TV_SOCK"
tv_start_dev
expect_rc 0 status
pass "after the holder died, a new daemon takes the state directory"
tv_stop
echo "$CHECKS checks"
