#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# teevaultd under systemd, without systemd: the real daemon with
#   - NOTIFY_SOCKET pointing at a datagram socket this test listens on:
#     READY=1 once it serves, STATUS= with the vault's state (uninitialized,
#     then active), WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1/READY=1
#     around SIGHUP, STOPPING=1 at SIGTERM;
#   - JOURNAL_STREAM naming its stderr: every line starts with its syslog
#     priority (<6> info, <4> warn, <3> error); without it, no prefix;
#   - SIGHUP: the log level changes (debug lines appear), a broken config
#     changes nothing and is logged at error, and open connections survive;
#   - --check-config: 0 and a summary for a valid file, 1 and the reason
#     for a broken one; --version.
. "$(dirname "$0")/lib.sh"
tv_mkdir
D=$TV_DIR
PY=/usr/bin/python3
fail() { tv_fail "$@"; }

# ---------------------------------------------------------------- --version / --check-config
"$TEEVAULTD" --version | grep -q '^teevaultd [0-9]' || fail "--version"
mkdir -p "$D/v"
cat >"$D/v/teevault.conf" <<CONF
state_dir = $D/v
[listen]
unix_socket = $D/v/s.sock
[tee]
backend = sim
allow_insecure_sim = true
[log]
level = info
CONF
OUT=$("$TEEVAULTD" --check-config --config "$D/v/teevault.conf" 2>&1) || fail "--check-config refused a valid file: $OUT"
case "$OUT" in *"is valid"*) ;; *) fail "--check-config output: $OUT" ;; esac
[ -e "$D/v/data.mdb" ] && fail "--check-config opened the store"
printf '[tee]\nbackend = nosuch\n' >"$D/bad.conf"
if OUT=$("$TEEVAULTD" --check-config --config "$D/bad.conf" 2>&1); then fail "--check-config accepted a bad backend"; fi
case "$OUT" in *nosuch*) ;; *) fail "--check-config did not name the problem: $OUT" ;; esac
echo "ok   --version, --check-config"

# ---------------------------------------------------------------- notify + journald
# The listener: records every datagram on NOTIFY_SOCKET into notify.log.
$PY - "$D/notify.sock" "$D/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        d = s.recv(4096).decode("utf-8", "replace")
        for line in d.split("\n"):
            if line:
                f.write(line + "\n")
PY
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; tv_cleanup' EXIT
for _ in $(seq 50); do [ -S "$D/notify.sock" ] && break; sleep 0.05; done
: >"$D/notify.log"
TV_LOG="$D/teevaultd.log"
TV_SOCK="$D/v/s.sock"
# stderr is the log file: JOURNAL_STREAM names its device and inode, as
# systemd does for the stream it connects.
: >"$TV_LOG"
JS="$(stat -c %d "$TV_LOG"):$(stat -c %i "$TV_LOG")"
NOTIFY_SOCKET="$D/notify.sock" WATCHDOG_USEC=400000 JOURNAL_STREAM="$JS" \
  "$TEEVAULTD" --config "$D/v/teevault.conf" 2>>"$TV_LOG" &
TV_PID=$!
wait_log() { # wait_log PATTERN FILE
  for _ in $(seq 100); do grep -q -- "$1" "$2" && return 0; sleep 0.05; done
  return 1
}
wait_log '^READY=1' "$D/notify.log" || fail "no READY=1: $(cat "$D/notify.log")"
grep -q '^STATUS=uninitialized' "$D/notify.log" || fail "no STATUS: $(cat "$D/notify.log")"
sleep 0.6
n=$(grep -c '^WATCHDOG=1' "$D/notify.log" || true)
[ "$n" -ge 2 ] || fail "WATCHDOG=1 sent $n times in 0.6 s with WATCHDOG_USEC=400000"
# Journald priorities: info lines <6>, the sim warning <4>.
grep -q '^<6>.* INFO ready ' "$TV_LOG" || fail "no <6> on INFO: $(head -3 "$TV_LOG")"
grep -q '^<4>.* WARN tee_sim ' "$TV_LOG" || fail "no <4> on WARN: $(head -3 "$TV_LOG")"
grep -v '^<[0-7]>' "$TV_LOG" | grep -q . && fail "a line without a priority: $(grep -v '^<[0-7]>' "$TV_LOG" | head -2)"
echo "ok   READY, STATUS and WATCHDOG on NOTIFY_SOCKET; <N> priorities under JOURNAL_STREAM"

# The state goes active: STATUS follows (within the 0.2 s tick).
"$TV_BIN/teevault" --addr "unix:$TV_SOCK" --format=json operator init >"$D/init.json" || fail "init"
wait_log '^STATUS=active' "$D/notify.log" || fail "STATUS did not follow init: $(cat "$D/notify.log")"
# The administrative success is logged at info; a read (Status) is not.
grep -q '^<6>.* INFO rpc .*method="Initialize".*code="0"' "$TV_LOG" || fail "init not logged at info: $(tail -3 "$TV_LOG")"
grep -q 'INFO rpc .*method="Status"' "$TV_LOG" && fail "a read logged at info"

# ---------------------------------------------------------------- SIGHUP
# An open connection (a raw ttrpc client) must survive the reload.
tv_py - "$TV_SOCK" "$D/hup.ready" "$D/hup.go" "$D/hup.out" <<'PY' &
import os, sys, time
import ttrpc_raw as T
c = T.Conn(sys.argv[1])
code, _, _ = c.call("teevault.v1.Sys", "Health")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.02)
code2, _, _ = c.call("teevault.v1.Sys", "Health")
open(sys.argv[4], "w").write("%d %d\n" % (code, code2))
PY
HOLD=$!
for _ in $(seq 100); do [ -e "$D/hup.ready" ] && break; sleep 0.05; done
sed -i 's/^level = info/level = debug/' "$D/v/teevault.conf"
kill -HUP "$TV_PID"
wait_log 'reloaded' "$TV_LOG" || fail "no reload logged: $(tail -3 "$TV_LOG")"
grep -q '^RELOADING=1' "$D/notify.log" || fail "no RELOADING=1"
touch "$D/hup.go"
wait "$HOLD" || fail "the held connection failed across SIGHUP"
[ "$(cat "$D/hup.out")" = "0 0" ] || fail "held connection: $(cat "$D/hup.out")"
# debug now on: a request logs a DEBUG line with <7>.
"$TV_BIN/teevault" --addr "unix:$TV_SOCK" status >/dev/null || fail "status after reload"
wait_log '^<7>.* DEBUG ' "$TV_LOG" || fail "log level not reloaded to debug: $(tail -3 "$TV_LOG")"
kill -0 "$TV_PID" || fail "teevaultd died on SIGHUP"
# A broken file: logged at error (<3>), nothing changes, the daemon serves on.
cp "$D/v/teevault.conf" "$D/good.conf"
printf '[log]\nlevel = loud\n' >>"$D/v/teevault.conf"
kill -HUP "$TV_PID"
wait_log '^<3>.*reload_failed' "$TV_LOG" || fail "a broken config was not refused at error: $(tail -3 "$TV_LOG")"
"$TV_BIN/teevault" --addr "unix:$TV_SOCK" status >/dev/null || fail "status after a failed reload"
cp "$D/good.conf" "$D/v/teevault.conf"
echo "ok   SIGHUP reloads (log level), keeps connections, refuses a broken file"

kill -TERM "$TV_PID"
wait "$TV_PID" || fail "teevaultd exit status"
TV_PID=""
wait_log '^STOPPING=1' "$D/notify.log" || fail "no STOPPING=1"
echo "ok   STOPPING=1 at SIGTERM"


# ---------------------------------------------------------------- SIGHUP: TLS certificate
# Renewing the certificate: after SIGHUP new connections get the new one,
# and a connection opened before keeps working.
mkcert() { # mkcert NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=$2" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$D/$1.key" -out "$D/$1.pem" 2>/dev/null || fail "openssl"
}
mkcert a cert-a
mkcert b cert-b
cp "$D/a.pem" "$D/tls.pem"
cp "$D/a.key" "$D/tls.key"
# Attestation collateral (a real Intel collateral bundle from ../shared when
# it is there): reloaded by the same SIGHUP.
COLL="${TV_SHARED:-$(dirname "$0")/../../../shared}/testdata/attestation/sgx/sgx_quote_collateral.json"
COLL_CONF=""
if [ -r "$COLL" ]; then
  cp "$COLL" "$D/coll.json"
  COLL_CONF="[attestation]
collateral = $D/coll.json"
else
  echo "note: no ../shared collateral; the collateral reload is not checked"
fi
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$D/v/teevault.conf" <<CONF
state_dir = $D/v
[listen]
unix_socket = $D/v/s.sock
tcp_address = 127.0.0.1:$PORT
tls_cert = $D/tls.pem
tls_key = $D/tls.key
[tee]
backend = sim
allow_insecure_sim = true
$COLL_CONF
CONF
: >"$D/tls.log"
"$TEEVAULTD" --config "$D/v/teevault.conf" 2>>"$D/tls.log" &
TV_PID=$!
for _ in $(seq 100); do grep -q ' ready ' "$D/tls.log" && break; sleep 0.05; done
tv_py - "$PORT" "$D/tls.ready" "$D/tls.go" "$D/tls.out" <<'PY' &
import os, socket, ssl, sys, time
import ttrpc_raw as T
port = int(sys.argv[1])
def cn(sock):
    der = sock.getpeercert(binary_form=True)
    return b"cert-a" in der and "a" or b"cert-b" in der and "b" or "?"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
old = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
first = cn(old)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.02)
new = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
c = T.Conn.__new__(T.Conn)
c.s, c.buf, c.sid = old, b"", 1
code, _, _ = c.call("teevault.v1.Sys", "Health")
open(sys.argv[4], "w").write("%s %s %d\n" % (first, cn(new), code))
PY
HOLD=$!
for _ in $(seq 100); do [ -e "$D/tls.ready" ] && break; sleep 0.05; done
cp "$D/b.pem" "$D/tls.pem"
cp "$D/b.key" "$D/tls.key"
kill -HUP "$TV_PID"
wait_log 'reloaded' "$D/tls.log" || fail "no reload: $(tail -3 "$D/tls.log")"
touch "$D/tls.go"
wait "$HOLD" || fail "TLS client failed: $(cat "$D/tls.out" 2>/dev/null)"
[ "$(cat "$D/tls.out")" = "a b 0" ] || fail "certificate reload: $(cat "$D/tls.out") (want: old a, new b, old connection answers)"
if [ -n "$COLL_CONF" ]; then
  grep -q 'INFO reload what="collateral"' "$D/tls.log" || fail "collateral not reloaded: $(grep reload "$D/tls.log")"
  # A broken collateral file: logged at error, the loaded one stays, the vault serves on.
  printf '{"not": "collateral"' >"$D/coll.json"
  kill -HUP "$TV_PID"
  wait_log 'ERROR reload_failed what="collateral"' "$D/tls.log" ||
    fail "a broken collateral file was not reported: $(grep reload "$D/tls.log")"
  kill -0 "$TV_PID" || fail "teevaultd died on a broken collateral file"
  "$TV_BIN/teevault" --addr "unix:$D/v/s.sock" status >/dev/null || fail "status after a failed collateral reload"
  cp "$COLL" "$D/coll.json" # the next start reads it again
  echo "ok   SIGHUP reloads the attestation collateral; a broken file keeps the old one"
fi
kill -TERM "$TV_PID"
wait "$TV_PID"
TV_PID=""
echo "ok   SIGHUP loads a renewed TLS certificate for new connections; old ones keep working"

# Without JOURNAL_STREAM (or when it names another stream) no prefix.
: >"$D/plain.log"
JOURNAL_STREAM="1:1" "$TEEVAULTD" --config "$D/v/teevault.conf" 2>>"$D/plain.log" &
TV_PID=$!
for _ in $(seq 100); do grep -q ' ready ' "$D/plain.log" && break; sleep 0.05; done
grep -q '^<' "$D/plain.log" && fail "priority prefix without journald: $(head -2 "$D/plain.log")"
kill -TERM "$TV_PID"
wait "$TV_PID"
TV_PID=""
echo "PASS"
