/* SPDX-License-Identifier: Apache-2.0 */
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
 * Pipelining (with an event loop): the batch's write transaction (begin,
 * appends, commit) runs on a writer thread, so the loop keeps reading
 * requests and queueing their records into the NEXT batch while the current
 * one waits for the disk. At most one batch is in flight. When it is done
 * the writer wakes the loop through a self-pipe; the loop starts the next
 * batch and then runs the finished batch's done callbacks (on the loop
 * thread, exactly once each). Without an event loop (v->base NULL: tests,
 * tools) there is no thread and every submit commits synchronously.
 *
 * Threads and the chain. The loop thread also writes to the audit DBs:
 * vault_audit_append_txn inside handlers' own write transactions, and
 * vault_audit_flush/close. LMDB allows one write transaction at a time, so a
 * handler's transaction simply waits while a batch commits. Every record's
 * seq and prev_hash are assigned by audit_append from the head stored in the
 * transaction that appends it, never from memory, so the two writers cannot
 * fork the chain. The only in-memory state both threads touch (counters,
 * last checkpoint, the fail-commits test hook, the job hand-over) is under
 * w->mu. The signing key is replaced (vault_audit_unlock) only while no
 * batch is in flight. The loop never waits for the writer while it holds a
 * write transaction (that would deadlock on LMDB's writer lock).
 *
 * Journal (docs/AUDIT.md): with an event loop, a batch of records only
 * (reads, denials) is made durable by appending it to the audit journal
 * (audit_journal: one pwrite + fdatasync on preallocated blocks) instead of
 * an LMDB commit (two flushes). The writer keeps the chain head in memory
 * (head_seq/head_hash) and the journalled records not yet in LMDB (jvals);
 * they move into LMDB in bulk (a "drain": one write transaction, then the
 * journal is reset) with the next write batch, a due checkpoint, a full
 * journal, vault_audit_settle (audit queries) or shutdown. At open, records
 * in the journal that continue the LMDB chain are replayed into LMDB.
 *
 * Writes: Secrets.Put hands its write to the group commit (vault_write):
 * each runs in a nested transaction inside the batch's LMDB transaction,
 * followed by its record, so the write and its record commit together and
 * many writes share one commit. Other writes append their record inside
 * their own transaction on the loop thread (vault_audit_append_txn), which
 * first waits for the batch in flight (vault_db's before-write hook) and
 * moves the journalled records into that transaction, so the chain in LMDB
 * never has a gap; the writer notices at its next batch (reconcile) that
 * LMDB moved past its head.
 *
 * Storage high-water: secret writes are refused at high_water_percent of the
 * map (vault_audit_write_allowed); above it, reads and denials still append
 * records until LMDB reports the map full, after which every request fails
 * closed (TV_ERR_STORAGE_FULL from the commit). The same margin (at most
 * 64 MiB) is kept in free space on the state directory's filesystem, for
 * maps larger than the disk.
 */
#define _GNU_SOURCE /* pipe2 */
#include "vault_audit.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "audit.h"
#include "seal_channel.h"
#include "proto_buf.h"
#include "vault_audit_agg.h"
#include "vault_db.h"
#include "vault_record.h"
#include "vault_keyring.h"
#include "vault_log.h"
#include "vault_metrics.h"
#include "vault_rpc.h"

typedef struct pending {
    audit_record rec;
    const vault_write *job; /* a write to apply in the batch, or NULL */
    void *job_arg;
    vault_audit_done_fn done; /* NULL: nobody waits (aggregate records) */
    void *arg;
    int status; /* set by the commit, passed to done */
} pending;

/* Journalled records are moved into LMDB at least this often. */
#define JOURNAL_DRAIN_RECORDS 4096

/* The writer thread's one job slot. */
enum { JOB_IDLE = 0, JOB_QUEUED, JOB_DONE };

struct vault_audit {
    struct vault *v;
    audit_log *log;
    MDB_env *env;
    vault_audit_opts o;
    struct event *flush_ev;
    struct event *ckpt_ev;
    /* Anonymous probes and failed authentications (vault_audit_agg.h):
     * loop thread only; written every o.aggregate_seconds. */
    vault_audit_agg *agg;
    struct event *agg_ev;
    int64_t fill_warned_ns; /* last "store filling up" warning (CLOCK_REALTIME ns) */
    /* Loop thread only: the batch being filled. */
    pending *q;
    size_t nq, capq;
    int scheduled;
    int ckpt_wanted; /* the checkpoint timer fired while a batch was in flight */
    const char *fail_file;
    /* mu guards everything below (shared with the writer thread). */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* job state changed (both directions) or stop */
    int fail_commits;  /* test hook: > 0 next n, < 0 all */
    int64_t last_ckpt_ns;
    int64_t disk_roomy_until; /* CLOCK_MONOTONIC_COARSE ns: free disk far above the reserve */
    uint64_t last_ckpt_seq;
    uint64_t batches, records, failed;
    /* Writer thread (only with an event loop) and its job. */
    /* The chain head including journalled records, and those records
     * (proto_buf_put_lv entries, seqs jfirst..jfirst+jcount-1). Owned by
     * whoever runs the batch: the writer thread while a job is queued, the
     * loop thread otherwise; head_seq/head_hash are published under mu. */
    audit_journal *jour; /* NULL: every batch is an LMDB commit */
    uint64_t head_seq;
    uint8_t head_hash[AUDIT_HASH_LEN];
    proto_buf jvals;
    uint64_t jfirst;
    uint32_t jcount;
    int lmdb_moved; /* vault_audit_append_txn appended on the loop thread */
    /* The journal file is replayed only once its MAC key is known (the
     * first vault_audit_unlock); until then no batch goes to it. jblocked:
     * the file may hold records past the LMDB head that only the key can
     * verify, so nothing may be appended to LMDB (their seqs) until then. */
    int jpending, jblocked, juse;
    char jpath[4096];
    uint64_t journal_batches, drains;
    pthread_t thr;
    int thr_started;
    int stop;
    int job; /* JOB_* */
    pending *jq;
    size_t jn;
    int jforce;
    int wake_fd[2];
    struct event *wake_ev;
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
    else if (p->user[0] && p->id[0]) /* who, and with which token (revocation) */
        snprintf(buf, sizeof(buf), "user:%.*s token:%.*s", VAULT_ID_MAX, p->user, VAULT_ID_MAX,
                 p->id);
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

/* Any thread; takes w->mu. */
static int injected_failure(struct vault_audit *w)
{
    int fail = 0;
    pthread_mutex_lock(&w->mu);
    if (w->fail_commits < 0) {
        fail = 1;
    } else if (w->fail_commits > 0) {
        w->fail_commits--;
        fail = 1;
    }
    pthread_mutex_unlock(&w->mu);
    return fail || (w->fail_file && access(w->fail_file, F_OK) == 0);
}

static int mdb_to_tv(int rc)
{
    return vault_db_err(rc);
}

/* A top-level write txn: through vault_db when the env is a vault_db's, so
 * it gets its state version (vault_record.h); commit with vault_db_commit. */
static int wtxn_begin(struct vault_audit *w, MDB_txn **txn)
{
    vault_db *db = vault_db_of_env(w->env);
    if (db)
        return vault_db_wtxn_nohook(db, txn);
    return mdb_to_tv(mdb_txn_begin(w->env, NULL, 0, txn));
}

/* Make a committed txn durable when the env skips the commit fsync. */
static int sync_if_needed(struct vault_audit *w)
{
    unsigned flags = 0;
    if (mdb_env_get_flags(w->env, &flags) == 0 && (flags & (MDB_NOSYNC | MDB_NOMETASYNC)))
        return mdb_to_tv(mdb_env_sync(w->env, 1));
    return TV_OK;
}

static int ckpt_due(struct vault_audit *w, uint64_t head, int force)
{
    int due = 0;
    if (!audit_log_has_key(w->log))
        return 0;
    pthread_mutex_lock(&w->mu);
    if (head <= w->last_ckpt_seq)
        due = 0;
    else if (force || head - w->last_ckpt_seq >= w->o.ckpt_every_records)
        due = 1;
    else
        due = now_ns() - w->last_ckpt_ns >= (int64_t)w->o.ckpt_every_ms * 1000000;
    pthread_mutex_unlock(&w->mu);
    return due;
}

static void set_head(struct vault_audit *w, uint64_t seq, const uint8_t hash[AUDIT_HASH_LEN])
{
    pthread_mutex_lock(&w->mu);
    w->head_seq = seq;
    memcpy(w->head_hash, hash, AUDIT_HASH_LEN);
    pthread_mutex_unlock(&w->mu);
}

static void jvals_clear(struct vault_audit *w)
{
    proto_buf_reset(&w->jvals);
    w->jcount = 0;
    w->jfirst = 0;
    audit_journal_reset(w->jour);
}

/* Batch owner: if a transaction on the loop thread (vault_audit_append_txn)
 * moved the journalled records into LMDB and appended after them, LMDB's
 * head is past ours: adopt it; the journal's records are all in LMDB. Only
 * looked at after such a transaction (it may also have aborted). */
static int reconcile(struct vault_audit *w)
{
    MDB_txn *t = NULL;
    uint64_t seq = 0;
    uint8_t h[AUDIT_HASH_LEN];
    int r;
    if (!w->lmdb_moved)
        return TV_OK;
    w->lmdb_moved = 0;
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &t))) < 0)
        return r;
    r = audit_head(w->log, t, &seq, h);
    mdb_txn_abort(t);
    if (r < 0)
        return r;
    if (seq > w->head_seq) {
        set_head(w, seq, h);
        jvals_clear(w);
    }
    return TV_OK;
}

/* Store the journalled records with seq above LMDB's head in txn. */
static int drain_into(struct vault_audit *w, MDB_txn *txn)
{
    uint64_t head = 0;
    proto_buf b;
    int r;
    if (w->jcount == 0)
        return TV_OK;
    if ((r = audit_head(w->log, txn, &head, NULL)) < 0)
        return r;
    proto_buf_wrap(&b, w->jvals.d, w->jvals.len);
    for (uint32_t i = 0; i < w->jcount; i++) {
        const uint8_t *val;
        size_t len;
        if (proto_buf_get_lv(&b, &val, &len) < 0)
            return TV_ERR_INTERNAL;
        if (w->jfirst + i > head &&
            (r = audit_put_sealed(w->log, txn, w->jfirst + i, val, len)) < 0)
            return r;
    }
    return TV_OK;
}

/* Run p[i]'s write in a nested transaction and fill its record's outcome. */
static void apply_job(MDB_txn *txn, pending *p)
{
    MDB_txn *nt = NULL;
    uint64_t version = 0;
    int r = mdb_to_tv(mdb_txn_begin(mdb_txn_env(txn), txn, 0, &nt));
    if (r == 0) {
        r = p->job->apply(p->job_arg, nt, &version);
        if (r == 0)
            r = mdb_to_tv(mdb_txn_commit(nt));
        else
            mdb_txn_abort(nt);
    }
    p->status = r;
    if (version)
        p->rec.version = version;
    p->rec.status = (uint32_t)tv_err_to_grpc(r);
    if (r < 0 && !p->rec.detail[0])
        audit_record_set_str(p->rec.detail, AUDIT_DETAIL_MAX, tv_errname(r), strlen(tv_errname(r)));
}

/* Drain the journal, apply the writes and append p[0, n) in ONE LMDB write
 * transaction, checkpoint if due, commit. */
static int lmdb_batch(struct vault_audit *w, pending *p, size_t n, int force_ckpt)
{
    int r = TV_ERR_INTERNAL, made = 0;
    MDB_txn *txn = NULL;
    audit_checkpoint c;
    uint64_t head = 0;
    uint8_t hh[AUDIT_HASH_LEN];

    if ((r = wtxn_begin(w, &txn)) < 0)
        goto out;
    if ((r = drain_into(w, txn)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (p[i].job)
            apply_job(txn, &p[i]);
        if ((r = audit_append(w->log, txn, &p[i].rec)) < 0)
            goto out;
    }
    if ((r = audit_head(w->log, txn, &head, hh)) < 0)
        goto out;
    if (ckpt_due(w, head, force_ckpt)) {
        if ((made = audit_checkpoint_now(w->log, txn, 0, &c)) < 0) {
            r = made;
            goto out;
        }
    }
    if ((r = audit_seal_head(w->log, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
    if (r < 0)
        goto out;
    if ((r = sync_if_needed(w)) < 0)
        goto out;
    set_head(w, head, hh);
    if (w->jcount) {
        jvals_clear(w);
        w->drains++;
    }
    pthread_mutex_lock(&w->mu);
    if (made == 1) {
        w->last_ckpt_seq = c.last_seq;
        w->last_ckpt_ns = c.time_ns;
    }
    pthread_mutex_unlock(&w->mu);
    r = TV_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    return r;
}

/* Seal p[0, n) onto the in-memory head and append them to the journal as
 * one frame: one flush. TV_ERR_STORAGE_FULL when the frame does not fit. */
static int journal_batch(struct vault_audit *w, pending *p, size_t n)
{
    int r = TV_ERR_INTERNAL;
    proto_buf vals;
    uint64_t seq = w->head_seq;
    uint8_t h[AUDIT_HASH_LEN];

    proto_buf_init(&vals, 0);
    memcpy(h, w->head_hash, AUDIT_HASH_LEN);
    for (size_t i = 0; i < n; i++) {
        size_t at = vals.len;
        if ((r = proto_buf_put_u32(&vals, 0)) < 0 ||
            (r = audit_record_seal(&p[i].rec, seq, h, &vals)) < 0)
            goto out;
        proto_put_be32(vals.d + at, (uint32_t)(vals.len - at - 4));
        seq = p[i].rec.seq;
        memcpy(h, p[i].rec.hash, AUDIT_HASH_LEN);
    }
    if ((r = audit_journal_append(w->jour, w->head_seq + 1, (uint32_t)n, vals.d, vals.len)) < 0)
        goto out;
    if ((r = proto_buf_put(&w->jvals, vals.d, vals.len)) < 0) {
        /* Durable in the journal but not remembered: move everything to
         * LMDB from the journal file at the next open; stop journalling. */
        vault_logf(VAULT_LOG_ERROR, "audit_journal", "out of memory; journal disabled");
        audit_journal_close(w->jour);
        w->jour = NULL;
        goto out;
    }
    if (w->jcount == 0)
        w->jfirst = w->head_seq + 1;
    w->jcount += (uint32_t)n;
    w->journal_batches++;
    set_head(w, seq, h);
    r = TV_OK;
out:
    proto_buf_free(&vals);
    return r;
}

/* Move the journal into LMDB before this batch? */
static int drain_due(struct vault_audit *w, size_t n)
{
    return w->jcount + n >= JOURNAL_DRAIN_RECORDS ||
           audit_journal_used(w->jour) > audit_journal_size(w->jour) / 2 ||
           ckpt_due(w, w->head_seq + n, 0);
}

/* Make p[0, n) durable: the journal when possible, else one LMDB commit.
 * Runs on the writer thread, or on the loop/caller thread when no batch is
 * in flight (sync mode, flush); never while the calling thread holds a
 * write transaction. Sets p[i].status for writes (their own outcome);
 * returns the batch's status. */
static int commit_batch(struct vault_audit *w, pending *p, size_t n, int force_ckpt)
{
    int r = TV_ERR_INTERNAL, jobs = 0;
    uint64_t t0 = vault_now_us();

    if (injected_failure(w)) {
        r = TV_ERR_AUDIT;
        goto out;
    }
    if (w->jblocked) {
        r = TV_ERR_AUDIT;
        goto out;
    }
    if ((r = reconcile(w)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        jobs |= p[i].job != NULL;
    r = TV_ERR_STORAGE_FULL;
    if (w->jour && !w->jpending && audit_journal_has_key(w->jour) && n > 0 && !jobs &&
        !force_ckpt && !drain_due(w, n))
        r = journal_batch(w, p, n);
    if (r == TV_ERR_STORAGE_FULL)
        r = lmdb_batch(w, p, n, force_ckpt);
    if (r < 0)
        goto out;
    pthread_mutex_lock(&w->mu);
    if (n > 0)
        w->batches++;
    w->records += n;
    pthread_mutex_unlock(&w->mu);
    r = TV_OK;
out:
    if (r < 0) {
        pthread_mutex_lock(&w->mu);
        w->failed++;
        pthread_mutex_unlock(&w->mu);
        /* Map-full stays visible as such (RESOURCE_EXHAUSTED); anything else
         * is "the audit record could not be made durable". */
        if (r != TV_ERR_STORAGE_FULL)
            r = TV_ERR_AUDIT;
        vault_logf(VAULT_LOG_ERROR, "audit_commit", "%zu record(s) not committed: %s", n,
                   tv_strerror(r));
    }
    if (n > 0)
        vault_metrics_audit_commit(w->v, n, vault_now_us() - t0, r == TV_OK);
    return r;
}

/* Commit p[0, n) (per record in the bench mode) and set every p[i].status.
 * Returns the batch's status (the last failure in per-record mode). */
static int run_batch(struct vault_audit *w, pending *p, size_t n, int force_ckpt)
{
    int r = TV_OK;
    if (w->o.per_record_fsync && n > 0) {
        for (size_t i = 0; i < n; i++) {
            int c = commit_batch(w, &p[i], 1, 0);
            if (c < 0 || !p[i].job)
                p[i].status = c;
            if (c < 0)
                r = c;
        }
    } else {
        r = commit_batch(w, p, n, force_ckpt);
        /* A write's own outcome stands when the batch committed. */
        for (size_t i = 0; i < n; i++)
            if (r < 0 || !p[i].job)
                p[i].status = r;
    }
    return r;
}

/* Run the callbacks of a committed batch and free it (loop/caller thread). */
static void finish_batch(pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].done)
            p[i].done(p[i].arg, p[i].status);
    free(p);
}

static void *writer_main(void *arg)
{
    struct vault_audit *w = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals belong to the loop */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->job != JOB_QUEUED && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->job != JOB_QUEUED)
            break; /* stop, and nothing queued */
        pending *p = w->jq;
        size_t n = w->jn;
        int force = w->jforce;
        pthread_mutex_unlock(&w->mu);
        (void)run_batch(w, p, n, force);
        pthread_mutex_lock(&w->mu);
        w->job = JOB_DONE;
        pthread_cond_broadcast(&w->cv);
        ssize_t wr = write(w->wake_fd[1], "w", 1);
        (void)wr; /* a full pipe already holds a wake-up */
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Loop thread: hand the queue to the writer if it is idle and there is
 * something to do. */
static void start_batch(struct vault_audit *w)
{
    if (w->nq == 0 && !w->ckpt_wanted)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->job != JOB_IDLE) {
        pthread_mutex_unlock(&w->mu);
        return; /* started again when the batch in flight completes */
    }
    w->jq = w->q;
    w->jn = w->nq;
    w->jforce = w->ckpt_wanted;
    w->job = JOB_QUEUED;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->q = NULL;
    w->nq = w->capq = 0;
    w->ckpt_wanted = 0;
}

/* Loop thread: take the completed batch, if any. With `wait`, first wait
 * until the writer has finished a batch in flight. Returns the batch (to
 * finish_batch) or NULL. */
static pending *take_done(struct vault_audit *w, int wait, size_t *n)
{
    pending *p = NULL;
    *n = 0;
    if (!w->thr_started)
        return NULL;
    pthread_mutex_lock(&w->mu);
    while (wait && w->job == JOB_QUEUED)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->job == JOB_DONE) {
        p = w->jq;
        *n = w->jn;
        w->jq = NULL;
        w->jn = 0;
        w->job = JOB_IDLE;
    }
    pthread_mutex_unlock(&w->mu);
    return p;
}

/* The writer finished a batch: start the next one (the records queued
 * meanwhile), then reply to the finished one. */
static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vault_audit *w = arg;
    char buf[64];
    size_t n;
    (void)what;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pending *p = take_done(w, 0, &n);
    start_batch(w);
    if (p)
        finish_batch(p, n);
}

/* Commit the queue on the calling thread and run its callbacks; with a
 * writer thread, first wait for the batch in flight and run its callbacks.
 * Callbacks may submit again: they land in a fresh queue, scheduled for the
 * next pass. */
static int flush_queue(struct vault_audit *w, int force_ckpt)
{
    size_t n = 0;
    pending *p = take_done(w, 1, &n);
    int r;

    if (p)
        finish_batch(p, n);
    p = w->q;
    n = w->nq;
    w->q = NULL;
    w->nq = w->capq = 0;
    w->scheduled = 0;
    w->ckpt_wanted = 0;
    if (n == 0 && !force_ckpt) {
        free(p);
        return TV_OK;
    }
    r = run_batch(w, p, n, force_ckpt);
    finish_batch(p, n);
    return r;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vault_audit *w = arg;
    int idle;
    w->scheduled = 0;
    /* A lone record with the writer idle and no other request waiting (one
     * client): committing it here saves two thread hand-overs (~0.1 ms in a
     * VM) and blocks the loop no longer than the reply would wait anyway.
     * Otherwise the writer thread commits, so the loop keeps serving the
     * other requests while the fdatasync runs (under load the lone-record
     * case came up ~40 times a second and stalled everyone). */
    pthread_mutex_lock(&w->mu);
    idle = w->job == JOB_IDLE;
    pthread_mutex_unlock(&w->mu);
    if (idle && w->nq == 1 && !w->ckpt_wanted && w->v->requests_inflight <= 1) {
        (void)flush_queue(w, 0);
        return;
    }
    start_batch(w);
}

static void ckpt_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vault_audit *w = arg;
    uint64_t head, last;
    if (w->nq > 0 || !audit_log_has_key(w->log))
        return; /* the pending batch checks for a due checkpoint itself */
    pthread_mutex_lock(&w->mu);
    head = w->head_seq;
    last = w->last_ckpt_seq;
    pthread_mutex_unlock(&w->mu);
    /* This timer is the "every T" clock: checkpoint whatever is pending
     * (moving the journal into LMDB), in an otherwise empty batch (after the
     * one in flight, if any). A write on the loop thread may have moved LMDB
     * past head: the batch's checkpoint covers that too. */
    if (head > last) {
        w->ckpt_wanted = 1;
        start_batch(w);
    }
}

/* Loop thread: room for k more records in the queue. */
static int queue_reserve(struct vault_audit *w, size_t k)
{
    if (w->capq - w->nq >= k)
        return TV_OK;
    size_t nc = w->capq ? w->capq : 64;
    while (nc - w->nq < k)
        nc *= 2;
    pending *q = realloc(w->q, nc * sizeof(*q));
    if (!q)
        return TV_ERR_NOMEM;
    w->q = q;
    w->capq = nc;
    return TV_OK;
}

/* Loop thread: move the interval's aggregate records into the queue (they
 * commit with the next batch; nobody waits for them). Returns how many. */
static size_t agg_push(struct vault_audit *w)
{
    size_t n, k = vault_audit_agg_pending(w->agg);
    audit_record *recs;
    if (k == 0 || queue_reserve(w, k) < 0 || !(recs = calloc(k, sizeof(*recs))))
        return 0;
    n = vault_audit_agg_take(w->agg, recs, k, now_ns());
    for (size_t i = 0; i < n; i++) {
        pending *p = &w->q[w->nq++];
        memset(p, 0, sizeof(*p));
        p->rec = recs[i];
        p->status = TV_ERR_AUDIT;
    }
    free(recs);
    return n;
}

/* Warn (at most every 10 minutes) while the store is past warn_percent,
 * well before secret writes are refused at high_water_percent. */
static void fill_check(struct vault_audit *w)
{
    uint64_t used = 0, map = 0;
    int64_t now = now_ns();
    unsigned pct;
    if (vault_db_usage(w->v->db, &used, &map) < 0 || map == 0)
        return;
    pct = (unsigned)(used * 100 / map);
    if (pct < w->o.warn_percent)
        return;
    if (w->fill_warned_ns && now - w->fill_warned_ns < (int64_t)600 * 1000000000)
        return;
    w->fill_warned_ns = now;
    vault_logf(VAULT_LOG_WARN, "storage_filling",
               "the store is %u%% full (%llu of %llu MiB); new secret writes are refused at "
               "%u%% ([audit] high_water_percent): archive the audit log (teevault audit "
               "archive --out FILE) or raise [limits] map_size and restart",
               pct, (unsigned long long)(used >> 20), (unsigned long long)(map >> 20),
               w->o.high_water_percent);
}

static void agg_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vault_audit *w = arg;
    (void)fd;
    (void)what;
    fill_check(w);
    if (agg_push(w) && !w->scheduled) {
        w->scheduled = 1;
        event_active(w->flush_ev, EV_TIMEOUT, 0);
    }
}

static int writer_start(struct vault_audit *w)
{
    if (pipe2(w->wake_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
        w->wake_fd[0] = w->wake_fd[1] = -1;
        return TV_ERR_IO;
    }
    if (!(w->wake_ev = event_new(w->v->base, w->wake_fd[0], EV_READ | EV_PERSIST, wake_cb, w)) ||
        event_add(w->wake_ev, NULL) < 0)
        return TV_ERR_NOMEM;
    if (pthread_create(&w->thr, NULL, writer_main, w) != 0)
        return TV_ERR_RESOURCE;
    w->thr_started = 1;
    return TV_OK;
}

/* Stop the writer thread (the caller made sure no batch is in flight) and
 * free everything vault_audit_open made. */
static void writer_free(struct vault_audit *w)
{
    if (w->thr_started) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thr, NULL);
        w->thr_started = 0;
    }
    if (w->wake_ev)
        event_free(w->wake_ev);
    for (int i = 0; i < 2; i++)
        if (w->wake_fd[i] >= 0)
            close(w->wake_fd[i]);
    if (w->flush_ev)
        event_free(w->flush_ev);
    if (w->ckpt_ev)
        event_free(w->ckpt_ev);
    if (w->agg_ev)
        event_free(w->agg_ev);
    vault_audit_agg_free(w->agg);
    if (w->v && w->v->db && w->v->db->before_wtxn_arg == w) {
        w->v->db->before_wtxn = NULL;
        w->v->db->before_wtxn_arg = NULL;
    }
    audit_journal_close(w->jour);
    proto_buf_free(&w->jvals);
    audit_log_close(w->log);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->q);
    free(w);
}

struct replay_ctx {
    struct vault_audit *w;
    MDB_txn *txn;
};

static int replay_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
    struct replay_ctx *rc = arg;
    return audit_put_sealed(rc->w->log, rc->txn, seq, val, len);
}

/* Open the journal beside data.mdb. Its records are verified and moved
 * into LMDB by journal_replay once the key is known (vault_audit_unlock).
 * With use == 0 (no event loop: tests, tools) an existing journal is still
 * replayed then, and closed: batches commit to LMDB. */
static int journal_open(struct vault_audit *w, int use)
{
    const char *dir = NULL;
    MDB_txn *txn = NULL;
    uint64_t head = 0;
    int r;

    use = w->o.journal > 0 || (w->o.journal == 0 && use);
    if (mdb_env_get_path(w->env, &dir) != 0 || !dir ||
        snprintf(w->jpath, sizeof(w->jpath), "%s/audit.journal", dir) >= (int)sizeof(w->jpath))
        return use ? TV_ERR_INVALID : TV_OK;
    if (!use && access(w->jpath, F_OK) != 0)
        return TV_OK; /* not used, none to replay */
    if ((r = audit_journal_open(w->jpath, &w->jour)) < 0) {
        vault_logf(VAULT_LOG_ERROR, "audit_journal", "cannot open %s: %s", w->jpath,
                   tv_strerror(r));
        return r;
    }
    w->juse = use;
    w->jpending = 1;
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn))) < 0)
        return r;
    r = audit_head(w->log, txn, &head, NULL);
    mdb_txn_abort(txn);
    if (r < 0)
        return r;
    if ((r = audit_journal_pending(w->jour, head)) < 0)
        return r;
    w->jblocked = r == 1;
    return TV_OK;
}

/* A record the daemon writes about the journal itself. */
static void journal_record(audit_record *rec, const char *detail)
{
    memset(rec, 0, sizeof(*rec));
    audit_record_set_str(rec->principal, AUDIT_PRINCIPAL_MAX, "teevaultd", 9);
    audit_record_set_str(rec->method, AUDIT_METHOD_MAX, "teevaultd/AuditJournalReplay", 28);
    audit_record_set_str(rec->request_id, AUDIT_REQID_MAX, "startup", 7);
    audit_record_set_str(rec->peer, AUDIT_PEER_MAX, "local", 5);
    audit_record_set_str(rec->detail, AUDIT_DETAIL_MAX, detail, strlen(detail));
    rec->status = (uint32_t)tv_err_to_grpc(TV_ERR_INTEGRITY);
}

/* The key is set: verify the journal's records past the LMDB head and move
 * them into LMDB in one transaction, then start journalling (or close it).
 * A frame that does not verify where records must be stops everything with
 * TV_ERR_INTEGRITY, naming its offset and seq; nothing of the journal is
 * committed then and no batch is accepted any more (fail closed). Loop
 * thread, writer idle. */
static int journal_replay(struct vault_audit *w)
{
    MDB_txn *txn = NULL;
    uint64_t head = 0;
    uint8_t hh[AUDIT_HASH_LEN];
    audit_journal_report rep;
    audit_record note;
    char detail[AUDIT_DETAIL_MAX + 1];
    int r, n = 0;

    memset(&rep, 0, sizeof(rep));
    if ((r = wtxn_begin(w, &txn)) < 0)
        goto out;
    if ((r = audit_head(w->log, txn, &head, hh)) < 0)
        goto out;
    struct replay_ctx rc = {w, txn};
    if ((n = audit_journal_replay(w->jour, head, hh, replay_one, &rc, &rep)) < 0) {
        r = n;
        goto out;
    }
    if (rep.unverified) {
        /* Not replayed, and said so in the signed log itself. */
        snprintf(detail, sizeof(detail), "journal frame at offset %zu (seq %llu) did not verify",
                 rep.off, (unsigned long long)rep.seq);
        journal_record(&note, detail);
        if ((r = audit_append(w->log, txn, &note)) < 0)
            goto out;
        vault_logf(VAULT_LOG_WARN, "audit_journal",
                   "%s: frame at offset %zu for seq %llu does not verify (a write torn by a crash, "
                   "or a forgery); its records are not replayed, and audit record %llu says so",
                   w->jpath, rep.off, (unsigned long long)rep.seq, (unsigned long long)note.seq);
    }
    if ((r = audit_seal_head(w->log, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
    if (r < 0 || (r = sync_if_needed(w)) < 0)
        goto out;
    if (n > 0)
        vault_logf(VAULT_LOG_INFO, "audit_journal",
                   "%d verified record(s) after seq %llu moved from the journal into the audit log",
                   n, (unsigned long long)head);
    audit_journal_reset(w->jour);
    w->jpending = 0;
    w->jblocked = 0;
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn))) < 0)
        goto out;
    r = audit_head(w->log, txn, &head, hh);
    mdb_txn_abort(txn);
    txn = NULL;
    if (r < 0)
        goto out;
    set_head(w, head, hh);
    if (w->juse &&
        (r = audit_journal_reserve(w->jour, w->jpath,
                                   w->o.journal_bytes ? w->o.journal_bytes
                                                      : AUDIT_JOURNAL_DEFAULT_SIZE)) < 0) {
        /* Everything in it is in LMDB now: run without it (two flushes per
         * batch) rather than not at all. */
        vault_logf(VAULT_LOG_WARN, "audit_journal", "journal disabled: cannot reserve %s: %s",
                   w->jpath, tv_strerror(r));
        (void)unlink(w->jpath);
        w->juse = 0;
    }
    if (!w->juse) {
        audit_journal_close(w->jour);
        w->jour = NULL;
    }
    r = TV_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (r == TV_ERR_INTEGRITY && rep.reason[0])
        vault_logf(VAULT_LOG_ERROR, "audit_journal",
                   "%s does not verify at offset %zu, seq %llu: %s. Nothing was replayed and the "
                   "vault refuses to audit (and so to serve) until this is resolved; the file is "
                   "left as it is for inspection. Moving it aside starts the vault without the "
                   "records in it",
                   w->jpath, rep.off, (unsigned long long)rep.seq, rep.reason);
    else if (r < 0)
        vault_logf(VAULT_LOG_ERROR, "audit_journal", "replay of %s failed: %s", w->jpath,
                   tv_strerror(r));
    if (r < 0) {
        audit_journal_close(w->jour);
        w->jour = NULL;
        w->jpending = 0;
        w->jblocked = 1; /* fail closed: its records' seqs stay unused */
    }
    return r;
}

int vault_audit_journal_blocked(struct vault *v)
{
    return v && v->auditw && v->auditw->jblocked;
}

/* vault_db's before-write hook: a write transaction is about to begin on a
 * thread other than the writer's. Wait until no batch is in flight, so that
 * LMDB's single writer lock is free and the journal state may be read
 * (vault_audit_append_txn). */
static void before_wtxn(void *arg)
{
    struct vault_audit *w = arg;
    if (!w->thr_started || pthread_equal(pthread_self(), w->thr))
        return;
    pthread_mutex_lock(&w->mu);
    while (w->job == JOB_QUEUED)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
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
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    proto_buf_init(&w->jvals, 0);
    w->wake_fd[0] = w->wake_fd[1] = -1;
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
    if (w->o.aggregate_seconds == 0)
        w->o.aggregate_seconds = 60;
    if (w->o.warn_percent == 0 || w->o.warn_percent >= w->o.high_water_percent)
        w->o.warn_percent = w->o.high_water_percent > 15 ? w->o.high_water_percent - 15 : 1;
    if (!(w->agg = vault_audit_agg_new(now_ns()))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
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
    if ((r = journal_open(w, v->base != NULL)) < 0)
        goto out;
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn))) < 0)
        goto out;
    r = audit_head(w->log, txn, &w->head_seq, w->head_hash);
    if (r == 0)
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
        struct timeval atv = {(time_t)w->o.aggregate_seconds, 0};
        w->flush_ev = event_new(v->base, -1, 0, flush_cb, w);
        w->ckpt_ev = event_new(v->base, -1, EV_PERSIST, ckpt_cb, w);
        w->agg_ev = event_new(v->base, -1, EV_PERSIST, agg_cb, w);
        if (!w->flush_ev || !w->ckpt_ev || !w->agg_ev || event_add(w->ckpt_ev, &tv) != 0 ||
            event_add(w->agg_ev, &atv) != 0) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        if ((r = writer_start(w)) < 0)
            goto out;
    }
    v->auditw = w;
    v->audit = w->log;
    v->db->before_wtxn = before_wtxn;
    v->db->before_wtxn_arg = w;
    w = NULL;
    r = TV_OK;
out:
    if (w)
        writer_free(w);
    return r;
}

/*
 * The audit signing key never changes silently. It is derived from the root
 * key, so it changes only when the root key does (another vault's escrow
 * adopted, a store swapped under the daemon). Its public key is recorded
 * twice: in "audit_meta" (for exports and the offline verifier; written by
 * every checkpoint) and in the vault's meta as the record "audit.meta"
 * (vault_record.h: u8 audit format | pk[32], authenticated and bound to the
 * vault id). On unlock both must name the key derived now; the record is
 * written the first time. A mismatch refuses to go on, with what to do.
 */
#define META_AUDIT "audit.meta"

static int audit_key_bind(struct vault *v)
{
    uint8_t pk[AUDIT_PK_LEN], stored[AUDIT_PK_LEN], rec[1 + AUDIT_PK_LEN];
    MDB_txn *txn = NULL;
    MDB_val pl;
    int r, have_rec = 0;
    char hex_now[2 * AUDIT_PK_LEN + 1], hex_was[2 * AUDIT_PK_LEN + 1];

    if ((r = audit_log_pubkey(v->auditw->log, pk)) < 0)
        return r;
    if ((r = vault_db_rtxn(v->db, &txn)) < 0)
        return r;
    r = audit_log_stored_pubkey(v->auditw->log, txn, stored);
    if (r == 0 && sodium_memcmp(stored, pk, AUDIT_PK_LEN) != 0)
        r = TV_ERR_INTEGRITY;
    else if (r == TV_ERR_NOT_FOUND)
        r = 0;
    if (r == 0) {
        r = vault_record_get(v->db, txn, VAULT_TBL_META, META_AUDIT, sizeof(META_AUDIT) - 1, &pl,
                             NULL);
        if (r == 0) {
            have_rec = 1;
            if (pl.mv_size != sizeof(rec) || ((const uint8_t *)pl.mv_data)[0] != AUDIT_FORMAT) {
                r = TV_ERR_INTEGRITY;
            } else {
                memcpy(stored, (const uint8_t *)pl.mv_data + 1, AUDIT_PK_LEN);
                if (sodium_memcmp(stored, pk, AUDIT_PK_LEN) != 0)
                    r = TV_ERR_INTEGRITY;
            }
        } else if (r == TV_ERR_NOT_FOUND) {
            r = 0;
        }
    }
    mdb_txn_abort(txn);
    txn = NULL;
    if (r == TV_ERR_INTEGRITY) {
        sodium_bin2hex(hex_now, sizeof(hex_now), pk, AUDIT_PK_LEN);
        sodium_bin2hex(hex_was, sizeof(hex_was), stored, AUDIT_PK_LEN);
        vault_log(VAULT_LOG_ERROR, "audit_key_mismatch", "audit_pubkey", hex_now, "stored_pubkey",
                  hex_was, "msg",
                  "the audit signing key derived from this root key is not the one this "
                  "vault's audit log is bound to: the root key or the state directory was "
                  "replaced. Refusing to continue. Restore the state directory (meta and "
                  "audit_meta) from a backup of this vault, or move it away and initialise "
                  "a new vault; do not recover with another vault's escrow",
                  (const char *)NULL);
        return r;
    }
    if (r < 0 || have_rec)
        return r;
    /* First activation of this store: record the key. */
    rec[0] = AUDIT_FORMAT;
    memcpy(rec + 1, pk, AUDIT_PK_LEN);
    if ((r = vault_db_wtxn(v->db, &txn)) < 0)
        return r;
    if ((r = vault_record_put(v->db, txn, VAULT_TBL_META, META_AUDIT, sizeof(META_AUDIT) - 1, rec,
                              sizeof(rec), 0)) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    return vault_db_commit(txn);
}

int vault_audit_unlock(struct vault *v)
{
    int r;
    uint8_t seed[VAULT_KEY_LEN], mkey[VAULT_KEY_LEN], jkey[VAULT_KEY_LEN];
    struct vault_audit *w;
    if (!v || !v->auditw || !v->kr)
        return TV_ERR_NOT_INITIALISED;
    w = v->auditw;
    /* The writer thread reads the key while a batch is in flight (for its
     * checkpoint): replace it only in between. The completed batch stays
     * for wake_cb: its callbacks must not run inside this handler. */
    if (w->thr_started) {
        pthread_mutex_lock(&w->mu);
        while (w->job == JOB_QUEUED)
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
    if ((r = vault_keyring_derive(v->kr, "teevault/audit", seed)) < 0 ||
        (r = vault_keyring_derive(v->kr, "teevault/audit-head", mkey)) < 0 ||
        (r = vault_keyring_derive(v->kr, "teevault/journal", jkey)) < 0)
        goto out;
    if ((r = audit_log_set_seed(w->log, seed)) < 0 || (r = audit_log_set_mac_key(w->log, mkey)) < 0)
        goto out;
    /* The key is this vault's audit key (or refuse, saying what to do)
     * before anything is checked or signed with it. */
    if ((r = audit_key_bind(v)) < 0)
        goto out;
    /* The log in data.mdb is host-writable too: check what the next
     * checkpoint would sign before anything is added (the journal's replay
     * seals the head), and refuse to start on a forgery. */
    {
        MDB_txn *t = NULL;
        uint64_t head = 0, bad = 0;
        if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &t))) < 0)
            goto out;
        r = audit_head(w->log, t, &head, NULL);
        if (r == 0)
            r = audit_verify_tail(w->log, t, head, &bad);
        mdb_txn_abort(t);
        if (r == TV_ERR_INTEGRITY) {
            vault_logf(VAULT_LOG_ERROR, "audit_log",
                       "the audit log in data.mdb does not verify at seq %llu (records altered, "
                       "removed or reordered after they were written, or a checkpoint replaced); "
                       "the vault signs nothing it cannot verify and refuses to start",
                       (unsigned long long)bad);
            w->jblocked = 1; /* fail closed */
        }
        if (r < 0)
            goto out;
    }
    if (w->jour) {
        if ((r = audit_journal_set_key(w->jour, jkey)) < 0)
            goto out;
        if (w->jpending && (r = journal_replay(w)) < 0)
            goto out;
    }
    r = TV_OK;
out:
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(mkey, sizeof(mkey));
    sodium_memzero(jkey, sizeof(jkey));
    return r;
}

int vault_audit_flush(struct vault *v)
{
    if (!v || !v->auditw)
        return TV_ERR_AUDIT;
    (void)agg_push(v->auditw);
    return flush_queue(v->auditw, 1);
}

void vault_audit_close(struct vault *v)
{
    struct vault_audit *w;
    if (!v || !v->auditw)
        return;
    w = v->auditw;
    (void)agg_push(w);
    (void)flush_queue(w, 1); /* waits for the batch in flight */
    pthread_mutex_lock(&w->mu);
    vault_logf(VAULT_LOG_INFO, "audit_close",
               "%llu records in %llu group commits (%llu to the journal, %llu journal drains), "
               "%llu failed commits",
               (unsigned long long)w->records, (unsigned long long)w->batches,
               (unsigned long long)w->journal_batches, (unsigned long long)w->drains,
               (unsigned long long)w->failed);
    pthread_mutex_unlock(&w->mu);
    writer_free(w);
    v->auditw = NULL;
    v->audit = NULL;
}

/* Loop thread: queue c's record (and its write, if any), then commit the
 * queue now (no event loop) or at the end of this loop pass. */
static int enqueue(struct vault *v, const vault_call *c, int outcome, const vault_write *job,
                   void *job_arg, vault_audit_done_fn done, void *arg)
{
    struct vault_audit *w;
    pending *p;
    if (!v || !v->auditw)
        return TV_ERR_AUDIT; /* fail closed: no writer, no reply */
    w = v->auditw;
    if (queue_reserve(w, 1) < 0)
        return TV_ERR_NOMEM;
    p = &w->q[w->nq++];
    record_from_call(c, outcome, &p->rec);
    p->job = job;
    p->job_arg = job_arg;
    p->done = done;
    p->arg = arg;
    p->status = TV_ERR_AUDIT;
    if (!w->flush_ev) {
        (void)flush_queue(w, 0); /* no event loop: commit now */
    } else if (!w->scheduled) {
        w->scheduled = 1;
        event_active(w->flush_ev, EV_TIMEOUT, 0);
    }
    return TV_OK;
}

int vault_audit_submit(struct vault *v, const vault_call *c, int outcome, vault_audit_done_fn done,
                       void *arg)
{
    /* Anonymous probes and failed authentications take no effect: counted
     * for the interval's aggregate record, answered at once. */
    if (v && v->auditw && v->auditw->agg && vault_audit_agg_wanted(c, outcome)) {
        vault_audit_agg_count(v->auditw->agg, c, outcome);
        done(arg, TV_OK);
        return TV_OK;
    }
    return enqueue(v, c, outcome, NULL, NULL, done, arg);
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
        pthread_mutex_lock(&w->mu);
        w->failed++;
        pthread_mutex_unlock(&w->mu);
        return TV_ERR_AUDIT;
    }
    /* The journalled records come first (the writer is idle: vault_db's
     * before-write hook waited for it when txn began). */
    pthread_mutex_lock(&w->mu);
    int busy = w->job == JOB_QUEUED;
    pthread_mutex_unlock(&w->mu);
    if (busy) {
        vault_logf(VAULT_LOG_ERROR, "audit_commit",
                   "write transaction began while a batch was "
                   "in flight: refusing (fail closed)");
        return TV_ERR_AUDIT;
    }
    if (w->jblocked) {
        vault_logf(VAULT_LOG_ERROR, "audit_commit",
                   "the audit journal holds records not yet verified: refusing (fail closed)");
        return TV_ERR_AUDIT;
    }
    record_from_call(c, outcome, &rec);
    w->lmdb_moved = 1; /* the next batch adopts LMDB's head if txn commits */
    if ((r = drain_into(w, txn)) == 0 && (r = audit_append(w->log, txn, &rec)) == 0)
        r = audit_seal_head(w->log, txn);
    if (r < 0 && r != TV_ERR_STORAGE_FULL)
        r = TV_ERR_AUDIT;
    return r;
}

int vault_audit_submit_write(struct vault *v, const vault_call *c, const vault_write *job,
                             void *job_arg, vault_audit_done_fn done, void *arg)
{
    return job ? enqueue(v, c, 0, job, job_arg, done, arg) : TV_ERR_AUDIT;
}

int vault_audit_settle(struct vault *v)
{
    struct vault_audit *w;
    int r;
    if (!v || !v->auditw)
        return TV_ERR_AUDIT;
    w = v->auditw;
    before_wtxn(w);
    /* The interval's aggregate records so far become visible too: they are
     * appended here with the journal's records. */
    size_t k = vault_audit_agg_pending(w->agg);
    pending *p = NULL;
    if (k && (p = calloc(k, sizeof(*p)))) {
        audit_record *recs = calloc(k, sizeof(*recs));
        if (recs) {
            k = vault_audit_agg_take(w->agg, recs, k, now_ns());
            for (size_t i = 0; i < k; i++)
                p[i].rec = recs[i];
            free(recs);
        } else {
            k = 0;
        }
    } else {
        k = 0;
    }
    if (w->jcount == 0 && k == 0) {
        free(p);
        return TV_OK;
    }
    if ((r = reconcile(w)) < 0 || (r = lmdb_batch(w, p, k, 0)) < 0)
        vault_logf(VAULT_LOG_ERROR, "audit_commit", "journal not moved into the audit log: %s",
                   tv_strerror(r));
    free(p);
    return r;
}

/* One lookup in LMDB: 1 when record seq is there (hash filled), 0 when
 * it is not (*first, *head: the stored range), <0 on error. */
static int hash_in_lmdb(struct vault_audit *w, uint64_t seq, uint8_t hash[32], uint64_t *first,
                        uint64_t *head)
{
    MDB_txn *txn = NULL;
    audit_record rec;
    int r;
    if ((r = mdb_to_tv(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn))) < 0)
        return r;
    r = audit_get(w->log, txn, seq, &rec);
    if (r == 0) {
        memcpy(hash, rec.hash, AUDIT_HASH_LEN);
        r = 1;
    } else if (r == TV_ERR_NOT_FOUND) {
        r = audit_first_seq(w->log, txn, first);
        if (r == 0)
            r = audit_head(w->log, txn, head, NULL);
    }
    mdb_txn_abort(txn);
    return r;
}

int vault_audit_hash_at(struct vault *v, uint64_t seq, uint32_t *status, uint8_t hash[32])
{
    struct vault_audit *w;
    uint64_t first = 0, head = 0, mem_seq;
    int r;
    if (!v || !v->auditw || !status || !hash)
        return TV_ERR_AUDIT;
    w = v->auditw;
    memset(hash, 0, 32);
    pthread_mutex_lock(&w->mu);
    mem_seq = w->head_seq;
    if (seq && seq == mem_seq)
        memcpy(hash, w->head_hash, AUDIT_HASH_LEN);
    pthread_mutex_unlock(&w->mu);
    if (seq && seq == mem_seq) {
        *status = SEAL_AUDIT_AT_FOUND;
        return 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        if ((r = hash_in_lmdb(w, seq, hash, &first, &head)) < 0)
            return r;
        if (r == 1) {
            *status = SEAL_AUDIT_AT_FOUND;
            return 0;
        }
        if (seq < first || seq == 0) {
            *status = SEAL_AUDIT_AT_ARCHIVED;
            return 0;
        }
        if (seq > head && seq > mem_seq) {
            *status = SEAL_AUDIT_AT_BEYOND;
            return 0;
        }
        /* Journalled, not yet in LMDB: move the journal in, look again. */
        if (pass == 0 && (r = vault_audit_settle(v)) < 0)
            return r;
    }
    return TV_ERR_INTEGRITY; /* inside the stored range, yet absent */
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
     * full disk fails every request, reads included, instead of only writes.
     * A statvfs per Put was 4% of the daemon's CPU at 64 writing clients:
     * while the disk had 256 MiB more than the reserve at the last look, it
     * looks again only after 100 ms (no Put stream fills 256 MiB that fast). */
    {
        struct vault_audit *w = v->auditw;
        const char *dir = NULL;
        struct statvfs fs;
        struct timespec ts;
        int64_t now;
        uint64_t reserve = map / 100 * (100 - w->o.high_water_percent), avail;
        if (reserve > ((uint64_t)64 << 20))
            reserve = (uint64_t)64 << 20;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (now < w->disk_roomy_until)
            return TV_OK;
        if (mdb_env_get_path(v->db->env, &dir) != 0 || !dir || statvfs(dir, &fs) != 0)
            return TV_OK;
        avail = (uint64_t)fs.f_bavail * fs.f_frsize;
        if (avail < reserve)
            return TV_ERR_STORAGE_FULL;
        if (avail - reserve > ((uint64_t)256 << 20))
            w->disk_roomy_until = now + 100000000;
    }
    return TV_OK;
}

int vault_audit_reserve_allowed(struct vault *v, unsigned *pct_out)
{
    uint64_t used = 0, map = 0;
    unsigned pct;
    if (!v || !v->auditw || !v->db)
        return TV_OK;
    pct = (v->auditw->o.high_water_percent + 100) / 2;
    if (pct_out)
        *pct_out = pct;
    if (vault_db_usage(v->db, &used, &map) < 0 || map == 0)
        return TV_OK; /* cannot tell: the audit commit itself fails closed */
    return used * 100 >= map * pct ? TV_ERR_STORAGE_FULL : TV_OK;
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
    pthread_mutex_lock(&w->mu);
    if (w->head_seq > i.seq) { /* journalled records not yet in LMDB */
        i.seq = w->head_seq;
        memcpy(i.head, w->head_hash, AUDIT_HASH_LEN);
    }
    pthread_mutex_unlock(&w->mu);
    i.has_pubkey = audit_log_pubkey(w->log, i.pubkey) == 0;
    i.used_percent = vault_audit_used_percent(v);
    i.high_water_percent = w->o.high_water_percent;
    i.warn_percent = w->o.warn_percent;
    i.aggregated = vault_audit_agg_total(w->agg);
    pthread_mutex_lock(&w->mu);
    i.last_ckpt_seq = w->last_ckpt_seq;
    i.batches = w->batches;
    i.records = w->records;
    i.failed_commits = w->failed;
    i.queue_depth = (uint64_t)w->nq + (w->job != JOB_IDLE ? w->jn : 0);
    pthread_mutex_unlock(&w->mu);
    *out = i;
    return TV_OK;
}

void vault_audit_test_fail_commits(struct vault *v, int n)
{
    if (v && v->auditw) {
        pthread_mutex_lock(&v->auditw->mu);
        v->auditw->fail_commits = n;
        pthread_mutex_unlock(&v->auditw->mu);
    }
}
