/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rpc_policies: the teevault.v1.Policies service.
 *
 * Access:
 *   Write / Delete   admin on "sys/policy/<name>", and the policy is not one the
 *                    caller is bound to (no one raises their own ceiling)
 *   Read             admin or read on "sys/policy/<name>"
 *   List             admin or list on "sys/policy"
 *   Explain          the caller itself (empty principal_kind, or its own user
 *                    name / token id): always; anyone else: admin on
 *                    "sys/acl/explain", checked before the principal is
 *                    looked up (no "no such user" to a caller without it)
 * Writes append their audit record in their own transaction (c->audited).
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
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_db.h"
#include "vault_names.h"
#include "vault_governance.h"

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

/* Allowed when the principal holds cap1 or (if non-zero) cap2 on path. */
static int require_caps(vault_call *c, const char *path, unsigned cap1, unsigned cap2)
{
    char why[200];
    int r = vault_acl_check(c->v, c->principal, path, cap1, why, sizeof(why));
    if (r == TV_ERR_DENIED && cap2)
        r = vault_acl_check(c->v, c->principal, path, cap2, why, sizeof(why));
    if (r == TV_ERR_DENIED) {
        char qp[96];
        vault_quote_str(qp, sizeof(qp), path);
        vault_call_errf(c, "permission denied: %s needs %s%s%s on %s: %s", c->method,
                        vault_acl_cap_name(cap1), cap2 ? " or " : "",
                        cap2 ? vault_acl_cap_name(cap2) : "", qp, why);
    } else if (r < 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "policy check failed: %s", tv_strerror(r));
    }
    return r;
}

static int check_name(vault_call *c, const char *name)
{
    char q[96];
    vault_quote_str(q, sizeof(q), name);
    if (!vault_acl_name_valid(name)) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "invalid policy name %s (1-%u of A-Z a-z 0-9 . _ -, not starting with . or -)", q,
                 VAULT_ACL_NAME_MAX);
        return TV_ERR_INVALID;
    }
    snprintf(c->audit_detail, sizeof(c->audit_detail), "policy %s", q);
    return 0;
}

static int policy_admin(vault_call *c, const char *name, unsigned cap2)
{
    int r;
    char path[32 + VAULT_ACL_NAME_MAX];
    if ((r = vault_call_require_operator(c)) < 0 || (r = check_name(c, name)) < 0)
        return r;
    snprintf(path, sizeof(path), "sys/policy/%s", name);
    return require_caps(c, path, VAULT_CAP_ADMIN, cap2);
}

/* Writing or deleting a policy the caller is bound to would let it change
 * its own rights (delete: a deny rule it is subject to). Root is bound to
 * nothing. */
static int not_own_policy(vault_call *c, const char *name)
{
    if (c->principal->root || !vault_acl_holds(c->principal, name))
        return 0;
    char q[96];
    vault_quote_str(q, sizeof(q), name);
    vault_call_errf(c,
                    "permission denied: the caller is bound to policy %s and may not %s it "
                    "(ask someone not bound to it)",
                    q, strcmp(c->method, "Delete") == 0 ? "delete" : "write");
    return TV_ERR_DENIED;
}

/* With plaintext reads off, a policy bound to a function decides what the
 * function (and so whoever controls it) can receive in plaintext: changing
 * it goes through governance. Checked inside the write transaction. */
static int not_function_bound(vault_call *c, MDB_txn *txn, const char *name)
{
    int r;
    if (!vault_gov_required(c->v))
        return 0;
    if ((r = vault_gov_policy_bound_to_function(c->v->db, txn, name)) < 0)
        return vault_call_store_error(c, r);
    if (r == 0)
        return 0;
    char q[96];
    vault_quote_str(q, sizeof(q), name);
    vault_call_errf(c,
                    "permission denied: policy %s is bound to a function; with "
                    "operator_plaintext_reads = false changing it needs a governance quorum: "
                    "teevault governance propose",
                    q);
    return TV_ERR_DENIED;
}

static int no_such_policy(vault_call *c, const char *name)
{
    char q[96];
    vault_quote_str(q, sizeof(q), name);
    snprintf(c->errmsg, sizeof(c->errmsg), "no policy %s", q);
    return TV_ERR_NOT_FOUND;
}

static int rpc_policy_write(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__PolicyDocument *req = (const Teevault__V1__PolicyDocument *)msg;
    MDB_txn *txn = NULL;
    char err[200];
    int r;
    if ((r = policy_admin(c, req->name, 0)) < 0 || (r = not_own_policy(c, req->name)) < 0)
        return r;
    if (strcmp(req->name, "root") == 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "policy name \"root\" is reserved");
        return TV_ERR_INVALID;
    }
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    if ((r = not_function_bound(c, txn, req->name)) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    r = vault_acl_store_put(c->v->db, txn, req->name, req->document, strlen(req->document),
                            (int64_t)time(NULL), err, sizeof(err));
    if (r < 0) {
        mdb_txn_abort(txn);
        if (r == TV_ERR_INVALID || r == TV_ERR_TOO_LARGE)
            snprintf(c->errmsg, sizeof(c->errmsg), "policy document: %s", err);
        return vault_call_store_error(c, r);
    }
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    return vault_pack_empty(out);
}

static int rpc_policy_read(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__NameRequest *req = (const Teevault__V1__NameRequest *)msg;
    MDB_txn *txn = NULL;
    char *text = NULL;
    size_t len = 0;
    int r;
    if ((r = policy_admin(c, req->name, VAULT_CAP_READ)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 0)) < 0)
        return r;
    r = vault_acl_store_get(c->v->db, txn, req->name, &text, &len, NULL);
    mdb_txn_abort(txn);
    if (r < 0)
        return r == TV_ERR_NOT_FOUND ? no_such_policy(c, req->name) : vault_call_store_error(c, r);
    Teevault__V1__PolicyDocument doc = TEEVAULT__V1__POLICY_DOCUMENT__INIT;
    doc.name = req->name;
    doc.document = text;
    r = vault_pack(out, &doc.base);
    free(text);
    return r;
}

static int rpc_policy_list(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    MDB_txn *txn = NULL;
    char **names = NULL;
    size_t n = 0;
    int r;
    if ((r = vault_call_require_operator(c)) < 0 ||
        (r = require_caps(c, "sys/policy", VAULT_CAP_ADMIN, VAULT_CAP_LIST)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 0)) < 0)
        return r;
    r = vault_acl_store_list(c->v->db, txn, &names, &n);
    mdb_txn_abort(txn);
    if (r < 0)
        return vault_call_store_error(c, r);
    Teevault__V1__PolicyListResponse resp = TEEVAULT__V1__POLICY_LIST_RESPONSE__INIT;
    resp.names = names;
    resp.n_names = n;
    r = vault_pack(out, &resp.base);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return r;
}

static int rpc_policy_delete(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__NameRequest *req = (const Teevault__V1__NameRequest *)msg;
    MDB_txn *txn = NULL;
    int r;
    if ((r = policy_admin(c, req->name, 0)) < 0 || (r = not_own_policy(c, req->name)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    if ((r = not_function_bound(c, txn, req->name)) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    if ((r = vault_acl_store_delete(c->v->db, txn, req->name)) < 0) {
        mdb_txn_abort(txn);
        return r == TV_ERR_NOT_FOUND ? no_such_policy(c, req->name) : vault_call_store_error(c, r);
    }
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    return vault_pack_empty(out);
}

/* Whether an Explain request is about the caller itself (no admin needed).
 * Decided from the request alone, before anything is looked up. */
static int explain_is_self(const vault_call *c, const Teevault__V1__ExplainRequest *req)
{
    const vault_principal *p = c->principal;
    const char *kind = req->principal_kind, *who = req->principal;
    if (!kind[0] && !who[0])
        return 1;
    if (strcmp(kind, "user") == 0)
        return p->user[0] && strcmp(p->user, who) == 0;
    if (strcmp(kind, "token") == 0)
        return strcmp(p->id, who) == 0;
    return 0;
}

/* Build the principal an Explain request is about into *target. The caller
 * checked the right to ask (explain_is_self or admin on sys/acl/explain). */
static int explain_target(vault_call *c, const Teevault__V1__ExplainRequest *req,
                          vault_principal *target)
{
    const vault_principal *p = c->principal;
    const char *kind = req->principal_kind, *who = req->principal;
    char q[96];
    int r;
    vault_quote_str(q, sizeof(q), who);
    if (!kind[0] && !who[0]) {
        target->kind = p->kind;
        target->root = p->root;
        snprintf(target->id, sizeof(target->id), "%s", p->id);
        snprintf(target->user, sizeof(target->user), "%s", p->user);
        if (p->n_policies) {
            if (!(target->policies = calloc(p->n_policies, sizeof(char *))))
                return TV_ERR_NOMEM;
            for (size_t i = 0; i < p->n_policies; i++) {
                if (!(target->policies[i] = strdup(p->policies[i])))
                    return TV_ERR_NOMEM; /* caller clears the partial target */
                target->n_policies = i + 1;
            }
        }
        return 0;
    }
    if (strcmp(kind, "user") == 0) {
        vault_user_info ui;
        memset(&ui, 0, sizeof(ui));
        if (!vault_auth_user_name_valid(who)) {
            snprintf(c->errmsg, sizeof(c->errmsg), "invalid user name %s", q);
            return TV_ERR_INVALID;
        }
        if ((r = vault_auth_user_get(c->v, NULL, who, &ui)) < 0) {
            if (r == TV_ERR_NOT_FOUND)
                snprintf(c->errmsg, sizeof(c->errmsg), "no user %s", q);
            return r;
        }
        r = vault_auth_principal_from_user(&ui, target);
        vault_user_info_clear(&ui);
        return r;
    }
    if (strcmp(kind, "token") == 0) {
        vault_token_info ti;
        memset(&ti, 0, sizeof(ti));
        if ((r = vault_auth_token_lookup(c->v, NULL, who, (int64_t)time(NULL), &ti)) < 0) {
            if (r == TV_ERR_NOT_FOUND)
                snprintf(c->errmsg, sizeof(c->errmsg), "no token with id %s", q);
            else if (r == TV_ERR_INVALID)
                snprintf(c->errmsg, sizeof(c->errmsg),
                         "invalid token id %s (16 lowercase hex digits)", q);
            return r;
        }
        r = vault_auth_principal_from_token(&ti, target);
        vault_token_info_clear(&ti);
        return r;
    }
    if (strcmp(kind, "function") == 0) {
        if (!vault_function_principal) {
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "explaining function principals needs the Functions service");
            return TV_ERR_UNIMPLEMENTED;
        }
        if ((r = vault_function_principal(c->v, who, target)) < 0) {
            if (r == TV_ERR_NOT_FOUND)
                snprintf(c->errmsg, sizeof(c->errmsg), "no function %s", q);
            return r;
        }
        return 0;
    }
    vault_quote_str(q, sizeof(q), kind);
    snprintf(c->errmsg, sizeof(c->errmsg),
             "unknown principal_kind %s (user, token, function, or empty for the caller)", q);
    return TV_ERR_INVALID;
}

static int rpc_policy_explain(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__ExplainRequest *req = (const Teevault__V1__ExplainRequest *)msg;
    vault_principal target;
    vault_acl_decision d;
    int self = 0, r;
    unsigned cap = VAULT_CAP_READ;
    char why[160];
    memset(&target, 0, sizeof(target));

    if ((r = vault_call_require_operator(c)) < 0)
        goto out;
    if (req->capability[0]) {
        cap = vault_acl_cap_from_name(req->capability, strlen(req->capability));
        if (!cap || cap == VAULT_CAP_DENY) {
            char q[64];
            vault_quote_str(q, sizeof(q), req->capability);
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "unknown capability %s (read, list, create, update, delete, destroy, admin, "
                     "grant)",
                     q);
            r = TV_ERR_INVALID;
            goto out;
        }
    }
    if ((r = vault_name_check(req->secret, strlen(req->secret), why, sizeof(why))) < 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "invalid secret path: %s", why);
        goto out;
    }
    snprintf(c->audit_secret, sizeof(c->audit_secret), "%s", req->secret);
    self = explain_is_self(c, req);
    if (!self && (r = require_caps(c, "sys/acl/explain", VAULT_CAP_ADMIN, 0)) < 0)
        goto out;
    if ((r = explain_target(c, req, &target)) < 0) {
        if (!c->errmsg[0])
            vault_call_store_error(c, r);
        goto out;
    }
    r = vault_acl_explain(c->v, &target, req->secret, cap, &d);
    if (r < 0 && r != TV_ERR_DENIED) {
        vault_call_store_error(c, r);
        goto out;
    }
    Teevault__V1__ExplainResponse resp = TEEVAULT__V1__EXPLAIN_RESPONSE__INIT;
    resp.allowed = d.allowed ? 1 : 0;
    resp.policy = d.policy;
    resp.rule = d.rule;
    resp.reason = d.reason;
    r = vault_pack(out, &resp.base);
out:
    vault_principal_clear(&target);
    return r;
}

static const vault_handler policies_handlers[] = {
    {"Write", rpc_policy_write, 0},
    {"Read", rpc_policy_read, VAULT_M_READ},
    {"List", rpc_policy_list, VAULT_M_READ},
    {"Delete", rpc_policy_delete, 0},
    {"Explain", rpc_policy_explain, VAULT_M_READ},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_policies = {&teevault__v1__policies__descriptor, policies_handlers};
