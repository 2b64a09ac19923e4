// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * @grpc/grpc-js with stubs made by @grpc/proto-loader from
 * proto/teevault.proto against the live daemon: a stock gRPC client, none of
 * our code on the wire. Run by test_grpc_interop.sh as:
 * node grpc_js_interop.js SOCK ROOT_TOKEN_FILE PROTO_DIR
 */
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [sock, tokenFile, protoDir] = process.argv.slice(2);
const def = loader.loadSync(path.join(protoDir, 'teevault.proto'), { keepCase: true, longs: String, defaults: true });
const v1 = grpc.loadPackageDefinition(def).teevault.v1;
const creds = grpc.credentials.createInsecure();
const target = 'unix:' + sock;
const auth = new grpc.Metadata();
auth.set('authorization', 'Bearer ' + fs.readFileSync(tokenFile, 'utf8').trim());
const none = new grpc.Metadata();
const dl = () => ({ deadline: Date.now() + 10000 });
const call = (client, m, req, md = auth) => new Promise((res, rej) => client[m](req, md, dl(), (e, r) => (e ? rej(e) : res(r))));
const code = async (p) => { try { await p; return null; } catch (e) { return e; } };
let n = 0;
const ok = (c, what) => { if (!c) { console.log('FAIL', what); process.exit(1); } n++; console.log('ok  ', what); };

(async () => {
  const sys = new v1.Sys(target, creds), sec = new v1.Secrets(target, creds), att = new v1.Attestation(target, creds);
  const h = await call(sys, 'Health', {}, none);
  ok(h.ok && h.state === 'active', `Sys.Health over gRPC: ${h.state}`);
  ok((await call(sec, 'Put', { name: 'interop/grpc-js', value: Buffer.from('v-js') })).version === '1', 'Secrets.Put with a bearer token');
  const g = await call(sec, 'Get', { name: 'interop/grpc-js' });
  ok(Buffer.from(g.value).toString() === 'v-js', 'Secrets.Get returns the value');
  ok((await call(sec, 'List', { prefix: 'interop/' })).names.includes('interop/grpc-js'), 'Secrets.List');
  let e = await code(call(sec, 'Get', { name: 'interop/absent' }));
  ok(e && e.code === grpc.status.NOT_FOUND, `missing secret: NOT_FOUND (${e && e.details})`);
  ok(e.metadata.get('grpc-status-details-bin').length === 1, 'the error carries grpc-status-details-bin');
  e = await code(call(sec, 'Get', { name: 'interop/grpc-js' }, none));
  ok(e && e.code === grpc.status.UNAUTHENTICATED, `no token: UNAUTHENTICATED (${e && e.details})`);
  const c = await call(att, 'Challenge', {}, none);
  ok(Buffer.from(c.nonce).length === 32, 'Attestation.Challenge: 32-byte nonce');
  sys.close(); sec.close(); att.close();
  console.log(`${n} passed, 0 failed`);
})().catch((err) => { console.log('FAIL', err); process.exit(1); });
