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

test('session key certificate and Attest reply layouts (known answer)', async () => {
  await c.ready();
  const V = Buffer.alloc(32, 0x56), N = Buffer.alloc(32, 0x4e), E = Buffer.alloc(32, 0x45), S_ = Buffer.alloc(32, 0x53), H = Buffer.alloc(32, 0x48);
  const dom1 = Buffer.from('teevault-session-key-v1\0'), dom2 = Buffer.from('teevault-attest-reply-v2\0');
  assert.equal(dom1.length, 24);
  assert.equal(dom2.length, 25);
  assert.deepEqual(c.sessionKeyMessage(V, S_, '72623859790382856'),
    Buffer.concat([dom1, V, S_, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]));
  assert.deepEqual(c.sessionKeyMessage(V, S_, -2).subarray(-8), Buffer.from([255, 255, 255, 255, 255, 255, 255, 254]));
  const m = c.attestReplyMessage(V, N, E, S_, 'ab', -1, '2', 3, H, 0x1122334455667788n, 'tvf.tok');
  assert.deepEqual(m, Buffer.concat([dom2, V, N, E, S_, Buffer.from([0, 0, 0, 2]), Buffer.from('ab'),
    Buffer.alloc(8, 0xff), Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 3]), H,
    Buffer.from([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]), Buffer.from([0, 0, 0, 7]), Buffer.from('tvf.tok')]));
  assert.equal(m.length, 25 + 4 * 32 + 4 + 2 + 8 * 3 + 32 + 8 + 4 + 7);
  assert.deepEqual(c.stateMessage(V, 2, 3, H), Buffer.concat([Buffer.from('teevault-state-v1\0'), V,
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 3]), H]));
});

test('session keys: one X25519, both sides agree, the MAC key is not the session key', async () => {
  const s = await c.ready();
  const eph = c.ephemeralKeypair(), vault = c.ephemeralKeypair();
  const f = c.sessionKeys(eph.privateKey, eph.publicKey, vault.publicKey);
  const v = c.deriveSessionKeys(vault.privateKey, eph.publicKey, eph.publicKey, vault.publicKey);
  assert.deepEqual(Buffer.from(f.key), Buffer.from(v.key));
  assert.deepEqual(Buffer.from(f.macKey), Buffer.from(v.macKey));
  assert.notDeepEqual(Buffer.from(f.key), Buffer.from(f.macKey));
  const shared = s.crypto_scalarmult(eph.privateKey, vault.publicKey);
  const tail = Buffer.concat([shared, eph.publicKey, vault.publicKey]);
  assert.deepEqual(Buffer.from(f.key), Buffer.from(s.crypto_generichash(32, Buffer.concat([Buffer.from('teevault-fn-session-key-v1'), tail]))));
  assert.deepEqual(Buffer.from(f.macKey), Buffer.from(s.crypto_generichash(32, Buffer.concat([Buffer.from('teevault-attest-reply-mac-v1'), tail]))));
  assert.deepEqual(Buffer.from(c.sessionKey(eph.privateKey, eph.publicKey, vault.publicKey)), Buffer.from(f.key));
  const msg = Buffer.from('m');
  assert.deepEqual(c.attestReplyMac(f.macKey, msg), Buffer.from(s.crypto_generichash(32, msg, f.macKey)));
});

const { verifyAttestReply, vaultPin } = require('../lib/client');
const NOT_SIGNED = /is not signed by the vault/, OTHER_VAULT = /comes from another vault than the one verified/;
const NOT_CERTIFIED = /session key is not certified by the pinned vault key/, BAD_MAC = /MAC does not verify/;
const now = () => Math.floor(Date.now() / 1000);
let s, sk, vid, pin, nonce, eph, sess, resp;

// A reply as the vault makes it: the session key's certificate signed by
// `signer` (default the pinned key) and the MAC from the vault's side.
function reply({ session = sess, signer = sk, vaultId = vid, skexp = String(now() + 3600), ...fields } = {}) {
  const r = { session_token: 'tvf.x', session_pubkey: Buffer.from(session.publicKey), vault_id: vaultId, expires_at: '1234',
    state_version: '7', audit_seq: '9', audit_head: nodeCrypto.randomBytes(32), session_key_expires_at: skexp, ...fields };
  r.signature = Buffer.from(s.crypto_sign_detached(c.sessionKeyMessage(vaultId, r.session_pubkey, skexp), signer.privateKey));
  const { macKey } = c.deriveSessionKeys(session.privateKey, eph.publicKey, eph.publicKey, session.publicKey); // vault's side
  r.reply_mac = c.attestReplyMac(macKey, c.attestReplyMessage(vaultId, nonce, eph.publicKey, r.session_pubkey, 'fn',
    r.expires_at, r.state_version, r.audit_seq, r.audit_head, skexp, r.session_token));
  return r;
}
const check = (r = resp, { name = 'fn', vault = pin, n = nonce } = {}) =>
  verifyAttestReply(r, { name, nonce: n, ephPk: eph.publicKey, ephSk: eph.privateKey, vault });
const refused = (re, r, o) => assert.throws(() => check(r, o), (e) => e.errorName === 'verify' && e.code === 7 && re.test(e.message));

async function setup() {
  s = await c.ready();
  sk = s.crypto_sign_keypair(); vid = nodeCrypto.randomBytes(32); pin = vaultPin(vid, sk.publicKey);
  nonce = nodeCrypto.randomBytes(32); eph = c.ephemeralKeypair(); sess = c.ephemeralKeypair();
  resp = reply();
}

test('Attest reply: a correct reply verifies and yields the session key', async () => {
  await setup();
  const key = check();
  assert.ok(key instanceof Uint8Array);
  assert.deepEqual(Buffer.from(key), Buffer.from(c.sessionKey(eph.privateKey, eph.publicKey, sess.publicKey)));
  const vk = c.deriveSessionKey(sess.privateKey, eph.publicKey, eph.publicKey, sess.publicKey);
  assert.equal(c.openSealed(key, 'app/k', 3, c.seal(vk, 'app/k', 3, 'v')).toString(), 'v');
  check(reply({ skexp: String(now() - 30) })); // just expired: within the clock skew
});

test('Attest reply: the decoded protobuf message carries fields 11 and 12', async () => {
  await setup();
  const proto = require('../lib/proto');
  const T = proto.type('AttestResponse');
  assert.equal(T.fields.session_key_expires_at.id, 11);
  assert.equal(T.fields.reply_mac.id, 12);
  const wire = T.encode(T.fromObject(resp)).finish();
  check(T.toObject(T.decode(wire), { longs: String, defaults: true, arrays: true }));
});

test('Attest reply: a swapped session key is refused', async () => {
  await setup();
  const other = c.ephemeralKeypair(), stranger = s.crypto_sign_keypair();
  // the relay's own key pair, "certified" by an unrelated key, its MAC correct
  refused(NOT_CERTIFIED, reply({ session: other, signer: stranger }));
  refused(NOT_CERTIFIED, { ...resp, session_pubkey: Buffer.from(other.publicKey) });
  // a certificate extended without the vault's signature
  refused(NOT_CERTIFIED, { ...resp, session_key_expires_at: String(BigInt(resp.session_key_expires_at) + 1n) });
  refused(NOT_CERTIFIED, resp, { vault: vaultPin(vid, stranger.publicKey) }); // signed, but not by the pinned key
});

test('Attest reply: an expired session key is refused', async () => {
  await setup();
  const old = now() - 120;
  refused(new RegExp(`session key expired at ${old} .*60 s`), reply({ skexp: String(old) }));
});

test('Attest reply: an altered reply is refused by its MAC', async () => {
  await setup();
  const mac = Buffer.from(resp.reply_mac); mac[5] ^= 0x10;
  refused(BAD_MAC, { ...resp, reply_mac: mac });
  for (const [k, v] of [['expires_at', '99999'], ['state_version', '8'], ['audit_seq', '10'],
    ['audit_head', nodeCrypto.randomBytes(32)], ['session_token', 'tvf.y']]) {
    refused(BAD_MAC, { ...resp, [k]: v });
  }
  refused(BAD_MAC, resp, { name: 'other-fn' }); // made for another function
  refused(BAD_MAC, resp, { n: nodeCrypto.randomBytes(32) }); // for another challenge
});

test('Attest reply: a missing certificate, MAC or head is refused', async () => {
  await setup();
  for (const k of ['reply_mac', 'signature', 'audit_head']) refused(NOT_SIGNED, { ...resp, [k]: Buffer.alloc(0) });
  const { reply_mac: _, ...noMac } = resp;
  refused(NOT_SIGNED, noMac);
  refused(NOT_SIGNED, { ...resp, reply_mac: resp.reply_mac.subarray(0, 31) });
});

test('Attest reply: another vault is refused', async () => {
  await setup();
  // consistent in itself (certified by the pinned key, MAC correct), but another vault id
  refused(OTHER_VAULT, reply({ vaultId: nodeCrypto.randomBytes(32) }));
});

test('Attest reply: no pin, no token', async () => {
  await setup();
  assert.throws(() => check(resp, { vault: null }), /no vault is pinned/);
  assert.throws(() => vaultPin(Buffer.alloc(32), Buffer.alloc(32)), /non-zero/);
  assert.throws(() => check({ ...resp, session_token: '' }), /no usable session token/);
});
