# SPDX-License-Identifier: Apache-2.0
"""Fixture shapes shared by the tests: the same fabricated quotes and trees as
tests/unit/test_evidence_producers.c (SGX quote v3, TDX quote v4, SNP report,
a configfs-tsm entry whose `generation` is a FIFO served by a thread, a fake
dstack agent on a Unix socket)."""
import errno
import json
import os
import socket
import struct
import threading
import time

FAKE_SGX_LEN = 48 + 384 + 4
FAKE_TDX_LEN = 48 + 584 + 4
SNP_LEN = 0x4A0


def sgx_quote(rd, debug=False, svn=1):
    q = bytearray(FAKE_SGX_LEN)
    struct.pack_into("<HHI", q, 0, 3, 2, 0)
    b = 48
    struct.pack_into("<Q", q, b + 48, 2 if debug else 0)
    q[b + 64:b + 96] = b"\x11" * 32    # MRENCLAVE
    q[b + 128:b + 160] = b"\x22" * 32  # MRSIGNER
    struct.pack_into("<H", q, b + 258, svn)
    q[b + 320:b + 384] = rd
    return bytes(q)


def tdx_quote(rd, debug=False):
    q = bytearray(FAKE_TDX_LEN)
    struct.pack_into("<HHI", q, 0, 4, 2, 0x81)
    b = 48
    struct.pack_into("<Q", q, b + 120, 1 if debug else 0)
    q[b + 136:b + 184] = b"\x33" * 48  # MRTD
    q[b + 520:b + 584] = rd
    return bytes(q)


def snp_report(rd):
    r = bytearray(SNP_LEN)
    struct.pack_into("<II", r, 0, 2, 7)
    struct.pack_into("<I", r, 0x34, 1)
    r[0x50:0x90] = rd
    r[0x90:0xC0] = b"\x44" * 48
    return bytes(r)


def put(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


class GenerationFifo:
    """`generation` as a FIFO, as the C test serves it: the first value to the
    first reader; the second only once inblob holds the 64 bytes (the kernel
    bumps generation on that write, and the first reader is gone by then)."""

    def __init__(self, path, values):
        os.mkfifo(path)
        self.path, self.values = path, list(values)
        self.inblob = os.path.join(os.path.dirname(path), "inblob")
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve_once(self, text):
        for _ in range(5000):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno != errno.ENXIO:  # no reader yet
                    return
                time.sleep(0.001)
                continue
            os.set_blocking(fd, True)
            os.write(fd, text.encode())
            os.close(fd)
            return

    def _serve(self):
        self._serve_once("%d\n" % self.values[0])
        for _ in range(5000):
            if os.path.exists(self.inblob) and os.path.getsize(self.inblob) == 64:
                break
            time.sleep(0.001)
        else:
            return
        self._serve_once("%d\n" % self.values[1])


def tsm_entry(entry, provider, outblob, g0, g1, aux=None):
    os.makedirs(entry, exist_ok=True)
    put(os.path.join(entry, "inblob"), b"")
    put(os.path.join(entry, "outblob"), outblob)
    put(os.path.join(entry, "provider"), provider.encode() + b"\n")
    if aux is not None:
        put(os.path.join(entry, "auxblob"), aux)
    return GenerationFifo(os.path.join(entry, "generation"), [g0, g1])


class FakeDstack:
    """The dstack agent's GetQuote on a Unix socket; mode picks a misbehaviour."""

    def __init__(self, path, mode="ok"):
        self.path, self.mode, self.targets = path, mode, []
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(8)
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def close(self):
        self.ls.close()

    def _reply(self, c, status, body, chunked=False):
        if chunked:
            half = len(body) // 2
            c.sendall(b"HTTP/1.1 " + status + b"\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      b"%x\r\n" % half + body[:half] + b"\r\n" +
                      b"%X;ext=1\r\n" % (len(body) - half) + body[half:] + b"\r\n0\r\n\r\n")
        else:
            c.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with c:
                req = b""
                while b"\r\n\r\n" not in req:
                    d = c.recv(4096)
                    if not d:
                        break
                    req += d
                target = req.split(b" ")[1].decode()
                self.targets.append(target)
                if self.mode == "500":
                    self._reply(c, b"500 Internal Server Error", b'{"error":"no"}')
                    continue
                if self.mode == "badjson":
                    self._reply(c, b"200 OK", b'{"quote": 12,')
                    continue
                if self.mode == "huge":
                    try:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")
                        for _ in range(1024):
                            c.sendall(b"a" * 1024)
                    except OSError:
                        pass
                    continue
                rd = bytearray(bytes.fromhex(target.split("report_data=")[1]))
                if self.mode == "wrongrd":
                    rd[0] ^= 1
                body = json.dumps({"quote": "0x" + tdx_quote(bytes(rd)).hex(), "event_log": "[]",
                                   "report_data": rd.hex()}).encode()
                self._reply(c, b"200 OK", body, chunked=self.mode == "chunked")
