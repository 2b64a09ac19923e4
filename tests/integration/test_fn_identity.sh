#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Function identity policies that identify the workload (issue 13), end to end
# on the real daemon with the real CLI and the example function runtime, using
# sim evidence that carries TDX / SGX claim shapes (seal_sim_report.h, -S):
#   - a TDX policy pinning MRTD alone, an SGX policy pinning MRSIGNER alone
#     and a policy without code_hash are refused at registration;
#   - a TD with the registered MRTD + RTMR0-3 attests and reads its secret;
#   - a TD on the same firmware (same MRTD) with another kernel/app (RTMR2)
#     is refused, as is plain sim evidence for a TDX-shaped registration;
#   - an SGX enclave of the same signer but another product (ISVPRODID) or
#     an older version (ISVSVN) is refused.
. "$(dirname "$0")/cli_lib.sh"

EX="$TV_BIN/tv_example_secrets_get"
[ -x "$EX" ] || fail "no example binary at $EX"
cli_init
start_dev
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
PLAT="$T/state"

# shape FILE KIND [field=byte]...: a 640-byte shape block (seal_sim_report.h)
# with fixed claims; each field=value changes one claim.
shape() {
  "$PY" - "$@" <<'PY'
import sys
out, kind = sys.argv[1], {"sgx": 1, "tdx": 2, "snp": 3}[sys.argv[2]]
b = bytearray(640)
b[0] = kind
b[4:36] = b"\x11" * 32          # MRENCLAVE
b[36:68] = b"\x22" * 32         # MRSIGNER
b[68:70] = (7).to_bytes(2, "big")   # ISVPRODID
b[70:72] = (5).to_bytes(2, "big")   # ISVSVN
b[72:120] = b"\x33" * 48        # MRTD
for i in range(4):
    b[120 + 48 * i:168 + 48 * i] = bytes([0x40 + i]) * 48   # RTMR0..3
b[312:360] = b"\x55" * 48       # MRCONFIGID
for kv in sys.argv[3:]:
    k, v = kv.split("=")
    if k == "rtmr2": b[216:264] = bytes([int(v, 16)]) * 48
    elif k == "prodid": b[68:70] = int(v).to_bytes(2, "big")
    elif k == "isvsvn": b[70:72] = int(v).to_bytes(2, "big")
open(out, "wb").write(b)
PY
}
h48() { printf "$1%.0s" $(seq 48); }
h32() { printf "$1%.0s" $(seq 32); }
sha() { sha256sum "$1" | cut -d' ' -f1; }

printf 'td runtime' >"$T/runtime"
printf 'export default () => secrets.get("app/td/key")' >"$T/code.js"
CH=$(sha "$T/code.js")
RTMR="[\"$(h48 40)\",\"$(h48 41)\",\"$(h48 42)\",\"$(h48 43)\"]"
echo 'path "app/td/*" { capabilities = ["read"] }' >"$T/td.hcl"
expect_rc 0 policy write td-read "$T/td.hcl"
tv_in 'td-secret' kv put app/td/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"

# --- registration refuses policies that identify a platform, not a workload
printf '{"evidence_type":"tdx","mrtd":"%s","code_hash":"%s"}' "$(h48 33)" "$CH" >"$T/mrtd-only.json"
expect_rc 1 function register td --policy "$T/mrtd-only.json" --acl td-read
expect_in "MRTD alone" "$ERR"
printf '{"evidence_type":"sim","shape":"tdx","mrtd":"%s","code_hash":"%s"}' "$(h48 33)" "$CH" \
  >"$T/mrtd-only-sim.json"
expect_rc 1 function register td --policy "$T/mrtd-only-sim.json" --acl td-read
printf '{"evidence_type":"sgx","mrsigner":"%s","code_hash":"%s"}' "$(h32 22)" "$CH" >"$T/signer.json"
expect_rc 1 function register enc --policy "$T/signer.json" --acl td-read
expect_in "isvprodid" "$ERR"
printf '{"evidence_type":"sim","shape":"tdx","mrtd":"%s","rtmr":%s}' "$(h48 33)" "$RTMR" \
  >"$T/no-code.json"
expect_rc 1 function register td --policy "$T/no-code.json" --acl td-read
expect_in "code_hash" "$ERR"
pass "MRTD alone, MRSIGNER alone and a missing code_hash are refused at registration"

# --- TDX shape: MRTD + RTMR0-3 + code hash
printf '{"evidence_type":"sim","shape":"tdx","mrtd":"%s","rtmr":%s,"code_hash":"%s"}' \
  "$(h48 33)" "$RTMR" "$CH" >"$T/td.json"
expect_rc 0 function register td --policy "$T/td.json" --acl td-read
shape "$T/td.shape" tdx
shape "$T/td-other-kernel.shape" tdx rtmr2=99
mkdir -p "$T/rt"
run_fn() { # run_fn FUNCTION SHAPE_FILE|- SECRET
  local sh=()
  [ "$2" = - ] || sh=(-S "$2")
  OUT=$(env -u TEEVAULT_TOKEN "$EX" -a "unix:$TV_SOCK" -t sim -r "$PLAT" -s "$T/rt" \
    -m "$T/runtime" "${sh[@]}" -V "$PLAT/sim_platform.pub" -f "$1" -c "$T/code.js" "$3" 2>"$T/ex.err")
  RC=$?
  ERR=$(cat "$T/ex.err")
}
run_fn td "$T/td.shape" app/td/key
[ "$RC" -eq 0 ] && [ "$OUT" = td-secret ] || fail "the registered TD could not read: $ERR"
pass "a TD with the registered MRTD and RTMR0-3 attests and reads its secret"
run_fn td "$T/td-other-kernel.shape" app/td/key
[ "$RC" -eq 1 ] || fail "a TD with another RTMR2 (same firmware) attested"
expect_in "RTMR2" "$ERR"
case "$OUT" in *td-secret*) fail "value leaked to the other TD" ;; esac
run_fn td - app/td/key
[ "$RC" -eq 1 ] || fail "plain sim evidence attested for a TDX-shaped function"
expect_in "shape" "$ERR"
pass "same MRTD with another RTMR2, or plain sim evidence, is refused"

# --- SGX shape: MRSIGNER + ISVPRODID + min ISVSVN
printf '{"evidence_type":"sim","shape":"sgx","mrsigner":"%s","isvprodid":7,"min_svn":5,"code_hash":"%s"}' \
  "$(h32 22)" "$CH" >"$T/enc.json"
expect_rc 0 function register enc --policy "$T/enc.json" --acl td-read
shape "$T/enc.shape" sgx
shape "$T/enc-other-product.shape" sgx prodid=8
shape "$T/enc-old.shape" sgx isvsvn=4
run_fn enc "$T/enc.shape" app/td/key
[ "$RC" -eq 0 ] && [ "$OUT" = td-secret ] || fail "the registered enclave could not read: $ERR"
run_fn enc "$T/enc-other-product.shape" app/td/key
[ "$RC" -eq 1 ] || fail "another product of the same signer attested"
expect_in "ISVPRODID" "$ERR"
run_fn enc "$T/enc-old.shape" app/td/key
[ "$RC" -eq 1 ] || fail "an older ISVSVN attested"
expect_in "SVN 4" "$ERR"
pass "same MRSIGNER with another ISVPRODID or a lower ISVSVN is refused"
echo "PASS ($CHECKS checks)"
