# SPDX-License-Identifier: Apache-2.0
"""Malformed HTTP/2 and HTTP/1.1 against the live daemon, while a ttrpc
client keeps calling: every attack must end (the attacker's stream or
connection refused or closed) and the ttrpc client must keep getting
answers. Usage: malformed_http.py SOCKET ROOT_TOKEN_FILE IO_TIMEOUT
"""
import socket
import struct
import sys
import threading
import time

import ttrpc_raw as T

SOCK = sys.argv[1]
TOKEN = open(sys.argv[2]).read().strip()
IO_TIMEOUT = float(sys.argv[3])
FAILED = []
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = \
    0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS = 1, 4


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILED.append(what)


# ------------------------------------------------------------------ HTTP/2
def frame(typ, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([typ, flags]) + struct.pack(">I", sid) \
        + payload


def hint(n, prefix_bits, first=0):
    mx = (1 << prefix_bits) - 1
    if n < mx:
        return bytes([first | n])
    out = bytearray([first | mx])
    n -= mx
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def lit(name, value):
    """HPACK literal header field without indexing, new name, no Huffman."""
    if isinstance(name, str):
        name = name.encode()
    if isinstance(value, str):
        value = value.encode()
    return b"\x00" + hint(len(name), 7) + name + hint(len(value), 7) + value


def grpc_headers(path="/teevault.v1.Secrets/Get", extra=()):
    h = lit(":method", "POST") + lit(":scheme", "http") + lit(":path", path) + \
        lit(":authority", "localhost") + lit("content-type", "application/grpc") + \
        lit("te", "trailers") + lit("authorization", "Bearer " + TOKEN)
    for k, v in extra:
        h += lit(k, v)
    return h


def grpc_msg(payload):
    return b"\x00" + struct.pack(">I", len(payload)) + payload


class H2:
    def __init__(self, settings=b""):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(SOCK)
        self.buf = b""
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        self.s.sendall(data)

    def frames(self, wait):
        """Frames until EOF or `wait` seconds of silence; (list, closed)."""
        out, closed = [], False
        self.s.settimeout(wait)
        try:
            while True:
                while len(self.buf) >= 9:
                    n = int.from_bytes(self.buf[:3], "big")
                    if len(self.buf) < 9 + n:
                        break
                    typ, flags = self.buf[3], self.buf[4]
                    sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
                    out.append((typ, flags, sid, self.buf[9:9 + n]))
                    self.buf = self.buf[9 + n:]
                d = self.s.recv(65536)
                if not d:
                    closed = True
                    break
                self.buf += d
        except (socket.timeout, TimeoutError):
            pass
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        return out, closed

    def close(self):
        self.s.close()


def goaway_code(frames):
    for typ, _, _, p in frames:
        if typ == GOAWAY and len(p) >= 8:
            return struct.unpack(">I", p[4:8])[0]
    return None


# ------------------------------------------------------------------ the bystander
class Bystander(threading.Thread):
    """A ttrpc client calling Sys.Health in a loop; records failures and the
    slowest call."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.calls, self.errors, self.worst = False, 0, [], 0.0

    def run(self):
        c = T.Conn(SOCK)
        md = (("authorization", "Bearer " + TOKEN),)
        while not self.stop:
            t0 = time.monotonic()
            try:
                code, msg, _ = c.call("teevault.v1.Sys", "Health", b"", md)
                if code != 0:
                    self.errors.append((code, msg))
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))
                c = T.Conn(SOCK)
            self.worst = max(self.worst, time.monotonic() - t0)
            self.calls += 1
            time.sleep(0.005)


def bystander_ok(b, what):
    n0 = b.calls
    time.sleep(0.3)
    check(b.calls > n0 and not b.errors,
          "%s: the ttrpc client kept being served (%d calls, errors %s, slowest %.0f ms)"
          % (what, b.calls, b.errors[:3], b.worst * 1000))


def h2_cases(b):
    # 1. Bad preface.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(SOCK)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + b"\x00" * 64)
    try:
        closed = s.recv(4096) is not None
        while s.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        closed = True
    check(closed, "bad HTTP/2 preface: connection closed")
    s.close()
    bystander_ok(b, "bad preface")

    # 2. Oversized header list (32 KiB in HEADERS + CONTINUATION).
    h = H2()
    block = grpc_headers(extra=[("x-pad", "a" * 16000), ("x-pad2", "b" * 16000)])
    h.send(frame(HEADERS, 0, 1, block[:16000]) +
           frame(CONTINUATION, 0, 1, block[16000:32000]) +
           frame(CONTINUATION, END_HEADERS, 1, block[32000:]))
    fr, closed = h.frames(2)
    rst = [f for f in fr if f[0] == RST_STREAM and f[2] == 1]
    check(rst or goaway_code(fr) is not None or closed,
          "oversized header list: stream reset or session ended (rst=%d goaway=%s closed=%s)"
          % (len(rst), goaway_code(fr), closed))
    # The same connection still serves a normal call when only the stream died.
    if rst and not closed:
        h.send(frame(HEADERS, END_HEADERS, 3, grpc_headers()) +
               frame(DATA, END_STREAM, 3, grpc_msg(b"\x0a\x01x")))
        fr, _ = h.frames(2)
        check(any(f[0] == HEADERS and f[2] == 3 for f in fr),
              "after the reset stream the connection still answers")
    h.close()
    bystander_ok(b, "oversized headers")

    # 3. CONTINUATION flood: a header block that never ends.
    h = H2()
    h.send(frame(HEADERS, 0, 1, grpc_headers()))
    for i in range(200):
        try:
            h.send(frame(CONTINUATION, 0, 1, lit("x-c%d" % i, "v")))
        except (BrokenPipeError, ConnectionResetError):
            break
    fr, closed = h.frames(2)
    check(goaway_code(fr) is not None or closed or any(f[0] == RST_STREAM for f in fr),
          "CONTINUATION flood: refused (goaway=%s closed=%s)" % (goaway_code(fr), closed))
    h.close()
    bystander_ok(b, "CONTINUATION flood")

    # 4. Rapid reset: open and cancel streams as fast as possible.
    h = H2()
    sent = 0
    try:
        for i in range(2000):
            sid = 1 + 2 * i
            h.send(frame(HEADERS, END_HEADERS, sid, grpc_headers()) +
                   frame(RST_STREAM, 0, sid, struct.pack(">I", 8)))
            sent += 1
    except (BrokenPipeError, ConnectionResetError):
        pass
    fr, closed = h.frames(3)
    code = goaway_code(fr)
    check(code is not None or closed,
          "rapid reset: the session ended after %d cancelled streams (GOAWAY code %s, closed %s)"
          % (sent, code, closed))
    h.close()
    bystander_ok(b, "rapid reset")

    # 5. Stream cap: streams over max_inflight_per_conn are refused.
    h = H2()
    for i in range(100):
        h.send(frame(HEADERS, END_HEADERS, 1 + 2 * i, grpc_headers()))  # no END_STREAM
    fr, closed = h.frames(1.5)
    refused = [f for f in fr if f[0] == RST_STREAM and struct.unpack(">I", f[3])[0] == 7]
    check(len(refused) >= 1 or goaway_code(fr) is not None,
          "100 open streams: those over the cap refused (%d REFUSED_STREAM)" % len(refused))
    # ... and the half-open ones do not stay forever: io_timeout ends them.
    fr, closed = h.frames(IO_TIMEOUT + 3)
    check(closed, "streams whose request never ends are cut off after io_timeout")
    h.close()
    bystander_ok(b, "stream cap")

    # 6. Window abuse: a peer that never opens its window for our replies.
    k = T.Conn(SOCK)
    md = (("authorization", "Bearer " + TOKEN),)
    k.call("teevault.v1.Sys", "Health", b"", md)  # lifts the 16 KiB pre-auth cap
    code, msg, _ = k.call("teevault.v1.Secrets", "Put",
                          T.field_bytes(1, "h2/big") + T.field_bytes(2, b"v" * 200000), md)
    check(code == 0, "200 KB secret stored for the window test (%d %s)" % (code, msg))
    k.close()
    h = H2(settings=struct.pack(">HI", 4, 0))  # INITIAL_WINDOW_SIZE = 0
    for i in range(32):
        sid = 1 + 2 * i
        h.send(frame(HEADERS, END_HEADERS, sid, grpc_headers()) +
               frame(DATA, END_STREAM, sid, grpc_msg(T.field_bytes(1, "h2/big"))))
    t0 = time.monotonic()
    fr, closed = h.frames(IO_TIMEOUT + 3)
    data = sum(len(f[3]) for f in fr if f[0] == DATA)
    check(closed and data == 0,
          "zero window: no DATA sent, connection closed after %.1f s (io_timeout %.0f s)"
          % (time.monotonic() - t0, IO_TIMEOUT))
    h.close()
    # WINDOW_UPDATE overflowing the window (2^31-1) ends the session.
    h = H2()
    h.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)) * 2)
    fr, closed = h.frames(2)
    check(goaway_code(fr) == 3 or closed,
          "WINDOW_UPDATE overflow: FLOW_CONTROL_ERROR (GOAWAY %s)" % goaway_code(fr))
    h.close()
    bystander_ok(b, "window abuse")

    # 7. SETTINGS / PING flood without reading the ACKs.
    h = H2()
    try:
        h.send((frame(PING, 0, 0, b"12345678") * 5000))
    except (BrokenPipeError, ConnectionResetError):
        pass
    h.close()
    bystander_ok(b, "PING flood")


# ------------------------------------------------------------------ HTTP/1.1
def h1(raw, wait=3.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(wait)
    s.connect(SOCK)
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out, closed = b"", False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except (socket.timeout, TimeoutError):
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    return out, closed


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def h1_cases(b):
    hdr = b"content-type: application/json\r\nauthorization: Bearer " + TOKEN.encode() + b"\r\n"
    cases = [
        ("oversized request line", b"POST /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n", 414),
        ("oversized header block", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" +
         b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 500) for i in range(40)) + b"\r\n", 431),
        ("too many header fields", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" +
         b"".join(b"x-%d: v\r\n" % i for i in range(100)) + b"\r\n", 431),
        ("chunk size with too many digits", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" + hdr +
         b"transfer-encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n", 400),
        ("chunk over the pre-auth body cap (no token)", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n"
         b"content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n100000\r\n", 413),
        ("chunk over the body cap (valid token)", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" +
         hdr + b"transfer-encoding: chunked\r\n\r\n1000000\r\n", 413),
        ("endless small chunks", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" +
         b"content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n" +
         b"10\r\n" + b"{" * 16 + b"\r\n" + (b"10\r\n" + b" " * 16 + b"\r\n") * 2000, 413),
        ("chunk-size line without end", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" + hdr +
         b"transfer-encoding: chunked\r\n\r\n1;" + b"e" * 5000, 400),
        ("content-length with transfer-encoding", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" +
         hdr + b"content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("two content-lengths", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" + hdr +
         b"content-length: 2\r\ncontent-length: 3\r\n\r\n{}", 400),
        ("content-length over the cap", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" + hdr +
         b"content-length: 99999999\r\n\r\n", 413),
        ("bare LF line ends", b"POST /teevault.v1.Sys/Health HTTP/1.1\n" + b"x: y\n\n", 400),
        ("obsolete line folding", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\nx: y\r\n z\r\n\r\n",
         400),
        ("gzip transfer-encoding", b"POST /teevault.v1.Sys/Health HTTP/1.1\r\n" + hdr +
         b"transfer-encoding: gzip\r\n\r\n", 501),
        ("HTTP/0.9-style garbage", b"GARBAGE\r\n\r\n", 400),
    ]
    for what, raw, want in cases:
        out, closed = h1(raw)
        st = status_of(out)
        check(st == want and closed, "HTTP/1.1 %s -> %s (want %d), closed %s"
              % (what, st, want, closed))
        bystander_ok(b, what)
    # A request head dripped one byte at a time is cut off after io_timeout.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    t0, closed = time.monotonic(), False
    try:
        for ch in b"POST /teevault.v1.Sys/Health HTTP/1.1\r\nx-slow: " + b"a" * 1000:
            s.sendall(bytes([ch]))
            time.sleep(0.05)
            if time.monotonic() - t0 > IO_TIMEOUT + 5:
                break
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    s.close()
    check(closed and time.monotonic() - t0 < IO_TIMEOUT + 3,
          "HTTP/1.1 slow drip cut off after %.1f s" % (time.monotonic() - t0))
    # Pipelined requests on one keep-alive connection are answered in order.
    req = (b"POST /teevault.v1.Sys/Health HTTP/1.1\r\ncontent-type: application/json\r\n"
           b"content-length: 2\r\n\r\n{}")
    out, _ = h1(req * 3 + b"POST /teevault.v1.Sys/Health HTTP/1.1\r\ncontent-type: "
                b"application/json\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}")
    check(out.count(b"HTTP/1.1 200") == 4, "4 pipelined requests answered (%d)"
          % out.count(b"HTTP/1.1 200"))


def main():
    b = Bystander()
    b.start()
    time.sleep(0.2)
    h2_cases(b)
    h1_cases(b)
    b.stop = True
    b.join()
    check(not b.errors, "the ttrpc client saw no errors in %d calls (slowest %.0f ms)"
          % (b.calls, b.worst * 1000))
    print("malformed_http: %d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
