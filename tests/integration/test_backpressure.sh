#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Output back-pressure on one connection (see backpressure.py).
. "$(dirname "$0")/lib.sh"

tv_start_dev
[ -x "$TV_BIN/teevault" ] || tv_fail "teevault CLI not built"
head -c 524288 /dev/urandom >"$TV_DIR/value.bin"
TEEVAULT_ADDR="unix:$TV_SOCK" TEEVAULT_TOKEN="$(cat "$TV_ROOT_TOKEN_FILE")" \
    "$TV_BIN/teevault" kv put bp/large --file="$TV_DIR/value.bin" >"$TV_DIR/put.out" 2>&1 ||
    { cat "$TV_DIR/put.out"; tv_fail "teevault kv put failed"; }
# 400 x 512 KiB = 200 MiB of replies if nothing pushed back.
tv_py "$TV_HERE/backpressure.py" "$TV_SOCK" "$TV_ROOT_TOKEN_FILE" bp/large "$TV_DIR/value.bin" \
    "$TV_PID" 400 || tv_fail "back-pressure checks failed"
tv_stop
echo "test_backpressure: ok"
