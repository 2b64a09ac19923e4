#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Connection deadlines (issue 14) against the real teevaultd: a connection
# that only holds a slot is closed.
#   - TLS: no handshake at all, or a handshake that stalls, is closed after
#     [limits] handshake_timeout (the old daemon kept it for idle_timeout,
#     300 s: 1,024 such connections locked everyone out);
#   - TLS and Unix: a connection that only makes public calls (Health every
#     0.5 s, so it is never idle) is closed auth_timeout after its handshake
#     or accept;
#   - an authenticated connection outlives both.
. "$(dirname "$0")/lib.sh"
tv_mkdir
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=tv-ca \
  -keyout "$TV_DIR/ca.key" -out "$TV_DIR/ca.pem" 2>/dev/null || tv_fail "openssl ca"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$TV_DIR/srv.key" -out "$TV_DIR/srv.csr" 2>/dev/null || tv_fail "openssl csr"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$TV_DIR/ext"
openssl x509 -req -in "$TV_DIR/srv.csr" -CA "$TV_DIR/ca.pem" -CAkey "$TV_DIR/ca.key" \
  -CAcreateserial -days 2 -extfile "$TV_DIR/ext" -out "$TV_DIR/srv.pem" 2>/dev/null ||
  tv_fail "openssl sign"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TV_DIR/tv.conf" <<CONF
[listen]
tcp_address = 127.0.0.1:$PORT
tls_cert = $TV_DIR/srv.pem
tls_key = $TV_DIR/srv.key
[limits]
handshake_timeout = 2
auth_timeout = 3
CONF
tv_start_dev --config "$TV_DIR/tv.conf"

probe() { tv_py "$TV_HERE/deadline_probe.py" "$@"; }
check() { # check JSON PYTHON-EXPR MESSAGE
  /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
    tv_fail "$3: $1"
}

out=$(probe tls-silent 127.0.0.1 "$PORT") || tv_fail "probe: $out"
echo "tls-silent: $out"
check "$out" 'd["closed_after_s"] is not None and 1.5 <= d["closed_after_s"] <= 4.5' \
  "a TCP connection without a TLS handshake is not closed after handshake_timeout (2 s)"
out=$(probe tls-partial 127.0.0.1 "$PORT") || tv_fail "probe: $out"
echo "tls-partial: $out"
check "$out" 'd["closed_after_s"] is not None and 1.5 <= d["closed_after_s"] <= 4.5' \
  "a stalled TLS handshake is not closed after handshake_timeout (2 s)"
grep -q 'TLS handshake not completed within handshake_timeout' "$TV_LOG" ||
  tv_fail "the handshake deadline is not logged"
echo "ok   TLS handshake deadline: silent and stalled handshakes closed after ~2 s"

out=$(probe tls-public 127.0.0.1 "$PORT" "$TV_DIR/ca.pem") || tv_fail "probe: $out"
echo "tls-public: $out"
check "$out" 'd["closed_after_s"] is not None and 2.4 <= d["closed_after_s"] <= 5.5 and d["answered"] >= 3' \
  "a TLS connection making only public calls is not closed after auth_timeout (3 s)"
out=$(probe unix-public "$TV_SOCK") || tv_fail "probe: $out"
echo "unix-public: $out"
check "$out" 'd["closed_after_s"] is not None and 2.4 <= d["closed_after_s"] <= 5.5 and d["answered"] >= 3' \
  "a Unix connection making only public calls is not closed after auth_timeout (3 s)"
grep -q 'no authenticated request within auth_timeout' "$TV_LOG" ||
  tv_fail "the first-authentication deadline is not logged"
echo "ok   first-authenticated-request deadline: public-only connections closed after ~3 s (TLS and Unix)"

out=$(probe tls-authed 127.0.0.1 "$PORT" "$TV_DIR/ca.pem" "$TV_ROOT_TOKEN_FILE" 4.5) || tv_fail "probe: $out"
echo "tls-authed: $out"
check "$out" 'd["first"] == 0 and d["later"] == 0' \
  "an authenticated connection was closed by a deadline"
echo "ok   an authenticated TLS connection outlives both deadlines"
tv_stop
echo "test_deadlines: all passed"
