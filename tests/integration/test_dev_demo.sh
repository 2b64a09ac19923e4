#!/usr/bin/env bash
# The README's main command must keep working: run its demo against the
# binaries under test and check what it shows.
set -euo pipefail
out=$(TV_BIN="$TV_BIN" "$TV_SOURCE_DIR/scripts/dev.sh" --demo-only --no-build 2>&1) || {
  echo "$out"; echo "FAIL: dev.sh --demo-only exited non-zero"; exit 1; }
check() { grep -qF -- "$1" <<<"$out" || { echo "$out"; echo "FAIL: demo output lacks: $1"; exit 1; }; }
check "hardware_protected     false"
check "s3cr3t-canary"                      # version 1 read back
check "v2-canary"                          # latest version
check "app/db/password"                    # list
check "permission denied"                  # the refused read
check "method=teevault.v1.Secrets/Put"     # audited
check "demo finished."
echo "1 passed, 0 failed"
