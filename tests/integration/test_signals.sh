#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Signals: SIGHUP is logged (a --dev vault has no file to reload; see
# test_systemd for the reload) and the daemon keeps serving;
# SIGTERM shuts down cleanly (exit 0, socket removed).
. "$(dirname "$0")/lib.sh"
tv_start_dev
kill -HUP "$TV_PID"
sleep 0.3
kill -0 "$TV_PID" 2>/dev/null || tv_fail "teevaultd died of SIGHUP"
tv_py -c 'import sys, ttrpc_raw as T; T.status(sys.argv[1])' "$TV_SOCK" ||
  tv_fail "no Sys.Status answer after SIGHUP"
grep -q ' reload ' "$TV_LOG" || tv_fail "SIGHUP was not logged"
tv_stop
echo "2 passed, 0 failed"
