#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: the host edits audit.journal (docs/SECURITY.md, docs/AUDIT.md).
# Records of answered requests wait in the journal until they move into
# LMDB; an attacker who can write the state directory kills the daemon
# (SIGKILL: no drain) and then
#   erase:   zeroes the frame holding an answered Get (an erased read),
#   reorder: swaps two frames,
#   forge:   appends a well-chained frame "user:alice Get" (the trailer
#            computed as the format allows without the key).
# After a restart, erase and reorder must be refused (the daemon exits
# non-zero naming the frame's offset and seq), and a forged record must never
# enter the log: the daemon starts, the forgery is absent and reported, and
# `teevault audit verify --pubkey` only vouches for the true history.
. "$(dirname "$0")/cli_lib.sh"
cli_init
COMMON="$(cd "$TV_HERE/../common" && pwd)"
jpy() { PYTHONPATH="$COMMON" "$PY" "$@"; }

# Checkpoints (which move the journal into LMDB) only at shutdown.
cat >"$T/long.conf" <<'CONF'
[audit]
checkpoint_seconds = 86400
checkpoint_records = 100000
CONF
mkdir -p "$T/state"
TV_SOCK="$T/tv.sock"
TV_LOG="$T/teevaultd.log"
"$TVD" --dev --config "$T/long.conf" --state-dir "$T/state" --socket "$TV_SOCK" >>"$TV_LOG" 2>&1 &
TV_PID=$!
tv_wait_ready
wait_for "$T/state/root-token"
export TEEVAULT_ADDR="unix:$TV_SOCK" TEEVAULT_TOKEN="$(cat "$T/state/root-token")"
tv --format=json status
PUB=$(json audit_pubkey)
tv_in "v" kv put app/a
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
tv_in "v" kv put app/erase-me
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
# Reads only from here on: each request's record is one journal frame.
for s in app/a app/erase-me app/a app/a; do
  expect_rc 0 kv get "$s"
done
kill -KILL "$TV_PID"
wait "$TV_PID" 2>/dev/null || true
TV_PID=""
rm -f "$TV_SOCK"

# What the journal holds: its chain must recompute with the documented
# formula (the forgery below uses the same), and the erased Get is in it.
jpy - "$T/state/audit.journal" >"$T/frames" <<'PYEOF' || fail "journal not as documented"
import sys, tvjournal as J
data = open(sys.argv[1], "rb").read()
fr = J.frames(data)
assert len(fr) >= 4, "want >= 4 frames, got %d" % len(fr)
prev = None
for off, first, count, vals in fr:
    for i, v in enumerate(vals):
        canon, p, h = v[:-64], v[-64:-32], v[-32:]
        assert J.chain_hash(p, canon) == h, "seq %d: chain hash differs" % (first + i)
        if prev is not None:
            assert p == prev, "seq %d: prev_hash" % (first + i)
        prev = h
    get = any(b"app/erase-me" in v and b"Secrets/Get" in v for v in vals)
    print(off, first, count, get)
PYEOF
ERASE=$(awk '$NF == "True" {print $1, $2; exit}' "$T/frames")
[ -n "$ERASE" ] || fail "the Get of app/erase-me is not in the journal: $(cat "$T/frames")"
read -r EOFF ESEQ <<<"$ERASE"
pass "journal: $(wc -l <"$T/frames") frames, chain recomputes; erased Get at offset $EOFF (seq $ESEQ)"

# attack MODE FILE: edit the journal FILE in place as the host would.
attack() {
  jpy - "$1" "$2" "$EOFF" <<'PYEOF'
import sys, tvjournal as J
mode, p, eoff = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = bytearray(open(p, "rb").read())
fr = J.frames(bytes(data))
def span(f):
    return f[0], f[0] + J.HDR + sum(4 + len(v) for v in f[3]) + J.SUM
i = [k for k, f in enumerate(fr) if f[0] == eoff][0]
if mode == "erase":      # the answered Get disappears
    a, b = span(fr[i])
    data[a:b] = bytes(b - a)
elif mode == "reorder":  # it and the next frame swap places
    a, m = span(fr[i])
    _, b = span(fr[i + 1])
    data[a:b] = data[m:b] + data[a:m]
elif mode == "forge":    # a well-chained "user:alice Get" after the last frame
    last = fr[-1]
    _, end = span(last)
    seq = last[1] + last[2]
    val, _ = J.sealed(last[3][-1][-32:], seq, time_ns=1, principal="user:alice",
                      method="teevault.v1.Secrets/Get", secret="app/erase-me", version=1,
                      request_id="forged", peer="unix")
    f = J.frame(seq, [val], key=None, magic=bytes(data[0:4]))
    data[end:end + len(f)] = f
    print(end, seq)
open(p, "wb").write(bytes(data))
PYEOF
}

# start_copy NAME: a copy of the killed vault's state, the attack NAME applied
# to its journal, and a daemon started on it. Sets C_RC (exit status, or
# "running"), C_LOG, C_SOCK, C_PID, ATTACK_OUT.
start_copy() {
  local d="$T/$1" i
  rm -rf "$d"
  cp -a "$T/state" "$d"
  ATTACK_OUT=$(attack "$1" "$d/audit.journal") || fail "$1: could not edit the journal"
  C_LOG="$T/$1.log"
  C_SOCK="$T/$1.sock"
  "$TVD" --dev --config "$T/long.conf" --state-dir "$d" --socket "$C_SOCK" >"$C_LOG" 2>&1 &
  C_PID=$!
  C_RC=running
  for i in $(seq 1 200); do
    if ! kill -0 "$C_PID" 2>/dev/null; then
      C_RC=0
      wait "$C_PID" || C_RC=$?
      return 0
    fi
    if grep -q ' ready \|"event":"ready"' "$C_LOG"; then return 0; fi
    sleep 0.05
  done
  fail "$1: the daemon neither became ready nor exited"
}
stop_copy() {
  kill -TERM "$C_PID"
  wait "$C_PID" || fail "teevaultd exited non-zero after SIGTERM"
}

# refused NAME WHAT SEQ: the restarted daemon must exit non-zero, naming
# the frame's offset and seq.
refused() {
  if [ "$C_RC" = running ]; then
    stop_copy
    fail "$1: teevaultd started on a journal with $2 (log: $(grep -i journal "$C_LOG" | head -3))"
  fi
  CHECKS=$((CHECKS + 1))
  [ "$C_RC" -ne 0 ] || fail "$1: teevaultd exited 0"
  expect_in "offset $EOFF" "$(cat "$C_LOG")"
  expect_in "does not verify at offset $EOFF, seq $3" "$(cat "$C_LOG")"
  pass "$1: restart refused (exit $C_RC): $(grep -o 'does not verify at offset [0-9]*, seq [0-9]*' "$C_LOG" | head -1)"
}

start_copy erase
refused erase "an answered Get erased" "$ESEQ"

start_copy reorder
refused reorder "two frames swapped" "$((ESEQ + 1))"

# ---------------------------------------------------------------- forge
start_copy forge
read -r FOFF FSEQ <<<"$ATTACK_OUT"
[ "$C_RC" = running ] || fail "forge: teevaultd did not start (exit $C_RC): $(tail -n 5 "$C_LOG")"
export TEEVAULT_ADDR="unix:$C_SOCK"
"$TV" audit export >"$T/forge.jsonl" 2>"$T/forge.err" || fail "export: $(cat "$T/forge.err")"
expect_rc 0 audit verify "$T/forge.jsonl" --pubkey "$PUB"
CHECKS=$((CHECKS + 1))
if grep -q 'user:alice' "$T/forge.jsonl"; then
  fail "forge: the forged 'user:alice Get' is in the signed log and verify says: $OUT"
fi
# The true history is all there (the erased-in-other-copies Get included),
# and the log itself says a frame at that offset did not verify.
grep -q "\"seq\":$ESEQ,.*\"secret\":\"app/erase-me\"" "$T/forge.jsonl" ||
  fail "forge: the real Get of app/erase-me (seq $ESEQ) is missing"
grep -q "teevaultd/AuditJournalReplay.*offset $FOFF (seq $FSEQ)" "$T/forge.jsonl" ||
  fail "forge: no audit record reports the frame at offset $FOFF (seq $FSEQ)"
grep -q "offset $FOFF for seq $FSEQ does not verify" "$C_LOG" ||
  fail "forge: the log does not name the unverified frame"
pass "forge: not replayed; verify OK covers only the true history; reported at offset $FOFF seq $FSEQ"
stop_copy
echo "$CHECKS checks"
