#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Audit retention (issue 14) against the real teevaultd through the real CLI:
#   - a small store fills with audit records (authenticated Gets, each with
#     its own record): `teevault status` warns from warn_percent on, the log
#     says so, a Put at the high-water mark (90%) is refused and Gets past
#     95% (the last part is kept for getting out) with messages that name
#     only what works (archive, or a bigger map) - not kv destroy;
#   - `teevault audit archive --out FILE` works from there: it exports and
#     verifies the prefix, the vault drops it and keeps the anchor record
#     with a signed checkpoint; the store has room again (Get and Put work),
#     the archive and a live export verify as one chain with the key from
#     `teevault status`;
#   - attacks: Prune with a hash that is not the record's (a client without
#     the archive, or holding another chain) and Prune by an operator with
#     admin but not destroy on sys/audit are refused and drop nothing; an
#     altered archive, or an archive and a live export that do not continue
#     each other, fail `audit verify`; an existing --out file is never
#     overwritten;
#   - a restart after archiving starts (the tail check begins at the anchor),
#     a second archive continues the first: a1 + a2 + live verify as one.
. "$(dirname "$0")/cli_lib.sh"
cli_init

cat >"$T/small.conf" <<CONF
[limits]
map_size = 16M
[audit]
warn_percent = 60
aggregate_seconds = 1
checkpoint_records = 100
CONF
mkdir -p "$T/state"
tv_start_dev --config "$T/small.conf"
ROOT_TOKEN_FILE="$TV_DIR/state/root-token"
wait_for "$ROOT_TOKEN_FILE"
export TEEVAULT_ADDR="unix:$TV_SOCK" TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
fill() { tv_py "$TV_HERE/audit_fill.py" "$TV_SOCK" "$ROOT_TOKEN_FILE" fill "$1"; }
prune() { tv_py "$TV_HERE/audit_fill.py" "$TV_SOCK" "${3:-$ROOT_TOKEN_FILE}" prune "$1" "$2"; }
pct() { tv --format=json status && json audit_used_percent; }

tv_in "keep-me" kv put keep/me
[ "$RC" -eq 0 ] || fail "first put: $ERR"
# An auditor with admin but not destroy on sys/audit (used below).
printf 'path "sys/audit" { capabilities = ["admin"] }\n' >"$T/auditor.hcl"
expect_rc 0 policy write auditor "$T/auditor.hcl"
expect_rc 0 --format=json token create --policy auditor
AUD_TOKEN=$(json token)
printf '%s' "$AUD_TOKEN" >"$T/auditor.tok"

# Fill with audited Gets until a Put is refused at the high-water mark.
refused=""
for round in $(seq 1 60); do
  fill 2000 >/dev/null || fail "fill round $round"
  tv_in "v$round" kv put "fill/$round"
  if [ "$RC" -ne 0 ]; then refused="$ERR"; break; fi
done
[ -n "$refused" ] || fail "120,000 audited Gets on a 16 MiB map never reached the high-water mark"
expect_in "audit archive" "$refused"
case "$refused" in *destroy*) fail "the storage-full error suggests kv destroy: $refused" ;; esac
expect_rc 0 --format=json status
expect_in "teevault audit archive" "$(json warning)"
FULL=$(json audit_used_percent)
[ "$FULL" -ge 90 ] || fail "Put refused at $FULL% (high-water 90%)"
sleep 1.5 # the writer's fill check runs every aggregate_seconds
grep -q 'storage_filling' "$TV_LOG" || fail "no storage_filling warning in the log"
pass "Put refused at $FULL% ($(printf '%s' "$refused" | head -c 100)...), status and log warn"
# Reads go on, audited, until the last part kept for the way out.
got=""
for round in $(seq 1 30); do
  out=$(fill 1000) || fail "fill round $round: $out"
  got=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["msg"] if d["codes"].get("8") else "")')
  [ -n "$got" ] && break
done
[ -n "$got" ] || fail "Gets were never refused before the store filled up"
expect_in "audit archive" "$got"
expect_rc 0 --format=json status
FULL=$(json audit_used_percent)
PK=$(json audit_pubkey)
HEAD=$(json audit_seq)
[ "$FULL" -ge 95 ] || fail "Gets refused at $FULL% (the reserve starts at 95%)"
pass "Gets refused at $FULL% after $HEAD records ($(printf '%s' "$got" | head -c 80)...); Status still answers"

# Attack: drop without the archive (a hash that is not the record's).
out=$(prune "$HEAD" "$(printf '%064d' 0)") || fail "prune: $out"
echo "prune with a wrong hash: $out"
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["code"] != 0 else 1)' "$out" ||
  fail "Prune with a wrong hash was accepted"
expect_rc 0 --format=json audit list --limit 1
[ "$(json records.0.seq)" = 1 ] || fail "a refused Prune dropped records"
pass "Prune with a hash that is not the record's: refused, nothing dropped"
# Malformed: a 1-byte hash, seq 0, a seq past the head.
for bad in "$HEAD 00" "0 $(printf '%064d' 0)" "$((HEAD + 1000)) $(printf '%064d' 0)"; do
  out=$(prune $bad) || fail "prune $bad: $out"
  /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["code"] in (3, 9) else 1)' "$out" ||
    fail "malformed Prune ($bad) not refused as invalid: $out"
done
pass "malformed Prune requests (short hash, seq 0, past the head): INVALID_ARGUMENT"

# Attack: that auditor drops history.
TEEVAULT_TOKEN="$AUD_TOKEN" expect_rc 4 audit archive --out "$T/by-auditor.jsonl"
expect_in "destroy" "$ERR"
expect_in "kept its records" "$ERR"
expect_rc 0 --format=json audit list --limit 1
[ "$(json records.0.seq)" = 1 ] || fail "a refused archive dropped records"
pass "archive by a token without destroy on sys/audit: nothing dropped (its export may stay: it could export anyway)"

# The archive.
expect_rc 0 --format=json audit archive --out "$T/a1.jsonl" --pubkey "$PK"
A1_LAST=$(json last_seq)
DROPPED=$(json dropped)
[ "$(json vault_first_seq)" = "$A1_LAST" ] || fail "the vault does not start at the anchor: $OUT"
[ "$DROPPED" -ge 20000 ] || fail "only $DROPPED records dropped"
[ "$(mode_of "$T/a1.jsonl")" = 600 ] || fail "archive mode $(mode_of "$T/a1.jsonl")"
expect_rc 1 audit archive --out "$T/a1.jsonl"
expect_in "never overwritten" "$ERR"
AFTER=$(pct)
[ "$AFTER" -lt 60 ] || fail "still $AFTER% used after dropping $DROPPED records"
expect_rc 0 kv get keep/me
expect_rc 0 --format=json status
[ "$(json warning 2>/dev/null)" = "" ] || case "$(json warning)" in *"audit archive"*) fail "still warns: $(json warning)" ;; esac
tv_in "after-archive" kv put after/archive
[ "$RC" -eq 0 ] || fail "Put after archiving: $ERR"
expect_rc 0 kv get keep/me
expect_in "keep-me" "$OUT"
pass "archived 1..$A1_LAST ($DROPPED dropped): $FULL% -> $AFTER% used, Put works again"

# The archive and the live log verify as one (and each alone).
expect_rc 0 audit export
printf '%s\n' "$OUT" >"$T/live.jsonl"
head -2 "$T/live.jsonl" | tail -1 | grep -q "\"seq\":$A1_LAST," || fail "the live export does not start at the anchor"
expect_rc 0 --format=json audit verify "$T/a1.jsonl" "$T/live.jsonl" --pubkey "$PK"
[ "$(json first_seq)" = 1 ] || fail "joined verify does not start at 1: $OUT"
expect_rc 0 audit verify "$T/a1.jsonl" --pubkey "$PK"
expect_rc 0 audit verify "$T/live.jsonl" --pubkey "$PK"
pass "archive + live export verify as one chain from seq 1"

# Attack: an altered archive, and files that do not continue each other.
sed '0,/"principal":"root-token/s//"principal":"user:mallory token/' "$T/a1.jsonl" >"$T/a1-bad.jsonl"
cmp -s "$T/a1.jsonl" "$T/a1-bad.jsonl" && fail "the tamper did not change the archive"
expect_rc 7 audit verify "$T/a1-bad.jsonl" "$T/live.jsonl" --pubkey "$PK"
head -n 200 "$T/a1.jsonl" >"$T/a1-cut.jsonl"
expect_rc 7 audit verify "$T/a1-cut.jsonl" "$T/live.jsonl" --pubkey "$PK"
expect_in "do not continue" "$OUT"
pass "an altered or cut archive does not verify with the live log"

# Drop again without the archive: the records are gone from the vault, and
# the anchor cannot be dropped by a Prune naming an older seq.
out=$(prune 5 "$(printf '%064d' 0)")
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["code"] != 0 else 1)' "$out" ||
  fail "Prune of an already dropped seq was accepted: $out"

# A restart: the tail check starts at the anchor's checkpoint.
stop_vault
tv_start_dev --config "$T/small.conf"
expect_rc 0 kv get keep/me
fill 5000 >/dev/null || fail "fill after restart"
expect_rc 0 --format=json audit archive --out "$T/a2.jsonl" --pubkey "$PK"
A2_LAST=$(json last_seq)
[ "$A2_LAST" -gt "$A1_LAST" ] || fail "second archive ends at $A2_LAST"
expect_rc 0 audit export
printf '%s\n' "$OUT" >"$T/live2.jsonl"
expect_rc 0 --format=json audit verify "$T/a1.jsonl" "$T/a2.jsonl" "$T/live2.jsonl" --pubkey "$PK"
expect_in '"result":"OK"' "$OUT"
expect_rc 7 audit verify "$T/a1.jsonl" "$T/live2.jsonl" --pubkey "$PK"
pass "after a restart: a second archive continues the first (a1 + a2 + live verify, a1 + live do not)"

stop_vault
echo "test_audit_archive: $CHECKS checks, all passed"
