# Helpers for the CLI integration tests (tests/integration/*test_cli_*.sh).
# Sourced, not run. They start the REAL teevaultd from $TV_BIN in a private
# temporary directory and drive it through the real `teevault` CLI.
#
#   cli_init                    temp dir $T, trap cleanup, $TV / $TVD binaries
#   start_dev DIR               teevaultd --dev --state-dir DIR (socket DIR/s.sock);
#                               exports TEEVAULT_ADDR, sets $ROOT_TOKEN_FILE
#   start_conf DIR [opr=on|off] teevaultd --config (sim backend, not initialised)
#   stop_vault                  SIGTERM the daemon this script started, wait
#   tv ARGS...                  run the CLI (stdout/stderr/rc in $OUT $ERR $RC)
#   expect_rc N ARGS...         tv ARGS and fail unless the exit status is N
#   expect_in STRING TEXT       fail unless TEXT contains STRING
#   json FIELD                  read field FIELD of the JSON in $OUT (python3)
#   fail MSG / pass MSG
set -uo pipefail

: "${TV_BIN:?TV_BIN must point at the build bin directory}"
TV="$TV_BIN/teevault"
TVD="$TV_BIN/teevaultd"
PY=/usr/bin/python3
VAULT_PID=""
CHECKS=0

fail() {
  echo "FAIL: $*" >&2
  [ -n "${T:-}" ] && [ -f "$T/daemon.log" ] && { echo "--- daemon log (tail)" >&2; tail -n 30 "$T/daemon.log" >&2; }
  exit 1
}
pass() { echo "ok   $*"; }

cli_init() {
  [ -x "$TV" ] || fail "no CLI at $TV"
  [ -x "$TVD" ] || fail "no daemon at $TVD"
  T=$(mktemp -d /tmp/tv-cli-test.XXXXXX) || exit 1
  trap cli_cleanup EXIT
  unset TEEVAULT_TOKEN TEEVAULT_CACERT
}

cli_cleanup() {
  stop_vault
  rm -rf "$T"
}

wait_for() { # wait_for FILE [seconds]
  local i
  for ((i = 0; i < ${2:-10} * 20; i++)); do
    [ -e "$1" ] && return 0
    [ -n "$VAULT_PID" ] && ! kill -0 "$VAULT_PID" 2>/dev/null && fail "teevaultd exited early"
    sleep 0.05
  done
  fail "timed out waiting for $1"
}

start_dev() {
  local dir=$1
  mkdir -p "$dir"
  rm -f "$dir/s.sock"
  "$TVD" --dev --state-dir "$dir" --socket "$dir/s.sock" >>"$T/daemon.log" 2>&1 &
  VAULT_PID=$!
  wait_for "$dir/s.sock"
  ROOT_TOKEN_FILE="$dir/root-token"
  wait_for "$ROOT_TOKEN_FILE"
  export TEEVAULT_ADDR="unix:$dir/s.sock"
}

start_conf() {
  local dir=$1 opr=${2:-on}
  mkdir -p "$dir"
  rm -f "$dir/s.sock"
  cat >"$T/teevault.conf" <<CONF
state_dir = $dir
[listen]
unix_socket = $dir/s.sock
unix_mode = 0600
[tee]
backend = sim
[security]
operator_plaintext_reads = $opr
CONF
  "$TVD" --config "$T/teevault.conf" >>"$T/daemon.log" 2>&1 &
  VAULT_PID=$!
  wait_for "$dir/s.sock"
  export TEEVAULT_ADDR="unix:$dir/s.sock"
}

stop_vault() {
  if [ -n "$VAULT_PID" ]; then
    kill -TERM "$VAULT_PID" 2>/dev/null
    wait "$VAULT_PID" 2>/dev/null
    VAULT_PID=""
  fi
}

tv() {
  OUT=$("$TV" "$@" 2>"$T/stderr")
  RC=$?
  ERR=$(cat "$T/stderr")
  return 0
}

# tv with stdin from a string (for kv put)
tv_in() {
  local input=$1
  shift
  OUT=$(printf '%s' "$input" | "$TV" "$@" 2>"$T/stderr")
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
