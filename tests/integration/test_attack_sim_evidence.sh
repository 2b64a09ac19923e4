#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: sim evidence on a hardware vault (docs/SECURITY.md). Sim evidence
# is signed by a key in a file; the config file is host input. A host that
# adds `[attestation] sim_platform_dir = <its own key>` to a hardware vault's
# config could then attest any "function" it likes. The daemon must refuse
# such a config at start, with a message, and a hardware vault must refuse
# sim evidence at Attest even with the host's sim key files in every place a
# sim vault would look (its state and backend directories).
#
# The hardware is faked at its boundary only: a Gramine /dev/attestation
# tree (attestation_type dcap, a quote-shaped SGX v3 quote, EGETKEY seal
# keys) that the real gramine-sgx backend reads.
. "$(dirname "$0")/cli_lib.sh"
cli_init

G="$T/gramine"
ATK="$T/attacker" # the host's own sim platform key
mkdir -p "$G/keys" "$ATK" "$T/state"
"$PY" - "$G" "$ATK" <<'PYEOF' || fail "cannot build the fixture"
import os, struct, sys
g, atk = sys.argv[1], sys.argv[2]
def put(p, b):
    with open(p, "wb") as f:
        f.write(b)
put(g + "/attestation_type", b"dcap\n")
put(g + "/user_report_data", b"")
# SGX quote v3: header (version 3, att key type 2), report body (MRENCLAVE,
# MRSIGNER, ISVSVN 3, report_data zero), signature bytes.
q = bytearray(48 + 384 + 64)
struct.pack_into("<HHI", q, 0, 3, 2, 0)
b = 48
q[b + 48] = 0x04
q[b + 64:b + 96] = b"\xe1" * 32
q[b + 128:b + 160] = b"\x51" * 32
struct.pack_into("<H", q, b + 258, 3)
put(g + "/quote", bytes(q))
put(g + "/keys/_sgx_mrsigner", os.urandom(16))
put(g + "/keys/_sgx_mrenclave", os.urandom(16))
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
seed = os.urandom(32)
pk = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw)
for d in (atk,):
    put(d + "/sim_platform.key", seed)
    os.chmod(d + "/sim_platform.key", 0o600)
    put(d + "/sim_platform.pub", pk)
PYEOF

TV_SOCK="$T/tv.sock"
conf() { # conf FILE [extra lines...]
  local f=$1
  shift
  {
    printf 'state_dir = %s\n[listen]\nunix_socket = %s\nunix_mode = 0600\n' "$T/state" "$TV_SOCK"
    printf '[tee]\nbackend = gramine-sgx\nroot = %s\n' "$G"
    printf '[security]\noperator_plaintext_reads = true\n'
    for l in "$@"; do printf '%s\n' "$l"; done
  } >"$f"
}

# 1. The host points the hardware vault at its own sim key: refused at start.
conf "$T/hostile.conf" "[attestation]" "sim_platform_dir = $ATK"
RC1=0
timeout -k 5 20 "$TVD" --config "$T/hostile.conf" >"$T/hostile.log" 2>&1 || RC1=$?
CHECKS=$((CHECKS + 1))
if [ "$RC1" -eq 124 ] || [ "$RC1" -eq 0 ]; then
  fail "teevaultd (gramine-sgx) started with [attestation] sim_platform_dir = the host's key (exit $RC1)"
fi
expect_in "sim_platform_dir" "$(cat "$T/hostile.log")"
expect_in "never accepts sim evidence" "$(cat "$T/hostile.log")"
pass "hardware config with sim_platform_dir refused (exit $RC1): $(head -n 1 "$T/hostile.log")"

# 2. The same vault without that key, the host's sim key files dropped where
# a sim vault looks (state dir, backend root): sim evidence is refused.
cp -p "$ATK"/sim_platform.* "$T/state/"
cp -p "$ATK"/sim_platform.* "$G/"
conf "$T/hw.conf"
tv_start_config "$T/hw.conf"
export TEEVAULT_ADDR="unix:$TV_SOCK"
tv --format=json status
[ "$RC" -eq 0 ] || fail "status: $ERR"
[ "$(json tee_backend)" = gramine-sgx ] || fail "backend: $OUT"
tv operator init --token-out="$T/root.tok"
[ "$RC" -eq 0 ] || fail "operator init on the (fixture) gramine vault: $ERR"
export TEEVAULT_TOKEN="$(cat "$T/root.tok")"
printf 'function runtime' >"$T/runtime"
printf 'code' >"$T/code.js"
MEAS=$(sha256sum "$T/runtime" | cut -d' ' -f1)
CODE=$(sha256sum "$T/code.js" | cut -d' ' -f1)
SIGNER=$(printf 'teevault-sim-signer' | sha256sum | cut -d' ' -f1)
printf '{"evidence_type":"sim","measurement":"%s","signer":"%s","code_hash":"%s"}\n' \
  "$MEAS" "$SIGNER" "$CODE" >"$T/fn.json"
printf 'path "app/*" { capabilities = ["read"] }\n' >"$T/fn.hcl"
expect_rc 0 policy write fn-read "$T/fn.hcl"
tv_in 'the-secret' kv put app/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
tv function register fn --policy "$T/fn.json" --acl fn-read
if [ "$RC" -eq 0 ]; then
  tv_py - "$TV_SOCK" "$ATK" "$MEAS" "$SIGNER" "$CODE" <<'PYEOF' >"$T/attest.out" 2>&1 ||
import sys, attest_raw as A
sock, plat, meas, signer, code = sys.argv[1:6]
f = A.Function(sock, plat, "fn", bytes.fromhex(meas), bytes.fromhex(signer), bytes.fromhex(code))
rc, msg, _, _ = f.attest(f.challenge())
print(rc, msg)
sys.exit(0 if rc != 0 else 3)
PYEOF
    fail "sim evidence signed by the host's key was accepted by the gramine-sgx vault: $(cat "$T/attest.out")"
  expect_in "sim" "$(cat "$T/attest.out")"
  pass "Attest with sim evidence on the gramine-sgx vault refused: $(cat "$T/attest.out")"
else
  # Registration may refuse a sim identity on a hardware vault outright.
  pass "a sim function cannot even be registered on the gramine-sgx vault: $ERR"
fi
tv_stop
echo "$CHECKS checks"
