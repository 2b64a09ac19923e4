#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's main command must keep working: run its demo against the
# binaries under test and check what it shows.
set -euo pipefail
out=$(TV_BIN="$TV_BIN" TV_NODE_DIR="${TV_BUILD_DIR:-$TV_SOURCE_DIR/build}/node" TEEVAULT_PY_STUBS="${TV_PY_STUBS:-$TV_SOURCE_DIR/build/py-stubs}" "$TV_SOURCE_DIR/scripts/dev.sh" --demo-only --no-build 2>&1) || {
  echo "$out"; echo "FAIL: dev.sh --demo-only exited non-zero"; exit 1; }
check() { grep -qF -- "$1" <<<"$out" || { echo "$out"; echo "FAIL: demo output lacks: $1"; exit 1; }; }
check "hardware_protected     false"
check "s3cr3t-canary"                      # version 1 read back
check "v2-canary"                          # latest version
check "app/db/password"                    # list
check "permission denied"                  # the refused read
check "method=teevault.v1.Secrets/Put"     # audited
check 'runtime: attested as function "price-feed"'        # the QuickJS runtime attested
check "py-runtime: attested as function 'price-feed-py'"   # the Python runtime attested
n=$(grep -c '"Authorization": "Bearer demo-exchange-key-123"' <<<"$out" || true)
[ "$n" -eq 2 ] || { echo "$out"; echo "FAIL: both functions should have read the key (saw $n)"; exit 1; }
check "principal=function:price-feed method=teevault.v1.Secrets/Get secret=app/price-feed/exchange_api_key version=1 status=OK"
check "principal=function:price-feed-py method=teevault.v1.Secrets/Get secret=app/price-feed/exchange_api_key version=1 status=OK"
check 'secrets.get("app/price-feed/exchange_api_key"): permission denied'   # news-feed refused
check "principal=function:news-feed method=teevault.v1.Secrets/Get secret=app/price-feed/exchange_api_key version=0 status=PERMISSION_DENIED"
check "demo finished."
echo "1 passed, 0 failed"
