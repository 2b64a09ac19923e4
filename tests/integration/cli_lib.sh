# SPDX-License-Identifier: Apache-2.0
# Helpers for the CLI integration tests (tests/integration/*test_cli_*.sh).
# Sourced, not run. They start the REAL teevaultd from $TV_BIN in a private
# temporary directory and drive it through the real `teevault` CLI.
#
# Built on lib.sh (B1's daemon start/stop helpers).
#   cli_init                    temp dir $T (lib.sh's, removed on exit), $TV / $TVD
#   start_dev                   teevaultd --dev on $T/state (lib.sh tv_start_dev);
#                               exports TEEVAULT_ADDR, sets $ROOT_TOKEN_FILE
#   start_conf DIR [opr=on|off] [EXTRA]
#                               teevaultd --config (sim backend, not initialised;
#                               EXTRA: more config lines)
#   start_conf_metrics DIR      start_conf with [metrics] on a free loopback
#                               port ($METRICS_PORT)
#   start_relay MODE [FORGED]   mitm_relay.py on $RELAY_SOCK (default
#                               $T/relay.sock) in front of $TV_SOCK; stop_relay
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

# start_conf DIR [on|off] [EXTRA]: an uninitialised vault from a config file.
start_conf() {
  local dir=$1 opr=${2:-on} extra=${3:-}
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
$extra
CONF
  tv_start_config "$dir/teevault.conf"
  export TEEVAULT_ADDR="unix:$TV_SOCK"
}

# start_conf_metrics DIR: start_conf with the metrics listener on a free
# loopback port, METRICS_PORT.
start_conf_metrics() {
  METRICS_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start_conf "$1" on "$(printf '[metrics]\nlisten = 127.0.0.1:%s' "$METRICS_PORT")"
}

# start_relay MODE [FORGED]: the man in the middle of mitm_relay.py (its
# modes there) on $RELAY_SOCK in front of the vault's $TV_SOCK, replacing a
# relay already running; stop_relay ends it (call it from the EXIT trap).
RELAY_PID=""
start_relay() {
  stop_relay
  RELAY_SOCK=${RELAY_SOCK:-$T/relay.sock}
  rm -f "$RELAY_SOCK" "$T/relay.ready"
  # python3 itself in the background (not a shell function), so $! is the
  # relay and stop_relay ends it.
  PYTHONPATH="$TV_HERE" "$PY" "$TV_HERE/mitm_relay.py" "$RELAY_SOCK" "$TV_SOCK" "$1" "${2:-x}" \
    "$T/relay.ready" 2>"$T/relay.err" &
  RELAY_PID=$!
  wait_for "$T/relay.ready"
}
stop_relay() {
  if [ -n "$RELAY_PID" ]; then
    kill "$RELAY_PID" 2>/dev/null
    wait "$RELAY_PID" 2>/dev/null
  fi
  RELAY_PID=""
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
