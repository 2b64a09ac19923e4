/*
 * vault_audit: the daemon's audit writer (DESIGN.md §6).
 *
 * Group commit: vault_audit_submit() queues the record and activates one
 * libevent event. libevent runs activated events after the callbacks already
 * active in this loop pass, so every request handled in the same pass joins
 * the batch; the batch is appended in ONE write transaction and made durable
 * by ONE commit (vault_db's environment is opened without MDB_NOSYNC, so
 * mdb_txn_commit fsyncs; if someone opens it with MDB_NOSYNC we call
 * mdb_env_sync once per batch instead). Only then do the done callbacks run,
 * each with the batch's status: the server sends replies from there, so no
 * reply (and no secret) leaves before its record is on disk.
 *
 * Writes append their record inside their own transaction
 * (vault_audit_append_txn), so the write and its record commit together.
 *
 * Storage high-water: secret writes are refused at high_water_percent of the
 * map (vault_audit_write_allowed); above it, reads and denials still append
 * records until LMDB reports the map full, after which every request fails
 * closed (TV_ERR_STORAGE_FULL from the commit). The same margin (at most
 * 64 MiB) is kept in free space on the state directory's filesystem, for
 * maps larger than the disk.
 */
#include "vault_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "audit.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_log.h"

typedef struct pending {
    audit_record rec;
    vault_audit_done_fn done;
    void *arg;
} pending;

struct vault_audit {
    struct vault *v;
    audit_log *log;
    MDB_env *env;
    vault_audit_opts o;
    struct event *flush_ev;
    struct event *ckpt_ev;
    pending *q;
    size_t nq, capq;
    int scheduled;
    int fail_commits; /* test hook: > 0 next n, < 0 all */
    const char *fail_file;
    int64_t last_ckpt_ns;
    uint64_t last_ckpt_seq;
    uint64_t batches, records, failed;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void principal_str(const vault_principal *p, char *out, size_t cap)
{
    char buf[2 * VAULT_ID_MAX + 32];
    if (!p || p->kind == VAULT_PRINCIPAL_NONE)
        snprintf(buf, sizeof(buf), "anonymous");
    else if (p->kind == VAULT_PRINCIPAL_FUNCTION)
        snprintf(buf, sizeof(buf), "function:%.*s", VAULT_ID_MAX, p->id);
    else if (p->user[0])
        snprintf(buf, sizeof(buf), "user:%.*s", VAULT_ID_MAX, p->user);
    else
        snprintf(buf, sizeof(buf), "%s:%.*s", p->root ? "root-token" : "token", VAULT_ID_MAX,
                 p->id);
    audit_record_set_str(out, cap, buf, strlen(buf));
}

/* Build the record for call c. Only names, ids and outcomes are copied:
 * vault_call holds no value, token or password by construction. */
static void record_from_call(const vault_call *c, int outcome, audit_record *r)
{
    char m[AUDIT_METHOD_MAX + 1];
    memset(r, 0, sizeof(*r));
    r->time_ns = now_ns();
    principal_str(c->principal, r->principal, AUDIT_PRINCIPAL_MAX);
    snprintf(m, sizeof(m), "%s/%s", c->service ? c->service : "", c->method ? c->method : "");
    audit_record_set_str(r->method, AUDIT_METHOD_MAX, m, strlen(m));
    audit_record_set_str(r->secret, AUDIT_SECRET_MAX, c->audit_secret, sizeof(c->audit_secret));
    r->version = c->audit_version;
    r->status = (uint32_t)tv_err_to_grpc(outcome);
    audit_record_set_str(r->request_id, AUDIT_REQID_MAX, c->request_id, sizeof(c->request_id));
    audit_record_set_str(r->peer, AUDIT_PEER_MAX, c->peer ? c->peer : "",
                         c->peer ? strlen(c->peer) : 0);
    if (c->audit_detail[0])
        audit_record_set_str(r->detail, AUDIT_DETAIL_MAX, c->audit_detail, sizeof(c->audit_detail));
    else if (outcome < 0)
        audit_record_set_str(r->detail, AUDIT_DETAIL_MAX, tv_errname(outcome),
                             strlen(tv_errname(outcome)));
}

static int injected_failure(struct vault_audit *w)
{
    if (w->fail_commits < 0)
        return 1;
    if (w->fail_commits > 0) {
        w->fail_commits--;
        return 1;
    }
    return w->fail_file && access(w->fail_file, F_OK) == 0;
}

static int mdb_to_tv(int rc)
{
    return vault_db_err(rc);
}

/* Make a committed txn durable when the env skips the commit fsync. */
static int sync_if_needed(struct vault_audit *w)
{
    unsigned flags = 0;
    if (mdb_env_get_flags(w->env, &flags) == 0 && (flags & (MDB_NOSYNC | MDB_NOMETASYNC)))
        return mdb_to_tv(mdb_env_sync(w->env, 1));
    return TV_OK;
}

static int ckpt_due(struct vault_audit *w, uint64_t head)
{
    if (!audit_log_has_key(w->log) || head <= w->last_ckpt_seq)
        return 0;
    if (head - w->last_ckpt_seq >= w->o.ckpt_every_records)
        return 1;
    return now_ns() - w->last_ckpt_ns >= (int64_t)w->o.ckpt_every_ms * 1000000;
}

/* Append recs [0, n) in one transaction and commit it. */
static int commit_batch(struct vault_audit *w, pending *p, size_t n, int force_ckpt)
{
    int r = TV_ERR_INTERNAL, made = 0;
    MDB_txn *txn = NULL;
    audit_checkpoint c;

    if (injected_failure(w)) {
        r = TV_ERR_AUDIT;
        goto out;
    }
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, 0, &txn))) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((r = audit_append(w->log, txn, &p[i].rec)) < 0)
            goto out;
    uint64_t head = n ? p[n - 1].rec.seq : 0;
    if (!n && (r = audit_head(w->log, txn, &head, NULL)) < 0)
        goto out;
    if (force_ckpt ? (audit_log_has_key(w->log) && head > w->last_ckpt_seq) : ckpt_due(w, head)) {
        if ((made = audit_checkpoint_now(w->log, txn, 0, &c)) < 0) {
            r = made;
            goto out;
        }
    }
    r = mdb_to_tv(mdb_txn_commit(txn));
    txn = NULL;
    if (r < 0)
        goto out;
    if ((r = sync_if_needed(w)) < 0)
        goto out;
    if (made == 1) {
        w->last_ckpt_seq = c.last_seq;
        w->last_ckpt_ns = c.time_ns;
    }
    if (n > 0)
        w->batches++;
    w->records += n;
    r = TV_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (r < 0) {
        w->failed++;
        /* Map-full stays visible as such (RESOURCE_EXHAUSTED); anything else
         * is "the audit record could not be made durable". */
        if (r != TV_ERR_STORAGE_FULL)
            r = TV_ERR_AUDIT;
        vault_logf(VAULT_LOG_ERROR, "audit_commit", "%zu record(s) not committed: %s", n,
                   tv_strerror(r));
    }
    return r;
}

/* Commit the queue and run its callbacks. Callbacks may submit again: they
 * land in a fresh queue, scheduled for the next pass. */
static int flush_queue(struct vault_audit *w, int force_ckpt)
{
    pending *q = w->q;
    size_t n = w->nq;
    int r = TV_OK;

    w->q = NULL;
    w->nq = w->capq = 0;
    w->scheduled = 0;
    if (n == 0 && !force_ckpt) {
        free(q);
        return TV_OK;
    }
    if (w->o.per_record_fsync && n > 0) {
        for (size_t i = 0; i < n; i++) {
            int ri = commit_batch(w, &q[i], 1, 0);
            if (ri < 0)
                r = ri;
            q[i].done(q[i].arg, ri);
        }
    } else {
        r = commit_batch(w, q, n, force_ckpt);
        for (size_t i = 0; i < n; i++)
            q[i].done(q[i].arg, r);
    }
    free(q);
    return r;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)flush_queue(arg, 0);
}

static void ckpt_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vault_audit *w = arg;
    uint64_t head = 0;
    MDB_txn *txn = NULL;
    if (w->nq > 0 || !audit_log_has_key(w->log))
        return; /* the pending batch checks for a due checkpoint itself */
    if (mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn) != 0)
        return;
    int r = audit_head(w->log, txn, &head, NULL);
    mdb_txn_abort(txn);
    /* This timer is the "every T" clock: checkpoint whatever is pending. */
    if (r == 0 && head > w->last_ckpt_seq)
        (void)flush_queue(w, 1);
}

int vault_audit_open(struct vault *v, const vault_audit_opts *opts)
{
    int r = TV_ERR_INTERNAL;
    struct vault_audit *w = NULL;
    MDB_txn *txn = NULL;
    audit_checkpoint c;

    if (!v || !v->db || !v->db->env)
        return TV_ERR_INVALID;
    if (v->auditw)
        return TV_ERR_EXISTS;
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return TV_ERR_NOMEM;
    w->v = v;
    w->env = v->db->env;
    if (opts)
        w->o = *opts;
    if (w->o.ckpt_every_records == 0)
        w->o.ckpt_every_records = 1000;
    if (w->o.ckpt_every_ms == 0)
        w->o.ckpt_every_ms = 10000;
    if (w->o.high_water_percent == 0 || w->o.high_water_percent > 100)
        w->o.high_water_percent = 90;
    w->fail_file = getenv("TEEVAULT_TEST_AUDIT_FAIL_FILE");
    /* Bench comparison only (tests/bench): the slow mode group commit replaces. */
    const char *pr = getenv("TEEVAULT_BENCH_AUDIT_FSYNC_PER_RECORD");
    if (pr && strcmp(pr, "1") == 0)
        w->o.per_record_fsync = 1;
    if (w->fail_file || w->o.per_record_fsync)
        vault_log(VAULT_LOG_WARN, "audit_test_mode", "fail_file", w->fail_file ? w->fail_file : "",
                  "per_record_fsync", w->o.per_record_fsync ? "yes" : "no", NULL);
    if ((r = audit_log_open(w->env, &w->log)) < 0)
        goto out;
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn))) < 0)
        goto out;
    r = audit_last_checkpoint(w->log, txn, &c);
    mdb_txn_abort(txn);
    txn = NULL;
    if (r == 0) {
        w->last_ckpt_seq = c.last_seq;
        w->last_ckpt_ns = c.time_ns;
    } else if (r == TV_ERR_NOT_FOUND) {
        w->last_ckpt_ns = now_ns();
    } else {
        goto out;
    }
    if (v->base) {
        struct timeval tv = {(time_t)(w->o.ckpt_every_ms / 1000),
                             (suseconds_t)(w->o.ckpt_every_ms % 1000) * 1000};
        w->flush_ev = event_new(v->base, -1, 0, flush_cb, w);
        w->ckpt_ev = event_new(v->base, -1, EV_PERSIST, ckpt_cb, w);
        if (!w->flush_ev || !w->ckpt_ev || event_add(w->ckpt_ev, &tv) != 0) {
            r = TV_ERR_NOMEM;
            goto out;
        }
    }
    v->auditw = w;
    v->audit = w->log;
    w = NULL;
    r = TV_OK;
out:
    if (w) {
        if (w->flush_ev)
            event_free(w->flush_ev);
        if (w->ckpt_ev)
            event_free(w->ckpt_ev);
        audit_log_close(w->log);
        free(w);
    }
    return r;
}

int vault_audit_unlock(struct vault *v)
{
    int r;
    uint8_t seed[VAULT_KEY_LEN];
    if (!v || !v->auditw || !v->kr)
        return TV_ERR_NOT_INITIALISED;
    if ((r = vault_keyring_derive(v->kr, "teevault/audit", seed)) < 0)
        return r;
    r = audit_log_set_seed(v->auditw->log, seed);
    sodium_memzero(seed, sizeof(seed));
    return r;
}

int vault_audit_flush(struct vault *v)
{
    if (!v || !v->auditw)
        return TV_ERR_AUDIT;
    return flush_queue(v->auditw, 1);
}

void vault_audit_close(struct vault *v)
{
    struct vault_audit *w;
    if (!v || !v->auditw)
        return;
    w = v->auditw;
    (void)flush_queue(w, 1);
    vault_logf(VAULT_LOG_INFO, "audit_close",
               "%llu records in %llu group commits, %llu failed commits",
               (unsigned long long)w->records, (unsigned long long)w->batches,
               (unsigned long long)w->failed);
    if (w->flush_ev)
        event_free(w->flush_ev);
    if (w->ckpt_ev)
        event_free(w->ckpt_ev);
    audit_log_close(w->log);
    free(w->q);
    free(w);
    v->auditw = NULL;
    v->audit = NULL;
}

int vault_audit_submit(struct vault *v, const vault_call *c, int outcome, vault_audit_done_fn done,
                       void *arg)
{
    struct vault_audit *w;
    if (!v || !v->auditw)
        return TV_ERR_AUDIT; /* fail closed: no writer, no reply */
    w = v->auditw;
    if (w->nq == w->capq) {
        size_t nc = w->capq ? w->capq * 2 : 64;
        pending *p = realloc(w->q, nc * sizeof(*p));
        if (!p)
            return TV_ERR_NOMEM;
        w->q = p;
        w->capq = nc;
    }
    pending *p = &w->q[w->nq++];
    record_from_call(c, outcome, &p->rec);
    p->done = done;
    p->arg = arg;
    if (!w->flush_ev) {
        (void)flush_queue(w, 0); /* no event loop: commit now */
        return TV_OK;
    }
    if (!w->scheduled) {
        w->scheduled = 1;
        event_active(w->flush_ev, EV_TIMEOUT, 0);
    }
    return TV_OK;
}

int vault_audit_append_txn(struct vault *v, MDB_txn *txn, const vault_call *c, int outcome)
{
    audit_record rec;
    struct vault_audit *w;
    int r;
    if (!v || !v->auditw)
        return TV_ERR_AUDIT;
    w = v->auditw;
    if (injected_failure(w)) {
        w->failed++;
        return TV_ERR_AUDIT;
    }
    record_from_call(c, outcome, &rec);
    r = audit_append(w->log, txn, &rec);
    if (r < 0 && r != TV_ERR_STORAGE_FULL)
        r = TV_ERR_AUDIT;
    return r;
}

int vault_audit_write_allowed(struct vault *v)
{
    uint64_t used = 0, map = 0;
    if (!v || !v->auditw)
        return TV_ERR_AUDIT;
    if (vault_db_usage(v->db, &used, &map) < 0 || map == 0)
        return TV_ERR_STORAGE_FULL; /* cannot tell: do not risk the audit margin */
    if (used * 100 >= map * v->auditw->o.high_water_percent)
        return TV_ERR_STORAGE_FULL;
    /* The map may be larger than the filesystem has room for (LMDB grows
     * data.mdb as pages are first used): keep the same margin for audit
     * records in free disk space, capped at 64 MiB (~200k records), or a
     * full disk fails every request, reads included, instead of only writes. */
    {
        const char *dir = NULL;
        struct statvfs fs;
        uint64_t reserve = map / 100 * (100 - v->auditw->o.high_water_percent);
        if (reserve > ((uint64_t)64 << 20))
            reserve = (uint64_t)64 << 20;
        if (mdb_env_get_path(v->db->env, &dir) == 0 && dir && statvfs(dir, &fs) == 0 &&
            (uint64_t)fs.f_bavail * fs.f_frsize < reserve)
            return TV_ERR_STORAGE_FULL;
    }
    return TV_OK;
}

unsigned vault_audit_used_percent(struct vault *v)
{
    uint64_t used = 0, map = 0;
    if (!v || !v->db || vault_db_usage(v->db, &used, &map) < 0 || map == 0)
        return 0;
    uint64_t pct = used * 100 / map;
    return pct > 100 ? 100 : (unsigned)pct;
}

int vault_audit_get_info(struct vault *v, vault_audit_info *out)
{
    int r;
    MDB_txn *txn = NULL;
    vault_audit_info i;
    struct vault_audit *w;
    if (!v || !v->auditw)
        return TV_ERR_AUDIT;
    w = v->auditw;
    memset(&i, 0, sizeof(i));
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn))) < 0)
        return r;
    r = audit_head(w->log, txn, &i.seq, i.head);
    mdb_txn_abort(txn);
    if (r < 0)
        return r;
    i.has_pubkey = audit_log_pubkey(w->log, i.pubkey) == 0;
    i.last_ckpt_seq = w->last_ckpt_seq;
    i.used_percent = vault_audit_used_percent(v);
    i.high_water_percent = w->o.high_water_percent;
    i.batches = w->batches;
    i.records = w->records;
    i.failed_commits = w->failed;
    *out = i;
    return TV_OK;
}

void vault_audit_test_fail_commits(struct vault *v, int n)
{
    if (v && v->auditw)
        v->auditw->fail_commits = n;
}
