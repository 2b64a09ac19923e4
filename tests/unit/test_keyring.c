/* SPDX-License-Identifier: Apache-2.0 */
/* vault_keyring: root key sealing, KEK epochs, derivation, recovery escrow. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "seal_kdf.h"
#include "tv_test.h"
#include "vault_db.h"
#include "vault_keyring.h"

static char g_dir[256];

static seal_backend *open_sim(const char *signer, uint16_t svn)
{
    seal_options o = {.backend = "sim", .state_dir = g_dir, .sim_signer = signer, .sim_svn = svn};
    seal_backend *b = NULL;
    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    return b;
}

static int hook_calls;
static int hook_fail(void *arg, MDB_txn *txn)
{
    (void)txn;
    hook_calls++;
    return *(int *)arg;
}

static void test_hkdf_rfc5869(void)
{
    /* RFC 5869 test case 1. */
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    static const char *want = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                              "34007208d5b887185865";
    char hex[100];
    CHECK_EQ_INT(seal_hkdf(salt, 13, ikm, 22, info, 10, okm, 42), 0);
    sodium_bin2hex(hex, sizeof(hex), okm, 42);
    CHECK(strcmp(hex, want) == 0);
}

static void test_init_open_derive_rotate(void)
{
    vault_db *db = NULL;
    seal_backend *b = open_sim(NULL, 1);
    vault_keyring *kr = NULL, *kr2 = NULL;
    uint8_t k1[32], k2[32], a1[32], a2[32];
    CHECK_EQ_INT(vault_db_open(g_dir, 1 << 20, &db), 0);
    CHECK_EQ_INT(vault_keyring_exists(db), 0);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr), TV_ERR_NOT_INITIALISED);

    /* A failing hook aborts init: nothing stored. */
    int fail = TV_ERR_AUDIT;
    CHECK_EQ_INT(vault_keyring_init(db, b, SEAL_POLICY_SIGNER, NULL, 0, hook_fail, &fail, &kr),
                 TV_ERR_AUDIT);
    CHECK_EQ_INT(vault_keyring_exists(db), 0);

    int ok = 0;
    hook_calls = 0;
    CHECK_EQ_INT(vault_keyring_init(db, b, SEAL_POLICY_SIGNER, NULL, 0, hook_fail, &ok, &kr), 0);
    CHECK_EQ_INT(hook_calls, 1);
    CHECK_EQ_INT(vault_keyring_exists(db), 1);
    CHECK_EQ_INT(vault_keyring_epoch(kr), 1);
    CHECK_EQ_INT(vault_keyring_init(db, b, SEAL_POLICY_SIGNER, NULL, 0, NULL, NULL, &kr2),
                 TV_ERR_EXISTS);

    CHECK_EQ_INT(vault_keyring_kek(kr, 1, k1), 0);
    CHECK_EQ_INT(vault_keyring_kek(kr, 0, k2), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_keyring_kek(kr, 2, k2), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_keyring_derive(kr, "teevault/audit", a1), 0);
    CHECK_EQ_INT(vault_keyring_derive(kr, "teevault/token-mac", a2), 0);
    CHECK(memcmp(a1, a2, 32) != 0);
    CHECK(memcmp(a1, k1, 32) != 0);
    CHECK_EQ_INT(vault_keyring_derive(kr, "", a2), TV_ERR_INVALID);

    uint32_t e = 0;
    CHECK_EQ_INT(vault_keyring_rotate(kr, NULL, NULL, &e), 0);
    CHECK_EQ_INT(e, 2);
    CHECK_EQ_INT(vault_keyring_epoch(kr), 2);
    CHECK_EQ_INT(vault_keyring_kek(kr, 2, k2), 0);
    CHECK(memcmp(k1, k2, 32) != 0);
    /* A failing hook leaves the epoch alone. */
    CHECK_EQ_INT(vault_keyring_rotate(kr, hook_fail, &fail, &e), TV_ERR_AUDIT);
    CHECK_EQ_INT(vault_keyring_epoch(kr), 2);

    /* Re-open (auto-unseal): same keys, same epoch. */
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    if (kr2) {
        uint8_t x[32];
        CHECK_EQ_INT(vault_keyring_epoch(kr2), 2);
        CHECK_EQ_INT(vault_keyring_kek(kr2, 1, x), 0);
        CHECK(memcmp(x, k1, 32) == 0);
        CHECK_EQ_INT(vault_keyring_derive(kr2, "teevault/audit", x), 0);
        CHECK(memcmp(x, a1, 32) == 0);
        CHECK_EQ_INT(vault_keyring_policy(kr2), SEAL_POLICY_SIGNER);
        vault_keyring_free(kr2);
        kr2 = NULL;
    }

    /* Tampered keyring record is detected. */
    MDB_txn *txn;
    MDB_val k = {7, (void *)"keyring"}, d;
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(mdb_get(txn, db->meta, &k, &d), 0);
    uint8_t rec[1024];
    CHECK(d.mv_size <= sizeof(rec));
    memcpy(rec, d.mv_data, d.mv_size);
    size_t rl = d.mv_size;
    rec[13] ^= 1; /* epoch 2 -> 3 */
    MDB_val nd = {rl, rec};
    CHECK_EQ_INT(mdb_put(txn, db->meta, &k, &nd, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), TV_ERR_INTEGRITY);
    rec[13] ^= 1;
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(mdb_put(txn, db->meta, &k, &nd, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    vault_keyring_free(kr2);

    /* Another signer cannot unseal the signer-policy root key. */
    seal_backend *other = open_sim("someone-else", 1);
    CHECK_EQ_INT(vault_keyring_open(db, other, &kr2), TV_ERR_SEALED);
    seal_backend_free(other);

    /* No escrow stored: recovery says so. */
    CHECK_EQ_INT(vault_keyring_recover(db, b, SEAL_POLICY_SIGNER, "x", 1, NULL, NULL, &kr2),
                 TV_ERR_NOT_INITIALISED);

    vault_keyring_free(kr);
    vault_db_close(db);
    seal_backend_free(b);
}

static void test_recovery(void)
{
    char dir[300], keyfile[400], pass[VAULT_PASSPHRASE_LEN + 1];
    snprintf(dir, sizeof(dir), "%s/rec", g_dir);
    CHECK_EQ_INT(mkdir(dir, 0700), 0);
    seal_options o = {.backend = "sim", .state_dir = dir};
    seal_backend *b = NULL;
    vault_db *db = NULL;
    vault_keyring *kr = NULL, *kr2 = NULL;
    uint8_t a1[32], x[32], k1[32];

    CHECK_EQ_INT(vault_keyring_gen_passphrase(pass, sizeof(pass)), 0);
    CHECK_EQ_INT(strlen(pass), VAULT_PASSPHRASE_LEN);
    CHECK(pass[5] == '-' && pass[41] == '-');
    CHECK_EQ_INT(vault_keyring_gen_passphrase(pass, 10), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_keyring_gen_passphrase(pass, sizeof(pass)), 0);

    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    CHECK_EQ_INT(vault_db_open(dir, 1 << 20, &db), 0);
    CHECK_EQ_INT(
        vault_keyring_init(db, b, SEAL_POLICY_MEASUREMENT, pass, strlen(pass), NULL, NULL, &kr), 0);
    CHECK_EQ_INT(vault_keyring_rotate(kr, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_keyring_derive(kr, "teevault/audit", a1), 0);
    CHECK_EQ_INT(vault_keyring_kek(kr, 1, k1), 0);
    vault_keyring_free(kr);
    seal_backend_free(b);

    /* New hardware: a fresh sim sealing key. The sealed RK no longer opens. */
    snprintf(keyfile, sizeof(keyfile), "%s/sim-sealing.key", dir);
    CHECK_EQ_INT(unlink(keyfile), 0);
    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr), TV_ERR_SEALED);

    /* Wrong passphrase: refused, and nothing changes. */
    char wrong[VAULT_PASSPHRASE_LEN + 1];
    memcpy(wrong, pass, sizeof(wrong));
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(
        vault_keyring_recover(db, b, SEAL_POLICY_SIGNER, wrong, strlen(wrong), NULL, NULL, &kr),
        TV_ERR_INTEGRITY);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr), TV_ERR_SEALED);

    /* Right passphrase: RK back, resealed to this backend (signer policy now). */
    CHECK_EQ_INT(
        vault_keyring_recover(db, b, SEAL_POLICY_SIGNER, pass, strlen(pass), NULL, NULL, &kr), 0);
    if (kr) {
        CHECK_EQ_INT(vault_keyring_epoch(kr), 2);
        CHECK_EQ_INT(vault_keyring_derive(kr, "teevault/audit", x), 0);
        CHECK(memcmp(x, a1, 32) == 0);
        CHECK_EQ_INT(vault_keyring_kek(kr, 1, x), 0);
        CHECK(memcmp(x, k1, 32) == 0);
        vault_keyring_free(kr);
    }
    /* Auto-unseal works again on the new key. */
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    if (kr2) {
        CHECK_EQ_INT(vault_keyring_policy(kr2), SEAL_POLICY_SIGNER);
        CHECK_EQ_INT(vault_keyring_derive(kr2, "teevault/audit", x), 0);
        CHECK(memcmp(x, a1, 32) == 0);
        vault_keyring_free(kr2);
    }

    /* A tampered escrow header (weakened Argon2 memory) is refused outright. */
    MDB_txn *txn;
    MDB_val k = {9, (void *)"rk.escrow"}, d;
    uint8_t esc[256];
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(mdb_get(txn, db->meta, &k, &d), 0);
    memcpy(esc, d.mv_data, d.mv_size);
    MDB_val nd = {d.mv_size, esc};
    esc[11] = 0; /* m_cost 64 MiB (00 01 00 00) -> 0 */
    CHECK_EQ_INT(mdb_put(txn, db->meta, &k, &nd, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    CHECK_EQ_INT(
        vault_keyring_recover(db, b, SEAL_POLICY_SIGNER, pass, strlen(pass), NULL, NULL, &kr),
        TV_ERR_FORMAT);

    vault_db_close(db);
    seal_backend_free(b);
}

/* Raw copy of meta[key] into buf (the bytes as stored). */
static size_t meta_raw(vault_db *db, const char *key, uint8_t *buf, size_t cap)
{
    MDB_txn *txn = NULL;
    MDB_val k = {strlen(key), (void *)(uintptr_t)key}, d;
    size_t n = 0;
    if (mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) == 0 &&
        mdb_get(txn, db->meta, &k, &d) == 0 && d.mv_size <= cap) {
        memcpy(buf, d.mv_data, d.mv_size);
        n = d.mv_size;
    }
    if (txn)
        mdb_txn_abort(txn);
    return n;
}

/* Put raw bytes back (a host restoring an older copy of one record). */
static void meta_put_raw(vault_db *db, const char *key, size_t klen, const uint8_t *v, size_t n)
{
    MDB_txn *txn = NULL;
    MDB_val k = {klen, (void *)(uintptr_t)key}, d = {n, (void *)(uintptr_t)v};
    CHECK_EQ_INT(mdb_txn_begin(db->env, NULL, 0, &txn), 0);
    CHECK_EQ_INT(n ? mdb_put(txn, db->meta, &k, &d, 0) : mdb_del(txn, db->meta, &k, NULL), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
}

/* KEKs are erased by retire (even from a reopened store), an older keyring
 * record put back is refused, shreds count only once committed and survive
 * a reopen, and a missing shred entry is refused. */
static void test_retire_shred(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/ret", g_dir);
    CHECK_EQ_INT(mkdir(dir, 0700), 0);
    seal_options o = {.backend = "sim", .state_dir = dir};
    seal_backend *b = NULL;
    vault_db *db = NULL;
    vault_keyring *kr = NULL, *kr2 = NULL;
    uint8_t k1[32], k2[32], x[32], t1[32], t2[32], old[1024];
    MDB_txn *txn = NULL;
    size_t oldn;

    randombytes_buf(t1, sizeof(t1));
    randombytes_buf(t2, sizeof(t2));
    CHECK_EQ_INT(seal_backend_open(&o, &b), 0);
    CHECK_EQ_INT(vault_db_open(dir, 1 << 20, &db), 0);
    CHECK_EQ_INT(vault_keyring_init(db, b, SEAL_POLICY_SIGNER, NULL, 0, NULL, NULL, &kr), 0);
    if (!kr)
        return;
    CHECK_EQ_INT(vault_keyring_kek(kr, 1, k1), 0);

    /* A shred in an aborted txn never counts; a committed one does. */
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_keyring_shred(kr, txn, 1, t2), 0);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(vault_keyring_shredded(kr, t2), 0);
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_keyring_shred(kr, txn, 1, t1), 0);
    CHECK_EQ_INT(vault_keyring_shredded(kr, t1), 0); /* not yet committed */
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    CHECK_EQ_INT(vault_keyring_shredded(kr, t1), 1);
    CHECK_EQ_INT(vault_keyring_shredded(kr, t2), 0);
    CHECK_EQ_INT(vault_keyring_shred_count(kr), 1);
    oldn = meta_raw(db, "keyring", old, sizeof(old));
    CHECK(oldn > 0);

    /* Rotate, retire: KEK 1 is gone, KEK 2 stays; the epoch-1 shred goes. */
    CHECK_EQ_INT(vault_keyring_rotate(kr, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(vault_keyring_kek(kr, 2, k2), 0);
    uint32_t erased = 0;
    uint64_t dropped = 0;
    CHECK_EQ_INT(vault_keyring_retire(kr, NULL, NULL, &erased, &dropped), 0);
    CHECK_EQ_INT(erased, 1);
    CHECK_EQ_INT(dropped, 1);
    CHECK_EQ_INT(vault_keyring_kek(kr, 1, x), TV_ERR_INVALID);
    CHECK_EQ_INT(vault_keyring_kek(kr, 2, x), 0);
    CHECK(memcmp(x, k2, 32) == 0);
    CHECK_EQ_INT(vault_keyring_shredded(kr, t1), 0);
    /* A shred under the live epoch survives the reopen. */
    CHECK_EQ_INT(vault_db_wtxn(db, &txn), 0);
    CHECK_EQ_INT(vault_keyring_shred(kr, txn, 2, t2), 0);
    CHECK_EQ_INT(vault_db_commit(txn), 0);
    vault_keyring_free(kr);
    kr = NULL;

    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    if (kr2) {
        CHECK_EQ_INT(vault_keyring_kek(kr2, 1, x), TV_ERR_INVALID);
        CHECK_EQ_INT(vault_keyring_kek(kr2, 2, x), 0);
        CHECK(memcmp(x, k2, 32) == 0);
        CHECK_EQ_INT(vault_keyring_shredded(kr2, t2), 1);
        CHECK_EQ_INT(vault_keyring_shredded(kr2, t1), 0);
        vault_keyring_free(kr2);
        kr2 = NULL;
    }

    /* The host puts the keyring record with KEK 1 back: refused (anchor). */
    uint8_t cur[1024];
    size_t curn = meta_raw(db, "keyring", cur, sizeof(cur));
    meta_put_raw(db, "keyring", 7, old, oldn);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), TV_ERR_INTEGRITY);
    CHECK(kr2 == NULL);
    meta_put_raw(db, "keyring", 7, cur, curn);

    /* A shred entry deleted: refused. */
    uint8_t ent[256], key[14] = "shred/";
    memset(key + 6, 0, 8);
    key[13] = 1;
    MDB_txn *rt = NULL;
    MDB_val mk = {sizeof(key), key}, md;
    size_t entn = 0;
    CHECK_EQ_INT(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &rt), 0);
    if (mdb_get(rt, db->meta, &mk, &md) == 0 && md.mv_size <= sizeof(ent)) {
        memcpy(ent, md.mv_data, md.mv_size);
        entn = md.mv_size;
    }
    mdb_txn_abort(rt);
    CHECK(entn > 0);
    meta_put_raw(db, (const char *)key, sizeof(key), NULL, 0);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), TV_ERR_INTEGRITY);
    meta_put_raw(db, (const char *)key, sizeof(key), ent, entn);
    CHECK_EQ_INT(vault_keyring_open(db, b, &kr2), 0);
    vault_keyring_free(kr2);
    sodium_memzero(k1, sizeof(k1));
    vault_db_close(db);
    seal_backend_free(b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    snprintf(g_dir, sizeof(g_dir), "/tmp/tv-test-keyring-XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    RUN(test_hkdf_rfc5869);
    RUN(test_init_open_derive_rotate);
    RUN(test_recovery);
    RUN(test_retire_shred);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return tv_test_finish();
}
