#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# TLS 1.3 listener with a test CA made here: server authentication, and
# mutual TLS refusing clients without a (trusted) certificate.
. "$(dirname "$0")/lib.sh"

tv_mkdir
PKI="$TV_DIR/pki"
mkdir -p "$PKI"
(
    cd "$PKI"
    sslq() { openssl "$@" >/dev/null 2>&1 || { echo "openssl $1 failed" >&2; exit 1; }; }
    mkca() { # name
        sslq req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=teevault test $1" -keyout "$1.key" -out "$1.pem" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    }
    mkleaf() { # name ca ext
        sslq req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
            -keyout "$1.key" -out "$1.csr"
        printf '%s\n' "$3" >"$1.ext"
        sslq x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
            -extfile "$1.ext" -out "$1.pem"
    }
    mkca ca
    mkca other-ca
    mkleaf server ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
    mkleaf client ca "extendedKeyUsage=clientAuth"
    mkleaf relay ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
    mkleaf rogue other-ca "extendedKeyUsage=clientAuth"
) || tv_fail "making the test PKI failed"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# write_conf FILE PORT CLIENT_AUTH
write_conf() {
    cat >"$1" <<CONF
state_dir = $TV_DIR/state
[listen]
unix_socket = $TV_SOCK
tcp_address = 127.0.0.1:$2
tls_cert = $PKI/server.pem
tls_key = $PKI/server.key
tls_client_ca = $PKI/ca.pem
tls_client_auth = $3
[log]
format = json
[tee]
backend = sim
allow_insecure_sim = true
CONF
}

TV_SOCK="$TV_DIR/tv.sock"
TV_LOG="$TV_DIR/teevaultd.log"

# 1. Server authentication only.
PORT=$(free_port)
write_conf "$TV_DIR/off.conf" "$PORT" off
tv_start_config "$TV_DIR/off.conf"
tv_py "$TV_HERE/tls_check.py" server-auth "$PORT" "$PKI" || tv_fail "server-auth checks failed"
# The libteevault transport too, when the CLI is built.
if [ -x "$TV_BIN/teevault" ]; then
    TEEVAULT_ADDR="tls://localhost:$PORT" TEEVAULT_CACERT="$PKI/ca.pem" "$TV_BIN/teevault" status \
        >"$TV_DIR/cli.out" 2>&1 || { cat "$TV_DIR/cli.out"; tv_fail "teevault status over TLS failed"; }
    echo "ok   teevault status over TLS"
    # Issue 12: the Report binds the TLS key. Verified on the vault's own
    # listener it holds; through a TLS-terminating relay with a certificate
    # the client trusts (same CA), the relay works for plain calls but the
    # vault's evidence is refused (on the code before, it was accepted).
    export TEEVAULT_CACERT="$PKI/ca.pem" TEEVAULT_KNOWN_VAULTS="$TV_DIR/known_vaults"
    PUB="$TV_DIR/state/sim_platform.pub"
    TEEVAULT_ADDR="tls://localhost:$PORT" "$TV_BIN/teevault" attest vault --sim-pubkey "$PUB" \
        >"$TV_DIR/cli.out" 2>&1 ||
        { cat "$TV_DIR/cli.out"; tv_fail "attest vault over the vault's own TLS listener failed"; }
    /usr/bin/python3 "$TV_HERE/tls_relay.py" "$TV_DIR/relay.port" "$PORT" "$PKI/relay.pem" \
        "$PKI/relay.key" "$PKI/ca.pem" &
    RELAY=$!
    for _ in $(seq 50); do [ -s "$TV_DIR/relay.port" ] && break; sleep 0.1; done
    RPORT=$(cat "$TV_DIR/relay.port")
    TEEVAULT_ADDR="tls://localhost:$RPORT" "$TV_BIN/teevault" status >"$TV_DIR/cli.out" 2>&1 ||
        { kill $RELAY; cat "$TV_DIR/cli.out"; tv_fail "the relay does not relay"; }
    if TEEVAULT_ADDR="tls://localhost:$RPORT" "$TV_BIN/teevault" attest vault --sim-pubkey "$PUB" \
        >"$TV_DIR/cli.out" 2>&1; then
        kill $RELAY
        tv_fail "attest vault accepted the vault's Report through a TLS-terminating relay"
    fi
    kill $RELAY
    grep -q "does not end at the key the vault's Report binds" "$TV_DIR/cli.out" ||
        { cat "$TV_DIR/cli.out"; tv_fail "the relay refusal does not say why"; }
    unset TEEVAULT_CACERT
    echo "ok   the Report binds the TLS key: verified direct, refused through a TLS-terminating relay"
fi
tv_stop

# [log] format = json: every line the daemon wrote is one JSON object.
tv_py -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    ev = json.loads(line)
    assert {"ts", "level", "event"} <= ev.keys(), line
    n += 1
assert n > 3
print("ok   %d log lines, each a JSON object" % n)' "$TV_LOG" || tv_fail "log is not JSON lines"

# 2. Mutual TLS required.
PORT=$(free_port)
write_conf "$TV_DIR/req.conf" "$PORT" required
tv_start_config "$TV_DIR/req.conf"
tv_py "$TV_HERE/tls_check.py" mtls "$PORT" "$PKI" || tv_fail "mutual TLS checks failed"
if [ -x "$TV_BIN/teevault" ]; then
    export TEEVAULT_ADDR="tls://localhost:$PORT" TEEVAULT_CACERT="$PKI/ca.pem"
    if "$TV_BIN/teevault" status >"$TV_DIR/cli.out" 2>&1; then
        tv_fail "teevault status without a client certificate succeeded under mutual TLS"
    fi
    "$TV_BIN/teevault" status --client-cert="$PKI/client.pem" --client-key="$PKI/client.key" \
        >"$TV_DIR/cli.out" 2>&1 || { cat "$TV_DIR/cli.out"; tv_fail "teevault status with a client certificate failed"; }
    unset TEEVAULT_ADDR TEEVAULT_CACERT
    echo "ok   teevault (libteevault/tv_conn) with and without a client certificate"
fi
kill -0 "$TV_PID" || tv_fail "teevaultd died"
tv_stop

# 3. Config errors name the problem: a key that does not match the certificate.
write_conf "$TV_DIR/bad.conf" "$(free_port)" off
sed -i "s#^tls_key = .*#tls_key = $PKI/client.key#" "$TV_DIR/bad.conf"
if "$TEEVAULTD" --config "$TV_DIR/bad.conf" >"$TV_DIR/bad.log" 2>&1; then
    tv_fail "teevaultd started with a key that does not match its certificate"
fi
grep -q 'tls_key' "$TV_DIR/bad.log" || tv_fail "mismatched key error does not name tls_key"
echo "test_tls: ok"
