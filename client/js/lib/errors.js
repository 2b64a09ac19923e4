// SPDX-License-Identifier: Apache-2.0
'use strict';
/* One error type carrying the gRPC code and teevault's ErrorDetail name. */

const CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED',
  'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED'];
const Code = Object.fromEntries(CODE_NAMES.map((n, i) => [n, i]));

class TeevaultError extends Error {
  /**
   * @param {string} message
   * @param {number} code gRPC status code (0 for checks this client made)
   * @param {string} name teevault's error name ("denied", "replay", ...) or the client's own
   */
  constructor(message, code = Code.UNKNOWN, name = '') {
    super(message);
    this.code = code;
    this.errorName = name;
  }
  get codeName() { return CODE_NAMES[this.code] || String(this.code); }
  toString() { return `TeevaultError: ${this.message} (${this.codeName}${this.errorName ? ', ' + this.errorName : ''})`; }
}
TeevaultError.prototype.name = 'TeevaultError';

module.exports = { TeevaultError, Code, CODE_NAMES };
