/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_rpc: small helpers every rpc_<service>.c handler uses, so each
 * handler says only what is particular to it.
 */
#ifndef VAULT_RPC_H
#define VAULT_RPC_H

#include <lmdb.h>

#include "vault.h"

/* Set c->errmsg (a long reason is cut, never overflows). */
void vault_call_errf(vault_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vault_quote() of a NUL-terminated string. */
void vault_quote_str(char *dst, size_t dstlen, const char *s);

/* r (< 0) as a storage error; c->errmsg is set unless already set. Returns r. */
int vault_call_store_error(vault_call *c, int r);

/* TV_ERR_UNAUTHENTICATED / TV_ERR_DENIED unless the caller is an operator. */
int vault_call_require_operator(vault_call *c) TV_WUR;

/* Begin a read (write = 0) or write transaction on the vault's store.
 * Errors: TV_ERR_NOT_INITIALISED, storage errors (c->errmsg set). */
int vault_call_begin(vault_call *c, MDB_txn **txn, int write) TV_WUR;

/* Append c's audit record inside txn and commit; txn is consumed either way.
 * On success c->audited is set (the server records nothing more). */
int vault_call_commit_audited(vault_call *c, MDB_txn *txn) TV_WUR;

/* The value of request metadata `key` (compared case-insensitively), or
 * NULL. Valid while c->md is (the handler's synchronous part). */
const char *vault_call_md(const vault_call *c, const char *key);

/*
 * Run one request the same way for every transport: the bearer token
 * (metadata "authorization: Bearer ...") is resolved into *principal, the
 * deadline and the method's access flags are checked, the payload is decoded
 * with protobuf-c and protobuf_c_message_check'ed, and m->fn runs. The audit
 * step and the reply are the transport's (the server submits c to the audit
 * writer unless c->audited). The server uses this for ttrpc, gRPC and
 * Connect; fuzz_dispatch drives it directly.
 * m: from the registry (vault_registry.h). c: caller-owned with v, principal
 * (== principal), service, method, peer, transport, md, deadline_us and
 * request_id set. principal: zeroed by the caller; when *token_ok is set on
 * return it holds a resolved principal the caller clears with
 * vault_principal_clear(). out: the reply payload (reset on error).
 * Returns 0 or the call's tv_err (c->errmsg then says why):
 * TV_ERR_NOT_INITIALISED, TV_ERR_UNAUTHENTICATED, TV_ERR_DENIED,
 * TV_ERR_TIMEOUT (deadline already passed), TV_ERR_INVALID (payload), or
 * the handler's error.
 */
int vault_call_run(const vault_method *m, vault_call *c, vault_principal *principal, int *token_ok,
                   const uint8_t *payload, size_t len, proto_buf *out) TV_WUR;

/* CLOCK_MONOTONIC in microseconds (the clock of vault_call.deadline_us). */
uint64_t vault_now_us(void);

/* Pack an empty response. */
int vault_pack_empty(proto_buf *out) TV_WUR;

#endif
