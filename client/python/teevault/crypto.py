# SPDX-License-Identifier: Apache-2.0
"""The function path's cryptography, byte for byte as libteevault does it.

docs/ATTESTATION.md is the specification; the C reference is
seal/seal_producers.c (bindings), seal/seal_fnget.c (session key, AEAD) and
seal/seal_sim_report.c (the sim report). libsodium through python3-nacl.

Python cannot wipe immutable bytes: the session key is kept in a bytearray
that FunctionSession.close() zeroes, but copies made by the interpreter or
by libsodium's bindings are not under our control (README, "Limits").
"""
from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import nacl.bindings as sodium
import nacl.exceptions
import nacl.signing

from .errors import IntegrityError, TeevaultError, VerifyError, INVALID_ARGUMENT

ATTEST_DOMAIN = b"teevault-attest-v1"
REPORT_DOMAIN = b"teevault-report-v2"
REPORT_VERSION = 2  # ReportResponse.report_version (docs/ATTESTATION.md "Report v2")
SESSION_KDF_LABEL = b"teevault-fn-session-key-v1"
REPLY_MAC_LABEL = b"teevault-attest-reply-mac-v1"
GET_AAD_LABEL = b"teevault-get-v1"
NONCE_LEN = 24  # XChaCha20-Poly1305 nonce
TAG_LEN = 16
REPORT_DATA_LEN = 64


def _lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def attest_binding(nonce: bytes, name: str, code_hash: bytes, eph_pk: bytes) -> bytes:
    """report_data of a function's evidence (seal_attest_binding)."""
    if len(nonce) != 32 or len(eph_pk) != 32:
        raise TeevaultError("nonce and eph_pk must be 32 bytes", INVALID_ARGUMENT, "invalid")
    return hashlib.sha512(ATTEST_DOMAIN + nonce + _lp(name.encode()) + _lp(code_hash) +
                          eph_pk).digest()


def report_binding(nonce: bytes, r: Any) -> bytes:
    """report_data of the vault's Report v2 (seal_report_binding_v2) over the
    fields of ReportResponse r."""
    return hashlib.sha512(REPORT_DOMAIN + nonce + bytes(r.vault_id) + bytes(r.sign_pubkey) +
                          bytes(r.config_hash) + bytes(r.tls_key_hash) + bytes(r.audit_pubkey) +
                          bytes(r.policy_hash) + bytes(r.audit_head) +
                          struct.pack(">QQ", r.audit_seq, r.state_version)).digest()


STATE_DOMAIN = b"teevault-state-v1\0"
SESSION_KEY_DOMAIN = b"teevault-session-key-v1\0"
ATTEST_REPLY_DOMAIN = b"teevault-attest-reply-v2\0"
SESSION_KEY_SKEW = 60  # seconds a certified session key is accepted past its expiry
REPLY_MAC_LEN = 32


def state_message(vault_id: bytes, state_version: int, audit_seq: int, audit_head: bytes) -> bytes:
    """What the vault's state signature covers (seal_state_message)."""
    return STATE_DOMAIN + bytes(vault_id) + struct.pack(">QQ", state_version, audit_seq) + \
        bytes(audit_head)


def session_key_message(vault_id: bytes, session_pk: bytes, expires_at: int) -> bytes:
    """The certificate of a vault session key pair that the vault signs once per
    pair, AttestResponse.signature (seal_session_key_message)."""
    return SESSION_KEY_DOMAIN + bytes(vault_id) + bytes(session_pk) + struct.pack(">q", expires_at)


def attest_reply_message(vault_id: bytes, nonce: bytes, eph_pk: bytes, session_pk: bytes,
                         name: str, expires_at: int, state_version: int, audit_seq: int,
                         audit_head: bytes, session_key_expires_at: int, token: str) -> bytes:
    """What an Attest reply's MAC covers, AttestResponse.reply_mac
    (seal_attest_reply_message)."""
    return (ATTEST_REPLY_DOMAIN + bytes(vault_id) + bytes(nonce) + bytes(eph_pk) +
            bytes(session_pk) + _lp(name.encode()) +
            struct.pack(">qQQ", expires_at, state_version, audit_seq) + bytes(audit_head) +
            struct.pack(">q", session_key_expires_at) + _lp(token.encode()))


def attest_reply_mac(mac_key: bytes, msg: bytes) -> bytes:
    """seal_attest_reply_mac: BLAKE2b-256 keyed with the reply's MAC key."""
    return hashlib.blake2b(msg, key=mac_key, digest_size=REPLY_MAC_LEN).digest()


def ed25519_verify(pk: bytes, msg: bytes, sig: bytes) -> bool:
    if len(pk) != 32 or len(sig) != 64:
        return False
    try:
        nacl.signing.VerifyKey(bytes(pk)).verify(msg, bytes(sig))
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def ephemeral_keypair() -> Tuple[bytes, bytearray]:
    """A fresh X25519 pair: (public, secret as a bytearray the caller wipes)."""
    pk, sk = sodium.crypto_box_keypair()
    return pk, bytearray(sk)


def derive_session_keys(my_sk: bytes, peer_pk: bytes, eph_pk: bytes,
                        session_pk: bytes) -> Tuple[bytearray, bytearray]:
    """seal_fn_session_key: (session key, Attest reply MAC key), each
    BLAKE2b-256(label || X25519(my_sk, peer_pk) || eph_pk || session_pk) from the one
    X25519, labels SESSION_KDF_LABEL and REPLY_MAC_LABEL; the function passes
    (eph_sk, session_pk), the vault (session_sk, eph_pk). The caller wipes both."""
    if len(session_pk) != 32 or len(peer_pk) != 32 or len(eph_pk) != 32:
        raise TeevaultError("the vault returned no 32-byte session public key "
                            "(a vault older than this client?)", 0, "protocol")
    try:
        shared = sodium.crypto_scalarmult(bytes(my_sk), bytes(peer_pk))
    except nacl.exceptions.RuntimeError:
        # libsodium refuses an all-zero result: a low-order point.
        raise TeevaultError("the peer's X25519 key is unusable (low-order point)", 0,
                            "protocol") from None
    out = []
    for label in (SESSION_KDF_LABEL, REPLY_MAC_LABEL):
        h = hashlib.blake2b(digest_size=32)
        for part in (label, shared, eph_pk, session_pk):  # no concatenated copy of shared
            h.update(part)
        out.append(bytearray(h.digest()))
    # shared is immutable bytes: dropped here, but not wiped (README "Limits").
    del shared
    return out[0], out[1]


def derive_session_key(my_sk: bytes, peer_pk: bytes, eph_pk: bytes,
                       session_pk: bytes) -> bytearray:
    """The session key alone (derive_session_keys; the MAC key is wiped)."""
    key, mac_key = derive_session_keys(my_sk, peer_pk, eph_pk, session_pk)
    mac_key[:] = bytes(len(mac_key))
    return key


def session_keys(eph_sk: bytes, eph_pk: bytes, session_pk: bytes) -> Tuple[bytearray, bytearray]:
    """The function's side of (session key, reply MAC key)."""
    return derive_session_keys(eph_sk, session_pk, eph_pk, session_pk)


def session_key(eph_sk: bytes, eph_pk: bytes, session_pk: bytes) -> bytearray:
    """The function's side of the session key."""
    return derive_session_key(eph_sk, session_pk, eph_pk, session_pk)


def get_aad(name: str, version: int) -> bytes:
    return GET_AAD_LABEL + _lp(name.encode()) + struct.pack(">Q", version)


def open_sealed(key: bytes, name: str, version: int, sealed: bytes) -> bytes:
    """Open GetResponse.sealed_value as `name` at `version`; IntegrityError otherwise."""
    if len(sealed) < NONCE_LEN + TAG_LEN:
        raise TeevaultError("the vault sent no sealed value", 0, "protocol")
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed[NONCE_LEN:], get_aad(name, version), sealed[:NONCE_LEN], bytes(key))
    except nacl.exceptions.CryptoError:
        raise IntegrityError("the sealed value does not open with this session's key for %r" %
                             name) from None


def seal(key: bytes, name: str, version: int, value: bytes) -> bytes:
    """The vault's side (seal_fn_get_seal); used by the tests."""
    nonce = sodium.randombytes(NONCE_LEN)
    return nonce + sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        value, get_aad(name, version), nonce, bytes(key))


def ct_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(bytes(a), bytes(b))


# ---------------------------------------------------------------- sim report
# 240 bytes, big-endian (docs/ATTESTATION.md "The sim report").
SIM_MAGIC = b"TVSIMRPT"
SIM_DOMAIN = b"teevault-sim-report-v1\0"
SIM_REPORT_LEN = 240
SIM_SIGNED_LEN = 176
SIM_VERSION = 1
SIM_FLAG_DEBUG = 1


@dataclass
class SimReport:
    version: int
    debug: bool
    svn: int
    measurement: bytes
    signer: bytes
    report_data: bytes
    platform_pk: bytes


def sim_report_produce(seed: bytes, measurement: bytes, signer: bytes, report_data: bytes,
                       svn: int = 0, debug: bool = False) -> bytes:
    """Sign a sim report with the platform key's 32-byte seed (seal_sim_report_produce)."""
    if len(measurement) != 32 or len(signer) != 32 or len(report_data) != 64:
        raise TeevaultError("sim identity must be 32-byte measurement and signer", 0, "invalid")
    sk = nacl.signing.SigningKey(bytes(seed))
    body = (SIM_MAGIC + struct.pack(">HBBHH", SIM_VERSION, SIM_FLAG_DEBUG if debug else 0, 0,
                                    svn, 0) + measurement + signer + report_data +
            bytes(sk.verify_key))
    return body + sk.sign(SIM_DOMAIN + body).signature


def sim_report_parse(ev: bytes) -> SimReport:
    if len(ev) != SIM_REPORT_LEN or ev[:8] != SIM_MAGIC:
        raise VerifyError("not a sim report (bad length or magic)", "format")
    version, flags, r1, svn, r2 = struct.unpack(">HBBHH", ev[8:16])
    if version != SIM_VERSION or flags & ~SIM_FLAG_DEBUG or r1 or r2:
        raise VerifyError("not a sim report (bad version or reserved bits)", "format")
    return SimReport(version, bool(flags & SIM_FLAG_DEBUG), svn, ev[16:48], ev[48:80],
                     ev[80:144], ev[144:176])


def sim_report_verify(ev: bytes, pinned_pk: bytes) -> SimReport:
    """Parse and check the signature with the *pinned* platform key."""
    rep = sim_report_parse(ev)
    if len(pinned_pk) != 32 or not ct_equal(rep.platform_pk, pinned_pk):
        raise VerifyError("sim report signature does not verify with the pinned platform key")
    try:
        nacl.signing.VerifyKey(bytes(pinned_pk)).verify(SIM_DOMAIN + ev[:SIM_SIGNED_LEN],
                                                        ev[SIM_SIGNED_LEN:])
    except nacl.exceptions.BadSignatureError:
        raise VerifyError("sim report signature does not verify with the pinned platform "
                          "key") from None
    return rep


# ------------------------------------------------- hardware evidence bodies
QUOTE_HEADER_LEN, SGX_BODY_LEN, TD10_BODY_LEN, SNP_REPORT_LEN = 48, 384, 584, 0x4A0


@dataclass
class Identity:
    measurement: bytes
    signer: bytes
    svn: int
    debug: bool
    report_data: bytes


def evidence_identity(typ: str, ev: bytes) -> Identity:
    """Claims parsed from an (unverified) evidence body, as seal_evidence_identity."""
    le16 = lambda o: struct.unpack_from("<H", ev, o)[0]  # noqa: E731
    le32 = lambda o: struct.unpack_from("<I", ev, o)[0]  # noqa: E731
    le64 = lambda o: struct.unpack_from("<Q", ev, o)[0]  # noqa: E731
    fmt = TeevaultError("evidence is not a well-formed %s body" % typ, 0, "format")
    if typ == "sgx":
        if len(ev) < QUOTE_HEADER_LEN + SGX_BODY_LEN or le16(0) != 3 or le32(4) != 0:
            raise fmt
        b = QUOTE_HEADER_LEN
        return Identity(ev[b + 64:b + 96], ev[b + 128:b + 160], le16(b + 258),
                        bool(le64(b + 48) & 2), ev[b + 320:b + 384])
    if typ == "tdx":
        if len(ev) < QUOTE_HEADER_LEN or le32(4) != 0x81:
            raise fmt
        ver = le16(0)
        if ver == 4:
            if len(ev) - QUOTE_HEADER_LEN < TD10_BODY_LEN:
                raise fmt
            b = QUOTE_HEADER_LEN
        elif ver == 5:
            if len(ev) - QUOTE_HEADER_LEN < 6:
                raise fmt
            btype, bsize = le16(QUOTE_HEADER_LEN), le32(QUOTE_HEADER_LEN + 2)
            if btype not in (2, 3) or bsize < TD10_BODY_LEN or \
                    len(ev) - QUOTE_HEADER_LEN - 6 < bsize:
                raise fmt
            b = QUOTE_HEADER_LEN + 6
        else:
            raise fmt
        return Identity(ev[b + 136:b + 184], ev[b + 232:b + 280], 0, bool(le64(b + 120) & 1),
                        ev[b + 520:b + 584])
    if typ == "snp":
        if len(ev) < SNP_REPORT_LEN or not 2 <= le32(0) <= 5:
            raise fmt
        return Identity(ev[0x90:0xC0], ev[0xE0:0x110], le32(4) & 0xFFFF,
                        bool(le64(8) & (1 << 19)), ev[0x50:0x90])
    if typ == "sim":
        r = sim_report_parse(ev)
        return Identity(r.measurement, r.signer, r.svn, r.debug, r.report_data)
    raise TeevaultError("unknown evidence type %r" % typ, INVALID_ARGUMENT, "invalid")


def check_bound(typ: str, ev: bytes, report_data: bytes) -> None:
    """The evidence must carry exactly the report_data we asked for."""
    if not ct_equal(evidence_identity(typ, ev).report_data, report_data):
        raise IntegrityError("the %s evidence does not carry the requested report_data "
                             "(stale or substituted)" % typ)


def detect_type(ev: bytes) -> Optional[str]:
    """Evidence type from its shape, as seal_evidence_detect (the SNP
    certificate table is not parsed here: a report of SNP shape is "snp")."""
    le16 = lambda o: struct.unpack_from("<H", ev, o)[0]  # noqa: E731
    le32 = lambda o: struct.unpack_from("<I", ev, o)[0]  # noqa: E731
    if len(ev) == SIM_REPORT_LEN and ev[:8] == SIM_MAGIC:
        return "sim"
    if len(ev) >= SNP_REPORT_LEN and le32(0) in (2, 3, 5) and le32(0x34) == 1:
        return "snp"
    if len(ev) >= QUOTE_HEADER_LEN and le16(2) == 2:
        ver, tee = le16(0), le32(4)
        if ver == 3 and tee == 0:
            return "sgx"
        if ver in (4, 5) and tee == 0x81:
            return "tdx"
        if ver in (4, 5) and tee == 0:
            return "sgx"
    return None
