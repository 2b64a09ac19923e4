#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Listener and connection limits: max_connections, in-flight cap, idle
# timeout, socket mode, stale-socket takeover, refusal of a second daemon.
. "$(dirname "$0")/lib.sh"

tv_mkdir
TV_SOCK="$TV_DIR/tv.sock"
TV_LOG="$TV_DIR/teevaultd.log"
cat >"$TV_DIR/limits.conf" <<CONF
state_dir = $TV_DIR/state
[listen]
unix_socket = $TV_SOCK
unix_mode = 0600
[limits]
max_connections = 20
max_inflight_per_conn = 4
idle_timeout = 1
io_timeout = 2
[tee]
backend = sim
allow_insecure_sim = true
CONF

# A stale socket file (no listener behind it) is replaced.
/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TV_SOCK"
[ -S "$TV_SOCK" ] || tv_fail "could not create a stale socket"
tv_start_config "$TV_DIR/limits.conf"

mode=$(stat -c %a "$TV_SOCK")
[ "$mode" = 600 ] || tv_fail "socket mode $mode, want 600"
echo "ok   socket mode 0600 from unix_mode"

# A second daemon on the same socket (another state directory: the same one
# is refused earlier, test_attack_second_daemon.sh) refuses to start and
# leaves the socket alone.
sed "s#^state_dir = .*#state_dir = $TV_DIR/state2#" "$TV_DIR/limits.conf" >"$TV_DIR/second.conf"
if "$TEEVAULTD" --config "$TV_DIR/second.conf" >"$TV_DIR/second.log" 2>&1; then
    tv_fail "a second teevaultd started on a live socket"
fi
grep -q 'another server is listening' "$TV_DIR/second.log" || tv_fail "second daemon: unclear error"
tv_py -c 'import sys, ttrpc_raw as T; T.status(sys.argv[1])' "$TV_SOCK" ||
    tv_fail "the first daemon stopped answering after the second one's attempt"
echo "ok   a second daemon on a live socket is refused"

tv_py "$TV_HERE/limits.py" "$TV_SOCK" || tv_fail "limit checks failed"
grep -q 'max_connections reached' "$TV_LOG" || tv_fail "connection cap not logged"
grep -q 'evicted: idle and unauthenticated' "$TV_LOG" || tv_fail "eviction not logged"
grep -q 'idle timeout' "$TV_LOG" || tv_fail "idle timeout not logged"
grep -q 'frame not completed within io_timeout' "$TV_LOG" || tv_fail "slow-drip cut-off not logged"

# A non-socket file at the socket path is never removed.
tv_stop
echo "not a socket" >"$TV_SOCK"
if "$TEEVAULTD" --config "$TV_DIR/limits.conf" >"$TV_DIR/third.log" 2>&1; then
    tv_fail "teevaultd replaced a regular file at its socket path"
fi
grep -q 'not a socket' "$TV_SOCK" || tv_fail "the regular file was modified"
echo "ok   a regular file at the socket path is left alone"

# Out of descriptors (RLIMIT_NOFILE 64): accept pauses instead of spinning,
# and resumes once descriptors are free.
rm -f "$TV_SOCK"
sed -i 's/^max_connections = .*/max_connections = 1000/; s/^idle_timeout = .*/idle_timeout = 300/' \
    "$TV_DIR/limits.conf"
: >"$TV_LOG"
(ulimit -n 64 && exec "$TEEVAULTD" --config "$TV_DIR/limits.conf") >>"$TV_LOG" 2>&1 &
TV_PID=$!
tv_wait_ready
tv_py "$TV_HERE/limits.py" "$TV_SOCK" emfile 80 || tv_fail "EMFILE checks failed"
grep -q 'accept_paused' "$TV_LOG" || tv_fail "accept was not paused on EMFILE"
tv_stop
echo "test_limits: ok"
