#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 12, attack 2 (vault side): the host restores an older copy of the
# state directory. With a witness configured ([witness] dir or command), the
# vault hands every changed signed state checkpoint to it and, at start,
# refuses to serve a store older than the witness's newest checkpoint (fail
# closed). --accept-rollback overrides, and the override is in the audit log.
#
#   dir witness:      restore → teevaultd exits 1 "rolled back"; forged
#                     checkpoint → refused; --accept-rollback → serves,
#                     audited; the next plain start is fine
#   command witness:  the same refusal through `cmd publish` / `cmd latest`;
#                     a witness that cannot answer → refused (fail closed)
# On the code before (52a14d5) there was no witness: the restored vault
# served the old state.
. "$(dirname "$0")/cli_lib.sh"

cli_init
PLAT="$T/state"
W="$T/witness"
mkdir -p "$W"
cat >"$T/dir.conf" <<EOF
[witness]
dir = $W
interval = 1
EOF

# start_w ARGS: teevaultd --dev on $PLAT with extra arguments (cli_lib's
# start_dev takes none).
start_w() {
  tv_start_dev "$@"
  ROOT_TOKEN_FILE="$TV_DIR/state/root-token"
  wait_for "$ROOT_TOKEN_FILE"
  export TEEVAULT_ADDR="unix:$TV_SOCK"
}
start_must_fail() { # start_must_fail CONF [args] -> $RC, $ERR (log)
  local conf=$1
  shift
  timeout -k 5 60 "$TVD" --dev --state-dir "$PLAT" --socket "$T/tv.sock" --config "$conf" "$@" \
    >"$T/fail.log" 2>&1
  RC=$?
  ERR=$(cat "$T/fail.log")
}

start_w --config "$T/dir.conf"
export TEEVAULT_TOKEN="$(cat "$ROOT_TOKEN_FILE")"
tv_in 'v1' kv put app/key
[ "$RC" -eq 0 ] || fail "kv put: $ERR"
stop_vault
ls "$W"/*/ckpt-* >/dev/null 2>&1 || fail "no checkpoint in the witness dir"
cp -a "$PLAT" "$T/state.copy"
start_w --config "$T/dir.conf"
tv_in 'v2' kv put app/key
tv_in 'v3' kv put app/key
stop_vault
newest=$(ls "$W"/*/ckpt-* | sort | tail -1)
grep -q '^teevault-checkpoint-v1 ' "$newest" || fail "checkpoint format: $(cat "$newest")"
pass "checkpoints published to the dir witness ($(ls "$W"/*/ | wc -l) kept)"

rm -rf "$PLAT"
cp -a "$T/state.copy" "$PLAT"
start_must_fail "$T/dir.conf"
[ "$RC" -eq 1 ] || fail "teevaultd served a rolled-back store (exit $RC): $ERR"
expect_in "rolled back" "$ERR"
expect_in "--accept-rollback" "$ERR"
[ ! -e "$T/tv.sock" ] || fail "a socket was left: the vault listened"
pass "restored older state refused by the vault (dir witness)"

# A forged checkpoint in the witness (not signed by the vault): fail closed.
cp "$newest" "$T/newest.bak"
sed 's/^\(teevault-checkpoint-v1 [0-9a-f]* \)[0-9]*/\199999/' "$T/newest.bak" >"$newest"
start_must_fail "$T/dir.conf"
[ "$RC" -eq 1 ] || fail "a forged witness checkpoint was accepted"
expect_in "not signed by this vault" "$ERR"
cp "$T/newest.bak" "$newest"
pass "a forged witness checkpoint is refused"

# Counters are not enough: the host starts the restored copy without the
# witness a few times (every start commits: state version +3, audit seq +1),
# then with it. The copy's counters are now past the witness's checkpoint,
# but its audit record at the checkpoint's seq is another one: refused.
# Before the chain check this copy started and served.
read -r _ _ wsv wseq _ <"$newest"
for i in 1 2 3 4 5 6; do
  start_w
  stop_vault
done
start_w
TEEVAULT_KNOWN_VAULTS="$T/kv.none" tv attest vault --sim-pubkey "$PLAT/sim_platform.pub" --format json
[ "$RC" -eq 0 ] || fail "attest vault: $ERR"
[ "$(json state_version)" -gt "$wsv" ] && [ "$(json audit_seq)" -gt "$wseq" ] ||
  fail "the restarted copy did not overtake the witness ($(json state_version)/$(json audit_seq) vs $wsv/$wseq)"
stop_vault
start_must_fail "$T/dir.conf"
[ "$RC" -eq 1 ] || fail "a restored copy whose counters overtook the witness was served: $ERR"
expect_in "rolled back or forked" "$ERR"
expect_in "not the witness's" "$ERR"
pass "a restored copy started 7 times without the witness (counters past $wsv/$wseq) is still refused"

# The operator accepts the restore: it serves, and the audit log says so.
start_w --config "$T/dir.conf" --accept-rollback
expect_rc 0 kv get app/key
[ "$OUT" = v1 ] || fail "restored vault serves $OUT"
expect_rc 0 audit list --limit 1000 --format json
expect_in "rollback accepted" "$OUT"
expect_in "AcceptRollback" "$OUT"
stop_vault
start_w --config "$T/dir.conf"
stop_vault
pass "--accept-rollback serves the restored state, audited; later starts are plain"

# The command witness: checkpoint on stdin, newest on stdout.
WC="$T/wcmd"
cat >"$WC" <<EOF
#!/bin/sh
[ -e "$T/wcmd.broken" ] && exit 3
case "\$1" in
publish) cat >>"$T/wcmd.log" ;;
latest) [ -f "$T/wcmd.log" ] && tail -n 1 "$T/wcmd.log" ;;
*) exit 2 ;;
esac
exit 0
EOF
chmod 755 "$WC"
printf '[witness]\ncommand = %s\ninterval = 1\n' "$WC" >"$T/cmd.conf"
rm -rf "$PLAT"
start_w --config "$T/cmd.conf"
stop_vault
[ -s "$T/wcmd.log" ] || fail "the command witness got nothing"
cp -a "$PLAT" "$T/state.copy2"
start_w --config "$T/cmd.conf"
tv_in 'w2' kv put app/key
stop_vault
rm -rf "$PLAT"
cp -a "$T/state.copy2" "$PLAT"
start_must_fail "$T/cmd.conf"
[ "$RC" -eq 1 ] || fail "teevaultd served a rolled-back store with the command witness"
expect_in "rolled back" "$ERR"
pass "restored older state refused by the vault (command witness)"

touch "$T/wcmd.broken"
start_must_fail "$T/cmd.conf"
[ "$RC" -eq 1 ] || fail "the vault started without an answer from its witness"
expect_in "cannot read the witness" "$ERR"
rm -f "$T/wcmd.broken"
pass "an unreachable witness: fail closed"

# A vault initialised and recovered through the CLI while the daemon runs
# (not --dev, not unsealed at start) meets its witness too: it publishes at
# once, and a Recover of a restored older copy is refused and leaves the
# vault sealed. (Before, such a vault published nothing until its next
# start, and the recovered old copy served.)
R="$T/rt"
W2="$T/witness2"
mkdir -p "$R" "$W2"
start_rt() {
  cat >"$R/teevault.conf" <<CONF
state_dir = $R/state
[listen]
unix_socket = $R/s.sock
[tee]
backend = sim
allow_insecure_sim = true
[witness]
dir = $W2
interval = 1
CONF
  TV_SOCK="$R/s.sock"
  tv_start_config "$R/teevault.conf"
  export TEEVAULT_ADDR="unix:$TV_SOCK"
}
printf 'runtime witness passphrase\n' >"$T/rtpass"
start_rt
expect_rc 0 --format=json operator init --passphrase-file="$T/rtpass"
export TEEVAULT_TOKEN="$(json root_token)"
ls "$W2"/*/ckpt-* >/dev/null 2>&1 || fail "init while running published no checkpoint"
tv_in 'r1' kv put app/key
stop_vault
cp -a "$R/state" "$T/rt.copy"
start_rt
tv_in 'r2' kv put app/key
tv_in 'r3' kv put app/key
stop_vault
rm -rf "$R/state"
cp -a "$T/rt.copy" "$R/state"
rm -f "$R/state/sim-sealing.key" # new hardware: sealed at start, no witness check yet
start_rt
expect_rc 7 operator recover --passphrase-file="$T/rtpass"
expect_in "rolled back" "$ERR"
expect_in "stays sealed" "$ERR"
tv kv get app/key
[ "$RC" -ne 0 ] || fail "the recovered old copy served: $OUT"
case "$OUT" in *r1*) fail "the recovered old copy served r1" ;; esac
stop_vault
pass "init while running publishes; Recover of an older copy is refused by the witness (vault stays sealed)"
echo "test_witness: all passed"
