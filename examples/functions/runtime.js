#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * A small function runtime: attests to teevault as the runtime (the sim TEE
 * in development), then runs one untrusted JavaScript function in the QuickJS
 * sandbox (sandbox.js) with `secrets.get` bound to its attested session.
 *
 *   node runtime.js --name price-feed --code functions/fetch_price.js \
 *        --entry fetchPriceData --args '["NEO"]' --tee sim --tee-root DIR
 *   node runtime.js --print-measurement      the sim measurement to pin
 *   node runtime.js --print-code-hash FILE   the code hash to pin
 *
 * Identity: in sim, the runtime's measurement is SHA-256 over its own files
 * (runtime.js, sandbox.js, sandbox_worker.js); the function's code hash is
 * SHA-256 of the code file. The operator registers the function with both
 * pinned; anything else is refused at Attest.
 * Output: the function's result as JSON on stdout. Exit 0 ok, 1 refused or
 * failed, 2 usage, 3 stopped by a sandbox limit.
 */
const fs = require('node:fs');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const T = require(process.env.TEEVAULT_JS_CLIENT || path.join(__dirname, '..', '..', 'client', 'js'));
const sandbox = require('./sandbox');

const RUNTIME_FILES = ['runtime.js', 'sandbox.js', 'sandbox_worker.js'];

function measurement() {
  const h = nodeCrypto.createHash('sha256');
  for (const f of RUNTIME_FILES) h.update(fs.readFileSync(path.join(__dirname, f)));
  return h.digest();
}
const codeHash = (file) => nodeCrypto.createHash('sha256').update(fs.readFileSync(file)).digest();

function usage(msg) {
  if (msg) console.error('runtime.js: ' + msg);
  console.error('usage: runtime.js --name NAME --code FILE --entry FN [--args JSON] [--addr ADDR] [--transport grpc|ttrpc]\n' +
    '                  [--tee sim|gramine-sgx|tsm|dstack] [--tee-root DIR] [--vault-pin VAULT_ID_HEX:SIGN_KEY_HEX]\n' +
    '                  [--time-limit-ms N] [--memory-limit-mb N]\n' +
    '       runtime.js --print-measurement | --print-code-hash FILE');
  process.exit(2);
}

function parse(argv) {
  const o = { tee: 'sim', entry: 'main', args: '[]', timeLimitMs: 2000, memoryLimitMb: 32 };
  const map = { '--name': 'name', '--code': 'code', '--entry': 'entry', '--args': 'args', '--addr': 'addr', '--transport': 'transport',
    '--tee': 'tee', '--tee-root': 'teeRoot', '--vault-pin': 'vaultPin', '--time-limit-ms': 'timeLimitMs', '--memory-limit-mb': 'memoryLimitMb', '--print-code-hash': 'printCodeHash' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--print-measurement') { o.printMeasurement = true; continue; }
    const k = map[argv[i]];
    if (!k || i + 1 >= argv.length) usage(`unknown or incomplete option ${JSON.stringify(argv[i])}`);
    o[k] = argv[++i];
  }
  return o;
}

async function main() {
  const o = parse(process.argv.slice(2));
  if (o.printMeasurement) return console.log(measurement().toString('hex'));
  if (o.printCodeHash) return console.log(codeHash(o.printCodeHash).toString('hex'));
  if (!o.name || !o.code) usage('--name and --code are required');
  let args;
  try { args = JSON.parse(o.args); } catch (_) { usage('--args must be a JSON array'); }
  if (!Array.isArray(args)) usage('--args must be a JSON array');
  const code = fs.readFileSync(o.code, 'utf8');

  const vault = new T.Client({ addr: o.addr, token: '', transport: o.transport });
  let report;
  if (o.tee === 'sim') {
    if (!o.teeRoot) usage('--tee sim needs --tee-root (the vault\'s sim platform dir)');
    console.error('runtime: sim TEE: NO hardware protection (development only)');
    report = await vault.verifyVault({ simPlatformPk: fs.readFileSync(path.join(o.teeRoot, 'sim_platform.pub')) });
    console.error(`runtime: vault verified (sim report, audit seq ${report.auditSeq})`);
  } else {
    // The JavaScript client cannot verify a hardware report: the vault's
    // signing identity must be pinned from a report verified elsewhere
    // (e.g. `teevault attest vault` with libteevault).
    const m = /^([0-9a-f]{64}):([0-9a-f]{64})$/i.exec(o.vaultPin || '');
    if (!m) usage(`--tee ${o.tee} needs --vault-pin VAULT_ID_HEX:SIGN_KEY_HEX (from a report verified with libteevault)`);
    report = T.vaultPin(Buffer.from(m[1], 'hex'), Buffer.from(m[2], 'hex'));
  }
  const producer = T.openProducer(o.tee, o.teeRoot, { measurement: measurement() });
  const session = await vault.attestFunction(o.name, codeHash(o.code), producer, report);
  console.error(`runtime: attested as function ${JSON.stringify(o.name)}; session until ${new Date(session.expiresAt * 1000).toISOString()}`);
  try {
    const result = await sandbox.run(code, o.entry, args, (n) => session.secrets.get(n),
      { timeLimitMs: Number(o.timeLimitMs), memoryLimit: Number(o.memoryLimitMb) * 1024 * 1024 });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    session.close();
    vault.close();
  }
}

main().catch((e) => {
  console.error('runtime: ' + (e instanceof sandbox.SandboxError ? `function stopped (${e.kind}): ${e.message}` : String(e)));
  process.exit(e instanceof sandbox.SandboxError && e.kind !== 'error' ? 3 : 1);
});
