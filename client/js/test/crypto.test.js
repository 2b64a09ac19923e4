// SPDX-License-Identifier: Apache-2.0
'use strict';
/* The function path's cryptography: layouts, agreement with the vault's side, refusals. */
const test = require('node:test');
const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');
const c = require('../lib/crypto');

test('attest binding layout and length prefixes', async () => {
  await c.ready();
  const n = Buffer.from([...Array(32).keys()]), pk = Buffer.alloc(32, 7);
  const want = nodeCrypto.createHash('sha512').update(Buffer.concat([Buffer.from('teevault-attest-v1'), n,
    Buffer.from([0, 0, 0, 2]), Buffer.from('ab'), Buffer.from([0, 0, 0, 1]), Buffer.from('c'), pk])).digest();
  assert.deepEqual(c.attestBinding(n, 'ab', Buffer.from('c'), pk), want);
  assert.notDeepEqual(c.attestBinding(n, 'ab', Buffer.from('c'), pk), c.attestBinding(n, 'a', Buffer.from('bc'), pk));
  assert.throws(() => c.attestBinding(Buffer.alloc(3), 'x', Buffer.alloc(0), pk), /32 bytes/);
});

test('session key: both sides agree; the AEAD opens only as sealed', async () => {
  await c.ready();
  const eph = c.ephemeralKeypair(), vault = c.ephemeralKeypair();
  const kf = c.sessionKey(eph.privateKey, eph.publicKey, vault.publicKey);
  const kv = c.deriveSessionKey(vault.privateKey, eph.publicKey, eph.publicKey, vault.publicKey);
  assert.deepEqual(Buffer.from(kf), Buffer.from(kv));
  const sealed = c.seal(kv, 'app/k', 3, 'value');
  assert.equal(c.openSealed(kf, 'app/k', 3, sealed).toString(), 'value');
  assert.equal(c.openSealed(kf, 'app/k', '3', sealed).toString(), 'value'); // uint64 as a string
  for (const [name, ver, blob] of [['app/other', 3, sealed], ['app/k', 4, sealed],
    ['app/k', 3, Buffer.concat([sealed.subarray(0, -1), Buffer.from([sealed.at(-1) ^ 1])])]]) {
    assert.throws(() => c.openSealed(kf, name, ver, blob), (e) => e.errorName === 'integrity');
  }
  assert.throws(() => c.openSealed(kf, 'app/k', 3, sealed.subarray(0, 30)), (e) => e.errorName === 'protocol');
  const other = c.sessionKey(eph.privateKey, eph.publicKey, c.ephemeralKeypair().publicKey);
  assert.throws(() => c.openSealed(other, 'app/k', 3, sealed), (e) => e.errorName === 'integrity');
  assert.throws(() => c.sessionKey(eph.privateKey, eph.publicKey, new Uint8Array(32)), /low-order/);
  assert.throws(() => c.sessionKey(eph.privateKey, eph.publicKey, new Uint8Array(31)), /session public key/);
});

test('sim report: round trip, pinned key, tampering', async () => {
  const s = await c.ready();
  const seed = nodeCrypto.randomBytes(32), rd = nodeCrypto.randomBytes(64);
  const pk = Buffer.from(s.crypto_sign_seed_keypair(seed).publicKey);
  const ev = c.simReportProduce(seed, Buffer.alloc(32, 1), Buffer.alloc(32, 2), rd, 5);
  assert.equal(ev.length, 240);
  assert.equal(c.detectType(ev), 'sim');
  const r = c.simReportVerify(ev, pk);
  assert.equal(r.svn, 5);
  assert.deepEqual(Buffer.from(r.reportData), rd);
  const other = Buffer.from(s.crypto_sign_seed_keypair(nodeCrypto.randomBytes(32)).publicKey);
  assert.throws(() => c.simReportVerify(ev, other), /pinned platform key/);
  const bad = Buffer.from(ev); bad[20] ^= 1;
  assert.throws(() => c.simReportVerify(bad, pk), /pinned platform key/);
  assert.throws(() => c.simReportVerify(ev.subarray(0, 239), pk), /not a sim report/);
  const rsv = Buffer.from(ev); rsv[11] = 1;
  assert.throws(() => c.simReportParse(rsv), /reserved/);
});

test('Attest reply: the vault signature is checked against the pinned key', async () => {
  const s = await c.ready();
  const { verifyAttestReply, vaultPin } = require('../lib/client');
  const kp = s.crypto_sign_keypair(), vid = nodeCrypto.randomBytes(32);
  const pin = vaultPin(vid, kp.publicKey);
  const nonce = nodeCrypto.randomBytes(32), eph = nodeCrypto.randomBytes(32), spk = nodeCrypto.randomBytes(32), head = nodeCrypto.randomBytes(32);
  const sig = Buffer.from(s.crypto_sign_detached(c.attestReplyMessage(vid, nonce, eph, spk, 'fn', '1234', '7', '9', head), kp.privateKey));
  const resp = { session_token: 'tvf.x', session_pubkey: spk, vault_id: vid, expires_at: '1234', state_version: '7', audit_seq: '9', audit_head: head, signature: sig };
  const check = (r, name = 'fn', vault = pin) => verifyAttestReply(r, { name, nonce, ephPk: eph, vault });
  check(resp);
  for (const [k, v] of [['session_pubkey', nodeCrypto.randomBytes(32)], ['expires_at', '99999'], ['audit_seq', '10'],
    ['signature', Buffer.alloc(0)], ['vault_id', nodeCrypto.randomBytes(32)]]) {
    assert.throws(() => check({ ...resp, [k]: v }), (e) => e.code === 7, k);
  }
  assert.throws(() => check(resp, 'other-fn'), /signature does not verify/);
  assert.throws(() => check(resp, 'fn', null), /no vault is pinned/);
  assert.throws(() => check(resp, 'fn', vaultPin(vid, s.crypto_sign_keypair().publicKey)), /signature does not verify/);
  assert.throws(() => vaultPin(Buffer.alloc(32), Buffer.alloc(32)), /non-zero/);
  const m = c.attestReplyMessage(Buffer.alloc(32, 86), Buffer.alloc(32, 78), Buffer.alloc(32, 69), Buffer.alloc(32, 83), 'ab', -1, 2, 3, Buffer.alloc(32, 72));
  assert.deepEqual(m.subarray(0, 25), Buffer.from('teevault-attest-reply-v1\0'));
  assert.deepEqual(m.subarray(25 + 128, 25 + 128 + 6), Buffer.from([0, 0, 0, 2, 97, 98]));
  assert.deepEqual(m.subarray(25 + 134, 25 + 142), Buffer.alloc(8, 0xff));
});
