// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The function path's cryptography, byte for byte as libteevault does it
 * (docs/ATTESTATION.md; C: seal/seal_producers.c bindings, seal/seal_fnget.c
 * session key and AEAD, seal/seal_sim_report.c the sim report). libsodium
 * through libsodium-wrappers; SHA-2 from node:crypto. Call `await ready()`
 * before anything else.
 */
const nodeCrypto = require('node:crypto');
const _sodium = require('libsodium-wrappers');
const { TeevaultError, Code } = require('./errors');

let sodium = null;
async function ready() {
  await _sodium.ready;
  sodium = _sodium;
  return sodium;
}
function S() {
  if (!sodium) throw new Error('teevault: await crypto.ready() first');
  return sodium;
}

const ATTEST_DOMAIN = Buffer.from('teevault-attest-v1');
const REPORT_DOMAIN = Buffer.from('teevault-report-v2');
const REPORT_VERSION = 2; // ReportResponse.report_version (docs/ATTESTATION.md "Report v2")
const SESSION_KDF_LABEL = Buffer.from('teevault-fn-session-key-v1');
const REPLY_MAC_LABEL = Buffer.from('teevault-attest-reply-mac-v1');
const GET_AAD_LABEL = Buffer.from('teevault-get-v1');
const NONCE_LEN = 24, TAG_LEN = 16;

function be32(n) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }
function be64(n) { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; }
function bei64(n) { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(n || 0)); return b; }
function lp(b) { return Buffer.concat([be32(b.length), b]); }
const buf = (x) => Buffer.isBuffer(x) ? x : Buffer.from(x || []);

function attestBinding(nonce, name, codeHash, ephPk) {
  if (nonce.length !== 32 || ephPk.length !== 32) throw new TeevaultError('nonce and eph_pk must be 32 bytes', Code.INVALID_ARGUMENT, 'invalid');
  return nodeCrypto.createHash('sha512').update(Buffer.concat([ATTEST_DOMAIN, buf(nonce),
    lp(Buffer.from(name)), lp(buf(codeHash)), buf(ephPk)])).digest();
}

/** report_data of the vault's Report v2 (seal_report_binding_v2) over ReportResponse r. */
function reportBinding(nonce, r) {
  return nodeCrypto.createHash('sha512').update(Buffer.concat([REPORT_DOMAIN, buf(nonce),
    buf(r.vault_id), buf(r.sign_pubkey), buf(r.config_hash), buf(r.tls_key_hash),
    buf(r.audit_pubkey), buf(r.policy_hash), buf(r.audit_head), be64(r.audit_seq || 0),
    be64(r.state_version || 0)])).digest();
}

const STATE_DOMAIN = Buffer.from('teevault-state-v1\0');
const SESSION_KEY_DOMAIN = Buffer.from('teevault-session-key-v1\0');
const ATTEST_REPLY_DOMAIN = Buffer.from('teevault-attest-reply-v2\0');
const SESSION_KEY_SKEW = 60; // seconds a certified session key is accepted past its expiry
const REPLY_MAC_LEN = 32;

/** What the vault's state signature covers (seal_state_message). */
function stateMessage(vaultId, stateVersion, auditSeq, auditHead) {
  return Buffer.concat([STATE_DOMAIN, buf(vaultId), be64(stateVersion || 0), be64(auditSeq || 0), buf(auditHead)]);
}

/**
 * The certificate of a vault session key pair that the vault signs once per
 * pair, AttestResponse.signature (seal_session_key_message).
 */
function sessionKeyMessage(vaultId, sessionPk, expiresAt) {
  return Buffer.concat([SESSION_KEY_DOMAIN, buf(vaultId), buf(sessionPk), bei64(expiresAt)]);
}

/** What an Attest reply's MAC covers, AttestResponse.reply_mac (seal_attest_reply_message). */
function attestReplyMessage(vaultId, nonce, ephPk, sessionPk, name, expiresAt, stateVersion, auditSeq, auditHead,
  sessionKeyExpiresAt, token) {
  return Buffer.concat([ATTEST_REPLY_DOMAIN, buf(vaultId), buf(nonce), buf(ephPk), buf(sessionPk),
    lp(Buffer.from(name)), bei64(expiresAt), be64(stateVersion || 0), be64(auditSeq || 0), buf(auditHead),
    bei64(sessionKeyExpiresAt), lp(Buffer.from(token || ''))]);
}

/** seal_attest_reply_mac: BLAKE2b-256 keyed with the reply's MAC key. */
function attestReplyMac(macKey, msg) { return Buffer.from(S().crypto_generichash(REPLY_MAC_LEN, buf(msg), macKey)); }

function ed25519Verify(pk, msg, sig) {
  pk = buf(pk); sig = buf(sig);
  if (pk.length !== 32 || sig.length !== 64) return false;
  try { return S().crypto_sign_verify_detached(sig, msg, pk); } catch (_) { return false; }
}

/** A fresh X25519 pair {publicKey, privateKey} (Uint8Array; wipe privateKey with wipe()). */
function ephemeralKeypair() { return S().crypto_box_keypair(); }

function wipe(a) { if (a) S().memzero(a); }

/**
 * seal_fn_session_key: { key, macKey }, the session key and the Attest reply's
 * MAC key, each BLAKE2b-256(label || X25519(mySk, peerPk) || ephPk || sessionPk)
 * from the one X25519 (labels SESSION_KDF_LABEL, REPLY_MAC_LABEL). The
 * function passes (ephSk, sessionPk), the vault (sessionSk, ephPk). The caller
 * wipes both.
 */
function deriveSessionKeys(mySk, peerPk, ephPk, sessionPk) {
  if (!peerPk || peerPk.length !== 32 || ephPk.length !== 32 || sessionPk.length !== 32) {
    throw new TeevaultError('the vault returned no 32-byte session public key (a vault older than this client?)', 0, 'protocol');
  }
  let shared;
  try {
    shared = S().crypto_scalarmult(mySk, peerPk);
  } catch (_) { // libsodium refuses an all-zero result: a low-order point
    throw new TeevaultError("the peer's X25519 key is unusable (low-order point)", 0, 'protocol');
  }
  const kdf = (label) => {
    const input = Buffer.concat([label, shared, buf(ephPk), buf(sessionPk)]);
    try { return S().crypto_generichash(32, input); } finally { S().memzero(input); }
  };
  try {
    return { key: kdf(SESSION_KDF_LABEL), macKey: kdf(REPLY_MAC_LABEL) };
  } finally {
    S().memzero(shared);
  }
}

/** The session key alone (deriveSessionKeys; the MAC key is wiped). */
function deriveSessionKey(mySk, peerPk, ephPk, sessionPk) {
  const { key, macKey } = deriveSessionKeys(mySk, peerPk, ephPk, sessionPk);
  S().memzero(macKey);
  return key;
}

/** The function's side of { key, macKey }. */
function sessionKeys(ephSk, ephPk, sessionPk) { return deriveSessionKeys(ephSk, sessionPk, ephPk, sessionPk); }

/** The function's side of the session key. */
function sessionKey(ephSk, ephPk, sessionPk) { return deriveSessionKey(ephSk, sessionPk, ephPk, sessionPk); }

function getAad(name, version) { return Buffer.concat([GET_AAD_LABEL, lp(Buffer.from(name)), be64(version)]); }

/** Open GetResponse.sealed_value as `name` at `version`; TeevaultError "integrity" otherwise. */
function openSealed(key, name, version, sealed) {
  sealed = buf(sealed);
  if (sealed.length < NONCE_LEN + TAG_LEN) throw new TeevaultError('the vault sent no sealed value', 0, 'protocol');
  try {
    return Buffer.from(S().crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(NONCE_LEN),
      getAad(name, version), sealed.subarray(0, NONCE_LEN), key));
  } catch (_) {
    throw new TeevaultError(`the sealed value does not open with this session's key for ${JSON.stringify(name)}`, Code.DATA_LOSS, 'integrity');
  }
}

/** The vault's side (seal_fn_get_seal); for tests. */
function seal(key, name, version, value) {
  const nonce = S().randombytes_buf(NONCE_LEN);
  return Buffer.concat([nonce, S().crypto_aead_xchacha20poly1305_ietf_encrypt(buf(value), getAad(name, version), null, nonce, key)]);
}

function ctEqual(a, b) {
  a = buf(a); b = buf(b);
  return a.length === b.length && nodeCrypto.timingSafeEqual(a, b);
}

function randomBytes(n) { return Buffer.from(S().randombytes_buf(n)); }

// ---------------------------------------------------------------- sim report
// 240 bytes, big-endian (docs/ATTESTATION.md "The sim report").
const SIM_MAGIC = Buffer.from('TVSIMRPT');
const SIM_DOMAIN = Buffer.from('teevault-sim-report-v1\0');
const SIM_REPORT_LEN = 240, SIM_SIGNED_LEN = 176, SIM_VERSION = 1, SIM_FLAG_DEBUG = 1;

function simReportProduce(seed, measurement, signer, reportData, svn = 0, debug = false) {
  if (measurement.length !== 32 || signer.length !== 32 || reportData.length !== 64) {
    throw new TeevaultError('sim identity must be 32-byte measurement and signer', 0, 'invalid');
  }
  const kp = S().crypto_sign_seed_keypair(seed);
  const hdr = Buffer.alloc(8);
  hdr.writeUInt16BE(SIM_VERSION, 0);
  hdr[2] = debug ? SIM_FLAG_DEBUG : 0;
  hdr.writeUInt16BE(svn, 4);
  const body = Buffer.concat([SIM_MAGIC, hdr, buf(measurement), buf(signer), buf(reportData), Buffer.from(kp.publicKey)]);
  const sig = S().crypto_sign_detached(Buffer.concat([SIM_DOMAIN, body]), kp.privateKey);
  S().memzero(kp.privateKey);
  return Buffer.concat([body, Buffer.from(sig)]);
}

function vErr(msg, name = 'verify') { return new TeevaultError(msg, Code.PERMISSION_DENIED, name); }

function simReportParse(ev) {
  ev = buf(ev);
  if (ev.length !== SIM_REPORT_LEN || !ev.subarray(0, 8).equals(SIM_MAGIC)) throw vErr('not a sim report (bad length or magic)', 'format');
  const version = ev.readUInt16BE(8), flags = ev[10];
  if (version !== SIM_VERSION || (flags & ~SIM_FLAG_DEBUG) || ev[11] || ev.readUInt16BE(14)) {
    throw vErr('not a sim report (bad version or reserved bits)', 'format');
  }
  return { version, debug: !!(flags & SIM_FLAG_DEBUG), svn: ev.readUInt16BE(12),
    measurement: ev.subarray(16, 48), signer: ev.subarray(48, 80), reportData: ev.subarray(80, 144),
    platformPk: ev.subarray(144, 176) };
}

/** Parse and check the signature with the *pinned* platform key. */
function simReportVerify(ev, pinnedPk) {
  const r = simReportParse(ev);
  if (!pinnedPk || pinnedPk.length !== 32 || !ctEqual(r.platformPk, pinnedPk) ||
      !S().crypto_sign_verify_detached(buf(ev).subarray(SIM_SIGNED_LEN),
        Buffer.concat([SIM_DOMAIN, buf(ev).subarray(0, SIM_SIGNED_LEN)]), pinnedPk)) {
    throw vErr('sim report signature does not verify with the pinned platform key');
  }
  return r;
}

// ------------------------------------------------- hardware evidence bodies
const QUOTE_HEADER_LEN = 48, SGX_BODY_LEN = 384, TD10_BODY_LEN = 584, SNP_REPORT_LEN = 0x4A0;

/** Claims parsed from an (unverified) evidence body, as seal_evidence_identity. */
function evidenceIdentity(type, ev) {
  ev = buf(ev);
  const fmt = () => new TeevaultError(`evidence is not a well-formed ${type} body`, 0, 'format');
  if (type === 'sgx') {
    if (ev.length < QUOTE_HEADER_LEN + SGX_BODY_LEN || ev.readUInt16LE(0) !== 3 || ev.readUInt32LE(4) !== 0) throw fmt();
    const b = QUOTE_HEADER_LEN;
    return { measurement: ev.subarray(b + 64, b + 96), signer: ev.subarray(b + 128, b + 160),
      svn: ev.readUInt16LE(b + 258), debug: !!(ev.readBigUInt64LE(b + 48) & 2n), reportData: ev.subarray(b + 320, b + 384) };
  }
  if (type === 'tdx') {
    if (ev.length < QUOTE_HEADER_LEN || ev.readUInt32LE(4) !== 0x81) throw fmt();
    let b;
    const ver = ev.readUInt16LE(0);
    if (ver === 4) {
      if (ev.length - QUOTE_HEADER_LEN < TD10_BODY_LEN) throw fmt();
      b = QUOTE_HEADER_LEN;
    } else if (ver === 5) {
      if (ev.length - QUOTE_HEADER_LEN < 6) throw fmt();
      const btype = ev.readUInt16LE(QUOTE_HEADER_LEN), bsize = ev.readUInt32LE(QUOTE_HEADER_LEN + 2);
      if ((btype !== 2 && btype !== 3) || bsize < TD10_BODY_LEN || ev.length - QUOTE_HEADER_LEN - 6 < bsize) throw fmt();
      b = QUOTE_HEADER_LEN + 6;
    } else throw fmt();
    return { measurement: ev.subarray(b + 136, b + 184), signer: ev.subarray(b + 232, b + 280), svn: 0,
      debug: !!(ev.readBigUInt64LE(b + 120) & 1n), reportData: ev.subarray(b + 520, b + 584) };
  }
  if (type === 'snp') {
    if (ev.length < SNP_REPORT_LEN) throw fmt();
    const v = ev.readUInt32LE(0);
    if (v < 2 || v > 5) throw fmt();
    return { measurement: ev.subarray(0x90, 0xC0), signer: ev.subarray(0xE0, 0x110), svn: ev.readUInt32LE(4) & 0xffff,
      debug: !!(ev.readBigUInt64LE(8) & (1n << 19n)), reportData: ev.subarray(0x50, 0x90) };
  }
  if (type === 'sim') {
    const r = simReportParse(ev);
    return { measurement: r.measurement, signer: r.signer, svn: r.svn, debug: r.debug, reportData: r.reportData };
  }
  throw new TeevaultError(`unknown evidence type ${JSON.stringify(type)}`, Code.INVALID_ARGUMENT, 'invalid');
}

/** The evidence must carry exactly the report_data we asked for. */
function checkBound(type, ev, reportData) {
  if (!ctEqual(evidenceIdentity(type, ev).reportData, reportData)) {
    throw new TeevaultError(`the ${type} evidence does not carry the requested report_data (stale or substituted)`, Code.DATA_LOSS, 'integrity');
  }
}

/** Evidence type from its shape, as seal_evidence_detect (SNP cert table not parsed). */
function detectType(ev) {
  ev = buf(ev);
  if (ev.length === SIM_REPORT_LEN && ev.subarray(0, 8).equals(SIM_MAGIC)) return 'sim';
  if (ev.length >= SNP_REPORT_LEN && [2, 3, 5].includes(ev.readUInt32LE(0)) && ev.readUInt32LE(0x34) === 1) return 'snp';
  if (ev.length >= QUOTE_HEADER_LEN && ev.readUInt16LE(2) === 2) {
    const v = ev.readUInt16LE(0), tee = ev.readUInt32LE(4);
    if (v === 3 && tee === 0) return 'sgx';
    if ((v === 4 || v === 5) && tee === 0x81) return 'tdx';
    if ((v === 4 || v === 5) && tee === 0) return 'sgx';
  }
  return null;
}

module.exports = { ready, REPORT_VERSION, SESSION_KEY_SKEW, REPLY_MAC_LEN, stateMessage, sessionKeyMessage, attestReplyMessage,
  attestReplyMac, ed25519Verify, attestBinding, reportBinding, ephemeralKeypair, wipe, deriveSessionKeys, deriveSessionKey,
  sessionKeys, sessionKey,
  getAad, openSealed, seal, ctEqual, randomBytes, simReportProduce, simReportParse, simReportVerify,
  evidenceIdentity, checkBound, detectType, SIM_REPORT_LEN };
