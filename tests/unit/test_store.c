/* SPDX-License-Identifier: Apache-2.0 */
/* vault_store: every operation on a real LMDB file under the sim backend. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "tv_test.h"
#include "vault_db.h"
#include "vault_keyring.h"
#include "vault_record.h"
#include "vault_store.h"

typedef struct fx {
    char dir[256];
    seal_backend *seal;
    vault_db *db;
    vault_keyring *kr;
    vault_store *st;
} fx;

static int fx_open(fx *f, size_t map_size, const vault_store_opts *o)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/tv-test-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    seal_options so = {.backend = "sim", .state_dir = f->dir};
    if (seal_backend_open(&so, &f->seal) < 0 || vault_db_open(f->dir, map_size, &f->db) < 0 ||
        vault_keyring_init(f->db, f->seal, SEAL_POLICY_SIGNER, NULL, 0, NULL, NULL, &f->kr) < 0 ||
        vault_store_open(f->db, f->kr, o, &f->st) < 0)
        return -1;
    return 0;
}

static void fx_close(fx *f)
{
    char cmd[300];
    vault_store_free(f->st);
    vault_keyring_free(f->kr);
    vault_db_close(f->db);
    seal_backend_free(f->seal);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

static int put(fx *f, const char *name, const char *val, int64_t cas, uint64_t *ver)
{
    vault_put_opts o = {.cas = cas, .max_versions = 0};
    return vault_store_put(f->st, name, (const uint8_t *)val, strlen(val), &o, NULL, NULL, ver);
}

/* Get and compare: returns the get's error, or 1 when the value differs. */
static int get_is(fx *f, const char *name, uint64_t version, const char *want)
{
    uint8_t *v = NULL;
    size_t n = 0;
    int r = vault_store_get(f->st, name, version, &v, &n, NULL);
    if (r < 0)
        return r;
    int same = n == strlen(want) && memcmp(v, want, n) == 0;
    vault_store_free_value(v);
    return same ? 0 : 1;
}

static void test_put_get_versions(void)
{
    fx f = {0};
    uint64_t v = 0, got = 0;
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    CHECK_EQ_INT(put(&f, "app/db/password", "hunter2", VAULT_CAS_NONE, &v), 0);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(put(&f, "app/db/password", "hunter3", VAULT_CAS_NONE, &v), 0);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(get_is(&f, "app/db/password", 0, "hunter3"), 0);
    CHECK_EQ_INT(get_is(&f, "app/db/password", 1, "hunter2"), 0);
    CHECK_EQ_INT(get_is(&f, "app/db/password", 2, "hunter3"), 0);
    CHECK_EQ_INT(get_is(&f, "app/db/password", 3, "x"), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(get_is(&f, "app/db/nope", 0, "x"), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(get_is(&f, "bad//name", 0, "x"), TV_ERR_INVALID);

    /* Empty value. */
    CHECK_EQ_INT(put(&f, "empty", "", VAULT_CAS_NONE, &v), 0);
    CHECK_EQ_INT(get_is(&f, "empty", 0, ""), 0);
    CHECK_EQ_INT(vault_store_put(f.st, "empty", NULL, 0, NULL, NULL, NULL, &v), 0);
    CHECK_EQ_INT(get_is(&f, "empty", 0, ""), 0);
    CHECK_EQ_INT(vault_store_put(f.st, "empty", NULL, 1, NULL, NULL, NULL, &v), TV_ERR_INVALID);

    /* get_into: caller buffer, too-small buffer reports the size. */
    uint8_t buf[16];
    size_t n = 0;
    CHECK_EQ_INT(vault_store_get_into(f.st, "app/db/password", 0, buf, sizeof(buf), &n, &got), 0);
    CHECK(n == 7 && memcmp(buf, "hunter3", 7) == 0 && got == 2);
    CHECK_EQ_INT(vault_store_get_into(f.st, "app/db/password", 0, buf, 3, &n, &got),
                 TV_ERR_TOO_LARGE);
    CHECK_EQ_INT(n, 7);

    /* Length-delimited keys: "a/b"+"c" vs "a"+"b/c" style names do not mix. */
    CHECK_EQ_INT(put(&f, "a/b", "AB", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(put(&f, "a", "A", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "a/b", 0, "AB"), 0);
    CHECK_EQ_INT(get_is(&f, "a", 0, "A"), 0);

    /* Binary value with NULs and a value at the exact limit. */
    uint8_t bin[5] = {0, 1, 0, 2, 0};
    CHECK_EQ_INT(vault_store_put(f.st, "bin", bin, 5, NULL, NULL, NULL, &v), 0);
    uint8_t *out = NULL;
    CHECK_EQ_INT(vault_store_get(f.st, "bin", 0, &out, &n, &got), 0);
    CHECK(n == 5 && out && memcmp(out, bin, 5) == 0);
    vault_store_free_value(out);
    fx_close(&f);
}

static void test_value_limit(void)
{
    fx f = {0};
    vault_store_opts o = {.max_value_len = 1000};
    CHECK_EQ_INT(fx_open(&f, 0, &o), 0);
    uint8_t *big = calloc(1, 1001);
    CHECK_EQ_INT(vault_store_put(f.st, "x", big, 1000, NULL, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_store_put(f.st, "y", big, 1001, NULL, NULL, NULL, NULL), TV_ERR_TOO_LARGE);
    CHECK_EQ_INT(get_is(&f, "y", 0, ""), TV_ERR_NOT_FOUND);
    free(big);
    fx_close(&f);

    /* Default limit is 1 MiB. */
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    big = calloc(1, (1 << 20) + 1);
    CHECK_EQ_INT(vault_store_put(f.st, "m", big, 1 << 20, NULL, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_store_put(f.st, "m", big, (1 << 20) + 1, NULL, NULL, NULL, NULL),
                 TV_ERR_TOO_LARGE);
    uint8_t *out = NULL;
    size_t n = 0;
    CHECK_EQ_INT(vault_store_get(f.st, "m", 0, &out, &n, NULL), 0);
    CHECK_EQ_INT(n, 1 << 20);
    vault_store_free_value(out);
    free(big);
    fx_close(&f);
}

static void test_cas(void)
{
    fx f = {0};
    uint64_t v = 0;
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    CHECK_EQ_INT(vault_store_exists(f.st, "k"), 0);
    CHECK_EQ_INT(vault_store_exists(f.st, "k//"), TV_ERR_INVALID);
    CHECK_EQ_INT(put(&f, "k", "v1", 1, &v), TV_ERR_CAS); /* does not exist yet */
    CHECK_EQ_INT(put(&f, "k", "v1", 0, &v), 0);          /* must not exist: ok */
    CHECK_EQ_INT(vault_store_exists(f.st, "k"), 1);
    CHECK_EQ_INT(put(&f, "k", "again", 0, &v), TV_ERR_CAS);
    CHECK_EQ_INT(put(&f, "k", "v2", 1, &v), 0);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(put(&f, "k", "stale", 1, &v), TV_ERR_CAS); /* conflict */
    CHECK_EQ_INT(get_is(&f, "k", 0, "v2"), 0);
    vault_secret_info info;
    CHECK_EQ_INT(vault_store_describe(f.st, "k", &info), 0);
    CHECK_EQ_INT(info.current, 2);
    CHECK_EQ_INT(info.n_versions, 2);
    vault_secret_info_clear(&info);
    fx_close(&f);
}

static void test_max_versions_pruning(void)
{
    fx f = {0};
    vault_store_opts o = {.default_max_versions = 3};
    char val[16];
    CHECK_EQ_INT(fx_open(&f, 0, &o), 0);
    for (int i = 1; i <= 5; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        CHECK_EQ_INT(put(&f, "p", val, VAULT_CAS_NONE, NULL), 0);
    }
    CHECK_EQ_INT(get_is(&f, "p", 1, "v1"), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(get_is(&f, "p", 2, "v2"), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(get_is(&f, "p", 3, "v3"), 0);
    CHECK_EQ_INT(get_is(&f, "p", 5, "v5"), 0);
    /* The pruned records are gone from the versions DB too. */
    MDB_txn *txn;
    MDB_stat ms;
    CHECK_EQ_INT(vault_db_rtxn(f.db, &txn), 0);
    CHECK_EQ_INT(mdb_stat(txn, f.db->versions, &ms), 0);
    CHECK_EQ_INT(ms.ms_entries, 3);
    mdb_txn_abort(txn);

    /* Lowering max_versions on put prunes down to it. */
    vault_put_opts po = {.cas = VAULT_CAS_NONE, .max_versions = 1};
    CHECK_EQ_INT(vault_store_put(f.st, "p", (const uint8_t *)"v6", 2, &po, NULL, NULL, NULL), 0);
    vault_secret_info info;
    CHECK_EQ_INT(vault_store_describe(f.st, "p", &info), 0);
    CHECK_EQ_INT(info.n_versions, 1);
    CHECK_EQ_INT(info.max_versions, 1);
    CHECK_EQ_INT(info.current, 6);
    CHECK(info.n_versions == 1 && info.versions[0].version == 6);
    vault_secret_info_clear(&info);
    po.max_versions = VAULT_STORE_MAX_VERSIONS_LIMIT + 1;
    CHECK_EQ_INT(vault_store_put(f.st, "p", (const uint8_t *)"x", 1, &po, NULL, NULL, NULL),
                 TV_ERR_INVALID);
    fx_close(&f);
}

static void test_delete_undelete_destroy(void)
{
    fx f = {0};
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    CHECK_EQ_INT(put(&f, "s", "one", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(put(&f, "s", "two", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(put(&f, "s", "three", VAULT_CAS_NONE, NULL), 0);

    /* Delete latest: get falls back to the latest live version. */
    CHECK_EQ_INT(vault_store_delete(f.st, "s", NULL, 0, NULL, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "s", 3, "three"), TV_ERR_DELETED);
    CHECK_EQ_INT(get_is(&f, "s", 0, "two"), 0);
    uint64_t v1 = 1, v2 = 2, v3 = 3, v9 = 9;
    CHECK_EQ_INT(vault_store_delete(f.st, "s", &v1, 1, NULL, NULL), 0);
    CHECK_EQ_INT(vault_store_delete(f.st, "s", &v1, 1, NULL, NULL), 0); /* no-op */
    CHECK_EQ_INT(vault_store_delete(f.st, "s", &v9, 1, NULL, NULL), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(vault_store_delete(f.st, "nope", NULL, 0, NULL, NULL), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(get_is(&f, "s", 1, "one"), TV_ERR_DELETED);

    /* Undelete restores. */
    CHECK_EQ_INT(vault_store_undelete(f.st, "s", &v3, 1, NULL, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "s", 0, "three"), 0);
    CHECK_EQ_INT(vault_store_undelete(f.st, "s", NULL, 0, NULL, NULL), TV_ERR_INVALID);

    /* Destroy v2: gone for good; undelete cannot bring it back. */
    CHECK_EQ_INT(vault_store_destroy(f.st, "s", &v2, 1, NULL, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "s", 2, "two"), TV_ERR_DESTROYED);
    CHECK_EQ_INT(vault_store_undelete(f.st, "s", &v2, 1, NULL, NULL), TV_ERR_DESTROYED);
    CHECK_EQ_INT(vault_store_delete(f.st, "s", &v2, 1, NULL, NULL), 0); /* no-op */

    vault_secret_info info;
    CHECK_EQ_INT(vault_store_describe(f.st, "s", &info), 0);
    CHECK_EQ_INT(info.n_versions, 3);
    if (info.n_versions == 3) {
        CHECK(info.versions[0].deleted && !info.versions[0].destroyed);
        CHECK(info.versions[1].destroyed);
        CHECK(!info.versions[2].deleted && !info.versions[2].destroyed);
        CHECK(info.versions[2].created_ms > 0);
        CHECK(info.versions[1].changed_ms > 0);
    }
    vault_secret_info_clear(&info);
    CHECK_EQ_INT(vault_store_describe(f.st, "nope", &info), TV_ERR_NOT_FOUND);

    /* All deleted: latest says deleted; destroy all: latest says destroyed. */
    CHECK_EQ_INT(vault_store_delete(f.st, "s", &v3, 1, NULL, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "s", 0, ""), TV_ERR_DELETED);
    CHECK_EQ_INT(vault_store_delete(f.st, "s", NULL, 0, NULL, NULL), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(vault_store_destroy(f.st, "s", NULL, 0, NULL, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "s", 0, ""), TV_ERR_DESTROYED);
    CHECK_EQ_INT(get_is(&f, "s", 1, ""), TV_ERR_DESTROYED);
    /* Version numbers are never reused. */
    uint64_t nv = 0;
    CHECK_EQ_INT(put(&f, "s", "four", VAULT_CAS_NONE, &nv), 0);
    CHECK_EQ_INT(nv, 4);
    CHECK_EQ_INT(get_is(&f, "s", 0, "four"), 0);
    fx_close(&f);
}

/* Scan a file for a byte string. */
static int file_contains(const char *path, const uint8_t *needle, size_t nlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    size_t rd = fread(b, 1, (size_t)sz, fp);
    fclose(fp);
    int found = memmem(b, rd, needle, nlen) != NULL;
    free(b);
    return found;
}

static void test_destroy_unrecoverable(void)
{
    fx f = {0};
    uint8_t rec[256];
    size_t rec_len = 0;
    char path[300];
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    snprintf(path, sizeof(path), "%s/data.mdb", f.dir);
    CHECK_EQ_INT(put(&f, "shred/me", "to-be-destroyed", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(put(&f, "keep", "kept", VAULT_CAS_NONE, NULL), 0);
    /* Capture the stored record (wrapped DEK + ciphertext) as an attacker would. */
    MDB_txn *txn;
    uint8_t kb[64];
    size_t nl = strlen("shred/me");
    kb[0] = kb[1] = kb[2] = 0;
    kb[3] = (uint8_t)nl;
    memcpy(kb + 4, "shred/me", nl);
    memset(kb + 4 + nl, 0, 7);
    kb[4 + nl + 7] = 1;
    MDB_val k = {4 + nl + 8, kb}, d;
    uint8_t meta_rec[256];
    MDB_val mk = {nl, (void *)"shred/me"};
    size_t meta_len = 0;
    CHECK_EQ_INT(vault_db_rtxn(f.db, &txn), 0);
    CHECK_EQ_INT(mdb_get(txn, f.db->versions, &k, &d), 0);
    rec_len = d.mv_size < sizeof(rec) ? d.mv_size : sizeof(rec);
    memcpy(rec, d.mv_data, rec_len);
    CHECK_EQ_INT(mdb_get(txn, f.db->secrets, &mk, &d), 0);
    meta_len = d.mv_size < sizeof(meta_rec) ? d.mv_size : sizeof(meta_rec);
    memcpy(meta_rec, d.mv_data, meta_len);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(file_contains(path, rec + VAULT_RECORD_HDR + 6, 72),
                 1); /* wrap nonce + wrapped DEK on disk */

    CHECK_EQ_INT(vault_store_destroy(f.st, "shred/me", NULL, 0, NULL, NULL), 0);
    /* With the root key still loaded, the store cannot produce the value. */
    CHECK_EQ_INT(get_is(&f, "shred/me", 1, "to-be-destroyed"), TV_ERR_DESTROYED);
    CHECK_EQ_INT(get_is(&f, "shred/me", 0, "to-be-destroyed"), TV_ERR_DESTROYED);
    /* The record (wrapped DEK and ciphertext) is gone from the database. */
    CHECK_EQ_INT(vault_db_rtxn(f.db, &txn), 0);
    CHECK_EQ_INT(mdb_get(txn, f.db->versions, &k, &d), MDB_NOTFOUND);
    mdb_txn_abort(txn);
    /* Undelete cannot resurrect it, and re-opening with RK does not either. */
    uint64_t one = 1;
    CHECK_EQ_INT(vault_store_undelete(f.st, "shred/me", &one, 1, NULL, NULL), TV_ERR_DESTROYED);
    vault_keyring *kr2 = NULL;
    vault_store *st2 = NULL;
    CHECK_EQ_INT(vault_keyring_open(f.db, f.seal, &kr2), 0);
    CHECK_EQ_INT(vault_store_open(f.db, kr2, NULL, &st2), 0);
    uint8_t *out = NULL;
    size_t n = 0;
    CHECK_EQ_INT(vault_store_get(st2, "shred/me", 1, &out, &n, NULL), TV_ERR_DESTROYED);
    vault_store_free(st2);
    vault_keyring_free(kr2);
    /* After LMDB reuses the freed pages, the wrapped DEK is not in the file
     * at all (LMDB keeps freed pages until two later commits). */
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(put(&f, "keep", "kept-again", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(file_contains(path, rec + VAULT_RECORD_HDR + 6, 72), 0);
    CHECK_EQ_INT(get_is(&f, "keep", 0, "kept-again"), 0);

    /* The host puts the version record AND the metadata listing it as live
     * back: the record's tag is on the shred list, so it is refused, also
     * after a reopen. */
    MDB_val rv = {rec_len, rec}, mv = {meta_len, meta_rec};
    CHECK_EQ_INT(mdb_txn_begin(f.db->env, NULL, 0, &txn), 0);
    CHECK_EQ_INT(mdb_put(txn, f.db->versions, &k, &rv, 0), 0);
    CHECK_EQ_INT(mdb_put(txn, f.db->secrets, &mk, &mv, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    CHECK_EQ_INT(get_is(&f, "shred/me", 1, "to-be-destroyed"), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(vault_keyring_open(f.db, f.seal, &kr2), 0);
    CHECK_EQ_INT(vault_store_open(f.db, kr2, NULL, &st2), 0);
    CHECK_EQ_INT(vault_store_get(st2, "shred/me", 1, &out, &n, NULL), TV_ERR_INTEGRITY);
    vault_store_free(st2);
    vault_keyring_free(kr2);
    /* A rotation removes the record put back (never re-wraps it), and once
     * it is done (retire) the old KEK is erased: the record put back again
     * cannot be decrypted at all. */
    CHECK_EQ_INT(vault_keyring_rotate(f.kr, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_store_rewrap_all(f.st, NULL), 0);
    CHECK_EQ_INT(vault_db_rtxn(f.db, &txn), 0);
    CHECK_EQ_INT(mdb_get(txn, f.db->versions, &k, &d), MDB_NOTFOUND);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(vault_keyring_retire(f.kr, NULL, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_keyring_shred_count(f.kr), 0);
    CHECK_EQ_INT(mdb_txn_begin(f.db->env, NULL, 0, &txn), 0);
    CHECK_EQ_INT(mdb_put(txn, f.db->versions, &k, &rv, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    CHECK_EQ_INT(get_is(&f, "shred/me", 1, "to-be-destroyed"), TV_ERR_INTEGRITY);
    uint8_t kek[32];
    CHECK_EQ_INT(vault_keyring_kek(f.kr, 1, kek), TV_ERR_INVALID);
    CHECK_EQ_INT(get_is(&f, "keep", 0, "kept-again"), 0);
    fx_close(&f);
}

static uint8_t *expected_value(int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "value-of-secret-%d", i);
    return (uint8_t *)buf;
}

static void test_kek_rotation(void)
{
    fx f = {0};
    char name[32], val[64];
    uint64_t n = 0;
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    for (int i = 0; i < 300; i++) { /* more than one re-wrap batch */
        snprintf(name, sizeof(name), "rot/%03d", i);
        CHECK_EQ_INT(
            put(&f, name, (char *)expected_value(i, val, sizeof(val)), VAULT_CAS_NONE, NULL), 0);
    }
    CHECK_EQ_INT(put(&f, "rot/000", "second", VAULT_CAS_NONE, NULL), 0);
    vault_secret_info i1;
    CHECK_EQ_INT(vault_store_describe(f.st, "rot/000", &i1), 0);
    CHECK(i1.n_versions == 2 && i1.versions[0].kek_epoch == 1);
    vault_secret_info_clear(&i1);
    CHECK_EQ_INT(vault_keyring_rotate(f.kr, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_keyring_epoch(f.kr), 2);
    /* Before re-wrap: old versions still readable (old epoch KEK derivable). */
    CHECK_EQ_INT(get_is(&f, "rot/000", 1, "value-of-secret-0"), 0);
    /* A version written after rotation uses epoch 2. */
    CHECK_EQ_INT(put(&f, "rot/new", "after", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(vault_store_rewrap_all(f.st, &n), 0);
    CHECK_EQ_INT(n, 301);
    CHECK_EQ_INT(vault_store_rewrap_all(f.st, &n), 0);
    CHECK_EQ_INT(n, 0);
    /* Every version readable; every record now under epoch 2. */
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "rot/%03d", i);
        if (get_is(&f, name, 1, (char *)expected_value(i, val, sizeof(val))) != 0)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(get_is(&f, "rot/000", 2, "second"), 0);
    vault_secret_info info;
    CHECK_EQ_INT(vault_store_describe(f.st, "rot/000", &info), 0);
    CHECK(info.n_versions == 2 && info.versions[0].kek_epoch == 2 &&
          info.versions[1].kek_epoch == 2);
    vault_secret_info_clear(&info);
    CHECK_EQ_INT(get_is(&f, "rot/new", 0, "after"), 0);
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, d;
    int old = 0, total = 0;
    CHECK_EQ_INT(vault_db_rtxn(f.db, &txn), 0);
    CHECK_EQ_INT(mdb_cursor_open(txn, f.db->versions, &cur), 0);
    while (mdb_cursor_get(cur, &k, &d, total ? MDB_NEXT : MDB_FIRST) == 0) {
        const uint8_t *p = d.mv_data;
        total++;
        p += VAULT_RECORD_HDR; /* the store's version record is the codec's payload */
        if (p[2] || p[3] || p[4] || p[5] != 2)
            old++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(total, 302);
    CHECK_EQ_INT(old, 0);
    /* Rotate twice more without re-wrap: still readable. */
    CHECK_EQ_INT(vault_keyring_rotate(f.kr, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_keyring_rotate(f.kr, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "rot/299", 0, "value-of-secret-299"), 0);
    fx_close(&f);
}

static void test_list(void)
{
    fx f = {0};
    vault_list l = {0};
    char name[64];
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "team/a/%02d", i);
        CHECK_EQ_INT(put(&f, name, "x", VAULT_CAS_NONE, NULL), 0);
    }
    CHECK_EQ_INT(put(&f, "team/b", "x", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(put(&f, "team/b", "y", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(put(&f, "teamx", "x", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(put(&f, "other", "x", VAULT_CAS_NONE, NULL), 0);

    /* Paginate team/a/ 10 at a time. */
    int pages = 0, total = 0, ordered = 1;
    char *cursor = NULL;
    char prev[64] = "";
    do {
        CHECK_EQ_INT(vault_store_list(f.st, "team/a/", cursor, 10, &l), 0);
        free(cursor);
        cursor = l.next_cursor ? strdup(l.next_cursor) : NULL;
        for (size_t i = 0; i < l.n; i++) {
            if (strcmp(prev, l.names[i]) >= 0)
                ordered = 0;
            snprintf(prev, sizeof(prev), "%s", l.names[i]);
            CHECK(strncmp(l.names[i], "team/a/", 7) == 0);
        }
        total += (int)l.n;
        pages++;
        vault_list_clear(&l);
    } while (cursor && pages < 10);
    CHECK_EQ_INT(total, 25);
    CHECK_EQ_INT(pages, 3);
    CHECK(ordered);

    CHECK_EQ_INT(vault_store_list(f.st, "team/", NULL, 0, &l), 0);
    CHECK_EQ_INT(l.n, 26);
    CHECK(l.next_cursor == NULL);
    CHECK(l.n == 26 && strcmp(l.names[25], "team/b") == 0 && l.current[25] == 2);
    vault_list_clear(&l);
    CHECK_EQ_INT(vault_store_list(f.st, "team", NULL, 0, &l), 0);
    CHECK_EQ_INT(l.n, 27);
    vault_list_clear(&l);
    CHECK_EQ_INT(vault_store_list(f.st, "", NULL, 0, &l), 0);
    CHECK_EQ_INT(l.n, 28);
    vault_list_clear(&l);
    CHECK_EQ_INT(vault_store_list(f.st, "zzz", NULL, 0, &l), 0);
    CHECK_EQ_INT(l.n, 0);
    vault_list_clear(&l);
    /* Exactly `limit` items: no cursor. */
    CHECK_EQ_INT(vault_store_list(f.st, "team/a/", NULL, 25, &l), 0);
    CHECK(l.n == 25 && l.next_cursor == NULL);
    vault_list_clear(&l);

    /* Bad prefix and bad cursors. */
    CHECK_EQ_INT(vault_store_list(f.st, "team//", NULL, 0, &l), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_store_list(f.st, "../", NULL, 0, &l), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_store_list(f.st, "team/", "garbage", 0, &l), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_store_list(f.st, "team/", "c1.zz", 0, &l), TV_ERR_INVALID);
    /* A cursor from another prefix. */
    CHECK_EQ_INT(vault_store_list(f.st, "team/", "c1.6f74686572", 0, &l), TV_ERR_INVALID);
    fx_close(&f);
}

static int g_hook_calls;
static int hook_ret;
static int test_hook(void *arg, MDB_txn *txn)
{
    vault_db *db = arg;
    g_hook_calls++;
    /* The hook writes in the same transaction (as the audit writer does). */
    MDB_val k = {10, (void *)"hook-count"}, d = {sizeof(g_hook_calls), &g_hook_calls};
    int rc = mdb_put(txn, db->meta, &k, &d, 0);
    if (rc)
        return TV_ERR_IO;
    return hook_ret;
}

static void test_hooks(void)
{
    fx f = {0};
    uint64_t one = 1;
    CHECK_EQ_INT(fx_open(&f, 0, NULL), 0);
    hook_ret = 0;
    CHECK_EQ_INT(vault_store_put(f.st, "h", (const uint8_t *)"v", 1, NULL, test_hook, f.db, NULL),
                 0);
    CHECK_EQ_INT(g_hook_calls, 1);
    /* A failing hook aborts the write: nothing stored, not even the hook's own write. */
    hook_ret = TV_ERR_AUDIT;
    CHECK_EQ_INT(vault_store_put(f.st, "h", (const uint8_t *)"w", 1, NULL, test_hook, f.db, NULL),
                 TV_ERR_AUDIT);
    CHECK_EQ_INT(vault_store_put(f.st, "h2", (const uint8_t *)"w", 1, NULL, test_hook, f.db, NULL),
                 TV_ERR_AUDIT);
    CHECK_EQ_INT(get_is(&f, "h", 0, "v"), 0);
    CHECK_EQ_INT(get_is(&f, "h2", 0, "w"), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(vault_store_delete(f.st, "h", NULL, 0, test_hook, f.db), TV_ERR_AUDIT);
    CHECK_EQ_INT(vault_store_destroy(f.st, "h", NULL, 0, test_hook, f.db), TV_ERR_AUDIT);
    CHECK_EQ_INT(get_is(&f, "h", 0, "v"), 0);
    hook_ret = 0;
    CHECK_EQ_INT(vault_store_delete(f.st, "h", NULL, 0, test_hook, f.db), 0);
    CHECK_EQ_INT(vault_store_undelete(f.st, "h", &one, 1, test_hook, f.db), 0);
    CHECK_EQ_INT(get_is(&f, "h", 0, "v"), 0);
    MDB_txn *txn;
    MDB_val k = {10, (void *)"hook-count"}, d;
    int stored = 0;
    CHECK_EQ_INT(vault_db_rtxn(f.db, &txn), 0);
    CHECK_EQ_INT(mdb_get(txn, f.db->meta, &k, &d), 0);
    memcpy(&stored, d.mv_data, sizeof(stored));
    mdb_txn_abort(txn);
    CHECK_EQ_INT(stored, g_hook_calls); /* the last committed hook write */
    fx_close(&f);
}

static void test_storage_full(void)
{
    fx f = {0};
    uint8_t *val = malloc(20000);
    char name[32];
    int i, r = 0, stored = 0;
    randombytes_buf(val, 20000);
    CHECK_EQ_INT(fx_open(&f, 256 * 1024, NULL), 0);
    CHECK_EQ_INT(put(&f, "first", "keep me", VAULT_CAS_NONE, NULL), 0);
    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "fill/%03d", i);
        r = vault_store_put(f.st, name, val, 20000, NULL, NULL, NULL, NULL);
        if (r < 0)
            break;
        stored++;
    }
    CHECK_EQ_INT(r, TV_ERR_STORAGE_FULL);
    CHECK(stored > 3);
    /* Nothing of the failed write is visible; earlier data intact. */
    CHECK_EQ_INT(get_is(&f, name, 0, ""), TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(get_is(&f, "first", 0, "keep me"), 0);
    int bad = 0;
    for (int j = 0; j < stored; j++) {
        uint8_t *out = NULL;
        size_t n = 0;
        snprintf(name, sizeof(name), "fill/%03d", j);
        if (vault_store_get(f.st, name, 0, &out, &n, NULL) != 0 || n != 20000 ||
            memcmp(out, val, n) != 0)
            bad++;
        vault_store_free_value(out);
    }
    CHECK_EQ_INT(bad, 0);
    vault_list l;
    CHECK_EQ_INT(vault_store_list(f.st, "fill/", NULL, 0, &l), 0);
    CHECK_EQ_INT(l.n, stored);
    vault_list_clear(&l);
    uint64_t used = 0, map = 0;
    CHECK_EQ_INT(vault_db_usage(f.db, &used, &map), 0);
    CHECK(map >= 256 * 1024 && used <= map && used > 100000);
    /* Freeing space (destroy) makes room again. */
    CHECK_EQ_INT(vault_store_destroy(f.st, "fill/000", NULL, 0, NULL, NULL), 0);
    CHECK_EQ_INT(vault_store_destroy(f.st, "fill/001", NULL, 0, NULL, NULL), 0);
    CHECK_EQ_INT(put(&f, "small", "fits", VAULT_CAS_NONE, NULL), 0);
    CHECK_EQ_INT(get_is(&f, "small", 0, "fits"), 0);
    /* Re-open the environment: the file is consistent. */
    vault_store_free(f.st);
    vault_keyring_free(f.kr);
    vault_db_close(f.db);
    f.st = NULL;
    f.kr = NULL;
    CHECK_EQ_INT(vault_db_open(f.dir, 256 * 1024, &f.db), 0);
    CHECK_EQ_INT(vault_keyring_open(f.db, f.seal, &f.kr), 0);
    CHECK_EQ_INT(vault_store_open(f.db, f.kr, NULL, &f.st), 0);
    CHECK_EQ_INT(get_is(&f, "first", 0, "keep me"), 0);
    free(val);
    fx_close(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_put_get_versions);
    RUN(test_value_limit);
    RUN(test_cas);
    RUN(test_max_versions_pruning);
    RUN(test_delete_undelete_destroy);
    RUN(test_destroy_unrecoverable);
    RUN(test_kek_rotation);
    RUN(test_list);
    RUN(test_hooks);
    RUN(test_storage_full);
    return tv_test_finish();
}
