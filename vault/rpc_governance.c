/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rpc_governance: the teevault.v1.Governance service (vault_governance.h).
 *
 * Access (operators only):
 *   Propose   what the direct change needs: function-write admin on
 *             "sys/function/<name>" and the grant rule for its ACL policies;
 *             function-delete admin on "sys/function/<name>"; policy-write /
 *             policy-delete admin on "sys/policy/<name>", not a policy the
 *             caller is bound to; governance-set admin on "sys/governance"
 *   Show, List   admin or read on "sys/governance"
 *   Apply     any operator: the authority is the quorum of signatures (k
 *             distinct keys of the set in force at Propose time), not the
 *             caller; with operator plaintext reads on no signature is needed
 * Every step is audited; Apply's record names the signers' key ids. Limits:
 * VAULT_GOV_PENDING_MAX pending changes, the document at most 80 KiB.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "proto_buf.h"
#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_acl.h"
#include "vault_attest.h"
#include "vault_governance.h"
#include "vault_functions.h"
#include "vault_keyring.h"
#include "vault_record.h"
#include "vault_rpc.h"

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

#define PENDING_PREFIX "gov/p/"
#define PENDING_FORMAT 1
#define DOC_MAX        (80u * 1024)

static int gov_require(vault_call *c, const char *path, unsigned cap1, unsigned cap2)
{
    char why[200], q[96];
    int r;
    if ((r = vault_call_require_operator(c)) < 0)
        return r;
    r = vault_acl_check(c->v, c->principal, path, cap1, why, sizeof why);
    if (r == TV_ERR_DENIED && cap2)
        r = vault_acl_check(c->v, c->principal, path, cap2, why, sizeof why);
    if (r == TV_ERR_DENIED) {
        vault_quote_str(q, sizeof q, path);
        vault_call_errf(c, "permission denied: %s needs %s on %s: %s", c->method,
                        vault_acl_cap_name(cap1), q, why);
    } else if (r < 0) {
        vault_call_errf(c, "policy check failed: %s", tv_strerror(r));
    }
    return r;
}

/* ------------------------------------------------------------ documents */

static int appendf(proto_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int appendf(proto_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return TV_ERR_TOO_LARGE;
    return proto_buf_put(b, tmp, (size_t)n);
}

/* "name:" then every line of text indented by two spaces; control bytes
 * other than newline shown as '?', so the document is plain to read. */
static int append_block(proto_buf *b, const char *name, const char *text)
{
    int r;
    if ((r = appendf(b, "%s:\n  ", name)) < 0)
        return r;
    for (const char *p = text; *p; p++) {
        char ch = *p;
        if (ch == '\n') {
            if ((r = proto_buf_put(b, p[1] ? "\n  " : "\n", p[1] ? 3 : 1)) < 0)
                return r;
            continue;
        }
        if ((unsigned char)ch < 0x20 || ch == 0x7f)
            ch = '?';
        if ((r = proto_buf_put(b, &ch, 1)) < 0)
            return r;
    }
    if (!*text || text[strlen(text) - 1] != '\n')
        r = proto_buf_put(b, "\n", 1);
    return r;
}

static void set_hash_hex(const vault_gov_set *s, int found, char out[65])
{
    if (!found) {
        snprintf(out, 65, "none");
        return;
    }
    uint8_t h[32], kn[8];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    proto_put_be32(kn, s->k);
    proto_put_be32(kn + 4, s->n);
    crypto_hash_sha256_update(&st, kn, 8);
    crypto_hash_sha256_update(&st, (const uint8_t *)s->keys, (size_t)s->n * 32);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, 32);
}

/* The canonical document of change ch with id `id` on this vault. */
static int make_document(vault_call *c, MDB_txn *txn, const char *id,
                         const Teevault__V1__GovernanceChange *ch, char **doc)
{
    proto_buf b;
    vault_gov_set set;
    int found = 0, r;
    char vid[65] = "", sh[65];
    const uint8_t *idb = c->v->kr ? vault_keyring_vault_id(c->v->kr) : NULL;

    if ((r = vault_gov_set_get(c->v->db, txn, &set, &found)) < 0)
        return r;
    if (idb)
        sodium_bin2hex(vid, sizeof vid, idb, 32);
    set_hash_hex(&set, found, sh);
    proto_buf_init(&b, 0);
    if ((r = appendf(&b, "teevault governance change v1\nvault: %s\nchange: %s\n", vid, id)) < 0 ||
        (r = appendf(&b, "governance-set: %s\nkind: %s\n", sh, ch->kind)) < 0)
        goto out;
    if (!strcmp(ch->kind, "function-write") || !strcmp(ch->kind, "function-delete")) {
        const Teevault__V1__FunctionInfo *f = ch->function;
        if ((r = appendf(&b, "function: %s\n", f->name)) < 0)
            goto out;
        if (!strcmp(ch->kind, "function-write")) {
            if ((r = proto_buf_put(&b, "acl-policies:", 13)) < 0)
                goto out;
            for (size_t i = 0; i < f->n_acl_policies; i++)
                if ((r = appendf(&b, " %s", f->acl_policies[i])) < 0)
                    goto out;
            if ((r = proto_buf_put(&b, "\n", 1)) < 0 ||
                (r = append_block(&b, "identity-policy", f->policy)) < 0)
                goto out;
        }
    } else if (!strcmp(ch->kind, "policy-write") || !strcmp(ch->kind, "policy-delete")) {
        if ((r = appendf(&b, "policy: %s\n", ch->policy->name)) < 0)
            goto out;
        if (!strcmp(ch->kind, "policy-write") &&
            (r = append_block(&b, "document", ch->policy->document)) < 0)
            goto out;
    } else {
        vault_gov_set ns;
        char err[160];
        if ((r = vault_gov_set_from_pb(ch->set, &ns, err, sizeof err)) < 0)
            goto out;
        if ((r = appendf(&b, "threshold: %u\n", ns.k)) < 0)
            goto out;
        for (uint32_t i = 0; i < ns.n; i++) {
            char hx[65];
            sodium_bin2hex(hx, sizeof hx, ns.keys[i], 32);
            if ((r = appendf(&b, "key: %s\n", hx)) < 0)
                goto out;
        }
    }
    if (b.len > DOC_MAX) {
        r = TV_ERR_TOO_LARGE;
        goto out;
    }
    if (!(*doc = malloc(b.len + 1))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    memcpy(*doc, b.d, b.len);
    (*doc)[b.len] = '\0';
    r = 0;
out:
    proto_buf_free(&b);
    return r;
}

/* ------------------------------------------------------------ pending changes */

typedef struct pending {
    char id[VAULT_GOV_ID_LEN + 1];
    int64_t created;
    char proposer[VAULT_ID_MAX * 2 + 16];
    char kind[32];
    Teevault__V1__GovernanceChange *change; /* unpacked */
    char *document;
} pending;

static void pending_clear(pending *p)
{
    if (p->change)
        teevault__v1__governance_change__free_unpacked(p->change, NULL);
    free(p->document);
    memset(p, 0, sizeof *p);
}

static int pending_decode(const char *id, const MDB_val *pl, pending *out)
{
    proto_buf b;
    uint8_t fmt;
    uint64_t created;
    const uint8_t *s;
    size_t n;
    pending p;
    memset(&p, 0, sizeof p);
    proto_buf_wrap(&b, pl->mv_data, pl->mv_size);
    if (proto_buf_get_u8(&b, &fmt) < 0 || fmt != PENDING_FORMAT ||
        proto_buf_get_u64(&b, &created) < 0)
        return TV_ERR_INTEGRITY;
    if (proto_buf_get_lv(&b, &s, &n) < 0 || n >= sizeof p.proposer)
        return TV_ERR_INTEGRITY;
    memcpy(p.proposer, s, n);
    if (proto_buf_get_lv(&b, &s, &n) < 0 || n >= sizeof p.kind)
        return TV_ERR_INTEGRITY;
    memcpy(p.kind, s, n);
    if (proto_buf_get_lv(&b, &s, &n) < 0 ||
        !(p.change = teevault__v1__governance_change__unpack(NULL, n, s)))
        return TV_ERR_INTEGRITY;
    if (proto_buf_get_lv(&b, &s, &n) < 0 || !(p.document = malloc(n + 1))) {
        pending_clear(&p);
        return TV_ERR_INTEGRITY;
    }
    memcpy(p.document, s, n);
    p.document[n] = '\0';
    snprintf(p.id, sizeof p.id, "%s", id);
    p.created = (int64_t)created;
    *out = p;
    return 0;
}

static int pending_get(vault_call *c, MDB_txn *txn, const char *id, pending *out)
{
    char key[32];
    MDB_val pl;
    int r;
    if (strlen(id) != VAULT_GOV_ID_LEN || strspn(id, "0123456789abcdef") != VAULT_GOV_ID_LEN) {
        char q[64];
        vault_quote_str(q, sizeof q, id);
        vault_call_errf(c, "invalid change id %s (16 lowercase hex digits)", q);
        return TV_ERR_INVALID;
    }
    snprintf(key, sizeof key, PENDING_PREFIX "%s", id);
    if ((r = vault_record_get(c->v->db, txn, VAULT_TBL_META, key, strlen(key), &pl, NULL)) < 0) {
        if (r == TV_ERR_NOT_FOUND)
            vault_call_errf(c, "no pending governance change %s", id);
        return r;
    }
    return pending_decode(id, &pl, out);
}

/* Walk the pending changes (ids in order); fn returns < 0 to stop. */
static int pending_walk(vault_call *c, MDB_txn *txn, int (*fn)(void *, pending *), void *arg)
{
    MDB_cursor *cur = NULL;
    MDB_val k = {strlen(PENDING_PREFIX), (void *)(uintptr_t)PENDING_PREFIX}, sv, pl;
    size_t plen = strlen(PENDING_PREFIX);
    int rc, r = 0;
    if ((r = vault_db_err(mdb_cursor_open(txn, vault_record_dbi(c->v->db, VAULT_TBL_META), &cur))) <
        0)
        return r;
    for (rc = mdb_cursor_get(cur, &k, &sv, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &sv, MDB_NEXT)) {
        char id[VAULT_GOV_ID_LEN + 1];
        pending p;
        if (k.mv_size != plen + VAULT_GOV_ID_LEN || memcmp(k.mv_data, PENDING_PREFIX, plen) != 0)
            break;
        if ((r = vault_record_open(c->v->db, VAULT_TBL_META, k.mv_data, k.mv_size, &sv, &pl,
                                   NULL)) < 0)
            break;
        memcpy(id, (const char *)k.mv_data + plen, VAULT_GOV_ID_LEN);
        id[VAULT_GOV_ID_LEN] = '\0';
        if ((r = pending_decode(id, &pl, &p)) < 0)
            break;
        r = fn(arg, &p);
        pending_clear(&p);
        if (r < 0)
            break;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : vault_db_err(rc);
}

static int count_one(void *arg, pending *p)
{
    (void)p;
    (*(size_t *)arg)++;
    return 0;
}

/* ------------------------------------------------------------ Propose */

static int authorize_change(vault_call *c, const Teevault__V1__GovernanceChange *ch)
{
    char path[160], err[300];
    int r;
    const char *k = ch->kind;
    if (!strcmp(k, "function-write") || !strcmp(k, "function-delete")) {
        const Teevault__V1__FunctionInfo *f = ch->function;
        if (!f || !vault_fn_name_valid(f->name)) {
            vault_call_errf(c, "%s needs a valid function name", k);
            return TV_ERR_INVALID;
        }
        snprintf(path, sizeof path, "sys/function/%s", f->name);
        if ((r = gov_require(c, path, VAULT_CAP_ADMIN, 0)) < 0)
            return r;
        if (!strcmp(k, "function-delete"))
            return 0;
        vault_fn_policy pol;
        if ((r = vault_fn_policy_parse(f->policy, strlen(f->policy), &pol, err, sizeof err)) < 0) {
            vault_call_errf(c, "function %s", err);
            return r;
        }
        if (f->n_acl_policies > VAULT_FN_ACL_MAX) {
            vault_call_errf(c, "at most %u ACL policies per function", VAULT_FN_ACL_MAX);
            return TV_ERR_INVALID;
        }
        for (size_t i = 0; i < f->n_acl_policies; i++)
            if (!vault_acl_name_valid(f->acl_policies[i])) {
                vault_call_errf(c, "invalid ACL policy name");
                return TV_ERR_INVALID;
            }
        r = vault_acl_may_grant(c->v, c->principal, f->acl_policies, f->n_acl_policies, err,
                                sizeof err);
        if (r == TV_ERR_DENIED)
            vault_call_errf(c, "permission denied: %s", err);
        return r;
    }
    if (!strcmp(k, "policy-write") || !strcmp(k, "policy-delete")) {
        const Teevault__V1__PolicyDocument *d = ch->policy;
        if (!d || !vault_acl_name_valid(d->name) || !strcmp(d->name, "root")) {
            vault_call_errf(c, "%s needs a valid policy name", k);
            return TV_ERR_INVALID;
        }
        snprintf(path, sizeof path, "sys/policy/%s", d->name);
        if ((r = gov_require(c, path, VAULT_CAP_ADMIN, 0)) < 0)
            return r;
        if (!c->principal->root && vault_acl_holds(c->principal, d->name)) {
            vault_call_errf(c, "permission denied: the caller is bound to policy \"%s\"", d->name);
            return TV_ERR_DENIED;
        }
        if (!strcmp(k, "policy-write")) {
            vault_acl_policy *pol = NULL;
            if ((r = vault_acl_parse(d->name, d->document, strlen(d->document), &pol, err,
                                     sizeof err)) < 0) {
                vault_call_errf(c, "policy document: %s", err);
                return r;
            }
            vault_acl_policy_free(pol);
        }
        return 0;
    }
    if (!strcmp(k, "governance-set")) {
        vault_gov_set s;
        if ((r = gov_require(c, "sys/governance", VAULT_CAP_ADMIN, 0)) < 0)
            return r;
        if ((r = vault_gov_set_from_pb(ch->set, &s, err, sizeof err)) < 0)
            vault_call_errf(c, "%s", err);
        return r;
    }
    char q[64];
    vault_quote_str(q, sizeof q, k);
    vault_call_errf(c,
                    "unknown change kind %s (function-write, function-delete, policy-write, "
                    "policy-delete, governance-set)",
                    q);
    return TV_ERR_INVALID;
}

static int fill_pending_pb(Teevault__V1__GovernancePending *m, const pending *p)
{
    m->id = (char *)p->id;
    m->kind = (char *)p->kind;
    m->document = p->document;
    m->created_at = p->created;
    m->proposer = (char *)p->proposer;
    return 0;
}

static int rpc_gov_propose(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__GovernanceChange *ch = (const Teevault__V1__GovernanceChange *)msg;
    MDB_txn *txn = NULL;
    pending p;
    proto_buf rec;
    uint8_t rid[8];
    char key[32];
    size_t n = 0;
    int r;
    memset(&p, 0, sizeof p);
    proto_buf_init(&rec, 0);

    if ((r = authorize_change(c, ch)) < 0)
        goto out;
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        goto out;
    if ((r = pending_walk(c, txn, count_one, &n)) < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    if (n >= VAULT_GOV_PENDING_MAX) {
        vault_call_errf(c, "%d governance changes are pending already (apply or wait)",
                        VAULT_GOV_PENDING_MAX);
        r = TV_ERR_RESOURCE;
        goto out;
    }
    randombytes_buf(rid, sizeof rid);
    sodium_bin2hex(p.id, sizeof p.id, rid, sizeof rid);
    p.created = (int64_t)time(NULL);
    if (c->principal->user[0])
        snprintf(p.proposer, sizeof p.proposer, "user:%s", c->principal->user);
    else
        snprintf(p.proposer, sizeof p.proposer, "%s:%s",
                 c->principal->root ? "root-token" : "token", c->principal->id);
    snprintf(p.kind, sizeof p.kind, "%s", ch->kind);
    if ((r = make_document(c, txn, p.id, ch, &p.document)) < 0) {
        vault_call_errf(c, "cannot make the change document: %s", tv_strerror(r));
        goto out;
    }
    size_t cl = teevault__v1__governance_change__get_packed_size(ch);
    uint8_t *cb = malloc(cl ? cl : 1);
    if (!cb) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    teevault__v1__governance_change__pack(ch, cb);
    if ((r = proto_buf_put_u8(&rec, PENDING_FORMAT)) < 0 ||
        (r = proto_buf_put_u64(&rec, (uint64_t)p.created)) < 0 ||
        (r = proto_buf_put_lv(&rec, p.proposer, strlen(p.proposer))) < 0 ||
        (r = proto_buf_put_lv(&rec, p.kind, strlen(p.kind))) < 0 ||
        (r = proto_buf_put_lv(&rec, cb, cl)) < 0 ||
        (r = proto_buf_put_lv(&rec, p.document, strlen(p.document))) < 0) {
        free(cb);
        goto out;
    }
    free(cb);
    snprintf(key, sizeof key, PENDING_PREFIX "%s", p.id);
    if ((r = vault_record_put(c->v->db, txn, VAULT_TBL_META, key, strlen(key), rec.d, rec.len,
                              MDB_NOOVERWRITE)) < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    snprintf(c->audit_detail, sizeof c->audit_detail, "governance propose %s %s", p.id, p.kind);
    r = vault_call_commit_audited(c, txn);
    txn = NULL;
    if (r < 0)
        goto out;
    Teevault__V1__GovernancePending m = TEEVAULT__V1__GOVERNANCE_PENDING__INIT;
    fill_pending_pb(&m, &p);
    r = vault_pack(out, &m.base);
out:
    if (txn)
        mdb_txn_abort(txn);
    proto_buf_free(&rec);
    free(p.document);
    return r;
}

/* ------------------------------------------------------------ Show, List */

static int rpc_gov_show(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__GovernanceIdRequest *req = (const Teevault__V1__GovernanceIdRequest *)msg;
    MDB_txn *txn = NULL;
    pending p;
    int r;
    memset(&p, 0, sizeof p);
    if ((r = gov_require(c, "sys/governance", VAULT_CAP_ADMIN, VAULT_CAP_READ)) < 0)
        return r;
    if ((r = vault_call_begin(c, &txn, 0)) < 0)
        return r;
    r = pending_get(c, txn, req->id, &p);
    mdb_txn_abort(txn);
    if (r < 0)
        return c->errmsg[0] ? r : vault_call_store_error(c, r);
    Teevault__V1__GovernancePending m = TEEVAULT__V1__GOVERNANCE_PENDING__INIT;
    fill_pending_pb(&m, &p);
    r = vault_pack(out, &m.base);
    pending_clear(&p);
    return r;
}

typedef struct list_acc {
    Teevault__V1__GovernancePending *items;
    char **docs;
    pending *ps;
    size_t n, cap;
} list_acc;

static int list_one(void *arg, pending *p)
{
    list_acc *a = arg;
    if (a->n == a->cap)
        return 0;
    a->ps[a->n] = *p;
    a->ps[a->n].change = NULL; /* not needed */
    p->document = NULL;        /* moved */
    a->n++;
    return 0;
}

static int rpc_gov_list(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    MDB_txn *txn = NULL;
    list_acc a = {0};
    vault_gov_set set;
    int found = 0, r;
    Teevault__V1__GovernancePending *items = NULL, **ptrs = NULL;
    ProtobufCBinaryData keys[VAULT_GOV_KEYS_MAX];
    (void)msg;
    if ((r = gov_require(c, "sys/governance", VAULT_CAP_ADMIN, VAULT_CAP_LIST)) < 0)
        return r;
    a.cap = VAULT_GOV_PENDING_MAX;
    if (!(a.ps = calloc(a.cap, sizeof *a.ps)) || !(items = calloc(a.cap, sizeof *items)) ||
        !(ptrs = calloc(a.cap, sizeof *ptrs))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if ((r = vault_call_begin(c, &txn, 0)) < 0)
        goto out;
    if ((r = pending_walk(c, txn, list_one, &a)) < 0 ||
        (r = vault_gov_set_get(c->v->db, txn, &set, &found)) < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    for (size_t i = 0; i < a.n; i++) {
        teevault__v1__governance_pending__init(&items[i]);
        fill_pending_pb(&items[i], &a.ps[i]);
        ptrs[i] = &items[i];
    }
    Teevault__V1__GovernanceSet ps = TEEVAULT__V1__GOVERNANCE_SET__INIT;
    for (uint32_t i = 0; i < set.n; i++) {
        keys[i].data = set.keys[i];
        keys[i].len = 32;
    }
    ps.keys = keys;
    ps.n_keys = set.n;
    ps.threshold = set.k;
    Teevault__V1__GovernanceListResponse resp = TEEVAULT__V1__GOVERNANCE_LIST_RESPONSE__INIT;
    resp.changes = ptrs;
    resp.n_changes = a.n;
    resp.set = &ps;
    resp.quorum_required = vault_gov_required(c->v);
    r = vault_pack(out, &resp.base);
out:
    if (txn)
        mdb_txn_abort(txn);
    for (size_t i = 0; i < a.n; i++)
        pending_clear(&a.ps[i]);
    free(a.ps);
    free(items);
    free(ptrs);
    return r;
}

/* ------------------------------------------------------------ Apply */

static int apply_change(vault_call *c, MDB_txn *txn, const Teevault__V1__GovernanceChange *ch)
{
    char err[200] = "";
    int r;
    const char *k = ch->kind;
    if (!strcmp(k, "function-write")) {
        Teevault__V1__FunctionInfo fi = *ch->function;
        fi.created_at = 0;
        r = vault_functions_put(c->v->db, txn, &fi, (int64_t)time(NULL), err, sizeof err);
    } else if (!strcmp(k, "function-delete")) {
        r = vault_functions_delete(c->v->db, txn, ch->function->name);
    } else if (!strcmp(k, "policy-write")) {
        r = vault_acl_store_put(c->v->db, txn, ch->policy->name, ch->policy->document,
                                strlen(ch->policy->document), (int64_t)time(NULL), err, sizeof err);
    } else if (!strcmp(k, "policy-delete")) {
        r = vault_acl_store_delete(c->v->db, txn, ch->policy->name);
    } else {
        vault_gov_set s;
        if ((r = vault_gov_set_from_pb(ch->set, &s, err, sizeof err)) == 0)
            r = vault_gov_set_put(c->v->db, txn, &s);
    }
    if (r < 0)
        vault_call_errf(c, "the change cannot be applied: %s", err[0] ? err : tv_strerror(r));
    return r;
}

static int rpc_gov_apply(vault_call *c, const ProtobufCMessage *msg, proto_buf *out)
{
    const Teevault__V1__GovernanceApplyRequest *req =
        (const Teevault__V1__GovernanceApplyRequest *)msg;
    MDB_txn *txn = NULL;
    pending p;
    vault_gov_set set;
    int found = 0, r, used[VAULT_GOV_KEYS_MAX] = {0};
    uint32_t good = 0;
    char ids[VAULT_GOV_KEYS_MAX * 17 + 1] = "", *doc2 = NULL;
    memset(&p, 0, sizeof p);

    if ((r = vault_call_require_operator(c)) < 0)
        return r;
    if (req->n_signatures > VAULT_GOV_KEYS_MAX) {
        vault_call_errf(c, "at most %d signatures", VAULT_GOV_KEYS_MAX);
        return TV_ERR_INVALID;
    }
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    if ((r = pending_get(c, txn, req->id, &p)) < 0) {
        if (!c->errmsg[0])
            vault_call_store_error(c, r);
        goto out;
    }
    snprintf(c->audit_detail, sizeof c->audit_detail, "governance apply %s %s", p.id, p.kind);
    /* The document as it would be made now: if the governance set changed
     * since the proposal, the signatures were for another set. */
    if ((r = make_document(c, txn, p.id, p.change, &doc2)) < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    if (strcmp(doc2, p.document) != 0) {
        vault_call_errf(c,
                        "the governance set changed since change %s was proposed; propose it "
                        "again",
                        p.id);
        r = TV_ERR_CAS;
        goto out;
    }
    if ((r = vault_gov_set_get(c->v->db, txn, &set, &found)) < 0) {
        vault_call_store_error(c, r);
        goto out;
    }
    if (vault_gov_required(c->v)) {
        size_t dl = strlen(p.document);
        uint8_t *m = malloc(sizeof(VAULT_GOV_DOMAIN) + dl);
        if (!m) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        memcpy(m, VAULT_GOV_DOMAIN, sizeof(VAULT_GOV_DOMAIN));
        memcpy(m + sizeof(VAULT_GOV_DOMAIN), p.document, dl);
        for (size_t i = 0; i < req->n_signatures; i++) {
            const Teevault__V1__GovernanceSignature *s = req->signatures[i];
            if (s->public_key.len != 32 || s->signature.len != 64)
                continue;
            for (uint32_t j = 0; j < set.n; j++) {
                if (used[j] || memcmp(set.keys[j], s->public_key.data, 32) != 0)
                    continue;
                if (crypto_sign_verify_detached(s->signature.data, m, sizeof(VAULT_GOV_DOMAIN) + dl,
                                                set.keys[j]) == 0) {
                    char kid[17];
                    used[j] = 1;
                    good++;
                    vault_gov_key_id(set.keys[j], kid);
                    snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s",
                             good > 1 ? "," : "", kid);
                }
            }
        }
        free(m);
        if (!found || good < set.k) {
            vault_call_errf(c,
                            "change %s needs %u valid signatures of distinct governance keys, "
                            "got %u%s",
                            p.id, found ? set.k : 0, good,
                            found ? ""
                                  : " (this vault has no governance set: operator init "
                                    "--governance-key)");
            r = TV_ERR_DENIED;
            goto out;
        }
        size_t l = strlen(c->audit_detail);
        snprintf(c->audit_detail + l, sizeof c->audit_detail - l, " signers %s", ids);
    } else {
        size_t l = strlen(c->audit_detail);
        snprintf(c->audit_detail + l, sizeof c->audit_detail - l,
                 " (plaintext reads on: no quorum)");
    }
    if ((r = apply_change(c, txn, p.change)) < 0)
        goto out;
    {
        char key[32];
        snprintf(key, sizeof key, PENDING_PREFIX "%s", p.id);
        MDB_val k = {strlen(key), key};
        if ((r = vault_db_err(mdb_del(txn, vault_record_dbi(c->v->db, VAULT_TBL_META), &k, NULL))) <
            0) {
            vault_call_store_error(c, r);
            goto out;
        }
    }
    r = vault_call_commit_audited(c, txn);
    txn = NULL;
    if (r < 0)
        goto out;
    if (!strcmp(p.kind, "function-write") || !strcmp(p.kind, "function-delete"))
        vault_attest_drop_function(c->v, p.change->function->name);
    r = vault_pack_empty(out);
out:
    if (txn)
        mdb_txn_abort(txn);
    free(doc2);
    pending_clear(&p);
    return r;
}

static const vault_handler governance_handlers[] = {
    {"Propose", rpc_gov_propose, 0},
    {"Show", rpc_gov_show, VAULT_M_READ},
    {"List", rpc_gov_list, VAULT_M_READ},
    {"Apply", rpc_gov_apply, 0},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_governance = {&teevault__v1__governance__descriptor,
                                            governance_handlers};
