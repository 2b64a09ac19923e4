#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Strangers cannot take the vault down (issue 14), against the real teevaultd
# (--dev, sim) with a function runtime in Python (attest_raw.py) and the
# real CLI:
#
#   challenge storm: 10,000 pipelined Challenge calls from a stranger, then
#   a registered function attests at once and reads its secret (the old
#   daemon refused Challenge at 4,096 outstanding nonces for 60 s, locking
#   every function out); 5,000 more over Connect (HTTP/1.1) on the same
#   socket; a nonce is still single use, a forged one refused.
#   anonymous flood: 20,000 pipelined Health/Status, 2,000 Gets with a bogus
#   token and failed Logins grow the audit log by a few aggregate records
#   (one per peer and interval, with the counts), not one record each (the
#   old daemon wrote 22,000+); an operator's own requests keep their records.
. "$(dirname "$0")/cli_lib.sh"

cli_init
tv_start_dev
ROOT_TOKEN_FILE="$T/state/root-token"
wait_for "$ROOT_TOKEN_FILE"
export TEEVAULT_ADDR="unix:$TV_SOCK"
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
PLAT="$T/state"

hex() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
printf '{"evidence_type":"sim","measurement":"%s","signer":"%s","code_hash":"%s"}\n' \
  "$(hex runtime-x)" "$(hex teevault-sim-signer)" "$(hex code-x)" >"$T/fn.json"
echo 'path "app/fn-x/*" { capabilities = ["read"] }' >"$T/fn.hcl"
expect_rc 0 policy write fn-x-read "$T/fn.hcl"
tv_in 'xray-secret' kv put app/fn-x/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
expect_rc 0 function register fn-x --policy "$T/fn.json" --acl fn-x-read

tv_py - "$TV_SOCK" "$PLAT" >"$T/storm.out" 2>&1 <<'PY'
import hashlib, sys
import attest_raw as A
import ttrpc_raw as T

sock, plat = sys.argv[1], sys.argv[2]
h = lambda s: hashlib.sha256(s.encode()).digest()

def expect(cond, what):
    print("ok  " if cond else "FAIL", what)
    if not cond:
        sys.exit(1)

# The stranger: 10,000 Challenges, pipelined 200 at a time, never used.
c = T.Conn(sock, timeout=30)
codes = {}
N, W = 10000, 200
for base in range(0, N, W):
    c.send(b"".join(T.frame(c.next_sid(), T.encode_request(A.ATT, "Challenge"))
                    for _ in range(W)))
    for _ in range(W):
        fr = c.recv_frame()
        code = T.parse_response(fr[4])[0]
        codes[code] = codes.get(code, 0) + 1
print("challenge storm statuses:", codes)
expect(codes.get(0, 0) == N, "every Challenge of the storm answered OK")

# The same storm over Connect (HTTP/1.1, JSON) on the same socket: 5,000
# pipelined Challenges; nonces are stateless whatever the transport.
import socket
hs = socket.socket(socket.AF_UNIX)
hs.settimeout(30)
hs.connect(sock)
req = (b"POST /teevault.v1.Attestation/Challenge HTTP/1.1\r\nHost: vault\r\n"
       b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
M = 5000
hs.sendall(req * M)
buf, ok, n = b"", 0, 0
while n < M:
    while b"\r\n\r\n" not in buf:
        d = hs.recv(65536)
        if not d:
            expect(False, "Connect storm: the connection was closed after %d answers" % n)
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    ln = int([h.split(b":", 1)[1] for h in head.split(b"\r\n")
              if h.lower().startswith(b"content-length:")][0])
    while len(buf) < ln:
        buf += hs.recv(65536)
    ok += head.split()[1] == b"200" and b'"nonce"' in buf[:ln]
    buf = buf[ln:]
    n += 1
hs.close()
print("Connect challenge storm: %d of %d answered 200 with a nonce" % (ok, M))
expect(ok == M, "every Challenge of the Connect storm answered")

# The function, right after: attests and reads its secret.
f = A.Function(sock, plat, "fn-x", h("runtime-x"), h("teevault-sim-signer"), h("code-x"))
n = f.challenge()
code, msg, resp, eph = f.attest(n)
expect(code == 0, "function attests after the storm: %d %r" % (code, msg))
token = resp[1][0].decode()
code, msg, g = f.get(token, "app/fn-x/key")
key = A.session_key(eph, A.raw_pub(eph), resp[3][0])
expect(code == 0 and A.open_value(key, "app/fn-x/key", g[2][0], g[4][0]) == b"xray-secret",
       "and reads its secret: %d %r" % (code, msg))
# Single use and unforgeable, with nothing stored at Challenge.
code, msg, _, _ = f.attest(n)
expect(code == A.PERMISSION_DENIED and "already used" in msg, "replay refused: %d %r" % (code, msg))
n2 = bytearray(f.challenge())
n2[20] ^= 1
code, msg, _, _ = f.attest(bytes(n2))
expect(code == A.UNAUTHENTICATED and "not issued" in msg, "forged nonce refused: %d %r" % (code, msg))
PY
rc=$?
cat "$T/storm.out"
[ "$rc" -eq 0 ] || fail "challenge storm"
pass "a challenge storm locks nobody out"

# ---------------------------------------------------------------- anonymous flood
seq_now() { "$TV" --format=json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["audit_seq"])'; }
expect_rc 0 audit list --limit 1 # settles the storm's aggregate record
seq0=$(seq_now)
size0=$(stat -c %s "$T/state/data.mdb")
tv_py - "$TV_SOCK" >"$T/flood.out" 2>&1 <<'PY'
import sys
import ttrpc_raw as T

sock = sys.argv[1]
c = T.Conn(sock, timeout=30)
def burst(reqs):
    c.send(b"".join(T.frame(c.next_sid(), T.encode_request(*r)) for r in reqs))
    codes = {}
    for _ in reqs:
        code = T.parse_response(c.recv_frame()[4])[0]
        codes[code] = codes.get(code, 0) + 1
    return codes
bad = [("authorization", "Bearer tvs.bogus")]
tot = {}
for i in range(100):
    for k, v in burst([("teevault.v1.Sys", "Health")] * 150 + [("teevault.v1.Sys", "Status")] * 50 +
                      [("teevault.v1.Secrets", "Get", b"\x0a\x03a/b", bad)] * 20).items():
        tot[k] = tot.get(k, 0) + v
print("flood statuses:", tot)
assert tot.get(0) == 20000 and tot.get(16) == 2000, tot
# Failed logins (wrong password; throttled or refused, never a token).
login = T.field_bytes(1, b"nobody") + T.field_bytes(2, b"wrong-password")
codes = burst([("teevault.v1.Auth", "Login", login)] * 3)
print("login statuses:", codes)
assert 0 not in codes, codes
PY
rc=$?
cat "$T/flood.out"
[ "$rc" -eq 0 ] || fail "anonymous flood driver"
expect_rc 0 audit list --limit 1000 --since "$((seq0 + 1))" --format json
printf '%s' "$OUT" >"$T/flood.json"
"$PY" - "$T/flood.json" <<'PY' || fail "the flood's audit records: $(head -c 1500 "$T/flood.json")"
import json, sys
r = json.load(open(sys.argv[1]))
r = r.get("records", r) if isinstance(r, dict) else r
print("records after the flood:", len(r))
for x in r:
    print("  ", x["seq"], x["principal"], x["method"], x["status"], x.get("peer"), x.get("detail"))
agg = [x for x in r if x["method"] == "aggregate"]
assert len(r) <= 6, "one record per request is back: %d records" % len(r)
assert len(agg) >= 1, "no aggregate record"
d = " ".join(x.get("detail", "") for x in agg)
counts = {}
for w in d.split():
    if "=" in w:
        k, v = w.rsplit("=", 1)
        counts[k] = counts.get(k, 0) + int(v)
# (the CLI's own anonymous Status calls land in the same aggregate)
assert counts.get("n", 0) >= 22003, d
assert counts.get("Sys/Health") == 15000 and counts.get("Sys/Status", 0) >= 5000, d
assert counts.get("Secrets/Get!UNAUTHENTICATED") == 2000, d
more = sum(int(w[1:]) for w in d.split() if w.startswith("+"))
assert sum(v for k, v in counts.items() if k.startswith("Auth/Login!")) + more >= 3, d
assert all(x["principal"] == "anonymous" for x in agg), agg
PY
size1=$(stat -c %s "$T/state/data.mdb")
echo "audit seq $seq0 -> $(seq_now), data.mdb $size0 -> $size1 bytes"
pass "an anonymous flood of 22,003 requests writes a few aggregate records"

stop_vault
pass "clean shutdown"
echo "test_dos: all passed"
