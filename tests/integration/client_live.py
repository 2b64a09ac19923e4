# SPDX-License-Identifier: Apache-2.0
"""The Python client (client/python) against the live daemon; run by
test_py_client.sh as: client_live.py SOCK STATE_DIR TRANSPORT.

Operator kv with a token; Report verified against the pinned sim platform
key (and refused with another key); a function attests with sim evidence
(the vault's platform dir), reads its secret through the session-key AEAD,
is refused a secret outside its ACL, and a different code hash is refused
at Attest. Prints "ok ..." lines and exits non-zero on the first failure.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))
import teevault as T  # noqa: E402

sock, state, transport = sys.argv[1], sys.argv[2], sys.argv[3]
addr = "unix:" + sock
n = 0


def ok(cond, what):
    global n
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    n += 1
    print("ok  ", what)


def refused(fn, code, name=None):
    try:
        fn()
    except T.TeevaultError as e:
        return e.code == code and (name is None or e.name == name), str(e)
    return False, "not refused"


h = lambda b: hashlib.sha256(b).digest()  # noqa: E731
token = open(os.path.join(state, "root-token")).read().strip()
op = T.Client(addr, token=token, transport=transport)
v1 = op.kv.put("app/price-feed/exchange_api_key", b"xk-" + transport.encode())
ok(v1 >= 1, "kv put -> version %d" % v1)
ok(op.kv.get("app/price-feed/exchange_api_key").value == b"xk-" + transport.encode(),
   "kv get returns the value")
op.kv.put("app/other-fn/key", b"not-yours")
ok("app/price-feed/exchange_api_key" in op.kv.list("app/"), "kv list shows the name")
r, why = refused(lambda: T.Client(addr, token="tvt.bogus", transport=transport).kv.get("app/x"),
                 16)
ok(r, "a bogus token is UNAUTHENTICATED: " + why)

meas = h(b"runtime-" + transport.encode())
code = b"function fetchPriceData(token) { ... }"
op.policies.write("price-feed-read", 'path "app/price-feed/*" { capabilities = ["read"] }')
op.functions.register("price-feed", json.dumps({
    "evidence_type": "sim", "measurement": meas.hex(),
    "signer": h(b"teevault-sim-signer").hex(), "code_hash": h(code).hex()}), ["price-feed-read"])

pub = open(os.path.join(state, "sim_platform.pub"), "rb").read()
fn = T.Client(addr, token="", transport=transport)
rep = fn.verify_vault(sim_platform_pk=pub)
ok(rep.evidence_type == "sim" and len(rep.audit_pubkey) == 32, "Report verified (sim, pinned key)")
try:
    fn.verify_vault(sim_platform_pk=bytes(32 * [1]))
    ok(False, "Report with another pinned key")
except T.VerifyError as e:
    ok("pinned platform key" in str(e), "Report refused with another pinned key")

prod = T.SimProducer(state, measurement=meas)
s = fn.attest_function("price-feed", h(code), prod, rep)
ok(s.secrets.get("app/price-feed/exchange_api_key") == b"xk-" + transport.encode(),
   "attested function reads its secret (sealed to the session key)")
r, why = refused(lambda: s.secrets.get("app/other-fn/key"), 7, "denied")
ok(r, "secret outside the function's ACL is PERMISSION_DENIED: " + why)
r, why = refused(lambda: fn.attest_function("price-feed", h(code), prod), 7, "policy")
ok(r and "no vault is pinned" in why, "Attest without a verified (pinned) vault is refused: " + why)
r, why = refused(lambda: fn.attest_function("price-feed", h(b"other code"), prod, rep), 7, "policy")
ok(r, "another code hash is refused at Attest: " + why)
r, why = refused(lambda: fn.attest_function("price-feed", h(code),
                                            T.SimProducer(state, measurement=h(b"evil")), rep), 7)
ok(r, "another runtime measurement is refused at Attest: " + why)
r, why = refused(lambda: fn.attest_function("unregistered", h(code), prod, rep), 7)
ok(r, "an unregistered function is refused: " + why)
s.close()
r, why = refused(lambda: s.secrets.get("app/price-feed/exchange_api_key"), 0)
ok(r, "a closed session reads nothing")

recs = op.audit.list(since=0, limit=1000)
reads = [x for x in recs if x.method.endswith("Secrets/Get") and "price-feed" in x.principal]
ok(any(x.secret == "app/price-feed/exchange_api_key" and x.status == 0 for x in reads),
   "the function's read is audited")
ok(any(x.secret == "app/other-fn/key" and x.status == 7 for x in reads),
   "the refused read is audited")
print("%d passed, 0 failed" % n)
