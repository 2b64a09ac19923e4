#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Connection limits of a live teevaultd started with
max_connections = 20, max_inflight_per_conn = 4, idle_timeout = 1.

Usage: limits.py SOCKET
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttrpc_raw as T  # noqa: E402

SYS = "teevault.v1.Sys"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def health(c):
    return c.call(SYS, "Health")[0] == 0


def main():
    path = sys.argv[1]

    # Connection cap: 20 served. When all 20 are busy (a frame in progress),
    # the 21st is closed at once.
    conns = [T.Conn(path) for _ in range(20)]
    check(all(health(c) for c in conns), "20 connections (the cap) all served")
    for c in conns:
        c.send(T.header(100, 1))  # a frame started: not idle (io_timeout = 2 s)
    time.sleep(0.1)
    extra = T.Conn(path)
    check(extra.closed_by_peer(1.5), "connection 21 over max_connections is closed (all busy)")
    extra.close()
    for c in conns:
        c.close()
    time.sleep(0.3)

    # Issue 14: when the 20 are idle and unauthenticated (slot holders), the
    # 21st is served and the OLDEST idle one is evicted instead of everyone
    # being locked out (the old daemon refused every newcomer for 300 s).
    conns = [T.Conn(path) for _ in range(20)]
    check(all(health(c) for c in conns), "20 idle connections opened")
    extra = T.Conn(path)
    check(health(extra), "connection 21 is served when the others are idle")
    check(conns[0].closed_by_peer(2), "the oldest idle connection was evicted for it")
    check(health(conns[-1]), "a newer idle connection is still served")
    for c in conns + [extra]:
        c.close()
    time.sleep(0.2)

    # In-flight cap 4: 200 pipelined requests still all answered (reading
    # pauses at the cap and resumes as replies leave).
    c = T.Conn(path)
    sids = [c.next_sid() for _ in range(200)]
    c.send(b"".join(T.frame(s, T.encode_request(SYS, "Health")) for s in sids))
    got = []
    while len(got) < 200:
        fr = c.recv_frame()
        if fr is None:
            break
        if T.parse_response(fr[4])[0] == 0:
            got.append(fr[1])
    check(sorted(got) == sorted(sids), "200 pipelined requests with in-flight cap 4 all answered")
    c.close()

    # Idle timeout 1 s: a silent connection is closed; a busy one is not.
    idle = T.Conn(path)
    busy = T.Conn(path)
    t0 = time.monotonic()
    ok = True
    while time.monotonic() - t0 < 2.5:
        ok &= health(busy)
        time.sleep(0.3)
    check(ok, "a connection calling every 0.3 s survives 2.5 s")
    check(idle.closed_by_peer(0.5), "a connection silent for 2.5 s was closed (idle_timeout 1)")
    # A peer stuck in the middle of a frame is idle too.
    half = T.Conn(path)
    half.send(T.header(100, 1) + b"x" * 10)
    check(half.closed_by_peer(3), "a connection stalled mid-frame is closed by the idle timeout")
    idle.close()
    busy.close()
    half.close()

    # Slow drip: one byte every 0.4 s never trips the 1 s idle timeout, but
    # the frame must complete within io_timeout (2 s).
    drip = T.Conn(path)
    data = T.frame(1, T.encode_request(SYS, "Health"))
    t0 = time.monotonic()
    closed = False
    for b in data:
        try:
            drip.send(bytes([b]))
        except OSError:
            closed = True
            break
        time.sleep(0.4)
        if time.monotonic() - t0 > 6:
            break
    if not closed:
        closed = drip.closed_by_peer(1)
    dt = time.monotonic() - t0
    check(closed and dt < 5, "a frame dripped byte by byte is cut off by io_timeout (%.1f s)" % dt)
    drip.close()
    return 1 if failures else 0




def emfile_main(path, n):
    """Run against a daemon whose RLIMIT_NOFILE is tiny: n connections exhaust
    its descriptors; once they close, it must accept again."""
    conns = []
    for _ in range(n):
        try:
            conns.append(T.Conn(path, timeout=2))
        except OSError:
            break
    served = 0
    for c in conns:  # stop at the first connection the daemon could not take
        try:
            c.s.settimeout(1.0)
            if not health(c):
                break
            served += 1
        except (OSError, ConnectionError, ValueError):
            break
    check(served < len(conns), "descriptors exhausted: %d of %d connections served" %
          (served, len(conns)))
    for c in conns:
        c.close()
    ok = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ok:
        try:
            c = T.Conn(path, timeout=3)
            ok = health(c)
            c.close()
        except (OSError, ConnectionError, ValueError):
            time.sleep(0.2)
    check(ok, "after the connections close, the daemon accepts and serves again")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "emfile":
        sys.exit(emfile_main(sys.argv[1], int(sys.argv[3])))
    sys.exit(main())
