# SPDX-License-Identifier: Apache-2.0
"""A man in the middle on the vault's Unix socket (issue 12 attack test).

    mitm_relay.py LISTEN_SOCK UPSTREAM_SOCK MODE FORGED_VALUE READY_FILE

Accepts connections on LISTEN_SOCK, opens one to the real daemon on
UPSTREAM_SOCK for each, and relays ttrpc frames both ways (real sockets,
the wire of ttrpc_raw.py). What it does to them depends on MODE:

  pass          relay untouched (control: the relay itself works)
  swap          Attest reply: session_pubkey replaced by the relay's own
                X25519 key; every function Get reply: sealed_value replaced
                by FORGED_VALUE sealed to the key the relay now shares with
                the function. The Report, the session key's certificate and
                the reply MAC pass through.
  forge-report  as swap, and the relay also poses as the vault's signer: the
                Report's sign_pubkey becomes the relay's Ed25519 key (state
                signature re-signed), Attest replies carry its own session
                key certified with it and a MAC under the key it shares with
                the function. Only the evidence's report_data binding can
                tell.
  strip         as swap, and the certificate, MAC, vault id and state fields
                are removed from the Attest reply (what an old vault sends).
  alter         Attest reply: the session's expires_at pushed a day later;
                the certified session key and the MAC pass through.
  stale-next    Attest reply: the nonce offered for the next attestation
                (next_nonce) altered; nothing else touched. The client's
                next Attest with it is refused and it must ask Challenge.

The attack is the one of issue 12: on the code before the signed session,
`secrets_get` printed "vault verified" and then FORGED_VALUE.
Needs python3-cryptography (scripts/deps.sh).
"""
import hashlib
import os
import socket
import struct
import sys
import threading

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

import attest_raw as A
import ttrpc_raw as T


def kdf(label, shared, eph_pk, session_pk):
    return hashlib.blake2b(label + shared + eph_pk + session_pk, digest_size=32).digest()


def parse_ordered(buf):
    """protobuf -> [(num, wiretype, value)] in wire order."""
    i, out = 0, []
    while i < len(buf):
        key, i = T._read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = T._read_varint(buf, i)
        elif wt == 2:
            ln, i = T._read_varint(buf, i)
            v = bytes(buf[i:i + ln])
            i += ln
        elif wt == 1:
            v, i = bytes(buf[i:i + 8]), i + 8
        elif wt == 5:
            v, i = bytes(buf[i:i + 4]), i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def encode_ordered(fields):
    out = b""
    for num, wt, v in fields:
        if wt == 0:
            out += T.field_varint(num, v)
        elif wt == 2:
            out += T.field_bytes(num, v)
        else:
            out += T.varint(num << 3 | wt) + v
    return out


def get(fields, num, default=None):
    for n, _, v in fields:
        if n == num:
            return v
    return default


def put(fields, num, wt, value):
    """Replace field num (or append it)."""
    out = [(n, w, v) for n, w, v in fields if n != num]
    out.append((num, wt, value))
    return out


def drop(fields, *nums):
    return [(n, w, v) for n, w, v in fields if n not in nums]


def seal_value(key, name, version, value):
    """nonce || XChaCha20-Poly1305(key, value, AAD) as the vault seals a Get."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    nonce = os.urandom(24)
    aad = b"teevault-get-v1" + struct.pack(">I", len(name)) + name + struct.pack(">Q", version)
    sub = A.hchacha20(key, nonce[:16])
    return nonce + ChaCha20Poly1305(sub).encrypt(b"\0\0\0\0" + nonce[16:], value, aad)


class Relay:
    def __init__(self, upstream, mode, forged):
        self.upstream, self.mode, self.forged = upstream, mode, forged
        self.sign = ed25519.Ed25519PrivateKey.generate()  # the relay's "vault key"
        self.sign_pk = A.raw_pub(self.sign)

    def serve(self, client):
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        up.connect(self.upstream)
        state = {"calls": {}, "key": None}
        t = threading.Thread(target=self.pump, args=(client, up, state, True), daemon=True)
        t.start()
        self.pump(up, client, state, False)

    def pump(self, src, dst, state, to_vault):
        buf = b""
        try:
            while True:
                while len(buf) < 10:
                    d = src.recv(65536)
                    if not d:
                        raise EOFError
                    buf += d
                length, sid, typ, flags = struct.unpack(">IIBB", buf[:10])
                while len(buf) < 10 + length:
                    d = src.recv(65536)
                    if not d:
                        raise EOFError
                    buf += d
                body, buf = buf[10:10 + length], buf[10 + length:]
                if self.mode != "pass":
                    body = (self.on_request(sid, body, state) if to_vault else
                            self.on_response(sid, body, state))
                dst.sendall(T.frame(sid, body, typ, flags))
        except (EOFError, OSError):
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def on_request(self, sid, body, state):
        f = T.parse_fields(body)
        method = f.get(2, [b""])[0].decode()
        payload = f.get(3, [b""])[0]
        state["calls"][sid] = (method, payload)
        return body

    def on_response(self, sid, body, state):
        method, req = state["calls"].pop(sid, ("", b""))
        resp = parse_ordered(body)
        payload = get(resp, 2, b"")
        st = get(resp, 1)
        if st is not None and T.parse_fields(st).get(1, [0])[0] != 0:
            return body  # an error reply passes as is
        if method == "Attest" and self.mode == "stale-next":
            payload = self.stale_next(payload)
        elif method == "Attest" and self.mode == "alter":
            f = parse_ordered(payload)
            payload = encode_ordered(put(f, 2, 0, get(f, 2, 0) + 86400))
        elif method == "Attest":
            payload = self.attest(req, payload, state)
        elif method == "Get" and state["key"] is not None:
            payload = self.get(req, payload, state)
        elif method == "Report" and self.mode == "forge-report":
            payload = self.report(payload)
        else:
            return body
        return encode_ordered(put(resp, 2, 2, payload))

    def attest(self, req, payload, state):
        rq = T.parse_fields(req)
        eph_pk, name, nonce = rq[5][0], rq[3][0], rq[6][0]
        mine = x25519.X25519PrivateKey.generate()
        my_pk = A.raw_pub(mine)
        shared = mine.exchange(x25519.X25519PublicKey.from_public_bytes(eph_pk))
        state["key"] = kdf(b"teevault-fn-session-key-v1", shared, eph_pk, my_pk)
        f = put(parse_ordered(payload), 3, 2, my_pk)
        if self.mode == "strip":
            f = drop(f, 4, 5, 6, 7, 8, 11, 12)
        elif self.mode == "forge-report":
            # Certify its own session key with its own signer and MAC the
            # reply with the key it shares with the function.
            vid = get(f, 4, b"\0" * 32)
            head = get(f, 8, b"\0" * 32)
            key_exp = get(f, 11, 0)
            token = get(f, 1, b"")
            cert = b"teevault-session-key-v1\0" + vid + my_pk + struct.pack(">q", key_exp)
            msg = (b"teevault-attest-reply-v2\0" + vid + nonce + eph_pk + my_pk +
                   struct.pack(">I", len(name)) + name +
                   struct.pack(">qQQ", get(f, 2, 0), get(f, 6, 0), get(f, 7, 0)) + head +
                   struct.pack(">qI", key_exp, len(token)) + token)
            mac_key = kdf(b"teevault-attest-reply-mac-v1", shared, eph_pk, my_pk)
            f = put(f, 5, 2, self.sign.sign(cert))
            f = put(f, 12, 2, hashlib.blake2b(msg, key=mac_key, digest_size=32).digest())
        return encode_ordered(f)

    def stale_next(self, payload):
        # Alter the nonce the reply offers for the next attestation (field 9).
        f = parse_ordered(payload)
        nn = get(f, 9)
        if not nn:
            return payload
        return encode_ordered(put(f, 9, 2, bytes([nn[0] ^ 1]) + nn[1:]))

    def get(self, req, payload, state):
        f = parse_ordered(payload)
        name = T.parse_fields(req)[1][0]
        version = get(f, 2, 0)
        return encode_ordered(put(f, 4, 2, seal_value(state["key"], name, version, self.forged)))

    def report(self, payload):
        f = parse_ordered(payload)
        f = put(f, 9, 2, self.sign_pk)
        msg = (b"teevault-state-v1\0" + get(f, 8, b"\0" * 32) +
               struct.pack(">QQ", get(f, 12, 0), get(f, 6, 0)) + get(f, 5, b"\0" * 32))
        return encode_ordered(put(f, 13, 2, self.sign.sign(msg)))


def main():
    listen, upstream, mode, forged, ready = sys.argv[1:6]
    assert mode in ("pass", "swap", "alter", "forge-report", "strip", "stale-next"), mode
    relay = Relay(upstream, mode, forged.encode())
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(listen):
        os.unlink(listen)
    srv.bind(listen)
    srv.listen(16)
    open(ready, "w").write("ready\n")
    while True:
        c, _ = srv.accept()
        threading.Thread(target=relay.serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
