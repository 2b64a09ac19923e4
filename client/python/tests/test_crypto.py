# SPDX-License-Identifier: Apache-2.0
"""The function path's cryptography against an independent implementation
(tests/integration/attest_raw.py, python3-cryptography) and its refusals."""
import hashlib
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "integration"))

import nacl.bindings as sodium  # noqa: E402
import nacl.signing  # noqa: E402

from teevault import crypto  # noqa: E402
from teevault.errors import IntegrityError, TeevaultError, VerifyError  # noqa: E402

try:
    import attest_raw as A  # independent: python3-cryptography
except ImportError:  # pragma: no cover
    A = None


class Binding(unittest.TestCase):
    def test_attest_binding_layout(self):
        n, pk = bytes(range(32)), b"\x07" * 32
        want = hashlib.sha512(b"teevault-attest-v1" + n + b"\0\0\0\x02ab" + b"\0\0\0\x01c" +
                              pk).digest()
        self.assertEqual(crypto.attest_binding(n, "ab", b"c", pk), want)
        # the length prefixes keep ("ab","c") and ("a","bc") apart
        self.assertNotEqual(crypto.attest_binding(n, "ab", b"c", pk),
                            crypto.attest_binding(n, "a", b"bc", pk))
        if A:
            self.assertEqual(crypto.attest_binding(n, "fn", b"h" * 32, pk),
                             A.binding(n, "fn", b"h" * 32, pk))

    def test_bad_sizes(self):
        with self.assertRaises(TeevaultError):
            crypto.attest_binding(b"short", "x", b"", b"\0" * 32)


class SessionKey(unittest.TestCase):
    def test_both_sides_agree_and_open(self):
        eph_pk, eph_sk = crypto.ephemeral_keypair()
        vpk, vsk = sodium.crypto_box_keypair()
        k_fn = crypto.session_key(eph_sk, eph_pk, vpk)
        k_vault = crypto.derive_session_key(vsk, eph_pk, eph_pk, vpk)  # the vault's side
        self.assertEqual(k_fn, k_vault)
        sealed = crypto.seal(k_vault, "app/k", 3, b"value")
        self.assertEqual(crypto.open_sealed(k_fn, "app/k", 3, sealed), b"value")
        if A:  # the independent opener agrees on key and AEAD
            from cryptography.hazmat.primitives.asymmetric import x25519
            e = x25519.X25519PrivateKey.from_private_bytes(bytes(eph_sk))
            self.assertEqual(A.session_key(e, eph_pk, vpk), bytes(k_fn))
            self.assertEqual(A.open_value(bytes(k_fn), "app/k", 3, sealed), b"value")

    def test_refusals(self):
        eph_pk, eph_sk = crypto.ephemeral_keypair()
        vpk, _ = sodium.crypto_box_keypair()
        k = crypto.session_key(eph_sk, eph_pk, vpk)
        sealed = crypto.seal(k, "app/k", 3, b"value")
        for name, ver, blob in (("app/other", 3, sealed), ("app/k", 4, sealed),
                                ("app/k", 3, sealed[:-1] + bytes([sealed[-1] ^ 1])),
                                ("app/k", 3, sealed[:30])):
            with self.assertRaises(TeevaultError):
                crypto.open_sealed(k, name, ver, blob)
        other = crypto.session_key(eph_sk, eph_pk, sodium.crypto_box_keypair()[0])
        with self.assertRaises(IntegrityError):
            crypto.open_sealed(other, "app/k", 3, sealed)
        with self.assertRaises(TeevaultError):  # low-order point
            crypto.session_key(eph_sk, eph_pk, b"\0" * 32)
        with self.assertRaises(TeevaultError):
            crypto.session_key(eph_sk, eph_pk, b"\1" * 31)


class SimReport(unittest.TestCase):
    def setUp(self):
        self.seed = os.urandom(32)
        self.pk = bytes(nacl.signing.SigningKey(self.seed).verify_key)
        self.rd = os.urandom(64)

    def test_round_trip_and_cross_check(self):
        ev = crypto.sim_report_produce(self.seed, b"\1" * 32, b"\2" * 32, self.rd, svn=5)
        self.assertEqual(len(ev), 240)
        r = crypto.sim_report_verify(ev, self.pk)
        self.assertEqual((r.svn, r.report_data, r.debug), (5, self.rd, False))
        self.assertEqual(crypto.detect_type(ev), "sim")
        if A:
            d = "/tmp/tv-pyc-%d" % os.getpid()
            os.makedirs(d, exist_ok=True)
            with open(d + "/sim_platform.key", "wb") as f:
                f.write(self.seed)
            self.assertEqual(A.sim_report(d, b"\1" * 32, b"\2" * 32, self.rd, svn=5), ev)
            os.unlink(d + "/sim_platform.key")
            os.rmdir(d)

    def test_refusals(self):
        ev = bytearray(crypto.sim_report_produce(self.seed, b"\1" * 32, b"\2" * 32, self.rd))
        other = bytes(nacl.signing.SigningKey(os.urandom(32)).verify_key)
        with self.assertRaises(VerifyError):
            crypto.sim_report_verify(bytes(ev), other)  # not the pinned platform
        bad = bytearray(ev)
        bad[20] ^= 1  # measurement changed after signing
        with self.assertRaises(VerifyError):
            crypto.sim_report_verify(bytes(bad), self.pk)
        with self.assertRaises(VerifyError):
            crypto.sim_report_verify(bytes(ev[:239]), self.pk)
        bad = bytearray(ev)
        bad[11] = 1  # reserved byte
        with self.assertRaises(VerifyError):
            crypto.sim_report_parse(bytes(bad))


class AttestReply(unittest.TestCase):
    """verify_attest_reply: the session key certified by the pinned vault key, and
    the reply authenticated by a MAC under a key from the session's X25519
    (docs/ATTESTATION.md "The certified session key and the reply MAC")."""

    NOT_SIGNED = "is not signed by the vault"
    OTHER_VAULT = "comes from another vault than the one verified"
    NOT_CERTIFIED = "session key is not certified by the pinned vault key"
    EXPIRED = "session key expired at"
    BAD_MAC = "MAC does not verify"

    def setUp(self):
        import time
        from teevault.client import VaultReport
        self.sk = nacl.signing.SigningKey(os.urandom(32))
        self.vid = os.urandom(32)
        self.pin = VaultReport("sim", False, b"", b"", b"", b"", 0, self.vid,
                               bytes(self.sk.verify_key), 0)
        self.nonce = os.urandom(32)
        self.eph_pk, self.eph_sk = crypto.ephemeral_keypair()
        self.spk, self.ssk = sodium.crypto_box_keypair()  # the vault's session key pair
        self.skexp = int(time.time()) + 3600
        self.resp = self.reply()

    def reply(self, spk=None, ssk=None, signer=None, vid=None, skexp=None, **fields):
        """A reply as the vault makes it: the session key's certificate signed by
        `signer` (default the pinned key) and the MAC from the vault's side."""
        from types import SimpleNamespace
        spk, ssk = spk or self.spk, ssk or self.ssk
        vid = vid or self.vid
        skexp = self.skexp if skexp is None else skexp
        r = SimpleNamespace(session_token="tvf.x", session_pubkey=spk, vault_id=vid,
                            expires_at=1234, state_version=7, audit_seq=9,
                            audit_head=os.urandom(32), session_key_expires_at=skexp)
        for k, v in fields.items():
            setattr(r, k, v)
        r.signature = (signer or self.sk).sign(
            crypto.session_key_message(vid, spk, skexp)).signature
        _, mk = crypto.derive_session_keys(ssk, self.eph_pk, self.eph_pk, spk)  # vault's side
        r.reply_mac = crypto.attest_reply_mac(mk, crypto.attest_reply_message(
            vid, self.nonce, self.eph_pk, spk, "fn", r.expires_at, r.state_version, r.audit_seq,
            r.audit_head, skexp, r.session_token))
        return r

    def check(self, resp=None, name="fn", vault="pin", nonce=None):
        from teevault.client import verify_attest_reply
        return verify_attest_reply(resp or self.resp, name=name, nonce=nonce or self.nonce,
                                   eph_pk=self.eph_pk, eph_sk=self.eph_sk,
                                   vault=self.pin if vault == "pin" else vault)

    def refused(self, what, resp=None, **kw):
        with self.assertRaisesRegex(VerifyError, what):
            self.check(resp, **kw)

    def altered(self, **fields):
        import copy
        r = copy.copy(self.resp)
        for k, v in fields.items():
            setattr(r, k, v)
        return r

    def test_layout(self):
        # Known answer: the exact bytes, built here by hand.
        cert = crypto.session_key_message(b"V" * 32, b"S" * 32, 0x0102030405060708)
        self.assertEqual(cert, b"teevault-session-key-v1\x00" + b"V" * 32 + b"S" * 32 +
                         b"\x01\x02\x03\x04\x05\x06\x07\x08")
        self.assertEqual(len(b"teevault-session-key-v1\x00"), 24)
        self.assertEqual(crypto.session_key_message(b"V" * 32, b"S" * 32, -2)[-8:],
                         b"\xff" * 7 + b"\xfe")
        m = crypto.attest_reply_message(b"V" * 32, b"N" * 32, b"E" * 32, b"S" * 32, "ab", -1,
                                        2, 3, b"H" * 32, 0x1122334455667788, "tvf.tok")
        self.assertEqual(m, b"teevault-attest-reply-v2\x00" + b"V" * 32 + b"N" * 32 + b"E" * 32 +
                         b"S" * 32 + b"\x00\x00\x00\x02ab" + b"\xff" * 8 +
                         b"\x00" * 7 + b"\x02" + b"\x00" * 7 + b"\x03" + b"H" * 32 +
                         b"\x11\x22\x33\x44\x55\x66\x77\x88" + b"\x00\x00\x00\x07tvf.tok")
        self.assertEqual(len(b"teevault-attest-reply-v2\x00"), 25)
        self.assertEqual(len(m), 25 + 4 * 32 + 4 + 2 + 8 * 3 + 32 + 8 + 4 + 7)
        self.assertEqual(crypto.state_message(b"V" * 32, 2, 3, b"H" * 32),
                         b"teevault-state-v1\0" + b"V" * 32 + (2).to_bytes(8, "big") +
                         (3).to_bytes(8, "big") + b"H" * 32)
        mk = bytes(range(32))
        self.assertEqual(crypto.attest_reply_mac(mk, m),
                         hashlib.blake2b(m, key=mk, digest_size=32).digest())

    def test_keys(self):
        k, mk = crypto.session_keys(self.eph_sk, self.eph_pk, self.spk)
        vk, vmk = crypto.derive_session_keys(self.ssk, self.eph_pk, self.eph_pk, self.spk)
        self.assertEqual((k, mk), (vk, vmk))  # both sides agree on both keys
        self.assertNotEqual(k, mk)
        shared = sodium.crypto_scalarmult(bytes(self.eph_sk), self.spk)
        tail = shared + self.eph_pk + self.spk
        self.assertEqual(bytes(k), hashlib.blake2b(b"teevault-fn-session-key-v1" + tail,
                                                   digest_size=32).digest())
        self.assertEqual(bytes(mk), hashlib.blake2b(b"teevault-attest-reply-mac-v1" + tail,
                                                    digest_size=32).digest())
        self.assertEqual(crypto.session_key(self.eph_sk, self.eph_pk, self.spk), k)

    def test_accepts_the_vaults_reply(self):
        key = self.check()
        self.assertIsInstance(key, bytearray)
        self.assertEqual(key, crypto.session_key(self.eph_sk, self.eph_pk, self.spk))
        vk = crypto.derive_session_key(self.ssk, self.eph_pk, self.eph_pk, self.spk)
        self.assertEqual(crypto.open_sealed(key, "app/k", 3, crypto.seal(vk, "app/k", 3, b"v")),
                         b"v")
        import time  # a session key just expired is accepted within the clock skew
        self.check(self.reply(skexp=int(time.time()) - 30))

    def test_protobuf_fields(self):
        try:
            from teevault import _stubs
            pb = _stubs.load()[0]
        except ImportError as e:  # pragma: no cover
            self.skipTest("no protobuf stubs: %s" % e)
        r = self.resp
        wire = pb.AttestResponse(
            session_token=r.session_token, expires_at=r.expires_at, session_pubkey=r.session_pubkey,
            vault_id=r.vault_id, signature=r.signature, state_version=r.state_version,
            audit_seq=r.audit_seq, audit_head=r.audit_head,
            session_key_expires_at=r.session_key_expires_at,
            reply_mac=r.reply_mac).SerializeToString()
        self.check(pb.AttestResponse.FromString(wire))
        fields = pb.AttestResponse.DESCRIPTOR.fields_by_name
        self.assertEqual((fields["session_key_expires_at"].number, fields["reply_mac"].number),
                         (11, 12))

    def test_swapped_session_key(self):
        spk2, ssk2 = sodium.crypto_box_keypair()
        # the relay's own key pair, "certified" by an unrelated key, its MAC correct
        stranger = nacl.signing.SigningKey(os.urandom(32))
        self.refused(self.NOT_CERTIFIED, self.reply(spk=spk2, ssk=ssk2, signer=stranger))
        self.refused(self.NOT_CERTIFIED, self.altered(session_pubkey=spk2))
        # a certificate extended without the vault's signature
        self.refused(self.NOT_CERTIFIED, self.altered(session_key_expires_at=self.skexp + 1))
        from teevault.client import vault_pin  # signed, but not by the pinned key
        self.refused(self.NOT_CERTIFIED, vault=vault_pin(self.vid, bytes(stranger.verify_key)))

    def test_expired_session_key(self):
        import time
        old = int(time.time()) - 120
        with self.assertRaisesRegex(VerifyError, "%s %d .*60 s" % (self.EXPIRED, old)):
            self.check(self.reply(skexp=old))

    def test_altered_reply(self):
        mac = bytearray(self.resp.reply_mac)
        mac[5] ^= 0x10
        self.refused(self.BAD_MAC, self.altered(reply_mac=bytes(mac)))
        for field, val in (("expires_at", 99999), ("state_version", 8), ("audit_seq", 10),
                           ("audit_head", os.urandom(32)), ("session_token", "tvf.y")):
            self.refused(self.BAD_MAC, self.altered(**{field: val}))
        self.refused(self.BAD_MAC, name="other-fn")  # made for another function
        self.refused(self.BAD_MAC, nonce=os.urandom(32))  # for another challenge

    def test_missing_fields(self):
        for field in ("reply_mac", "signature", "audit_head"):
            self.refused(self.NOT_SIGNED, self.altered(**{field: b""}))
        self.refused(self.NOT_SIGNED, self.altered(reply_mac=self.resp.reply_mac[:31]))

    def test_other_vault(self):
        # consistent in itself (certified by the pinned key, MAC correct), but another vault id
        self.refused(self.OTHER_VAULT, self.reply(vid=os.urandom(32)))

    def test_pin_and_token(self):
        from teevault.client import vault_pin
        with self.assertRaisesRegex(VerifyError, "no vault is pinned"):
            self.check(vault=None)
        with self.assertRaises(TeevaultError):
            vault_pin(bytes(32), bytes(32))
        with self.assertRaisesRegex(TeevaultError, "no usable session token"):
            self.check(self.altered(session_token=""))


if __name__ == "__main__":
    unittest.main()
