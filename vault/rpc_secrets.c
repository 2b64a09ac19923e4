/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rpc_secrets: the teevault.v1.Secrets service over vault_store.
 *
 * Access (path = the secret name; List: the prefix):
 *   Put       create (new secret, or cas 0) / update (existing secret); a
 *             caller with neither gets one error whether the secret exists
 *             or not; lowering max_versions so that versions are pruned
 *             also needs destroy, and is audited as a destroy (detail)
 *   Get       read; operators receive `value` only when the config allows
 *             operator_plaintext_reads, function sessions receive
 *             sealed_value = nonce || XChaCha20-Poly1305(session key, value,
 *             AAD name/version) (vault_attest_seal_get, seal_fnget.h)
 *   List      list on the prefix; each name is returned only when the caller
 *             holds list or read on it (deny rules win)
 *   Describe  read or list
 *   Delete    delete       Undelete  update       Destroy  destroy
 * Writes append their audit record inside the store's write transaction
 * (the vault_txn_hook) and set c->audited after commit; without an open
 * audit writer they fail closed (TV_ERR_AUDIT) and nothing is stored. Put is
 * refused above the audit high-water mark (vault_audit_write_allowed), so
 * reads and denials can still be audited; Delete/Undelete/Destroy are not
 * gated (they free space or change flags only). Reads and refusals are
 * audited by the server (group commit) before the reply leaves.
 * Plaintext lives only in sodium_malloc memory: one buffer reused across
 * Gets (event-loop thread, wiped after each), and a pool of blocks for the
 * values of queued Puts (wiped when the Put is done).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sodium.h>

#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_rpc.h"
#include "vault_acl.h"
#include "vault_attest.h"
#include "vault_audit.h"
#include "vault_config.h"
#include "vault_names.h"
#include "vault_store.h"
#include "vault_lifecycle.h"

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

#define QMAX 100 /* quoted names in messages are truncated with "..." */

/* Reused plaintext buffer (sodium_malloc, guarded, wiped after use). */
static uint8_t *g_pt;
static size_t g_pt_cap;

static int pt_reserve(size_t n)
{
    if (n <= g_pt_cap && g_pt)
        return 0;
    size_t cap = g_pt_cap ? g_pt_cap : 4096;
    while (cap < n)
        cap *= 2;
    uint8_t *p = sodium_malloc(cap);
    if (!p)
        return TV_ERR_NOMEM;
    sodium_free(g_pt);
    g_pt = p;
    g_pt_cap = cap;
    return 0;
}

static void set_err(vault_call *c, const char *what, const char *name, int r)
{
    char q[QMAX];
    if (name) {
        vault_quote(q, sizeof q, name, strlen(name));
        vault_call_errf(c, "%s %s: %s", what, q, tv_strerror(r));
    } else {
        vault_call_errf(c, "%s: %s", what, tv_strerror(r));
    }
}

/* Store error -> message naming the secret, never a value. */
static int store_err(vault_call *c, const char *name, uint64_t version, int r)
{
    char q[QMAX];
    vault_quote(q, sizeof q, name, strlen(name));
    switch (r) {
    case TV_ERR_NOT_FOUND:
        if (version)
            vault_call_errf(c, "secret %s has no version %llu", q, (unsigned long long)version);
        else
            vault_call_errf(c, "secret %s not found", q);
        break;
    case TV_ERR_DELETED:
        vault_call_errf(c, "secret %s: that version is deleted (undelete it)", q);
        break;
    case TV_ERR_DESTROYED:
        vault_call_errf(c, "secret %s: that version is destroyed", q);
        break;
    case TV_ERR_INTEGRITY:
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "secret %s: stored record failed its integrity check (tampered storage?)", q);
        break;
    case TV_ERR_STORAGE_FULL:
        vault_call_errf(c, "storage full: nothing was written; archive the audit log (teevault "
                           "audit archive --out FILE) or raise [limits] map_size in teevault.conf "
                           "and restart");
        break;
    case TV_ERR_TOO_LARGE:
        vault_call_errf(c, "value for %s exceeds the limit of %llu bytes", q,
                        (unsigned long long)(c->v->cfg && c->v->cfg->max_value_bytes
                                                 ? c->v->cfg->max_value_bytes
                                                 : VAULT_STORE_DEFAULT_MAX_VALUE));
        break;
    default:
        set_err(c, "secret", name, r);
    }
    return r;
}

static int check_name(vault_call *c, const char *name)
{
    char why[120], q[QMAX];
    size_t n = strnlen(name, VAULT_NAME_MAX + 1);
    int r = vault_name_check(name, n, why, sizeof why);
    if (r < 0) {
        vault_quote(q, sizeof q, name, n);
        vault_call_errf(c, "invalid secret name %s: %s", q, why);
        return r;
    }
    snprintf(c->audit_secret, sizeof(c->audit_secret), "%s", name);
    return 0;
}

/* ACL: cap1, or cap2 (if non-zero). */
static int sec_access(vault_call *c, const char *path, unsigned cap1, unsigned cap2)
{
    char why[200], q[QMAX];
    int r = vault_acl_check(c->v, c->principal, path, cap1, why, sizeof why);
    if (r == TV_ERR_DENIED && cap2)
        r = vault_acl_check(c->v, c->principal, path, cap2, why, sizeof why);
    if (r == TV_ERR_DENIED) {
        char tmp[512];
        vault_quote(q, sizeof q, path, strlen(path));
        snprintf(tmp, sizeof tmp, "permission denied: %s needs %s%s%s on %s: %s", c->method,
                 vault_acl_cap_name(cap1), cap2 ? " or " : "", cap2 ? vault_acl_cap_name(cap2) : "",
                 q, why);
        vault_call_errf(c, "%.*s", (int)sizeof(c->errmsg) - 1, tmp);
    } else if (r < 0) {
        vault_call_errf(c, "policy check failed: %s", tv_strerror(r));
    }
    return r;
}

static int need_store(vault_call *c)
{
    if (!c->v || !c->v->store)
        return c->v ? vault_inactive_error(c->v, c->errmsg, sizeof(c->errmsg))
                    : TV_ERR_NOT_INITIALISED;
    return 0;
}

/* The write hook: the audit record joins the store's transaction. */
struct audit_hook {
    vault_call *c;
    const uint64_t *version; /* Put: the version the store is about to commit */
};

static int audit_hook(void *arg, MDB_txn *txn)
{
    struct audit_hook *h = arg;
    if (h->version)
        h->c->audit_version = *h->version;
    /* Fails closed (TV_ERR_AUDIT) when no audit writer is open. */
    int r = vault_audit_append_txn(h->c->v, txn, h->c, 0);
    if (r < 0)
        snprintf(h->c->errmsg, sizeof(h->c->errmsg), "audit record could not be written: %s",
                 tv_strerror(r));
    return r;
}

static int pack_empty(proto_buf *out)
{
    Teevault__V1__Empty e = TEEVAULT__V1__EMPTY__INIT;
    return vault_pack(out, &e.base);
}

/* The plaintext of queued Puts lives in sodium_malloc blocks of PUTBUF bytes
 * kept for reuse: a fresh sodium_malloc/sodium_free per Put costs an mmap,
 * two mprotects, an mlock and a munmap, each a TLB shootdown across the
 * daemon's threads (a third of the daemon's CPU at 64 writing clients).
 * Larger values get a block of their own. A block is wiped before reuse. */
#define PUTBUF      4096
#define PUTBUF_KEEP 128

static pthread_mutex_t g_pb_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *g_pb[PUTBUF_KEEP];
static size_t g_pb_n;

static uint8_t *putbuf_get(size_t len)
{
    uint8_t *p = NULL;
    if (len > PUTBUF)
        return sodium_malloc(len);
    pthread_mutex_lock(&g_pb_mu);
    if (g_pb_n)
        p = g_pb[--g_pb_n];
    pthread_mutex_unlock(&g_pb_mu);
    return p ? p : sodium_malloc(PUTBUF);
}

static void putbuf_release(uint8_t *p, size_t len)
{
    if (!p)
        return;
    if (len <= PUTBUF) {
        sodium_memzero(p, len);
        pthread_mutex_lock(&g_pb_mu);
        if (g_pb_n < PUTBUF_KEEP) {
            g_pb[g_pb_n++] = p;
            p = NULL;
        }
        pthread_mutex_unlock(&g_pb_mu);
    }
    sodium_free(p);
}

/* A Put handed to the audit writer's group commit (vault_write): the
 * handler checked the request and the ACL; put_apply stores the version
 * inside the batch's transaction; put_finish answers. */
typedef struct put_job {
    vault_store *store;
    char name[VAULT_NAME_MAX + 1];
    uint8_t *value; /* putbuf_get copy, wiped by put_free */
    size_t len;
    vault_put_opts po;
    int64_t cas_asked; /* the request's cas (VAULT_CAS_NONE when unset) */
    int create_only;   /* cas 0 added because the caller may not update */
    uint64_t version;
} put_job;

static void put_free(void *arg)
{
    put_job *j = arg;
    if (!j)
        return;
    putbuf_release(j->value, j->len);
    sodium_memzero(j, sizeof(*j));
    free(j);
}

static int put_apply(void *arg, MDB_txn *txn, uint64_t *version)
{
    put_job *j = arg;
    int r;
    j->po.txn = txn;
    r = vault_store_put(j->store, j->name, j->value, j->len, &j->po, NULL, NULL, &j->version);
    if (r == 0)
        *version = j->version;
    return r;
}

static int put_finish(vault_call *c, void *arg, int status, proto_buf *out)
{
    put_job *j = arg;
    Teevault__V1__PutResponse resp = TEEVAULT__V1__PUT_RESPONSE__INIT;
    int r = status;
    char q[QMAX];

    /* The record committed with the batch unless the commit failed. */
    c->audited = r != TV_ERR_AUDIT && r != TV_ERR_STORAGE_FULL;

    if (r == TV_ERR_CAS) {
        vault_quote(q, sizeof q, j->name, strlen(j->name));
        if (j->cas_asked > 0)
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "cas: secret %s is not at version %llu (it changed, or does not exist)", q,
                     (unsigned long long)j->cas_asked);
        else if (j->create_only)
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "secret %s was created meanwhile; updating it needs the update capability", q);
        else
            vault_call_errf(c, "cas: secret %s already exists", q);
    } else if (r == TV_ERR_AUDIT) {
        vault_call_errf(c, "audit record could not be written: %s", tv_strerror(r));
    } else if (r == TV_ERR_DENIED) {
        vault_quote(q, sizeof q, j->name, strlen(j->name));
        vault_call_errf(c,
                        "permission denied: max_versions %u would destroy older versions of %s, "
                        "which needs the destroy capability",
                        j->po.max_versions, q);
    } else if (r < 0) {
        (void)store_err(c, j->name, 0, r);
    } else {
        c->audit_version = j->version;
        resp.version = j->version;
        r = vault_pack(out, &resp.base);
    }
    put_free(j);
    return r;
}

static const vault_write put_write = {put_apply, put_finish, put_free};

static int rpc_put(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__PutRequest *req = (const Teevault__V1__PutRequest *)msg;
    vault_put_opts po = {.cas = VAULT_CAS_NONE, .max_versions = req->max_versions};
    char why[8];
    int r, exists;
    put_job *j;
    (void)out;

    if ((r = need_store(c)) < 0 || (r = check_name(c, req->name)) < 0)
        return r;
    if (req->cas_set) {
        if (req->cas > (uint64_t)INT64_MAX) {
            vault_call_errf(c, "cas %llu is out of range", (unsigned long long)req->cas);
            return TV_ERR_INVALID;
        }
        po.cas = (int64_t)req->cas;
    }
    if (req->max_versions > VAULT_STORE_MAX_VERSIONS_LIMIT) {
        vault_call_errf(c, "max_versions %u is above the limit of %d", req->max_versions,
                        VAULT_STORE_MAX_VERSIONS_LIMIT);
        return TV_ERR_INVALID;
    }
    /* No existence oracle: a caller that may neither create nor update gets
     * the same answer whether the secret exists or not. */
    if ((r = sec_access(c, req->name, VAULT_CAP_CREATE, VAULT_CAP_UPDATE)) < 0)
        return r;
    if ((exists = vault_store_exists(c->v->store, req->name)) < 0)
        return store_err(c, req->name, 0, exists);
    if ((r = sec_access(c, req->name, exists ? VAULT_CAP_UPDATE : VAULT_CAP_CREATE, 0)) < 0)
        return r;
    if (exists && req->max_versions) {
        /* History is destroyed only by destroy: lowering max_versions below
         * the versions kept is a destroy of the oldest ones. The store
         * re-checks inside the write (keep_history), so a race cannot slip
         * past; the audit record's detail names the pruned versions. */
        vault_secret_info info = {0};
        if ((r = vault_store_describe(c->v->store, req->name, &info)) < 0)
            return store_err(c, req->name, 0, r);
        if (req->max_versions < info.max_versions && info.n_versions + 1 > req->max_versions) {
            if (vault_acl_check(c->v, c->principal, req->name, VAULT_CAP_DESTROY, why, sizeof why) <
                0) {
                po.keep_history = 1;
            } else {
                size_t np = info.n_versions + 1 - req->max_versions;
                snprintf(c->audit_detail, sizeof(c->audit_detail),
                         "destroy: max_versions %u prunes versions %llu-%llu", req->max_versions,
                         (unsigned long long)info.versions[0].version,
                         (unsigned long long)info.versions[np - 1].version);
            }
        }
        vault_secret_info_clear(&info);
    }
    /* Keep the space above the high-water mark for audit records. */
    if ((r = vault_audit_write_allowed(c->v)) < 0) {
        if (r == TV_ERR_STORAGE_FULL)
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "storage full: the store is above its high-water mark (the rest is kept "
                     "for audit records); archive the audit log (teevault audit archive --out "
                     "FILE) or raise [limits] map_size in teevault.conf and restart");
        else
            vault_call_errf(c, "audit log unavailable: %s", tv_strerror(r));
        return r;
    }
    /* The write happens a moment later, in the group commit: a secret that
     * did not exist may be created by then. A caller allowed to create but
     * not to update must not turn into an update: it becomes "must not exist". */
    if (!exists && po.cas == VAULT_CAS_NONE &&
        vault_acl_check(c->v, c->principal, req->name, VAULT_CAP_UPDATE, why, sizeof why) < 0)
        po.cas = 0;
    if (!(j = calloc(1, sizeof(*j))))
        return TV_ERR_NOMEM;
    if (!(j->value = putbuf_get(req->value.len))) {
        free(j);
        return TV_ERR_NOMEM;
    }
    if (req->value.len)
        memcpy(j->value, req->value.data, req->value.len);
    j->len = req->value.len;
    j->store = c->v->store;
    snprintf(j->name, sizeof(j->name), "%s", req->name);
    j->po = po;
    j->cas_asked = req->cas_set ? (int64_t)req->cas : VAULT_CAS_NONE;
    j->create_only = !req->cas_set && po.cas == 0;
    c->write = &put_write;
    c->write_arg = j;
    return 0;
}

static int rpc_get(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__GetRequest *req = (const Teevault__V1__GetRequest *)msg;
    Teevault__V1__GetResponse resp = TEEVAULT__V1__GET_RESPONSE__INIT;
    uint8_t *sealed = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    int r, is_fn = c->principal->kind == VAULT_PRINCIPAL_FUNCTION;

    if ((r = need_store(c)) < 0 || (r = check_name(c, req->name)) < 0)
        return r;
    c->audit_version = req->version;
    if ((r = sec_access(c, req->name, VAULT_CAP_READ, 0)) < 0)
        return r;
    if (!is_fn && !(c->v->cfg && c->v->cfg->operator_plaintext_reads)) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "operators may not read secret values on this vault "
                 "(security.operator_plaintext_reads = false)");
        return TV_ERR_DENIED;
    }
    if ((r = pt_reserve(4096)) < 0)
        return r;
    r = vault_store_get_into(c->v->store, req->name, req->version, g_pt, g_pt_cap, &len, &ver);
    if (r == TV_ERR_TOO_LARGE) {
        if ((r = pt_reserve(len)) < 0)
            return r;
        r = vault_store_get_into(c->v->store, req->name, req->version, g_pt, g_pt_cap, &len, &ver);
    }
    if (r < 0)
        return store_err(c, req->name, req->version, r);
    c->audit_version = ver;
    resp.name = (char *)req->name;
    resp.version = ver;
    if (is_fn) {
        /* One AEAD under the session key (seal_fnget.h), bound to name and
         * version; no public-key operation on this path. */
        size_t slen = 0;
        if ((r = vault_attest_seal_get(c->v, c->principal->fn_session, req->name, ver, g_pt, len,
                                       &sealed, &slen)) < 0) {
            vault_call_errf(c, "%s",
                            r == TV_ERR_UNAUTHENTICATED
                                ? "the function session has ended; attest again"
                                : "cannot seal the value to the session key");
            goto out;
        }
        resp.sealed_value.data = sealed;
        resp.sealed_value.len = slen;
    } else {
        resp.value.data = g_pt;
        resp.value.len = len;
    }
    r = vault_pack(out, &resp.base);
out:
    sodium_memzero(g_pt, len);
    free(sealed);
    return r;
}

static int rpc_list(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__ListRequest *req = (const Teevault__V1__ListRequest *)msg;
    Teevault__V1__ListResponse resp = TEEVAULT__V1__LIST_RESPONSE__INIT;
    vault_list l = {0};
    char why[120], q[QMAX];
    int r;
    size_t plen = strnlen(req->prefix, VAULT_NAME_MAX + 1);

    if ((r = need_store(c)) < 0)
        return r;
    if ((r = vault_prefix_check(req->prefix, plen, why, sizeof why)) < 0) {
        vault_quote(q, sizeof q, req->prefix, plen);
        vault_call_errf(c, "invalid prefix %s: %s", q, why);
        return r;
    }
    snprintf(c->audit_secret, sizeof(c->audit_secret), "%s", req->prefix);
    if ((r = sec_access(c, req->prefix, VAULT_CAP_LIST, 0)) < 0)
        return r;
    r = vault_store_list(c->v->store, req->prefix, req->cursor, req->limit, &l);
    if (r == 0) /* no names under a denied subtree, none the caller cannot see */
        r = vault_acl_filter(c->v, c->principal, l.names, l.current, &l.n,
                             VAULT_CAP_LIST | VAULT_CAP_READ);
    if (r == TV_ERR_INVALID) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "invalid cursor (use next_cursor from a List "
                 "with the same prefix)");
        return r;
    }
    if (r < 0) {
        vault_list_clear(&l);
        set_err(c, "list", NULL, r);
        return r;
    }
    resp.n_names = l.n;
    resp.names = l.names;
    if (l.next_cursor)
        resp.next_cursor = l.next_cursor;
    r = vault_pack(out, &resp.base);
    vault_list_clear(&l);
    return r;
}

static int rpc_describe(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__NameRequest *req = (const Teevault__V1__NameRequest *)msg;
    Teevault__V1__DescribeResponse resp = TEEVAULT__V1__DESCRIBE_RESPONSE__INIT;
    Teevault__V1__VersionInfo *vi = NULL, **vp = NULL;
    vault_secret_info info = {0};
    int r;

    if ((r = need_store(c)) < 0 || (r = check_name(c, req->name)) < 0)
        return r;
    if ((r = sec_access(c, req->name, VAULT_CAP_READ, VAULT_CAP_LIST)) < 0)
        return r;
    if ((r = vault_store_describe(c->v->store, req->name, &info)) < 0)
        return store_err(c, req->name, 0, r);
    if (info.n_versions && (!(vi = calloc(info.n_versions, sizeof(*vi))) ||
                            !(vp = calloc(info.n_versions, sizeof(*vp))))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < info.n_versions; i++) {
        teevault__v1__version_info__init(&vi[i]);
        vi[i].version = info.versions[i].version;
        vi[i].created_at = (int64_t)(info.versions[i].created_ms / 1000);
        vi[i].deleted_at =
            info.versions[i].deleted ? (int64_t)(info.versions[i].changed_ms / 1000) : 0;
        vi[i].destroyed = info.versions[i].destroyed;
        vi[i].kek_epoch = info.versions[i].kek_epoch;
        vp[i] = &vi[i];
    }
    resp.name = (char *)req->name;
    resp.current_version = info.current;
    resp.max_versions = info.max_versions;
    resp.created_at = (int64_t)(info.created_ms / 1000);
    resp.updated_at = (int64_t)(info.updated_ms / 1000);
    resp.n_versions = info.n_versions;
    resp.versions = vp;
    r = vault_pack(out, &resp.base);
out:
    free(vp);
    free(vi);
    vault_secret_info_clear(&info);
    return r;
}

enum vop { VOP_DELETE, VOP_UNDELETE, VOP_DESTROY };

static int rpc_versions_op(vault_call *c, const ProtobufCMessage *msg, proto_buf *out, enum vop op)
{
    const Teevault__V1__VersionsRequest *req = (const Teevault__V1__VersionsRequest *)msg;
    static const unsigned caps[] = {VAULT_CAP_DELETE, VAULT_CAP_UPDATE, VAULT_CAP_DESTROY};
    struct audit_hook h = {c, NULL};
    const uint64_t *versions = req->versions;
    size_t n = req->n_versions;
    uint64_t latest = 0;
    int r;

    if ((r = need_store(c)) < 0 || (r = check_name(c, req->name)) < 0)
        return r;
    if ((r = sec_access(c, req->name, caps[op], 0)) < 0)
        return r;
    if (n > VAULT_STORE_MAX_VERSIONS_LIMIT) {
        vault_call_errf(c, "too many versions in one request (max %d)",
                        VAULT_STORE_MAX_VERSIONS_LIMIT);
        return TV_ERR_INVALID;
    }
    if (n == 0 && op != VOP_DELETE) {
        /* Empty = latest: for undelete the newest deleted version, for
         * destroy the newest version not yet destroyed. */
        vault_secret_info info = {0};
        if ((r = vault_store_describe(c->v->store, req->name, &info)) < 0)
            return store_err(c, req->name, 0, r);
        for (size_t i = info.n_versions; i-- > 0;) {
            const vault_version_info *e = &info.versions[i];
            if (op == VOP_UNDELETE ? (e->deleted && !e->destroyed) : !e->destroyed) {
                latest = e->version;
                break;
            }
        }
        vault_secret_info_clear(&info);
        if (!latest) {
            char q[QMAX];
            vault_quote(q, sizeof q, req->name, strlen(req->name));
            vault_call_errf(c, "secret %s has no %s version", q,
                            op == VOP_UNDELETE ? "deleted" : "remaining");
            return TV_ERR_NOT_FOUND;
        }
        versions = &latest;
        n = 1;
    }
    if (n == 1)
        c->audit_version = versions[0];
    switch (op) {
    case VOP_DELETE:
        r = vault_store_delete(c->v->store, req->name, versions, n, audit_hook, &h);
        break;
    case VOP_UNDELETE:
        r = vault_store_undelete(c->v->store, req->name, versions, n, audit_hook, &h);
        break;
    default:
        r = vault_store_destroy(c->v->store, req->name, versions, n, audit_hook, &h);
        break;
    }
    if (r < 0) {
        if (c->errmsg[0])
            return r;
        if (r == TV_ERR_DESTROYED) {
            char q[QMAX];
            vault_quote(q, sizeof q, req->name, strlen(req->name));
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "secret %s: a destroyed version cannot be undeleted", q);
            return r;
        }
        if (r == TV_ERR_NOT_FOUND && n == 1)
            return store_err(c, req->name, versions[0], r);
        return store_err(c, req->name, 0, r);
    }
    c->audited = 1;
    return pack_empty(out);
}

static int rpc_delete(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    return rpc_versions_op(c, msg, out, VOP_DELETE);
}

static int rpc_undelete(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    return rpc_versions_op(c, msg, out, VOP_UNDELETE);
}

static int rpc_destroy(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    return rpc_versions_op(c, msg, out, VOP_DESTROY);
}

static const vault_handler secrets_handlers[] = {
    {"Put", rpc_put, 0},
    {"Get", rpc_get, VAULT_M_READ | VAULT_M_FUNCTION},
    {"List", rpc_list, VAULT_M_READ},
    {"Describe", rpc_describe, VAULT_M_READ},
    {"Delete", rpc_delete, 0},
    {"Undelete", rpc_undelete, 0},
    {"Destroy", rpc_destroy, 0},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_secrets = {&teevault__v1__secrets__descriptor, secrets_handlers};
