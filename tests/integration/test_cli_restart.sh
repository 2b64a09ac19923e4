#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A restart keeps everything: secrets (all versions), policies, users and
# tokens survive a daemon restart on the same state directory, which unseals
# itself through the (sim) TEE backend with no operator action.
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
ROOT=$(cat "$ROOT_TOKEN_FILE")
export TEEVAULT_TOKEN=$ROOT

for i in 1 2 3; do
  tv_in "value-$i" kv put keep/me
  [ "$RC" -eq 0 ] || fail "put $i: $ERR"
done
head -c 2000 /dev/urandom >"$T/bin"
expect_rc 0 kv put keep/bin --file="$T/bin"
printf 'path "keep/*" { capabilities = ["read"] }\n' >"$T/p.hcl"
expect_rc 0 policy write keep "$T/p.hcl"
printf 'pw for bob 123\n' >"$T/bob.pw"
expect_rc 0 user add bob --policy=keep --password-file="$T/bob.pw"
expect_rc 0 --format=json token create --policy=keep
TOK=$(json token)

stop_vault
# restart on the same state dir; no init, no recover
tv_start_dev
expect_rc 0 --format=json status
[ "$(json initialized)" = true ] || fail "not initialised after restart: $OUT"

expect_rc 0 kv get keep/me
[ "$OUT" = value-3 ] || fail "latest after restart '$OUT'"
expect_rc 0 kv get keep/me --version=1
[ "$OUT" = value-1 ] || fail "v1 after restart '$OUT'"
"$TV" kv get keep/bin >"$T/bin.out" || fail "get keep/bin"
cmp -s "$T/bin" "$T/bin.out" || fail "binary value changed across restart"
expect_rc 0 policy read keep
TEEVAULT_TOKEN=$TOK expect_rc 0 kv get keep/me
expect_rc 0 login bob --password-file="$T/bob.pw"
expect_rc 0 --format=json kv describe keep/me
[ "$(json current_version)" = 3 ] || fail "describe after restart: $OUT"
pass "restart keeps secrets, versions, policies, users and tokens (auto-unseal)"
echo "PASS ($CHECKS checks)"
