# SPDX-License-Identifier: Apache-2.0
"""Evidence producers: the runtime's TEE signs report_data (docs/ATTESTATION.md).

The same file and socket protocols as seal/backend_{sim,gramine,tsm,dstack}.c:

- sim:     a 240-byte sim report signed with <platform_dir>/sim_platform.key
           (the vault's sim platform dir; development only).
- gramine: write report_data to <root>/user_report_data, read <root>/quote
           (DCAP v3, type "sgx"), one critical section.
- tsm:     configfs-tsm: mkdir an entry, generation g0, write inblob, read
           outblob (+ auxblob), generation must be g0 + 1 (else retry on a
           fresh entry, 3 times), provider -> tdx/snp, rmdir.
- dstack:  GET /GetQuote?report_data=<hex> on the agent's Unix socket, HTTP/1.1,
           one request per connection, the response capped before parsing.

Every producer checks that what it got back carries the report_data it asked
for (a stale or substituted quote is an IntegrityError).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import threading
import itertools
from typing import Optional, Tuple

from . import crypto
from .errors import TeevaultError, UNAVAILABLE, INVALID_ARGUMENT

EVIDENCE_MAX = 256 * 1024
DSTACK_RESP_MAX = 2 * EVIDENCE_MAX + 64 * 1024
DSTACK_TIMEOUT = 30.0
TSM_RETRIES = 3
TSM_DEFAULT_ROOT = "/sys/kernel/config/tsm/report"
GRAMINE_DEFAULT_ROOT = "/dev/attestation"
DSTACK_DEFAULT_SOCK = "/var/run/dstack.sock"
SIM_DEFAULT_SIGNER = "teevault-sim-signer"


def _err(msg: str, name: str = "io", code: int = UNAVAILABLE) -> TeevaultError:
    return TeevaultError(msg, code, name)


def read_bounded(path: str, limit: int) -> bytes:
    """Whole file up to EOF, at most `limit` bytes (more is an error, never truncated)."""
    out = bytearray()
    with open(path, "rb", buffering=0) as f:
        while True:
            d = f.read(limit + 1 - len(out))
            if not d:
                return bytes(out)
            out += d
            if len(out) > limit:
                raise _err("%s is larger than %d bytes" % (path, limit), "too_large")


def write_existing(path: str, data: bytes) -> None:
    """One write to a pre-existing attribute file (never created), committed on close."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        if os.write(fd, data) != len(data):
            raise _err("short write to %s" % path)
    finally:
        os.close(fd)  # configfs commits binary attributes on close


class Producer:
    """Makes evidence over 64 bytes of report_data: -> (evidence, evidence_type)."""

    name = "?"

    def evidence(self, report_data: bytes) -> Tuple[bytes, str]:
        raise NotImplementedError


class SimProducer(Producer):
    """The sim TEE: NO hardware protection; whoever reads the key file forges reports."""

    name = "sim"

    def __init__(self, platform_dir: str, measurement: Optional[bytes] = None,
                 measurement_file: Optional[str] = None, signer: str = SIM_DEFAULT_SIGNER,
                 svn: int = 0, debug: bool = False):
        if measurement is None:
            with open(measurement_file or "/proc/self/exe", "rb") as f:
                measurement = hashlib.sha256(f.read()).digest()
        if len(measurement) != 32:
            raise _err("a sim measurement is 32 bytes", "invalid", INVALID_ARGUMENT)
        self.platform_dir = platform_dir
        self.measurement = measurement
        self.signer = hashlib.sha256(signer.encode()).digest()
        self.svn, self.debug = svn, debug

    def _seed(self) -> bytearray:
        path = os.path.join(self.platform_dir, "sim_platform.key")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            raise _err("no sim platform key at %s (%s): point the runtime at the vault's sim "
                       "platform dir" % (path, e.strerror)) from None
        try:
            st = os.fstat(fd)
            # Same rule as seal_sim_report.c: a key others can read is no key.
            if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077 or st.st_size != 32:
                raise _err("%s must be a 32-byte file readable by its owner only" % path)
            seed = bytearray(os.read(fd, 32))
        finally:
            os.close(fd)
        if len(seed) != 32:
            raise _err("short read of %s" % path)
        return seed

    def evidence(self, report_data: bytes) -> Tuple[bytes, str]:
        seed = self._seed()
        try:
            ev = crypto.sim_report_produce(bytes(seed), self.measurement, self.signer,
                                           report_data, self.svn, self.debug)
        finally:
            seed[:] = bytes(len(seed))
        return ev, "sim"


class GramineProducer(Producer):
    """Gramine's /dev/attestation pseudo-files (DCAP)."""

    name = "gramine-sgx"
    _lock = threading.Lock()  # user_report_data is process-global state in Gramine

    def __init__(self, root: str = GRAMINE_DEFAULT_ROOT):
        self.root = root
        try:
            att = read_bounded(os.path.join(root, "attestation_type"), 64).strip()
            if att != b"dcap":
                raise _err("Gramine attestation_type is %r, not dcap" % att.decode("ascii",
                                                                                   "replace"))
        except FileNotFoundError:
            pass
        for f in ("quote", "user_report_data"):
            if not os.path.exists(os.path.join(root, f)):
                raise _err("%s/%s is missing: not inside Gramine with attestation" % (root, f))

    def evidence(self, report_data: bytes) -> Tuple[bytes, str]:
        with self._lock:
            write_existing(os.path.join(self.root, "user_report_data"), report_data)
            q = read_bounded(os.path.join(self.root, "quote"), EVIDENCE_MAX)
        crypto.check_bound("sgx", q, report_data)
        return q, "sgx"


class TsmProducer(Producer):
    """Linux configfs-tsm reports (TDX, SEV-SNP)."""

    name = "tsm"
    _counter = itertools.count()

    def __init__(self, root: str = TSM_DEFAULT_ROOT):
        if not os.path.isdir(root):
            raise _err("%s is not a directory: no configfs-tsm here" % root)
        self.root = root

    @staticmethod
    def _gen(entry: str) -> int:
        raw = read_bounded(os.path.join(entry, "generation"), 32)
        s = raw[:-1] if raw.endswith(b"\n") else raw
        if not s or not s.isdigit():
            raise _err("%s/generation is not a number" % entry, "format")
        return int(s)

    def report_in_entry(self, entry: str, report_data: bytes) -> Tuple[bytes, str]:
        g0 = self._gen(entry)
        write_existing(os.path.join(entry, "inblob"), report_data)
        blob = read_bounded(os.path.join(entry, "outblob"), EVIDENCE_MAX)
        try:
            aux = read_bounded(os.path.join(entry, "auxblob"), EVIDENCE_MAX)
        except FileNotFoundError:
            aux = b""
        if self._gen(entry) != g0 + 1:
            raise _err("configfs-tsm generation moved: another writer raced us", "unavailable")
        if not blob:
            raise _err("empty outblob", "format")
        prov = read_bounded(os.path.join(entry, "provider"), 64).rstrip(b"\n")
        typ = {b"tdx_guest": "tdx", b"sev_guest": "snp"}.get(prov)
        if not typ:
            raise _err("unknown configfs-tsm provider %r" % prov.decode("ascii", "replace"),
                       "format")
        crypto.check_bound(typ, blob, report_data)
        if typ == "snp" and aux:
            if len(aux) > EVIDENCE_MAX - len(blob):
                raise _err("SNP report and certificates exceed %d bytes" % EVIDENCE_MAX,
                           "too_large")
            blob += aux  # report || certificate table, as seal_verify takes it
        return blob, typ

    def evidence(self, report_data: bytes) -> Tuple[bytes, str]:
        last: Optional[TeevaultError] = None
        for _ in range(TSM_RETRIES):
            entry = os.path.join(self.root, "teevault-%d-%d" % (os.getpid(), next(self._counter)))
            try:
                os.mkdir(entry, 0o700)
            except FileExistsError:
                pass  # reused: the generation check protects the report
            try:
                return self.report_in_entry(entry, report_data)
            except TeevaultError as e:
                if e.name != "unavailable":
                    raise
                last = e
            finally:
                try:
                    os.rmdir(entry)
                except OSError:
                    pass
        raise last or _err("configfs-tsm unavailable")


def http_parse_response(resp: bytes) -> bytes:
    """Status 200 and the body (Content-Length or chunked), as seal_http_parse_response."""
    if len(resp) < 12 or not resp.startswith(b"HTTP/1.") or resp[8:9] != b" " or \
            not resp[9:12].isdigit():
        raise _err("the agent's reply is not HTTP/1.x", "protocol")
    end = resp.find(b"\r\n\r\n")
    if end < 0:
        raise _err("the agent's reply has no end of headers", "protocol")
    status = int(resp[9:12])
    if status != 200:
        raise _err("the agent answered HTTP %d" % status, "unavailable")
    headers = {}
    for line in resp[:end].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip()
    body = resp[end + 4:]
    if headers.get(b"transfer-encoding", b"").lower().endswith(b"chunked"):
        out, i = bytearray(), 0
        while True:
            eol = body.find(b"\n", i)
            if eol < 0:
                raise _err("truncated chunked body", "protocol")
            size_txt = body[i:eol].split(b";")[0].strip()
            try:
                size = int(size_txt, 16)
            except ValueError:
                raise _err("bad chunk size", "protocol") from None
            i = eol + 1
            if size == 0:
                return bytes(out)
            if len(body) - i < size + 2 or body[i + size:i + size + 2] != b"\r\n":
                raise _err("truncated chunk", "protocol")
            out += body[i:i + size]
            i += size + 2
    if b"content-length" in headers:
        cl = headers[b"content-length"]
        if not cl.isdigit() or len(cl) > 10 or int(cl) > len(body):
            raise _err("bad or unmet Content-Length", "protocol")
        return body[:int(cl)]
    return body


def _hex_member(doc: dict, key: str) -> bytes:
    v = doc.get(key)
    if not isinstance(v, str):
        raise _err("the agent's reply has no %r string" % key, "format")
    if v.startswith("0x"):
        v = v[2:]
    try:
        return bytes.fromhex(v)
    except ValueError:
        raise _err("the agent's %r is not hex" % key, "format") from None


class DstackProducer(Producer):
    """The dstack guest agent's HTTP API on its Unix socket."""

    name = "dstack"

    def __init__(self, sock: str = DSTACK_DEFAULT_SOCK):
        self.sock = sock

    def get(self, target: str) -> bytes:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(DSTACK_TIMEOUT)
        try:
            try:
                s.connect(self.sock)
            except OSError as e:
                raise _err("cannot reach the dstack agent at %s: %s" % (self.sock, e.strerror))
            s.sendall(("GET %s HTTP/1.1\r\nHost: dstack\r\nAccept: application/json\r\n"
                       "Connection: close\r\n\r\n" % target).encode())
            buf = bytearray()
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
                if len(buf) > DSTACK_RESP_MAX:
                    raise _err("the agent's reply exceeds %d bytes" % DSTACK_RESP_MAX,
                               "too_large")
        except socket.timeout:
            raise _err("the dstack agent did not answer in %d s" % DSTACK_TIMEOUT,
                       "timeout") from None
        finally:
            s.close()
        return http_parse_response(bytes(buf))

    def evidence(self, report_data: bytes) -> Tuple[bytes, str]:
        body = self.get("/GetQuote?report_data=" + report_data.hex())
        try:
            doc = json.loads(body)
        except ValueError:
            raise _err("the agent's reply is not JSON", "format") from None
        if not isinstance(doc, dict):
            raise _err("the agent's reply is not a JSON object", "format")
        q = _hex_member(doc, "quote")
        if len(q) > EVIDENCE_MAX:
            raise _err("quote larger than %d bytes" % EVIDENCE_MAX, "too_large")
        crypto.check_bound("tdx", q, report_data)
        return q, "tdx"


def open_producer(tee: str, root: Optional[str] = None, **sim: object) -> Producer:
    """By backend name: sim (root = platform dir), gramine-sgx, tsm, dstack."""
    if tee == "sim":
        if not root:
            raise _err("the sim TEE needs its platform dir (the vault's)", "invalid",
                       INVALID_ARGUMENT)
        return SimProducer(root, **sim)  # type: ignore[arg-type]
    if tee in ("gramine-sgx", "gramine"):
        return GramineProducer(root or GRAMINE_DEFAULT_ROOT)
    if tee == "tsm":
        return TsmProducer(root or TSM_DEFAULT_ROOT)
    if tee == "dstack":
        return DstackProducer(root or DSTACK_DEFAULT_SOCK)
    raise _err("unknown TEE backend %r (sim, gramine-sgx, tsm, dstack)" % tee, "invalid",
               INVALID_ARGUMENT)
