#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 12's man in the middle, against the Python and Node.js clients:
# the relay of test_attest_mitm.sh (mitm_relay.py, real Unix sockets) between
# each client and the real vault.
#   pass          control: the real value comes through
#   swap          session_pubkey swapped, values forged: refused (the Attest
#                 reply's session key is not certified by the pinned key)
#   alter         the session's expiry pushed a day later: refused (MAC)
#   forge-report  the Report's signing key swapped and re-signed: refused
#                 (the sim report's report_data does not bind it)
#   strip         the reply's certificate and MAC removed: refused
# Without verify_attest_reply's certificate check, "swap" printed the relay's
# value (shown when the check was written; see the issue 15 report).
. "$(dirname "$0")/cli_lib.sh"
ROOT="$TV_HERE/../.."
NODE_PATH="$("$ROOT/scripts/npm-deps.sh" "${TV_BUILD_DIR:-$ROOT/build}/node")" ||
  fail "npm packages could not be installed"
export NODE_PATH TEEVAULT_PY_STUBS="${TV_PY_STUBS:-$ROOT/build/py-stubs}"
cli_init
trap 'stop_relay; tv_cleanup' EXIT
start_dev
export TEEVAULT_TOKEN_FILE="$ROOT_TOKEN_FILE"
PLAT="$T/state"
RELAY_SOCK="$T/relay.sock"
FORGED="attacker-chosen-db-password"
printf 'function runtime P v1' >"$T/runtime"
printf 'def f(): return secrets.get("app/fn-p/key")' >"$T/code.py"
sha() { sha256sum "$1" | cut -d' ' -f1; }
printf '{"evidence_type":"sim","measurement":"%s","code_hash":"%s"}\n' \
  "$(sha "$T/runtime")" "$(sha "$T/code.py")" >"$T/fn.json"
printf 'path "app/fn-p/*" { capabilities = ["read"] }\n' >"$T/fn.hcl"
expect_rc 0 policy write fn-p-read "$T/fn.hcl"
tv_in 'the-real-password' kv put app/fn-p/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
expect_rc 0 function register fn-p --policy "$T/fn.json" --acl fn-p-read

run_fn() { # run_fn py|js
  local drv=("$PY" "$TV_HERE/client_fn_get.py")
  [ "$1" = js ] && drv=(node "$TV_HERE/client_fn_get.js")
  OUT=$("${drv[@]}" "unix:$RELAY_SOCK" "$PLAT" "$T/runtime" "$T/code.py" fn-p app/fn-p/key 2>"$T/fn.err")
  RC=$?
  ERR=$(cat "$T/fn.err")
}
n=0
for lang in py js; do
  start_relay pass "$FORGED"
  run_fn $lang
  [ "$RC" -eq 0 ] && [ "$OUT" = "the-real-password" ] || fail "$lang: the honest relay broke the call: $ERR"
  pass "$lang control: through an honest relay the function reads the real value"
  start_relay swap "$FORGED"
  run_fn $lang
  case "$OUT$ERR" in *"$FORGED"*) fail "$lang: the function was fed the relay's value" ;; esac
  [ "$RC" -eq 1 ] || fail "$lang exited $RC through the swapping relay"
  expect_in "vault verified" "$ERR"
  expect_in "session key is not certified by the pinned vault key" "$ERR"
  pass "$lang: relay swapping session_pubkey refused (certified session key)"
  start_relay alter "$FORGED"
  run_fn $lang
  [ "$RC" -eq 1 ] || fail "$lang exited $RC through the altering relay"
  expect_in "MAC does not verify" "$ERR"
  pass "$lang: relay altering the session expiry refused (reply MAC)"
  start_relay forge-report "$FORGED"
  run_fn $lang
  [ "$RC" -eq 1 ] || fail "$lang exited $RC through the report-forging relay"
  expect_in "does not bind" "$ERR"
  pass "$lang: relay forging the Report's signing key refused (report_data binding)"
  start_relay strip "$FORGED"
  run_fn $lang
  [ "$RC" -eq 1 ] || fail "$lang exited $RC through the stripping relay"
  expect_in "not signed by the vault" "$ERR"
  pass "$lang: Attest reply without a signature refused"
  n=$((n + 5))
done
stop_relay
stop_vault
echo "$n passed, 0 failed"
