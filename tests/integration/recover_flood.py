# SPDX-License-Identifier: Apache-2.0
"""Pipelined wrong-passphrase Sys.Recover calls on one connection while a
second connection measures Sys.Health latency (issue 11, attack 5).

Usage: recover_flood.py SOCKET N
Prints one JSON object: the Recover status codes, the Health latencies
(max, p50 in ms) measured while the Recovers were outstanding, and their
count.
"""
import json
import sys
import threading
import time

import ttrpc_raw as T


def field_str(num, s):
    return T.field_bytes(num, s.encode())


def main(path, n):
    flood = T.Conn(path, timeout=120.0)
    codes = []
    done = threading.Event()

    def reader():
        for _ in range(n):
            fr = flood.recv_frame()
            if fr is None:
                break
            codes.append(T.parse_response(fr[4])[0])
        done.set()

    th = threading.Thread(target=reader)
    th.start()
    frames = b""
    for i in range(n):
        req = T.encode_request("teevault.v1.Sys", "Recover",
                               field_str(1, "wrong passphrase number %d" % i))
        frames += T.frame(flood.next_sid(), req)
    flood.send(frames)  # pipelined: all N in flight at once
    probe = T.Conn(path, timeout=30.0)
    lat = []
    t_end = time.time() + 60
    while not done.is_set() and time.time() < t_end:
        t0 = time.monotonic()
        code, _, _ = probe.call("teevault.v1.Sys", "Health")
        lat.append((time.monotonic() - t0) * 1000.0)
        if code != 0:
            print(json.dumps({"error": "health failed with %d" % code}))
            return 1
        time.sleep(0.02)
    th.join(5)
    lat.sort()
    print(json.dumps({
        "codes": codes,
        "health_samples": len(lat),
        "health_max_ms": round(lat[-1], 1) if lat else None,
        "health_p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
