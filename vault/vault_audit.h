/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_audit: how the server and handlers record decisions (DESIGN.md §6).
 *
 * Every request that reaches a handler produces exactly one audit record.
 * - Writes: the handler's store transaction appends the record itself through
 *   vault_audit_append_txn() and sets c->audited once the transaction committed.
 * - Everything else (reads, denials, errors): after the handler returns the
 *   server calls vault_audit_submit(); the record joins the current group
 *   commit and `done` runs once it is durable (status 0) or failed (< 0). The
 *   server sends the reply only from `done`; on failure it sends an error and
 *   never the value (fail-closed).
 * - Except anonymous probes (Health, Status, Challenge, Report without a
 *   token) and failed authentications (a token that does not resolve, a
 *   failed Login), which take no effect: vault_audit_submit counts them per
 *   peer (vault_audit_agg.h) and runs `done` at once; one aggregate record
 *   per peer is written every aggregate_seconds (and at settle, flush and
 *   close). So a stranger's flood grows the log by at most 65 records per
 *   interval. Attest, Login successes and every authenticated call keep
 *   their own record.
 */
#ifndef VAULT_AUDIT_H
#define VAULT_AUDIT_H

#include <stdint.h>

#include <lmdb.h>

#include "vault.h"

typedef void (*vault_audit_done_fn)(void *arg, int status);

/* Queue the record for call c with outcome (0 or a tv_err), or count it
 * for the aggregate record (see above; then `done` gets 0 at once). `done`
 * is called exactly once, possibly before this function returns. Returns 0, or a
 * tv_err when the record could not even be queued (then `done` is not called):
 * TV_ERR_AUDIT when the writer is not open (fail closed), TV_ERR_NOMEM.
 * Status passed to done: 0, TV_ERR_STORAGE_FULL (map full) or TV_ERR_AUDIT. */
int vault_audit_submit(struct vault *v, const vault_call *c, int outcome, vault_audit_done_fn done,
                       void *arg) TV_WUR;

/* Queue write job (vault_write) for call c: job->apply runs inside the next
 * group commit's LMDB transaction (nested), its record follows it with
 * apply's result as the outcome, and done(arg, status) runs once the batch
 * is durable with apply's result, or the commit's error (TV_ERR_AUDIT,
 * TV_ERR_STORAGE_FULL; nothing stored). job_arg must stay valid until done.
 * Errors (done not called): TV_ERR_AUDIT (no writer), TV_ERR_NOMEM. */
int vault_audit_submit_write(struct vault *v, const vault_call *c, const vault_write *job,
                             void *job_arg, vault_audit_done_fn done, void *arg) TV_WUR;

/* Make every durable record visible in the LMDB audit DBs (move the
 * journal's records there) before reading them (Audit.List/Head/Export).
 * Waits for the batch in flight; loop thread, no write transaction open.
 * Errors: TV_ERR_AUDIT (no writer), storage errors. */
int vault_audit_settle(struct vault *v) TV_WUR;

/* Append the record for call c with outcome inside the caller's write
 * transaction. The caller commits; if the commit fails, nothing was recorded.
 * Errors: TV_ERR_AUDIT (writer not open, or the test hook), TV_ERR_STORAGE_FULL
 * (map full: abort the txn and fail the request). */
int vault_audit_append_txn(struct vault *v, MDB_txn *txn, const vault_call *c, int outcome) TV_WUR;

/* ------------------------------------------------------------ lifecycle */

typedef struct vault_audit_opts {
    uint64_t ckpt_every_records; /* checkpoint after this many records (0 = 1000) */
    uint32_t ckpt_every_ms;      /* ... or this often when records are pending (0 = 10000) */
    uint32_t high_water_percent; /* refuse secret writes at/above this fill (0 = 90) */
    int per_record_fsync;        /* bench/compare only: one txn + fsync per record
                                    instead of group commit */
    int journal;                 /* 0: the journal with an event loop only; 1: always;
                                    -1: never (an existing one is still replayed) */
    size_t journal_bytes;        /* 0 = AUDIT_JOURNAL_DEFAULT_SIZE (8 MiB) */
    uint32_t aggregate_seconds;  /* aggregate records every this often (0 = 60) */
    uint32_t warn_percent;       /* warn in the log at/above this fill (0 = high_water - 15) */
} vault_audit_opts;

/* Open the audit DBs in v->db's environment and create the writer
 * (v->auditw, and v->audit for the log). v->db must be open; v->base may be
 * NULL (then every submit commits synchronously: tests, tools). With
 * v->base, batches are committed on an audit writer thread started here (one
 * batch in flight; `done` still runs on the loop thread) and the checkpoint
 * timer starts. No write transaction may be open. opts NULL = defaults. Test hook: when the
 * environment variable TEEVAULT_TEST_AUDIT_FAIL_FILE names a path and that file exists at commit
 * time, the commit fails (TV_ERR_AUDIT) as if the disk had failed. Bench
 * hook: TEEVAULT_BENCH_AUDIT_FSYNC_PER_RECORD=1 sets per_record_fsync. Both
 * are logged as a warning at open.
 * Errors: TV_ERR_INVALID (no v->db), TV_ERR_EXISTS (already open),
 * audit_log_open's errors, TV_ERR_NOMEM. */
int vault_audit_open(struct vault *v, const vault_audit_opts *opts) TV_WUR;

/* Give the writer its checkpoint signing key: derived from v->kr with
 * vault_keyring_derive(kr, "teevault/audit"), and its journal MAC key
 * ("teevault/journal"). The first call verifies and replays the journal
 * (docs/AUDIT.md): TV_ERR_INTEGRITY when a frame does not verify (the log
 * names its offset and seq; the writer then refuses every record). Call after the keyring is
 * created or opened (init, unseal, recover); it waits for a batch in flight
 * (the writer thread signs checkpoints with the key), so never call it with
 * a write transaction open. Errors: TV_ERR_NOT_INITIALISED
 * (v->kr NULL or writer not open), keyring/crypto errors. */
int vault_audit_unlock(struct vault *v) TV_WUR;

/* 1 when the audit journal (audit.journal) may hold records past the LMDB
 * head that only the root key can verify, or its replay failed: until a
 * vault_audit_unlock verifies them, every audit append fails (TV_ERR_AUDIT)
 * so their seqs stay free. teevaultd refuses to start sealed in that state.
 * 0 otherwise. */
int vault_audit_journal_blocked(struct vault *v);

/* Wait for the batch in flight (its done callbacks run), commit everything
 * queued now on the calling thread (done callbacks run) and write a
 * checkpoint if records are past the last one and a key is set. Returns the
 * last commit's status (0 or < 0). For shutdown, tests and tools; call on the
 * loop thread, never with a write transaction open (deadlock). */
int vault_audit_flush(struct vault *v) TV_WUR;

/* Flush, checkpoint, stop timers and free the writer; v->auditw and v->audit
 * become NULL. Call before vault_db_close. NULL writer is a no-op. */
void vault_audit_close(struct vault *v);

/* ------------------------------------------------------------ queries */

/* 0 when a new secret write may proceed; TV_ERR_STORAGE_FULL (gRPC
 * RESOURCE_EXHAUSTED) when the store is at/above the high-water mark, so the
 * space above it stays reserved for audit records of reads and denials.
 * rpc_secrets calls this before starting a write. Also fails closed with
 * TV_ERR_AUDIT when the writer is not open. */
int vault_audit_write_allowed(struct vault *v) TV_WUR;

/* The last part of the store, above (high_water + 100) / 2 percent (95 by
 * default), is kept for getting out of a full store: archiving the audit
 * log (Audit.Export, Audit.Prune), Sys.Status and Login. 0 when other
 * calls may still add audit records; TV_ERR_STORAGE_FULL with *pct_out
 * (may be NULL) the reserve's threshold when they are refused
 * (vault_call_run). No writer: 0 (nothing is audited there). */
int vault_audit_reserve_allowed(struct vault *v, unsigned *pct_out) TV_WUR;

/* How full the store is, 0..100 (last used page / map size). 0 when unknown. */
unsigned vault_audit_used_percent(struct vault *v);

typedef struct vault_audit_info {
    uint64_t seq;                /* head sequence number, 0 when empty */
    uint8_t head[32];            /* hash of the head record (zeros when empty) */
    int has_pubkey;              /* 0 until vault_audit_unlock */
    uint8_t pubkey[32];          /* Ed25519 checkpoint key */
    uint64_t last_ckpt_seq;      /* last_seq of the newest stored checkpoint */
    unsigned used_percent;       /* as vault_audit_used_percent */
    unsigned high_water_percent; /* configured mark */
    unsigned warn_percent;       /* Status and the log warn from this fill */
    uint64_t aggregated;         /* requests counted into aggregate records since open */
    uint64_t batches;            /* group commits since open */
    uint64_t records;            /* records committed through the writer since open */
    uint64_t failed_commits;     /* commits that failed since open */
    uint64_t queue_depth;        /* records queued or in a commit now */
} vault_audit_info;

/* The chain hash of record seq (Attestation.AuditAt, docs/ATTESTATION.md
 * "Freshness"): *status SEAL_AUDIT_AT_FOUND with hash, _ARCHIVED (seq is
 * below the first record stored, or 0), or _BEYOND (past the head). A seq
 * among the journalled records not yet in LMDB settles them first
 * (vault_audit_settle): loop thread. Errors: TV_ERR_AUDIT, LMDB errors. */
int vault_audit_hash_at(struct vault *v, uint64_t seq, uint32_t *status, uint8_t hash[32]) TV_WUR;

/* Fill *out (for Sys.Status, Attestation.Report, Audit.Head). Errors:
 * TV_ERR_AUDIT (writer not open), LMDB errors. */
int vault_audit_get_info(struct vault *v, vault_audit_info *out) TV_WUR;

/* Test hook: make the next n commits fail with TV_ERR_AUDIT (n < 0: all
 * until reset with 0). */
void vault_audit_test_fail_commits(struct vault *v, int n);

#endif
