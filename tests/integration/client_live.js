// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The Node.js client (client/js) against the live daemon; run by
 * test_js_client.sh as: node client_live.js SOCK STATE_DIR TRANSPORT.
 * The same checks as client_live.py.
 */
const fs = require('node:fs');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const T = require(path.join(__dirname, '..', '..', 'client', 'js'));

const [sock, state, transport] = process.argv.slice(2);
const addr = 'unix:' + sock;
let n = 0;
const ok = (cond, what) => {
  if (!cond) { console.log('FAIL', what); process.exit(1); }
  n++;
  console.log('ok  ', what);
};
const refused = async (p, code, name) => {
  try { await p; } catch (e) {
    return [e instanceof T.TeevaultError && e.code === code && (!name || e.errorName === name), String(e)];
  }
  return [false, 'not refused'];
};
const h = (s) => nodeCrypto.createHash('sha256').update(s).digest();

(async () => {
  const token = fs.readFileSync(path.join(state, 'root-token'), 'utf8').trim();
  const op = new T.Client({ addr, token, transport });
  const val = 'jk-' + transport;
  const v1 = await op.kv.put('app/price-feed/exchange_api_key', val);
  ok(v1 >= 1, `kv put -> version ${v1}`);
  ok((await op.kv.get('app/price-feed/exchange_api_key')).value.toString() === val, 'kv get returns the value');
  await op.kv.put('app/other-fn/key', 'not-yours');
  ok((await op.kv.list('app/')).includes('app/price-feed/exchange_api_key'), 'kv list shows the name');
  let [r, why] = await refused(new T.Client({ addr, token: 'tvt.bogus', transport }).kv.get('app/x'), 16);
  ok(r, 'a bogus token is UNAUTHENTICATED: ' + why);

  const meas = h('runtime-js-' + transport), code = 'function fetchPriceData(token) { ... }';
  await op.policies.write('price-feed-read', 'path "app/price-feed/*" { capabilities = ["read"] }');
  await op.functions.register('price-feed', JSON.stringify({ evidence_type: 'sim', measurement: meas.toString('hex'),
    signer: h('teevault-sim-signer').toString('hex'), code_hash: h(code).toString('hex') }), ['price-feed-read']);

  const pub = fs.readFileSync(path.join(state, 'sim_platform.pub'));
  const fn = new T.Client({ addr, token: '', transport });
  const rep = await fn.verifyVault({ simPlatformPk: pub });
  ok(rep.evidenceType === 'sim' && rep.auditPubkey.length === 32, 'Report verified (sim, pinned key)');
  [r, why] = await refused(fn.verifyVault({ simPlatformPk: Buffer.alloc(32, 1) }), 7, 'verify');
  ok(r && /pinned platform key/.test(why), 'Report refused with another pinned key');

  const prod = new T.SimProducer(state, { measurement: meas });
  const s = await fn.attestFunction('price-feed', h(code), prod, rep);
  ok((await s.secrets.get('app/price-feed/exchange_api_key')).toString() === val,
    'attested function reads its secret (sealed to the session key)');
  [r, why] = await refused(s.secrets.get('app/other-fn/key'), 7, 'denied');
  ok(r, "secret outside the function's ACL is PERMISSION_DENIED: " + why);
  [r, why] = await refused(fn.attestFunction('price-feed', h(code), prod), 7, 'policy');
  ok(r && /no vault is pinned/.test(why), 'Attest without a verified (pinned) vault is refused: ' + why);
  [r, why] = await refused(fn.attestFunction('price-feed', h('other code'), prod, rep), 7, 'policy');
  ok(r, 'another code hash is refused at Attest: ' + why);
  [r, why] = await refused(fn.attestFunction('price-feed', h(code), new T.SimProducer(state, { measurement: h('evil') }), rep), 7);
  ok(r, 'another runtime measurement is refused at Attest: ' + why);
  s.close();
  [r, why] = await refused(s.secrets.get('app/price-feed/exchange_api_key'), 0);
  ok(r, 'a closed session reads nothing');

  const recs = await op.audit.list({ since: 0, limit: 1000 });
  const reads = recs.filter((x) => x.method.endsWith('Secrets/Get') && x.principal.includes('price-feed'));
  ok(reads.some((x) => x.secret === 'app/price-feed/exchange_api_key' && x.status === 0), "the function's read is audited");
  ok(reads.some((x) => x.secret === 'app/other-fn/key' && x.status === 7), 'the refused read is audited');
  op.close(); fn.close();
  console.log(`${n} passed, 0 failed`);
})().catch((e) => { console.log('FAIL', e); process.exit(1); });
