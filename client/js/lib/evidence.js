// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * Evidence producers: the runtime's TEE signs report_data. The same file and
 * socket protocols as seal/backend_{sim,gramine,tsm,dstack}.c (see
 * docs/ATTESTATION.md "Evidence producers"); every producer checks that what
 * it got back carries the report_data it asked for.
 */
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const crypto = require('./crypto');
const { TeevaultError, Code } = require('./errors');

const EVIDENCE_MAX = 256 * 1024;
const DSTACK_RESP_MAX = 2 * EVIDENCE_MAX + 64 * 1024;
const DSTACK_TIMEOUT_MS = 30000;
const TSM_RETRIES = 3;
const SIM_DEFAULT_SIGNER = 'teevault-sim-signer';

const err = (msg, name = 'io', code = Code.UNAVAILABLE) => new TeevaultError(msg, code, name);

/** Whole file up to EOF, at most `limit` bytes (more is an error, never truncated). */
function readBounded(p, limit) {
  const fd = fs.openSync(p, 'r');
  try {
    const chunks = [];
    let total = 0;
    for (;;) {
      const b = Buffer.alloc(Math.min(65536, limit + 1 - total) || 1);
      const n = fs.readSync(fd, b, 0, b.length, null);
      if (n === 0) return Buffer.concat(chunks, total);
      chunks.push(b.subarray(0, n));
      total += n;
      if (total > limit) throw err(`${p} is larger than ${limit} bytes`, 'too_large');
    }
  } finally { fs.closeSync(fd); }
}

/** One write to a pre-existing attribute file (never created), committed on close. */
function writeExisting(p, data) {
  const fd = fs.openSync(p, fs.constants.O_WRONLY);
  try {
    if (fs.writeSync(fd, data) !== data.length) throw err(`short write to ${p}`);
  } finally { fs.closeSync(fd); }
}

const sha256 = (b) => nodeCrypto.createHash('sha256').update(b).digest();

/** The sim TEE: NO hardware protection; whoever reads the key file forges reports. */
class SimProducer {
  constructor(platformDir, { measurement, measurementFile, signer = SIM_DEFAULT_SIGNER, svn = 0, debug = false } = {}) {
    if (!platformDir) throw err('the sim TEE needs its platform dir (the vault\'s)', 'invalid', Code.INVALID_ARGUMENT);
    this.name = 'sim';
    this.platformDir = platformDir;
    this.measurement = measurement ? Buffer.from(measurement) : sha256(fs.readFileSync(measurementFile || process.execPath));
    if (this.measurement.length !== 32) throw err('a sim measurement is 32 bytes', 'invalid', Code.INVALID_ARGUMENT);
    this.signer = sha256(Buffer.from(signer));
    this.svn = svn;
    this.debug = debug;
  }

  _seed() {
    const p = path.join(this.platformDir, 'sim_platform.key');
    let fd;
    try {
      fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (e) {
      throw err(`no sim platform key at ${p} (${e.code}): point the runtime at the vault's sim platform dir`);
    }
    try {
      const st = fs.fstatSync(fd);
      // Same rule as seal_sim_report.c: a key others can read is no key.
      if (!st.isFile() || (st.mode & 0o077) || st.size !== 32) throw err(`${p} must be a 32-byte file readable by its owner only`);
      const seed = Buffer.alloc(32);
      if (fs.readSync(fd, seed, 0, 32, 0) !== 32) throw err(`short read of ${p}`);
      return seed;
    } finally { fs.closeSync(fd); }
  }

  async evidence(reportData) {
    const seed = this._seed();
    try {
      return { evidence: crypto.simReportProduce(seed, this.measurement, this.signer, reportData, this.svn, this.debug), type: 'sim' };
    } finally { seed.fill(0); }
  }
}

/** Gramine's /dev/attestation pseudo-files (DCAP). */
class GramineProducer {
  constructor(root = '/dev/attestation') {
    this.name = 'gramine-sgx';
    this.root = root;
    let att = null;
    try { att = readBounded(path.join(root, 'attestation_type'), 64).toString().trim(); } catch (e) { if (e.code !== 'ENOENT') throw e; }
    if (att !== null && att !== 'dcap') throw err(`Gramine attestation_type is ${JSON.stringify(att)}, not dcap`);
    for (const f of ['quote', 'user_report_data']) {
      if (!fs.existsSync(path.join(root, f))) throw err(`${root}/${f} is missing: not inside Gramine with attestation`);
    }
  }

  async evidence(reportData) {
    // Synchronous write + read: nothing else in this process interleaves
    // between them (user_report_data is process-global state in Gramine).
    writeExisting(path.join(this.root, 'user_report_data'), reportData);
    const q = readBounded(path.join(this.root, 'quote'), EVIDENCE_MAX);
    crypto.checkBound('sgx', q, reportData);
    return { evidence: q, type: 'sgx' };
  }
}

let tsmCounter = 0;

/** Linux configfs-tsm reports (TDX, SEV-SNP). */
class TsmProducer {
  constructor(root = '/sys/kernel/config/tsm/report') {
    this.name = 'tsm';
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw err(`${root} is not a directory: no configfs-tsm here`);
    this.root = root;
  }

  static _gen(entry) {
    const raw = readBounded(path.join(entry, 'generation'), 32).toString();
    const s = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    if (!/^[0-9]+$/.test(s)) throw err(`${entry}/generation is not a number`, 'format');
    return BigInt(s);
  }

  reportInEntry(entry, reportData) {
    const g0 = TsmProducer._gen(entry);
    writeExisting(path.join(entry, 'inblob'), reportData);
    let blob = readBounded(path.join(entry, 'outblob'), EVIDENCE_MAX);
    let aux = Buffer.alloc(0);
    try { aux = readBounded(path.join(entry, 'auxblob'), EVIDENCE_MAX); } catch (e) { if (e.code !== 'ENOENT') throw e; }
    if (TsmProducer._gen(entry) !== g0 + 1n) throw err('configfs-tsm generation moved: another writer raced us', 'unavailable');
    if (!blob.length) throw err('empty outblob', 'format');
    const prov = readBounded(path.join(entry, 'provider'), 64).toString().replace(/\n$/, '');
    const type = { tdx_guest: 'tdx', sev_guest: 'snp' }[prov];
    if (!type) throw err(`unknown configfs-tsm provider ${JSON.stringify(prov)}`, 'format');
    crypto.checkBound(type, blob, reportData);
    if (type === 'snp' && aux.length) {
      if (aux.length > EVIDENCE_MAX - blob.length) throw err(`SNP report and certificates exceed ${EVIDENCE_MAX} bytes`, 'too_large');
      blob = Buffer.concat([blob, aux]); // report || certificate table
    }
    return { evidence: blob, type };
  }

  async evidence(reportData) {
    let last = null;
    for (let i = 0; i < TSM_RETRIES; i++) {
      const entry = path.join(this.root, `teevault-${process.pid}-${TsmProducer.nextEntry()}`);
      try { fs.mkdirSync(entry, 0o700); } catch (e) { if (e.code !== 'EEXIST') throw e; }
      try {
        return this.reportInEntry(entry, reportData);
      } catch (e) {
        if (e.errorName !== 'unavailable') throw e;
        last = e;
      } finally {
        try { fs.rmdirSync(entry); } catch (_) { /* nothing secret is left */ }
      }
    }
    throw last;
  }
}
TsmProducer.nextEntry = () => tsmCounter++;
TsmProducer.setNextEntry = (n) => { tsmCounter = n; };

/** Status 200 and the body (Content-Length or chunked), as seal_http_parse_response. */
function httpParseResponse(resp) {
  if (resp.length < 12 || resp.subarray(0, 7).toString() !== 'HTTP/1.' || resp[8] !== 0x20 || !/^[0-9]{3}$/.test(resp.subarray(9, 12).toString())) {
    throw err("the agent's reply is not HTTP/1.x", 'protocol');
  }
  const end = resp.indexOf('\r\n\r\n');
  if (end < 0) throw err("the agent's reply has no end of headers", 'protocol');
  const status = Number(resp.subarray(9, 12).toString());
  if (status !== 200) throw err(`the agent answered HTTP ${status}`, 'unavailable');
  const headers = {};
  for (const line of resp.subarray(0, end).toString('latin1').split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = resp.subarray(end + 4);
  if ((headers['transfer-encoding'] || '').toLowerCase().endsWith('chunked')) {
    const out = [];
    let i = 0;
    for (;;) {
      const eol = body.indexOf('\n', i);
      if (eol < 0) throw err('truncated chunked body', 'protocol');
      const txt = body.subarray(i, eol).toString('latin1').split(';')[0].trim();
      if (!/^[0-9a-fA-F]{1,15}$/.test(txt)) throw err('bad chunk size', 'protocol');
      const size = parseInt(txt, 16);
      i = eol + 1;
      if (size === 0) return Buffer.concat(out);
      if (body.length - i < size + 2 || body[i + size] !== 13 || body[i + size + 1] !== 10) throw err('truncated chunk', 'protocol');
      out.push(body.subarray(i, i + size));
      i += size + 2;
    }
  }
  if ('content-length' in headers) {
    const cl = headers['content-length'];
    if (!/^[0-9]{1,10}$/.test(cl) || Number(cl) > body.length) throw err('bad or unmet Content-Length', 'protocol');
    return body.subarray(0, Number(cl));
  }
  return body;
}

/** The dstack guest agent's HTTP API on its Unix socket. */
class DstackProducer {
  constructor(sock = '/var/run/dstack.sock') {
    this.name = 'dstack';
    this.sock = sock;
  }

  get(target) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let total = 0, done = false;
      const s = net.connect(this.sock);
      const finish = (e, v) => { if (done) return; done = true; s.destroy(); e ? reject(e) : resolve(v); };
      s.setTimeout(DSTACK_TIMEOUT_MS, () => finish(err(`the dstack agent did not answer in ${DSTACK_TIMEOUT_MS / 1000} s`, 'timeout')));
      s.on('connect', () => s.write(`GET ${target} HTTP/1.1\r\nHost: dstack\r\nAccept: application/json\r\nConnection: close\r\n\r\n`));
      s.on('data', (d) => {
        total += d.length;
        if (total > DSTACK_RESP_MAX) return finish(err(`the agent's reply exceeds ${DSTACK_RESP_MAX} bytes`, 'too_large'));
        chunks.push(d);
      });
      s.on('error', (e) => finish(err(`cannot reach the dstack agent at ${this.sock}: ${e.code || e.message}`)));
      s.on('end', () => { try { finish(null, httpParseResponse(Buffer.concat(chunks))); } catch (e) { finish(e); } });
    });
  }

  async evidence(reportData) {
    const body = await this.get('/GetQuote?report_data=' + Buffer.from(reportData).toString('hex'));
    let doc;
    try { doc = JSON.parse(body.toString()); } catch (_) { throw err("the agent's reply is not JSON", 'format'); }
    if (!doc || typeof doc !== 'object' || typeof doc.quote !== 'string') throw err("the agent's reply has no \"quote\" string", 'format');
    const hex = doc.quote.startsWith('0x') ? doc.quote.slice(2) : doc.quote;
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw err("the agent's \"quote\" is not hex", 'format');
    const q = Buffer.from(hex, 'hex');
    if (q.length > EVIDENCE_MAX) throw err(`quote larger than ${EVIDENCE_MAX} bytes`, 'too_large');
    crypto.checkBound('tdx', q, reportData);
    return { evidence: q, type: 'tdx' };
  }
}

/** By backend name: sim (root = platform dir), gramine-sgx, tsm, dstack. */
function openProducer(tee, root, simOpts = {}) {
  switch (tee) {
    case 'sim': return new SimProducer(root, simOpts);
    case 'gramine': case 'gramine-sgx': return new GramineProducer(root || undefined);
    case 'tsm': return new TsmProducer(root || undefined);
    case 'dstack': return new DstackProducer(root || undefined);
    default: throw err(`unknown TEE backend ${JSON.stringify(tee)} (sim, gramine-sgx, tsm, dstack)`, 'invalid', Code.INVALID_ARGUMENT);
  }
}

module.exports = { SimProducer, GramineProducer, TsmProducer, DstackProducer, openProducer, httpParseResponse, readBounded, EVIDENCE_MAX };
