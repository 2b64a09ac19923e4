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
    """verify_attest_reply: the vault's signature over the reply (issue 12)."""

    def setUp(self):
        from types import SimpleNamespace
        from teevault.client import VaultReport
        self.sk = nacl.signing.SigningKey(os.urandom(32))
        self.vid = os.urandom(32)
        self.pin = VaultReport("sim", False, b"", b"", b"", b"", 0, self.vid,
                               bytes(self.sk.verify_key), 0)
        self.nonce, self.eph = os.urandom(32), os.urandom(32)
        spk, head = os.urandom(32), os.urandom(32)
        msg = crypto.attest_reply_message(self.vid, self.nonce, self.eph, spk, "fn", 1234, 7, 9,
                                          head)
        self.resp = SimpleNamespace(session_token="tvf.x", session_pubkey=spk, vault_id=self.vid,
                                    expires_at=1234, state_version=7, audit_seq=9,
                                    audit_head=head, signature=self.sk.sign(msg).signature)

    def check(self, resp=None, name="fn", vault="pin"):
        from teevault.client import verify_attest_reply
        verify_attest_reply(resp or self.resp, name=name, nonce=self.nonce, eph_pk=self.eph,
                            vault=self.pin if vault == "pin" else vault)

    def test_layout(self):
        m = crypto.attest_reply_message(b"V" * 32, b"N" * 32, b"E" * 32, b"S" * 32, "ab", -1, 2,
                                        3, b"H" * 32)
        self.assertEqual(m, b"teevault-attest-reply-v1\0" + b"V" * 32 + b"N" * 32 + b"E" * 32 +
                         b"S" * 32 + b"\0\0\0\x02ab" + b"\xff" * 8 +
                         (2).to_bytes(8, "big") + (3).to_bytes(8, "big") + b"H" * 32)
        self.assertEqual(crypto.state_message(b"V" * 32, 2, 3, b"H" * 32),
                         b"teevault-state-v1\0" + b"V" * 32 + (2).to_bytes(8, "big") +
                         (3).to_bytes(8, "big") + b"H" * 32)

    def test_accepts_the_vaults_signature(self):
        self.check()

    def test_refusals(self):
        import copy
        from teevault.client import vault_pin
        for field, val in (("session_pubkey", os.urandom(32)), ("expires_at", 99999),
                           ("audit_seq", 10), ("signature", b""), ("vault_id", os.urandom(32))):
            r = copy.copy(self.resp)
            setattr(r, field, val)
            with self.assertRaises(VerifyError, msg=field):
                self.check(r)
        with self.assertRaises(VerifyError):
            self.check(name="other-fn")  # signed for another function
        with self.assertRaises(VerifyError):
            self.check(vault=None)  # nothing pinned
        other = vault_pin(self.vid, bytes(nacl.signing.SigningKey(os.urandom(32)).verify_key))
        with self.assertRaises(VerifyError):
            self.check(vault=other)  # signed, but not by the pinned key
        with self.assertRaises(TeevaultError):
            vault_pin(bytes(32), bytes(32))


if __name__ == "__main__":
    unittest.main()
