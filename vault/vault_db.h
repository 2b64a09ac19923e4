/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_db: the LMDB environment and its named databases (DESIGN.md §8).
 *
 * One environment per vault state directory (files data.mdb and lock.mdb).
 * The environment is opened with room for VAULT_DB_MAXDBS named databases;
 * vault_db_open creates the core ones below. Other modules (the audit writer)
 * open their own named databases ("audit*") in the same environment with
 * mdb_dbi_open inside a write transaction of their own.
 *
 * Ownership: vault_db_open returns a handle owned by the caller and released
 * with vault_db_close. The dbi handles stay valid until close. LMDB allows one
 * write transaction at a time; all calls happen on the event-loop thread.
 *
 * Error mapping (vault_db_err): the tree's one LMDB mapping, audit_mdb_err
 * (audit/audit_lmdb.h, where the table is). Transactions begun here adopt a
 * map grown by another process (MDB_MAP_RESIZED) and retry once.
 */
#ifndef VAULT_DB_H
#define VAULT_DB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "tv_err.h"

#define VAULT_DB_MAXDBS 16

/* A hook run inside a module's write transaction just before it commits
 * (the audit writer appends its record there, so the write and its audit
 * record commit together). Returns 0, or a tv_err that aborts the whole write
 * (nothing is stored). arg is the caller's. May be passed as NULL. */
typedef int (*vault_txn_hook)(void *arg, MDB_txn *txn);
/* Default map size: 1 GiB (sparse file; only used pages take disk space). */
#define VAULT_DB_DEFAULT_MAP_SIZE ((size_t)1 << 30)

typedef struct vault_db {
    MDB_env *env;
    MDB_dbi meta;      /* "meta": sealed root key, escrow, epoch, format marks */
    MDB_dbi secrets;   /* "secrets": per-secret metadata record (vault_store) */
    MDB_dbi versions;  /* "versions": per-version wrapped DEK + ciphertext */
    MDB_dbi policies;  /* "policies": ACL policies */
    MDB_dbi users;     /* "users": operator users */
    MDB_dbi tokens;    /* "tokens": operator tokens / sessions */
    MDB_dbi functions; /* "functions": registered function identities */
    size_t map_size;
    /* Called by vault_db_wtxn before it begins a write transaction (the
     * audit writer waits there for its batch in flight). NULL: none. */
    void (*before_wtxn)(void *arg);
    void *before_wtxn_arg;
    /* Record layer (vault_record.h): the keys attached by the keyring (NULL
     * while sealed) and the state version. sv_txn/sv_pending belong to the
     * holder of LMDB's write lock; sv_committed is read from any thread. */
    struct vault_rec_keys *rec;
    MDB_txn *sv_txn;
    _Atomic uint64_t sv_pending;
    _Atomic uint64_t sv_committed;
    /* vault_db_usage: pages on LMDB's free list, counted again after
     * free_until_ns (CLOCK_MONOTONIC_COARSE). Any thread. */
    _Atomic uint64_t free_pages;
    _Atomic int64_t free_until_ns;
    /* The keyring anchor (vault_record_anchor_*): the state version the
     * keyring record was last written at, stored in the state record. */
    uint64_t anchor_committed;
    int anchor_marked; /* the write txn in progress wrote the keyring */
    /* Told when a top-level write txn begins (VAULT_TXN_BEGIN) and after
     * one commits (VAULT_TXN_COMMITTED), on the thread holding it (the
     * keyring keeps what a txn shredded until it commits). NULL: none. */
    void (*txn_event)(void *arg, int ev);
    void *txn_event_arg;
} vault_db;

enum { VAULT_TXN_BEGIN = 1, VAULT_TXN_COMMITTED = 2 };

/* Open (creating if needed) the environment in directory `dir` (which must
 * exist; created files are 0600) with map size `map_size` bytes (0 = default;
 * rounded by LMDB to the page size). Creates the named DBs listed above.
 * Returns 0 and *out, or TV_ERR_INVALID (NULL dir), TV_ERR_IO (cannot open),
 * TV_ERR_NOMEM, TV_ERR_STORAGE_FULL (map too small to create the DBs). */
int vault_db_open(const char *dir, size_t map_size, vault_db **out) TV_WUR;

/* Close the environment and free db. NULL is a no-op. No transaction may be open. */
void vault_db_close(vault_db *db);

/* Map an LMDB return code (or errno) to a tv_err. 0 maps to 0. */
int vault_db_err(int mdb_rc);

/* Begin a write transaction. Returns 0 and *txn, or a mapped error, or
 * TV_ERR_INTEGRITY when the stored state version does not verify or went
 * back (vault_record.h: the transaction gets the next state version). */
int vault_db_wtxn(vault_db *db, MDB_txn **txn) TV_WUR;

/* The same without the before_wtxn hook: for the audit writer itself. */
int vault_db_wtxn_nohook(vault_db *db, MDB_txn **txn) TV_WUR;

/* The vault_db whose environment env is (NULL if not opened by vault_db_open). */
vault_db *vault_db_of_env(MDB_env *env);

/* Begin a read-only transaction. Returns 0 and *txn, or a mapped error. */
int vault_db_rtxn(vault_db *db, MDB_txn **txn) TV_WUR;

/* Commit txn (always consumed: on failure it is aborted by LMDB). A
 * top-level write txn begun with vault_db_wtxn* stores its state version
 * first. Returns 0 or a mapped error (TV_ERR_STORAGE_FULL when the map
 * filled at commit). */
int vault_db_commit(MDB_txn *txn) TV_WUR;

/* One daemon per state directory. Take an exclusive lock (a POSIX record
 * lock, fcntl F_SETLK) on `dir`/teevaultd.lock, created 0600, and write this
 * process's pid into it, before anything else in `dir` is read. The lock
 * lives as long as the returned descriptor (*fd_out, close-on-exec); it is
 * released by close() or by the process's exit, so a crashed daemon never
 * leaves a stale lock. Returns 0 and *fd_out; TV_ERR_UNAVAILABLE when another
 * process holds it (*holder = its pid as the kernel reports it, or the pid
 * in the file, 0 if neither is known); TV_ERR_IO (cannot open or lock: errno
 * is kept); TV_ERR_INVALID. */
int vault_state_lock(const char *dir, int *fd_out, long *holder) TV_WUR;

/* Bytes in use and the map size. Either pointer may be NULL. In use = the
 * pages up to the last used one minus the pages on LMDB's free list (freed
 * by deletions, e.g. an archived audit prefix, and reused before the file
 * grows); the free list is counted at most once a second, and again after
 * vault_db_usage_changed(). Returns 0 or a mapped error. */
int vault_db_usage(vault_db *db, uint64_t *used_bytes, uint64_t *map_bytes) TV_WUR;

/* Much was freed (Audit.Prune): count the free list on the next call. */
void vault_db_usage_changed(vault_db *db);

#endif
