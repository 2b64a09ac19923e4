/*
 * Placeholder until the audit writer lands: records nothing and reports
 * success, so the server can be built against the final interface.
 */
#include "vault_audit.h"

int vault_audit_submit(struct vault *v, const vault_call *c, int outcome, vault_audit_done_fn done,
                       void *arg)
{
    done(arg, 0);
    return TV_OK;
}

int vault_audit_append_txn(struct vault *v, MDB_txn *txn, const vault_call *c, int outcome)
{
    return TV_OK;
}
