#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Malformed input against the live daemon over a raw socket (see malformed.py);
# the daemon must keep serving and must still shut down cleanly.
. "$(dirname "$0")/lib.sh"

tv_start_dev
[ -s "$TV_ROOT_TOKEN_FILE" ] || tv_fail "--dev wrote no root token"
TV_ROOT_TOKEN_FILE="$TV_ROOT_TOKEN_FILE" tv_py "$TV_HERE/malformed.py" "$TV_SOCK" ||
    tv_fail "malformed-input checks failed"
kill -0 "$TV_PID" || tv_fail "teevaultd died"
# Never a token in the log: neither the bogus bearer value nor the root token.
if grep -q 'not-a-token' "$TV_LOG"; then tv_fail "a bearer token reached the log"; fi
if grep -qF "$(cat "$TV_ROOT_TOKEN_FILE")" "$TV_LOG"; then tv_fail "the root token reached the log"; fi
tv_stop
echo "test_malformed: ok"
