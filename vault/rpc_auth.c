/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rpc_auth: the teevault.v1.Auth service (login, tokens, users).
 *
 * Access (besides the server's flags):
 *   Login                         public; back-off via c->reply_delay_ms
 *   TokenCreate                   a child of the caller's token: policies the
 *                                 caller holds, TTL within the caller's own;
 *                                 other policies need admin on
 *                                 "sys/auth/token-create" and, per policy, the
 *                                 grant rule (vault_acl_may_grant); that admin
 *                                 also lifts the TTL bound
 *   TokenLookup / TokenRevoke     own token: always; another: admin on
 *                                 "sys/auth/tokens/<id>"; revoking revokes the
 *                                 token's children too
 *   UserAdd                       admin on "sys/auth/user/<name>" and the grant
 *                                 rule for the user's policies
 *   UserPasswd                    the same (taking over an account is taking
 *                                 its policies)
 *   UserDelete                    admin on "sys/auth/user/<name>"
 *   UserList                      admin on "sys/auth/user"
 * Root tokens hold every capability. Writes append their audit record in
 * their own transaction (c->audited). No password or token ever reaches
 * c->errmsg, c->audit_detail or a log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_rpc.h"
#include "vault_acl.h"
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_db.h"

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Admin capability on path, with errmsg on denial. */
static int require_cap(vault_call *c, const char *path, unsigned cap)
{
    char why[200];
    int r = vault_acl_check(c->v, c->principal, path, cap, why, sizeof(why));
    if (r == TV_ERR_DENIED) {
        char qp[96];
        vault_quote_str(qp, sizeof(qp), path);
        vault_call_errf(c, "permission denied: %s needs %s on %s: %s", c->method,
                        vault_acl_cap_name(cap), qp, why);
    } else if (r < 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "policy check failed: %s", tv_strerror(r));
    }
    return r;
}

static void fill_token_info(Teevault__V1__TokenInfo *m, const vault_token_info *ti)
{
    m->token_id = (char *)ti->id;
    m->display_name = (char *)ti->display_name;
    m->policies = ti->policies;
    m->n_policies = ti->n_policies;
    m->created_at = ti->created_at;
    m->expires_at = ti->expires_at;
    m->user = (char *)ti->user;
    m->root = ti->root ? 1 : 0;
    m->parent = (char *)ti->parent;
}

/* The grant rule for a request attaching pols; errmsg on refusal. */
static int require_grant(vault_call *c, char *const *pols, size_t n)
{
    char why[sizeof(c->errmsg) - 40];
    int r = vault_acl_may_grant(c->v, c->principal, pols, n, why, sizeof(why));
    if (r == TV_ERR_DENIED)
        vault_call_errf(c, "permission denied: %s", why);
    else if (r < 0)
        snprintf(c->errmsg, sizeof(c->errmsg), "policy check failed: %s", tv_strerror(r));
    return r;
}

/* Validate a list of policy names from a request; errmsg names the bad one. */
static int check_policy_names(vault_call *c, char *const *pols, size_t n)
{
    if (n > VAULT_ACL_POLICY_MAX) {
        snprintf(c->errmsg, sizeof(c->errmsg), "too many policies (%zu, the limit is %u)", n,
                 VAULT_ACL_POLICY_MAX);
        return TV_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        if (!vault_acl_name_valid(pols[i])) {
            char q[96];
            vault_quote_str(q, sizeof(q), pols[i]);
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "invalid policy name %s (1-%u of A-Z a-z 0-9 . _ -)", q, VAULT_ACL_NAME_MAX);
            return TV_ERR_INVALID;
        }
    }
    return 0;
}

static int check_user_name(vault_call *c, const char *name)
{
    if (!vault_auth_user_name_valid(name)) {
        char q[96];
        vault_quote_str(q, sizeof(q), name);
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "invalid user name %s (1-%u of A-Z a-z 0-9 . _ @ -, not starting with . or -)", q,
                 VAULT_USER_NAME_MAX);
        return TV_ERR_INVALID;
    }
    return 0;
}

static int check_password(vault_call *c, const char *pw)
{
    size_t n = strlen(pw);
    if (n == 0 || n > VAULT_PASSWORD_MAX) {
        snprintf(c->errmsg, sizeof(c->errmsg), "the password must be 1 to %u bytes",
                 VAULT_PASSWORD_MAX);
        return TV_ERR_INVALID;
    }
    return 0;
}

/* ---------------------------------------------------------------- Login */

/* Login runs in three steps (vault_auth_login_begin/verify/finish) so the
 * Argon2id verification (~0.3 s of CPU) runs on the server's worker thread
 * and other clients keep being served meanwhile. */
typedef struct login_offload {
    vault_login *job;
    char quser[80]; /* quoted user name, for the audit detail */
} login_offload;

static void login_work(void *arg)
{
    vault_auth_login_verify(((login_offload *)arg)->job);
}

static void login_discard(void *arg)
{
    login_offload *lo = arg;
    vault_auth_login_free(lo->job);
    free(lo);
}

static int login_finish(vault_call *c, void *arg, proto_buf *out)
{
    login_offload *lo = arg;
    int r = TV_ERR_INTERNAL;
    MDB_txn *txn = NULL;
    char tok[VAULT_TOKEN_BUF] = "";
    vault_token_info ti;
    uint32_t delay = 0;
    vault_login *job = lo->job;
    memset(&ti, 0, sizeof(ti));

    lo->job = NULL;
    if ((r = vault_call_begin(c, &txn, 1)) < 0) {
        vault_auth_login_free(job);
        goto out;
    }
    /* finish always frees the job. */
    r = vault_auth_login_finish(c->v, txn, job, now_ms(), tok, sizeof(tok), &ti, &delay);
    c->reply_delay_ms = delay;
    if (r == TV_ERR_UNAUTHENTICATED) {
        snprintf(c->errmsg, sizeof(c->errmsg), "invalid user name or password");
        goto out;
    } else if (r < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    snprintf(c->audit_detail, sizeof(c->audit_detail), "login user %s token %s", lo->quser, ti.id);
    r = vault_call_commit_audited(c, txn);
    txn = NULL;
    if (r < 0)
        goto out;

    Teevault__V1__TokenInfo info = TEEVAULT__V1__TOKEN_INFO__INIT;
    Teevault__V1__LoginResponse resp = TEEVAULT__V1__LOGIN_RESPONSE__INIT;
    fill_token_info(&info, &ti);
    resp.token = tok;
    resp.info = &info;
    r = vault_pack(out, &resp.base);
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_token_info_clear(&ti);
    sodium_memzero(tok, sizeof(tok));
    free(lo);
    return r;
}

static const vault_offload login_offload_ops = {login_work, login_finish, login_discard};

static int rpc_login(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__LoginRequest *req = (const Teevault__V1__LoginRequest *)msg;
    login_offload *lo = NULL;
    uint32_t delay = 0;
    int r;

    (void)out;
    if ((r = check_user_name(c, req->user)) < 0 || (r = check_password(c, req->password)) < 0)
        return r;
    if (!(lo = calloc(1, sizeof(*lo))))
        return TV_ERR_NOMEM;
    vault_quote_str(lo->quser, sizeof(lo->quser), req->user);
    snprintf(c->audit_detail, sizeof(c->audit_detail), "login user %s", lo->quser);
    r = vault_auth_login_begin(c->v, req->user, req->password, strlen(req->password), c->peer,
                               now_ms(), &lo->job, &delay);
    c->reply_delay_ms = delay;
    if (r < 0) {
        if (r == TV_ERR_UNAUTHENTICATED)
            snprintf(c->errmsg, sizeof(c->errmsg), "invalid user name or password");
        else if (r == TV_ERR_RESOURCE && delay == 0)
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "a login for this user from this peer is in progress (one at a time); "
                     "retry when it completes");
        else if (r == TV_ERR_RESOURCE)
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "too many login attempts (this user, this peer or all logins); retry in %u ms",
                     delay);
        else
            vault_call_store_error(c, r);
        free(lo);
        return r;
    }
    c->offload = &login_offload_ops;
    c->offload_arg = lo;
    return 0;
}

/* ---------------------------------------------------------------- tokens */

static int rpc_token_create(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__TokenCreateRequest *req = (const Teevault__V1__TokenCreateRequest *)msg;
    const vault_principal *p = c->principal;
    int r = TV_ERR_INTERNAL;
    MDB_txn *txn = NULL;
    char tok[VAULT_TOKEN_BUF] = "";
    vault_token_info ti, caller;
    char *const *pols = req->policies;
    size_t n_pols = req->n_policies;
    int64_t ttl = req->ttl_seconds, now = now_s();
    memset(&ti, 0, sizeof(ti));
    memset(&caller, 0, sizeof(caller));

    if ((r = vault_call_require_operator(c)) < 0)
        goto out;
    if (ttl < 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "ttl_seconds must not be negative");
        r = TV_ERR_INVALID;
        goto out;
    }
    if ((r = check_policy_names(c, pols, n_pols)) < 0)
        goto out;
    size_t dl = strlen(req->display_name);
    for (size_t i = 0; i < dl; i++)
        if ((unsigned char)req->display_name[i] < 0x20 ||
            (unsigned char)req->display_name[i] >= 0x7f) {
            dl = SIZE_MAX; /* and stop: i < SIZE_MAX would read past the string */
            break;
        }
    if (dl > VAULT_DISPLAY_NAME_MAX) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "display name must be at most %u printable ASCII characters",
                 VAULT_DISPLAY_NAME_MAX);
        r = TV_ERR_INVALID;
        goto out;
    }
    if (n_pols == 0) { /* like HashiCorp Vault: a child inherits the caller's policies */
        pols = p->policies;
        n_pols = p->n_policies;
    }
    char why[200];
    int subset = 1;
    for (size_t i = 0; i < n_pols; i++)
        subset &= vault_acl_holds(p, pols[i]);
    r = vault_acl_check(c->v, p, VAULT_ACL_TOKEN_CREATE, VAULT_CAP_ADMIN, why, sizeof(why));
    if (r == TV_ERR_DENIED && !subset) {
        for (size_t i = 0; i < n_pols; i++) {
            if (!vault_acl_holds(p, pols[i])) {
                char q[96];
                vault_quote_str(q, sizeof(q), pols[i]);
                snprintf(c->errmsg, sizeof(c->errmsg),
                         "permission denied: cannot attach policy %s, which the caller does not "
                         "hold, without admin on \"" VAULT_ACL_TOKEN_CREATE "\"",
                         q);
                goto out;
            }
        }
    }
    if (r == 0 && !subset && (r = require_grant(c, pols, n_pols)) < 0)
        goto out;
    if (r == TV_ERR_DENIED) {
        /* Not a token admin: a subset of the caller's own policies, within its TTL. */
        if ((r = vault_auth_token_lookup(c->v, NULL, p->id, now, &caller)) < 0) {
            snprintf(c->errmsg, sizeof(c->errmsg), "the caller's token is no longer valid");
            r = TV_ERR_UNAUTHENTICATED;
            goto out;
        }
        if (caller.expires_at) {
            int64_t left = caller.expires_at - now;
            if (ttl == 0 || ttl > left)
                ttl = left > 0 ? left : 1;
        }
    } else if (r < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        goto out;
    /* A child: revoked with its parent, and it acts for the same user. Root
     * tokens and functions have no user; a root-made token has none either. */
    r = vault_auth_token_create_child(c->v, txn, p->root ? NULL : p->id, p->user, req->display_name,
                                      pols, n_pols, ttl, 0, now, tok, sizeof(tok), &ti);
    if (r < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    snprintf(c->audit_detail, sizeof(c->audit_detail), "token %s created", ti.id);
    r = vault_call_commit_audited(c, txn);
    txn = NULL;
    if (r < 0)
        goto out;

    Teevault__V1__TokenInfo info = TEEVAULT__V1__TOKEN_INFO__INIT;
    Teevault__V1__TokenCreateResponse resp = TEEVAULT__V1__TOKEN_CREATE_RESPONSE__INIT;
    fill_token_info(&info, &ti);
    resp.token = tok;
    resp.info = &info;
    r = vault_pack(out, &resp.base);
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_token_info_clear(&ti);
    vault_token_info_clear(&caller);
    sodium_memzero(tok, sizeof(tok));
    return r;
}

/* Resolve the token id of a TokenIdRequest and check access to it. */
static int token_target(vault_call *c, const Teevault__V1__TokenIdRequest *req, const char **id)
{
    int r;
    if ((r = vault_call_require_operator(c)) < 0)
        return r;
    const char *want = req->token_id[0] ? req->token_id : c->principal->id;
    if (strlen(want) != VAULT_TOKEN_ID_LEN ||
        strspn(want, "0123456789abcdef") != VAULT_TOKEN_ID_LEN) {
        char q[96];
        vault_quote_str(q, sizeof(q), want);
        snprintf(c->errmsg, sizeof(c->errmsg), "invalid token id %s (16 lowercase hex digits)", q);
        return TV_ERR_INVALID;
    }
    snprintf(c->audit_detail, sizeof(c->audit_detail), "token %.16s", want);
    if (strcmp(want, c->principal->id) != 0) {
        char path[64];
        snprintf(path, sizeof(path), VAULT_ACL_TOKENS_PREFIX "%.16s", want);
        if ((r = require_cap(c, path, VAULT_CAP_ADMIN)) < 0)
            return r;
    }
    *id = want;
    return 0;
}

static int rpc_token_lookup(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__TokenIdRequest *req = (const Teevault__V1__TokenIdRequest *)msg;
    const char *id = NULL;
    vault_token_info ti;
    int r;
    memset(&ti, 0, sizeof(ti));
    if ((r = token_target(c, req, &id)) < 0)
        return r;
    if ((r = vault_auth_token_lookup(c->v, NULL, id, now_s(), &ti)) < 0) {
        if (r == TV_ERR_NOT_FOUND)
            snprintf(c->errmsg, sizeof(c->errmsg), "no token with id %s (revoked or expired?)", id);
        return vault_call_store_error(c, r);
    }
    Teevault__V1__TokenInfo info = TEEVAULT__V1__TOKEN_INFO__INIT;
    fill_token_info(&info, &ti);
    r = vault_pack(out, &info.base);
    vault_token_info_clear(&ti);
    return r;
}

static int rpc_token_revoke(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__TokenIdRequest *req = (const Teevault__V1__TokenIdRequest *)msg;
    const char *id = NULL;
    MDB_txn *txn = NULL;
    size_t n = 0;
    int r;
    if ((r = token_target(c, req, &id)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    if ((r = vault_auth_token_revoke_tree(c->v, txn, id, &n)) < 0) {
        mdb_txn_abort(txn);
        if (r == TV_ERR_NOT_FOUND)
            snprintf(c->errmsg, sizeof(c->errmsg), "no token with id %s", id);
        return vault_call_store_error(c, r);
    }
    snprintf(c->audit_detail, sizeof(c->audit_detail), "token %s revoked, with %zu below it", id,
             n ? n - 1 : 0);
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    Teevault__V1__Empty e = TEEVAULT__V1__EMPTY__INIT;
    return vault_pack(out, &e.base);
}

/* ---------------------------------------------------------------- users */

static int user_admin(vault_call *c, const char *name)
{
    int r;
    char path[32 + VAULT_USER_NAME_MAX];
    char q[96];
    if ((r = vault_call_require_operator(c)) < 0 || (r = check_user_name(c, name)) < 0)
        return r;
    vault_quote_str(q, sizeof(q), name);
    snprintf(c->audit_detail, sizeof(c->audit_detail), "user %s", q);
    snprintf(path, sizeof(path), "sys/auth/user/%s", name);
    return require_cap(c, path, VAULT_CAP_ADMIN);
}

static int rpc_user_add(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__UserAddRequest *req = (const Teevault__V1__UserAddRequest *)msg;
    MDB_txn *txn = NULL;
    int r;
    if ((r = user_admin(c, req->name)) < 0 || (r = check_password(c, req->password)) < 0 ||
        (r = check_policy_names(c, req->policies, req->n_policies)) < 0 ||
        (r = require_grant(c, req->policies, req->n_policies)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    r = vault_auth_user_add(c->v, txn, req->name, req->password, strlen(req->password),
                            req->policies, req->n_policies, now_s());
    if (r < 0) {
        mdb_txn_abort(txn);
        if (r == TV_ERR_EXISTS) {
            char q[96];
            vault_quote_str(q, sizeof(q), req->name);
            snprintf(c->errmsg, sizeof(c->errmsg), "user %s already exists", q);
        }
        return vault_call_store_error(c, r);
    }
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    Teevault__V1__Empty e = TEEVAULT__V1__EMPTY__INIT;
    return vault_pack(out, &e.base);
}

static int no_such_user(vault_call *c, const char *name)
{
    char q[96];
    vault_quote_str(q, sizeof(q), name);
    snprintf(c->errmsg, sizeof(c->errmsg), "no user %s", q);
    return TV_ERR_NOT_FOUND;
}

static int rpc_user_passwd(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__UserPasswdRequest *req = (const Teevault__V1__UserPasswdRequest *)msg;
    MDB_txn *txn = NULL;
    int r;
    vault_user_info ui;
    memset(&ui, 0, sizeof(ui));
    if ((r = user_admin(c, req->name)) < 0 || (r = check_password(c, req->password)) < 0)
        return r;
    /* Whoever sets the password can log in with the user's policies. */
    if ((r = vault_auth_user_get(c->v, NULL, req->name, &ui)) < 0)
        return r == TV_ERR_NOT_FOUND ? no_such_user(c, req->name) : vault_call_store_error(c, r);
    r = require_grant(c, ui.policies, ui.n_policies);
    vault_user_info_clear(&ui);
    if (r < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    r = vault_auth_user_passwd(c->v, txn, req->name, req->password, strlen(req->password));
    if (r < 0) {
        mdb_txn_abort(txn);
        return r == TV_ERR_NOT_FOUND ? no_such_user(c, req->name) : vault_call_store_error(c, r);
    }
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    Teevault__V1__Empty e = TEEVAULT__V1__EMPTY__INIT;
    return vault_pack(out, &e.base);
}

static int rpc_user_delete(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__NameRequest *req = (const Teevault__V1__NameRequest *)msg;
    MDB_txn *txn = NULL;
    size_t revoked = 0;
    int r;
    if ((r = user_admin(c, req->name)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    if ((r = vault_auth_user_delete(c->v, txn, req->name, &revoked)) < 0) {
        mdb_txn_abort(txn);
        return r == TV_ERR_NOT_FOUND ? no_such_user(c, req->name) : vault_call_store_error(c, r);
    }
    size_t l = strlen(c->audit_detail);
    snprintf(c->audit_detail + l, sizeof(c->audit_detail) - l, " deleted, %zu tokens revoked",
             revoked);
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    Teevault__V1__Empty e = TEEVAULT__V1__EMPTY__INIT;
    return vault_pack(out, &e.base);
}

static int rpc_user_list(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    vault_user_info *users = NULL;
    size_t n = 0;
    Teevault__V1__UserInfo *infos = NULL, **ptrs = NULL;
    int r;
    if ((r = vault_call_require_operator(c)) < 0 ||
        (r = require_cap(c, "sys/auth/user", VAULT_CAP_ADMIN)) < 0)
        return r;
    if ((r = vault_auth_user_list(c->v, NULL, &users, &n)) < 0)
        return vault_call_store_error(c, r);
    if (n && (!(infos = calloc(n, sizeof(*infos))) || !(ptrs = calloc(n, sizeof(*ptrs))))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        Teevault__V1__UserInfo init = TEEVAULT__V1__USER_INFO__INIT;
        infos[i] = init;
        infos[i].name = users[i].name;
        infos[i].policies = users[i].policies;
        infos[i].n_policies = users[i].n_policies;
        infos[i].created_at = users[i].created_at;
        ptrs[i] = &infos[i];
    }
    Teevault__V1__UserListResponse resp = TEEVAULT__V1__USER_LIST_RESPONSE__INIT;
    resp.users = ptrs;
    resp.n_users = n;
    r = vault_pack(out, &resp.base);
out:
    for (size_t i = 0; i < n; i++)
        vault_user_info_clear(&users[i]);
    free(users);
    free(infos);
    free(ptrs);
    return r;
}

static const vault_handler auth_handlers[] = {
    {"Login", rpc_login, VAULT_M_PUBLIC},
    {"TokenCreate", rpc_token_create, 0},
    {"TokenRevoke", rpc_token_revoke, 0},
    {"TokenLookup", rpc_token_lookup, VAULT_M_READ},
    {"UserAdd", rpc_user_add, 0},
    {"UserPasswd", rpc_user_passwd, 0},
    {"UserDelete", rpc_user_delete, 0},
    {"UserList", rpc_user_list, VAULT_M_READ},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_auth = {&teevault__v1__auth__descriptor, auth_handlers};
