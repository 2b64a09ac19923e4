#!/usr/bin/env bash
# Strangers cannot take the vault down (issue 14), against the real teevaultd
# (--dev, sim) with a function runtime in Python (attest_raw.py) and the
# real CLI:
#
#   challenge storm: 10,000 pipelined Challenge calls from a stranger, then
#   a registered function attests at once and reads its secret (the old
#   daemon refused Challenge at 4,096 outstanding nonces for 60 s, locking
#   every function out); a nonce is still single use, a forged one refused.
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

stop_vault
pass "clean shutdown"
echo "test_dos: all passed"
