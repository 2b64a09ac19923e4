// SPDX-License-Identifier: Apache-2.0
'use strict';
/* Fixture shapes as tests/unit/test_evidence_producers.c and client/python/tests/fixtures.py. */
const fs = require('node:fs');
const net = require('node:net');
const { execFileSync, spawn } = require('node:child_process');

function sgxQuote(rd) {
  const q = Buffer.alloc(48 + 384 + 4);
  q.writeUInt16LE(3, 0); q.writeUInt16LE(2, 2); q.writeUInt32LE(0, 4);
  q.fill(0x11, 48 + 64, 48 + 96);
  Buffer.from(rd).copy(q, 48 + 320);
  return q;
}
function tdxQuote(rd) {
  const q = Buffer.alloc(48 + 584 + 4);
  q.writeUInt16LE(4, 0); q.writeUInt16LE(2, 2); q.writeUInt32LE(0x81, 4);
  q.fill(0x33, 48 + 136, 48 + 184);
  Buffer.from(rd).copy(q, 48 + 520);
  return q;
}
function snpReport(rd) {
  const r = Buffer.alloc(0x4A0);
  r.writeUInt32LE(2, 0); r.writeUInt32LE(1, 0x34);
  Buffer.from(rd).copy(r, 0x50);
  return r;
}
function put(p, data, mode = 0o600) { fs.writeFileSync(p, data); fs.chmodSync(p, mode); }

/*
 * configfs-tsm entry whose `generation` is a FIFO. Node's fs is synchronous
 * on the test's own thread, so the FIFO is served by a small helper process
 * (the same protocol as the C test: the first value to the first reader, the
 * second once inblob holds 64 bytes).
 */
function tsmEntry(entry, provider, outblob, g0, g1, aux) {
  fs.mkdirSync(entry, { recursive: true });
  put(entry + '/inblob', '');
  put(entry + '/outblob', outblob);
  put(entry + '/provider', provider + '\n');
  if (aux) put(entry + '/auxblob', aux);
  execFileSync('mkfifo', [entry + '/generation']);
  const helper = `
    const fs = require('fs'), e = process.argv[1];
    const serve = (v) => { const fd = fs.openSync(e + '/generation', 'w'); fs.writeSync(fd, v + '\\n'); fs.closeSync(fd); };
    serve(process.argv[2]);
    const t0 = Date.now();
    const wait = () => { try { if (fs.statSync(e + '/inblob').size === 64) return serve(process.argv[3]); } catch (_) {}
      if (Date.now() - t0 < 5000) setTimeout(wait, 1); };
    wait();`;
  const p = spawn(process.execPath, ['-e', helper, entry, String(g0), String(g1)], { stdio: 'ignore' });
  return p;
}

/** The dstack agent's GetQuote on a Unix socket; mode picks a misbehaviour. */
function fakeDstack(path, mode = 'ok') {
  const targets = [];
  const srv = net.createServer((c) => {
    let req = '';
    c.on('data', (d) => {
      req += d.toString('latin1');
      if (!req.includes('\r\n\r\n')) return;
      const target = req.split(' ')[1];
      targets.push(target);
      const reply = (status, body, chunked) => {
        if (chunked) {
          const h = Math.floor(body.length / 2);
          c.end(`HTTP/1.1 ${status}\r\nTransfer-Encoding: chunked\r\n\r\n${h.toString(16)}\r\n${body.slice(0, h)}\r\n` +
            `${(body.length - h).toString(16).toUpperCase()};ext=1\r\n${body.slice(h)}\r\n0\r\n\r\n`);
        } else c.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      };
      if (mode === '500') return reply('500 Internal Server Error', '{"error":"no"}');
      if (mode === 'badjson') return reply('200 OK', '{"quote": 12,');
      if (mode === 'huge') {
        c.write('HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n');
        const big = Buffer.alloc(1024 * 1024, 'a');
        c.on('error', () => {});
        return c.end(big);
      }
      const rd = Buffer.from(target.split('report_data=')[1], 'hex');
      if (mode === 'wrongrd') rd[0] ^= 1;
      reply('200 OK', JSON.stringify({ quote: '0x' + tdxQuote(rd).toString('hex'), event_log: '[]' }), mode === 'chunked');
    });
  });
  return new Promise((resolve) => srv.listen(path, () => resolve({ srv, targets, close: () => new Promise((r) => srv.close(r)) })));
}

module.exports = { sgxQuote, tdxQuote, snpReport, put, tsmEntry, fakeDstack };
