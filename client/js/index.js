// SPDX-License-Identifier: Apache-2.0
'use strict';
/* teevault: Node.js client for the teevault secrets vault. */
const { Client, FunctionSession, verifyAttestReply, vaultPin } = require('./lib/client');
const { TeevaultError, Code } = require('./lib/errors');
const evidence = require('./lib/evidence');
const crypto = require('./lib/crypto');

module.exports = {
  version: require('./package.json').version,
  Client, FunctionSession, verifyAttestReply, vaultPin, TeevaultError, Code,
  SimProducer: evidence.SimProducer, GramineProducer: evidence.GramineProducer,
  TsmProducer: evidence.TsmProducer, DstackProducer: evidence.DstackProducer,
  openProducer: evidence.openProducer, crypto,
};
