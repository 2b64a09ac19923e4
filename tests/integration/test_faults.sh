#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Faults (issue 7 item 4), beyond what test_malformed.sh (malformed frames,
# pre-auth 16 KiB and 4 MiB caps, 200 idle connections), test_limits.sh
# (max_connections, in-flight cap, idle timeout, one slow-drip frame, EMFILE),
# test_backpressure.sh (pending replies) and test_audit.sh (high-water mark on
# a 1 MiB map) already cover:
#   1. storage full on a real, small tmpfs (root) - the filesystem fills, not
#      the map - writes refused with a clear error, reads served, and every
#      acknowledged write still there after a restart (falls back to a small
#      LMDB map when tmpfs cannot be mounted);
#   2. 200 slow-loris connections dribbling bytes while a well-behaved client
#      keeps being served (latency reported);
#   3. 1,000 concurrent connections: all active at once, then each holding a
#      partial pre-auth frame; VmRSS reported and bounded (< 64 MiB idle);
#   4. oversized values and 16 concurrent almost-4 MiB frames, a 4 GiB header
#      after authentication.
# Figures are printed as "figure NAME VALUE" lines.
. "$(dirname "$0")/lib.sh"

tv_mkdir
MNT=""
faults_cleanup() {
    if [ -n "$TV_PID" ] && kill -0 "$TV_PID" 2>/dev/null; then
        kill -KILL "$TV_PID" 2>/dev/null || true
        wait "$TV_PID" 2>/dev/null || true
    fi
    TV_PID=""
    if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; fi
    tv_cleanup
}
trap faults_cleanup EXIT

start_dev() { # start_dev CONF STATE_DIR
    "$TEEVAULTD" --dev --config "$1" --state-dir "$2" --socket "$TV_SOCK" >>"$TV_LOG" 2>&1 &
    TV_PID=$!
    tv_wait_ready
}

TV_SOCK="$TV_DIR/tv.sock"
TV_LOG="$TV_DIR/teevaultd.log"

# ---------------------------------------------------------------- 1. storage full
mkdir -p "$TV_DIR/fs"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4m,mode=0700 tmpfs "$TV_DIR/fs" 2>/dev/null; then
    MNT="$TV_DIR/fs"
    STATE="$MNT/state"
    MAP=16M # larger than the filesystem: the disk fills, not the map
    echo "storage full: state on a 4 MiB tmpfs, map_size $MAP"
else
    STATE="$TV_DIR/fs/state"
    MAP=2M
    echo "storage full: no tmpfs (not root or mount refused); state on a $MAP map"
fi
cat >"$TV_DIR/full.conf" <<CONF
[limits]
map_size = $MAP
CONF
start_dev "$TV_DIR/full.conf" "$STATE"
tv_py "$TV_HERE/faults.py" fill "$TV_SOCK" "$STATE/root-token" "$TV_DIR/journal" ||
    tv_fail "storage full: checks failed"
[ -z "$MNT" ] || df -k "$MNT" | tail -n 1 | awk '{print "figure tmpfs_used_kib " $3 " of " $2}'
kill -0 "$TV_PID" || tv_fail "teevaultd died with the storage full"
# A clean stop with the disk full, then a restart on the same full disk.
kill -TERM "$TV_PID"
rc=0
wait "$TV_PID" || rc=$?
TV_PID=""
echo "figure full_disk_sigterm_exit $rc"
[ "$rc" -eq 0 ] || tv_fail "teevaultd exited $rc on SIGTERM with the storage full"
start_dev "$TV_DIR/full.conf" "$STATE"
tv_py "$TV_HERE/faults.py" check "$TV_SOCK" "$STATE/root-token" "$TV_DIR/journal" ||
    tv_fail "storage full: acknowledged writes lost after restart"
# After a SIGKILL on the full disk too.
kill -KILL "$TV_PID"
wait "$TV_PID" 2>/dev/null || true
TV_PID=""
start_dev "$TV_DIR/full.conf" "$STATE"
tv_py "$TV_HERE/faults.py" check "$TV_SOCK" "$STATE/root-token" "$TV_DIR/journal" ||
    tv_fail "storage full: acknowledged writes lost after SIGKILL + restart"
tv_stop
if [ -n "$MNT" ]; then umount "$MNT" && MNT=""; fi
echo "ok   storage full: refused, reads served, nothing lost after restart"

# ---------------------------------------------------------------- 2-4. connections
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 2100 ] || tv_fail "need ulimit -n >= 2100 for 1,000 connections"
cat >"$TV_DIR/conn.conf" <<CONF
[limits]
max_connections = 1100
io_timeout = 3
CONF
start_dev "$TV_DIR/conn.conf" "$TV_DIR/state2"
tv_py "$TV_HERE/faults.py" loris "$TV_SOCK" "$TV_PID" 200 8 || tv_fail "slow loris"
# Under ASan/UBSan (TV_SANITIZE) RSS is dominated by shadow memory and the
# free quarantine: the figures are printed but not bounded.
# Under ASan the daemon takes 4 MiB frames in several times slower: 16 at
# once outlast the 3 s io_timeout and are cut off; 4 still check the refusal.
rss_max=64 big_senders=16
if grep -q __asan_init "$TEEVAULTD" 2>/dev/null; then rss_max=0 big_senders=4; fi
tv_py "$TV_HERE/faults.py" conns "$TV_SOCK" "$TV_PID" 1000 "$rss_max" || tv_fail "1,000 connections"
tv_py "$TV_HERE/faults.py" oversize "$TV_SOCK" "$TV_DIR/state2/root-token" "$TV_PID" "$big_senders" ||
    tv_fail "oversized values and frames"
tv_stop
echo "test_faults: ok"
