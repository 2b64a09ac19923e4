#include "vault_rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "teevault.pb-c.h"
#include "vault_audit.h"
#include "vault_db.h"

void vault_call_errf(vault_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
    va_end(ap);
}

void vault_quote_str(char *dst, size_t dstlen, const char *s)
{
    vault_quote(dst, dstlen, s, strlen(s));
}

int vault_call_store_error(vault_call *c, int r)
{
    if (!c->errmsg[0])
        snprintf(c->errmsg, sizeof(c->errmsg), "storage error: %s", tv_strerror(r));
    return r;
}

int vault_call_require_operator(vault_call *c)
{
    if (c->principal->kind != VAULT_PRINCIPAL_OPERATOR) {
        snprintf(c->errmsg, sizeof(c->errmsg), "this method needs an operator token");
        return c->principal->kind == VAULT_PRINCIPAL_NONE ? TV_ERR_UNAUTHENTICATED : TV_ERR_DENIED;
    }
    return 0;
}

int vault_call_begin(vault_call *c, MDB_txn **txn, int write)
{
    int r;
    if (!c->v || !c->v->db) {
        snprintf(c->errmsg, sizeof(c->errmsg), "the vault is not initialised");
        return TV_ERR_NOT_INITIALISED;
    }
    r = write ? vault_db_wtxn(c->v->db, txn) : vault_db_rtxn(c->v->db, txn);
    return r < 0 ? vault_call_store_error(c, r) : 0;
}

int vault_call_commit_audited(vault_call *c, MDB_txn *txn)
{
    int r = vault_audit_append_txn(c->v, txn, c, 0);
    if (r < 0) {
        mdb_txn_abort(txn);
        snprintf(c->errmsg, sizeof(c->errmsg), "audit record could not be written: %s",
                 tv_strerror(r));
        return r;
    }
    if ((r = vault_db_commit(txn)) < 0)
        return vault_call_store_error(c, r);
    c->audited = 1;
    return 0;
}

int vault_pack_empty(proto_buf *out)
{
    Teevault__V1__Empty e;
    teevault__v1__empty__init(&e);
    return vault_pack(out, &e.base);
}
