# SPDX-License-Identifier: Apache-2.0
"""Minimal ttrpc client over raw sockets, standard library only.

Hand-encodes the ttrpc envelope (proto/ttrpc.proto) so tests can also send
bytes no real client would: broken headers, wrong types, garbage protobufs.
"""
import socket
import struct
import time

REQUEST, RESPONSE, DATA = 1, 2, 3


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def encode_request(service, method, payload=b"", metadata=(), timeout_nano=0):
    out = field_bytes(1, service) + field_bytes(2, method)
    if payload:
        out += field_bytes(3, payload)
    if timeout_nano:
        out += field_varint(4, timeout_nano)
    for k, v in metadata:
        out += field_bytes(5, field_bytes(1, k) + field_bytes(2, v))
    return out


def header(length, sid, typ=REQUEST, flags=0):
    return struct.pack(">IIBB", length, sid, typ, flags)


def frame(sid, body, typ=REQUEST, flags=0):
    return header(len(body), sid, typ, flags) + body


def parse_fields(buf):
    """Decode a protobuf message into {field: [values]} (varints and bytes)."""
    i, out = 0, {}
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(buf, i)
        elif wt == 2:
            ln, i = _read_varint(buf, i)
            v = bytes(buf[i:i + ln])
            if len(v) != ln:
                raise ValueError("truncated field")
            i += ln
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def _read_varint(buf, i):
    shift = n = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i
        shift += 7


def parse_response(body):
    """ttrpc.Response -> (code, message, payload)."""
    f = parse_fields(body)
    code, msg = 0, ""
    if 1 in f:
        st = parse_fields(f[1][0])
        code = st.get(1, [0])[0]
        if code >= 1 << 31:
            code -= 1 << 64
        msg = st.get(2, [b""])[0].decode("utf-8", "replace")
    payload = f.get(2, [b""])[0]
    return code, msg, payload


class Conn:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        # A full accept backlog shows as EAGAIN on Unix sockets: retry briefly.
        for attempt in range(200):
            try:
                self.s.connect(path)
                break
            except BlockingIOError:
                if attempt == 199:
                    raise
                time.sleep(0.01)
        self.buf = b""
        self.sid = 1

    @classmethod
    def tls(cls, host, port, cafile, certfile=None, keyfile=None, server_name="localhost",
            timeout=10.0):
        """TLS 1.3 connection verifying the server against cafile."""
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(cafile)
        if certfile:
            ctx.load_cert_chain(certfile, keyfile)
        self = cls.__new__(cls)
        raw = socket.create_connection((host, port), timeout=timeout)
        self.s = ctx.wrap_socket(raw, server_hostname=server_name)
        self.buf = b""
        self.sid = 1
        return self

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def next_sid(self):
        sid = self.sid
        self.sid += 2
        return sid

    def recv_frame(self):
        """One frame (length, sid, type, flags, body); None on EOF."""
        while len(self.buf) < 10:
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d
        length, sid, typ, flags = struct.unpack(">IIBB", self.buf[:10])
        while len(self.buf) < 10 + length:
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d
        body = self.buf[10:10 + length]
        self.buf = self.buf[10 + length:]
        return length, sid, typ, flags, body

    def call(self, service, method, payload=b"", metadata=()):
        sid = self.next_sid()
        self.send(frame(sid, encode_request(service, method, payload, metadata)))
        fr = self.recv_frame()
        if fr is None:
            raise ConnectionError("connection closed")
        if fr[1] != sid or fr[2] != RESPONSE:
            raise ValueError("unexpected frame sid=%d type=%d" % (fr[1], fr[2]))
        return parse_response(fr[4])

    def closed_by_peer(self, wait=5.0):
        """True when the server closes the connection (EOF or reset)."""
        self.s.settimeout(wait)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except OSError as e:  # ssl.SSLError (alerts) is an OSError
            return not isinstance(e, socket.timeout)
        except socket.timeout:
            return False


def status(path):
    """Sys.Status on a fresh connection -> dict of interesting fields."""
    c = Conn(path)
    try:
        code, msg, payload = c.call("teevault.v1.Sys", "Status")
    finally:
        c.close()
    if code != 0:
        raise RuntimeError("Sys.Status failed: %d %s" % (code, msg))
    f = parse_fields(payload)
    return {
        "initialized": bool(f.get(1, [0])[0]),
        "version": f.get(2, [b""])[0].decode(),
        "tee_backend": f.get(3, [b""])[0].decode(),
        "hardware_protected": bool(f.get(4, [0])[0]),
        "warning": f.get(5, [b""])[0].decode(),
    }
