# SPDX-License-Identifier: Apache-2.0
"""Start-up time and idle-connection RSS of teevaultd (issue 7 targets).

    startup_rss.py TEEVAULTD STATE_DIR [--runs N] [--connections C]

STATE_DIR holds a --dev vault (teevaultd stopped). Start-up: fork/exec
`teevaultd --dev --state-dir STATE_DIR` and time, with CLOCK_MONOTONIC, until
Sys.Status answers on its socket with initialized=true (the daemon unseals
and opens the store before it listens, so an answer means it serves
requests); polled every 0.5 ms. Repeated N times (default 5) then, on the
last start, RSS (VmRSS from /proc) idle and with C (default 1000) idle
connections, each of which made one Sys.Health call first. Prints one JSON
object. Every daemon started is stopped (SIGTERM, then SIGKILL after 10 s).
"""
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "integration"))
import ttrpc_raw as T  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def try_status(sock):
    try:
        return T.status(sock)["initialized"]
    except (OSError, ValueError, RuntimeError, ConnectionError):
        return False


def start(daemon, state, sock, log):
    if os.path.exists(sock):
        os.unlink(sock)
    t0 = time.monotonic()
    p = subprocess.Popen([daemon, "--dev", "--state-dir", state, "--socket", sock],
                         stdout=log, stderr=log)
    deadline = t0 + 60
    while time.monotonic() < deadline:
        if os.path.exists(sock) and try_status(sock):
            return p, (time.monotonic() - t0) * 1e3
        if p.poll() is not None:
            raise SystemExit("teevaultd exited during start-up (%d)" % p.returncode)
        time.sleep(0.0005)
    stop(p)
    raise SystemExit("teevaultd did not answer within 60 s")


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    args = sys.argv[1:]
    runs, conns = 5, 1000
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    if "--connections" in args:
        i = args.index("--connections")
        conns = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2 or not 1 <= runs <= 50 or not 0 <= conns <= 5000:
        raise SystemExit(__doc__)
    daemon, state = args
    sock = os.path.join(state, "bench-startup.sock")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < conns + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, conns + 64), hard))
    times = []
    out = {}
    with open(os.path.join(state, "bench-startup.log"), "ab") as log:
        for i in range(runs):
            p, ms = start(daemon, state, sock, log)
            times.append(ms)
            if i < runs - 1:
                stop(p)
        try:
            time.sleep(0.5)
            out["rss_idle_kib"] = rss_kib(p.pid)
            cs = []
            for _ in range(conns):
                c = T.Conn(sock)
                code, msg, _ = c.call("teevault.v1.Sys", "Health")
                if code != 0:
                    raise SystemExit("Health failed: %d %s" % (code, msg))
                cs.append(c)
            time.sleep(0.5)
            # Still served with all of them open.
            if not try_status(sock):
                raise SystemExit("no answer with %d connections open" % conns)
            out["connections"] = len(cs)
            out["rss_connections_kib"] = rss_kib(p.pid)
            for c in cs:
                c.close()
        finally:
            stop(p)
    times.sort()
    out["startup_ms"] = [round(t, 1) for t in times]
    out["startup_ms_median"] = round(times[len(times) // 2], 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
