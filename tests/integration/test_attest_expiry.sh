#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attestation expiry end to end (issue 5 "Done when"): the real teevaultd
# (--dev, sim) started with an [attestation] config of nonce_ttl = 1 and
# session_ttl = 2, a function runtime in Python (attest_raw.py: raw ttrpc,
# sim evidence signed with the vault's sim platform key) that can hold a
# nonce or a token past its expiry, and the real CLI for the audit log.
#
#   nonce used after nonce_ttl           → UNAUTHENTICATED "nonce expired"
#   nonce used twice                     → PERMISSION_DENIED "already used"
#   session token used after session_ttl → UNAUTHENTICATED "not valid"
#   before that, the session reads its secret (the sealed value opens with
#   the session key, and not under another name)
#   every attempt has its audit record with its status and reason
. "$(dirname "$0")/cli_lib.sh"

cli_init
printf '[attestation]\nnonce_ttl = 1\nsession_ttl = 2\n' >"$T/attest.conf"
tv_start_dev --config "$T/attest.conf" # lib.sh: --dev on $T/state, this [attestation]
ROOT_TOKEN_FILE="$T/state/root-token"
wait_for "$ROOT_TOKEN_FILE"
export TEEVAULT_ADDR="unix:$TV_SOCK"
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
PLAT="$T/state" # the vault's sim platform dir (its state dir under --dev)

hex() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
printf '{"evidence_type":"sim","measurement":"%s","signer":"%s","code_hash":"%s"}\n' \
  "$(hex runtime-x)" "$(hex teevault-sim-signer)" "$(hex code-x)" >"$T/fn.json"
echo 'path "app/fn-x/*" { capabilities = ["read"] }' >"$T/fn.hcl"
expect_rc 0 policy write fn-x-read "$T/fn.hcl"
tv_in 'xray-secret' kv put app/fn-x/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
tv_in 'yankee-secret' kv put app/fn-x/other
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
expect_rc 0 function register fn-x --policy "$T/fn.json" --acl fn-x-read

records() { # records: the audit records after setup, as JSON lines
  printf '%s' "$OUT" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
r = r.get("records", r) if isinstance(r, dict) else r
for x in r:
    if x["seq"] > int(sys.argv[1]):
        print(json.dumps(x))' "$1"
}
expect_rc 0 audit list --limit 1000 --format json
audit_from=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
r = r.get("records", r) if isinstance(r, dict) else r
print(max([x["seq"] for x in r] or [0]))')

tv_py - "$TV_SOCK" "$PLAT" >"$T/py.out" 2>&1 <<'PY'
import hashlib, sys, time
import attest_raw as A

sock, plat = sys.argv[1], sys.argv[2]
h = lambda s: hashlib.sha256(s.encode()).digest()
f = A.Function(sock, plat, "fn-x", h("runtime-x"), h("teevault-sim-signer"), h("code-x"))

def expect(cond, what):
    print("ok  " if cond else "FAIL", what)
    if not cond:
        sys.exit(1)

# 1. A nonce used after nonce_ttl (1 s) is refused, and stays spent.
n = f.challenge()
time.sleep(2.2)
code, msg, _, _ = f.attest(n)
expect(code == A.UNAUTHENTICATED and "nonce expired" in msg,
       "expired nonce refused: %d %r" % (code, msg))
code, msg, _, _ = f.attest(n)
expect(code == A.UNAUTHENTICATED and "nonce expired" in msg,
       "expired nonce stays refused: %d %r" % (code, msg))

# 2. A fresh nonce gives a session; the same nonce again is a replay.
n = f.challenge()
code, msg, resp, eph = f.attest(n)
expect(code == 0 and resp[1][0].startswith(b"tvf."), "fresh nonce attests: %d %r" % (code, msg))
token = resp[1][0].decode()
# (Read at once: session_ttl = 2 s on a 1 s clock leaves at least 1 s.)
code, msg, g = f.get(token, "app/fn-x/key")
code2, msg2, _, _ = f.attest(n)
expect(code2 == A.PERMISSION_DENIED and "already used" in msg2,
       "replayed nonce refused: %d %r" % (code2, msg2))

# 3. Within session_ttl the session read its secret, sealed (never plaintext).
expect(code == 0 and len(g.get(4, [b""])[0]) > 0 and 3 not in g,
       "session reads its secret, sealed: %d %r" % (code, msg))
expect(3 in resp and len(resp[3][0]) == 32, "AttestResponse carries the session public key")
key = A.session_key(eph, A.raw_pub(eph), resp[3][0])
expect(A.open_value(key, "app/fn-x/key", g[2][0], g[4][0]) == b"xray-secret",
       "sealed value opens with the session key")
for what, args in (("another name", ("app/fn-x/other", g[2][0])),
                   ("another version", ("app/fn-x/key", g[2][0] + 1))):
    try:
        A.open_value(key, args[0], args[1], g[4][0])
        expect(False, "sealed value opened under " + what)
    except Exception as e:  # cryptography's InvalidTag
        expect(type(e).__name__ == "InvalidTag", "sealed value refused under %s" % what)

# 4. After session_ttl (2 s) the token is refused by the vault.
time.sleep(3.2)
code, msg, g = f.get(token, "app/fn-x/key")
expect(code == A.UNAUTHENTICATED and "not valid" in msg and not g,
       "expired session refused: %d %r" % (code, msg))
code, msg, g = f.get(token, "app/fn-x/key")
expect(code == A.UNAUTHENTICATED, "expired session stays refused: %d %r" % (code, msg))
PY
rc=$?
cat "$T/py.out"
[ "$rc" -eq 0 ] || fail "attestation expiry driver failed"
pass "expired nonce, replayed nonce and expired session refused with clear statuses"

# Every attempt is audited with its outcome: 4 Attest (2 expired nonce,
# 1 session, 1 replay) and 1 Get read by fn-x, each with its own record; the
# 2 Gets with the expired session token are failed authentications, counted
# in the aggregate record for the peer (issue 14).
expect_rc 0 audit list --limit 1000 --format json
records "$audit_from" | "$PY" -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
att = sorted(x["status"] for x in r if x["method"].endswith("Attestation/Attest"))
get = sorted(x["status"] for x in r if x["method"].endswith("Secrets/Get"))
print("Attest statuses", att, "Get statuses", get)
assert att == ["OK", "PERMISSION_DENIED", "UNAUTHENTICATED", "UNAUTHENTICATED"], att
assert get == ["OK"], get
agg = " ".join(x.get("detail", "") for x in r if x["method"] == "aggregate")
assert "Secrets/Get!UNAUTHENTICATED=2" in agg, agg
why = " ".join(x.get("detail", "") for x in r)
assert why.count("nonce expired") == 2 and "replay" in why, why
ok = [x for x in r if x["method"].endswith("Secrets/Get") and x["status"] == "OK"]
assert "fn-x" in json.dumps(ok) and "app/fn-x/key" in json.dumps(ok), ok
' || fail "audit records do not match the attempts: $OUT"
pass "every attempt is audited with its status"

stop_vault
pass "clean shutdown"
echo "test_attest_expiry: all passed"
