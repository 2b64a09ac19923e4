// SPDX-License-Identifier: Apache-2.0
'use strict';
/* The QuickJS sandbox's limits and capabilities (sandbox.js): attacker functions. */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const S = require('../sandbox');

const denied = async () => { throw new Error('permission denied'); };
const stopped = (kind) => (e) => e instanceof S.SandboxError && e.kind === kind;

test('the seed function runs and gets exactly its secret', async () => {
  const seen = [];
  const code = fs.readFileSync(path.join(__dirname, '..', 'functions', 'fetch_price.js'), 'utf8');
  const r = await S.run(code, 'fetchPriceData', ['NEO'], async (n) => { seen.push(n); return 'k-1'; });
  assert.deepEqual(r, { url: 'https://api.exchange.example/prices/NEO', headers: { Authorization: 'Bearer k-1' } });
  assert.deepEqual(seen, ['app/price-feed/exchange_api_key']);
});

test('a function that loops forever is stopped at the time limit', async () => {
  const t0 = Date.now();
  await assert.rejects(S.run('function f(){ for(;;){} }', 'f', [], denied, { timeLimitMs: 300 }), stopped('timeout'));
  assert.ok(Date.now() - t0 < 15000);
});

test('a function stuck in a builtin is stopped by the host (worker terminated)', async () => {
  // One huge builtin call never returns to the interpreter's interrupt check.
  await assert.rejects(S.run('function f(){ const a=[]; for(;;) a.push(new Array(200000).fill(1)); }', 'f', [], denied,
    { timeLimitMs: 300, memoryLimit: 512 * 1024 * 1024 }), (e) => e instanceof S.SandboxError && ['timeout', 'memory'].includes(e.kind));
});

test('a function that allocates too much is stopped at the memory limit', async () => {
  // 16 MiB ArrayBuffers: the WebAssembly-memory cap or the RSS watch stops
  // it within a few allocations (a loop of 1 MiB strings ran into a 10 s
  // time limit on a loaded machine); the time limit is far away.
  await assert.rejects(S.run('function f(){ const a=[]; for(;;) a.push(new ArrayBuffer(1<<24)); }', 'f', [], denied,
    { memoryLimit: 8 * 1024 * 1024, timeLimitMs: 60000 }), stopped('memory'));
  await assert.rejects(S.run('function f(){ return new ArrayBuffer(1<<30).byteLength; }', 'f', [], denied,
    { memoryLimit: 8 * 1024 * 1024, timeLimitMs: 60000 }), stopped('memory'));
  await assert.rejects(S.run('function f(){ return f() + 1; }', 'f', [], denied), stopped('memory')); // stack
});

test('nothing but secrets.get is reachable', async () => {
  const r = await S.run(`function f(){
    const g = (0, eval)('this');
    return { names: Object.getOwnPropertyNames(g).filter((n) => !/^[A-Z]/.test(n)).sort(),
      require: typeof require, process: typeof process, fs: typeof fs, fetch: typeof fetch, std: typeof std,
      os: typeof os, setTimeout: typeof setTimeout, console: typeof console, secretsKeys: Object.keys(secrets) };
  }`, 'f', [], denied);
  for (const k of ['require', 'process', 'fs', 'fetch', 'std', 'os', 'setTimeout', 'console']) assert.equal(r[k], 'undefined', k);
  assert.deepEqual(r.secretsKeys, ['get']);
  // the global object holds the language's own builtins, secrets and nothing from Node
  for (const n of r.names) assert.ok(['secrets', 'globalThis', 'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'decodeURI',
    'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'eval', 'undefined', 'NaN', 'Infinity', 'f'].includes(n), n);
  // Function constructor escapes stay inside the VM
  const esc = await S.run("function f(){ return typeof (Function('return this')()).process; }", 'f', [], denied);
  assert.equal(esc, 'undefined');
  await assert.rejects(S.run("function f(){ return require('fs'); }", 'f', [], denied), /'require' is not defined/);
});

test('a refused read surfaces as an error inside the function, with no value', async () => {
  const r = await S.run("function f(){ try { return secrets.get('app/other'); } catch (e) { return 'refused: ' + e.message; } }", 'f', [], denied);
  assert.equal(r, 'refused: secrets.get("app/other"): permission denied');
  await assert.rejects(S.run('function f(){ for(let i=0;i<100;i++) secrets.get("x" + i); }', 'f', [], async () => 'v'), /too many secrets.get/);
  await assert.rejects(S.run('function f(){ return 1 }', 'f; process.exit()', [], denied), /bad entry point/);
});
