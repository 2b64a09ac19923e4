#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One round trip per re-attestation (issue 14): every Attest reply offers
# the caller's next nonce (AttestResponse.next_nonce) and libteevault spends
# it instead of a Challenge. Counted by the real daemon's metrics:
#   - one connection, 12 attestations (teevault-bench, no warm-up): 12
#     Attests ok and exactly 1 Challenge;
#   - through a relay that alters each offered nonce (mitm_relay.py
#     stale-next): every offered nonce is refused ("not issued by this
#     vault"), libteevault asks Challenge once and the attestation still
#     succeeds: 5 ok, 4 unauthenticated Attests, 5 Challenges.
# Without the offered nonce the first run counts 12 Challenges; without the
# retry the relay run fails at its second attestation.
. "$(dirname "$0")/cli_lib.sh"
cli_init
$PY -c 'import prometheus_client.parser, cryptography' 2>/dev/null || {
  echo "SKIP: python3-prometheus-client or python3-cryptography is not installed (scripts/deps.sh)"
  exit 77
}
BENCH="$TV_BIN/teevault-bench"
[ -x "$BENCH" ] || fail "no teevault-bench at $BENCH"
trap 'stop_relay; tv_cleanup' EXIT
start_conf_metrics "$T/v"
expect_rc 0 --format=json operator init
printf '%s\n' "$(json root_token)" >"$T/root.tok"

# count METHOD OUTCOME: teevault_requests_total for it (0 when absent).
count() {
  $PY - "http://127.0.0.1:$METRICS_PORT/metrics" "teevault.v1.Attestation/$1" "$2" <<'PY'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
n = 0
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        if (s.name == "teevault_requests_total" and s.labels.get("method") == sys.argv[2]
                and s.labels.get("outcome") == sys.argv[3]):
            n += s.value
print(int(n))
PY
}
bench() { # bench ADDR N
  "$BENCH" --addr "$1" --token-file "$T/root.tok" --sim-platform "$T/v" --op attest \
    --connections 1 --requests "$2" --warmup 0 >"$T/bench.out" 2>"$T/bench.err"
}

c0=$(count Challenge ok) a0=$(count Attest ok)
bench "unix:$TV_SOCK" 12 || fail "bench attest failed: $(cat "$T/bench.err")"
c1=$(count Challenge ok) a1=$(count Attest ok)
[ $((a1 - a0)) -eq 12 ] || fail "12 attestations made $((a1 - a0)) successful Attests"
[ $((c1 - c0)) -eq 1 ] || fail "12 attestations on one connection asked $((c1 - c0)) Challenges (want 1)"
pass "12 attestations on one connection: 12 Attests, 1 Challenge (the replies offered the rest)"

start_relay stale-next
u0=$(count Attest unauthenticated)
bench "unix:$RELAY_SOCK" 5 || fail "an altered offered nonce broke the attestation: $(cat "$T/bench.err")"
c2=$(count Challenge ok) a2=$(count Attest ok) u1=$(count Attest unauthenticated)
[ $((a2 - a1)) -eq 5 ] || fail "5 attestations through the relay made $((a2 - a1)) successful Attests"
[ $((u1 - u0)) -eq 4 ] || fail "the altered offered nonces were refused $((u1 - u0)) times (want 4)"
[ $((c2 - c1)) -eq 5 ] || fail "5 attestations through the relay asked $((c2 - c1)) Challenges (want 5)"
pass "altered offered nonces: refused by the vault, libteevault fell back to Challenge (5 ok, 4 refused)"
stop_relay
stop_vault
echo "2 passed, 0 failed"
