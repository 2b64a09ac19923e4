# SPDX-License-Identifier: Apache-2.0
"""Connection deadlines (issue 14) probed from a real client, for
test_deadlines.sh. Usage: deadline_probe.py CASE ARGS...; prints one JSON
line.

  tls-silent HOST PORT          TCP connect, send nothing (a slot held before
                                its TLS handshake): closed after how long?
  tls-partial HOST PORT         send the first bytes of a TLS record, then
                                stall: closed after how long?
  tls-public HOST PORT CA       handshake, then only public Health calls every
                                0.5 s (never a token): closed after how long
                                from the handshake, and how many answered?
  tls-authed HOST PORT CA TOK   handshake, one authenticated Status, then wait
                                WAIT seconds: still open, and a call works?
  unix-public SOCK              as tls-public on the Unix socket
"""
import json
import socket
import sys
import time

import ttrpc_raw as T

case = sys.argv[1]
out = {}


def wait_closed(s, limit):
    """Seconds until the server closes s (EOF/reset), or None within limit."""
    t0 = time.time()
    s.settimeout(limit)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return round(time.time() - t0, 2)
    except (ConnectionResetError, BrokenPipeError):
        return round(time.time() - t0, 2)
    except socket.timeout:
        return None
    except OSError:
        return round(time.time() - t0, 2)


def public_until_closed(c, limit):
    """Health every 0.5 s until the server closes c: (seconds, answered)."""
    t0, n = time.time(), 0
    while time.time() - t0 < limit:
        try:
            code = c.call("teevault.v1.Sys", "Health")[0]
            if code == 0:
                n += 1
        except (OSError, ConnectionError, ValueError):
            return round(time.time() - t0, 2), n
        time.sleep(0.5)
    return None, n


if case in ("tls-silent", "tls-partial"):
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
    if case == "tls-partial":
        s.sendall(b"\x16\x03\x01\x02\x00")  # a handshake record header, no body
    out["closed_after_s"] = wait_closed(s, 10)
elif case == "tls-public":
    c = T.Conn.tls(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    out["closed_after_s"], out["answered"] = public_until_closed(c, 10)
elif case == "unix-public":
    c = T.Conn(sys.argv[2])
    out["closed_after_s"], out["answered"] = public_until_closed(c, 10)
elif case == "tls-authed":
    c = T.Conn.tls(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    with open(sys.argv[5]) as f:
        md = [("authorization", "Bearer " + f.read().strip())]
    out["first"] = c.call("teevault.v1.Sys", "Status", b"", md)[0]
    time.sleep(float(sys.argv[6]))
    try:
        out["later"] = c.call("teevault.v1.Sys", "Health")[0]
    except (OSError, ConnectionError, ValueError) as e:
        out["later"] = "closed: %s" % e
print(json.dumps(out))
