# SPDX-License-Identifier: Apache-2.0
"""A function runtime in Python, for the attestation expiry tests.

Drives Attestation.Challenge / Attest and Secrets.Get over raw ttrpc
(ttrpc_raw) so a test can do what libteevault never does: hold a nonce past
its expiry, reuse a nonce, keep a session token past its TTL. The sim
evidence is made exactly as seal/seal_sim_report.c makes it (240 bytes,
signed with the sim platform key in the vault's platform dir), over the
binding of docs/ATTESTATION.md. Values are opened as libteevault opens them
(docs/ATTESTATION.md "Function Get"): the session key from X25519 between
the function's ephemeral key and the vault's session key, and
XChaCha20-Poly1305 with AAD "teevault-get-v1" || name || version.

Needs python3-cryptography (scripts/deps.sh).
"""
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

import ttrpc_raw as T

ATT = "teevault.v1.Attestation"
SEC = "teevault.v1.Secrets"
UNAUTHENTICATED, PERMISSION_DENIED = 16, 7


def raw_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)


def binding(nonce, name, code_hash, eph_pk):
    n = name.encode()
    return hashlib.sha512(b"teevault-attest-v1" + nonce + struct.pack(">I", len(n)) + n +
                          struct.pack(">I", len(code_hash)) + code_hash + eph_pk).digest()


def sim_report(plat_dir, measurement, signer, report_data, svn=0, debug=False):
    seed = open(plat_dir + "/sim_platform.key", "rb").read()
    sk = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    body = (b"TVSIMRPT" + struct.pack(">HBBHH", 1, 1 if debug else 0, 0, svn, 0) + measurement +
            signer + report_data + raw_pub(sk))
    assert len(body) == 176
    return body + sk.sign(b"teevault-sim-report-v1\0" + body)


class Function:
    """One function runtime: name, code hash, sim identity, platform dir."""

    def __init__(self, sock, plat_dir, name, measurement, signer, code_hash):
        self.sock, self.plat = sock, plat_dir
        self.name, self.meas, self.signer, self.code_hash = name, measurement, signer, code_hash
        self.conn = T.Conn(sock)

    def challenge(self):
        code, msg, payload = self.conn.call(ATT, "Challenge")
        if code:
            raise RuntimeError("Challenge: %d %s" % (code, msg))
        return T.parse_fields(payload)[1][0]

    def attest(self, nonce, eph=None):
        """Attest with fresh (or given) ephemeral key -> (code, msg, fields, eph)."""
        eph = eph or x25519.X25519PrivateKey.generate()
        pk = raw_pub(eph)
        ev = sim_report(self.plat, self.meas, self.signer,
                        binding(nonce, self.name, self.code_hash, pk))
        req = (T.field_bytes(1, ev) + T.field_bytes(2, "sim") + T.field_bytes(3, self.name) +
               T.field_bytes(4, self.code_hash) + T.field_bytes(5, pk) + T.field_bytes(6, nonce))
        code, msg, payload = self.conn.call(ATT, "Attest", req)
        return code, msg, (T.parse_fields(payload) if code == 0 else {}), eph

    def get(self, token, name):
        """Secrets.Get with a function session token -> (code, msg, fields)."""
        code, msg, payload = self.conn.call(SEC, "Get", T.field_bytes(1, name),
                                            metadata=[("authorization", "Bearer " + token)])
        return code, msg, (T.parse_fields(payload) if code == 0 else {})


# ---- opening a function Get (docs/ATTESTATION.md "Function Get") ----

def _rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) + \
        list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha20poly1305_open(key, nonce24, ct, aad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).decrypt(b"\0\0\0\0" + nonce24[16:], ct, aad)


def session_key(eph, eph_pk, vault_pk):
    """BLAKE2b-256 keyed KDF over the X25519 shared secret and both keys."""
    shared = eph.exchange(x25519.X25519PublicKey.from_public_bytes(vault_pk))
    return hashlib.blake2b(b"teevault-fn-session-key-v1" + shared + eph_pk + vault_pk,
                           digest_size=32).digest()


def open_value(key, name, version, sealed):
    aad = b"teevault-get-v1" + struct.pack(">I", len(name.encode())) + name.encode() + \
        struct.pack(">Q", version)
    return xchacha20poly1305_open(key, sealed[:24], sealed[24:], aad)
