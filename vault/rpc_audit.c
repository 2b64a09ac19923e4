/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rpc_audit: the teevault.v1.Audit service (List, Head, Export, Prune).
 *
 * Access: admin on "sys/audit" for every method (operators only; a function
 * can never hold admin); Prune also needs destroy on "sys/audit" (it drops
 * history the vault holds, once the caller shows it archived it). Reads are
 * audited through group commit (VAULT_M_READ), so reading the log leaves a
 * trace in it; Prune's record commits in the transaction that drops.
 *
 * Export pages: one reply holds at most RPC_AUDIT_PAGE records; the reply
 * then says next_from (call again with from = next_from and to = last_seq).
 * Every page ends with a checkpoint signed now over exactly its records, so
 * pages concatenated (one header, then each page's lines) verify offline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "teevault.pb-c.h"
#include "vault.h"
#include "vault_rpc.h"
#include "vault_acl.h"
#include "vault_audit.h"
#include "vault_db.h"
#include "vault_log.h"

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

#define RPC_AUDIT_LIST_DEFAULT 100
#define RPC_AUDIT_LIST_MAX     1000
#define RPC_AUDIT_PAGE         2048  /* 2048 x <= 1.4 KiB stays under the 4 MiB frame */
#define RPC_AUDIT_PRUNE_MAX    20000 /* records dropped per Prune call (one write txn) */

static int require_admin(vault_call *c)
{
    char why[200];
    int r;
    if (c->principal->kind != VAULT_PRINCIPAL_OPERATOR) {
        vault_call_errf(c, "reading the audit log needs an operator token");
        return c->principal->kind == VAULT_PRINCIPAL_NONE ? TV_ERR_UNAUTHENTICATED : TV_ERR_DENIED;
    }
    r = vault_acl_check(c->v, c->principal, "sys/audit", VAULT_CAP_ADMIN, why, sizeof(why));
    if (r == TV_ERR_DENIED) {
        vault_call_errf(c, "admin on \"sys/audit\" is required: %s", why);
        snprintf(c->audit_detail, sizeof(c->audit_detail), "denied: no admin on sys/audit");
    } else if (r < 0) {
        vault_call_errf(c, "access check failed");
    }
    return r;
}

static int need_log(vault_call *c)
{
    if (!c->v->audit || !c->v->db) {
        vault_call_errf(c, "the audit log is not open");
        return TV_ERR_AUDIT;
    }
    return 0;
}

static void to_pb(const audit_record *r, Teevault__V1__AuditRecord *m)
{
    teevault__v1__audit_record__init(m);
    m->seq = r->seq;
    m->time_ns = r->time_ns;
    m->principal = (char *)r->principal;
    m->method = (char *)r->method;
    m->secret = (char *)r->secret;
    m->version = r->version;
    m->status = (int32_t)r->status;
    m->request_id = (char *)r->request_id;
    m->peer = (char *)r->peer;
    m->detail = (char *)r->detail;
    m->prev_hash.data = (uint8_t *)r->prev_hash;
    m->prev_hash.len = AUDIT_HASH_LEN;
    m->hash.data = (uint8_t *)r->hash;
    m->hash.len = AUDIT_HASH_LEN;
}

static void ckpt_to_pb(const audit_checkpoint *c, Teevault__V1__AuditCheckpoint *m, int signed_)
{
    teevault__v1__audit_checkpoint__init(m);
    m->first_seq = c->first_seq;
    m->last_seq = c->last_seq;
    m->head_hash.data = (uint8_t *)c->head_hash;
    m->head_hash.len = AUDIT_HASH_LEN;
    m->time_ns = c->time_ns;
    if (signed_) {
        m->signature.data = (uint8_t *)c->sig;
        m->signature.len = AUDIT_SIG_LEN;
    }
}

typedef struct rec_vec {
    audit_record *r;
    size_t n, cap;
} rec_vec;

static int collect(void *arg, const audit_record *r)
{
    rec_vec *v = arg;
    if (v->n == v->cap)
        return 1;
    v->r[v->n++] = *r;
    return 0;
}

typedef struct ck_vec {
    audit_checkpoint *c;
    size_t n, cap;
} ck_vec;

static int collect_ck(void *arg, const audit_checkpoint *c)
{
    ck_vec *v = arg;
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        audit_checkpoint *p = realloc(v->c, nc * sizeof(*p));
        if (!p)
            return TV_ERR_NOMEM;
        v->c = p;
        v->cap = nc;
    }
    v->c[v->n++] = *c;
    return 0;
}

/* Pack records [0, n) (+ optional checkpoints) as msg's repeated fields. */
static int records_pb(const rec_vec *rv, Teevault__V1__AuditRecord **mem,
                      Teevault__V1__AuditRecord ***ptrs)
{
    *mem = calloc(rv->n ? rv->n : 1, sizeof(**mem));
    *ptrs = calloc(rv->n ? rv->n : 1, sizeof(**ptrs));
    if (!*mem || !*ptrs)
        return TV_ERR_NOMEM;
    for (size_t i = 0; i < rv->n; i++) {
        to_pb(&rv->r[i], &(*mem)[i]);
        (*ptrs)[i] = &(*mem)[i];
    }
    return 0;
}

static int rpc_audit_list(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    const Teevault__V1__AuditListRequest *rq = (const Teevault__V1__AuditListRequest *)req;
    Teevault__V1__AuditListResponse resp = TEEVAULT__V1__AUDIT_LIST_RESPONSE__INIT;
    Teevault__V1__AuditRecord *mem = NULL, **ptrs = NULL;
    rec_vec rv = {0};
    audit_filter f;
    MDB_txn *txn = NULL;
    int r;

    if ((r = require_admin(c)) < 0 || (r = need_log(c)) < 0)
        return r;
    rv.cap = rq->limit ? rq->limit : RPC_AUDIT_LIST_DEFAULT;
    if (rv.cap > RPC_AUDIT_LIST_MAX)
        rv.cap = RPC_AUDIT_LIST_MAX;
    if ((rv.r = calloc(rv.cap, sizeof(*rv.r))) == NULL)
        return TV_ERR_NOMEM;
    memset(&f, 0, sizeof(f));
    f.since = rq->since;
    f.principal = rq->principal;
    f.secret = rq->secret;
    f.limit = rv.cap;
    if ((r = vault_audit_settle(c->v)) < 0 || (r = vault_db_rtxn(c->v->db, &txn)) < 0)
        goto out;
    if ((r = audit_list(c->v->audit, txn, &f, collect, &rv)) < 0) {
        vault_call_errf(c, "the audit log cannot be read (%s)", tv_strerror(r));
        goto out;
    }
    if ((r = records_pb(&rv, &mem, &ptrs)) < 0)
        goto out;
    resp.n_records = rv.n;
    resp.records = ptrs;
    r = vault_pack(out, &resp.base);
out:
    if (txn)
        mdb_txn_abort(txn);
    free(mem);
    free(ptrs);
    free(rv.r);
    return r;
}

static int rpc_audit_head(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    Teevault__V1__AuditCheckpoint m;
    audit_checkpoint ck;
    MDB_txn *txn = NULL;
    uint64_t seq = 0;
    int r, signed_ = 0;

    (void)req;
    if ((r = require_admin(c)) < 0 || (r = need_log(c)) < 0)
        return r;
    memset(&ck, 0, sizeof(ck));
    if ((r = vault_audit_settle(c->v)) < 0 || (r = vault_db_rtxn(c->v->db, &txn)) < 0)
        return r;
    if ((r = audit_head(c->v->audit, txn, &seq, ck.head_hash)) < 0)
        goto out;
    /* The first record the vault still holds (1 until an archive dropped
     * a prefix: docs/AUDIT.md "Archive"). */
    if ((r = audit_first_seq(c->v->audit, txn, &ck.first_seq)) < 0)
        goto out;
    ck.last_seq = seq;
    if (seq && audit_log_has_key(c->v->audit)) {
        if ((r = audit_sign_checkpoint(c->v->audit, txn, ck.first_seq, seq, 0, &ck)) < 0)
            goto out;
        signed_ = 1;
    }
    ckpt_to_pb(&ck, &m, signed_);
    r = vault_pack(out, &m.base);
out:
    mdb_txn_abort(txn);
    return r;
}

static int rpc_audit_export(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    const Teevault__V1__AuditExportRequest *rq = (const Teevault__V1__AuditExportRequest *)req;
    Teevault__V1__AuditExportResponse resp = TEEVAULT__V1__AUDIT_EXPORT_RESPONSE__INIT;
    Teevault__V1__AuditRecord *mem = NULL, **ptrs = NULL;
    Teevault__V1__AuditCheckpoint *cmem = NULL, **cptrs = NULL;
    rec_vec rv = {0};
    ck_vec cv = {0};
    audit_filter f;
    MDB_txn *txn = NULL;
    uint64_t head = 0, from, to;
    uint8_t pk[AUDIT_PK_LEN];
    int r, has_pk;

    if ((r = require_admin(c)) < 0 || (r = need_log(c)) < 0)
        return r;
    has_pk = audit_log_pubkey(c->v->audit, pk) == 0;
    if ((r = vault_audit_settle(c->v)) < 0 || (r = vault_db_rtxn(c->v->db, &txn)) < 0)
        return r;
    if ((r = audit_head(c->v->audit, txn, &head, NULL)) < 0)
        goto out;
    from = rq->from ? rq->from : 1;
    to = rq->to && rq->to < head ? rq->to : head;
    rv.cap = RPC_AUDIT_PAGE;
    if ((rv.r = calloc(rv.cap, sizeof(*rv.r))) == NULL) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (from <= to) {
        memset(&f, 0, sizeof(f));
        f.since = from;
        f.to = to;
        f.limit = rv.cap;
        if ((r = audit_list(c->v->audit, txn, &f, collect, &rv)) < 0)
            goto out;
    }
    if (rv.n > 0) {
        uint64_t last = rv.r[rv.n - 1].seq;
        if ((r = audit_list_checkpoints(c->v->audit, txn, from, last, collect_ck, &cv)) < 0)
            goto out;
        if (has_pk) {
            audit_checkpoint now;
            if ((r = audit_sign_checkpoint(c->v->audit, txn, rv.r[0].seq, last, 0, &now)) < 0 ||
                (r = collect_ck(&cv, &now)) < 0)
                goto out;
        }
        resp.next_from = last < to ? last + 1 : 0;
    }
    if ((r = records_pb(&rv, &mem, &ptrs)) < 0)
        goto out;
    cmem = calloc(cv.n ? cv.n : 1, sizeof(*cmem));
    cptrs = calloc(cv.n ? cv.n : 1, sizeof(*cptrs));
    if (!cmem || !cptrs) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < cv.n; i++) {
        ckpt_to_pb(&cv.c[i], &cmem[i], 1);
        cptrs[i] = &cmem[i];
    }
    resp.n_records = rv.n;
    resp.records = ptrs;
    resp.n_checkpoints = cv.n;
    resp.checkpoints = cptrs;
    if (has_pk) {
        resp.pubkey.data = pk;
        resp.pubkey.len = sizeof(pk);
    }
    resp.last_seq = to;
    r = vault_pack(out, &resp.base);
out:
    if (r < 0 && !c->errmsg[0])
        vault_call_errf(c, "the audit log cannot be exported (%s)", tv_strerror(r));
    mdb_txn_abort(txn);
    free(mem);
    free(ptrs);
    free(cmem);
    free(cptrs);
    free(cv.c);
    free(rv.r);
    return r;
}

static int rpc_audit_prune(vault_call *c, const ProtobufCMessage *req, proto_buf *out)
{
    const Teevault__V1__AuditPruneRequest *rq = (const Teevault__V1__AuditPruneRequest *)req;
    Teevault__V1__AuditPruneResponse resp = TEEVAULT__V1__AUDIT_PRUNE_RESPONSE__INIT;
    uint64_t dropped = 0, first = 0;
    MDB_txn *txn = NULL;
    char why[200];
    int r;

    if ((r = require_admin(c)) < 0 || (r = need_log(c)) < 0)
        return r;
    r = vault_acl_check(c->v, c->principal, "sys/audit", VAULT_CAP_DESTROY, why, sizeof(why));
    if (r < 0) {
        if (r == TV_ERR_DENIED) {
            vault_call_errf(c, "dropping archived audit records needs destroy on \"sys/audit\": %s",
                            why);
            snprintf(c->audit_detail, sizeof(c->audit_detail), "denied: no destroy on sys/audit");
        } else {
            vault_call_errf(c, "access check failed");
        }
        return r;
    }
    if (rq->upto == 0 || rq->head_hash.len != AUDIT_HASH_LEN) {
        vault_call_errf(c, "upto and the 32-byte hash of record upto are required");
        return TV_ERR_INVALID;
    }
    /* Journalled records into LMDB first: upto may be among them. */
    if ((r = vault_audit_settle(c->v)) < 0) {
        vault_call_errf(c, "the audit log cannot be settled (%s)", tv_strerror(r));
        return r;
    }
    if ((r = vault_call_begin(c, &txn, 1)) < 0)
        return r;
    r = audit_prune(c->v->audit, txn, rq->upto, rq->head_hash.data, RPC_AUDIT_PRUNE_MAX, &dropped,
                    &first);
    if (r < 0) {
        mdb_txn_abort(txn);
        switch (r) {
        case TV_ERR_CAS:
            vault_call_errf(c,
                            "record %llu's hash is not the one given: the archive does not end in "
                            "this vault's record; nothing was dropped",
                            (unsigned long long)rq->upto);
            break;
        case TV_ERR_INVALID:
            vault_call_errf(c,
                            "record %llu is not in the log (past the head, or already dropped); "
                            "nothing was dropped",
                            (unsigned long long)rq->upto);
            break;
        case TV_ERR_INTEGRITY:
            vault_call_errf(c, "the audit records up to %llu do not verify; nothing was dropped",
                            (unsigned long long)rq->upto);
            break;
        default:
            vault_call_store_error(c, r);
        }
        return r;
    }
    snprintf(c->audit_detail, sizeof(c->audit_detail),
             "archived: dropped %llu records, log starts at %llu (anchor %llu)",
             (unsigned long long)dropped, (unsigned long long)first, (unsigned long long)rq->upto);
    if ((r = vault_call_commit_audited(c, txn)) < 0)
        return r;
    vault_db_usage_changed(c->v->db); /* the fill level drops now, not in a second */
    vault_logf(VAULT_LOG_INFO, "audit_archive",
               "dropped %llu archived audit records; the log starts at seq %llu (anchor %llu)",
               (unsigned long long)dropped, (unsigned long long)first,
               (unsigned long long)rq->upto);
    resp.dropped = dropped;
    resp.first_seq = first;
    return vault_pack(out, &resp.base);
}

static const vault_handler audit_handlers[] = {
    {"List", rpc_audit_list, VAULT_M_READ},
    {"Head", rpc_audit_head, VAULT_M_READ},
    {"Export", rpc_audit_export, VAULT_M_READ},
    {"Prune", rpc_audit_prune, 0},
    {NULL, NULL, 0},
};

const vault_service vault_rpc_audit = {&teevault__v1__audit__descriptor, audit_handlers};
