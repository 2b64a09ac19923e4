// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * Transports: gRPC over HTTP/2 (@grpc/grpc-js) and ttrpc, the same messages.
 * Addresses as libteevault's TEEVAULT_ADDR: "unix:/path/to.sock" or
 * "tls://host:port" (TLS, the server verified against `cafile`). Both send
 * the token as `authorization: Bearer <token>` and reject with TeevaultError
 * (gRPC code + teevault's ErrorDetail name).
 */
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const grpc = require('@grpc/grpc-js');
const proto = require('./proto');
const { TeevaultError, Code } = require('./errors');

const PACKAGE = 'teevault.v1';
const TTRPC_MAX_FRAME = 4 * 1024 * 1024;

function parseAddr(addr) {
  if (typeof addr !== 'string') throw new TeevaultError('no vault address', Code.INVALID_ARGUMENT, 'invalid');
  if (addr.startsWith('unix:')) {
    let p = addr.slice(5);
    if (p.startsWith('//')) p = p.slice(2);
    if (!p) throw new TeevaultError(`empty unix socket path in ${JSON.stringify(addr)}`, Code.INVALID_ARGUMENT, 'invalid');
    return { kind: 'unix', path: p };
  }
  if (addr.startsWith('tls://')) {
    const hp = addr.slice(6);
    const i = hp.lastIndexOf(':');
    if (i <= 0) throw new TeevaultError(`tls address needs host:port: ${JSON.stringify(addr)}`, Code.INVALID_ARGUMENT, 'invalid');
    return { kind: 'tls', host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)), hostport: hp };
  }
  throw new TeevaultError(`address must be unix:/path or tls://host:port, not ${JSON.stringify(addr)}`, Code.INVALID_ARGUMENT, 'invalid');
}

/** google.rpc.Status / ttrpc.Status bytes (same field numbers) -> TeevaultError. */
function errorFromStatus(raw, code, message) {
  let name = '';
  if (raw && raw.length) {
    try {
      const st = proto.decode('ttrpc.Status', raw);
      for (const d of st.details) {
        if (d.type_url.endsWith('teevault.v1.ErrorDetail')) name = proto.decode('ErrorDetail', d.value).name;
      }
    } catch (_) { name = ''; } // a malformed detail only loses the name
  }
  return new TeevaultError(message || 'call failed', code, name);
}

class GrpcTransport {
  constructor(addr, opts = {}) {
    const a = parseAddr(addr);
    let target, creds;
    const options = {};
    if (a.kind === 'unix') {
      target = 'unix:' + a.path;
      creds = grpc.credentials.createInsecure();
    } else {
      target = a.hostport;
      creds = grpc.credentials.createSsl(opts.cafile ? fs.readFileSync(opts.cafile) : null);
      if (opts.serverName) options['grpc.ssl_target_name_override'] = opts.serverName;
    }
    this.client = new grpc.Client(target, creds, options);
  }

  call(service, method, reqType, req, respType, token, timeoutMs) {
    const md = new grpc.Metadata();
    if (token) md.set('authorization', 'Bearer ' + token);
    const opts = timeoutMs ? { deadline: Date.now() + timeoutMs } : {};
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(`/${PACKAGE}.${service}/${method}`,
        (o) => proto.encode(reqType, o), (b) => proto.decode(respType, b), req, md, opts,
        (err, resp) => {
          if (!err) return resolve(resp);
          const raw = err.metadata ? err.metadata.get('grpc-status-details-bin')[0] : undefined;
          reject(errorFromStatus(raw, typeof err.code === 'number' ? err.code : Code.INTERNAL, err.details || err.message));
        });
    });
  }

  close() { this.client.close(); }
}

class TtrpcTransport {
  constructor(addr, opts = {}) {
    this.addr = parseAddr(addr);
    this.opts = opts;
    this.sock = null;
    this.sid = 1;
    this.pending = new Map();
    this.buf = Buffer.alloc(0);
  }

  _connect() {
    if (this.sock) return this.ready;
    const a = this.addr;
    this.sock = a.kind === 'unix' ? net.connect(a.path)
      : tls.connect({ host: a.host, port: a.port, servername: this.opts.serverName || (net.isIP(a.host) ? undefined : a.host),
        ca: this.opts.cafile ? fs.readFileSync(this.opts.cafile) : undefined, minVersion: 'TLSv1.3' });
    this.ready = new Promise((resolve, reject) => {
      this.sock.once(a.kind === 'unix' ? 'connect' : 'secureConnect', resolve);
      this.sock.once('error', reject);
    });
    // Referenced while connecting and while calls are pending; an idle
    // connection never keeps the process alive (unref'd after each reply).
    this.sock.on('data', (d) => this._data(d));
    const fail = (e) => {
      const err = new TeevaultError(`connection to the vault failed: ${e ? e.message : 'closed'}`, Code.UNAVAILABLE, 'unavailable');
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.sock = null;
    };
    this.sock.on('error', fail);
    this.sock.on('close', () => fail(null));
    return this.ready.catch((e) => { throw new TeevaultError(`cannot connect to the vault: ${e.message}`, Code.UNAVAILABLE, 'unavailable'); });
  }

  _data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 10) {
      const len = this.buf.readUInt32BE(0), sid = this.buf.readUInt32BE(4), typ = this.buf[8];
      if (len > TTRPC_MAX_FRAME) { this.sock.destroy(new Error('reply frame over 4 MiB')); return; }
      if (this.buf.length < 10 + len) return;
      const body = this.buf.subarray(10, 10 + len);
      this.buf = this.buf.subarray(10 + len);
      const p = this.pending.get(sid);
      if (!p || typ !== 2) continue;
      this.pending.delete(sid);
      if (!this.pending.size) this.sock.unref();
      p.resolve(body);
    }
  }

  async call(service, method, reqType, req, respType, token, timeoutMs) {
    await this._connect();
    const sid = this.sid;
    this.sid += 2;
    const env = { service: `${PACKAGE}.${service}`, method, payload: proto.encode(reqType, req), metadata: [] };
    if (token) env.metadata.push({ key: 'authorization', value: 'Bearer ' + token });
    if (timeoutMs) env.timeout_nano = String(BigInt(timeoutMs) * 1000000n);
    const body = proto.encode('ttrpc.Request', env);
    const hdr = Buffer.alloc(10);
    hdr.writeUInt32BE(body.length, 0);
    hdr.writeUInt32BE(sid, 4);
    hdr[8] = 1;
    const reply = await new Promise((resolve, reject) => {
      this.pending.set(sid, { resolve, reject });
      this.sock.ref();
      this.sock.write(Buffer.concat([hdr, body]));
    });
    const r = proto.decode('ttrpc.Response', reply);
    if (r.status && r.status.code) {
      throw errorFromStatus(proto.encode('ttrpc.Status', r.status), r.status.code, r.status.message);
    }
    return proto.decode(respType, r.payload);
  }

  close() { if (this.sock) this.sock.end(); this.sock = null; }
}

function openTransport(addr, transport = 'grpc', opts = {}) {
  if (transport === 'grpc') return new GrpcTransport(addr, opts);
  if (transport === 'ttrpc') return new TtrpcTransport(addr, opts);
  throw new TeevaultError(`unknown transport ${JSON.stringify(transport)} (grpc, ttrpc)`, Code.INVALID_ARGUMENT, 'invalid');
}

module.exports = { parseAddr, errorFromStatus, GrpcTransport, TtrpcTransport, openTransport };
