/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_keyring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <sodium.h>

#include "proto_buf.h"
#include "seal_blob.h"
#include "seal_kdf.h"
#include "vault_log.h"
#include "vault_record.h"

#define RK_AD          "teevault/rk/v2" /* followed by the vault id */
#define META_RK        "rk.sealed"
#define META_ESCROW    "rk.escrow"
#define META_KEYRING   "keyring"
#define META_SHRED     "shred/" /* followed by u64be index (1..count) */
#define META_ID        "vault.id"
#define META_FORMAT    "format"
#define HKDF_SALT      "teevault-hkdf-v1"
#define KEK_WRAP_LABEL "teevault/kek-wrap"
#define KEK_AD         "teevault/kek/v3" /* followed by the vault id and u32be epoch */
#define KEYRING_FMT    1
#define WKEK_NONCE     24
#define WKEK_LEN       (WKEK_NONCE + VAULT_KEY_LEN + 16)
#define KEYRING_HDR    (1 + 4 + 4 + 8 + 32)
#define SHRED_KEY_LEN  (sizeof(META_SHRED) - 1 + 8)
#define SHRED_PL_LEN   (4 + VAULT_RECORD_TAG)
#define SHRED_WARN     100000 /* entries at which opening the keyring warns */
#define REC_LABEL      "teevault/record"
#define ID_LABEL       "teevault/id"

/* Records of each table a recovered root key must verify. */
#define RECOVER_CHECK_PER_TABLE 64

#define ESCROW_MAGIC   "TVES"
#define ESCROW_FMT     2
#define ESCROW_ALG     1
#define ESCROW_SALT    16
#define ESCROW_NONCE   24
#define ESCROW_HDR_LEN (4 + 1 + 1 + 4 + 4 + 4 + ESCROW_SALT + ESCROW_NONCE)
#define ESCROW_LEN     (ESCROW_HDR_LEN + VAULT_KEY_LEN + 16)
#define ESCROW_AD_LEN  (ESCROW_HDR_LEN + VAULT_VAULT_ID_LEN)

/* Shredded version records (vault_keyring_shred): entries in index order
 * and an open-addressing index over their tags (tags are MACs: uniform). */
typedef struct shred_ent {
    uint32_t epoch;
    uint8_t tag[VAULT_RECORD_TAG];
} shred_ent;

typedef struct shred_list {
    shred_ent *e;
    size_t n, cap;
    uint8_t head[32]; /* chain over entries 1..n */
} shred_list;

struct vault_keyring {
    vault_db *db;
    seal_backend *seal;
    enum seal_policy policy;
    uint32_t epoch;  /* current KEK epoch */
    uint32_t oldest; /* oldest live epoch: KEKs of older ones are erased */
    uint8_t *mem;    /* sodium_malloc: rk | prk | KEKs oldest..epoch */
    uint8_t wkek[VAULT_KEK_LIVE_MAX][WKEK_LEN]; /* the same KEKs wrapped, as stored */
    uint8_t id[VAULT_VAULT_ID_LEN];             /* KDF(RK, "teevault/id"), public */
    vault_rec_keys *rec;                        /* record key + id, attached to db while in use */
    shred_list shred;                           /* committed */
    shred_list pend;                            /* added by the write txn in progress */
    uint32_t *slot;                             /* index over shred: entry index + 1, 0 empty */
    size_t nslot;
};

#define KR_RK(kr)     ((kr)->mem)
#define KR_PRK(kr)    ((kr)->mem + VAULT_KEY_LEN)
#define KR_KEK(kr, e) ((kr)->mem + (2 + (size_t)((e) - (kr)->oldest)) * VAULT_KEY_LEN)
#define KR_MEM_LEN    ((2 + VAULT_KEK_LIVE_MAX) * VAULT_KEY_LEN)

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* HKDF-Expand for one 32-byte block from the cached PRK. */
static void expand32(const vault_keyring *kr, const uint8_t *info, size_t info_len,
                     uint8_t out[VAULT_KEY_LEN])
{
    /* 32 <= 255 * 32: cannot fail. */
    (void)!seal_hkdf_expand(KR_PRK(kr), info, info_len, out, VAULT_KEY_LEN);
}

int vault_keyring_kek(const vault_keyring *kr, uint32_t epoch, uint8_t out[VAULT_KEY_LEN])
{
    if (epoch < kr->oldest || epoch > kr->epoch)
        return TV_ERR_INVALID;
    memcpy(out, KR_KEK(kr, epoch), VAULT_KEY_LEN);
    return 0;
}

/* ---- KEKs: random, stored wrapped, erased when retired ----------------- */

static void kek_ad(const vault_keyring *kr, uint32_t epoch, uint8_t *ad)
{
    memcpy(ad, KEK_AD, sizeof(KEK_AD) - 1);
    memcpy(ad + sizeof(KEK_AD) - 1, kr->id, VAULT_VAULT_ID_LEN);
    put_be32(ad + sizeof(KEK_AD) - 1 + VAULT_VAULT_ID_LEN, epoch);
}

#define KEK_AD_LEN (sizeof(KEK_AD) - 1 + VAULT_VAULT_ID_LEN + 4)

/* Wrap (enc = 1) kek into w, or unwrap w into kek, under KDF(RK, kek-wrap). */
static int kek_crypt(const vault_keyring *kr, uint32_t epoch, int enc, uint8_t *kek,
                     uint8_t w[WKEK_LEN])
{
    uint8_t kw[VAULT_KEY_LEN], ad[KEK_AD_LEN];
    unsigned long long n = 0;
    int r = 0;
    expand32(kr, (const uint8_t *)KEK_WRAP_LABEL, sizeof(KEK_WRAP_LABEL) - 1, kw);
    kek_ad(kr, epoch, ad);
    if (enc) {
        randombytes_buf(w, WKEK_NONCE);
        crypto_aead_xchacha20poly1305_ietf_encrypt(w + WKEK_NONCE, NULL, kek, VAULT_KEY_LEN, ad,
                                                   sizeof(ad), NULL, w, kw);
    } else if (crypto_aead_xchacha20poly1305_ietf_decrypt(kek, &n, NULL, w + WKEK_NONCE,
                                                          WKEK_LEN - WKEK_NONCE, ad, sizeof(ad), w,
                                                          kw) != 0 ||
               n != VAULT_KEY_LEN) {
        r = TV_ERR_INTEGRITY;
    }
    sodium_memzero(kw, sizeof(kw));
    return r;
}

/* Make a random KEK for epoch e (oldest <= e < oldest + VAULT_KEK_LIVE_MAX)
 * in memory and wrapped. */
static void kek_new(vault_keyring *kr, uint32_t e)
{
    uint8_t *k = KR_KEK(kr, e);
    randombytes_buf(k, VAULT_KEY_LEN);
    (void)kek_crypt(kr, e, 1, k, kr->wkek[e - kr->oldest]);
}

/* ---- shredded versions -------------------------------------------------- */

static void shred_chain(uint8_t head[32], uint64_t index, const shred_ent *e)
{
    crypto_generichash_state st;
    uint8_t b[12];
    proto_put_be64(b, index);
    put_be32(b + 8, e->epoch);
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)"teevault/shred/v1", 17);
    crypto_generichash_update(&st, head, 32);
    crypto_generichash_update(&st, b, sizeof(b));
    crypto_generichash_update(&st, e->tag, VAULT_RECORD_TAG);
    crypto_generichash_final(&st, head, 32);
}

static int list_push(shred_list *l, const shred_ent *e)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 16;
        shred_ent *ne = realloc(l->e, nc * sizeof(*ne));
        if (!ne)
            return TV_ERR_NOMEM;
        l->e = ne;
        l->cap = nc;
    }
    l->e[l->n++] = *e;
    return 0;
}

static void list_clear(shred_list *l)
{
    free(l->e);
    memset(l, 0, sizeof(*l));
}

static size_t slot_of(const uint8_t tag[VAULT_RECORD_TAG], size_t nslot)
{
    uint64_t h;
    memcpy(&h, tag, sizeof(h));
    return (size_t)h & (nslot - 1);
}

/* (Re)build the index when it is too small for shred.n + extra entries. */
static int index_fit(vault_keyring *kr, size_t extra)
{
    size_t want = 64;
    while (want < 2 * (kr->shred.n + extra))
        want *= 2;
    if (want <= kr->nslot && kr->slot)
        return 0;
    uint32_t *ns = calloc(want, sizeof(*ns));
    if (!ns)
        return TV_ERR_NOMEM;
    for (size_t i = 0; i < kr->shred.n; i++) {
        size_t j = slot_of(kr->shred.e[i].tag, want);
        while (ns[j])
            j = (j + 1) & (want - 1);
        ns[j] = (uint32_t)(i + 1);
    }
    free(kr->slot);
    kr->slot = ns;
    kr->nslot = want;
    return 0;
}

int vault_keyring_shredded(const vault_keyring *kr, const uint8_t tag[VAULT_RECORD_TAG])
{
    if (!kr->slot)
        return 0;
    for (size_t j = slot_of(tag, kr->nslot); kr->slot[j]; j = (j + 1) & (kr->nslot - 1))
        if (sodium_memcmp(kr->shred.e[kr->slot[j] - 1].tag, tag, VAULT_RECORD_TAG) == 0)
            return 1;
    return 0;
}

size_t vault_keyring_shred_count(const vault_keyring *kr)
{
    return kr->shred.n;
}

/* Append pending entries to the committed list (after their commit). */
static int shred_commit(vault_keyring *kr)
{
    int r = index_fit(kr, kr->pend.n);
    for (size_t i = 0; r == 0 && i < kr->pend.n; i++) {
        if ((r = list_push(&kr->shred, &kr->pend.e[i])) < 0)
            break;
        size_t j = slot_of(kr->pend.e[i].tag, kr->nslot);
        while (kr->slot[j])
            j = (j + 1) & (kr->nslot - 1);
        kr->slot[j] = (uint32_t)kr->shred.n;
    }
    if (r == 0)
        memcpy(kr->shred.head, kr->pend.head, 32);
    return r;
}

/* vault_db's transaction events: pending shreds belong to the write txn in
 * progress; they join the committed list when it commits and are dropped
 * when another begins (an aborted txn never reports). */
static void kr_txn_event(void *arg, int ev)
{
    vault_keyring *kr = arg;
    if (!kr->pend.n)
        return; /* (also keeps the audit writer's txns off the keyring) */
    if (ev == VAULT_TXN_COMMITTED && shred_commit(kr) < 0)
        vault_log(VAULT_LOG_ERROR, "shred", "reason",
                  "out of memory recording destroyed versions: restart the daemon",
                  (const char *)NULL);
    kr->pend.n = 0;
}

static void shred_key(uint8_t k[SHRED_KEY_LEN], uint64_t index)
{
    memcpy(k, META_SHRED, sizeof(META_SHRED) - 1);
    proto_put_be64(k + sizeof(META_SHRED) - 1, index);
}

/* Store entry `index` (meta "shred/" || u64be index = u32be epoch || tag). */
static int put_shred(vault_keyring *kr, MDB_txn *txn, uint64_t index, const shred_ent *e)
{
    uint8_t k[SHRED_KEY_LEN], pl[SHRED_PL_LEN];
    shred_key(k, index);
    put_be32(pl, e->epoch);
    memcpy(pl + 4, e->tag, VAULT_RECORD_TAG);
    return vault_record_put(kr->db, txn, VAULT_TBL_META, k, sizeof(k), pl, sizeof(pl), 0);
}

int vault_keyring_derive(const vault_keyring *kr, const char *label, uint8_t out[VAULT_KEY_LEN])
{
    if (!label || !label[0])
        return TV_ERR_INVALID;
    expand32(kr, (const uint8_t *)label, strlen(label), out);
    return 0;
}

uint32_t vault_keyring_epoch(const vault_keyring *kr)
{
    return kr->epoch;
}

enum seal_policy vault_keyring_policy(const vault_keyring *kr)
{
    return kr->policy;
}

void vault_keyring_free(vault_keyring *kr)
{
    if (!kr)
        return;
    if (kr->db && kr->db->txn_event_arg == kr) {
        kr->db->txn_event = NULL;
        kr->db->txn_event_arg = NULL;
    }
    vault_rec_keys_unref(kr->rec); /* a db it is attached to keeps its own reference */
    sodium_free(kr->mem);
    list_clear(&kr->shred);
    list_clear(&kr->pend);
    free(kr->slot);
    free(kr);
}

const uint8_t *vault_keyring_vault_id(const vault_keyring *kr)
{
    return kr->id;
}

/* A keyring with a fresh (rk == NULL) or given RK and its PRK; KEKs come
 * from the keyring record (keyring_load) or kek_new. */
static int kr_new(vault_db *db, seal_backend *seal, const uint8_t *rk, vault_keyring **out)
{
    vault_keyring *kr = calloc(1, sizeof(*kr));
    if (!kr)
        return TV_ERR_NOMEM;
    if (!(kr->mem = sodium_malloc(KR_MEM_LEN))) {
        free(kr);
        return TV_ERR_NOMEM;
    }
    kr->db = db;
    kr->seal = seal;
    if (rk)
        memcpy(KR_RK(kr), rk, VAULT_KEY_LEN);
    else
        randombytes_buf(KR_RK(kr), VAULT_KEY_LEN);
    /* PRK = HKDF-Extract(salt, RK). */
    seal_hkdf_extract((const uint8_t *)HKDF_SALT, sizeof(HKDF_SALT) - 1, KR_RK(kr), VAULT_KEY_LEN,
                      KR_PRK(kr));
    kr->epoch = kr->oldest = 1;
    /* The vault id and the record key. */
    uint8_t rk_mac[VAULT_KEY_LEN];
    expand32(kr, (const uint8_t *)ID_LABEL, sizeof(ID_LABEL) - 1, kr->id);
    expand32(kr, (const uint8_t *)REC_LABEL, sizeof(REC_LABEL) - 1, rk_mac);
    int r = vault_rec_keys_new(rk_mac, kr->id, &kr->rec);
    sodium_memzero(rk_mac, sizeof(rk_mac));
    if (r < 0) {
        vault_keyring_free(kr);
        return r;
    }
    *out = kr;
    return 0;
}

static int meta_put(vault_db *db, MDB_txn *txn, const char *key, const void *v, size_t n)
{
    MDB_val k = {strlen(key), (void *)(uintptr_t)key};
    MDB_val d = {n, (void *)(uintptr_t)v};
    return vault_db_err(mdb_put(txn, db->meta, &k, &d, 0));
}

static int meta_get(vault_db *db, MDB_txn *txn, const char *key, MDB_val *d)
{
    MDB_val k = {strlen(key), (void *)(uintptr_t)key};
    return vault_db_err(mdb_get(txn, db->meta, &k, d));
}

/* The keyring record (meta "keyring"), payload:
 *   u8 KEYRING_FMT | u32 epoch | u32 oldest | u64 shred count | shred head[32] |
 *   (epoch - oldest + 1) x wrapped KEK[WKEK_LEN]
 * written with the given epochs, wrapped KEKs and shred list, and made the
 * state's anchor (vault_record.h), so only the newest one is accepted. */
static int write_keyring(vault_keyring *kr, MDB_txn *txn, uint32_t epoch, uint32_t oldest,
                         const uint8_t (*wkek)[WKEK_LEN], const shred_list *l)
{
    uint8_t rec[KEYRING_HDR + VAULT_KEK_LIVE_MAX * WKEK_LEN];
    size_t n = (size_t)(epoch - oldest) + 1;
    int r;
    rec[0] = KEYRING_FMT;
    put_be32(rec + 1, epoch);
    put_be32(rec + 5, oldest);
    proto_put_be64(rec + 9, l->n);
    memcpy(rec + 17, l->head, 32);
    memcpy(rec + KEYRING_HDR, wkek, n * WKEK_LEN);
    if ((r = vault_record_put(kr->db, txn, VAULT_TBL_META, META_KEYRING, sizeof(META_KEYRING) - 1,
                              rec, KEYRING_HDR + n * WKEK_LEN, 0)) < 0)
        return r;
    vault_record_anchor_mark(kr->db);
    return 0;
}

static int keyring_bad(const char *why)
{
    vault_log(VAULT_LOG_ERROR, "record_integrity", "table", "meta", "key", META_KEYRING, "reason",
              why, (const char *)NULL);
    return TV_ERR_INTEGRITY;
}

/* Load the keyring record, its KEKs and the shred list in txn (the record
 * keys attached). Every check failing is TV_ERR_INTEGRITY. */
static int keyring_load(vault_keyring *kr, MDB_txn *txn)
{
    MDB_val d;
    uint64_t sv = 0;
    int r = vault_record_get(kr->db, txn, VAULT_TBL_META, META_KEYRING, sizeof(META_KEYRING) - 1,
                             &d, &sv);
    if (r == TV_ERR_NOT_FOUND)
        return keyring_bad("missing"); /* RK present but no keyring: tampered */
    if (r < 0)
        return r;
    if (sv != vault_record_anchor(kr->db))
        return keyring_bad("not the newest keyring record (restored from an older copy?)");
    const uint8_t *p = d.mv_data;
    if (d.mv_size < KEYRING_HDR || p[0] != KEYRING_FMT)
        return keyring_bad("malformed");
    uint32_t epoch = get_be32(p + 1), oldest = get_be32(p + 5);
    uint64_t count = proto_be64(p + 9);
    if (oldest == 0 || epoch < oldest || epoch - oldest >= VAULT_KEK_LIVE_MAX ||
        d.mv_size != KEYRING_HDR + (size_t)(epoch - oldest + 1) * WKEK_LEN)
        return keyring_bad("malformed");
    kr->epoch = epoch;
    kr->oldest = oldest;
    memcpy(kr->wkek, p + KEYRING_HDR, (size_t)(epoch - oldest + 1) * WKEK_LEN);
    for (uint32_t e = oldest; e <= epoch; e++)
        if (kek_crypt(kr, e, 0, KR_KEK(kr, e), kr->wkek[e - oldest]) < 0)
            return keyring_bad("a KEK does not unwrap");
    /* The shred list: entries 1..count, chained to the recorded head. */
    list_clear(&kr->shred);
    for (uint64_t i = 1; i <= count; i++) {
        uint8_t k[SHRED_KEY_LEN];
        shred_ent e;
        shred_key(k, i);
        r = vault_record_get(kr->db, txn, VAULT_TBL_META, k, sizeof(k), &d, NULL);
        if (r == TV_ERR_NOT_FOUND)
            return keyring_bad("a shredded-version entry is missing");
        if (r < 0)
            return r;
        if (d.mv_size != SHRED_PL_LEN)
            return keyring_bad("malformed shredded-version entry");
        e.epoch = get_be32(d.mv_data);
        memcpy(e.tag, (const uint8_t *)d.mv_data + 4, VAULT_RECORD_TAG);
        shred_chain(kr->shred.head, i, &e);
        if ((r = list_push(&kr->shred, &e)) < 0)
            return r;
    }
    if (sodium_memcmp(kr->shred.head, p + 17, 32) != 0)
        return keyring_bad("shredded-version entries do not match the keyring");
    if ((r = index_fit(kr, 0)) < 0)
        return r;
    if (count >= SHRED_WARN) {
        char n[24];
        snprintf(n, sizeof(n), "%llu", (unsigned long long)count);
        vault_log(VAULT_LOG_WARN, "shred_list", "entries", n, "hint",
                  "destroyed and pruned versions wait for a rotation to erase their KEK; run "
                  "`teevault operator rotate` to compact the list",
                  (const char *)NULL);
    }
    kr->db->txn_event = kr_txn_event;
    kr->db->txn_event_arg = kr;
    return 0;
}

int vault_keyring_shred(vault_keyring *kr, MDB_txn *txn, uint32_t epoch,
                        const uint8_t tag[VAULT_RECORD_TAG])
{
    shred_ent e;
    uint64_t index = kr->shred.n + kr->pend.n + 1;
    int r;
    e.epoch = epoch;
    memcpy(e.tag, tag, VAULT_RECORD_TAG);
    if (kr->pend.n == 0)
        memcpy(kr->pend.head, kr->shred.head, 32);
    if ((r = put_shred(kr, txn, index, &e)) < 0)
        return r;
    if ((r = list_push(&kr->pend, &e)) < 0)
        return r;
    shred_chain(kr->pend.head, index, &e);
    /* The record names the committed list plus this txn's entries. */
    shred_list all = {NULL, kr->shred.n + kr->pend.n, 0, {0}};
    memcpy(all.head, kr->pend.head, 32);
    return write_keyring(kr, txn, kr->epoch, kr->oldest, (const uint8_t(*)[WKEK_LEN])kr->wkek,
                         &all);
}

/* The sealed blob's associated data: RK_AD || vault id. */
static void rk_ad(const uint8_t id[VAULT_VAULT_ID_LEN],
                  uint8_t ad[sizeof(RK_AD) - 1 + VAULT_VAULT_ID_LEN])
{
    memcpy(ad, RK_AD, sizeof(RK_AD) - 1);
    memcpy(ad + sizeof(RK_AD) - 1, id, VAULT_VAULT_ID_LEN);
}

/* The store format mark: absent or other than VAULT_STORE_FORMAT on a store
 * that holds a root key means a store this build does not read. */
static int check_format(vault_db *db, MDB_txn *txn)
{
    MDB_val d;
    int r = meta_get(db, txn, META_FORMAT, &d);
    if (r == TV_ERR_NOT_FOUND ||
        (r == 0 && (d.mv_size != 1 || *(const uint8_t *)d.mv_data != VAULT_STORE_FORMAT))) {
        char have[16];
        if (r == 0 && d.mv_size == 1)
            snprintf(have, sizeof(have), "%u", *(const uint8_t *)d.mv_data);
        else
            snprintf(have, sizeof(have), "%s", r == 0 ? "unknown" : "1");
        vault_logf(VAULT_LOG_ERROR, "store_format",
                   "the state directory holds a teevault store of format %s; this teevaultd "
                   "reads store format %u only and does not migrate older stores. Keep the "
                   "older teevaultd to read it, or move the state directory away and run "
                   "`teevault operator init` (docs/DECISIONS.md)",
                   have, VAULT_STORE_FORMAT);
        return TV_ERR_FORMAT;
    }
    return r;
}

/* Read the stored (public) vault id. */
static int read_id(vault_db *db, MDB_txn *txn, uint8_t id[VAULT_VAULT_ID_LEN])
{
    MDB_val d;
    int r = meta_get(db, txn, META_ID, &d);
    if (r == TV_ERR_NOT_FOUND)
        return TV_ERR_INTEGRITY;
    if (r < 0)
        return r;
    if (d.mv_size != VAULT_VAULT_ID_LEN)
        return TV_ERR_INTEGRITY;
    memcpy(id, d.mv_data, VAULT_VAULT_ID_LEN);
    return 0;
}

static int seal_rk(vault_keyring *kr, MDB_txn *txn, enum seal_policy policy)
{
    uint8_t *blob = NULL;
    size_t blen = 0;
    uint8_t ad[sizeof(RK_AD) - 1 + VAULT_VAULT_ID_LEN];
    rk_ad(kr->id, ad);
    int r =
        seal_blob_seal(kr->seal, policy, ad, sizeof(ad), KR_RK(kr), VAULT_KEY_LEN, &blob, &blen);
    if (r < 0)
        return r;
    r = meta_put(kr->db, txn, META_RK, blob, blen);
    free(blob);
    if (r == 0)
        kr->policy = policy;
    return r;
}

/* Argon2id(passphrase, salt) -> 32-byte key in sodium memory. */
static int escrow_kdf(const char *pw, size_t pwlen, uint32_t t, uint32_t m, uint32_t p,
                      const uint8_t *salt, uint8_t *key)
{
    int rc = argon2id_hash_raw(t, m, p, pw, pwlen, salt, ESCROW_SALT, key, VAULT_KEY_LEN);
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return TV_ERR_NOMEM;
    return rc == ARGON2_OK ? 0 : TV_ERR_CRYPTO;
}

static int escrow_build(const vault_keyring *kr, const char *pw, size_t pwlen,
                        uint8_t out[ESCROW_LEN])
{
    int r;
    uint8_t *key = sodium_malloc(VAULT_KEY_LEN);
    unsigned long long clen = 0;
    if (!key)
        return TV_ERR_NOMEM;
    memcpy(out, ESCROW_MAGIC, 4);
    out[4] = ESCROW_FMT;
    out[5] = ESCROW_ALG;
    put_be32(out + 6, VAULT_ARGON2_T);
    put_be32(out + 10, VAULT_ARGON2_M_KIB);
    put_be32(out + 14, VAULT_ARGON2_P);
    randombytes_buf(out + 18, ESCROW_SALT);
    randombytes_buf(out + 18 + ESCROW_SALT, ESCROW_NONCE);
    uint8_t ad[ESCROW_AD_LEN];
    memcpy(ad, out, ESCROW_HDR_LEN);
    memcpy(ad + ESCROW_HDR_LEN, kr->id, VAULT_VAULT_ID_LEN);
    if ((r = escrow_kdf(pw, pwlen, VAULT_ARGON2_T, VAULT_ARGON2_M_KIB, VAULT_ARGON2_P, out + 18,
                        key)) < 0)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + ESCROW_HDR_LEN, &clen, KR_RK(kr),
                                                   VAULT_KEY_LEN, ad, sizeof(ad), NULL,
                                                   out + 18 + ESCROW_SALT, key) != 0) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    r = 0;
out:
    sodium_free(key);
    return r;
}

/* Unwrap RK from an escrow blob made for vault `id` into rk (sodium memory). */
static int escrow_open(const uint8_t *b, size_t len, const uint8_t id[VAULT_VAULT_ID_LEN],
                       const char *pw, size_t pwlen, uint8_t *rk)
{
    uint8_t ad[ESCROW_AD_LEN];
    int r;
    uint8_t *key;
    unsigned long long mlen = 0;
    if (len != ESCROW_LEN || memcmp(b, ESCROW_MAGIC, 4) != 0 || b[4] != ESCROW_FMT ||
        b[5] != ESCROW_ALG)
        return TV_ERR_FORMAT;
    uint32_t t = get_be32(b + 6), m = get_be32(b + 10), p = get_be32(b + 14);
    if (t < 3 || t > 64 || m < VAULT_ARGON2_M_KIB || m > (1u << 20) || p < 1 || p > 16)
        return TV_ERR_FORMAT;
    if (!(key = sodium_malloc(VAULT_KEY_LEN)))
        return TV_ERR_NOMEM;
    memcpy(ad, b, ESCROW_HDR_LEN);
    memcpy(ad + ESCROW_HDR_LEN, id, VAULT_VAULT_ID_LEN);
    if ((r = escrow_kdf(pw, pwlen, t, m, p, b + 18, key)) < 0)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(rk, &mlen, NULL, b + ESCROW_HDR_LEN,
                                                   len - ESCROW_HDR_LEN, ad, sizeof(ad),
                                                   b + 18 + ESCROW_SALT, key) != 0 ||
        mlen != VAULT_KEY_LEN) {
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    r = 0;
out:
    sodium_free(key);
    return r;
}

int vault_keyring_exists(vault_db *db)
{
    MDB_txn *txn = NULL;
    MDB_val d;
    int r = vault_db_rtxn(db, &txn);
    if (r < 0)
        return r;
    r = meta_get(db, txn, META_RK, &d);
    mdb_txn_abort(txn);
    if (r == TV_ERR_NOT_FOUND)
        return 0;
    return r < 0 ? r : 1;
}

int vault_keyring_init(vault_db *db, seal_backend *seal, enum seal_policy policy,
                       const char *passphrase, size_t passphrase_len, vault_txn_hook hook,
                       void *hook_arg, vault_keyring **out)
{
    int r = TV_ERR_INTERNAL;
    vault_keyring *kr = NULL;
    MDB_txn *txn = NULL;
    MDB_val d;
    uint8_t escrow[ESCROW_LEN];
    vault_rec_keys *prev = NULL;
    int attached = 0;

    if (policy != SEAL_POLICY_SIGNER && policy != SEAL_POLICY_MEASUREMENT)
        return TV_ERR_INVALID;
    if (passphrase && passphrase_len == 0)
        return TV_ERR_INVALID;
    if ((r = vault_keyring_exists(db)) != 0)
        return r < 0 ? r : TV_ERR_EXISTS;
    if ((r = kr_new(db, seal, NULL, &kr)) < 0)
        return r;
    /* Argon2 before the write transaction: it takes a noticeable time. */
    if (passphrase && (r = escrow_build(kr, passphrase, passphrase_len, escrow)) < 0)
        goto out;
    if ((r = vault_record_attach(db, kr->rec, NULL, &prev)) < 0)
        goto out;
    attached = 1;
    if ((r = vault_db_wtxn(db, &txn)) < 0)
        goto out;
    if ((r = meta_get(db, txn, META_RK, &d)) != TV_ERR_NOT_FOUND) {
        r = r < 0 ? r : TV_ERR_EXISTS;
        goto out;
    }
    uint8_t fmt = VAULT_STORE_FORMAT;
    if ((r = meta_put(db, txn, META_FORMAT, &fmt, 1)) < 0 ||
        (r = meta_put(db, txn, META_ID, kr->id, VAULT_VAULT_ID_LEN)) < 0)
        goto out;
    if ((r = seal_rk(kr, txn, policy)) < 0)
        goto out;
    kek_new(kr, 1);
    if ((r = write_keyring(kr, txn, 1, 1, (const uint8_t(*)[WKEK_LEN])kr->wkek, &kr->shred)) < 0)
        goto out;
    if (passphrase && (r = meta_put(db, txn, META_ESCROW, escrow, sizeof(escrow))) < 0)
        goto out;
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
    if (r < 0)
        goto out;
    db->txn_event = kr_txn_event;
    db->txn_event_arg = kr;
    *out = kr;
    kr = NULL;
    r = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_keyring_free(kr);
    if (r < 0 && attached) { /* put the keys that were attached before back */
        vault_record_detach(db);
        if (prev && vault_record_attach(db, prev, NULL, NULL) < 0)
            vault_record_detach(db);
    }
    vault_rec_keys_unref(prev);
    return r;
}

int vault_keyring_open(vault_db *db, seal_backend *seal, vault_keyring **out)
{
    int r = TV_ERR_INTERNAL;
    vault_keyring *kr = NULL;
    MDB_txn *txn = NULL;
    MDB_val d;
    uint8_t *rk = NULL;
    size_t rklen = 0;
    enum seal_policy policy;
    uint16_t svn;
    uint8_t id[VAULT_VAULT_ID_LEN], ad[sizeof(RK_AD) - 1 + VAULT_VAULT_ID_LEN];
    int found = 0, attached = 0;

    if ((r = vault_db_rtxn(db, &txn)) < 0)
        return r;
    if ((r = meta_get(db, txn, META_RK, &d)) < 0) {
        if (r == TV_ERR_NOT_FOUND)
            r = TV_ERR_NOT_INITIALISED;
        goto out;
    }
    if ((r = check_format(db, txn)) < 0 || (r = read_id(db, txn, id)) < 0)
        goto out;
    if ((r = seal_blob_peek(d.mv_data, d.mv_size, &policy, &svn)) < 0)
        goto out;
    rk_ad(id, ad);
    if ((r = seal_blob_unseal(seal, d.mv_data, d.mv_size, ad, sizeof(ad), &rk, &rklen)) < 0)
        goto out;
    if (rklen != VAULT_KEY_LEN) {
        r = TV_ERR_FORMAT;
        goto out;
    }
    if ((r = kr_new(db, seal, rk, &kr)) < 0)
        goto out;
    kr->policy = policy;
    /* The blob's ad named this id; the key inside must make the same one. */
    if (sodium_memcmp(kr->id, id, VAULT_VAULT_ID_LEN) != 0) {
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    if ((r = vault_record_attach(db, kr->rec, &found, NULL)) < 0)
        goto out;
    attached = 1;
    if (!found) {
        vault_log(VAULT_LOG_ERROR, "record_integrity", "table", "meta", "key", VAULT_META_STATE,
                  "reason", "missing", (const char *)NULL);
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    if ((r = keyring_load(kr, txn)) < 0)
        goto out;
    *out = kr;
    kr = NULL;
    r = 0;
out:
    mdb_txn_abort(txn);
    seal_blob_free_pt(rk);
    vault_keyring_free(kr);
    if (r < 0 && attached)
        vault_record_detach(db);
    return r;
}

struct vault_recovery {
    uint8_t escrow[ESCROW_LEN];
    uint8_t id[VAULT_VAULT_ID_LEN];
    char *pw; /* sodium_malloc'd copy, wiped once used */
    size_t pwlen;
    uint8_t *rk; /* sodium_malloc: the unwrapped root key */
    int result;  /* 1: not run yet; 0 unwrapped; or a tv_err */
};

void vault_recovery_free(vault_recovery *job)
{
    if (!job)
        return;
    sodium_free(job->pw);
    sodium_free(job->rk);
    sodium_memzero(job, sizeof(*job));
    free(job);
}

int vault_keyring_recover_begin(vault_db *db, const char *passphrase, size_t passphrase_len,
                                vault_recovery **out)
{
    int r;
    MDB_txn *txn = NULL;
    MDB_val d;
    vault_recovery *job = NULL;

    if (!passphrase || passphrase_len == 0)
        return TV_ERR_INVALID;
    if (!(job = calloc(1, sizeof(*job))))
        return TV_ERR_NOMEM;
    job->result = 1;
    if (!(job->pw = sodium_malloc(passphrase_len)) || !(job->rk = sodium_malloc(VAULT_KEY_LEN))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    memcpy(job->pw, passphrase, passphrase_len);
    job->pwlen = passphrase_len;
    if ((r = vault_db_rtxn(db, &txn)) < 0)
        goto out;
    r = meta_get(db, txn, META_ESCROW, &d);
    if (r == 0 && d.mv_size != ESCROW_LEN)
        r = TV_ERR_FORMAT;
    if (r == 0)
        memcpy(job->escrow, d.mv_data, ESCROW_LEN);
    if (r == 0 && (r = check_format(db, txn)) == 0)
        r = read_id(db, txn, job->id);
    mdb_txn_abort(txn);
    if (r < 0) {
        if (r == TV_ERR_NOT_FOUND)
            r = TV_ERR_NOT_INITIALISED;
        goto out;
    }
    *out = job;
    job = NULL;
    r = 0;
out:
    vault_recovery_free(job);
    return r;
}

void vault_keyring_recover_unwrap(vault_recovery *job)
{
    job->result =
        escrow_open(job->escrow, sizeof(job->escrow), job->id, job->pw, job->pwlen, job->rk);
    sodium_memzero(job->pw, job->pwlen);
}

int vault_keyring_recover_result(const vault_recovery *job)
{
    return job->result == 1 ? TV_ERR_INTERNAL : job->result;
}

int vault_keyring_recover_matches(const vault_recovery *job, const vault_keyring *kr)
{
    return job->result == 0 && sodium_memcmp(job->rk, KR_RK(kr), VAULT_KEY_LEN) == 0;
}

int vault_keyring_recover_finish(vault_db *db, seal_backend *seal, enum seal_policy policy,
                                 vault_recovery *job, vault_txn_hook hook, void *hook_arg,
                                 vault_keyring **out)
{
    int r = TV_ERR_INTERNAL;
    vault_keyring *kr = NULL;
    MDB_txn *txn = NULL;
    vault_rec_keys *prev = NULL;
    int attached = 0, found = 0;

    if (policy != SEAL_POLICY_SIGNER && policy != SEAL_POLICY_MEASUREMENT)
        return TV_ERR_INVALID;
    if ((r = vault_keyring_recover_result(job)) < 0)
        return r;
    if ((r = kr_new(db, seal, job->rk, &kr)) < 0)
        goto out;
    /* The recovered key must be this store's: its id is the stored one and
     * the store's records verify under it (an escrow copied in from another
     * vault, with that vault's id, fails here). */
    if (sodium_memcmp(kr->id, job->id, VAULT_VAULT_ID_LEN) != 0) {
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    if ((r = vault_record_attach(db, kr->rec, &found, &prev)) < 0)
        goto out;
    attached = 1;
    if (!found) {
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    if ((r = vault_db_wtxn(db, &txn)) < 0)
        goto out;
    if ((r = vault_record_check_tables(db, txn, RECOVER_CHECK_PER_TABLE)) < 0)
        goto out;
    if ((r = keyring_load(kr, txn)) < 0)
        goto out;
    if ((r = seal_rk(kr, txn, policy)) < 0)
        goto out;
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
    if (r < 0)
        goto out;
    db->txn_event = kr_txn_event;
    db->txn_event_arg = kr;
    *out = kr;
    kr = NULL;
    r = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_keyring_free(kr);
    if (r < 0 && attached) { /* put the keys that were attached before back */
        vault_record_detach(db);
        if (prev && vault_record_attach(db, prev, NULL, NULL) < 0)
            vault_record_detach(db);
    }
    vault_rec_keys_unref(prev);
    return r;
}

int vault_keyring_recover(vault_db *db, seal_backend *seal, enum seal_policy policy,
                          const char *passphrase, size_t passphrase_len, vault_txn_hook hook,
                          void *hook_arg, vault_keyring **out)
{
    vault_recovery *job = NULL;
    int r;
    if (policy != SEAL_POLICY_SIGNER && policy != SEAL_POLICY_MEASUREMENT)
        return TV_ERR_INVALID;
    if ((r = vault_keyring_recover_begin(db, passphrase, passphrase_len, &job)) < 0)
        return r;
    vault_keyring_recover_unwrap(job);
    r = vault_keyring_recover_finish(db, seal, policy, job, hook, hook_arg, out);
    vault_recovery_free(job);
    return r;
}

int vault_keyring_reseal(vault_keyring *kr, enum seal_policy policy, vault_txn_hook hook,
                         void *hook_arg)
{
    int r;
    MDB_txn *txn = NULL;
    if (policy != SEAL_POLICY_SIGNER && policy != SEAL_POLICY_MEASUREMENT)
        return TV_ERR_INVALID;
    if ((r = vault_db_wtxn(kr->db, &txn)) < 0)
        return r;
    if ((r = seal_rk(kr, txn, policy)) < 0)
        goto out;
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
out:
    if (txn)
        mdb_txn_abort(txn);
    return r;
}

int vault_keyring_set_escrow(vault_keyring *kr, const char *passphrase, size_t passphrase_len,
                             vault_txn_hook hook, void *hook_arg)
{
    int r;
    MDB_txn *txn = NULL;
    uint8_t escrow[ESCROW_LEN];
    if (!passphrase || passphrase_len == 0)
        return TV_ERR_INVALID;
    if ((r = escrow_build(kr, passphrase, passphrase_len, escrow)) < 0)
        return r;
    if ((r = vault_db_wtxn(kr->db, &txn)) < 0)
        return r;
    if ((r = meta_put(kr->db, txn, META_ESCROW, escrow, sizeof(escrow))) < 0)
        goto out;
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
out:
    if (txn)
        mdb_txn_abort(txn);
    return r;
}

int vault_keyring_rotate(vault_keyring *kr, vault_txn_hook hook, void *hook_arg,
                         uint32_t *new_epoch)
{
    int r;
    MDB_txn *txn = NULL;
    uint32_t e = kr->epoch + 1;
    if (kr->epoch == UINT32_MAX || e - kr->oldest >= VAULT_KEK_LIVE_MAX)
        return TV_ERR_RESOURCE; /* finish a rotation (its re-wrap) first */
    kek_new(kr, e);             /* a slot beyond the live ones: not in use until committed */
    if ((r = vault_db_wtxn(kr->db, &txn)) < 0)
        goto out;
    if ((r = write_keyring(kr, txn, e, kr->oldest, (const uint8_t(*)[WKEK_LEN])kr->wkek,
                           &kr->shred)) < 0)
        goto out;
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
    if (r < 0)
        goto out;
    kr->epoch = e;
    if (new_epoch)
        *new_epoch = e;
    r = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (r < 0)
        sodium_memzero(KR_KEK(kr, e), VAULT_KEY_LEN);
    return r;
}

int vault_keyring_retire(vault_keyring *kr, vault_txn_hook hook, void *hook_arg, uint32_t *erased,
                         uint64_t *dropped)
{
    int r;
    MDB_txn *txn = NULL;
    shred_list keep = {0};
    uint32_t cur = kr->epoch, n_old = cur - kr->oldest;
    uint8_t k[SHRED_KEY_LEN];

    /* Entries of versions wrapped under the current epoch stay: that KEK lives on. */
    for (size_t i = 0; i < kr->shred.n; i++)
        if (kr->shred.e[i].epoch >= cur && (r = list_push(&keep, &kr->shred.e[i])) < 0)
            goto out;
    if ((r = vault_db_wtxn(kr->db, &txn)) < 0)
        goto out;
    for (size_t i = 0; i < kr->shred.n; i++) {
        MDB_val key = {SHRED_KEY_LEN, k};
        shred_key(k, i + 1);
        if ((r = vault_db_err(mdb_del(txn, kr->db->meta, &key, NULL))) < 0 && r != TV_ERR_NOT_FOUND)
            goto out;
    }
    for (size_t i = 0; i < keep.n; i++) {
        if ((r = put_shred(kr, txn, i + 1, &keep.e[i])) < 0)
            goto out;
        shred_chain(keep.head, i + 1, &keep.e[i]);
    }
    if ((r = write_keyring(kr, txn, cur, cur,
                           (const uint8_t(*)[WKEK_LEN])kr->wkek[cur - kr->oldest], &keep)) < 0)
        goto out;
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
    if (r < 0)
        goto out;
    /* Committed: the older KEKs are gone from the store; erase them here. */
    if (erased)
        *erased = n_old;
    if (dropped)
        *dropped = kr->shred.n - keep.n;
    if (n_old) {
        memcpy(KR_KEK(kr, kr->oldest), KR_KEK(kr, cur), VAULT_KEY_LEN);
        sodium_memzero(KR_KEK(kr, kr->oldest) + VAULT_KEY_LEN, (size_t)n_old * VAULT_KEY_LEN);
        memcpy(kr->wkek[0], kr->wkek[n_old], WKEK_LEN);
    }
    kr->oldest = cur;
    list_clear(&kr->shred);
    kr->shred = keep;
    memset(&keep, 0, sizeof(keep));
    free(kr->slot);
    kr->slot = NULL;
    kr->nslot = 0;
    r = index_fit(kr, 0);
out:
    if (txn)
        mdb_txn_abort(txn);
    list_clear(&keep);
    return r;
}

int vault_keyring_gen_passphrase(char *out, size_t outlen)
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t o = 0;
    if (!out || outlen < VAULT_PASSPHRASE_LEN + 1)
        return TV_ERR_INVALID;
    for (int g = 0; g < 8; g++) {
        if (g)
            out[o++] = '-';
        for (int i = 0; i < 5; i++)
            out[o++] = b32[randombytes_uniform(32)];
    }
    out[o] = '\0';
    return 0;
}
