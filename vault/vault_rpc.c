/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "teevault.pb-c.h"
#include "vault_attest.h"
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_db.h"
#include "vault_lifecycle.h"
#include "vault_server.h"

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
    /* Policies and functions change only through here: Report's cached
     * policy hash is recomputed on its next use (cheap when unchanged). */
    vault_attest_policy_changed(c->v);
    return 0;
}

int vault_pack_empty(proto_buf *out)
{
    Teevault__V1__Empty e;
    teevault__v1__empty__init(&e);
    return vault_pack(out, &e.base);
}

uint64_t vault_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

const char *vault_call_md(const vault_call *c, const char *key)
{
    for (size_t i = 0; i < c->n_md; i++)
        if (c->md[i].key && c->md[i].value && strcasecmp(c->md[i].key, key) == 0)
            return c->md[i].value;
    return NULL;
}

/* Bearer token from the metadata, or NULL. */
static const char *find_bearer(const vault_call *c, size_t *len)
{
    const char *v = vault_call_md(c, "authorization");
    if (!v || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    const char *t = v + 7;
    while (*t == ' ')
        t++;
    *len = strlen(t);
    return *len ? t : NULL;
}

/* What may still run in the store's last part (vault_audit_reserve_allowed):
 * the way out of a full store. Health and Status (anonymous ones cost no
 * record of their own), Login (an operator needs a token), and the Audit
 * service (export, archive). */
static int keeps_reserve(const vault_method *m)
{
    return !strcmp(m->service, "teevault.v1.Sys") || !strcmp(m->service, "teevault.v1.Audit") ||
           (!strcmp(m->service, "teevault.v1.Auth") && !strcmp(m->method, "Login"));
}

int vault_call_run(const vault_method *m, vault_call *call, vault_principal *principal,
                   int *token_ok, const uint8_t *payload, size_t len, proto_buf *out)
{
    struct vault *v = call->v;
    ProtobufCMessage *msg = NULL;
    unsigned reserve_pct = 0;
    int status;

    *token_ok = 0;
    /* Who is calling. A bad token on a public method is ignored (the caller
     * may be logging in with a stale token); elsewhere it is the answer. */
    int auth_err = 0;
    size_t tl = 0;
    const char *tok = find_bearer(call, &tl);
    if (tok) {
        int r = vault_auth_resolve(v, tok, tl, principal);
        if (r == 0) {
            *token_ok = 1;
        } else {
            memset(principal, 0, sizeof(*principal));
            auth_err = r;
        }
    }

    if (call->deadline_us && vault_now_us() >= call->deadline_us) {
        status = TV_ERR_TIMEOUT;
        vault_call_errf(call, "the call's deadline passed before it ran");
    } else if (!(m->flags & VAULT_M_UNINIT) && !vault_is_active(v)) {
        status = vault_inactive_error(v, call->errmsg, sizeof(call->errmsg));
    } else if (!(m->flags & VAULT_M_PUBLIC) && principal->kind == VAULT_PRINCIPAL_NONE &&
               auth_err == TV_ERR_INTEGRITY) {
        /* The token's stored record does not verify (vault_record.h). */
        status = auth_err;
        vault_call_errf(call, "the token's stored record failed its integrity check (the "
                              "state directory was altered); the request is refused");
    } else if (!(m->flags & VAULT_M_PUBLIC) && principal->kind == VAULT_PRINCIPAL_NONE) {
        status = auth_err == TV_ERR_NOT_INITIALISED ? auth_err : TV_ERR_UNAUTHENTICATED;
        vault_call_errf(call, "%s",
                        tok ? "the token is not valid (unknown, expired or revoked)"
                            : "this method needs a token (authorization: Bearer ...)");
    } else if (principal->kind == VAULT_PRINCIPAL_FUNCTION && !(m->flags & VAULT_M_FUNCTION)) {
        status = TV_ERR_DENIED;
        vault_call_errf(call, "function sessions may not call %s/%s", call->service, call->method);
    } else if (!keeps_reserve(m) && vault_audit_reserve_allowed(v, &reserve_pct) < 0) {
        status = TV_ERR_STORAGE_FULL;
        vault_call_errf(call,
                        "storage full: the store is past %u%%, kept for archiving the audit log; "
                        "archive it (teevault audit archive --out FILE) or raise [limits] "
                        "map_size and restart",
                        reserve_pct);
    } else if (!(msg = protobuf_c_message_unpack(m->req_desc, &vault_wiping_allocator, len,
                                                 payload))) {
        status = TV_ERR_INVALID;
        vault_call_errf(call, "request payload does not decode as %s", m->req_desc->name);
    } else if (!protobuf_c_message_check(msg)) {
        status = TV_ERR_INVALID;
        vault_call_errf(call, "request payload is not a valid %s", m->req_desc->name);
    } else {
        int r = m->fn(call, msg, out);
        status = r < 0 ? r : 0;
        if (status < 0 && !call->errmsg[0])
            vault_call_errf(call, "%s", tv_strerror(status));
    }
    if (msg)
        protobuf_c_message_free_unpacked(msg, &vault_wiping_allocator);
    if (status < 0)
        proto_buf_reset(out);
    return status;
}
