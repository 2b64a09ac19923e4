#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# teevault attest verify (offline, no daemon) against the real vendor evidence
# in $TV_SHARED/testdata/attestation: exit codes (0 accepted, 1 refused or
# invalid, 2 usage), TCB status and advisories, claims as hex in JSON,
# collateral as a dcap-qvl bundle file and as an operator directory.
# Skips (exit 77: ctest's SKIP_RETURN_CODE) when the shared test data is absent.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
TV_BIN="${TV_BIN:-$HERE/../../build/bin}"
TV="$TV_BIN/teevault"
A="${TV_SHARED:-$HERE/../../../shared}/testdata/attestation"
if [ ! -d "$A" ]; then
    echo "SKIP: $A not present"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok   $*"; }
# run EXPECTED_RC args...: stdout in $OUT, stderr in $ERR
run() {
    local want=$1 rc=0
    shift
    "$TV" "$@" >"$T/out" 2>"$T/err" || rc=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
    [ "$rc" = "$want" ] || fail "teevault $* → exit $rc, want $want
stdout: $OUT
stderr: $ERR"
}
json() { /usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(",".join(v) if isinstance(v,list) else (str(v).lower() if isinstance(v,bool) else v))' "$1" <<<"$OUT"; }

SGX=(attest verify --evidence "$A/sgx/sgx_quote.bin" --collateral "$A/sgx/sgx_quote_collateral.json"
     --at 2025-06-20T00:00:00Z)
run 7 "${SGX[@]}" --format json
[ "$(json verdict)" = refused ] || fail "sgx verdict: $OUT"
[ "$(json tcb_status)" = ConfigurationAndSWHardeningNeeded ] || fail "sgx status: $OUT"
[ "$(json advisories)" = "INTEL-SA-00289,INTEL-SA-00615" ] || fail "sgx advisories: $OUT"
[ "$(json signature_ok)" = true ] && [ "$(json collateral_ok)" = true ] || fail "sgx ok flags: $OUT"
[ "$(json mrenclave)" = 33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb ] ||
    fail "mrenclave: $OUT"
[ "$(json fmspc)" = 00a067110000 ] || fail "fmspc: $OUT"
run 0 "${SGX[@]}" --accept-status UpToDate,ConfigurationAndSWHardeningNeeded
case "$OUT" in *"verdict                accepted"*) ;; *) fail "table output: $OUT" ;; esac
pass "SGX quote: status, advisories, claims, --accept-status"

run 7 attest verify --evidence "$A/sgx/sgx_quote.bin" --collateral "$A/sgx/sgx_quote_collateral.json" \
    --at 2026-06-20T00:00:00Z --accept-status ConfigurationAndSWHardeningNeeded --format json
[ "$(json verdict)" = invalid ] || fail "expired collateral: $OUT"
pass "SGX collateral refused a year later"

run 0 attest verify --evidence "$A/tdx/phala/tdx_quote.bin" \
    --collateral "$A/tdx/phala/tdx_quote_collateral.json" --at 2025-06-20T00:00:00Z --format json
[ "$(json tcb_status)" = UpToDate ] && [ "$(json type)" = tdx ] || fail "tdx: $OUT"
[ "$(json mrtd)" = 91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7 ] ||
    fail "mrtd: $OUT"
run 7 attest verify --evidence "$A/tdx/phala/tdx_quote_outdated.bin" \
    --collateral "$A/tdx/phala/tdx_quote_outdated_collateral.json" --at 2026-02-19T00:00:00Z \
    --accept-status UpToDate,OutOfDate --format json
[ "$(json tcb_status)" = NoMatch ] && [ "$(json signature_ok)" = true ] || fail "outdated: $OUT"
pass "TDX v4 UpToDate, v5 no TCB match"

# operator directory layout from raw PCS pieces
D="$T/coll"
mkdir "$D"
G="$A/tdx/go-tdx-guest"
cp "$G/sample_tcbInfo_response" "$D/tcb_info.json"
cp "$G/sample_qeIdentity_response" "$D/qe_identity.json"
cp "$G/tcbinfo_issuer_chain.pem" "$D/tcb_signing_chain.pem"
cp "$G/pckcrl" "$D/pck_crl.der"
cp "$G/rootcrl.der" "$D/root_crl.der"
run 7 attest verify --evidence "$G/tdx_prod_quote_SPR_E4.dat" --collateral "$D" \
    --at 2023-07-01T01:00:00Z --format json
[ "$(json tcb_status)" = NoMatch ] && [ "$(json collateral_ok)" = true ] || fail "SPR dir: $OUT"
rm "$D/pck_crl.der"
run 1 attest verify --evidence "$G/tdx_prod_quote_SPR_E4.dat" --collateral "$D"
case "$ERR" in *"cannot use collateral"*) ;; *) fail "missing pck_crl: $ERR" ;; esac
pass "collateral directory"

run 7 attest verify --evidence "$A/tdx/trustee_debug_td_quote_v4.dat" --allow-no-collateral --format json
[ "$(json debug)" = true ] && [ "$(json verdict)" = refused ] || fail "debug TD: $OUT"
run 0 attest verify --evidence "$A/tdx/trustee_debug_td_quote_v4.dat" --allow-no-collateral --allow-debug
run 7 attest verify --evidence "$A/sgx/occlum_debug_quote.dat" --type sgx --allow-no-collateral
pass "debug TD / enclave refused unless --allow-debug"

S="$A/snp/go-sev-guest"
run 7 attest verify --evidence "$S/attestation.bin" --vcek "$S/vcek.der" --chain "$S/ask_ark_milan.pem" \
    --at 2025-01-01T00:00:00Z --format json
[ "$(json debug)" = true ] && [ "$(json signature_ok)" = true ] || fail "snp: $OUT"
[ "$(json measurement)" = b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01 ] ||
    fail "snp measurement: $OUT"
run 0 attest verify --evidence "$S/attestation.bin" --vcek "$S/vcek.der" --chain "$S/ask_ark_milan.pem" \
    --at 2025-01-01T00:00:00Z --allow-debug
run 7 attest verify --evidence "$S/attestation.bin" --vcek "$S/vcek.der" --chain "$S/ask_ark_genoa.pem" \
    --at 2025-01-01T00:00:00Z --allow-debug
run 0 attest verify --evidence "$A/snp/vlek/test-vlek-report.bin" --vcek "$A/snp/vlek/test-vlek.der" \
    --chain "$S/ask_ark_milan_vlek.pem" --at 2025-06-01T00:00:00Z --format json
[ "$(json signing_key)" = vlek ] && [ "$(json vmpl)" = 1 ] || fail "vlek: $OUT"
pass "SEV-SNP VCEK and VLEK"

run 2 attest verify
run 2 attest verify --evidence x --at yesterday
run 2 attest verify --evidence x --accept-status Revoked
run 2 attest verify --evidence x --type nitro
run 1 attest verify --evidence "$T/missing"
printf "not evidence %.0s" 1 2 3 4 5 6 7 8 >"$T/junk"
run 1 attest verify --evidence "$T/junk" --format json
[ "$(json verdict)" = malformed ] || fail "junk: $OUT"
pass "usage errors and unreadable / malformed evidence"
