// SPDX-License-Identifier: Apache-2.0
'use strict';
/* Evidence producers against fixture trees, a FIFO-served configfs-tsm entry and a fake dstack agent. */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const c = require('../lib/crypto');
const E = require('../lib/evidence');
const F = require('./fixtures');

function tmp(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tv-jsev-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}
const rd = () => nodeCrypto.randomBytes(64);

test('sim producer signs with the platform key; bad key files refused', async (t) => {
  const s = await c.ready();
  const d = tmp(t), seed = nodeCrypto.randomBytes(32), r = rd();
  const p = new E.SimProducer(d, { measurement: Buffer.alloc(32, 5), svn: 2 });
  await assert.rejects(p.evidence(r), /no sim platform key/);
  F.put(d + '/sim_platform.key', seed, 0o644);
  await assert.rejects(p.evidence(r), /owner only/);
  fs.unlinkSync(d + '/sim_platform.key');
  F.put(d + '/real.key', seed);
  fs.symlinkSync(d + '/real.key', d + '/sim_platform.key');
  await assert.rejects(p.evidence(r), /no sim platform key/);
  fs.unlinkSync(d + '/sim_platform.key');
  F.put(d + '/sim_platform.key', seed);
  const { evidence, type } = await p.evidence(r);
  assert.equal(type, 'sim');
  const rep = c.simReportVerify(evidence, s.crypto_sign_seed_keypair(seed).publicKey);
  assert.deepEqual(Buffer.from(rep.reportData), r);
  assert.equal(rep.svn, 2);
});

test('gramine: writes user_report_data, checks the quote binds it', async (t) => {
  await c.ready();
  const d = tmp(t), r = rd();
  F.put(d + '/user_report_data', ''); F.put(d + '/quote', F.sgxQuote(r)); F.put(d + '/attestation_type', 'dcap\n');
  const { evidence, type } = await new E.GramineProducer(d).evidence(r);
  assert.equal(type, 'sgx');
  assert.deepEqual(evidence, F.sgxQuote(r));
  assert.deepEqual(fs.readFileSync(d + '/user_report_data'), r);
  F.put(d + '/quote', F.sgxQuote(rd())); // stale
  await assert.rejects(new E.GramineProducer(d).evidence(r), (e) => e.errorName === 'integrity');
  F.put(d + '/quote', Buffer.alloc(E.EVIDENCE_MAX + 1));
  await assert.rejects(new E.GramineProducer(d).evidence(r), (e) => e.errorName === 'too_large');
  F.put(d + '/attestation_type', 'epid\n');
  assert.throws(() => new E.GramineProducer(d), /not dcap/);
  fs.unlinkSync(d + '/quote');
  fs.unlinkSync(d + '/attestation_type');
  assert.throws(() => new E.GramineProducer(d), /missing/);
});

test('tsm: generation protocol, providers, races, retries', async (t) => {
  await c.ready();
  const d = tmp(t), r = rd(), p = new E.TsmProducer(d);
  F.tsmEntry(d + '/e1', 'tdx_guest', F.tdxQuote(r), 7, 8);
  assert.deepEqual(p.reportInEntry(d + '/e1', r), { evidence: F.tdxQuote(r), type: 'tdx' });
  F.tsmEntry(d + '/e2', 'sev_guest', F.snpReport(r), 1, 2, 'CERTS');
  const snp = p.reportInEntry(d + '/e2', r);
  assert.equal(snp.type, 'snp');
  assert.deepEqual(snp.evidence, Buffer.concat([F.snpReport(r), Buffer.from('CERTS')]));
  F.tsmEntry(d + '/race', 'tdx_guest', F.tdxQuote(r), 7, 9);
  assert.throws(() => p.reportInEntry(d + '/race', r), (e) => e.errorName === 'unavailable');
  F.tsmEntry(d + '/stale', 'tdx_guest', F.tdxQuote(rd()), 1, 2);
  assert.throws(() => p.reportInEntry(d + '/stale', r), (e) => e.errorName === 'integrity');
  F.tsmEntry(d + '/prov', 'arm_cca', F.tdxQuote(r), 1, 2);
  assert.throws(() => p.reportInEntry(d + '/prov', r), /provider/);
  // backend: the first entry raced, the second is good
  E.TsmProducer.setNextEntry(500);
  F.tsmEntry(`${d}/teevault-${process.pid}-500`, 'tdx_guest', F.tdxQuote(r), 3, 5);
  F.tsmEntry(`${d}/teevault-${process.pid}-501`, 'tdx_guest', F.tdxQuote(r), 3, 4);
  assert.equal((await p.evidence(r)).type, 'tdx');
  // three races: give up
  E.TsmProducer.setNextEntry(600);
  for (const n of [600, 601, 602]) F.tsmEntry(`${d}/teevault-${process.pid}-${n}`, 'tdx_guest', F.tdxQuote(r), 1, 3);
  await assert.rejects(p.evidence(r), (e) => e.errorName === 'unavailable');
  assert.throws(() => new E.TsmProducer(d + '/nope'), /no configfs-tsm/);
});

test('dstack: GetQuote over the agent socket, plain and chunked; refusals', async (t) => {
  await c.ready();
  const d = tmp(t), r = rd();
  for (const mode of ['ok', 'chunked']) {
    const a = await F.fakeDstack(d + '/ds.sock', mode);
    const { evidence, type } = await new E.DstackProducer(d + '/ds.sock').evidence(r);
    assert.equal(type, 'tdx');
    assert.deepEqual(evidence, F.tdxQuote(r));
    assert.equal(a.targets.at(-1), '/GetQuote?report_data=' + r.toString('hex'));
    await a.close();
  }
  for (const [mode, re] of [['500', /HTTP 500/], ['badjson', /not JSON/], ['wrongrd', /report_data/], ['huge', /exceeds/]]) {
    const a = await F.fakeDstack(d + '/ds.sock', mode);
    await assert.rejects(new E.DstackProducer(d + '/ds.sock').evidence(r), re);
    await a.close();
  }
  await assert.rejects(new E.DstackProducer(d + '/absent.sock').evidence(r), /cannot reach/);
});
