// SPDX-License-Identifier: Apache-2.0
'use strict';
/* teevault client: operator calls with a token, and the attested function path. */
const crypto = require('./crypto');
const { openTransport } = require('./transport');
const { TeevaultError, Code } = require('./errors');

const MAX_NAME = 512, MAX_FN_NAME = 100, MAX_CODE_HASH = 64;
const b = (x) => Buffer.from(x || []);

class Client {
  /**
   * @param {object} [o]
   * @param {string} [o.addr] "unix:/path" or "tls://host:port" (default $TEEVAULT_ADDR)
   * @param {string} [o.token] operator token (default $TEEVAULT_TOKEN)
   * @param {'grpc'|'ttrpc'} [o.transport] default $TEEVAULT_TRANSPORT or grpc
   */
  constructor(o = {}) {
    const addr = o.addr || process.env.TEEVAULT_ADDR;
    if (!addr) throw new TeevaultError('no vault address (addr or TEEVAULT_ADDR)', Code.INVALID_ARGUMENT, 'invalid');
    this.token = o.token !== undefined ? o.token : process.env.TEEVAULT_TOKEN;
    this.timeoutMs = o.timeoutMs || 30000;
    this.transport = openTransport(addr, o.transport || process.env.TEEVAULT_TRANSPORT || 'grpc',
      { cafile: o.cafile || process.env.TEEVAULT_CACERT, serverName: o.serverName });
    const call = this.call.bind(this);
    this.kv = {
      async put(name, value, { cas } = {}) {
        const req = { name, value: Buffer.from(value) };
        if (cas !== undefined) Object.assign(req, { cas_set: true, cas: String(cas) });
        return Number((await call('Secrets', 'Put', 'PutRequest', req, 'PutResponse')).version);
      },
      async get(name, version = 0) {
        const r = await call('Secrets', 'Get', 'GetRequest', { name, version: String(version) }, 'GetResponse');
        return { name: r.name, version: Number(r.version), value: b(r.value) };
      },
      async list(prefix = '', { limit = 0 } = {}) {
        const out = [];
        let cursor = '';
        for (;;) {
          const r = await call('Secrets', 'List', 'ListRequest', { prefix, cursor }, 'ListResponse');
          out.push(...r.names);
          cursor = r.next_cursor;
          if (!cursor || (limit && out.length >= limit)) return limit ? out.slice(0, limit) : out;
        }
      },
    };
    this.policies = {
      async write(name, document) { await call('Policies', 'Write', 'PolicyDocument', { name, document }, 'Empty'); },
    };
    this.functions = {
      async register(name, identityPolicy, aclPolicies = []) {
        await call('Functions', 'Write', 'FunctionInfo', { name, policy: identityPolicy, acl_policies: aclPolicies }, 'Empty');
      },
    };
    this.audit = {
      async list({ since = 0, principal = '', secret = '', limit = 100 } = {}) {
        return (await call('Audit', 'List', 'AuditListRequest', { since: String(since), principal, secret, limit }, 'AuditListResponse')).records;
      },
    };
  }

  call(service, method, reqType, req, respType, token) {
    return this.transport.call(service, method, reqType, req, respType,
      token !== undefined ? token : this.token, this.timeoutMs);
  }

  close() { this.transport.close(); }

  status() { return this.call('Sys', 'Status', 'Empty', {}, 'StatusResponse'); }

  /**
   * Attestation.Report over a fresh nonce, verified as tv_attest_verify_vault
   * does. sim evidence is checked against the pinned sim platform key;
   * hardware evidence is refused by this client (README "Limits").
   */
  async verifyVault({ simPlatformPk, measurement, allowDebug = false } = {}) {
    await crypto.ready();
    const nonce = crypto.randomBytes(32);
    const r = await this.call('Attestation', 'Report', 'ReportRequest', { nonce }, 'ReportResponse', '');
    const [apk, ph, ah, ev] = [b(r.audit_pubkey), b(r.policy_hash), b(r.audit_head), b(r.evidence)];
    const vErr = (m, n = 'verify') => new TeevaultError(m, Code.PERMISSION_DENIED, n);
    if ((r.report_version || 0) !== crypto.REPORT_VERSION) throw vErr(`the vault's report is version ${r.report_version || 0}; this client verifies version ${crypto.REPORT_VERSION}`, 'format');
    if ([apk, ph, ah, b(r.vault_id), b(r.sign_pubkey), b(r.config_hash), b(r.tls_key_hash)].some((x) => x.length !== 32)) throw new TeevaultError("the vault's report lacks a field of Report v2", 0, 'protocol');
    const type = crypto.detectType(ev);
    if (!type || type !== r.evidence_type) throw vErr("the vault's evidence is not of the type it claims", 'format');
    if (type !== 'sim') throw vErr(`${type} evidence: hardware report verification is not implemented in the JavaScript client (use libteevault)`, 'unimplemented');
    if (!simPlatformPk) throw vErr('the vault runs on the sim backend (no hardware protection) and no sim platform key is pinned', 'policy');
    const rep = crypto.simReportVerify(ev, b(simPlatformPk));
    if (rep.debug && !allowDebug) throw vErr('debug sim report refused by policy', 'policy');
    if (!crypto.ctEqual(rep.reportData, crypto.reportBinding(nonce, r))) {
      throw vErr("the vault's evidence does not bind this nonce and its audit key");
    }
    if (measurement && !crypto.ctEqual(b(measurement), rep.measurement)) throw vErr("the vault's measurement is not the pinned one", 'policy');
    const vaultId = b(r.vault_id), signPubkey = b(r.sign_pubkey);
    // An initialised vault signs its state with the key the report binds.
    if (vaultId.some((x) => x) && !crypto.ed25519Verify(signPubkey,
      crypto.stateMessage(vaultId, r.state_version, r.audit_seq, ah), r.state_signature)) {
      throw vErr("the vault's state checkpoint is not signed by its bound signing key");
    }
    return { evidenceType: type, debug: rep.debug, measurement: b(rep.measurement), auditPubkey: apk, policyHash: ph, auditHead: ah,
      auditSeq: Number(r.audit_seq), vaultId, signPubkey, stateVersion: Number(r.state_version) };
  }

  async challenge() {
    const r = await this.call('Attestation', 'Challenge', 'Empty', {}, 'ChallengeResponse', '');
    if (b(r.nonce).length !== 32) throw new TeevaultError("the vault's challenge is not 32 bytes", 0, 'protocol');
    return b(r.nonce);
  }

  /**
   * Challenge -> ephemeral X25519 -> evidence over the binding -> Attest -> session.
   * @param {string} name function name
   * @param {Uint8Array} codeHash the function's code hash
   * @param {{evidence(rd: Buffer): Promise<{evidence: Buffer, type: string}>}} producer
   * @param {object} [vault] the result of verifyVault() (or vaultPin()), for verifyAttestReply
   */
  async attestFunction(name, codeHash, producer, vault) {
    await crypto.ready();
    if (!name || Buffer.byteLength(name) > MAX_FN_NAME) throw new TeevaultError(`function name must be 1-${MAX_FN_NAME} bytes`, Code.INVALID_ARGUMENT, 'invalid');
    if (b(codeHash).length > MAX_CODE_HASH) throw new TeevaultError(`code hash longer than ${MAX_CODE_HASH} bytes`, Code.INVALID_ARGUMENT, 'invalid');
    // Before the Challenge: nothing is sent to an unverified vault.
    if (!vault || !b(vault.signPubkey).some((x) => x)) throw noPin();
    const nonce = await this.challenge();
    const eph = crypto.ephemeralKeypair();
    let r, key;
    try {
      const rd = crypto.attestBinding(nonce, name, b(codeHash), eph.publicKey);
      const { evidence, type } = await producer.evidence(rd);
      r = await this.call('Attestation', 'Attest', 'AttestRequest', { evidence, evidence_type: type,
        function_name: name, code_hash: b(codeHash), eph_pubkey: b(eph.publicKey), nonce }, 'AttestResponse', '');
      key = verifyAttestReply(r, { name, nonce, ephPk: eph.publicKey, ephSk: eph.privateKey, vault });
    } finally {
      crypto.wipe(eph.privateKey); // only the session key outlives Attest
    }
    return new FunctionSession(this, name, r.session_token, key, Number(r.expires_at));
  }
}

const noPin = () => new TeevaultError('no vault is pinned: verify the vault first (verifyVault) or pin its key (vaultPin)', Code.PERMISSION_DENIED, 'policy');

/** A pin from a vault id and signing key known out of band (as tv_client_pin_vault). */
function vaultPin(vaultId, signPubkey) {
  vaultId = b(vaultId); signPubkey = b(signPubkey);
  if (vaultId.length !== 32 || signPubkey.length !== 32 || !vaultId.some((x) => x) || !signPubkey.some((x) => x)) {
    throw new TeevaultError('a vault pin is a non-zero 32-byte vault id and signing key', Code.INVALID_ARGUMENT, 'invalid');
  }
  return { evidenceType: 'pinned', vaultId, signPubkey };
}

/**
 * Everything the client checks on an AttestResponse before trusting it, as
 * libteevault's check_reply (docs/ATTESTATION.md "The certified session key and the reply MAC"); returns
 * the session key (a Uint8Array the caller wipes):
 * - a usable token and session key, a pinned vault, and the vault id of the
 *   pinned vault;
 * - the session key's certificate: `signature`, the vault's Ed25519 signature
 *   by the pinned key (the one its verified Report binds) over
 *   "teevault-session-key-v1\0" || vault_id || session_pubkey ||
 *   i64be session_key_expires_at, not expired by more than SESSION_KEY_SKEW
 *   seconds on this host's clock;
 * - `reply_mac`, keyed BLAKE2b-256 under the MAC key that only the holders of
 *   the session secret key and of ephSk derive (crypto.sessionKeys, the same
 *   X25519 as the session key) over "teevault-attest-reply-v2\0" || vault_id ||
 *   nonce || eph_pk || session_pubkey || len||name || expires_at ||
 *   state_version || audit_seq || audit_head || session_key_expires_at ||
 *   len||session_token.
 * A relay that swaps the session key, strips the certificate or MAC, replays
 * an expired session key, alters the reply or answers for another vault is
 * refused (errorName 'verify').
 */
function verifyAttestReply(resp, { name, nonce, ephPk, ephSk, vault }) {
  const tok = resp.session_token;
  const vErr = (m) => new TeevaultError(m, Code.PERMISSION_DENIED, 'verify');
  if (!tok || tok.length > 128) throw new TeevaultError('the vault returned no usable session token', 0, 'protocol');
  if (b(resp.session_pubkey).length !== 32) throw new TeevaultError('the vault returned no session public key (a vault older than this client?)', 0, 'protocol');
  if (!vault || !b(vault.signPubkey).some((x) => x)) throw noPin();
  if (b(resp.signature).length !== 64 || b(resp.vault_id).length !== 32 || b(resp.audit_head).length !== 32 ||
      b(resp.reply_mac).length !== crypto.REPLY_MAC_LEN) {
    throw vErr('the Attest reply is not signed by the vault (no signature: a vault older than this client, or a relay in between)');
  }
  if (!crypto.ctEqual(resp.vault_id, vault.vaultId)) throw vErr('the Attest reply comes from another vault than the one verified');
  const spk = b(resp.session_pubkey), exp = BigInt(resp.session_key_expires_at || 0);
  if (!crypto.ed25519Verify(vault.signPubkey, crypto.sessionKeyMessage(resp.vault_id, spk, exp), resp.signature)) {
    throw vErr("the Attest reply's session key is not certified by the pinned vault key (session key swapped: a relay in between?)");
  }
  if (BigInt(Math.floor(Date.now() / 1000)) > exp + BigInt(crypto.SESSION_KEY_SKEW)) {
    throw vErr(`the Attest reply's session key expired at ${exp} (a replayed key, or this host's clock is off by more than ${crypto.SESSION_KEY_SKEW} s)`);
  }
  const { key, macKey } = crypto.sessionKeys(ephSk, ephPk, spk);
  let ok = false;
  try {
    const msg = crypto.attestReplyMessage(resp.vault_id, nonce, ephPk, spk, name, resp.expires_at,
      resp.state_version, resp.audit_seq, resp.audit_head, exp, tok);
    ok = crypto.ctEqual(crypto.attestReplyMac(macKey, msg), resp.reply_mac);
  } finally {
    crypto.wipe(macKey);
    if (!ok) crypto.wipe(key); // only a verified reply's session key is used
  }
  if (!ok) throw vErr("the Attest reply's MAC does not verify (reply forged or altered: a relay in between?)");
  return key;
}

class FunctionSession {
  constructor(client, name, token, key, expiresAt) {
    this.functionName = name;
    this.expiresAt = expiresAt;
    let k = key, t = token;
    /** Secrets.Get with the session token; returns the opened value (Buffer). */
    this.get = async (secret) => {
      if (!k) throw new TeevaultError('the function session is closed', 0, 'invalid');
      if (!secret || Buffer.byteLength(secret) > MAX_NAME) throw new TeevaultError(`secret name must be 1-${MAX_NAME} bytes`, Code.INVALID_ARGUMENT, 'invalid');
      if (this.expiresAt && Date.now() / 1000 >= this.expiresAt) throw new TeevaultError('the function session has expired; attest again', 0, 'expired');
      const r = await client.call('Secrets', 'Get', 'GetRequest', { name: secret }, 'GetResponse', t);
      if (b(r.value).length) throw new TeevaultError('the vault sent an unsealed value to a function session', 0, 'protocol');
      // Opened as the name asked for and the version the vault says it read.
      return crypto.openSealed(k, secret, r.version, r.sealed_value);
    };
    this.close = () => { if (k) crypto.wipe(k); k = null; t = null; };
    this.secrets = { get: this.get };
  }
}

module.exports = { Client, FunctionSession, verifyAttestReply, vaultPin };
