#include "vault_db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vault_record.h"

int vault_db_err(int rc)
{
    switch (rc) {
    case 0:
        return TV_OK;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
    case ENOSPC:
        return TV_ERR_STORAGE_FULL;
    case MDB_NOTFOUND:
        return TV_ERR_NOT_FOUND;
    case MDB_KEYEXIST:
        return TV_ERR_EXISTS;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return TV_ERR_INTEGRITY;
    case ENOMEM:
        return TV_ERR_NOMEM;
    case EIO:
    case EACCES:
    case EPERM:
    case ENOENT:
    case EROFS:
    case EAGAIN:
    case EBUSY:
        return TV_ERR_IO;
    default:
        if (rc > 0)
            return TV_ERR_IO; /* errno */
        return TV_ERR_INTERNAL;
    }
}

int vault_db_wtxn_nohook(vault_db *db, MDB_txn **txn)
{
    MDB_txn *t = NULL;
    int r = vault_db_err(mdb_txn_begin(db->env, NULL, 0, &t));
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
    return vault_db_err(mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn));
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

int vault_db_usage(vault_db *db, uint64_t *used_bytes, uint64_t *map_bytes)
{
    MDB_envinfo info;
    MDB_stat st;
    int r;
    if ((r = vault_db_err(mdb_env_info(db->env, &info))) < 0)
        return r;
    if ((r = vault_db_err(mdb_env_stat(db->env, &st))) < 0)
        return r;
    if (used_bytes)
        *used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if (map_bytes)
        *map_bytes = info.me_mapsize;
    return 0;
}
