#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fault cases against a live teevaultd (driven by test_faults.sh).

  faults.py fill SOCK TOKEN_FILE JOURNAL      fill the store until a write is
      refused; acknowledged writes go to JOURNAL; reads must go on
  faults.py check SOCK TOKEN_FILE JOURNAL     every journaled write is there
  faults.py loris SOCK PID N SECONDS          N slow-loris connections while a
      well-behaved client keeps calling
  faults.py conns SOCK PID N RSS_MAX_MIB      N concurrent connections (active,
      then each holding a partial pre-auth frame); RSS reported and bounded
      (RSS_MAX_MIB 0: reported only)
  faults.py oversize SOCK TOKEN_FILE PID      oversized values and frames from
      several authenticated connections at once

Each prints "ok   ..." / "FAIL ..." lines and "figure NAME VALUE" lines for the
report, and exits non-zero when a check failed.
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttrpc_raw as T  # noqa: E402

SYS, SEC = "teevault.v1.Sys", "teevault.v1.Secrets"
OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED = 0, 3, 8
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def figure(name, value):
    print("figure %s %s" % (name, value), flush=True)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def auth(token_file):
    return [("authorization", "Bearer " + open(token_file).read().strip())]


def put(c, md, name, value):
    code, msg, payload = c.call(SEC, "Put", T.field_bytes(1, name) + T.field_bytes(2, value), md)
    ver = T.parse_fields(payload).get(1, [0])[0] if code == OK else 0
    return code, msg, ver


def get(c, md, name, version=0):
    req = T.field_bytes(1, name) + (T.field_varint(2, version) if version else b"")
    code, msg, payload = c.call(SEC, "Get", req, md)
    f = T.parse_fields(payload) if code == OK else {}
    return code, msg, f.get(3, [b""])[0], f.get(2, [0])[0]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0.0


# ------------------------------------------------------------------ storage


def case_fill(sock, token_file, journal):
    md = auth(token_file)
    c = T.Conn(sock)
    refused = None
    acked = []
    with open(journal, "w") as j:
        for i in range(100000):
            name = "fill/%d" % i
            value = (b"%08d" % i) + os.urandom(1500).hex().encode()
            code, msg, ver = put(c, md, name, value)
            if code != OK:
                refused = (code, msg, i)
                break
            acked.append((name, ver, value))
            j.write("%s\t%d\t%s\n" % (name, ver, value.decode()))
            j.flush()
    check(refused is not None, "writes are refused once storage is full (after %d writes)"
          % len(acked))
    if refused is None:
        return
    code, msg, _ = refused
    figure("fill_acked_writes", len(acked))
    figure("fill_refusal", "%d:%s" % (code, msg))
    check(code == RESOURCE_EXHAUSTED, "refusal is RESOURCE_EXHAUSTED (got %d)" % code)
    low = msg.lower()
    check(("storage" in low or "space" in low or "full" in low) and len(msg) < 300
          and all(ch >= " " for ch in msg), "refusal says why: %r" % msg)
    # More writes keep being refused the same way, and the daemon stays up.
    code2, msg2, _ = put(c, md, "fill/again", b"x" * 2000)
    check(code2 == RESOURCE_EXHAUSTED, "a second write is refused too (%d %s)" % (code2, msg2))
    # Reads keep being served (and audited) in the reserved margin.
    served = 0
    for k in range(200):
        name, ver, value = acked[k * len(acked) // 200]
        code, msg, got, gver = get(c, md, name)
        if code == OK and got == value and gver == ver:
            served += 1
    check(served == 200, "200 reads after the refusal all served with their values (%d)" % served)
    code, _, _ = T.Conn(sock).call(SYS, "Health")
    check(code == OK, "a new connection is served while storage is full")
    c.close()


def case_check(sock, token_file, journal):
    md = auth(token_file)
    c = T.Conn(sock)
    n = lost = 0
    for line in open(journal):
        name, ver, value = line.rstrip("\n").split("\t")
        n += 1
        code, msg, got, gver = get(c, md, name, int(ver))
        if code != OK or got != value.encode() or gver != int(ver):
            lost += 1
            if lost <= 5:
                print("LOST %s v%s: %d %s" % (name, ver, code, msg))
    figure("restart_checked_writes", n)
    check(n > 0 and lost == 0, "after restart: %d acknowledged writes all present (lost %d)"
          % (n, lost))
    c.close()


# ------------------------------------------------------------------ slow loris


class Good(threading.Thread):
    """A well-behaved client calling Health in a loop; latencies in ms."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.lat, self.errors, self.stop = sock, [], [], False

    def run(self):
        c = T.Conn(self.sock)
        while not self.stop:
            t = time.monotonic()
            try:
                code, _, _ = c.call(SYS, "Health")
                if code != OK:
                    self.errors.append(code)
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))
                try:
                    c = T.Conn(self.sock)
                except OSError:
                    pass
            self.lat.append((time.monotonic() - t) * 1000)
            time.sleep(0.005)
        c.close()


def case_loris(sock, pid, n, seconds):
    rss0 = rss_kib(pid)
    good = Good(sock)
    good.start()
    time.sleep(0.5)
    base = list(good.lat)
    data = T.frame(1, T.encode_request(SYS, "Health"))
    conns, opened, cut = [], 0, 0
    for _ in range(n):
        try:
            conns.append(T.Conn(sock, timeout=0.2))
            opened += 1
        except OSError:
            break
    # Each loris sends a header claiming a frame, then one byte every ~0.5 s.
    pos = [0] * len(conns)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        for i, c in enumerate(conns):
            if c is None:
                continue
            if pos[i] < len(data):
                try:
                    c.send(data[pos[i]:pos[i] + 1])
                    pos[i] += 1
                except OSError:
                    conns[i] = None
                    cut += 1
        time.sleep(0.5)
    rss1 = rss_kib(pid)
    during = good.lat[len(base):]
    good.stop = True
    good.join()
    for c in conns:
        if c is not None:
            c.close()
    figure("loris_connections", opened)
    figure("loris_cut_off_by_server", cut)
    figure("loris_good_calls", len(during))
    figure("loris_good_p50_ms", "%.2f" % pct(during, 0.5))
    figure("loris_good_p99_ms", "%.2f" % pct(during, 0.99))
    figure("loris_good_max_ms", "%.2f" % max(during or [0]))
    figure("loris_rss_mib", "%.1f -> %.1f" % (rss0 / 1024, rss1 / 1024))
    check(opened == n, "%d slow-loris connections opened" % opened)
    check(not good.errors, "the well-behaved client saw no errors %s" % good.errors[:3])
    check(len(during) > seconds * 20, "the well-behaved client kept being served (%d calls in %d s)"
          % (len(during), seconds))
    # A daemon that waited on a loris would stall the good client for the
    # io_timeout (3 s); the bound leaves room for an overloaded machine (this
    # script's own threads share the GIL with 200 senders).
    check(pct(during, 0.99) < 1000, "its p99 latency stayed below 1 s (%.1f ms)"
          % pct(during, 0.99))
    check(cut > 0, "the server cut slow-drip connections off (io_timeout): %d of %d" % (cut, n))


# ------------------------------------------------------------------ 1,000 connections


def case_conns(sock, pid, n, rss_max_mib):
    rss0 = rss_kib(pid)
    conns = []
    for _ in range(n):
        conns.append(T.Conn(sock, timeout=30))
    rss_idle = rss_kib(pid)
    # Every connection has one request in flight at the same time.
    hdr = T.frame(1, T.encode_request(SYS, "Health"))
    for c in conns:
        c.send(hdr)
    answered = 0
    for c in conns:
        fr = c.recv_frame()
        if fr is not None and T.parse_response(fr[4])[0] == OK:
            answered += 1
    rss_active = rss_kib(pid)
    code, _, _ = T.Conn(sock).call(SYS, "Health")
    check(code == OK, "a new client is served with %d connections open" % n)
    # Each connection now holds a pre-auth frame just under the 16 KiB cap,
    # all but its last byte: the daemon buffers n x 16 KiB at most.
    body = T.encode_request(SYS, "Health", b"", [("x-pad", "a" * (16 * 1024 - 80))])
    part = T.header(len(body), 3) + body[:-1]
    for c in conns:
        c.send(part)
    time.sleep(1.0)
    rss_partial = rss_kib(pid)
    code, _, _ = T.Conn(sock).call(SYS, "Health")
    check(code == OK, "a new client is served while %d partial 16 KiB frames are buffered" % n)
    # Completing them: every one is answered.
    for c in conns:
        c.send(body[-1:])
    done = 0
    for c in conns:
        fr = c.recv_frame()
        if fr is not None and fr[1] == 3:
            done += 1
    for c in conns:
        c.close()
    time.sleep(0.5)
    rss_after = rss_kib(pid)
    figure("conns", n)
    figure("conns_rss_mib_start", "%.1f" % (rss0 / 1024))
    figure("conns_rss_mib_idle", "%.1f" % (rss_idle / 1024))
    figure("conns_rss_mib_active", "%.1f" % (rss_active / 1024))
    figure("conns_rss_mib_partial_frames", "%.1f" % (rss_partial / 1024))
    figure("conns_rss_mib_after_close", "%.1f" % (rss_after / 1024))
    check(answered == n, "%d concurrent requests on %d connections all answered (%d)"
          % (n, n, answered))
    check(done == n, "%d completed 16 KiB frames all answered (%d)" % (n, done))
    peak = max(rss_idle, rss_active, rss_partial)
    if rss_max_mib == 0:
        print("skip RSS bounds (sanitizer build: shadow memory and quarantine)")
        return
    check(rss_idle / 1024 < rss_max_mib, "RSS with %d idle connections %.1f MiB < %d MiB"
          % (n, rss_idle / 1024, rss_max_mib))
    check(peak / 1024 < rss_max_mib + 16,
          "peak RSS %.1f MiB < %d MiB (+16 MiB of buffered 16 KiB frames)"
          % (peak / 1024, rss_max_mib))


# ------------------------------------------------------------------ oversized


def case_oversize(sock, token_file, pid, senders=16, max_value=1 << 20):
    md = auth(token_file)
    c = T.Conn(sock, timeout=30)
    c.call(SYS, "Health", b"", md)  # a valid token lifts the 16 KiB pre-auth cap
    code, msg, _ = put(c, md, "big/ok", b"v" * max_value)
    check(code == OK, "a value of exactly max_value_bytes (1 MiB) is stored (%d %s)" % (code, msg))
    code, msg, _ = put(c, md, "big/over", b"v" * (max_value + 1))
    check(code != OK and ("1048576" in msg or "max_value" in msg or "large" in msg),
          "max_value_bytes + 1 refused with a clear error (%d %s)" % (code, msg))
    code, msg, _ = put(c, md, "big/frame", b"v" * (4 * 1024 * 1024 - 200))
    check(code != OK and msg != "", "a value filling a whole 4 MiB frame is refused, not stored "
          "(%d %s)" % (code, msg))
    code, _, got, _ = get(c, md, "big/ok")
    check(code == OK and len(got) == max_value, "the connection is still usable and the 1 MiB "
          "value reads back")
    code, msg, _, _ = get(c, md, "big/over")
    check(code != OK, "the refused value was not stored (%d)" % code)
    c.close()

    # 16 authenticated connections send an almost-4 MiB frame at once.
    rss0 = rss_kib(pid)
    big = T.frame(1, T.encode_request(SEC, "Put", T.field_bytes(1, "big/x") +
                                      T.field_bytes(2, b"w" * (4 * 1024 * 1024 - 300)), md))
    check(len(big) - 10 <= 4 * 1024 * 1024, "frame under the 4 MiB cap (%d)" % (len(big) - 10))
    conns = []
    for _ in range(senders):
        k = T.Conn(sock, timeout=60)
        k.call(SYS, "Health", b"", md)  # authenticated: the 4 MiB cap applies
        conns.append(k)
    peak = [rss0]
    stop = []

    def sample():
        while not stop:
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    sending = [threading.Thread(target=k.send, args=(big,)) for k in conns]
    for s in sending:
        s.start()
    codes = []
    for k in conns:
        fr = k.recv_frame()
        codes.append(T.parse_response(fr[4])[0] if fr else None)
    for s in sending:
        s.join()
    stop.append(1)
    th.join()
    time.sleep(0.5)
    rss1 = rss_kib(pid)
    figure("oversize_rss_mib", "%.1f -> peak %.1f -> %.1f" % (rss0 / 1024, peak[0] / 1024,
                                                              rss1 / 1024))
    check(all(x is not None and x != OK for x in codes),
          "%d concurrent 4 MiB Puts over max_value_bytes all refused with a status (%s)"
          % (senders, sorted(set(codes), key=str)))
    code, _, _ = T.Conn(sock).call(SYS, "Health")
    check(code == OK, "served after the burst of 4 MiB frames")
    # A header claiming 4 GiB from an authenticated connection: closed, nothing buffered.
    k = conns[0]
    k.send(struct.pack(">IIBB", 0xFFFFFFFF, 5, 1, 0) + b"x" * 1000)
    check(k.closed_by_peer(3), "an authenticated 4 GiB length header closes that connection")
    for k in conns:
        k.close()
    code, _, _ = T.Conn(sock).call(SYS, "Health")
    check(code == OK, "others are served after that")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "fill":
        case_fill(*args[:3])
    elif cmd == "check":
        case_check(*args[:3])
    elif cmd == "loris":
        case_loris(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "conns":
        case_conns(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "oversize":
        case_oversize(args[0], args[1], int(args[2]), int(args[3]) if len(args) > 3 else 16)
    else:
        print(__doc__)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
