#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libteevault against the real daemon, without the CLI: the example program
# client/examples/operator_calls.c (linked against the shared
# libteevault.so.1) runs every Sys/Auth/Secrets/Policies call and checks
# results, error codes, untouched outputs on failure and ownership (the ASan
# build reports leaks and double frees).
. "$(dirname "$0")/cli_lib.sh"
cli_init
start_dev
PROG="$TV_BIN/tv_example_operator_calls"
[ -x "$PROG" ] || fail "no $PROG"
"$PROG" "$TEEVAULT_ADDR" "$ROOT_TOKEN_FILE" || fail "library checks failed"
pass "libteevault operator API against the live daemon"
