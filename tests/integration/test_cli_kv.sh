#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# teevault kv ... against a real dev vault: put (stdin, --file), get (raw,
# --version, json), list (prefix), describe, versions, delete / undelete /
# destroy, a CAS conflict, and values that are never accepted on argv.
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"

expect_rc 0 status
expect_in "initialized            true" "$OUT"

# put from stdin, get raw
tv_in 's3cret-v1' kv put app/db/password
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
expect_in "version                1" "$OUT"
expect_rc 0 kv get app/db/password
[ "$OUT" = "s3cret-v1" ] || fail "kv get returned '$OUT'"
pass "put from stdin, raw get"

# binary value with NUL and newlines from --file, byte-exact round trip
head -c 4096 /dev/urandom >"$T/bin.val"
printf '\0\n\0end\n' >>"$T/bin.val"
expect_rc 0 kv put app/blob --file="$T/bin.val"
"$TV" kv get app/blob >"$T/bin.out" || fail "kv get app/blob"
cmp -s "$T/bin.val" "$T/bin.out" || fail "binary value differs after round trip"
expect_rc 0 --format=json kv get app/blob
[ "$(json version)" = 1 ] || fail "json version"
printf '%s' "$OUT" | "$PY" -c 'import json,sys,base64
d=json.load(sys.stdin); v=base64.b64decode(d["value_base64"])
sys.exit(0 if v==open(sys.argv[1],"rb").read() else 1)' "$T/bin.val" || fail "json base64 value differs"
pass "binary value via --file, raw and json"

# value on argv refused (usage error), nothing stored
expect_rc 2 kv put app/argv not-allowed-on-argv
expect_in "refusing a secret value" "$ERR"
expect_rc 3 kv get app/argv
pass "value on argv refused"

# versions and --version
tv_in 's3cret-v2' kv put app/db/password
[ "$RC" -eq 0 ] || fail "second put: $ERR"
expect_rc 0 kv get app/db/password
[ "$OUT" = "s3cret-v2" ] || fail "latest is '$OUT'"
expect_rc 0 kv get app/db/password --version=1
[ "$OUT" = "s3cret-v1" ] || fail "version 1 is '$OUT'"
expect_rc 0 --format=json kv describe app/db/password
[ "$(json current_version)" = 2 ] || fail "current_version: $OUT"
[ "$(json versions.1.state)" = live ] || fail "describe versions: $OUT"
expect_rc 0 kv versions app/db/password
expect_in "version=2" "$OUT"
pass "versions, --version, describe"

# CAS: matching version succeeds, stale version conflicts (exit 1, nothing written)
tv_in 'v3' kv put app/db/password --cas=2
[ "$RC" -eq 0 ] || fail "cas=2 put: $ERR"
tv_in 'stale' kv put app/db/password --cas=2
[ "$RC" -eq 1 ] || fail "stale CAS put exited $RC"
expect_in "[cas]" "$ERR"
expect_rc 0 kv get app/db/password
[ "$OUT" = v3 ] || fail "CAS conflict changed the value to '$OUT'"
tv_in 'new' kv put app/cas-new --cas=0
[ "$RC" -eq 0 ] || fail "cas=0 on a new name: $ERR"
tv_in 'again' kv put app/cas-new --cas=0
[ "$RC" -eq 1 ] || fail "cas=0 on an existing name exited $RC"
pass "CAS conflict"

# list with and without prefix, json
expect_rc 0 kv list
expect_in "app/db/password" "$OUT"
expect_in "app/blob" "$OUT"
expect_rc 0 --format=json kv list app/db/
[ "$(json names)" = '["app/db/password"]' ] || fail "prefix list: $OUT"
pass "list"

# delete / undelete / destroy
expect_rc 0 kv delete app/db/password --version=3
expect_rc 3 kv get app/db/password --version=3
expect_in "[deleted]" "$ERR" # the exact error travels (ErrorDetail), not just NOT_FOUND
expect_rc 0 kv undelete app/db/password --version=3
expect_rc 0 kv get app/db/password --version=3
[ "$OUT" = v3 ] || fail "undeleted value '$OUT'"
expect_rc 0 kv destroy app/db/password --version=1
expect_rc 3 kv get app/db/password --version=1
expect_in "[destroyed]" "$ERR"
expect_rc 0 --format=json kv describe app/db/password
[ "$(json versions.0.state)" = destroyed ] || fail "destroyed state: $OUT"
expect_rc 3 kv undelete app/db/password --version=1
pass "delete, undelete, destroy"

# every read-only command's --format=json output is one valid JSON object
for cmd in "status" "kv list" "kv describe app/blob" "kv versions app/blob" "kv get app/blob" \
  "token lookup" "user list" "policy list"; do
  # shellcheck disable=SC2086
  expect_rc 0 --format=json $cmd
  printf '%s' "$OUT" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d, dict)' ||
    fail "invalid JSON from '$cmd': $OUT"
done
pass "json output"

# errors: unknown secret -> 1 with a reason; no token -> 1
expect_rc 3 kv get no/such/secret
expect_in "not found" "$ERR"
TEEVAULT_TOKEN= expect_rc 1 kv get app/blob
# a name with terminal control bytes: whatever the vault answers, nothing the
# CLI prints carries a raw escape or bell byte
no_ctl() { # fail if the last command printed a control byte other than \n, \t
  CHECKS=$((CHECKS + 1))
  if printf '%s%s' "$OUT" "$ERR" | LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]'; then
    fail "control bytes reached the terminal ($1): $(printf '%s%s' "$OUT" "$ERR" | od -c | head -5)"
  fi
}
tv_in 'x' kv put $'evil\e]0;title\a\e[2Jname'
no_ctl "put"
tv kv list
no_ctl "list"
tv --format=json kv list
no_ctl "json list"
expect_rc 1 kv get $'evil\e[2Jname\r'
no_ctl "get"
pass "server-supplied strings are escaped"
echo "PASS ($CHECKS checks)"
