# SPDX-License-Identifier: Apache-2.0
"""Transports: gRPC over HTTP/2 (python3-grpcio) and ttrpc, same messages.

Addresses as libteevault's TEEVAULT_ADDR: "unix:/path/to.sock" or
"tls://host:port" (TLS 1.3, the server verified against `cafile`).
Both transports send the token as `authorization: Bearer <token>` metadata
and raise TeevaultError with the gRPC code and teevault's ErrorDetail name.
"""
from __future__ import annotations

import socket
import ssl
import struct
import threading
from typing import Any, List, Optional, Tuple, Type

from . import _stubs
from .errors import TeevaultError, UNAVAILABLE, INVALID_ARGUMENT, INTERNAL

TTRPC_MAX_FRAME = 4 * 1024 * 1024
PACKAGE = "teevault.v1"


def parse_addr(addr: str) -> Tuple[str, str]:
    """-> ("unix", path) or ("tls", "host:port")."""
    if addr.startswith("unix:"):
        path = addr[5:]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise TeevaultError("empty unix socket path in %r" % addr, INVALID_ARGUMENT, "invalid")
        return "unix", path
    if addr.startswith("tls://"):
        hp = addr[6:]
        if ":" not in hp:
            raise TeevaultError("tls address needs host:port: %r" % addr, INVALID_ARGUMENT,
                                "invalid")
        return "tls", hp
    raise TeevaultError("address must be unix:/path or tls://host:port, not %r" % addr,
                        INVALID_ARGUMENT, "invalid")


def error_from_status_bytes(raw: bytes, code: int, message: str) -> TeevaultError:
    """A google.rpc.Status / ttrpc.Status (same field numbers) -> TeevaultError."""
    pb, tt = _stubs.load()
    name = ""
    if raw:
        try:
            st = tt.Status.FromString(raw)
            for d in st.details:
                if d.type_url.endswith("teevault.v1.ErrorDetail"):
                    name = pb.ErrorDetail.FromString(d.value).name
        except Exception:  # a malformed detail only loses the name
            name = ""
    return TeevaultError(message or "call failed", code, name)


class Transport:
    def call(self, service: str, method: str, request: Any, response_cls: Type[Any],
             token: Optional[str] = None, timeout: Optional[float] = None) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


class GrpcTransport(Transport):
    """gRPC over HTTP/2 with python3-grpcio; unary calls only."""

    def __init__(self, addr: str, cafile: Optional[str] = None,
                 server_name: Optional[str] = None):
        import grpc  # python3-grpcio

        self._grpc = grpc
        kind, where = parse_addr(addr)
        if kind == "unix":
            self.channel = grpc.insecure_channel("unix:" + where)
        else:
            root = open(cafile, "rb").read() if cafile else None
            opts = [("grpc.ssl_target_name_override", server_name)] if server_name else []
            self.channel = grpc.secure_channel(where, grpc.ssl_channel_credentials(root), opts)
        self._methods: dict = {}

    def call(self, service, method, request, response_cls, token=None, timeout=None):
        path = "/%s.%s/%s" % (PACKAGE, service, method)
        fn = self._methods.get(path)
        if fn is None:
            fn = self.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                          response_deserializer=response_cls.FromString)
            self._methods[path] = fn
        md: List[Tuple[str, str]] = []
        if token:
            md.append(("authorization", "Bearer " + token))
        try:
            return fn(request, metadata=md or None, timeout=timeout)
        except self._grpc.RpcError as e:
            code = e.code().value[0] if e.code() else INTERNAL
            raw = b""
            for k, v in (e.trailing_metadata() or ()):
                if k == "grpc-status-details-bin":
                    raw = v
            raise error_from_status_bytes(raw, code, e.details() or "") from None

    def close(self) -> None:
        self.channel.close()


class TtrpcTransport(Transport):
    """ttrpc (containerd's framing, docs/PROTOCOL.md): one connection, calls serialised."""

    def __init__(self, addr: str, cafile: Optional[str] = None,
                 server_name: Optional[str] = None, timeout: float = 30.0):
        kind, where = parse_addr(addr)
        try:
            if kind == "unix":
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(timeout)
                s.connect(where)
            else:
                host, port = where.rsplit(":", 1)
                host = host.strip("[]")
                ctx = ssl.create_default_context(cafile=cafile)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
                raw = socket.create_connection((host, int(port)), timeout=timeout)
                s = ctx.wrap_socket(raw, server_hostname=server_name or host)
        except OSError as e:
            raise TeevaultError("cannot connect to %s: %s" % (addr, e), UNAVAILABLE,
                                "unavailable") from None
        self.sock = s
        self.sid = 1
        self.buf = b""
        self.lock = threading.Lock()

    def _recv_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise TeevaultError("the vault closed the connection", UNAVAILABLE,
                                    "unavailable")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def call(self, service, method, request, response_cls, token=None, timeout=None):
        _, tt = _stubs.load()
        req = tt.Request(service="%s.%s" % (PACKAGE, service), method=method,
                         payload=request.SerializeToString())
        if timeout:
            req.timeout_nano = int(timeout * 1e9)
        if token:
            req.metadata.add(key="authorization", value="Bearer " + token)
        body = req.SerializeToString()
        with self.lock:
            sid = self.sid
            self.sid += 2
            try:
                self.sock.sendall(struct.pack(">IIBB", len(body), sid, 1, 0) + body)
                length, rsid, typ, _flags = struct.unpack(">IIBB", self._recv_exact(10))
                if length > TTRPC_MAX_FRAME:
                    raise TeevaultError("reply frame of %d bytes exceeds 4 MiB" % length,
                                        INTERNAL, "protocol")
                rbody = self._recv_exact(length)
            except OSError as e:
                raise TeevaultError("connection to the vault failed: %s" % e, UNAVAILABLE,
                                    "unavailable") from None
        if rsid != sid or typ != 2:
            raise TeevaultError("unexpected ttrpc frame (stream %d, type %d)" % (rsid, typ),
                                INTERNAL, "protocol")
        resp = tt.Response.FromString(rbody)
        if resp.status.code != 0:
            raise error_from_status_bytes(resp.status.SerializeToString(), resp.status.code,
                                          resp.status.message)
        return response_cls.FromString(resp.payload)

    def close(self) -> None:
        self.sock.close()


def open_transport(addr: str, transport: str = "grpc", cafile: Optional[str] = None,
                   server_name: Optional[str] = None) -> Transport:
    if transport == "grpc":
        return GrpcTransport(addr, cafile, server_name)
    if transport == "ttrpc":
        return TtrpcTransport(addr, cafile, server_name)
    raise TeevaultError("unknown transport %r (grpc, ttrpc)" % transport, INVALID_ARGUMENT,
                        "invalid")
