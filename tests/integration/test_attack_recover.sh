#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attacker test (issue 11, attack 2): the host copies ANOTHER vault's recovery
# escrow (rk.escrow, with its vault.id, keyring and state.version) into
# this vault's meta and calls Sys.Recover with that vault's passphrase, which
# it knows. Before the vault id and the record layer, the vault adopted the
# attacker's root key (also while active: Recover was public). Now:
#   - on an active vault, Recover needs an admin token,
#   - with one, it only re-seals the LIVE root key: another key is refused,
#   - on a sealed vault, the recovered key must derive the stored vault id
#     and verify the store's records: the foreign key is refused, the vault
#     stays sealed, and its own escrow still recovers it with nothing lost;
#   - a changed audit public key refuses to start, saying what to do.
. "$(dirname "$0")/cli_lib.sh"
command -v mdb_load >/dev/null && command -v mdb_dump >/dev/null ||
  fail "mdb_load/mdb_dump missing (lmdb-utils, scripts/deps.sh)"
FORGE() { tv_py "$TV_HERE/forge_records.py" "$@"; }
cli_init
meta_get() { FORGE get "$1" meta "$2"; }
meta_put() { FORGE set "$1" meta "$2" "$3"; }

# The attacker's vault A, passphrase known to the attacker.
printf 'attacker passphrase 0123\n' >"$T/pa"
start_conf "$T/a"
expect_rc 0 --format=json operator init --passphrase-file="$T/pa"
stop_vault
for k in rk.escrow keyring; do
  [ -n "$(meta_get "$T/a" $k)" ] || fail "attacker vault has no $k"
done

# The victim V.
printf 'victim passphrase 456789\n' >"$T/pv"
start_conf "$T/v"
expect_rc 0 --format=json operator init --passphrase-file="$T/pv"
ROOT=$(json root_token)
TEEVAULT_TOKEN=$ROOT tv_in 'victim-secret' kv put app/db
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
declare -A OWN
for k in rk.escrow vault.id keyring state.version; do OWN[$k]=$(meta_get "$T/v" $k); done

inject() { # inject KEY...: copy A's records into V's meta (daemon running or not)
  local k
  for k in "$@"; do
    v=$(meta_get "$T/a" $k)
    [ -z "$v" ] || meta_put "$T/v" $k "$v" || fail "injecting $k"
  done
}
restore() {
  local k
  for k in rk.escrow vault.id keyring state.version; do
    [ -z "${OWN[$k]}" ] || meta_put "$T/v" $k "${OWN[$k]}" || fail "restoring $k"
  done
}

# 1. Active vault, no token: refused before any passphrase work. (While the
# daemon runs, the host swaps the escrow, the vault id and the epoch; a
# swapped state.version would stop every write of this vault instead.)
inject rk.escrow vault.id keyring
expect_rc 4 operator recover --passphrase-file="$T/pa"
expect_in "needs admin on sys/recover" "$ERR"
pass "recover on an active vault without a token refused"

# 2. Active vault with the root token: the escrow opens, but not to the live key.
TEEVAULT_TOKEN=$ROOT expect_rc 4 operator recover --passphrase-file="$T/pa"
expect_in "not this vault's live root key" "$ERR"
restore
TEEVAULT_TOKEN=$ROOT expect_rc 0 kv get app/db
[ "$OUT" = victim-secret ] || fail "after refused recover: $OUT"
pass "recover to another vault's root key refused on an active vault"

# 3. Sealed vault (its sealing key is gone, as on new hardware), foreign escrow.
stop_vault
rm -f "$T/v/sim-sealing.key"
inject rk.escrow vault.id keyring state.version
start_conf "$T/v"
expect_rc 2 --format=json status
[ "$(json sealed)" = true ] || fail "vault with a foreign vault id unsealed: $OUT"
expect_rc 7 operator recover --passphrase-file="$T/pa"
expect_in "not this vault's" "$ERR"
expect_rc 2 --format=json status
[ "$(json sealed)" = true ] || fail "foreign escrow activated the vault: $OUT"
grep -q 'record_integrity' "$TV_LOG" || fail "no record_integrity line for the foreign key"
pass "foreign escrow refused on a sealed vault (records do not verify under its key)"

# Its own escrow (the operator restores meta) still recovers it, nothing lost.
restore
expect_rc 4 operator recover --passphrase-file="$T/pa"
expect_in "wrong recovery passphrase" "$ERR"
expect_rc 0 operator recover --passphrase-file="$T/pv"
TEEVAULT_TOKEN=$ROOT expect_rc 0 kv get app/db
[ "$OUT" = victim-secret ] || fail "after recovery: $OUT"
pass "own escrow recovers the vault: secrets and tokens intact"

# 4. The audit public key changed under the vault: refuse to start.
stop_vault
FORGE set "$T/v" audit_meta pubkey "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" ||
  fail "writing audit_meta pubkey"
CHECKS=$((CHECKS + 1))
if timeout 20 "$TVD" --config "$T/v/teevault.conf" >"$T/start.log" 2>&1; then
  fail "teevaultd started with another audit public key"
fi
grep -q 'audit_key_mismatch' "$T/start.log" || fail "no audit_key_mismatch message: $(tail -3 "$T/start.log")"
grep -q 'Restore the state directory' "$T/start.log" || fail "message does not say what to do"
pass "a changed audit public key refuses to start, saying what to do"
echo "PASS ($CHECKS checks)"
