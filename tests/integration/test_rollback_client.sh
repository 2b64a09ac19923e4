#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 12, attack 2 (client side): the host restores an older copy of the
# vault's state directory. A client that saw the newer signed state refuses
# the vault ("rolled back") — the CLI (`teevault attest vault`) and the C
# client (client/examples/secrets_get.c through libteevault) — through their
# known_vaults file (TEEVAULT_KNOWN_VAULTS here; ~/.config/teevault/known_vaults
# by default).
#
#   1. start, verify (known_vaults records state S1), stop, copy the state dir
#   2. start, write secrets (state S2 > S1), verify (records S2), stop
#   3. restore the copy (S1), start: CLI and C client refuse, naming what they
#      saw; a client that never saw S2 (fresh known_vaults) cannot tell
#      (that is what the vault's witness is for) and accepts
#   4. forgetting the vault (its line removed, as the message says) accepts it
#   5. a restored copy started often enough to overtake the remembered state
#      version and audit seq is still refused: its audit chain does not hold
#      the record the client saw (Attestation.AuditAt)
# On the code before (52a14d5) the restored vault answered as if nothing
# happened: there was no known_vaults, Report bound no state version.
. "$(dirname "$0")/cli_lib.sh"

EX="$TV_BIN/tv_example_secrets_get"
[ -x "$EX" ] || fail "no example binary at $EX"
cli_init
export TEEVAULT_KNOWN_VAULTS="$T/known_vaults"
PLAT="$T/state"

start_dev
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
PUB="$PLAT/sim_platform.pub"
verify() { tv attest vault --sim-pubkey "$PUB" --format json "$@"; }

verify
[ "$RC" -eq 0 ] || fail "attest vault: $ERR"
sv1=$(json state_version)
seq1=$(json audit_seq)
vid=$(json vault_id)
[ "$sv1" -gt 0 ] || fail "the Report binds no state version ($sv1)"
[ "$(stat -c %a "$TEEVAULT_KNOWN_VAULTS")" = 600 ] || fail "known_vaults is not 0600"
grep -q "^$vid $sv1 $seq1 " "$TEEVAULT_KNOWN_VAULTS" || fail "known_vaults lacks the vault: $(cat "$TEEVAULT_KNOWN_VAULTS")"
# A function runtime and its secret, registered before the copy.
printf 'runtime R' >"$T/runtime"
printf 'code C' >"$T/code.js"
mkdir -p "$T/rt"
sha() { sha256sum "$1" | cut -d' ' -f1; }
printf '{"evidence_type":"sim","measurement":"%s","code_hash":"%s"}\n' "$(sha "$T/runtime")" \
  "$(sha "$T/code.js")" >"$T/fn.json"
printf 'path "app/*" { capabilities = ["read"] }\n' >"$T/fn.hcl"
expect_rc 0 policy write fn-read "$T/fn.hcl"
tv_in 'v1-old' kv put app/key
expect_rc 0 function register fn --policy "$T/fn.json" --acl fn-read
stop_vault
cp -a "$PLAT" "$T/state.copy"
pass "state S1 (version $sv1) seen and copied"

start_dev
tv_in 'v2-new' kv put app/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
tv_in 'other' kv put app/other
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
verify
[ "$RC" -eq 0 ] || fail "attest vault after writes: $ERR"
sv2=$(json state_version)
[ "$sv2" -gt "$sv1" ] || fail "state version did not grow ($sv1 -> $sv2)"
# The C client sees it too (its own verification of the same vault).
run_fn() {
  OUT=$(env -u TEEVAULT_TOKEN "$EX" -a "unix:$TV_SOCK" -t sim -r "$PLAT" -s "$T/rt" \
    -m "$T/runtime" -V "$PUB" -f fn -c "$T/code.js" app/key 2>"$T/ex.err")
  RC=$?
  ERR=$(cat "$T/ex.err")
}
run_fn
[ "$RC" -eq 0 ] && [ "$OUT" = "v2-new" ] || fail "function read before the restore: $ERR"
# Reads land in the audit journal before LMDB: the record this client saw
# last may be one of them when it asks AuditAt; the vault settles and answers.
verify
[ "$RC" -eq 0 ] || fail "attest vault after the function read: $ERR"
for i in 1 2 3; do
  tv kv get app/key
  [ "$RC" -eq 0 ] || fail "kv get: $ERR"
done
verify
[ "$RC" -eq 0 ] || fail "attest vault after journalled reads (AuditAt): $ERR"

# Concurrent clients of one user share the file while the state moves on:
# a Report signed before another client recorded a newer state is not a
# rollback (the reply is judged against the file as it was when the request
# was sent). Before this was fixed, about one verification in ten failed.
(for i in $(seq 1 60); do printf 'w%s' "$i" | "$TV" kv put app/churn >/dev/null 2>&1; done) &
writer=$!
for p in 1 2 3 4 5 6; do
  (for i in 1 2 3 4 5 6 7 8; do
    "$TV" attest vault --sim-pubkey "$PUB" >/dev/null 2>"$T/conc.$p.$i" || exit 1
  done) &
  eval "conc_$p=\$!"
done
bad=0
for p in 1 2 3 4 5 6; do eval "wait \$conc_$p" || bad=$((bad + 1)); done
wait "$writer"
if [ "$bad" -ne 0 ]; then cat "$T"/conc.* >&2; fail "$bad concurrent verifiers saw a false rollback"; fi
verify
[ "$RC" -eq 0 ] || fail "attest vault after the concurrent run: $ERR"
[ "$(json state_version)" -gt "$sv2" ] || fail "the concurrent writes did not move the state on"
sv2=$(json state_version)
stop_vault
pass "48 concurrent verifications sharing known_vaults while 60 writes land: no false rollback (state S2 = version $sv2)"

# The host restores the old copy.
rm -rf "$PLAT"
cp -a "$T/state.copy" "$PLAT"
start_dev
verify
[ "$RC" -eq 7 ] || fail "the CLI accepted a rolled-back vault: $OUT"
expect_in "rolled back" "$ERR"
expect_in "state directory was restored" "$ERR"
expect_in "$TEEVAULT_KNOWN_VAULTS" "$ERR"
grep -q "^$vid $sv2 " "$TEEVAULT_KNOWN_VAULTS" || fail "the refusal changed known_vaults"
pass "CLI refuses the restored vault (rolled back from $sv2)"

run_fn
[ "$RC" -eq 1 ] || fail "the C client accepted a rolled-back vault"
expect_in "rolled back" "$ERR"
case "$OUT" in *v1-old*) fail "the function was served the old value" ;; esac
pass "C client (libteevault) refuses the restored vault"

# A client that never saw S2 cannot tell by itself (the witness's job).
TEEVAULT_KNOWN_VAULTS="$T/fresh_known" verify
[ "$RC" -eq 0 ] || fail "a fresh client refused: $ERR"
# Forgetting the vault, as the message says, accepts it again.
grep -v "^$vid " "$TEEVAULT_KNOWN_VAULTS" >"$T/kv.tmp"
cat "$T/kv.tmp" >"$TEEVAULT_KNOWN_VAULTS"
verify
[ "$RC" -eq 0 ] || fail "after forgetting the vault: $ERR"
pass "a client without history accepts; removing the line re-trusts the vault"

# Counters are not enough: every start commits (state version +3, audit seq
# +1), so a restored copy started a few times signs a state "newer" than
# the one this client saw. The client asks the vault (AuditAt, signed with
# its nonce) for the hash of the audit record it saw: the restored chain
# holds another record there. Before AuditAt both clients accepted this.
stop_vault
cp -a "$PLAT" "$T/state.copy2"
start_dev
tv_in 'v3-newest' kv put app/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
verify
[ "$RC" -eq 0 ] || fail "attest vault before the second restore: $ERR"
sv3=$(json state_version)
seq3=$(json audit_seq)
stop_vault
rm -rf "$PLAT"
cp -a "$T/state.copy2" "$PLAT"
for i in 1 2 3 4 5; do
  start_dev
  stop_vault
done
start_dev
TEEVAULT_KNOWN_VAULTS="$T/fresh_known2" verify
[ "$RC" -eq 0 ] || fail "a fresh client refused the restarted copy: $ERR"
[ "$(json state_version)" -gt "$sv3" ] && [ "$(json audit_seq)" -gt "$seq3" ] ||
  fail "the restarted copy did not overtake the counters ($(json state_version)/$(json audit_seq) vs $sv3/$seq3)"
verify
[ "$RC" -eq 7 ] || fail "the CLI accepted a restored copy whose counters overtook: $OUT"
expect_in "forked" "$ERR"
expect_in "record $seq3" "$ERR"
run_fn
[ "$RC" -eq 1 ] || fail "the C client accepted a restored copy whose counters overtook"
expect_in "rolled back or forked" "$ERR"
grep -q "^$vid $sv3 $seq3 " "$TEEVAULT_KNOWN_VAULTS" || fail "the refusal changed known_vaults"
pass "a restored copy started 6 times (counters past $sv3/$seq3) is refused: its chain lacks record $seq3"

# known_vaults that cannot be written: refused with a clear error, not skipped.
TEEVAULT_KNOWN_VAULTS=/proc/version verify
[ "$RC" -eq 1 ] || fail "an unwritable known_vaults was ignored"
expect_in "/proc/version" "$ERR"
pass "an unusable known_vaults file is an error"
stop_vault
echo "test_rollback_client: all passed"
