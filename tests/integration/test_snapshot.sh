#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Backups: `teevault operator snapshot save FILE` on a running vault and
# `snapshot restore FILE` with teevaultd stopped, as a round trip:
#   - the snapshot holds every secret and version acknowledged before it,
#     and the audit records still in the journal (reads just before it);
#   - after restore the vault serves the snapshot's state: writes made after
#     the snapshot are gone, the previous store is kept aside, the audit log
#     verifies end to end (export + offline verify) and includes the
#     snapshot's own record;
#   - restore refuses a running vault and a file that is not a store; save
#     refuses a non-admin token and never leaves a partial FILE;
#   - a restore is a rollback to the freshness witness (docs/DECISIONS.md,
#     "Backups"): with a [witness] the restored vault refuses to start until
#     `teevaultd --accept-rollback`, which is audited.
. "$(dirname "$0")/cli_lib.sh"
cli_init
mkdir -p "$T/v"
start_conf "$T/v"
expect_rc 0 --format=json operator init
printf '%s\n' "$(json root_token)" >"$T/root.tok"
export TEEVAULT_TOKEN_FILE="$T/root.tok"
tv_in 'value-1' kv put app/a
tv_in 'value-2' kv put app/a
tv_in 'other' kv put app/b
for _ in 1 2 3; do expect_rc 0 kv get app/a; done # audited through the journal

expect_rc 0 --format=json operator snapshot save "$T/snap.db"
SEQ=$(json audit_seq)
[ -s "$T/snap.db" ] || fail "no snapshot file"
[ "$(stat -c %a "$T/snap.db")" = 600 ] || fail "snapshot mode $(stat -c %a "$T/snap.db")"
[ "$(json sha256)" = "$(sha256sum "$T/snap.db" | cut -d' ' -f1)" ] || fail "sha256 mismatch"
[ -e "$T/v/snapshot.partial" ] && fail "the vault kept its copy after the last chunk"
expect_rc 1 operator snapshot save "$T/snap.db"
expect_in "exists" "$ERR"
pass "snapshot save: 0600 file, checksum matches, audit_seq $SEQ"

# After the snapshot: changes that the restore must undo.
tv_in 'value-3' kv put app/a
tv_in 'new' kv put app/c
expect_rc 0 kv destroy app/b

# A non-admin token may not take a snapshot.
printf 'path "app/*" { capabilities = ["read"] }\n' >"$T/r.hcl"
expect_rc 0 policy write r "$T/r.hcl"
expect_rc 0 --format=json token create --policy r
printf '%s\n' "$(json token)" >"$T/reader.tok"
TEEVAULT_TOKEN_FILE="$T/reader.tok" expect_rc 4 operator snapshot save "$T/denied.db"
[ -e "$T/denied.db" ] || [ -e "$T/denied.db.partial" ] && fail "a refused save left a file"

# Restore refuses while teevaultd runs, and a file that is not a store.
expect_rc 1 operator snapshot restore "$T/snap.db" --state-dir "$T/v"
expect_in "teevaultd is running" "$ERR"
stop_vault
head -c 8192 /dev/urandom >"$T/junk.db"
expect_rc 1 operator snapshot restore "$T/junk.db" --state-dir "$T/v"
expect_in "not a teevault store" "$ERR"
expect_rc 0 --format=json operator snapshot restore "$T/snap.db" --state-dir "$T/v"
PREV=$(json previous_store)
[ -s "$PREV" ] || fail "previous store not kept: $OUT"
pass "restore refuses a running vault and a non-store file; keeps the previous store"

tv_start_config "$T/v/teevault.conf"
expect_rc 0 status
expect_rc 0 kv get app/a
[ "$OUT" = value-2 ] || fail "app/a after restore: '$OUT' (want value-2)"
expect_rc 0 kv get app/b
[ "$OUT" = other ] || fail "app/b after restore: '$OUT'"
expect_rc 3 kv get app/c
expect_rc 0 --format=json kv describe app/a
[ "$(json current_version)" = 2 ] || fail "versions after restore: $OUT"
# The audit log: every record up to the snapshot's own (the journal's reads
# included), continuous and verifiable.
expect_rc 0 --format=json audit list --limit 1000
printf '%s' "$OUT" >"$T/audit.json"
$PY - "$SEQ" "$T/audit.json" <<'PY' || fail "audit after restore: $OUT"
import json, sys
seq = int(sys.argv[1])
recs = json.load(open(sys.argv[2]))["records"]
seqs = [r["seq"] for r in recs]
assert seq in seqs, "the snapshot's record %d is missing" % seq
gets = [r for r in recs if r["seq"] < seq and r.get("method", "").endswith("Secrets/Get")]
assert len(gets) >= 3, "journalled Get records before the snapshot: %d" % len(gets)
PY
expect_rc 0 audit export
printf '%s\n' "$OUT" >"$T/export.jsonl"
PUB=$("$TV" --field audit_pubkey status)
expect_rc 0 audit verify "$T/export.jsonl" --pubkey "$PUB"
pass "round trip: the snapshot's state comes back, later writes are gone, the audit log (journal records included) verifies"
stop_vault

# ---- a restore meets the freshness witness and the clients' known_vaults
WD="$T/w"
mkdir -p "$WD" "$T/witness"
cat >"$WD/teevault.conf" <<CONF
state_dir = $WD
[listen]
unix_socket = $WD/s.sock
unix_mode = 0600
[tee]
backend = sim
allow_insecure_sim = true
[security]
operator_plaintext_reads = on
[witness]
dir = $T/witness
interval = 1
CONF
TV_SOCK="$WD/s.sock"
export TEEVAULT_ADDR="unix:$TV_SOCK" TEEVAULT_KNOWN_VAULTS="$T/known_vaults"
tv_start_config "$WD/teevault.conf"
expect_rc 0 --format=json operator init
printf '%s\n' "$(json root_token)" >"$T/w-root.tok"
export TEEVAULT_TOKEN_FILE="$T/w-root.tok"
tv_in 'before' kv put app/w
expect_rc 0 operator snapshot save "$T/w-snap.db"
tv_in 'after' kv put app/w
stop_vault # publishes the newest checkpoint to the witness
ls "$T/witness"/*/ckpt-* >/dev/null 2>&1 || fail "no checkpoint in the witness"
expect_rc 0 operator snapshot restore "$T/w-snap.db" --state-dir "$WD"
timeout -k 5 60 "$TEEVAULTD" --config "$WD/teevault.conf" >"$T/w-fail.log" 2>&1 && fail "the restored vault started over a newer witness checkpoint"
expect_in "rolled back" "$(cat "$T/w-fail.log")"
expect_in "--accept-rollback" "$(cat "$T/w-fail.log")"
[ ! -e "$TV_SOCK" ] || fail "the refused vault left a socket"
"$TEEVAULTD" --config "$WD/teevault.conf" --accept-rollback >>"$TV_LOG" 2>&1 &
TV_PID=$!
tv_wait_ready
expect_rc 0 kv get app/w
[ "$OUT" = before ] || fail "app/w after the accepted restore: '$OUT' (want before)"
expect_rc 0 --format=json audit list --limit 1000
expect_in "AcceptRollback" "$OUT"
pass "restore vs freshness: the witness refuses the restored store until --accept-rollback, which is audited"
echo "PASS ($CHECKS checks)"
