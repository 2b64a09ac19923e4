#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The metrics listener ([metrics] listen, vault_metrics.c) on the real daemon:
#   - GET /metrics parses with python3-prometheus-client's text parser; it has
#     request counts and latency histograms per method and outcome that match
#     what this test did, audit commit latency and queue depth, storage used
#     and high-water distance, function sessions, seal state;
#   - GET /health: 200 "active"; 503 "sealed" on a sealed vault (and
#     teevault_sealed 1);
#   - malformed input is refused and the daemon serves on: other methods,
#     other paths, oversized headers, garbage, a slow client that never
#     finishes its request;
#   - it is off unless configured.
. "$(dirname "$0")/cli_lib.sh"
cli_init
$PY -c 'import prometheus_client.parser' 2>/dev/null || {
  echo "SKIP: python3-prometheus-client is not installed (scripts/deps.sh installs it)"
  exit 77
}
start_conf_metrics "$T/v"
PORT=$METRICS_PORT
grep -q 'metrics_listen' "$TV_LOG" || fail "no metrics_listen log line"
URL="http://127.0.0.1:$PORT"

expect_rc 0 --format=json operator init
printf '%s\n' "$(json root_token)" >"$T/root.tok"
printf '%s\n' "$(json recovery_passphrase)" >"$T/pass"
export TEEVAULT_TOKEN_FILE="$T/root.tok"
tv_in 'v1' kv put m/a
tv_in 'v2' kv put m/a
expect_rc 0 kv get m/a
expect_rc 0 kv get m/a
expect_rc 3 kv get m/none
TEEVAULT_TOKEN_FILE= TEEVAULT_TOKEN=tvs.bogus expect_rc 4 kv get m/a

scrape() { $PY -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$URL/metrics"; }
scrape >"$T/m1.txt" || fail "GET /metrics"
$PY - "$T/m1.txt" <<'PY' || fail "metrics content (above)"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def samples(fam, name=None, **labels):
    return [s for s in fams[fam].samples
            if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items())]
def one(fam, name=None, **labels):
    s = samples(fam, name, **labels)
    assert len(s) == 1, (fam, name, labels, s)
    return s[0].value
need = ["teevault_up", "teevault_sealed", "teevault_state", "teevault_requests",
        "teevault_request_duration_seconds", "teevault_audit_commit_duration_seconds",
        "teevault_audit_queue_depth", "teevault_storage_used_bytes",
        "teevault_storage_high_water_distance_bytes", "teevault_function_sessions"]
missing = [n for n in need if n not in fams]
assert not missing, "missing families %s (have %s)" % (missing, sorted(fams))
assert fams["teevault_request_duration_seconds"].type == "histogram"
assert fams["teevault_requests"].type == "counter"
get = "teevault.v1.Secrets/Get"
assert one("teevault_requests", "teevault_requests_total", method=get, outcome="ok") == 2
assert one("teevault_requests", "teevault_requests_total", method=get, outcome="not_found") == 1
assert one("teevault_requests", "teevault_requests_total", method=get, outcome="unauthenticated") == 1
assert one("teevault_requests", "teevault_requests_total", method="teevault.v1.Secrets/Put", outcome="ok") == 2
# Histogram: cumulative buckets, +Inf == count == the counter.
b = samples("teevault_request_duration_seconds", "teevault_request_duration_seconds_bucket", method=get, outcome="ok")
vals = [s.value for s in sorted(b, key=lambda s: float(s.labels["le"]))]
assert vals == sorted(vals) and vals[-1] == 2, vals
assert one("teevault_request_duration_seconds", "teevault_request_duration_seconds_count", method=get, outcome="ok") == 2
assert one("teevault_audit_commit_duration_seconds", "teevault_audit_commit_duration_seconds_count") >= 1
assert one("teevault_storage_used_bytes") > 0
assert one("teevault_storage_high_water_distance_bytes") > 0
assert one("teevault_sealed") == 0 and one("teevault_state", state="active") == 1
assert one("teevault_audit_queue_depth") >= 0
print("ok   /metrics parsed: %d families" % len(fams))
PY
# No secret names or principals in the exposition.
grep -q 'm/a\|root-token\|tvs\.' "$T/m1.txt" && fail "a secret name or token in /metrics"
code=$(curl -s -o "$T/h" -w '%{http_code}' "$URL/health")
[ "$code" = 200 ] && [ "$(cat "$T/h")" = active ] || fail "/health: $code $(cat "$T/h")"
pass "/metrics (Prometheus text) counts what happened; /health says active"

# ---------------------------------------------------------------- malformed input
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "$URL/metrics")
[ "$code" = 405 ] || [ "$code" = 400 ] || [ "$code" = 413 ] || fail "POST /metrics: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/../../etc/passwd")
[ "$code" = 404 ] || [ "$code" = 400 ] || fail "other path: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL/metrics")
[ "$code" = 400 ] || [ "$code" = 413 ] || [ "$code" = 431 ] || fail "20 kB header accepted: $code"
tv_py - "$PORT" <<'PY' || fail "garbage / slow client"
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(b"\x00\xffGARBAGE \x01\r\n\r\n")
s.settimeout(5)
d = s.recv(4096)
assert d == b"" or d.startswith(b"HTTP/1.1 400") or d.startswith(b"HTTP/1.0 400"), d[:60]
# A slow client holds a connection; others are served meanwhile, and the
# server drops it after its timeout.
slow = socket.create_connection(("127.0.0.1", port), 5)
slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
import urllib.request
assert urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=3).status == 200
slow.settimeout(10)
t0 = time.monotonic()
d = slow.recv(4096)
assert time.monotonic() - t0 < 9, "slow client kept for %.1f s" % (time.monotonic() - t0)
PY
expect_rc 0 status
pass "malformed HTTP is refused (405/404/4xx, garbage, 20 kB header, slow client timed out); the vault serves on"

# ---------------------------------------------------------------- sealed
stop_vault
mv "$T/v/sim-sealing.key" "$T/key.saved"
tv_start_config "$T/v/teevault.conf"
code=$(curl -s -o "$T/h" -w '%{http_code}' "$URL/health")
[ "$code" = 503 ] && [ "$(cat "$T/h")" = sealed ] || fail "/health sealed: $code $(cat "$T/h")"
scrape | grep -q '^teevault_sealed 1$' || fail "teevault_sealed not 1"
pass "/health 503 sealed; teevault_sealed 1"

# ---------------------------------------------------------------- off by default
stop_vault
sed -i '/^\[metrics\]/,$d' "$T/v/teevault.conf"
tv_start_config "$T/v/teevault.conf"
curl -s -o /dev/null "$URL/health" && fail "metrics listener up without [metrics] listen"
pass "no listener unless [metrics] listen is set"
echo "PASS ($CHECKS checks)"
