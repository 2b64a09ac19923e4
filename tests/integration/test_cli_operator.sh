#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# teevault status / operator init / operator recover against a real,
# uninitialised vault (config file, sim backend): init prints the token and
# the generated passphrase once, refuses a second init; recover accepts the
# right passphrase and refuses a wrong one.
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_conf "$T/v1"

expect_rc 0 --format=json status
[ "$(json initialized)" = false ] || fail "fresh vault says initialized: $OUT"
[ "$(json tee_backend)" = sim ] || fail "backend: $OUT"
[ "$(json hardware_protected)" = false ] || fail "sim must not claim protection"

# generated passphrase: printed once, token usable
expect_rc 0 --format=json operator init
ROOT=$(json root_token)
PASS=$(json recovery_passphrase)
[ -n "$ROOT" ] && [ -n "$PASS" ] || fail "init output: $OUT"
TEEVAULT_TOKEN=$ROOT expect_rc 0 token lookup
expect_in "root                   true" "$OUT"
expect_rc 0 --format=json status
[ "$(json initialized)" = true ] || fail "not initialised after init"
pass "init with a generated passphrase"

# a second init is refused and changes nothing
expect_rc 1 operator init
expect_in "[exists]" "$ERR"
TEEVAULT_TOKEN=$ROOT expect_rc 0 token lookup
pass "second init refused"

# recover on an active vault: only with an admin token (it re-seals the live
# root key); right passphrase from a file, wrong one refused, none on argv
printf '%s\n' "$PASS" >"$T/pass"
expect_rc 4 operator recover --passphrase-file="$T/pass"
expect_in "needs admin on sys/recover" "$ERR"
TEEVAULT_TOKEN=$ROOT expect_rc 0 operator recover --passphrase-file="$T/pass"
printf 'wrong passphrase here\n' >"$T/wrong"
TEEVAULT_TOKEN=$ROOT expect_rc 4 operator recover --passphrase-file="$T/wrong"
expect_in "[denied]" "$ERR"
expect_rc 2 operator recover "$PASS"
TEEVAULT_TOKEN=$ROOT expect_rc 0 token lookup
pass "recover"
stop_vault

# second vault: passphrase from a file; root token into a 0600 file
start_conf "$T/v2" off
printf 'correct horse battery staple\n' >"$T/pass2"
expect_rc 0 operator init --passphrase-file="$T/pass2" --token-out="$T/root2"
[ "$(mode_of "$T/root2")" = 600 ] || fail "token file mode $(mode_of "$T/root2")"
case "$OUT" in *recovery_passphrase*) fail "supplied passphrase echoed: $OUT" ;; esac
expect_rc 0 --token-file="$T/root2" token lookup
expect_rc 0 --token-file="$T/root2" operator recover --passphrase-file="$T/pass2"
pass "init with a supplied passphrase, token file 0600"

# --token-out never overwrites: on a clash the token is printed instead of lost
start_over() { stop_vault; rm -rf "$T/v3"; start_conf "$T/v3" off; }
start_over
: >"$T/exists"
expect_rc 0 --format=json operator init --passphrase-file="$T/pass2" --token-out="$T/exists"
[ -s "$T/exists" ] && fail "existing file overwritten"
[ -n "$(json root_token)" ] || fail "token lost when --token-out failed: $OUT"
pass "--token-out does not overwrite"

# operator_plaintext_reads = off: operators can write and describe, never read values
export TEEVAULT_TOKEN=$(json root_token)
tv_in 'no-plaintext' kv put ops/secret
[ "$RC" -eq 0 ] || fail "put with plaintext reads off: $ERR"
expect_rc 0 kv describe ops/secret
expect_rc 4 kv get ops/secret
case "$OUT$ERR" in *no-plaintext*) fail "value returned with plaintext reads off" ;; esac
pass "operator_plaintext_reads=off refuses operator reads"
echo "PASS ($CHECKS checks)"
