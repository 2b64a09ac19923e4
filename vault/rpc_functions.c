/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rpc_functions: the teevault.v1.Functions service (function identities).
 *
 * Access (operators only):
 *   Write            admin on "sys/function/<name>" and the grant rule for
 *                    every ACL policy it binds (vault_acl_may_grant): a
 *                    function may receive only what its registrar holds
 *   Delete           admin on "sys/function/<name>"
 *   With operator plaintext reads off, Write and Delete are refused: they
 *   decide who can receive plaintext, so they go through governance
 *   (rpc_governance.c: propose, sign offline, apply with a quorum).
 *   Show             admin or read on "sys/function/<name>"
 *   List             admin or list on "sys/function"
 * Writes append their audit record in their own transaction (c->audited).
 * Write and Delete drop the function's live sessions: a re-registered
 * function must attest again under its new identity policy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_rpc.h"
#include "vault_acl.h"
#include "vault_attest.h"
#include "vault_audit.h"
#include "vault_db.h"
#include "vault_functions.h"
#include "vault_governance.h"

/* Direct function changes only while operators may read plaintext anyway. */
static int no_quorum_needed(vault_call *c)
{
    if (!vault_gov_required(c->v))
        return 0;
    vault_call_errf(c, "permission denied: with operator_plaintext_reads = false a function "
                       "change decides who can receive plaintext and needs a governance quorum: "
                       "teevault governance propose");
    return TV_ERR_DENIED;
}

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

static int fn_access(vault_call *c, const char *name, unsigned cap1, unsigned cap2)
{
    char path[32 + VAULT_FN_NAME_MAX], why[200], q[VAULT_FN_NAME_MAX + 16];
    int r;

    if (c->principal->kind != VAULT_PRINCIPAL_OPERATOR) {
        snprintf(c->errmsg, sizeof(c->errmsg), "this method needs an operator token");
        return c->principal->kind == VAULT_PRINCIPAL_NONE ? TV_ERR_UNAUTHENTICATED : TV_ERR_DENIED;
    }
    if (name) {
        vault_quote(q, sizeof q, name, strlen(name));
        if (!vault_fn_name_valid(name)) {
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "invalid function name %s (1-%u of A-Z a-z 0-9 . _ -, not starting with . "
                     "or -)",
                     q, VAULT_FN_NAME_MAX);
            return TV_ERR_INVALID;
        }
        snprintf(c->audit_detail, sizeof(c->audit_detail), "function %s", q);
        snprintf(path, sizeof path, "sys/function/%s", name);
    } else {
        snprintf(path, sizeof path, "sys/function");
    }
    r = vault_acl_check(c->v, c->principal, path, cap1, why, sizeof why);
    if (r == TV_ERR_DENIED && cap2)
        r = vault_acl_check(c->v, c->principal, path, cap2, why, sizeof why);
    if (r == TV_ERR_DENIED) {
        int k = snprintf(c->errmsg, sizeof(c->errmsg), "permission denied: %s needs %s%s%s on %s",
                         c->method, vault_acl_cap_name(cap1), cap2 ? " or " : "",
                         cap2 ? vault_acl_cap_name(cap2) : "", path);
        if (k > 0 && (size_t)k < sizeof(c->errmsg) - 3) {
            size_t used = (size_t)k;
            memcpy(c->errmsg + used, ": ", 2);
            used += 2;
            snprintf(c->errmsg + used, sizeof(c->errmsg) - used, "%.*s",
                     (int)(sizeof(c->errmsg) - used - 1), why);
        }
    } else if (r < 0)
        snprintf(c->errmsg, sizeof(c->errmsg), "policy check failed: %s", tv_strerror(r));
    return r;
}

static int no_such(vault_call *c, const char *name)
{
    char q[VAULT_FN_NAME_MAX + 16];
    vault_quote(q, sizeof q, name, strlen(name));
    snprintf(c->errmsg, sizeof(c->errmsg), "no function %s", q);
    return TV_ERR_NOT_FOUND;
}

static int rpc_fn_write(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__FunctionInfo *req = (const Teevault__V1__FunctionInfo *)msg;
    Teevault__V1__FunctionInfo fi = *req;
    MDB_txn *txn = NULL;
    char err[200] = "";
    int r;

    if ((r = fn_access(c, req->name, VAULT_CAP_ADMIN, 0)) < 0 || (r = no_quorum_needed(c)) < 0)
        return r;
    /* Every binding, including ones the function already had: rewriting the
     * identity policy hands those bindings to whatever now matches it. */
    r = vault_acl_may_grant(c->v, c->principal, req->acl_policies, req->n_acl_policies, err,
                            sizeof err);
    if (r < 0) {
        if (r == TV_ERR_DENIED)
            vault_call_errf(c, "permission denied: %s", err);
        else
            snprintf(c->errmsg, sizeof(c->errmsg), "policy check failed: %s", tv_strerror(r));
        return r;
    }
    err[0] = '\0';
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    fi.created_at = 0; /* the server's clock, not the caller's */
    r = vault_functions_put(c->v->db, txn, &fi, (int64_t)time(NULL), err, sizeof err);
    if (r < 0) {
        mdb_txn_abort(txn);
        if (err[0])
            snprintf(c->errmsg, sizeof(c->errmsg), "function %s", err);
        else
            snprintf(c->errmsg, sizeof(c->errmsg), "storage error: %s", tv_strerror(r));
        return r;
    }
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    vault_attest_drop_function(c->v, req->name);
    return vault_pack_empty(out);
}

static int rpc_fn_show(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__NameRequest *req = (const Teevault__V1__NameRequest *)msg;
    Teevault__V1__FunctionInfo *fi = NULL;
    MDB_txn *txn = NULL;
    int r;

    if ((r = fn_access(c, req->name, VAULT_CAP_ADMIN, VAULT_CAP_READ)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 0)) < 0)
        return r;
    r = vault_functions_get(c->v->db, txn, req->name, &fi);
    mdb_txn_abort(txn);
    if (r == TV_ERR_NOT_FOUND)
        return no_such(c, req->name);
    if (r < 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "storage error: %s", tv_strerror(r));
        return r;
    }
    r = vault_pack(out, &fi->base);
    teevault__v1__function_info__free_unpacked(fi, NULL);
    return r;
}

static int rpc_fn_list(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    Teevault__V1__FunctionInfo **fns = NULL;
    Teevault__V1__FunctionListResponse resp = TEEVAULT__V1__FUNCTION_LIST_RESPONSE__INIT;
    MDB_txn *txn = NULL;
    size_t n = 0;
    int r;

    (void)msg;
    if ((r = fn_access(c, NULL, VAULT_CAP_ADMIN, VAULT_CAP_LIST)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 0)) < 0)
        return r;
    r = vault_functions_list(c->v->db, txn, 0, &fns, &n);
    mdb_txn_abort(txn);
    if (r < 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "storage error: %s", tv_strerror(r));
        return r;
    }
    resp.n_functions = n;
    resp.functions = fns;
    r = vault_pack(out, &resp.base);
    vault_functions_list_free(fns, n);
    return r;
}

static int rpc_fn_delete(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__NameRequest *req = (const Teevault__V1__NameRequest *)msg;
    MDB_txn *txn = NULL;
    int r;

    if ((r = fn_access(c, req->name, VAULT_CAP_ADMIN, 0)) < 0 || (r = no_quorum_needed(c)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    r = vault_functions_delete(c->v->db, txn, req->name);
    if (r < 0) {
        mdb_txn_abort(txn);
        if (r == TV_ERR_NOT_FOUND)
            return no_such(c, req->name);
        snprintf(c->errmsg, sizeof(c->errmsg), "storage error: %s", tv_strerror(r));
        return r;
    }
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    vault_attest_drop_function(c->v, req->name);
    return vault_pack_empty(out);
}

static const vault_handler functions_handlers[] = {
    {"Write", rpc_fn_write, 0},
    {"Show", rpc_fn_show, VAULT_M_READ},
    {"List", rpc_fn_list, VAULT_M_READ},
    {"Delete", rpc_fn_delete, 0},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_functions = {&teevault__v1__functions__descriptor,
                                           functions_handlers};
