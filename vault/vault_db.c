/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_lmdb.h"
#include "vault_record.h"

int vault_db_err(int rc)
{
    return audit_mdb_err(rc);
}

/* Begin a txn; when another process grew the map (MDB_MAP_RESIZED), adopt
 * the new size (mdb_env_set_mapsize(env, 0), no txn open) and retry once. */
static int txn_begin(vault_db *db, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(db->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(db->env, 0) == 0)
        rc = mdb_txn_begin(db->env, NULL, flags, txn);
    return vault_db_err(rc);
}

int vault_db_wtxn_nohook(vault_db *db, MDB_txn **txn)
{
    MDB_txn *t = NULL;
    int r = txn_begin(db, 0, &t);
    if (r < 0)
        return r;
    if ((r = vault_record_txn_begin(db, t)) < 0) {
        mdb_txn_abort(t);
        return r;
    }
    *txn = t;
    return 0;
}

int vault_db_wtxn(vault_db *db, MDB_txn **txn)
{
    if (db->before_wtxn)
        db->before_wtxn(db->before_wtxn_arg);
    return vault_db_wtxn_nohook(db, txn);
}

vault_db *vault_db_of_env(MDB_env *env)
{
    return env ? mdb_env_get_userctx(env) : NULL;
}

int vault_db_rtxn(vault_db *db, MDB_txn **txn)
{
    return txn_begin(db, MDB_RDONLY, txn);
}

int vault_db_commit(MDB_txn *txn)
{
    vault_db *db = vault_db_of_env(mdb_txn_env(txn));
    int r;
    if (db && (r = vault_record_txn_commit(db, txn)) < 0) {
        mdb_txn_abort(txn);
        vault_record_txn_done(db, txn, 0);
        return r;
    }
    r = vault_db_err(mdb_txn_commit(txn));
    if (db)
        vault_record_txn_done(db, txn, r == 0);
    return r;
}

int vault_db_open(const char *dir, size_t map_size, vault_db **out)
{
    int r = TV_ERR_INTERNAL;
    vault_db *db = NULL;
    MDB_txn *txn = NULL;
    static const char *const names[] = {"meta",  "secrets", "versions", "policies",
                                        "users", "tokens",  "functions"};

    if (!dir || !out)
        return TV_ERR_INVALID;
    if (!(db = calloc(1, sizeof(*db))))
        return TV_ERR_NOMEM;
    if (map_size == 0)
        map_size = VAULT_DB_DEFAULT_MAP_SIZE;
    if ((r = vault_db_err(mdb_env_create(&db->env))) < 0) {
        db->env = NULL;
        goto out;
    }
    if ((r = vault_db_err(mdb_env_set_userctx(db->env, db))) < 0)
        goto out;
    if ((r = vault_db_err(mdb_env_set_maxdbs(db->env, VAULT_DB_MAXDBS))) < 0)
        goto out;
    if ((r = vault_db_err(mdb_env_set_mapsize(db->env, map_size))) < 0)
        goto out;
    /* MDB_NOTLS: read txns are not tied to threads (reader slots reused). */
    if ((r = vault_db_err(mdb_env_open(db->env, dir, MDB_NOTLS, 0600))) < 0) {
        if (r != TV_ERR_NOMEM && r != TV_ERR_STORAGE_FULL)
            r = TV_ERR_IO;
        goto out;
    }
    {
        MDB_envinfo info;
        if ((r = vault_db_err(mdb_env_info(db->env, &info))) < 0)
            goto out;
        db->map_size = info.me_mapsize;
    }
    if ((r = vault_db_wtxn(db, &txn)) < 0)
        goto out;
    MDB_dbi *dbis[] = {&db->meta,  &db->secrets, &db->versions, &db->policies,
                       &db->users, &db->tokens,  &db->functions};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((r = vault_db_err(mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]))) < 0)
            goto out;
    }
    r = vault_db_commit(txn);
    txn = NULL;
    if (r < 0)
        goto out;
    *out = db;
    db = NULL;
    r = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_db_close(db);
    return r;
}

void vault_db_close(vault_db *db)
{
    if (!db)
        return;
    vault_record_detach(db);
    if (db->env)
        mdb_env_close(db->env);
    free(db);
}

void vault_db_usage_changed(vault_db *db)
{
    if (db)
        atomic_store(&db->free_until_ns, 0);
}

/* Pages on LMDB's free list: each entry of the free DB (dbi 0) is a page
 * list whose first word is its length (mdb_stat -f counts the same). A
 * scan, so at most once a second. */
static uint64_t free_pages(vault_db *db)
{
    struct timespec ts;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t n = 0;
    int64_t now;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (now < atomic_load(&db->free_until_ns))
        return atomic_load(&db->free_pages);
    if (mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) != 0)
        return atomic_load(&db->free_pages);
    if (mdb_cursor_open(txn, 0, &cur) == 0) {
        while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
            size_t len;
            if (v.mv_size < sizeof(len))
                continue;
            memcpy(&len, v.mv_data, sizeof(len));
            n += len;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    atomic_store(&db->free_pages, n);
    atomic_store(&db->free_until_ns, now + 1000000000);
    return n;
}

/* Free pages are used up as records are written, so a stale count makes
 * the store look emptier than it is: counted once a second while the store
 * is under half full, every 50 ms above (where the audit margins are). */
static uint64_t free_pages_for(vault_db *db, uint64_t pages, uint64_t map_pages)
{
    uint64_t fp = free_pages(db);
    if (map_pages && (pages > fp ? pages - fp : 0) * 2 >= map_pages) {
        struct timespec ts;
        int64_t now, until = atomic_load(&db->free_until_ns);
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (until - now > 50000000) {
            atomic_store(&db->free_until_ns, 0);
            fp = free_pages(db);
            atomic_store(&db->free_until_ns, now + 50000000);
        }
    }
    return fp;
}

int vault_db_usage(vault_db *db, uint64_t *used_bytes, uint64_t *map_bytes)
{
    MDB_envinfo info;
    MDB_stat st;
    int r;
    if ((r = vault_db_err(mdb_env_info(db->env, &info))) < 0)
        return r;
    if ((r = vault_db_err(mdb_env_stat(db->env, &st))) < 0)
        return r;
    if (used_bytes) {
        uint64_t pages = (uint64_t)info.me_last_pgno + 1;
        uint64_t fp = free_pages_for(db, pages, info.me_mapsize / st.ms_psize);
        *used_bytes = (pages > fp ? pages - fp : 1) * st.ms_psize;
    }
    if (map_bytes)
        *map_bytes = info.me_mapsize;
    return 0;
}

int vault_state_lock(const char *dir, int *fd_out, long *holder)
{
    char path[4096], buf[32];
    struct flock fl;
    int fd, e;
    ssize_t n;

    if (!dir || !fd_out || !holder)
        return TV_ERR_INVALID;
    *holder = 0;
    if (snprintf(path, sizeof(path), "%s/teevaultd.lock", dir) >= (int)sizeof(path))
        return TV_ERR_INVALID;
    if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return TV_ERR_IO;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        e = errno;
        if (e != EACCES && e != EAGAIN) {
            close(fd);
            errno = e;
            return TV_ERR_IO;
        }
        /* Held: the kernel knows by whom (0 if it cannot say, e.g. from
         * another pid namespace); else trust the pid the holder wrote. */
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0) {
            *holder = (long)fl.l_pid;
        } else if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
            buf[n] = '\0';
            *holder = strtol(buf, NULL, 10);
        }
        close(fd);
        return TV_ERR_UNAVAILABLE;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        e = errno;
        close(fd);
        errno = e;
        return TV_ERR_IO;
    }
    *fd_out = fd;
    return TV_OK;
}
