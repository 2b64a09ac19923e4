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

/* Pack an empty response. */
int vault_pack_empty(proto_buf *out) TV_WUR;

#endif
