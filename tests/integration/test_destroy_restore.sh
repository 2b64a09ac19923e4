#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 12: a destroyed version restored from a disk copy is never returned.
#
#   1. records level: the version's record is saved (mdb_dump) before
#      `kv destroy` and loaded back into data.mdb afterwards (mdb_load, the
#      daemon stopped) → Get of that version is refused (destroyed), the
#      value never comes back
#   2. whole state directory: a copy from before the destroy is restored →
#      with a witness the vault refuses to start (rolled back), so the
#      destroyed version is not served
#   3. records level with the metadata: the version's record AND the secret's
#      metadata record from before the destroy put back → refused: the
#      record's tag is on the keyring's shred list (issue 12 item 4; on the
#      code before, the destroyed value was served)
#   4. after `operator rotate` (the older KEK erased): the same records put
#      back → refused, the KEK they need no longer exists; the keyring record
#      from before the rotation put back as well → the vault refuses to
#      start (not the newest: the state record anchors it)
# What remains (docs/ATTESTATION.md "What remains"): an operator who accepts
# the rollback (--accept-rollback, audited) gets the old store back whole,
# destroyed versions included, unless a rotation erased their KEK first.
FORGE() { tv_py "$TV_HERE/forge_records.py" "$@"; }
. "$(dirname "$0")/cli_lib.sh"

command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null ||
  fail "lmdb-utils (mdb_dump, mdb_load) missing: scripts/deps.sh"
cli_init
PLAT="$T/state"
W="$T/witness"
mkdir -p "$W"
printf '[witness]\ndir = %s\ninterval = 1\n' "$W" >"$T/w.conf"
start_w() {
  tv_start_dev "$@"
  ROOT_TOKEN_FILE="$TV_DIR/state/root-token"
  wait_for "$ROOT_TOKEN_FILE"
  export TEEVAULT_ADDR="unix:$TV_SOCK"
}

start_w --config "$T/w.conf"
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
tv_in 'destroy-me-v1' kv put app/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
tv_in 'keep-v2' kv put app/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
stop_vault
mdb_dump -s versions "$PLAT" >"$T/versions.dump" || fail "mdb_dump versions"
mdb_dump -s secrets "$PLAT" >"$T/secrets.dump" || fail "mdb_dump secrets"
OLD_KEYRING=$(FORGE get "$PLAT" meta keyring)
[ -n "$OLD_KEYRING" ] || fail "no keyring record in meta"
cp -a "$PLAT" "$T/state.copy"

start_w --config "$T/w.conf"
expect_rc 0 kv destroy app/key --version 1
expect_rc 3 kv get app/key --version 1
stop_vault
# Put the old version records back into the live store.
mdb_load -s versions -f "$T/versions.dump" "$PLAT" || fail "mdb_load versions"
start_w --config "$T/w.conf"
expect_rc 3 kv get app/key --version 1
case "$OUT$ERR" in *destroy-me-v1*) fail "the destroyed value came back" ;; esac
expect_in "destroyed" "$ERR"
expect_rc 0 kv get app/key
[ "$OUT" = keep-v2 ] || fail "v2 is $OUT"
stop_vault
pass "a destroyed version's record loaded back into data.mdb is refused"

# The version record and the metadata that still lists it as live.
load_old() {
  mdb_load -s versions -f "$T/versions.dump" "$PLAT" || fail "mdb_load versions"
  mdb_load -s secrets -f "$T/secrets.dump" "$PLAT" || fail "mdb_load secrets"
}
load_old
start_w --config "$T/w.conf"
expect_rc 7 kv get app/key --version 1
case "$OUT$ERR" in *destroy-me-v1*) fail "the destroyed value came back (records + metadata restored)" ;; esac
expect_in "integrity" "$ERR"
grep -q "a destroyed version's record was put back" "$TV_LOG" ||
  fail "no record_integrity log line for the restored record"
pass "the destroyed version's record with its old metadata put back: refused (shred list)"

# Rotation erases the KEK the old record was wrapped under.
expect_rc 0 operator rotate
stop_vault
NEW_KEYRING=$(FORGE get "$PLAT" meta keyring)
load_old
start_w --config "$T/w.conf"
expect_rc 7 kv get app/key --version 1
case "$OUT$ERR" in *destroy-me-v1*) fail "the destroyed value came back after rotation" ;; esac
expect_in "integrity" "$ERR"
stop_vault
pass "after rotation the restored records cannot be decrypted (KEK erased)"

# ... and the keyring record holding that KEK, put back: refused.
FORGE set "$PLAT" meta keyring "$OLD_KEYRING" || fail "restoring the old keyring"
timeout -k 5 60 "$TVD" --dev --state-dir "$PLAT" --socket "$T/tv.sock" --config "$T/w.conf" \
  >"$T/kr.log" 2>&1
RC=$?
[ "$RC" -eq 1 ] || fail "the vault started on the old keyring record (exit $RC)"
expect_in "not the newest keyring record" "$(cat "$T/kr.log")"
FORGE set "$PLAT" meta keyring "$NEW_KEYRING" || fail "restoring the keyring"
start_w --config "$T/w.conf"
expect_rc 7 kv get app/key --version 1
case "$OUT$ERR" in *destroy-me-v1*) fail "the destroyed value came back" ;; esac
stop_vault
pass "the keyring record from before the rotation put back: the vault refuses to start (anchored by the state record)"

# The whole directory from before the destroy: the witness refuses it.
rm -rf "$PLAT"
cp -a "$T/state.copy" "$PLAT"
timeout -k 5 60 "$TVD" --dev --state-dir "$PLAT" --socket "$T/tv.sock" --config "$T/w.conf" \
  >"$T/fail.log" 2>&1
RC=$?
[ "$RC" -eq 1 ] || fail "the vault served the pre-destroy copy (exit $RC)"
expect_in "rolled back" "$(cat "$T/fail.log")"
pass "the state directory from before the destroy is refused (witness)"
echo "test_destroy_restore: all passed"
