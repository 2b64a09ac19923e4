#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# gRPC interop with Debian's python3-grpcio against the live daemon on its
# Unix socket and on the TLS port (ALPN h2), stubs generated at test time
# from proto/*.proto by python3-grpc-tools; a ttrpc client on the same
# socket keeps working.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
    tv_fail "python3-grpcio / python3-grpc-tools are not installed (scripts/deps.sh)"

tv_mkdir
GEN="$TV_DIR/gen"
mkdir -p "$GEN"
/usr/bin/python3 -m grpc_tools.protoc -I"$TV_SOURCE_DIR/proto" --python_out="$GEN" \
    --grpc_python_out="$GEN" "$TV_SOURCE_DIR/proto/teevault.proto" "$TV_SOURCE_DIR/proto/ttrpc.proto" ||
    tv_fail "cannot generate the gRPC stubs"

# A TLS listener too, with a CA made here.
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
CONF
tv_start_dev --config "$TV_DIR/tv.conf"

tv_py "$TV_HERE/grpc_interop.py" "$GEN" "unix:$TV_SOCK" "$TV_ROOT_TOKEN_FILE" ||
    tv_fail "gRPC over the Unix socket"
tv_py "$TV_HERE/grpc_interop.py" "$GEN" "127.0.0.1:$PORT" "$TV_ROOT_TOKEN_FILE" "$TV_DIR/ca.pem" ||
    tv_fail "gRPC over TLS (ALPN h2)"
# Connect over TLS: curl negotiates ALPN http/1.1 or h2 on the same port.
for flag in --http1.1 --http2; do
    out=$(curl -sS $flag --cacert "$TV_DIR/ca.pem" --resolve "localhost:$PORT:127.0.0.1" \
        -w ' %{http_code} %{http_version}' -H 'content-type: application/json' \
        -H "authorization: Bearer $(cat "$TV_ROOT_TOKEN_FILE")" -d '{"name":"grpct/key"}' \
        "https://localhost:$PORT/teevault.v1.Secrets/Get") || tv_fail "curl $flag over TLS"
    case "$out" in *'"name":"grpct/key"'*" 200 "[12]*) echo "ok   Connect over TLS $flag (ALPN): HTTP ${out##* }" ;;
        *) tv_fail "Connect over TLS $flag: $out" ;; esac
done
# ttrpc keeps working on both (no ALPN on TLS means ttrpc).
tv_py -c 'import sys, ttrpc_raw as T; T.status(sys.argv[1])' "$TV_SOCK" || tv_fail "ttrpc on the socket"
tv_py -c '
import sys, ttrpc_raw as T
c = T.Conn.tls("127.0.0.1", int(sys.argv[1]), sys.argv[2])
code, msg, _ = c.call("teevault.v1.Sys", "Health")
sys.exit(code)' "$PORT" "$TV_DIR/ca.pem" || tv_fail "ttrpc over TLS without ALPN"
echo "ok   ttrpc still served on the socket and on TLS without ALPN"
kill -0 "$TV_PID" || tv_fail "teevaultd died"
if grep -qF "$(cat "$TV_ROOT_TOKEN_FILE")" "$TV_LOG"; then tv_fail "the root token reached the log"; fi
tv_stop
echo "test_grpc: ok"
