#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `teevault operator rotate`: a new KEK epoch at once, then the vault re-wraps
# the older data keys in bounded steps (vault_rotate.c) while it keeps
# serving: with 20,000 versions, reads and Status answer mid-re-wrap (the
# one-shot re-wrap held the event loop for the whole run), the CLI prints
# progress, every version ends under the new epoch and still reads back,
# and a second rotate while one runs is refused with a clear message.
. "$(dirname "$0")/cli_lib.sh"
cli_init
N=20000
BIN=$TV_BIN
tv_start_dev
tv_stop
"$BIN/teevault-bench-fill" --state-dir "$TV_DIR/state" --count "$N" --value-size 16 >/dev/null 2>&1 ||
  fail "bench-fill"
tv_start_dev
export TEEVAULT_ADDR="unix:$TV_SOCK" TEEVAULT_TOKEN_FILE="$TV_ROOT_TOKEN_FILE"
LAST=$(printf 'bench/fill/k%08d' $((N - 1)))

# Rotate over the raw protocol, then Sys.Status as fast as it answers on a
# second connection: the re-wrap must leave room for it (samples with
# 0 < visited < N), and no answer may wait more than 250 ms (a step is one
# write transaction of 256 versions).
tv_py - "$TV_SOCK" "$(cat "$TV_ROOT_TOKEN_FILE")" "$N" >"$TV_DIR/rot.out" <<'PY' || fail "sampler: $(cat "$TV_DIR/rot.out")"
import sys, time, ttrpc_raw as T
sock, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
md = [("authorization", "Bearer " + token)]
a, b = T.Conn(sock), T.Conn(sock)
code, msg, payload = a.call("teevault.v1.Sys", "Rotate", b"", md)
assert code == 0, (code, msg)
r = T.parse_fields(payload)
assert r.get(1, [0])[0] == 2 and r.get(3, [0])[0] == n, r
mid, worst, last, t0 = 0, 0.0, time.monotonic(), time.monotonic()
while time.monotonic() - t0 < 60:
    code, msg, payload = b.call("teevault.v1.Sys", "Status")
    now = time.monotonic()
    worst, last = max(worst, now - last), now
    assert code == 0, (code, msg)
    f = T.parse_fields(payload)
    running, visited = f.get(19, [0])[0], f.get(22, [0])[0]
    if running and 0 < visited < n:
        mid += 1
    if not running:
        break
print("mid=%d worst_ms=%.0f rewrapped=%d" % (mid, worst * 1000, f.get(21, [0])[0]))
assert not running, "re-wrap did not finish"
assert mid > 0, "no request answered while the re-wrap was under way"
assert worst < 0.25, "a Status waited %.0f ms during the re-wrap" % (worst * 1000)
assert f.get(21, [0])[0] == n, "rewrapped %d of %d" % (f.get(21, [0])[0], n)
PY
cat "$TV_DIR/rot.out"
expect_rc 0 --format=json status
[ "$(json rotation_running)" = false ] || fail "still running: $OUT"
[ "$(json rotation_rewrapped)" = "$N" ] || fail "rewrapped: $OUT"
[ "$(json rotation_error)" = "" ] || fail "rotation error: $OUT"
[ "$(json kek_epoch)" = 2 ] || fail "epoch after: $OUT"
expect_rc 0 --format=json kv describe "$LAST"
[ "$(json versions.0.kek_epoch)" = 2 ] || fail "version not re-wrapped: $OUT"
expect_rc 0 kv get bench/fill/k00000000
[ "${#OUT}" -eq 16 ] || fail "first secret after the re-wrap"
pass "re-wrap in steps: Status answered mid-re-wrap ($(cat "$TV_DIR/rot.out")); all $N under epoch 2"

# A second rotate while one re-wraps is refused with the reason.
expect_rc 0 operator rotate --no-wait
expect_rc 1 operator rotate
expect_in "still re-wrapping" "$ERR"
for _ in $(seq 1 300); do
  tv status --field rotation_running
  [ "$OUT" = false ] && break
  sleep 0.1
done
[ "$OUT" = false ] || fail "the epoch-3 re-wrap did not finish"
expect_rc 0 --field kek_epoch status
[ "$OUT" = 3 ] || fail "a refused rotate changed the epoch: $OUT"
pass "a rotate during a re-wrap is refused and changes nothing"

# With waiting: progress on stderr, then the result.
expect_rc 0 operator rotate
expect_in "rotated to key epoch 4" "$ERR"
expect_in "of $N versions" "$ERR"
expect_in "done                   true" "$OUT"
expect_in "rewrapped              $N" "$OUT"
grep -q '"rotate"' "$TV_LOG" || grep -q ' rotate ' "$TV_LOG" || fail "rotate not logged at info"
pass "operator rotate prints progress and waits for the re-wrap"
echo "PASS ($CHECKS checks)"
