#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 12, attack 1: a man in the middle between a function runtime and the
# real vault. The host owns the socket path, so it puts a relay there
# (tests/integration/mitm_relay.py, real Unix sockets) that passes the
# vault's Report through and swaps AttestResponse.session_pubkey for its own,
# then answers Get with a value of its choosing sealed to the function's key.
#
#   relay "pass"          control: the real value comes through the relay
#   relay "swap"          the C client (secrets_get, libteevault) refuses:
#                         the Attest reply's session key is not certified by
#                         the key pinned from the verified Report
#   relay "alter"         the session's expiry pushed a day later, the
#                         certificate kept: refused (the reply MAC)
#   relay "forge-report"  the relay also swaps the Report's signing key for
#                         its own and re-signs: the evidence's report_data
#                         does not bind it → refused by the C client and by
#                         the CLI (teevault attest vault)
#   relay "strip"         the certificate and MAC are removed (an old vault's reply) →
#                         refused
# On the code before the signed session (commit 52a14d5), "swap" printed
# "vault verified" and then the relay's value (see the report of issue 12).
. "$(dirname "$0")/cli_lib.sh"

EX="$TV_BIN/tv_example_secrets_get"
[ -x "$EX" ] || fail "no example binary at $EX"
"$PY" -c 'import cryptography' 2>/dev/null || fail "python3-cryptography missing (scripts/deps.sh)"
cli_init
trap 'stop_relay; tv_cleanup' EXIT
start_dev
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
PLAT="$T/state"
REAL_SOCK="$TV_SOCK"
RELAY_SOCK="$T/relay.sock"
FORGED="attacker-chosen-db-password"

printf 'function runtime A v1' >"$T/runtime-a"
printf 'export default () => secrets.get("app/fn-a/key")' >"$T/code-a.js"
mkdir -p "$T/rt-a"
sha() { sha256sum "$1" | cut -d' ' -f1; }
cat >"$T/fn-a.json" <<EOF
{"evidence_type":"sim","measurement":"$(sha "$T/runtime-a")","code_hash":"$(sha "$T/code-a.js")"}
EOF
printf 'path "app/fn-a/*" { capabilities = ["read"] }\n' >"$T/fn-a.hcl"
expect_rc 0 policy write fn-a-read "$T/fn-a.hcl"
tv_in 'the-real-password' kv put app/fn-a/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
expect_rc 0 function register fn-a --policy "$T/fn-a.json" --acl fn-a-read


run_fn() { # run_fn SOCK
  OUT=$(env -u TEEVAULT_TOKEN "$EX" -a "unix:$1" -t sim -r "$PLAT" -s "$T/rt-a" \
    -m "$T/runtime-a" -V "$PLAT/sim_platform.pub" -f fn-a -c "$T/code-a.js" app/fn-a/key \
    2>"$T/ex.err")
  RC=$?
  ERR=$(cat "$T/ex.err")
}

# Control: the relay relays.
start_relay pass "$FORGED"
run_fn "$RELAY_SOCK"
[ "$RC" -eq 0 ] && [ "$OUT" = "the-real-password" ] || fail "the pass-through relay broke the call: $ERR"
pass "control: through an honest relay the function reads the real value"

# The attack of issue 12: swapped session key, forged value.
start_relay swap "$FORGED"
run_fn "$RELAY_SOCK"
case "$OUT" in *"$FORGED"*) fail "the function was fed the relay's value: $OUT" ;; esac
[ "$RC" -eq 1 ] || fail "secrets_get exited $RC through the swapping relay"
expect_in "vault verified" "$ERR" # the Report itself passed through untouched
expect_in "session key is not certified by the pinned vault key" "$ERR"
pass "relay swapping session_pubkey: refused by libteevault (certified session key)"

# The session key passes untouched, the reply is altered: the MAC.
start_relay alter "$FORGED"
run_fn "$RELAY_SOCK"
[ "$RC" -eq 1 ] || fail "secrets_get exited $RC through the altering relay"
expect_in "MAC does not verify" "$ERR"
pass "relay altering the session expiry: refused by libteevault (reply MAC)"

# The relay poses as the signer too: the Report's key is swapped and re-signed.
start_relay forge-report "$FORGED"
run_fn "$RELAY_SOCK"
case "$OUT" in *"$FORGED"*) fail "the function was fed the relay's value: $OUT" ;; esac
[ "$RC" -eq 1 ] || fail "secrets_get exited $RC through the report-forging relay"
expect_in "vault not trusted" "$ERR"
expect_in "does not bind" "$ERR"
pass "relay forging the Report's signing key: refused (report_data binding)"

# The CLI verifies the vault the same way.
TEEVAULT_ADDR="unix:$RELAY_SOCK" tv attest vault --sim-pubkey "$PLAT/sim_platform.pub"
[ "$RC" -eq 7 ] || fail "teevault attest vault accepted a forged Report: $OUT"
expect_in "does not bind" "$ERR"
pass "CLI: teevault attest vault refuses the forged Report"

# An Attest reply without signature (what a vault older than this library,
# or a relay stripping fields, sends).
start_relay strip "$FORGED"
run_fn "$RELAY_SOCK"
case "$OUT" in *"$FORGED"*) fail "the function was fed the relay's value: $OUT" ;; esac
[ "$RC" -eq 1 ] || fail "secrets_get exited $RC through the stripping relay"
expect_in "not signed by the vault" "$ERR"
pass "relay stripping the signature: refused"
stop_relay

# Straight to the vault everything works, and the CLI shows the identity.
run_fn "$REAL_SOCK"
[ "$RC" -eq 0 ] && [ "$OUT" = "the-real-password" ] || fail "direct read failed: $ERR"
TEEVAULT_ADDR="unix:$REAL_SOCK" tv attest vault --sim-pubkey "$PLAT/sim_platform.pub" --format json
[ "$RC" -eq 0 ] || fail "attest vault on the real vault: $ERR"
[ "$(json report_version)" = 2 ] || fail "report_version: $OUT"
vid=$(json vault_id)
[ ${#vid} -eq 64 ] && [ "$vid" != "$(printf '0%.0s' {1..64})" ] || fail "vault_id: $vid"
# A wrong measurement pin is refused; the right one accepted.
meas=$(json measurement)
TEEVAULT_ADDR="unix:$REAL_SOCK" tv attest vault --sim-pubkey "$PLAT/sim_platform.pub" \
  --measurement "$meas"
[ "$RC" -eq 0 ] || fail "the right measurement pin was refused: $ERR"
if [ "${meas:0:1}" = 0 ]; then bad="1${meas:1}"; else bad="0${meas:1}"; fi
TEEVAULT_ADDR="unix:$REAL_SOCK" tv attest vault --sim-pubkey "$PLAT/sim_platform.pub" \
  --measurement "$bad"
[ "$RC" -eq 7 ] || fail "a wrong measurement pin was accepted"
expect_in "measurement is not the pinned one" "$ERR"
pass "direct: the function reads the real value; the CLI verifies the vault and its pins"
stop_vault
echo "test_attest_mitm: all passed"
