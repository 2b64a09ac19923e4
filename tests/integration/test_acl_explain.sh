#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `teevault acl explain` against a real dev vault (issue 5 item 7): for a
# user and for a function, an allowed and a denied request each name the
# decision, the deciding policy and rule, and a reason; --format=json too;
# usage errors exit 2, an unknown principal exits 1.
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
export TEEVAULT_TOKEN=$(cat "$ROOT_TOKEN_FILE")

cat >"$T/app.hcl" <<'POL'
path "app/*" { capabilities = ["read", "list"] }
path "app/admin/*" { capabilities = ["deny"] }
POL
expect_rc 0 policy write app-read "$T/app.hcl"
printf 'alice password 1\n' >"$T/alice.pw"
expect_rc 0 user add alice --policy=app-read --password-file="$T/alice.pw"

hex() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
printf '{"evidence_type":"sim","measurement":"%s","code_hash":"%s"}\n' "$(hex runtime-f)" "$(hex code-f)" >"$T/fn.json"
echo 'path "fn/f/*" { capabilities = ["read"] }' >"$T/fn.hcl"
expect_rc 0 policy write fn-f-read "$T/fn.hcl"
expect_rc 0 function register fn-f --policy "$T/fn.json" --acl fn-f-read

# user: allowed by app-read's app/* rule
expect_rc 0 acl explain --user alice app/config
expect_in "allowed" "$OUT"
expect_in "app-read" "$OUT"
expect_in "app/*" "$OUT"
expect_rc 0 acl explain --user alice app/config --format=json
[ "$(json allowed)" = true ] || fail "alice read app/config not allowed: $OUT"
[ "$(json decision)" = allowed ] || fail "decision: $OUT"
[ "$(json policy)" = app-read ] || fail "policy: $OUT"
[ "$(json rule)" = 'app/*' ] || fail "rule: $OUT"
[ -n "$(json reason)" ] || fail "no reason: $OUT"
pass "user: allowed, with policy, rule and reason"

# user: explicit deny wins; default deny has no deciding policy; no write
expect_rc 0 acl explain --user alice app/admin/key --format=json
[ "$(json allowed)" = false ] || fail "alice app/admin/key allowed: $OUT"
[ "$(json policy)" = app-read ] || fail "explicit deny policy: $OUT"
[ "$(json rule)" = 'app/admin/*' ] || fail "explicit deny rule: $OUT"
expect_in "den" "$(json reason)"
expect_rc 0 acl explain --user alice other/thing
expect_in "denied" "$OUT"
expect_rc 0 acl explain --user alice other/thing --format=json
[ "$(json allowed)" = false ] && [ "$(json policy)" = - ] || fail "default deny: $OUT"
expect_rc 0 acl explain --user alice app/config --capability update --format=json
[ "$(json allowed)" = false ] || fail "alice may update app/config: $OUT"
[ "$(json capability)" = update ] || fail "capability: $OUT"
pass "user: explicit deny, default deny and a missing capability are denied, with reasons"

# function: read on its glob only
expect_rc 0 acl explain --function fn-f fn/f/key --format=json
[ "$(json allowed)" = true ] && [ "$(json policy)" = fn-f-read ] &&
  [ "$(json rule)" = 'fn/f/*' ] || fail "fn-f read fn/f/key: $OUT"
expect_rc 0 acl explain --function fn-f app/config --format=json
[ "$(json allowed)" = false ] || fail "fn-f read app/config allowed: $OUT"
[ -n "$(json reason)" ] || fail "no reason: $OUT"
expect_rc 0 acl explain --function fn-f fn/f/key --capability list --format=json
[ "$(json allowed)" = false ] || fail "a function was allowed list: $OUT"
printf 'function deny reason: %s\n' "$(json reason)"
pass "function: allowed on its glob, denied elsewhere and for anything but read"

# the caller's own token (root) and errors
expect_rc 0 acl explain app/config --format=json
[ "$(json allowed)" = true ] || fail "root may not read app/config: $OUT"
expect_rc 3 acl explain --user nobody app/config
expect_in "nobody" "$ERR"
expect_rc 3 acl explain --function fn-none app/config
expect_rc 2 acl explain --user alice --function fn-f app/config
expect_rc 2 acl explain --user alice
expect_rc 2 acl explain
expect_rc 0 acl explain --help
expect_in "Usage: teevault acl explain" "$OUT"
pass "own token, unknown principals (1), usage errors (2), --help"

stop_vault
echo "test_acl_explain: all passed ($CHECKS checks)"
