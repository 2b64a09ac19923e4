/*
 * vault_audit: how the server and handlers record decisions (DESIGN.md §6).
 *
 * Every request that reaches a handler produces exactly one audit record.
 * - Writes: the handler's store transaction appends the record itself through
 *   vault_audit_append_txn() and sets c->audited once the transaction committed.
 * - Everything else (reads, denials, errors): after the handler returns the
 *   server calls vault_audit_submit(); the record joins the current group
 *   commit and `done` runs once it is durable (status 0) or failed (< 0). The
 *   server sends the reply only from `done`; on failure it sends an error and
 *   never the value (fail-closed).
 */
#ifndef VAULT_AUDIT_H
#define VAULT_AUDIT_H

#include <lmdb.h>

#include "vault.h"

typedef void (*vault_audit_done_fn)(void *arg, int status);

/* Queue the record for call c with outcome (0 or a tv_err). `done` is called
 * exactly once, possibly before this function returns. Returns 0, or a
 * tv_err when the record could not even be queued (then `done` is not called). */
int vault_audit_submit(struct vault *v, const vault_call *c, int outcome, vault_audit_done_fn done,
                       void *arg) TV_WUR;

/* Append the record for call c with outcome inside the caller's write
 * transaction. The caller commits; if the commit fails, nothing was recorded. */
int vault_audit_append_txn(struct vault *v, MDB_txn *txn, const vault_call *c, int outcome) TV_WUR;

#endif
