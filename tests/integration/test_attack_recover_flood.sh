#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attacker test (issue 11, attack 5): 16 pipelined Sys.Recover calls with
# wrong passphrases (public on a sealed vault) must not stall other clients:
# the Argon2id runs on the server's worker thread under Login's budget (burst
# 5, then refused with a retry delay), never on the event loop. A concurrent
# Sys.Health's latency is measured throughout. On the code before, each
# Recover ran Argon2id (t=3, 64 MiB) on the loop: Health waited seconds.
. "$(dirname "$0")/cli_lib.sh"
cli_init
printf 'the real passphrase 2026\n' >"$T/pass"
start_conf "$T/v"
expect_rc 0 --format=json operator init --passphrase-file="$T/pass"
stop_vault
rm -f "$T/v/sim-sealing.key" # sealed, as on new hardware: Recover is public
start_conf "$T/v"
expect_rc 2 --format=json status
[ "$(json sealed)" = true ] || fail "vault not sealed: $OUT"

OUT=$(tv_py "$TV_HERE/recover_flood.py" "$TV_SOCK" 16) || fail "flood driver: $OUT"
echo "recover flood: $OUT"
CHECKS=$((CHECKS + 1))
printf '%s' "$OUT" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
codes = r["codes"]
assert len(codes) == 16, "only %d replies" % len(codes)
# 7 PERMISSION_DENIED (wrong passphrase), 8 RESOURCE_EXHAUSTED (budget)
assert all(c in (7, 8) for c in codes), "unexpected codes %s" % codes
assert codes.count(8) >= 1, "no Recover was refused by the budget: %s" % codes
assert r["health_samples"] >= 5, "too few Health samples: %d" % r["health_samples"]
assert r["health_max_ms"] < 500, "Health stalled %.0f ms behind Recovers" % r["health_max_ms"]
' || fail "recover flood: $OUT"
pass "16 pipelined wrong Recovers: Health stays fast, budget refuses the excess"

# The vault still recovers with the right passphrase (after the budget refills).
sleep 3
expect_rc 0 operator recover --passphrase-file="$T/pass"
expect_rc 0 --format=json status
[ "$(json initialized)" = true ] || fail "not recovered: $OUT"
pass "the right passphrase still recovers the vault"
echo "PASS ($CHECKS checks)"
