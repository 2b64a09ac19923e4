# SPDX-License-Identifier: Apache-2.0
# Helpers for the CLI integration tests (tests/integration/*test_cli_*.sh).
# Sourced, not run. They start the REAL teevaultd from $TV_BIN in a private
# temporary directory and drive it through the real `teevault` CLI.
#
# Built on lib.sh (B1's daemon start/stop helpers).
#   cli_init                    temp dir $T (lib.sh's, removed on exit), $TV / $TVD
#   start_dev                   teevaultd --dev on $T/state (lib.sh tv_start_dev);
#                               exports TEEVAULT_ADDR, sets $ROOT_TOKEN_FILE
#   start_conf DIR [opr=on|off] teevaultd --config (sim backend, not initialised)
#   stop_vault                  SIGTERM, wait; must exit 0 (lib.sh tv_stop)
#   tv ARGS...                  run the CLI (stdout/stderr/rc in $OUT $ERR $RC)
#   expect_rc N ARGS...         tv ARGS and fail unless the exit status is N
#   expect_in STRING TEXT       fail unless TEXT contains STRING
#   json FIELD                  read field FIELD of the JSON in $OUT (python3)
#   fail MSG / pass MSG
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# lib.sh sets -e; these tests check every exit status explicitly instead
# (a failing `$(...)` must report, not end the script silently).
set +e

TV="$TV_BIN/teevault"
TVD="$TEEVAULTD"
PY=/usr/bin/python3
CHECKS=0

fail() { tv_fail "$@"; }
pass() { echo "ok   $*"; }

cli_init() {
  [ -x "$TV" ] || fail "no CLI at $TV"
  tv_mkdir # lib.sh: private temp dir, removed (and the daemon stopped) on exit
  T=$TV_DIR
  unset TEEVAULT_TOKEN TEEVAULT_CACERT
}

wait_for() { # wait_for FILE [seconds]
  local i
  for ((i = 0; i < ${2:-10} * 20; i++)); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  fail "timed out waiting for $1"
}

# start_dev: teevaultd --dev on $T/state (lib.sh), root token file, address.
start_dev() {
  tv_start_dev
  ROOT_TOKEN_FILE="$TV_DIR/state/root-token"
  wait_for "$ROOT_TOKEN_FILE"
  export TEEVAULT_ADDR="unix:$TV_SOCK"
}

# start_conf DIR [on|off]: an uninitialised vault from a config file.
start_conf() {
  local dir=$1 opr=${2:-on}
  mkdir -p "$dir"
  TV_SOCK="$dir/s.sock"
  cat >"$dir/teevault.conf" <<CONF
state_dir = $dir
[listen]
unix_socket = $TV_SOCK
unix_mode = 0600
[tee]
backend = sim
allow_insecure_sim = true
[security]
operator_plaintext_reads = $opr
CONF
  tv_start_config "$dir/teevault.conf"
  export TEEVAULT_ADDR="unix:$TV_SOCK"
}

# stop_vault: SIGTERM; lib.sh checks exit status 0 and the socket removed.
stop_vault() { tv_stop; }

# Every CLI call is bounded: a hang fails the test with its output (exit 124)
# instead of stalling ctest until its 600 s timeout.
TV_CALL_TIMEOUT=${TV_CALL_TIMEOUT:-120}
tv() {
  OUT=$(timeout -k 5 "$TV_CALL_TIMEOUT" "$TV" "$@" 2>"$T/stderr")
  RC=$?
  ERR=$(cat "$T/stderr")
  return 0
}

# tv with stdin from a string (for kv put)
tv_in() {
  local input=$1
  shift
  OUT=$(printf '%s' "$input" | timeout -k 5 "$TV_CALL_TIMEOUT" "$TV" "$@" 2>"$T/stderr")
  RC=$?
  ERR=$(cat "$T/stderr")
  return 0
}

expect_rc() {
  local want=$1
  shift
  tv "$@"
  CHECKS=$((CHECKS + 1))
  [ "$RC" -eq "$want" ] || fail "teevault $* -> exit $RC, want $want; stderr: $ERR; stdout: $OUT"
}

expect_in() {
  CHECKS=$((CHECKS + 1))
  case "$2" in
  *"$1"*) ;;
  *) fail "expected '$1' in: $2" ;;
  esac
}

json() {
  printf '%s' "$OUT" | "$PY" -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (list, dict, bool)) else v)' "$1"
}

mode_of() { stat -c %a "$1"; }
