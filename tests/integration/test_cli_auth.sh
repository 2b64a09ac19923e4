#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Policies, users, login and tokens through the CLI against a real dev vault:
# policy write/read/list/delete; user add/passwd/delete/list; login with a
# password file (token file 0600); a user token held to its policy; token
# create/lookup/revoke (also --self); token expiry. (Reads of secret values
# allowed and denied by a policy: test_cli_acl.sh.)
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
ROOT=$(cat "$ROOT_TOKEN_FILE")
export TEEVAULT_TOKEN=$ROOT

# policies
cat >"$T/app.hcl" <<'POL'
# the app may read and list its own secrets, never admin/
path "app/*" { capabilities = ["read", "list"] }
path "admin/*" { capabilities = ["deny"] }
POL
expect_rc 0 policy write app-read "$T/app.hcl"
expect_rc 0 policy read app-read
expect_in 'path "app/*"' "$OUT"
expect_rc 0 --format=json policy list
expect_in '"app-read"' "$OUT"
printf 'path "x" { capabilities = ["fly"] }\n' >"$T/bad.hcl"
expect_rc 1 policy write broken "$T/bad.hcl"
expect_rc 3 policy read broken
printf 'path "tmp/*" { capabilities = ["read"] }\n' >"$T/tmp.hcl"
expect_rc 0 policy write tmp "$T/tmp.hcl"
expect_rc 0 policy delete tmp
expect_rc 3 policy read tmp
pass "policy write/read/list/delete"

# users
printf 'correct horse battery\n' >"$T/alice.pw"
expect_rc 0 user add alice --policy=app-read --password-file="$T/alice.pw"
expect_rc 1 user add alice --policy=app-read --password-file="$T/alice.pw"
expect_in "[exists]" "$ERR"
expect_rc 0 --format=json user list
expect_in '"alice"' "$OUT"
expect_in '"app-read"' "$OUT"
pass "user add/list"

# login: token into a 0600 file; a wrong password is refused
unset TEEVAULT_TOKEN
expect_rc 0 login alice --password-file="$T/alice.pw" --token-out="$T/alice.tok"
[ "$(mode_of "$T/alice.tok")" = 600 ] || fail "token file mode $(mode_of "$T/alice.tok")"
printf 'wrong\n' >"$T/wrong.pw"
expect_rc 4 login alice --password-file="$T/wrong.pw"
expect_in "[unauthenticated]" "$ERR"
expect_rc 4 login mallory --password-file="$T/wrong.pw"
# the token file can also come from the environment
TEEVAULT_TOKEN_FILE="$T/alice.tok" expect_rc 0 token lookup
expect_in "alice" "$OUT"
pass "login"

# a user token can do what its policy allows and nothing else
expect_rc 0 --token-file="$T/alice.tok" token lookup
expect_in "alice" "$OUT"
expect_rc 4 --token-file="$T/alice.tok" policy read app-read
expect_in "[denied]" "$ERR"
expect_rc 4 --token-file="$T/alice.tok" policy write evil "$T/app.hcl"
expect_in "[denied]" "$ERR"
expect_rc 4 --token-file="$T/alice.tok" user list
expect_in "[denied]" "$ERR"
pass "a user token is held to its policy"

# token lookup of oneself; a created token; revocation
expect_rc 0 --format=json --token-file="$T/alice.tok" token lookup
[ "$(json user)" = alice ] || fail "lookup: $OUT"
export TEEVAULT_TOKEN=$ROOT
expect_rc 0 --format=json token create --policy=app-read --display-name=ci
CREATED=$(json token)
CREATED_ID=$(json token_id)
[ -n "$CREATED" ] && [ -n "$CREATED_ID" ] || fail "token create: $OUT"
TEEVAULT_TOKEN=$CREATED expect_rc 0 token lookup
expect_rc 0 token revoke "$CREATED_ID"
TEEVAULT_TOKEN=$CREATED expect_rc 4 token lookup
expect_in "[unauthenticated]" "$ERR"
# --self revokes the token the command runs with
expect_rc 0 --format=json token create --policy=app-read
SELF=$(json token)
TEEVAULT_TOKEN=$SELF expect_rc 0 token revoke --self
TEEVAULT_TOKEN=$SELF expect_rc 4 token lookup
expect_in "[unauthenticated]" "$ERR"
pass "token create, revoke, revoke --self"

# expiry: a 2-second token works, then stops working
expect_rc 0 --format=json token create --policy=app-read --ttl=2s
SHORT=$(json token)
TEEVAULT_TOKEN=$SHORT expect_rc 0 token lookup
sleep 3
TEEVAULT_TOKEN=$SHORT expect_rc 4 token lookup
expect_in "[unauthenticated]" "$ERR"
pass "token expiry"

# passwd: the old password stops working; delete: the user is gone
printf 'a new long password\n' >"$T/alice2.pw"
expect_rc 0 user passwd alice --password-file="$T/alice2.pw"
expect_rc 4 login alice --password-file="$T/alice.pw"
expect_rc 0 login alice --password-file="$T/alice2.pw"
expect_rc 0 user delete alice
expect_rc 4 login alice --password-file="$T/alice2.pw"
expect_rc 3 user delete alice
pass "user passwd, delete"
echo "PASS ($CHECKS checks)"
