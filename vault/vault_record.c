/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_record: encode, authenticate and verify stored records. See
 * vault_record.h for the format and the state-version rules.
 */
#include "vault_record.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto_buf.h"
#include "vault.h"
#include "vault_log.h"

#define REC_DOMAIN "teevault/record/v2"

struct vault_rec_keys {
    /* sodium_malloc: keyed BLAKE2b with the domain and vault id absorbed. */
    crypto_generichash_state *base;
    uint8_t id[VAULT_VAULT_ID_LEN];
    uint64_t serial;      /* unique per process */
    _Atomic unsigned ref; /* the keyring's, and the db's while attached */
};

static _Atomic uint64_t g_serial;

static const char *const g_names[VAULT_TBL_COUNT] = {
    "meta", "secrets", "versions", "policies", "users", "tokens", "functions",
};

const char *vault_record_table_name(enum vault_tbl t)
{
    return (unsigned)t < VAULT_TBL_COUNT ? g_names[t] : "?";
}

MDB_dbi vault_record_dbi(const vault_db *db, enum vault_tbl t)
{
    switch (t) {
    case VAULT_TBL_META:
        return db->meta;
    case VAULT_TBL_SECRETS:
        return db->secrets;
    case VAULT_TBL_VERSIONS:
        return db->versions;
    case VAULT_TBL_POLICIES:
        return db->policies;
    case VAULT_TBL_USERS:
        return db->users;
    case VAULT_TBL_TOKENS:
        return db->tokens;
    case VAULT_TBL_FUNCTIONS:
        return db->functions;
    default:
        return 0;
    }
}

int vault_rec_keys_new(const uint8_t key[32], const uint8_t id[VAULT_VAULT_ID_LEN],
                       vault_rec_keys **out)
{
    vault_rec_keys *k = calloc(1, sizeof(*k));
    if (!k)
        return TV_ERR_NOMEM;
    if (!(k->base = sodium_malloc(sizeof(*k->base)))) {
        free(k);
        return TV_ERR_NOMEM;
    }
    crypto_generichash_init(k->base, key, 32, VAULT_RECORD_TAG);
    crypto_generichash_update(k->base, (const uint8_t *)REC_DOMAIN, sizeof(REC_DOMAIN));
    crypto_generichash_update(k->base, id, VAULT_VAULT_ID_LEN);
    memcpy(k->id, id, VAULT_VAULT_ID_LEN);
    k->serial = atomic_fetch_add(&g_serial, 1) + 1;
    atomic_store(&k->ref, 1);
    *out = k;
    return 0;
}

void vault_rec_keys_unref(vault_rec_keys *k)
{
    if (!k || atomic_fetch_sub(&k->ref, 1) != 1)
        return;
    sodium_free(k->base); /* wipes */
    sodium_memzero(k, sizeof(*k));
    free(k);
}

/* tag over (table, key, header, payload); `rec` is the stored value without its tag. */
static void rec_tag(const vault_rec_keys *k, enum vault_tbl t, const void *key, size_t klen,
                    const uint8_t *rec, size_t len, uint8_t tag[VAULT_RECORD_TAG])
{
    crypto_generichash_state st;
    const char *name = g_names[t];
    uint8_t nl = (uint8_t)strlen(name), kl[4];
    memcpy(&st, k->base, sizeof(st));
    crypto_generichash_update(&st, &nl, 1);
    crypto_generichash_update(&st, (const uint8_t *)name, nl);
    proto_put_be32(kl, (uint32_t)klen);
    crypto_generichash_update(&st, kl, 4);
    crypto_generichash_update(&st, key, klen);
    crypto_generichash_update(&st, rec, len);
    crypto_generichash_final(&st, tag, VAULT_RECORD_TAG);
    sodium_memzero(&st, sizeof(st));
}

static uint64_t sv_for_write(const vault_db *db)
{
    uint64_t p = atomic_load(&db->sv_pending);
    return p ? p : atomic_load(&db->sv_committed) + 1;
}

/* The newest state version a stored record may carry: the write txn's in
 * progress (records it wrote, or just committed before txn_done), else the
 * committed one. */
static uint64_t sv_limit(const vault_db *db)
{
    uint64_t p = atomic_load(&db->sv_pending), c = atomic_load(&db->sv_committed);
    return p > c ? p : c;
}

int vault_record_reserve(vault_db *db, MDB_txn *txn, enum vault_tbl t, const void *key, size_t klen,
                         size_t plen, unsigned flags, uint8_t **payload, MDB_val *stored)
{
    if (!db->rec)
        return TV_ERR_SEALED;
    if ((unsigned)t >= VAULT_TBL_COUNT || !key || klen == 0 || klen > 511 ||
        plen > SIZE_MAX - VAULT_RECORD_OVERHEAD || (flags & ~(unsigned)MDB_NOOVERWRITE))
        return TV_ERR_INVALID;
    MDB_val k = {.mv_size = klen, .mv_data = (void *)(uintptr_t)key};
    MDB_val d = {.mv_size = VAULT_RECORD_OVERHEAD + plen, .mv_data = NULL};
    int rc = mdb_put(txn, vault_record_dbi(db, t), &k, &d, flags | MDB_RESERVE);
    if (rc == MDB_KEYEXIST)
        return TV_ERR_EXISTS;
    if (rc)
        return vault_db_err(rc);
    uint8_t *p = d.mv_data;
    p[0] = VAULT_RECORD_FORMAT;
    proto_put_be64(p + 1, sv_for_write(db));
    *payload = p + VAULT_RECORD_HDR;
    *stored = d;
    return 0;
}

int vault_record_seal(vault_db *db, enum vault_tbl t, const void *key, size_t klen,
                      const MDB_val *stored)
{
    if (!db->rec)
        return TV_ERR_SEALED;
    if ((unsigned)t >= VAULT_TBL_COUNT || stored->mv_size < VAULT_RECORD_OVERHEAD)
        return TV_ERR_INVALID;
    uint8_t *p = stored->mv_data;
    size_t body = stored->mv_size - VAULT_RECORD_TAG;
    p[0] = VAULT_RECORD_FORMAT;
    proto_put_be64(p + 1, sv_for_write(db));
    rec_tag(db->rec, t, key, klen, p, body, p + body);
    return 0;
}

int vault_record_put(vault_db *db, MDB_txn *txn, enum vault_tbl t, const void *key, size_t klen,
                     const void *payload, size_t plen, unsigned flags)
{
    uint8_t *p = NULL;
    MDB_val stored;
    int r;
    if (plen && !payload)
        return TV_ERR_INVALID;
    if ((r = vault_record_reserve(db, txn, t, key, klen, plen, flags, &p, &stored)) < 0)
        return r;
    if (plen)
        memcpy(p, payload, plen);
    return vault_record_seal(db, t, key, klen, &stored);
}

void vault_record_log_bad(enum vault_tbl t, const void *key, size_t klen, const char *why)
{
    char q[96];
    vault_quote(q, sizeof(q), key, klen);
    vault_log(VAULT_LOG_WARN, "record_integrity", "table", g_names[t], "key", q, "reason", why,
              (const char *)NULL);
}

static int rec_verify(vault_db *db, enum vault_tbl t, const void *key, size_t klen,
                      const MDB_val *stored, MDB_val *payload, uint64_t *sv, int check_sv)
{
    uint8_t tag[VAULT_RECORD_TAG];
    const uint8_t *p = stored->mv_data;
    if (!db->rec)
        return TV_ERR_SEALED;
    if ((unsigned)t >= VAULT_TBL_COUNT)
        return TV_ERR_INVALID;
    if (stored->mv_size < VAULT_RECORD_OVERHEAD) {
        vault_record_log_bad(t, key, klen, "too short");
        return TV_ERR_INTEGRITY;
    }
    if (p[0] != VAULT_RECORD_FORMAT) {
        vault_record_log_bad(t, key, klen, "unknown record format (older store?)");
        return TV_ERR_INTEGRITY;
    }
    size_t body = stored->mv_size - VAULT_RECORD_TAG;
    rec_tag(db->rec, t, key, klen, p, body, tag);
    if (sodium_memcmp(tag, p + body, VAULT_RECORD_TAG) != 0) {
        vault_record_log_bad(t, key, klen, "authentication tag does not verify");
        return TV_ERR_INTEGRITY;
    }
    uint64_t v = proto_be64(p + 1);
    /* Written by a transaction this store never committed a counter for:
     * records and counter come from different states. */
    if (v == 0 || (check_sv && v > sv_limit(db))) {
        vault_record_log_bad(t, key, klen, "state version ahead of the store's");
        return TV_ERR_INTEGRITY;
    }
    payload->mv_data = (void *)(uintptr_t)(p + VAULT_RECORD_HDR);
    payload->mv_size = body - VAULT_RECORD_HDR;
    if (sv)
        *sv = v;
    return 0;
}

int vault_record_open(vault_db *db, enum vault_tbl t, const void *key, size_t klen,
                      const MDB_val *stored, MDB_val *payload, uint64_t *sv)
{
    return rec_verify(db, t, key, klen, stored, payload, sv, 1);
}

static int rec_get(vault_db *db, MDB_txn *txn, enum vault_tbl t, const void *key, size_t klen,
                   MDB_val *payload, uint64_t *sv, int check_sv)
{
    if (!db->rec)
        return TV_ERR_SEALED;
    if ((unsigned)t >= VAULT_TBL_COUNT || !key || klen == 0)
        return TV_ERR_INVALID;
    MDB_val k = {.mv_size = klen, .mv_data = (void *)(uintptr_t)key}, d;
    int r = vault_db_err(mdb_get(txn, vault_record_dbi(db, t), &k, &d));
    if (r < 0)
        return r;
    return rec_verify(db, t, key, klen, &d, payload, sv, check_sv);
}

int vault_record_get(vault_db *db, MDB_txn *txn, enum vault_tbl t, const void *key, size_t klen,
                     MDB_val *payload, uint64_t *sv)
{
    return rec_get(db, txn, t, key, klen, payload, sv, 1);
}

/* Meta keys stored before the root key is known (bound by AEAD ad instead). */
static int meta_unmacd(const MDB_val *k)
{
    static const char *const skip[] = {"rk.sealed", "rk.escrow", "vault.id", "format"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (k->mv_size == strlen(skip[i]) && memcmp(k->mv_data, skip[i], k->mv_size) == 0)
            return 1;
    return 0;
}

int vault_record_check_tables(vault_db *db, MDB_txn *txn, size_t per_table)
{
    int r = 0, rc;
    for (unsigned t = 0; t < VAULT_TBL_COUNT && r == 0; t++) {
        MDB_cursor *cur = NULL;
        MDB_val k, d, pl;
        size_t n = 0;
        if ((r = vault_db_err(mdb_cursor_open(txn, vault_record_dbi(db, t), &cur))) < 0)
            return r;
        for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && (!per_table || n < per_table);
             rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
            if (t == VAULT_TBL_META && meta_unmacd(&k))
                continue;
            if ((r = vault_record_open(db, t, k.mv_data, k.mv_size, &d, &pl, NULL)) < 0)
                break;
            n++;
        }
        if (r == 0 && rc != 0 && rc != MDB_NOTFOUND)
            r = vault_db_err(rc);
        mdb_cursor_close(cur);
    }
    return r;
}

uint64_t vault_record_keys_serial(const vault_db *db)
{
    const vault_rec_keys *k = db ? db->rec : NULL;
    return k ? k->serial : 0;
}

uint64_t vault_state_version(const vault_db *db)
{
    return db ? atomic_load(&db->sv_committed) : 0;
}

uint64_t vault_state_version_pending(const vault_db *db)
{
    return sv_for_write(db);
}

/* Read the stored counter and anchor in txn: 0 and *v, *anchor,
 * TV_ERR_NOT_FOUND, or an error. */
static int state_read(vault_db *db, MDB_txn *txn, uint64_t *v, uint64_t *anchor)
{
    MDB_val pl;
    uint64_t hdr = 0;
    int r = rec_get(db, txn, VAULT_TBL_META, VAULT_META_STATE, sizeof(VAULT_META_STATE) - 1, &pl,
                    &hdr, 0);
    if (r < 0)
        return r;
    if (pl.mv_size != 16 || proto_be64(pl.mv_data) != hdr ||
        proto_be64((const uint8_t *)pl.mv_data + 8) > hdr) {
        vault_record_log_bad(VAULT_TBL_META, VAULT_META_STATE, sizeof(VAULT_META_STATE) - 1,
                             "malformed");
        return TV_ERR_INTEGRITY;
    }
    *v = hdr;
    *anchor = proto_be64((const uint8_t *)pl.mv_data + 8);
    return 0;
}

void vault_record_anchor_mark(vault_db *db)
{
    db->anchor_marked = 1;
}

uint64_t vault_record_anchor(const vault_db *db)
{
    return db->anchor_committed;
}

void vault_record_detach(vault_db *db)
{
    vault_rec_keys *k = db->rec;
    db->rec = NULL;
    vault_rec_keys_unref(k);
    atomic_store(&db->sv_pending, 0);
    atomic_store(&db->sv_committed, 0);
    db->anchor_committed = 0;
}

int vault_record_attach(vault_db *db, vault_rec_keys *k, int *found, vault_rec_keys **prev)
{
    vault_rec_keys *old = db->rec;
    MDB_txn *txn = NULL;
    uint64_t v = 0, anchor = 0;
    int r, have = 0;
    if (!k) {
        db->rec = NULL;
        atomic_store(&db->sv_pending, 0);
        atomic_store(&db->sv_committed, 0);
        db->anchor_committed = 0;
        if (prev)
            *prev = old;
        else
            vault_rec_keys_unref(old);
        return 0;
    }
    if ((r = vault_db_rtxn(db, &txn)) < 0)
        return r;
    db->rec = k;
    r = state_read(db, txn, &v, &anchor);
    mdb_txn_abort(txn);
    if (r == TV_ERR_NOT_FOUND) {
        v = anchor = 0;
        r = 0;
    } else if (r == 0) {
        have = 1;
    }
    if (r < 0) {
        db->rec = old;
        return r;
    }
    atomic_fetch_add(&k->ref, 1);
    atomic_store(&db->sv_pending, 0);
    atomic_store(&db->sv_committed, v);
    db->anchor_committed = anchor;
    if (found)
        *found = have;
    if (prev)
        *prev = old; /* the db's reference moves to the caller */
    else
        vault_rec_keys_unref(old);
    return 0;
}

int vault_record_txn_begin(vault_db *db, MDB_txn *txn)
{
    uint64_t v = 0, anchor = 0, committed = atomic_load(&db->sv_committed);
    int r;
    db->sv_txn = NULL;
    db->anchor_marked = 0;
    atomic_store(&db->sv_pending, 0);
    if (!db->rec)
        return 0;
    if (db->txn_event)
        db->txn_event(db->txn_event_arg, VAULT_TXN_BEGIN);
    r = state_read(db, txn, &v, &anchor);
    if (r == TV_ERR_NOT_FOUND && committed == 0)
        v = 0; /* a store being initialised */
    else if (r == TV_ERR_NOT_FOUND) {
        vault_record_log_bad(VAULT_TBL_META, VAULT_META_STATE, sizeof(VAULT_META_STATE) - 1,
                             "missing");
        return TV_ERR_INTEGRITY;
    } else if (r < 0)
        return r;
    if (v < committed) {
        vault_record_log_bad(VAULT_TBL_META, VAULT_META_STATE, sizeof(VAULT_META_STATE) - 1,
                             "older than the state this process committed (rolled back)");
        return TV_ERR_INTEGRITY;
    }
    if (v == UINT64_MAX - 1)
        return TV_ERR_RESOURCE;
    db->sv_txn = txn;
    atomic_store(&db->sv_pending, v + 1);
    return 0;
}

int vault_record_txn_commit(vault_db *db, MDB_txn *txn)
{
    uint8_t b[16];
    int r;
    if (!db->rec || db->sv_txn != txn || atomic_load(&db->sv_pending) == 0)
        return 0;
    proto_put_be64(b, atomic_load(&db->sv_pending));
    proto_put_be64(b + 8, db->anchor_marked ? atomic_load(&db->sv_pending) : db->anchor_committed);
    if ((r = vault_record_put(db, txn, VAULT_TBL_META, VAULT_META_STATE,
                              sizeof(VAULT_META_STATE) - 1, b, sizeof(b), 0)) < 0)
        return r;
    return 0;
}

void vault_record_txn_done(vault_db *db, MDB_txn *txn, int committed)
{
    if (db->sv_txn != txn)
        return;
    db->sv_txn = NULL;
    if (committed) {
        if (db->anchor_marked)
            db->anchor_committed = atomic_load(&db->sv_pending);
        atomic_store(&db->sv_committed, atomic_load(&db->sv_pending));
        if (db->txn_event)
            db->txn_event(db->txn_event_arg, VAULT_TXN_COMMITTED);
    }
    db->anchor_marked = 0;
    atomic_store(&db->sv_pending, 0);
}
