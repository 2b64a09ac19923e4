#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Back-pressure: a client pipelines N Secrets.Get of a large value and does
not read. The daemon must stop reading that connection once its output
cannot take another max-size reply (memory stays bounded), keep serving
others, and deliver every reply once the client reads.

Usage: backpressure.py SOCKET TOKEN_FILE NAME VALUE_FILE PID N
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttrpc_raw as T  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    path, token_file, name, value_file, pid, n = sys.argv[1:7]
    pid, n = int(pid), int(n)
    auth = [("authorization", "Bearer " + open(token_file).read().strip())]
    value = open(value_file, "rb").read()
    get = T.field_bytes(1, name)

    rss0 = rss_kib(pid)
    slow = T.Conn(path, timeout=30)
    sids = [slow.next_sid() for _ in range(n)]
    slow.send(b"".join(T.frame(s, T.encode_request("teevault.v1.Secrets", "Get", get, auth))
                       for s in sids))
    time.sleep(1.0)  # let the daemon do all it is willing to do
    rss1 = rss_kib(pid)
    total_mib = n * len(value) / 2**20
    grew_mib = (rss1 - rss0) / 1024
    check(grew_mib < 24, "daemon RSS grew %.1f MiB while %.0f MiB of replies were pending" %
          (grew_mib, total_mib))

    # Another client is served meanwhile.
    other = T.Conn(path)
    code, _, _ = other.call("teevault.v1.Sys", "Health")
    check(code == 0, "another client is served while one connection is back-pressured")
    code, _, payload = other.call("teevault.v1.Secrets", "Get", get, auth)
    check(code == 0 and T.parse_fields(payload).get(3, [b""])[0] == value,
          "another client reads the large secret meanwhile")
    other.close()

    # Now read everything: each reply once, value intact.
    seen = set()
    ok = True
    while len(seen) < n:
        fr = slow.recv_frame()
        if fr is None:
            break
        code, msg, payload = T.parse_response(fr[4])
        ok &= code == 0 and T.parse_fields(payload).get(3, [b""])[0] == value
        seen.add(fr[1])
    check(ok and seen == set(sids), "all %d replies delivered intact after reading resumed" % n)
    slow.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
