# SPDX-License-Identifier: Apache-2.0
# Shared helpers for integration tests: start the real teevaultd on a temp
# directory and socket, wait until it answers, stop it.
#
#   . "$(dirname "$0")/lib.sh"
#   tv_start_dev                # sets TV_DIR, TV_SOCK, TV_PID, TV_LOG and
#                               # TV_ROOT_TOKEN_FILE; the EXIT trap stops it
#   tv_start_config FILE        # same with --config FILE (caller made TV_DIR)
#   tv_stop                     # SIGTERM, wait, check it exited 0
#   tv_py ARGS...               # /usr/bin/python3 with this directory on sys.path
#   tv_skip MSG                 # report SKIP to ctest (exit 77)
#
# TV_BIN (set by ctest) is the build's bin directory; default ../../build/bin.
set -euo pipefail

TV_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TV_BIN="${TV_BIN:-$TV_HERE/../../build/bin}"
TEEVAULTD="$TV_BIN/teevaultd"
TV_PID=""
TV_DIR=""
TV_OWN_DIR=""

tv_fail() {
    echo "FAIL: $*" >&2
    if [ -n "${TV_LOG:-}" ] && [ -f "$TV_LOG" ]; then
        echo "--- teevaultd log (last 30 lines) ---" >&2
        tail -n 30 "$TV_LOG" >&2
    fi
    exit 1
}

# tv_skip MSG: this test cannot run here (e.g. ../shared is absent): exit 77,
# which ctest reports as skipped (SKIP_RETURN_CODE), never as passed.
tv_skip() {
    echo "SKIP: $*"
    exit 77
}

tv_py() {
    PYTHONPATH="$TV_HERE${PYTHONPATH:+:$PYTHONPATH}" /usr/bin/python3 "$@"
}

tv_cleanup() {
    if [ -n "$TV_PID" ] && kill -0 "$TV_PID" 2>/dev/null; then
        kill -TERM "$TV_PID" 2>/dev/null || true
        wait "$TV_PID" 2>/dev/null || true
    fi
    TV_PID=""
    if [ -n "$TV_OWN_DIR" ] && [ -z "${TV_KEEP:-}" ]; then
        rm -rf "$TV_OWN_DIR"
    fi
}
trap tv_cleanup EXIT

tv_mkdir() {
    if [ -z "$TV_OWN_DIR" ]; then
        TV_OWN_DIR="$(mktemp -d /tmp/tv-itest.XXXXXX)"
    fi
    TV_DIR="$TV_OWN_DIR"
    # The CLI keeps `teevault login`'s token under the config dir and uses it
    # when no other token is given: each test gets its own, never ~/.config.
    export TEEVAULT_CONFIG_DIR="$TV_DIR/cli-config"
}

# Wait until the daemon logs "ready" and Sys.Health answers on $TV_SOCK.
tv_wait_ready() {
    local i
    for i in $(seq 1 200); do
        if ! kill -0 "$TV_PID" 2>/dev/null; then
            tv_fail "teevaultd exited during start-up"
        fi
        if [ -S "$TV_SOCK" ] && grep -q ' ready \|"event":"ready"' "$TV_LOG" 2>/dev/null &&
            tv_py -c 'import sys, ttrpc_raw as T; T.status(sys.argv[1])' "$TV_SOCK" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    tv_fail "teevaultd did not become ready within 10 s"
}

# tv_start_dev [extra teevaultd args...]
tv_start_dev() {
    [ -x "$TEEVAULTD" ] || tv_fail "no teevaultd at $TEEVAULTD"
    tv_mkdir
    TV_SOCK="$TV_DIR/tv.sock"
    TV_LOG="$TV_DIR/teevaultd.log"
    "$TEEVAULTD" --dev --state-dir "$TV_DIR/state" --socket "$TV_SOCK" "$@" \
        >>"$TV_LOG" 2>&1 &
    TV_PID=$!
    tv_wait_ready
    # --dev initialises the vault and writes the root token here (0600).
    TV_ROOT_TOKEN_FILE="$TV_DIR/state/root-token"
}

# tv_start_config FILE: the config must set unix_socket = $TV_SOCK.
tv_start_config() {
    [ -x "$TEEVAULTD" ] || tv_fail "no teevaultd at $TEEVAULTD"
    TV_LOG="${TV_LOG:-$TV_DIR/teevaultd.log}"
    "$TEEVAULTD" --config "$1" >>"$TV_LOG" 2>&1 &
    TV_PID=$!
    tv_wait_ready
}

# Stop with SIGTERM; the daemon must exit 0 and remove its socket.
tv_stop() {
    local rc=0
    [ -n "$TV_PID" ] || return 0
    kill -TERM "$TV_PID"
    wait "$TV_PID" || rc=$?
    TV_PID=""
    [ "$rc" -eq 0 ] || tv_fail "teevaultd exited with status $rc after SIGTERM"
    [ ! -e "$TV_SOCK" ] || tv_fail "socket $TV_SOCK left behind after shutdown"
}
