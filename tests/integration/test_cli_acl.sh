#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ACL at work on secret values through the CLI against a real dev vault: a
# user whose policy allows app/* reads app/config, is denied admin/master
# (explicit deny) and other/* (default deny), cannot write, and the denied
# value never appears in any output.
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
export TEEVAULT_TOKEN=$(cat "$ROOT_TOKEN_FILE")

tv_in 'app-value' kv put app/config
[ "$RC" -eq 0 ] || fail "put app/config: $ERR"
tv_in 'admin-value' kv put admin/master
[ "$RC" -eq 0 ] || fail "put admin/master: $ERR"
tv_in 'other-value' kv put other/thing
[ "$RC" -eq 0 ] || fail "put other/thing: $ERR"
cat >"$T/app.hcl" <<'POL'
path "app/*" { capabilities = ["read", "list"] }
path "**" { capabilities = ["list"] }
path "admin/*" { capabilities = ["deny"] }
POL
expect_rc 0 policy write app-read "$T/app.hcl"
printf 'alice password 1\n' >"$T/alice.pw"
expect_rc 0 user add alice --policy=app-read --password-file="$T/alice.pw"
unset TEEVAULT_TOKEN
expect_rc 0 login alice --password-file="$T/alice.pw" --token-out="$T/alice.tok"

# allowed read, denied reads (explicit and default deny), denied write
expect_rc 0 --token-file="$T/alice.tok" kv get app/config
[ "$OUT" = app-value ] || fail "alice read '$OUT'"
expect_rc 4 --token-file="$T/alice.tok" kv get admin/master
expect_in "[denied]" "$ERR"
case "$ERR$OUT" in *admin-value*) fail "denied read leaked the value" ;; esac
tv_in 'x' --token-file="$T/alice.tok" kv put app/config
[ "$RC" -eq 4 ] || fail "alice could write (exit $RC)"
expect_rc 4 --token-file="$T/alice.tok" policy write evil "$T/app.hcl"
pass "allowed read, denied read and write"

expect_rc 4 --token-file="$T/alice.tok" kv get other/thing
expect_in "[denied]" "$ERR"
case "$ERR$OUT" in *other-value*) fail "default-denied read leaked the value" ;; esac
expect_rc 4 --token-file="$T/alice.tok" kv describe admin/master
expect_rc 4 --token-file="$T/alice.tok" kv destroy app/config
expect_rc 0 --token-file="$T/alice.tok" kv list app/
expect_in "app/config" "$OUT"
echo "PASS ($CHECKS checks)"
