// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The teevault.v1 and ttrpc messages, loaded from the .proto files at run
 * time with protobufjs (nothing generated is committed). The files come from
 * TEEVAULT_PROTO_DIR, the package's proto/ (copied at pack time) or the
 * source tree's proto/.
 */
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');

function protoDir() {
  const cands = [process.env.TEEVAULT_PROTO_DIR, path.join(__dirname, '..', 'proto'),
    path.join(__dirname, '..', '..', '..', 'proto'), '/usr/share/teevault/proto'];
  for (const d of cands) {
    if (d && fs.existsSync(path.join(d, 'teevault.proto'))) return d;
  }
  throw new Error('teevault: cannot find proto/teevault.proto (set TEEVAULT_PROTO_DIR)');
}

let root = null;
function load() {
  if (!root) {
    const d = protoDir();
    root = new protobuf.Root();
    root.loadSync([path.join(d, 'teevault.proto'), path.join(d, 'ttrpc.proto')],
      { keepCase: true });
    root.resolveAll();
  }
  return root;
}

/** The message type `teevault.v1.<name>` (or a fully qualified name). */
function type(name) {
  return load().lookupType(name.includes('.') ? name : 'teevault.v1.' + name);
}

const OBJ = { longs: String, defaults: true, arrays: true };

function encode(name, obj) {
  const t = type(name);
  return Buffer.from(t.encode(t.fromObject(obj || {})).finish());
}

function decode(name, buf) {
  const t = type(name);
  return t.toObject(t.decode(buf), OBJ);
}

module.exports = { protoDir, load, type, encode, decode };
