#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Python and Node.js client packages over tls://host:port against the
# real teevaultd's TLS 1.3 listener, with a CA made here: operator calls
# succeed with the right CA and the connection is refused when the server is
# checked against another CA (the system store).
. "$(dirname "$0")/lib.sh"
ROOT="$TV_HERE/../.."
NODE_PATH="$("$ROOT/scripts/npm-deps.sh" "${TV_BUILD_DIR:-$ROOT/build}/node")" ||
  tv_fail "npm packages could not be installed"
export NODE_PATH TEEVAULT_PY_STUBS="${TV_PY_STUBS:-$ROOT/build/py-stubs}"
tv_mkdir
PKI="$TV_DIR/pki"
mkdir -p "$PKI"
(
  cd "$PKI"
  sslq() { openssl "$@" >/dev/null 2>&1 || { echo "openssl $1 failed" >&2; exit 1; }; }
  sslq req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=teevault test ca" \
    -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  sslq req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  sslq x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem
) || tv_fail "making the test PKI failed"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[listen]\ntcp_address = 127.0.0.1:%s\ntls_cert = %s/server.pem\ntls_key = %s/server.key\n' \
  "$PORT" "$PKI" "$PKI" >"$TV_DIR/tls.conf"
tv_start_dev --config "$TV_DIR/tls.conf"
ADDR="tls://127.0.0.1:$PORT"
n=0
for transport in ${TV_CLIENT_TRANSPORTS:-grpc ttrpc}; do
  TV_HERE="$TV_HERE" tv_py - "$ADDR" "$TV_ROOT_TOKEN_FILE" "$PKI/ca.pem" "$transport" <<'PY' || tv_fail "Python client over TLS ($transport)"
import sys
sys.path.insert(0, __import__("os").environ["TV_HERE"] + "/../../client/python")
import teevault as T
addr, tokf, ca, tr = sys.argv[1:5]
c = T.Client(addr, token=open(tokf).read().strip(), transport=tr, cafile=ca)
assert c.kv.put("tls/py-" + tr, b"v") >= 1 and c.kv.get("tls/py-" + tr).value == b"v"
print("ok   Python client over TLS (%s): put/get" % tr)
try:
    T.Client(addr, token="x", transport=tr, cafile="/etc/ssl/certs/ca-certificates.crt").status()
    sys.exit("FAIL: a server the CA does not vouch for was accepted")
except T.TeevaultError as e:
    assert e.code == 14, e
    print("ok   Python client refuses a server not signed by its CA (%s)" % tr)
PY
  TV_HERE="$TV_HERE" node - "$ADDR" "$TV_ROOT_TOKEN_FILE" "$PKI/ca.pem" "$transport" <<'JS' || tv_fail "Node.js client over TLS ($transport)"
const T = require(process.env.TV_HERE + '/../../client/js');
const [addr, tokf, ca, tr] = process.argv.slice(2);
(async () => {
  const c = new T.Client({ addr, token: require('fs').readFileSync(tokf, 'utf8').trim(), transport: tr, cafile: ca });
  await c.kv.put('tls/js-' + tr, 'v');
  if ((await c.kv.get('tls/js-' + tr)).value.toString() !== 'v') throw new Error('value');
  c.close();
  console.log(`ok   Node.js client over TLS (${tr}): put/get`);
  const d = new T.Client({ addr, token: 'x', transport: tr, cafile: '/etc/ssl/certs/ca-certificates.crt' });
  try { await d.status(); throw new Error('FAIL: a server the CA does not vouch for was accepted'); } catch (e) {
    if (!(e instanceof T.TeevaultError) || e.code !== 14) throw e;
  }
  d.close();
  console.log(`ok   Node.js client refuses a server not signed by its CA (${tr})`);
})().catch((e) => { console.log(String(e)); process.exit(1); });
JS
  n=$((n + 4))
done
tv_stop
echo "$n passed, 0 failed"
