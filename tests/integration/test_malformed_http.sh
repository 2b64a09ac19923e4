#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Malformed HTTP/2 (bad preface, oversized headers, CONTINUATION flood,
# rapid reset, stream cap, zero window, WINDOW_UPDATE overflow, PING flood)
# and HTTP/1.1 (oversized request line and headers, chunked abuse, smuggling
# shapes, slow drip) against the live daemon while a ttrpc client keeps
# calling on the same socket (see malformed_http.py).
. "$(dirname "$0")/lib.sh"

tv_mkdir
cat >"$TV_DIR/h.conf" <<CONF
[limits]
io_timeout = 2
CONF
tv_start_dev --config "$TV_DIR/h.conf"
tv_py "$TV_HERE/malformed_http.py" "$TV_SOCK" "$TV_ROOT_TOKEN_FILE" 2 ||
    tv_fail "malformed HTTP checks failed"
kill -0 "$TV_PID" || tv_fail "teevaultd died"
if grep -qF "$(cat "$TV_ROOT_TOKEN_FILE")" "$TV_LOG"; then tv_fail "the root token reached the log"; fi
tv_stop
echo "test_malformed_http: ok"
