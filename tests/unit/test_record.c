/* SPDX-License-Identifier: Apache-2.0 */
/* vault_record: the record codec, its bindings and the state version; the
 * keyring's vault id and store-format refusal. Real LMDB files. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "tv_test.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_record.h"

static char g_dir[256];

static vault_rec_keys *mk_keys(uint8_t kb, uint8_t ib)
{
    uint8_t k[32], id[VAULT_VAULT_ID_LEN];
    vault_rec_keys *out = NULL;
    memset(k, kb, sizeof(k));
    memset(id, ib, sizeof(id));
    CHECK_EQ_INT(vault_rec_keys_new(k, id, &out), 0);
    return out;
}

static vault_db *fresh_db(void)
{
    vault_db *db = NULL;
    snprintf(g_dir, sizeof(g_dir), "/tmp/tv-test-record-XXXXXX");
    if (!mkdtemp(g_dir))
        return NULL;
    CHECK_EQ_INT(vault_db_open(g_dir, 1 << 20, &db), 0);
    return db;
}

static void rm_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

/* Overwrite the raw stored value under key in dbi (the attacker's edit). */
static void raw_put(vault_db *db, MDB_dbi dbi, const char *key, const void *val, size_t len)
{
    MDB_txn *t = NULL;
    MDB_val k = {strlen(key), (void *)(uintptr_t)key}, d = {len, (void *)(uintptr_t)val};
    CHECK_EQ_INT(mdb_txn_begin(db->env, NULL, 0, &t), 0);
    CHECK_EQ_INT(mdb_put(t, dbi, &k, &d, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(t), 0);
}

static int raw_get(vault_db *db, MDB_dbi dbi, const char *key, uint8_t *out, size_t cap,
                   size_t *len)
{
    MDB_txn *t = NULL;
    MDB_val k = {strlen(key), (void *)(uintptr_t)key}, d;
    int rc;
    if (mdb_txn_begin(db->env, NULL, MDB_RDONLY, &t) != 0)
        return -1;
    rc = mdb_get(t, dbi, &k, &d);
    if (rc == 0 && d.mv_size <= cap) {
        memcpy(out, d.mv_data, d.mv_size);
        *len = d.mv_size;
    }
    mdb_txn_abort(t);
    return rc == 0 && *len <= cap ? 0 : -1;
}

static int put1(vault_db *db, enum vault_tbl t, const char *key, const char *payload)
{
    MDB_txn *txn = NULL;
    int r = vault_db_wtxn(db, &txn);
    if (r < 0)
        return r;
    if ((r = vault_record_put(db, txn, t, key, strlen(key), payload, strlen(payload), 0)) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    return vault_db_commit(txn);
}

static int get1(vault_db *db, enum vault_tbl t, const char *key, char *out, size_t cap,
                uint64_t *sv)
{
    MDB_txn *txn = NULL;
    MDB_val pl;
    int r = vault_db_rtxn(db, &txn);
    if (r < 0)
        return r;
    r = vault_record_get(db, txn, t, key, strlen(key), &pl, sv);
    if (r == 0) {
        size_t n = pl.mv_size < cap - 1 ? pl.mv_size : cap - 1;
        memcpy(out, pl.mv_data, n);
        out[n] = '\0';
    }
    mdb_txn_abort(txn);
    return r;
}

static void test_roundtrip_and_state_version(void)
{
    vault_db *db = fresh_db();
    vault_rec_keys *k = mk_keys(1, 2);
    char buf[64];
    uint64_t sv = 0;
    int found = -1;
    if (!db || !k)
        return;
    /* Sealed: no keys, no records. */
    CHECK_EQ_INT(put1(db, VAULT_TBL_TOKENS, "t1", "x"), TV_ERR_SEALED);
    CHECK_EQ_INT(vault_record_attach(db, k, &found, NULL), 0);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(vault_state_version(db), 0);
    CHECK_EQ_INT(put1(db, VAULT_TBL_TOKENS, "t1", "hello"), 0);
    CHECK_EQ_INT(vault_state_version(db), 1);
    CHECK_EQ_INT(put1(db, VAULT_TBL_USERS, "alice", "world"), 0);
    CHECK_EQ_INT(vault_state_version(db), 2);
    CHECK_EQ_INT(get1(db, VAULT_TBL_TOKENS, "t1", buf, sizeof(buf), &sv), 0);
    CHECK(strcmp(buf, "hello") == 0);
    CHECK_EQ_INT(sv, 1);
    CHECK_EQ_INT(get1(db, VAULT_TBL_USERS, "alice", buf, sizeof(buf), &sv), 0);
    CHECK_EQ_INT(sv, 2);
    CHECK_EQ_INT(get1(db, VAULT_TBL_USERS, "bob", buf, sizeof(buf), NULL), TV_ERR_NOT_FOUND);

    /* An aborted write txn does not move the counter. */
    MDB_txn *txn = NULL;
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_state_version_pending(db), 3);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(vault_state_version(db), 2);

    /* Re-attach (a restart): the counter is read back and verified. */
    vault_record_detach(db);
    CHECK_EQ_INT(vault_state_version(db), 0);
    CHECK_EQ_INT(vault_record_attach(db, k, &found, NULL), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(vault_state_version(db), 2);

    /* Other keys (another vault): every record, the counter too, is refused. */
    vault_rec_keys *other = mk_keys(1, 3); /* same key, other vault id */
    CHECK_EQ_INT(vault_record_attach(db, other, NULL, NULL), TV_ERR_INTEGRITY);
    CHECK(db->rec == k); /* unchanged on error */
    vault_record_detach(db);
    vault_rec_keys *other2 = mk_keys(9, 2); /* other key, same id */
    CHECK_EQ_INT(vault_record_attach(db, other2, NULL, NULL), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(vault_record_attach(db, k, NULL, NULL), 0);
    vault_rec_keys_unref(other);
    vault_rec_keys_unref(other2);
    vault_record_detach(db);
    vault_db_close(db);
    vault_rec_keys_unref(k);
    rm_dir();
}

static void test_tamper(void)
{
    vault_db *db = fresh_db();
    vault_rec_keys *k = mk_keys(5, 6);
    uint8_t v[256], v2[256];
    size_t n = 0, n2 = 0;
    char buf[64];
    if (!db || !k)
        return;
    CHECK_EQ_INT(vault_record_attach(db, k, NULL, NULL), 0);
    CHECK_EQ_INT(put1(db, VAULT_TBL_POLICIES, "p1", "path \"a\" { capabilities = [\"read\"] }"), 0);
    CHECK_EQ_INT(put1(db, VAULT_TBL_POLICIES, "p2", "other"), 0);
    CHECK_EQ_INT(raw_get(db, db->policies, "p1", v, sizeof(v), &n), 0);
    CHECK_EQ_INT(raw_get(db, db->policies, "p2", v2, sizeof(v2), &n2), 0);

    /* Every byte flipped, one at a time: never accepted. */
    for (size_t i = 0; i < n; i++) {
        v[i] ^= 0x01;
        raw_put(db, db->policies, "p1", v, n);
        CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p1", buf, sizeof(buf), NULL), TV_ERR_INTEGRITY);
        v[i] ^= 0x01;
    }
    raw_put(db, db->policies, "p1", v, n);
    CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p1", buf, sizeof(buf), NULL), 0);
    /* Truncated, empty, and the old unauthenticated format (format byte 1). */
    raw_put(db, db->policies, "p1", v, n - 1);
    CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p1", buf, sizeof(buf), NULL), TV_ERR_INTEGRITY);
    raw_put(db, db->policies, "p1", "", 0);
    CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p1", buf, sizeof(buf), NULL), TV_ERR_INTEGRITY);
    raw_put(db, db->policies, "p1", "\x01\0\0\0\0\0\0\0\0path \"**\" {}", 22);
    CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p1", buf, sizeof(buf), NULL), TV_ERR_INTEGRITY);
    /* Moved: p2's valid record under p1's key, or into another table. */
    raw_put(db, db->policies, "p1", v2, n2);
    CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p1", buf, sizeof(buf), NULL), TV_ERR_INTEGRITY);
    raw_put(db, db->users, "p2", v2, n2);
    CHECK_EQ_INT(get1(db, VAULT_TBL_USERS, "p2", buf, sizeof(buf), NULL), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p2", buf, sizeof(buf), NULL), 0);

    /* The counter rolled back to an older valid copy while running: the next
     * write transaction is refused, nothing is written. */
    uint8_t s1[64];
    size_t sn = 0;
    CHECK_EQ_INT(raw_get(db, db->meta, VAULT_META_STATE, s1, sizeof(s1), &sn), 0);
    CHECK_EQ_INT(put1(db, VAULT_TBL_POLICIES, "p3", "x"), 0);
    raw_put(db, db->meta, VAULT_META_STATE, s1, sn);
    MDB_txn *txn = NULL;
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), TV_ERR_INTEGRITY);
    /* ... and a record written after that counter is ahead of it at the next start. */
    vault_record_detach(db);
    CHECK_EQ_INT(vault_record_attach(db, k, NULL, NULL), 0);
    CHECK_EQ_INT(get1(db, VAULT_TBL_POLICIES, "p3", buf, sizeof(buf), NULL), TV_ERR_INTEGRITY);
    /* Counter deleted: refused. */
    {
        MDB_txn *t = NULL;
        MDB_val key = {sizeof(VAULT_META_STATE) - 1, (void *)(uintptr_t)VAULT_META_STATE};
        CHECK_EQ_INT(mdb_txn_begin(db->env, NULL, 0, &t), 0);
        CHECK_EQ_INT(mdb_del(t, db->meta, &key, NULL), 0);
        CHECK_EQ_INT(mdb_txn_commit(t), 0);
    }
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), TV_ERR_INTEGRITY);
    vault_record_detach(db);
    vault_db_close(db);
    vault_rec_keys_unref(k);
    rm_dir();
}

static void test_check_tables(void)
{
    vault_db *db = fresh_db();
    vault_rec_keys *k = mk_keys(7, 7);
    MDB_txn *txn = NULL;
    if (!db || !k)
        return;
    CHECK_EQ_INT(vault_record_attach(db, k, NULL, NULL), 0);
    CHECK_EQ_INT(put1(db, VAULT_TBL_FUNCTIONS, "fn", "x"), 0);
    CHECK_EQ_INT(put1(db, VAULT_TBL_TOKENS, "0123456789abcdef", "y"), 0);
    CHECK_EQ_INT(vault_db_rtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_record_check_tables(db, txn, 0), 0);
    mdb_txn_abort(txn);
    raw_put(db, db->tokens, "fedcba9876543210", "\x02garbage-garbage-garbage-garbage-garbage-x",
            42);
    CHECK_EQ_INT(vault_db_rtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_record_check_tables(db, txn, 0), TV_ERR_INTEGRITY);
    mdb_txn_abort(txn);
    vault_record_detach(db);
    vault_db_close(db);
    vault_rec_keys_unref(k);
    rm_dir();
}

static seal_backend *open_sim(void)
{
    seal_options o = {.backend = "sim", .state_dir = g_dir, .sim_svn = 1};
    seal_backend *b = NULL;
    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    return b;
}

/* The keyring binds the vault id and refuses another store format. */
static void test_keyring_binding(void)
{
    vault_db *db = fresh_db();
    seal_backend *b = db ? open_sim() : NULL;
    vault_keyring *kr = NULL, *kr2 = NULL;
    uint8_t id[VAULT_VAULT_ID_LEN], idv[64], fmt1 = 1, blob[512];
    size_t n = 0, bn = 0;
    if (!db || !b)
        return;
    CHECK_EQ_INT(vault_keyring_init(db, b, SEAL_POLICY_SIGNER, "pw", 2, NULL, NULL, &kr), 0);
    if (!kr)
        return;
    memcpy(id, vault_keyring_vault_id(kr), sizeof(id));
    CHECK_EQ_INT(raw_get(db, db->meta, "vault.id", idv, sizeof(idv), &n), 0);
    CHECK(n == VAULT_VAULT_ID_LEN && memcmp(idv, id, n) == 0);
    CHECK(vault_state_version(db) >= 1);
    vault_keyring_free(kr);
    CHECK(db->rec != NULL); /* the db keeps its reference until detached */
    vault_record_detach(db);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    CHECK(kr2 && memcmp(vault_keyring_vault_id(kr2), id, sizeof(id)) == 0);
    vault_keyring_free(kr2);
    kr2 = NULL;

    /* A different stored vault id: the sealed blob's ad no longer matches. */
    idv[0] ^= 1;
    raw_put(db, db->meta, "vault.id", idv, VAULT_VAULT_ID_LEN);
    CHECK(vault_keyring_open(db, b, &kr2) < 0);
    CHECK(kr2 == NULL);
    idv[0] ^= 1;
    raw_put(db, db->meta, "vault.id", idv, VAULT_VAULT_ID_LEN);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    vault_keyring_free(kr2);
    kr2 = NULL;

    /* The keyring replaced by a raw (old format) record: integrity. */
    CHECK_EQ_INT(raw_get(db, db->meta, "keyring", blob, sizeof(blob), &bn), 0);
    raw_put(db, db->meta, "keyring", "\x01\0\0\0\x07", 5);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), TV_ERR_INTEGRITY);
    raw_put(db, db->meta, "keyring", blob, bn);

    /* An older store (format 1, or no mark): refused with TV_ERR_FORMAT. */
    raw_put(db, db->meta, "format", &fmt1, 1);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), TV_ERR_FORMAT);
    CHECK_EQ_INT(vault_keyring_recover(db, b, SEAL_POLICY_SIGNER, "pw", 2, NULL, NULL, &kr2),
                 TV_ERR_FORMAT);
    fmt1 = VAULT_STORE_FORMAT;
    raw_put(db, db->meta, "format", &fmt1, 1);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    vault_keyring_free(kr2);
    seal_backend_free(b);
    vault_db_close(db);
    rm_dir();
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_roundtrip_and_state_version);
    RUN(test_tamper);
    RUN(test_check_tables);
    RUN(test_keyring_binding);
    return tv_test_finish();
}
