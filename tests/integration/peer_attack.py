"""A stranger on the Unix socket (run as another uid, e.g. nobody), for
test_peer_limits.sh. Usage: peer_attack.py SOCK CASE; prints one JSON line.

  slots    open 60 idle connections (max_connections_per_peer = 50): how
           many of the first 10 were evicted for the later ones
  deadline one connection that never authenticates: closed by the server
           within auth_timeout (2 s)?
  flood    1,000 pipelined Health on one connection: status counts
  login    30 pipelined Logins with wrong passwords: status counts
"""
import json
import sys
import time

import ttrpc_raw as T

sock, case = sys.argv[1], sys.argv[2]
out = {}
if case == "slots":
    conns = [T.Conn(sock) for _ in range(60)]
    time.sleep(0.5)
    out["evicted_first10"] = sum(1 for c in conns[:10] if c.closed_by_peer(0.5))
    out["served_last"] = conns[-1].call("teevault.v1.Sys", "Health")[0]
elif case == "deadline":
    c = T.Conn(sock)
    t0 = time.time()
    out["closed"] = c.closed_by_peer(6)
    out["after_s"] = round(time.time() - t0, 2)
elif case in ("flood", "login"):
    c = T.Conn(sock, timeout=30)
    if case == "flood":
        reqs = [T.encode_request("teevault.v1.Sys", "Health")] * 1000
    else:
        body = T.field_bytes(1, b"admin") + T.field_bytes(2, b"not-the-password")
        reqs = [T.encode_request("teevault.v1.Auth", "Login", body)] * 30
    t0 = time.time()
    c.send(b"".join(T.frame(c.next_sid(), r) for r in reqs))
    codes = {}
    for _ in reqs:
        try:
            fr = c.recv_frame()
        except OSError:  # reset: closed by the server (auth_timeout)
            fr = None
        if fr is None:
            codes["closed"] = codes.get("closed", 0) + 1
            break
        k = str(T.parse_response(fr[4])[0])
        codes[k] = codes.get(k, 0) + 1
    out["codes"] = codes
    out["elapsed_s"] = round(time.time() - t0, 2)
print(json.dumps(out))
