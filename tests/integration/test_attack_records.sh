#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attacker test (issue 11, attack 1): the host writes records into data.mdb of
# a RUNNING vault with the LMDB tools (mdb_load), holding no key:
#   - a root token record made from scratch (SHA-256 of a random token),
#   - a user record copied from a vault the attacker runs itself,
#   - the policy bound to a limited token rewritten to grant "**",
#   - a function's identity re-pointed at another measurement.
# Each forged record must be refused with an integrity error (and audited),
# never honoured; nothing else may be lost: the root token, the secrets, the
# repaired policy and a restart all keep working.
# On the code before the record layer (vault_record.c) every one of these
# attacks succeeds (see docs/SECURITY.md).
. "$(dirname "$0")/cli_lib.sh"
command -v mdb_load >/dev/null && command -v mdb_dump >/dev/null ||
  fail "mdb_load/mdb_dump missing (lmdb-utils, scripts/deps.sh)"
FORGE() { tv_py "$TV_HERE/forge_records.py" "$@"; }
cli_init

# The attacker's own vault, to take a user record from.
EVIL=$T/evil
mkdir -p "$EVIL"
"$TVD" --dev --state-dir "$EVIL/state" --socket "$EVIL/s.sock" >"$EVIL/log" 2>&1 &
EVIL_PID=$!
wait_for "$EVIL/state/root-token"
for i in $(seq 1 100); do [ -S "$EVIL/s.sock" ] && break; sleep 0.05; done
printf 'mallory pw 123\n' >"$T/mallory.pw"
TEEVAULT_ADDR="unix:$EVIL/s.sock" TEEVAULT_TOKEN=$(cat "$EVIL/state/root-token") \
  expect_rc 0 user add mallory --password-file="$T/mallory.pw"
kill -TERM "$EVIL_PID"
wait "$EVIL_PID" || fail "attacker's vault did not stop cleanly"

start_dev
ROOT=$(cat "$ROOT_TOKEN_FILE")
export TEEVAULT_TOKEN=$ROOT
ENV=$T/state
tv_in 'kept-value' kv put keep/me
[ "$RC" -eq 0 ] || fail "kv put keep/me: $ERR"
tv_in 'top-secret' kv put other/secret
[ "$RC" -eq 0 ] || fail "kv put other/secret: $ERR"
printf 'path "keep/*" { capabilities = ["read"] }\n' >"$T/keep.hcl"
expect_rc 0 policy write keep "$T/keep.hcl"
expect_rc 0 --format=json token create --policy=keep
TOK=$(json token)
TEEVAULT_TOKEN=$TOK expect_rc 4 kv get other/secret
expect_in "denied" "$ERR"
MA=$(printf 'runtime-a' | sha256sum | cut -d' ' -f1)
MX=$(printf 'attacker-runtime' | sha256sum | cut -d' ' -f1)
printf '{"evidence_type":"sim","measurement":"%s","code_in_measurement":true}\n' "$MA" >"$T/fn.json"
expect_rc 0 function register fn-a --policy "$T/fn.json" --acl keep

# 1. A root token made from scratch.
FORGED=$(FORGE token "$ENV") || fail "forging the token record"
TEEVAULT_TOKEN=$FORGED expect_rc 7 kv get other/secret
expect_in "integrity" "$ERR"
[ "$OUT" != top-secret ] || fail "forged token read a secret"
pass "forged root token record refused (integrity)"

# 2. Another vault's user record, copied in.
FORGE copy "$EVIL/state" "$ENV" users mallory || fail "copying the user record"
expect_rc 7 login mallory --password-file="$T/mallory.pw"
expect_in "integrity" "$ERR"
pass "user record from another vault refused (integrity)"

# 3. The limited token's policy rewritten to grant everything.
FORGE policy "$ENV" keep 'path "**" { capabilities = ["read", "list", "create", "update"] }' ||
  fail "forging the policy record"
TEEVAULT_TOKEN=$TOK expect_rc 7 kv get other/secret
expect_in "integrity" "$ERR"
[ "$OUT" != top-secret ] || fail "forged policy granted a secret"
TEEVAULT_TOKEN=$TOK expect_rc 7 kv get keep/me # the forged record is not half-trusted
expect_in "integrity" "$ERR"
pass "policy record rewritten to ** refused (integrity)"

# 4. A function re-pointed at the attacker's measurement.
FORGE repoint "$ENV" fn-a "$MA" "$MX" || fail "re-pointing the function record"
expect_rc 7 function show fn-a
expect_in "integrity" "$ERR"
[[ "$OUT" != *"$MX"* ]] || fail "re-pointed function shown as valid"
pass "function record re-pointed at another measurement refused (integrity)"

# The refusals are audited, with their outcome.
expect_rc 0 --format=json audit export
expect_in '"integrity"' "$OUT$(cat "$T/stderr")"
pass "integrity refusals are in the audit log"
grep -q 'record_integrity' "$TV_LOG" || fail "no record_integrity log line"
! grep -q 'attacker-runtime\|top-secret' "$TV_LOG" || fail "the log shows record contents"
pass "daemon logs the table and key of each bad record, no contents"

# Nothing lost: root and the secrets work; the operator repairs the policy
# and the function by writing them again; the forged user can be deleted.
expect_rc 0 kv get other/secret
[ "$OUT" = top-secret ] || fail "root lost other/secret: $OUT"
expect_rc 0 policy write keep "$T/keep.hcl"
TEEVAULT_TOKEN=$TOK expect_rc 0 kv get keep/me
[ "$OUT" = kept-value ] || fail "repaired policy: $OUT"
TEEVAULT_TOKEN=$TOK expect_rc 4 kv get other/secret
expect_in "denied" "$ERR"
expect_rc 0 function register fn-a --policy "$T/fn.json" --acl keep
expect_rc 0 function show fn-a
expect_in "$MA" "$OUT"
expect_rc 0 user delete mallory
pass "nothing lost: root, secrets, repaired policy and function work"

stop_vault
tv_start_dev
expect_rc 0 kv get keep/me
[ "$OUT" = kept-value ] || fail "after restart: $OUT"
TEEVAULT_TOKEN=$FORGED expect_rc 7 kv get keep/me
expect_in "integrity" "$ERR"
pass "after a restart the vault unseals, data intact, forged token still refused"
echo "PASS ($CHECKS checks)"
