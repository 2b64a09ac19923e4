#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Dual control over where plaintext flows (issue 13), against the real daemon
# with operator_plaintext_reads = false, the real CLI and the example function
# runtime. Governance keys are made and used offline (governance keygen/sign
# never connect).
#   - root cannot register a function directly (the attack: a function pinned
#     to a runtime root controls, bound to a read-all policy, reads every value);
#   - a proposal applies only with k signatures of distinct keys of the set:
#     one signature, the same key twice, a key outside the set, a signature
#     over another document are all refused;
#   - with the quorum the function registers, attests and reads its secret
#     end to end; a policy bound to it can no longer be rewritten directly;
#   - every step is audited, Apply with the signers' key ids.
. "$(dirname "$0")/cli_lib.sh"

EX="$TV_BIN/tv_example_secrets_get"
[ -x "$EX" ] || fail "no example binary at $EX"
cli_init
V="$T/v"
start_conf "$V" off

# --- offline: three governance keys, threshold 2
for k in a b c x; do
  expect_rc 0 governance keygen --out "$T/gov-$k"
  [ "$(mode_of "$T/gov-$k.key")" = 600 ] || fail "secret key file not 0600"
done
expect_rc 0 operator init --token-out="$T/root.tok" --governance-key="$T/gov-a.pub" \
  --governance-key="$T/gov-b.pub" --governance-key="$T/gov-c.pub" --governance-threshold=2
export TEEVAULT_TOKEN_FILE="$T/root.tok"
expect_rc 0 governance list --format=json
[ "$(json keys)" = 3 ] && [ "$(json threshold)" = 2 ] && [ "$(json quorum_required)" = true ] ||
  fail "governance set not as initialised: $OUT"

# --- the vault's secrets and the attacker's tools
tv_in 'fn-secret' kv put app/fn/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
tv_in 'payroll-secret' kv put hr/payroll
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
echo 'path "app/fn/*" { capabilities = ["read"] }' >"$T/fn.hcl"
echo 'path "**" { capabilities = ["read"] }' >"$T/all.hcl"
expect_rc 0 policy write fn-read "$T/fn.hcl"
expect_rc 0 policy write read-all "$T/all.hcl"
printf 'evil runtime' >"$T/evil-runtime"
printf 'read everything' >"$T/evil.js"
printf 'good runtime' >"$T/runtime"
printf 'export default () => secrets.get("app/fn/key")' >"$T/code.js"
sha() { sha256sum "$1" | cut -d' ' -f1; }
printf '{"evidence_type":"sim","measurement":"%s","code_hash":"%s"}' "$(sha "$T/evil-runtime")" \
  "$(sha "$T/evil.js")" >"$T/evil.json"
printf '{"evidence_type":"sim","measurement":"%s","code_hash":"%s"}' "$(sha "$T/runtime")" \
  "$(sha "$T/code.js")" >"$T/fn.json"
mkdir -p "$T/rt"
run_fn() { # run_fn RUNTIME FUNCTION CODE SECRET
  OUT=$(env -u TEEVAULT_TOKEN_FILE "$EX" -a "unix:$TV_SOCK" -t sim -r "$V" -s "$T/rt" -m "$1" \
    -V "$V/sim_platform.pub" -f "$2" -c "$3" "$4" 2>"$T/ex.err")
  RC=$?
  ERR=$(cat "$T/ex.err")
}

# --- the attack: root registers a function of its own, bound to read-all
expect_rc 4 function register evil --policy "$T/evil.json" --acl read-all
expect_in "governance quorum" "$ERR"
run_fn "$T/evil-runtime" evil "$T/evil.js" hr/payroll
[ "$RC" -eq 1 ] || fail "the unregistered function attested"
case "$OUT" in *payroll-secret*) fail "plaintext reached root's function" ;; esac
expect_rc 4 kv get hr/payroll # and operators read no plaintext themselves
pass "root cannot register a function directly with plaintext reads off"

# --- proposals need k distinct keys of the set, over this very document
expect_rc 0 governance propose function-write evil --policy "$T/evil.json" --acl read-all \
  --doc-out "$T/evil.doc" --format=json
EVIL=$(json id)
expect_in "kind: function-write" "$(cat "$T/evil.doc")"
expect_in "acl-policies: read-all" "$(cat "$T/evil.doc")"
expect_rc 0 governance sign --key "$T/gov-a.key" "$T/evil.doc" --out "$T/evil.a.sig"
expect_rc 4 governance apply "$EVIL" "$T/evil.a.sig"
expect_in "needs 2 valid signatures" "$ERR"
expect_rc 4 governance apply "$EVIL" "$T/evil.a.sig" "$T/evil.a.sig"
expect_in "got 1" "$ERR"
expect_rc 0 governance sign --key "$T/gov-x.key" "$T/evil.doc" --out "$T/evil.x.sig"
expect_rc 4 governance apply "$EVIL" "$T/evil.a.sig" "$T/evil.x.sig"
expect_in "got 1" "$ERR"
sed 's/read-all/fn-read/' "$T/evil.doc" >"$T/evil-edited.doc"
expect_rc 0 governance sign --key "$T/gov-b.key" "$T/evil-edited.doc" --out "$T/evil.b-edited.sig"
expect_rc 4 governance apply "$EVIL" "$T/evil.a.sig" "$T/evil.b-edited.sig"
expect_rc 3 function show evil
pass "one key, a repeated key, a key outside the set, a signature over another text: refused"

# --- the legitimate change, with a quorum, end to end
expect_rc 0 governance propose function-write fn --policy "$T/fn.json" --acl fn-read --format=json
ID=$(json id)
expect_rc 0 governance show "$ID" --doc-out "$T/fn.doc"
expect_in "identity-policy:" "$(cat "$T/fn.doc")"
expect_rc 0 governance sign --key "$T/gov-b.key" "$T/fn.doc" --out "$T/fn.b.sig"
expect_rc 0 governance sign --key "$T/gov-c.key" "$T/fn.doc" --out "$T/fn.c.sig"
expect_rc 0 governance apply "$ID" "$T/fn.b.sig" "$T/fn.c.sig"
expect_rc 0 function show fn
run_fn "$T/runtime" fn "$T/code.js" app/fn/key
[ "$RC" -eq 0 ] && [ "$OUT" = fn-secret ] || fail "the governed function could not read: $ERR"
run_fn "$T/runtime" fn "$T/code.js" hr/payroll
[ "$RC" -eq 1 ] || fail "the governed function read outside its policy"
expect_rc 3 governance apply "$ID" "$T/fn.b.sig" "$T/fn.c.sig"
expect_in "no pending governance change" "$ERR"
pass "with 2 of 3 signatures the function registers, attests and reads its secret"

# --- a policy bound to a function: no direct rewrite
expect_rc 4 policy write fn-read "$T/all.hcl"
expect_in "bound to a function" "$ERR"
expect_rc 0 policy write read-all "$T/fn.hcl" # bound to no function
pass "a policy bound to a function cannot be rewritten directly"

# --- malformed input: clear errors, nothing stored
expect_rc 1 governance propose function-frob fn
expect_in "unknown change kind" "$ERR"
expect_rc 1 governance show 'zz;rm'
expect_in "invalid change id" "$ERR"
printf 'not a signature\n' >"$T/junk.sig"
expect_rc 1 governance apply "$EVIL" "$T/junk.sig"
expect_in "not a signature file" "$ERR"
expect_rc 1 governance propose function-write fn2 --policy "$T/all.hcl" --acl fn-read
expect_in "identity policy" "$ERR"
expect_rc 0 governance list --format=json
expect_in "$EVIL" "$OUT"
pass "malformed proposals, ids and signature files get clear errors"

# --- audit: each step, Apply with the signers' key ids
KB=$(head -c 16 "$T/gov-b.pub")
KC=$(head -c 16 "$T/gov-c.pub")
expect_rc 0 audit list --limit 1000 --format=json
expect_in "governance propose $ID function-write" "$OUT"
expect_in "governance apply $ID function-write signers $KB,$KC" "$OUT"
expect_in "governance apply $EVIL function-write" "$OUT"
pass "propose and apply are audited with the signers' key ids"
echo "PASS ($CHECKS checks)"
