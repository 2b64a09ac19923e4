// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The same as client_fn_get.py with the Node.js client:
 *   node client_fn_get.js ADDR PLATFORM_DIR MEASUREMENT_FILE CODE_FILE FN SECRET
 */
const fs = require('node:fs');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const T = require(path.join(__dirname, '..', '..', 'client', 'js'));

const [addr, plat, mfile, cfile, fn, secret] = process.argv.slice(2);
const sha = (f) => nodeCrypto.createHash('sha256').update(fs.readFileSync(f)).digest();
(async () => {
  const c = new T.Client({ addr, token: '', transport: 'ttrpc' });
  const rep = await c.verifyVault({ simPlatformPk: fs.readFileSync(path.join(plat, 'sim_platform.pub')) });
  console.error('vault verified');
  const s = await c.attestFunction(fn, sha(cfile), new T.SimProducer(plat, { measurement: sha(mfile) }), rep);
  process.stdout.write((await s.secrets.get(secret)).toString());
  c.close();
})().catch((e) => { console.error(String(e)); process.exit(1); });
