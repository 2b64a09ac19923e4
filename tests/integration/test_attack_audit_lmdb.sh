#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: the host edits the audit log inside data.mdb (docs/SECURITY.md,
# docs/AUDIT.md "Storage"). Records since the last checkpoint carry no
# signature yet; an attacker who kills the daemon (no shutdown checkpoint)
# rewrites one of them with mdb_dump / mdb_load -- a Put of app/target made
# to look like user:mallory's -- and re-chains every later record with the
# (unkeyed) chain hash. After a restart the daemon must refuse to start,
# naming the seq, instead of signing the forgery into its next checkpoint.
# (A deleted tail record: tests/unit/test_audit.c; lmdb-utils cannot delete.)
. "$(dirname "$0")/cli_lib.sh"
cli_init
COMMON="$(cd "$TV_HERE/../common" && pwd)"
command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null ||
  fail "mdb_dump / mdb_load (lmdb-utils) are needed"

cat >"$T/long.conf" <<'CONF'
[audit]
checkpoint_seconds = 86400
checkpoint_records = 100000
CONF
mkdir -p "$T/state"
TV_SOCK="$T/tv.sock"
TV_LOG="$T/teevaultd.log"
"$TVD" --dev --config "$T/long.conf" --state-dir "$T/state" --socket "$TV_SOCK" >>"$TV_LOG" 2>&1 &
TV_PID=$!
tv_wait_ready
wait_for "$T/state/root-token"
export TEEVAULT_ADDR="unix:$TV_SOCK" TEEVAULT_TOKEN="$(cat "$T/state/root-token")"
for n in app/a app/target app/b app/c; do
  tv_in "v" kv put "$n"
  [ "$RC" -eq 0 ] || fail "kv put $n: $ERR"
done
kill -KILL "$TV_PID"
wait "$TV_PID" 2>/dev/null || true
TV_PID=""
rm -f "$TV_SOCK"

# edit MODE DIR: rewrite DIR/data.mdb's audit DB as the host would.
edit() {
  mdb_dump -s audit "$2" >"$T/$1.dump" || fail "$1: mdb_dump"
  PYTHONPATH="$COMMON" "$PY" - "$1" "$T/$1.dump" "$T/$1.load" <<'PYEOF' || fail "$1: could not forge"
import sys, tvjournal as J
mode, src, dst = sys.argv[1:4]
lines = open(src).read().split("\n")
end = lines.index("HEADER=END")
hdr, body = lines[:end + 1], [l for l in lines[end + 1:] if l.startswith(" ")]
recs = [(bytes.fromhex(body[i][1:]), bytes.fromhex(body[i + 1][1:])) for i in range(0, len(body), 2)]
i = [k for k, (_, v) in enumerate(recs)
     if b"app/target" in v and b"Secrets/Put" in v][0]
out = []
if mode == "forge":
    prev = recs[i][1][-64:-32]
    for k in range(i, len(recs)):
        key, v = recs[k]
        f = J.decode(v[:-64])
        if k == i:
            f["principal"] = "user:mallory"
        seq = f.pop("seq")
        val, _ = J.sealed(prev, seq, **f)
        prev = val[-32:]
        out.append((key, val))
    print(J.decode(recs[i][1][:-64])["seq"])
    with open(dst, "w") as fo:
        fo.write("\n".join(hdr) + "\n")
        for key, val in out:
            fo.write(" " + key.hex() + "\n " + val.hex() + "\n")
        fo.write("DATA=END\n")
PYEOF
}

start_copy() { # start_copy NAME: sets C_RC (exit status or "running"), C_LOG
  local i
  C_LOG="$T/$1.log"
  "$TVD" --dev --config "$T/long.conf" --state-dir "$T/$1" --socket "$T/$1.sock" >"$C_LOG" 2>&1 &
  C_PID=$!
  C_RC=running
  for i in $(seq 1 200); do
    if ! kill -0 "$C_PID" 2>/dev/null; then
      C_RC=0
      wait "$C_PID" || C_RC=$?
      return 0
    fi
    if grep -q ' ready \|"event":"ready"' "$C_LOG"; then return 0; fi
    sleep 0.05
  done
  fail "$1: the daemon neither became ready nor exited"
}

refused() { # refused NAME SEQ WHAT
  if [ "$C_RC" = running ]; then
    TEEVAULT_ADDR="unix:$T/$1.sock" "$TV" audit export >"$T/$1.jsonl" 2>/dev/null || true
    kill -TERM "$C_PID"
    wait "$C_PID" || true
    fail "$1: teevaultd started on an audit log with $3 (export has mallory: $(grep -c mallory "$T/$1.jsonl" || true))"
  fi
  CHECKS=$((CHECKS + 1))
  [ "$C_RC" -ne 0 ] || fail "$1: exit 0"
  expect_in "does not verify at seq $2" "$(cat "$C_LOG")"
  pass "$1: restart refused (exit $C_RC): $(grep -o 'does not verify at seq [0-9]*' "$C_LOG" | head -1)"
}

# The journal is left out of both copies: only data.mdb is at issue here.
rm -rf "$T/forge" && cp -a "$T/state" "$T/forge" && rm -f "$T/forge/audit.journal"
FSEQ=$(edit forge "$T/forge")
mdb_load -s audit -f "$T/forge.load" "$T/forge" || fail "forge: mdb_load"
start_copy forge
# The MAC'd head is the last record: the mismatch shows there.
LAST=$(mdb_dump -s audit "$T/forge" | grep -c '^ ' )
LAST=$((LAST / 2))
refused forge "$LAST" "a Put re-attributed to user:mallory (seq $FSEQ) and the tail re-chained"

echo "$CHECKS checks"
