# SPDX-License-Identifier: Apache-2.0
"""A stranger on the Unix socket (run as another uid, e.g. nobody), for
test_peer_limits.sh. Usage: peer_attack.py SOCK CASE; prints one JSON line.

  slots    open 60 idle connections (max_connections_per_peer = 50): how
           many of the first 10 were evicted for the later ones
  deadline one connection that never authenticates: closed by the server
           within auth_timeout (2 s)?
  flood    1,000 pipelined Health on one connection: status counts
  login    30 pipelined Logins with wrong passwords: status counts
  h2flood  1,000 concurrent gRPC Health calls on one HTTP/2 connection
           (Debian's python3-grpcio): gRPC status counts
  h1flood  1,000 pipelined Connect (HTTP/1.1, JSON) Health requests on one
           connection: HTTP status counts ("200", "429", "closed")
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
elif case == "h2flood":
    import grpc

    ch = grpc.insecure_channel("unix:" + sock)
    health = ch.unary_unary("/teevault.v1.Sys/Health")  # raw bytes in and out
    t0 = time.time()
    futs = [health.future(b"", timeout=30) for _ in range(1000)]
    codes = {}
    for f in futs:
        try:
            f.result()
            k = "0"
        except grpc.RpcError as e:
            k = str(e.code().value[0])
        codes[k] = codes.get(k, 0) + 1
    out["codes"] = codes
    out["elapsed_s"] = round(time.time() - t0, 2)
    ch.close()
elif case == "h1flood":
    import socket

    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock)
    req = (b"POST /teevault.v1.Sys/Health HTTP/1.1\r\nHost: vault\r\n"
           b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    t0 = time.time()
    s.sendall(req * 1000)
    buf, codes, n = b"", {}, 0
    while n < 1000:
        while b"\r\n\r\n" not in buf:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if not d:
                break
            buf += d
        if b"\r\n\r\n" not in buf:
            codes["closed"] = codes.get("closed", 0) + 1
            break
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        k = lines[0].split()[1].decode()
        ln = 0
        for h in lines[1:]:
            if h.lower().startswith(b"content-length:"):
                ln = int(h.split(b":", 1)[1])
        while len(buf) < ln:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        buf = buf[ln:]
        codes[k] = codes.get(k, 0) + 1
        n += 1
    out["codes"] = codes
    out["elapsed_s"] = round(time.time() - t0, 2)
print(json.dumps(out))
