#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end on the sim backend (issue 5): the real teevaultd (--dev, sim),
# the real CLI for policies, secrets and function registration,
# and the example function runtime (client/examples/secrets_get.c, i.e.
# libteevault's tv_attest_function + tv_secrets_get) attesting with sim
# evidence signed by the machine's sim platform key (the vault's state dir).
#
#   function A (runtime A, code A) reads its secret            → value
#   function A asks for B's secret                               → denied (ACL)
#   runtime A claiming to be function B (other measurement)      → refused
#   function A with other code (code hash)                       → refused
#   unregistered function name                                   → refused
#   every attempt is in the audit log
. "$(dirname "$0")/cli_lib.sh"

EX="$TV_BIN/tv_example_secrets_get"
[ -x "$EX" ] || fail "no example binary at $EX"
cli_init
start_dev
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
PLAT="$T/state" # the vault's sim platform dir (its state dir under --dev)

# Two "runtime binaries" (their SHA-256 is the sim measurement) and two codes.
printf 'function runtime A v1' >"$T/runtime-a"
printf 'function runtime B v1' >"$T/runtime-b"
printf 'export default () => secrets.get("app/fn-a/key")' >"$T/code-a.js"
printf 'export default () => secrets.get("app/fn-b/key")' >"$T/code-b.js"
mkdir -p "$T/rt-a" "$T/rt-b"

sha() { sha256sum "$1" | cut -d' ' -f1; }
signer=$(printf 'teevault-sim-signer' | sha256sum | cut -d' ' -f1)
cat >"$T/fn-a.json" <<EOF
{"evidence_type":"sim","measurement":"$(sha "$T/runtime-a")","signer":"$signer",
 "code_hash":"$(sha "$T/code-a.js")"}
EOF
cat >"$T/fn-b.json" <<EOF
{"evidence_type":"sim","measurement":"$(sha "$T/runtime-b")","code_hash":"$(sha "$T/code-b.js")"}
EOF
cat >"$T/fn-a.hcl" <<'EOF'
path "app/fn-a/*" { capabilities = ["read"] }
EOF
cat >"$T/fn-b.hcl" <<'EOF'
path "app/fn-b/*" { capabilities = ["read"] }
EOF
expect_rc 0 policy write fn-a-read "$T/fn-a.hcl"
expect_rc 0 policy write fn-b-read "$T/fn-b.hcl"
tv_in 'alpha-secret' kv put app/fn-a/key
[ "$RC" -eq 0 ] || fail "kv put a: $ERR"
tv_in 'bravo-secret' kv put app/fn-b/key
[ "$RC" -eq 0 ] || fail "kv put b: $ERR"

expect_rc 0 function register fn-a --policy "$T/fn-a.json" --acl fn-a-read
expect_rc 0 function register fn-b --policy "$T/fn-b.json" --acl fn-b-read
# A policy pinning nothing is refused at registration.
echo '{"evidence_type":"sim"}' >"$T/bad.json"
expect_rc 1 function register fn-bad --policy "$T/bad.json"
expect_in "pins no measurement" "$ERR"
expect_rc 2 function register fn-x
expect_rc 0 function list --format json
expect_in '"fn-a"' "$OUT"
expect_in '"fn-b"' "$OUT"
expect_rc 0 function show fn-a --format json
expect_in '"fn-a-read"' "$OUT"
expect_in "code_hash" "$OUT"
pass "functions registered"

run_fn() { # run_fn RUNTIME STATE FUNCTION CODE [-V VAULT_PUB] SECRET...
  local rt=$1 st=$2 fn=$3 code=$4 vpub="$PLAT/sim_platform.pub"
  shift 4
  if [ "$1" = -V ]; then vpub=$2; shift 2; fi
  OUT=$(env -u TEEVAULT_TOKEN "$EX" -a "unix:$TV_SOCK" -t sim -r "$PLAT" -s "$st" -m "$rt" \
    -V "$vpub" -f "$fn" -c "$code" "$@" 2>"$T/ex.err")
  RC=$?
  ERR=$(cat "$T/ex.err")
}

run_fn "$T/runtime-a" "$T/rt-a" fn-a "$T/code-a.js" app/fn-a/key
[ "$RC" -eq 0 ] || fail "function A could not read its secret: $ERR"
[ "$OUT" = "alpha-secret" ] || fail "function A got the wrong value"
pass "function A attests and reads its secret"

# The library verifies the vault first (Report over a fresh nonce, pinned
# sim platform key); a vault signed by another platform key is not trusted.
run_fn "$T/runtime-a" "$T/rt-a" fn-a "$T/code-a.js" -V "$PLAT/sim_platform.pub" app/fn-a/key
[ "$RC" -eq 0 ] && [ "$OUT" = "alpha-secret" ] || fail "verify-then-read failed: $ERR"
expect_in "vault verified (sim evidence" "$ERR"
head -c 32 /dev/urandom >"$T/other.pub"
run_fn "$T/runtime-a" "$T/rt-a" fn-a "$T/code-a.js" -V "$T/other.pub" app/fn-a/key
[ "$RC" -eq 1 ] || fail "a vault with another platform key was trusted"
expect_in "vault not trusted" "$ERR"
[ -z "$OUT" ] || fail "secrets read from an untrusted vault"
pass "the library verifies the vault's report before attesting"

run_fn "$T/runtime-a" "$T/rt-a" fn-a "$T/code-a.js" app/fn-b/key
[ "$RC" -eq 1 ] || fail "function A read function B's secret"
expect_in "app/fn-b/key" "$ERR"
case "$OUT" in *bravo*) fail "B's value leaked to A" ;; esac
pass "function A denied B's secret (ACL)"

run_fn "$T/runtime-a" "$T/rt-a" fn-b "$T/code-b.js" app/fn-b/key
[ "$RC" -eq 1 ] || fail "runtime A attested as function B"
expect_in "attest" "$ERR"
expect_in "measurement" "$ERR"
pass "runtime A cannot attest as function B (other measurement)"

run_fn "$T/runtime-a" "$T/rt-a" fn-a "$T/code-b.js" app/fn-a/key
[ "$RC" -eq 1 ] || fail "function A attested with other code"
expect_in "code hash" "$ERR"
pass "function A with another code hash is refused"

run_fn "$T/runtime-a" "$T/rt-a" fn-zz "$T/code-a.js" app/fn-a/key
[ "$RC" -eq 1 ] || fail "unregistered function attested"
expect_in "no function" "$ERR"
pass "unregistered function is refused"

run_fn "$T/runtime-b" "$T/rt-b" fn-b "$T/code-b.js" app/fn-b/key
[ "$RC" -eq 0 ] && [ "$OUT" = "bravo-secret" ] || fail "function B could not read its secret: $ERR"
pass "function B attests and reads its secret"

# Deleting a function ends it: it can no longer attest.
expect_rc 0 function delete fn-b
expect_rc 3 function show fn-b
run_fn "$T/runtime-b" "$T/rt-b" fn-b "$T/code-b.js" app/fn-b/key
[ "$RC" -eq 1 ] || fail "a deleted function attested"
expect_in "no function" "$ERR"
pass "a deleted function is refused"

# Every attempt is audited: 8 Attest calls (4 refusals + 4 sessions).
expect_rc 0 audit list --limit 1000 --format json
n_attest=$(printf '%s' "$OUT" | grep -o 'Attestation/Attest' | wc -l)
[ "$n_attest" -eq 8 ] || fail "expected 8 audited Attest calls, saw $n_attest"
expect_in "fn-a" "$OUT"
pass "attestation attempts are audited ($n_attest Attest records)"
# The daemon shuts down cleanly (exit 0; under ASan also no leak) after sessions.
stop_vault
pass "clean shutdown"
echo "test_attest_e2e: all passed"
