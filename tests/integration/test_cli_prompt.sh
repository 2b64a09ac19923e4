#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Interactive secrets through a real terminal (a pty): `user add` asks twice
# with echo off and refuses two different entries; `login` prompts with echo
# off; `operator recover` prompts for the passphrase; `kv put` reads a value
# typed on the terminal. Nothing typed is echoed back.
. "$(dirname "$0")/cli_lib.sh"
cli_init
pty() { tv_py "$TV_HERE/cli_pty.py" "$@"; }

start_conf "$T/v"
printf 'a recovery passphrase for the pty test\n' >"$T/pass"
expect_rc 0 --format=json operator init --passphrase-file="$T/pass"
export TEEVAULT_TOKEN=$(json root_token)
CHECKS=$((CHECKS + 1))
pty 0 "Recovery passphrase: =a recovery passphrase for the pty test" -- \
  "$TV" operator recover >"$T/o" || fail "operator recover via prompt"
CHECKS=$((CHECKS + 1))
pty 4 "Recovery passphrase: =not the passphrase at all" -- "$TV" operator recover >"$T/o" ||
  fail "operator recover with a wrong passphrase via prompt did not fail"
pass "operator recover prompts with echo off"

CHECKS=$((CHECKS + 1))
pty 0 "New password: =Pty-Password-1" "Again: =Pty-Password-1" -- \
  "$TV" user add carol >"$T/o" || fail "user add via prompt"
CHECKS=$((CHECKS + 1))
pty 1 "New password: =Pty-Password-2" "Again: =Pty-Password-X" -- \
  "$TV" user add dave >"$T/o" || fail "user add with different entries did not fail"
expect_rc 0 --format=json user list
case "$OUT" in *'"dave"'*) fail "dave was added despite the mismatch" ;; esac
pass "user add asks twice with echo off"

CHECKS=$((CHECKS + 1))
pty 0 "Password: =Pty-Password-1" -- "$TV" --format=json login carol >"$T/o" ||
  fail "login via prompt"
# The token is kept in a 0600 file under the config dir (lib.sh points
# TEEVAULT_CONFIG_DIR into the test's temp dir), not printed.
grep -q '"token_stored":' "$T/o" || fail "no token_stored in: $(cat "$T/o")"
[ "$(stat -c %a "$TEEVAULT_CONFIG_DIR/token")" = 600 ] || fail "token file mode $(stat -c %a "$TEEVAULT_CONFIG_DIR/token")"
grep -q '"token":' "$T/o" && fail "login printed the token although it stored it"
CHECKS=$((CHECKS + 1))
pty 4 "Password: =Wrong-Password" -- "$TV" login carol >"$T/o" || fail "wrong password accepted"
pass "login prompts with echo off"

# Ctrl-C at a prompt: the CLI dies of SIGINT and leaves the terminal echoing
CHECKS=$((CHECKS + 1))
pty -2 "Password: =^C" -- "$TV" login carol >"$T/o" || fail "interrupted prompt"
pass "Ctrl-C at a prompt restores terminal echo"

# no terminal at all: a clear error, not a hang
unset TEEVAULT_TOKEN
OUT=$(timeout -k 5 60 setsid "$TV" login carol </dev/null 2>&1)
RC=$?
[ "$RC" -eq 1 ] || fail "login without a terminal exited $RC"
expect_in "no terminal" "$OUT"
pass "no terminal: clear error"
echo "PASS ($CHECKS checks)"
