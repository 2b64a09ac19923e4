# SPDX-License-Identifier: Apache-2.0
"""Evidence producers against fixture trees and a fake dstack agent (the same
shapes as tests/unit/test_evidence_producers.c)."""
import hashlib
import itertools
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import nacl.signing  # noqa: E402

import fixtures as F  # noqa: E402
from teevault import crypto, evidence as E  # noqa: E402
from teevault.errors import IntegrityError, TeevaultError  # noqa: E402


class Base(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="tv-pyev-")
        self.rd = os.urandom(64)

    def tearDown(self):
        shutil.rmtree(self.d, ignore_errors=True)


class Sim(Base):
    def test_sim(self):
        seed = os.urandom(32)
        F.put(self.d + "/sim_platform.key", seed)
        p = E.SimProducer(self.d, measurement=b"\5" * 32, svn=2)
        ev, typ = p.evidence(self.rd)
        self.assertEqual(typ, "sim")
        r = crypto.sim_report_verify(ev, bytes(nacl.signing.SigningKey(seed).verify_key))
        self.assertEqual((r.report_data, r.measurement, r.svn), (self.rd, b"\5" * 32, 2))
        self.assertEqual(r.signer, hashlib.sha256(b"teevault-sim-signer").digest())

    def test_sim_key_file_refused(self):
        p = E.SimProducer(self.d, measurement=b"\5" * 32)
        with self.assertRaisesRegex(TeevaultError, "no sim platform key"):
            p.evidence(self.rd)
        F.put(self.d + "/sim_platform.key", os.urandom(32), 0o644)  # others can read
        with self.assertRaisesRegex(TeevaultError, "owner only"):
            p.evidence(self.rd)
        os.unlink(self.d + "/sim_platform.key")
        F.put(self.d + "/sim_platform.key", os.urandom(31))  # wrong size
        with self.assertRaises(TeevaultError):
            p.evidence(self.rd)
        os.unlink(self.d + "/sim_platform.key")
        F.put(self.d + "/real.key", os.urandom(32))
        os.symlink(self.d + "/real.key", self.d + "/sim_platform.key")  # never followed
        with self.assertRaises(TeevaultError):
            p.evidence(self.rd)


class Gramine(Base):
    def tree(self, quote, att=b"dcap\n"):
        F.put(self.d + "/user_report_data", b"")
        F.put(self.d + "/quote", quote)
        if att is not None:
            F.put(self.d + "/attestation_type", att)

    def test_gramine(self):
        self.tree(F.sgx_quote(self.rd))
        ev, typ = E.GramineProducer(self.d).evidence(self.rd)
        self.assertEqual((ev, typ), (F.sgx_quote(self.rd), "sgx"))
        with open(self.d + "/user_report_data", "rb") as f:
            self.assertEqual(f.read(), self.rd)  # what we asked the enclave to sign

    def test_gramine_refusals(self):
        self.tree(F.sgx_quote(os.urandom(64)))  # a stale quote
        with self.assertRaises(IntegrityError):
            E.GramineProducer(self.d).evidence(self.rd)
        self.tree(b"\3\0" + b"\0" * 100)  # not a quote
        with self.assertRaises(TeevaultError):
            E.GramineProducer(self.d).evidence(self.rd)
        self.tree(F.sgx_quote(self.rd), att=b"epid\n")
        with self.assertRaisesRegex(TeevaultError, "not dcap"):
            E.GramineProducer(self.d)
        os.unlink(self.d + "/quote")
        os.unlink(self.d + "/attestation_type")
        with self.assertRaisesRegex(TeevaultError, "missing"):
            E.GramineProducer(self.d)
        self.tree(b"q" * (E.EVIDENCE_MAX + 1), att=None)  # over the cap
        with self.assertRaises(TeevaultError):
            E.GramineProducer(self.d).evidence(self.rd)


class Tsm(Base):
    def test_entry_tdx_and_snp(self):
        e = self.d + "/e1"
        F.tsm_entry(e, "tdx_guest", F.tdx_quote(self.rd), 7, 8)
        ev, typ = E.TsmProducer(self.d).report_in_entry(e, self.rd)
        self.assertEqual((ev, typ), (F.tdx_quote(self.rd), "tdx"))
        with open(e + "/inblob", "rb") as f:
            self.assertEqual(f.read(), self.rd)
        e = self.d + "/e2"
        F.tsm_entry(e, "sev_guest", F.snp_report(self.rd), 1, 2, aux=b"CERTS")
        ev, typ = E.TsmProducer(self.d).report_in_entry(e, self.rd)
        self.assertEqual((ev, typ), (F.snp_report(self.rd) + b"CERTS", "snp"))

    def test_entry_refusals(self):
        e = self.d + "/race"
        F.tsm_entry(e, "tdx_guest", F.tdx_quote(self.rd), 7, 9)  # someone else wrote
        with self.assertRaises(TeevaultError) as cm:
            E.TsmProducer(self.d).report_in_entry(e, self.rd)
        self.assertEqual(cm.exception.name, "unavailable")
        e = self.d + "/stale"
        F.tsm_entry(e, "tdx_guest", F.tdx_quote(os.urandom(64)), 1, 2)
        with self.assertRaises(IntegrityError):
            E.TsmProducer(self.d).report_in_entry(e, self.rd)
        e = self.d + "/prov"
        F.tsm_entry(e, "arm_cca", F.tdx_quote(self.rd), 1, 2)
        with self.assertRaisesRegex(TeevaultError, "provider"):
            E.TsmProducer(self.d).report_in_entry(e, self.rd)

    def test_backend_retries_then_succeeds(self):
        E.TsmProducer._counter = itertools.count(500)
        pid = os.getpid()
        # first entry raced (generation jumped), second one good
        F.tsm_entry("%s/teevault-%d-500" % (self.d, pid), "tdx_guest", F.tdx_quote(self.rd),
                    3, 5)
        F.tsm_entry("%s/teevault-%d-501" % (self.d, pid), "tdx_guest", F.tdx_quote(self.rd),
                    3, 4)
        ev, typ = E.TsmProducer(self.d).evidence(self.rd)
        self.assertEqual(typ, "tdx")

    def test_backend_gives_up(self):
        E.TsmProducer._counter = itertools.count(600)
        pid = os.getpid()
        for n in range(600, 603):
            F.tsm_entry("%s/teevault-%d-%d" % (self.d, pid, n), "tdx_guest",
                        F.tdx_quote(self.rd), 1, 3)
        with self.assertRaises(TeevaultError) as cm:
            E.TsmProducer(self.d).evidence(self.rd)
        self.assertEqual(cm.exception.name, "unavailable")
        with self.assertRaises(TeevaultError):
            E.TsmProducer(self.d + "/nope")


class Dstack(Base):
    def agent(self, mode):
        s = F.FakeDstack(self.d + "/dstack.sock", mode)
        self.addCleanup(s.close)
        self.addCleanup(lambda: os.path.exists(self.d + "/dstack.sock") and
                        os.unlink(self.d + "/dstack.sock"))
        return E.DstackProducer(self.d + "/dstack.sock"), s

    def test_quote(self):
        for mode in ("ok", "chunked"):
            p, s = self.agent(mode)
            ev, typ = p.evidence(self.rd)
            self.assertEqual((ev, typ), (F.tdx_quote(self.rd), "tdx"))
            self.assertEqual(s.targets[-1], "/GetQuote?report_data=" + self.rd.hex())
            s.close()
            os.unlink(self.d + "/dstack.sock")

    def test_refusals(self):
        for mode, exc in (("500", "HTTP 500"), ("badjson", "not JSON"),
                          ("wrongrd", "report_data"), ("huge", "exceeds")):
            p, s = self.agent(mode)
            with self.assertRaisesRegex(TeevaultError, exc):
                p.evidence(self.rd)
            s.close()
            os.unlink(self.d + "/dstack.sock")
        with self.assertRaisesRegex(TeevaultError, "cannot reach"):
            E.DstackProducer(self.d + "/absent.sock").evidence(self.rd)


if __name__ == "__main__":
    unittest.main()
