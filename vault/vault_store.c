/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "vault.h"
#include "vault_names.h"
#include "vault_record.h"

#define FMT       1
#define KIND_META 'M'
#define KIND_VER  'V'

#define F_DELETED   1
#define F_DESTROYED 2

/* Both record kinds are payloads of the record codec (vault_record.h),
 * which authenticates them bound to the vault, table and key. */
#define META_HDR   34 /* fmt kind current maxv created updated n */
#define META_ENTRY 25 /* version flags created changed */

#define NONCE     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define TAG       crypto_aead_xchacha20poly1305_ietf_ABYTES    /* 16 */
#define DEK_LEN   32
#define VREC_HDR  (1 + 1 + 4 + NONCE + DEK_LEN + TAG + NONCE) /* 102 */
#define VREC_OVER (VREC_HDR + TAG)
#define OFF_EPOCH 2
#define OFF_WNON  6
#define OFF_WDEK  (OFF_WNON + NONCE)
#define OFF_VNON  (OFF_WDEK + DEK_LEN + TAG)
#define OFF_CT    VREC_HDR

#define VALUE_DOMAIN "teevault/value/v1"
#define DEK_DOMAIN   "teevault/dek/v1"
#define AAD_MAX      (32 + 4 + VAULT_NAME_MAX + 8 + 2 + 4)
#define VKEY_MAX     (4 + VAULT_NAME_MAX + 8)

#define REWRAP_BATCH 256

struct vault_store {
    vault_db *db;
    vault_keyring *kr;
    size_t max_value;
    uint32_t def_maxv;
    MDB_txn *rtxn;             /* reset read txn, renewed per read */
    struct mcache_ent *mcache; /* MCACHE_SLOTS, made on first use */
    pthread_mutex_t mcache_mu;
};

typedef struct ment {
    uint64_t version, created, changed;
    uint8_t flags;
} ment;

typedef struct meta {
    uint64_t current;
    uint32_t maxv;
    uint64_t created, updated;
    uint32_t n;
    ment *e; /* malloc'ed, capacity n + 1 */
} meta;

/* ---- small helpers ---------------------------------------------------- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
    return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int check_name(const char *name, size_t *nlen)
{
    if (!name)
        return TV_ERR_INVALID;
    size_t n = strnlen(name, VAULT_NAME_MAX + 1);
    int r = vault_name_check(name, n, NULL, 0);
    if (r < 0)
        return r;
    *nlen = n;
    return 0;
}

static size_t vkey(uint8_t *buf, const char *name, size_t nlen, uint64_t version)
{
    be32(buf, (uint32_t)nlen);
    memcpy(buf + 4, name, nlen);
    be64(buf + 4 + nlen, version);
    return 4 + nlen + 8;
}

static size_t value_aad(uint8_t *buf, const char *name, size_t nlen, uint64_t version)
{
    size_t o = sizeof(VALUE_DOMAIN); /* with its NUL */
    memcpy(buf, VALUE_DOMAIN, o);
    be32(buf + o, (uint32_t)nlen);
    memcpy(buf + o + 4, name, nlen);
    o += 4 + nlen;
    be64(buf + o, version);
    buf[o + 8] = KIND_VER;
    buf[o + 9] = FMT;
    return o + 10;
}

static size_t wrap_aad(uint8_t *buf, const char *name, size_t nlen, uint64_t version,
                       uint32_t epoch)
{
    size_t o = sizeof(DEK_DOMAIN);
    memcpy(buf, DEK_DOMAIN, o);
    be32(buf + o, (uint32_t)nlen);
    memcpy(buf + o + 4, name, nlen);
    o += 4 + nlen;
    be64(buf + o, version);
    buf[o + 8] = KIND_VER;
    buf[o + 9] = FMT;
    be32(buf + o + 10, epoch);
    return o + 14;
}

/* ---- read transactions ------------------------------------------------ */

static int rtxn_begin(vault_store *s, MDB_txn **txn)
{
    if (s->rtxn) {
        MDB_txn *t = s->rtxn;
        s->rtxn = NULL;
        if (mdb_txn_renew(t) == 0) {
            *txn = t;
            return 0;
        }
        mdb_txn_abort(t);
    }
    return vault_db_rtxn(s->db, txn);
}

static void rtxn_end(vault_store *s, MDB_txn *txn)
{
    mdb_txn_reset(txn);
    if (s->rtxn)
        mdb_txn_abort(s->rtxn);
    s->rtxn = txn;
}

/* ---- metadata --------------------------------------------------------- */

/* The fields of a metadata payload whose record verified. */
static int meta_parse(const MDB_val *pl, uint32_t *n_out)
{
    const uint8_t *p = pl->mv_data;
    if (pl->mv_size < META_HDR)
        return TV_ERR_INTEGRITY;
    if (p[0] != FMT || p[1] != KIND_META)
        return TV_ERR_FORMAT;
    uint32_t n = rd32(p + 30);
    if (n > VAULT_STORE_MAX_VERSIONS_LIMIT + 1 || pl->mv_size != META_HDR + (size_t)n * META_ENTRY)
        return TV_ERR_INTEGRITY;
    *n_out = n;
    return 0;
}

/* Verify the stored metadata record of name; *pl is its payload. */
static int meta_check(const vault_store *s, const char *name, size_t nlen, const MDB_val *d,
                      MDB_val *pl, uint32_t *n_out)
{
    int r = vault_record_open(s->db, VAULT_TBL_SECRETS, name, nlen, d, pl, NULL);
    if (r < 0)
        return r;
    return meta_parse(pl, n_out);
}

/*
 * The read path's metadata records that verified, one per slot by name: a
 * Get whose record is byte for byte the one that verified last time for
 * that name skips the record tag (vault_record_open). The same bytes
 * under the same key verify again; any other record, an older one put back
 * included, is verified in full and then takes the slot. The cache lives
 * and dies with the store, so with its keyring's record key. Records above
 * MCACHE_REC bytes (more than 3 versions) are not cached.
 */
#define MCACHE_SLOTS 1024
#define MCACHE_REC   (VAULT_RECORD_OVERHEAD + META_HDR + 3 * META_ENTRY)

typedef struct mcache_ent {
    uint16_t nlen, rlen; /* rlen 0: empty */
    char name[VAULT_NAME_MAX];
    uint8_t rec[MCACHE_REC];
} mcache_ent;

static size_t mcache_slot(const char *name, size_t nlen)
{
    uint32_t h = 2166136261u; /* FNV-1a: a collision only costs a miss */
    for (size_t i = 0; i < nlen; i++)
        h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h % MCACHE_SLOTS;
}

static int meta_check_read(vault_store *s, const char *name, size_t nlen, const MDB_val *d,
                           MDB_val *pl, uint32_t *n_out)
{
    size_t i = mcache_slot(name, nlen);
    int hit = 0, r;
    pthread_mutex_lock(&s->mcache_mu);
    if (s->mcache) {
        const mcache_ent *e = &s->mcache[i];
        hit = e->rlen && e->rlen == d->mv_size && e->nlen == nlen &&
              memcmp(e->name, name, nlen) == 0 && memcmp(e->rec, d->mv_data, d->mv_size) == 0;
    }
    pthread_mutex_unlock(&s->mcache_mu);
    if (hit) {
        pl->mv_data = (uint8_t *)d->mv_data + VAULT_RECORD_HDR;
        pl->mv_size = d->mv_size - VAULT_RECORD_OVERHEAD;
        return meta_parse(pl, n_out);
    }
    if ((r = meta_check(s, name, nlen, d, pl, n_out)) < 0 || d->mv_size > MCACHE_REC)
        return r;
    pthread_mutex_lock(&s->mcache_mu);
    if (s->mcache || (s->mcache = calloc(MCACHE_SLOTS, sizeof(*s->mcache)))) {
        mcache_ent *e = &s->mcache[i];
        e->nlen = (uint16_t)nlen;
        e->rlen = (uint16_t)d->mv_size;
        memcpy(e->name, name, nlen);
        memcpy(e->rec, d->mv_data, d->mv_size);
    }
    pthread_mutex_unlock(&s->mcache_mu);
    return 0;
}

static void meta_entry_at(const MDB_val *d, uint32_t i, ment *e)
{
    const uint8_t *q = (const uint8_t *)d->mv_data + META_HDR + (size_t)i * META_ENTRY;
    e->version = rd64(q);
    e->flags = q[8];
    e->created = rd64(q + 9);
    e->changed = rd64(q + 17);
}

/* Load and verify name's metadata into m (e has room for one more entry).
 * TV_ERR_NOT_FOUND when the secret does not exist. */
static int meta_load(const vault_store *s, MDB_txn *txn, const char *name, size_t nlen, meta *m)
{
    MDB_val k = {nlen, (void *)(uintptr_t)name}, sd, d;
    uint32_t n = 0;
    int r = vault_db_err(mdb_get(txn, s->db->secrets, &k, &sd));
    if (r < 0)
        return r;
    if ((r = meta_check(s, name, nlen, &sd, &d, &n)) < 0)
        return r;
    const uint8_t *p = d.mv_data;
    memset(m, 0, sizeof(*m));
    m->current = rd64(p + 2);
    m->maxv = rd32(p + 10);
    m->created = rd64(p + 14);
    m->updated = rd64(p + 22);
    m->n = n;
    if (!(m->e = calloc((size_t)n + 1, sizeof(ment))))
        return TV_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        meta_entry_at(&d, i, &m->e[i]);
    return 0;
}

static int meta_store(const vault_store *s, MDB_txn *txn, const char *name, size_t nlen,
                      const meta *m)
{
    size_t len = META_HDR + (size_t)m->n * META_ENTRY;
    MDB_val stored;
    uint8_t *p = NULL;
    int r = vault_record_reserve(s->db, txn, VAULT_TBL_SECRETS, name, nlen, len, 0, &p, &stored);
    if (r < 0)
        return r;
    p[0] = FMT;
    p[1] = KIND_META;
    be64(p + 2, m->current);
    be32(p + 10, m->maxv);
    be64(p + 14, m->created);
    be64(p + 22, m->updated);
    be32(p + 30, m->n);
    for (uint32_t i = 0; i < m->n; i++) {
        uint8_t *q = p + META_HDR + (size_t)i * META_ENTRY;
        be64(q, m->e[i].version);
        q[8] = m->e[i].flags;
        be64(q + 9, m->e[i].created);
        be64(q + 17, m->e[i].changed);
    }
    return vault_record_seal(s->db, VAULT_TBL_SECRETS, name, nlen, &stored);
}

static int meta_find(const meta *m, uint64_t version)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].version == version)
            return (int)i;
    return -1;
}

/* ---- open / free ------------------------------------------------------ */

int vault_store_open(vault_db *db, vault_keyring *kr, const vault_store_opts *opts,
                     vault_store **out)
{
    vault_store *s = NULL;
    size_t maxval =
        opts && opts->max_value_len ? opts->max_value_len : VAULT_STORE_DEFAULT_MAX_VALUE;
    uint32_t maxv = opts && opts->default_max_versions ? opts->default_max_versions
                                                       : VAULT_STORE_DEFAULT_MAX_VERSIONS;

    if (!db || !kr || !out)
        return TV_ERR_INVALID;
    if (maxval > ((size_t)64 << 20) || maxv > VAULT_STORE_MAX_VERSIONS_LIMIT)
        return TV_ERR_INVALID;
    if (!(s = calloc(1, sizeof(*s))))
        return TV_ERR_NOMEM;
    if (pthread_mutex_init(&s->mcache_mu, NULL) != 0) {
        free(s);
        return TV_ERR_NOMEM;
    }
    s->db = db;
    s->kr = kr;
    s->max_value = maxval;
    s->def_maxv = maxv;
    *out = s;
    return 0;
}

void vault_store_free(vault_store *s)
{
    if (!s)
        return;
    if (s->rtxn)
        mdb_txn_abort(s->rtxn);
    free(s->mcache);
    pthread_mutex_destroy(&s->mcache_mu);
    free(s);
}

void vault_store_free_value(uint8_t *value)
{
    sodium_free(value); /* wipes before unmapping */
}

/* ---- version records -------------------------------------------------- */

/* Unwrap the DEK of record rec (len bytes) for (name, version) into dek. */
static int unwrap_dek(const vault_store *s, const char *name, size_t nlen, uint64_t version,
                      const uint8_t *rec, size_t len, uint8_t dek[DEK_LEN], uint32_t *epoch_out)
{
    uint8_t kek[VAULT_KEY_LEN], aad[AAD_MAX];
    unsigned long long dl = 0;
    int r;
    if (len < VREC_OVER)
        return TV_ERR_INTEGRITY;
    if (rec[0] != FMT)
        return TV_ERR_FORMAT;
    if (rec[1] != KIND_VER)
        return TV_ERR_INTEGRITY;
    uint32_t epoch = rd32(rec + OFF_EPOCH);
    if (vault_keyring_kek(s->kr, epoch, kek) < 0)
        return TV_ERR_INTEGRITY;
    size_t al = wrap_aad(aad, name, nlen, version, epoch);
    r = crypto_aead_xchacha20poly1305_ietf_decrypt(dek, &dl, NULL, rec + OFF_WDEK, DEK_LEN + TAG,
                                                   aad, al, rec + OFF_WNON, kek) == 0 &&
                dl == DEK_LEN
            ? 0
            : TV_ERR_INTEGRITY;
    sodium_memzero(kek, sizeof(kek));
    if (r == 0 && epoch_out)
        *epoch_out = epoch;
    return r;
}

/* Wrap dek under the current epoch into rec's header fields. */
static int wrap_dek(const vault_store *s, const char *name, size_t nlen, uint64_t version,
                    const uint8_t dek[DEK_LEN], uint8_t *rec)
{
    uint8_t kek[VAULT_KEY_LEN], aad[AAD_MAX];
    uint32_t epoch = vault_keyring_epoch(s->kr);
    int r;
    if ((r = vault_keyring_kek(s->kr, epoch, kek)) < 0)
        return r;
    rec[0] = FMT;
    rec[1] = KIND_VER;
    be32(rec + OFF_EPOCH, epoch);
    randombytes_buf(rec + OFF_WNON, NONCE);
    size_t al = wrap_aad(aad, name, nlen, version, epoch);
    crypto_aead_xchacha20poly1305_ietf_encrypt(rec + OFF_WDEK, NULL, dek, DEK_LEN, aad, al, NULL,
                                               rec + OFF_WNON, kek);
    sodium_memzero(kek, sizeof(kek));
    return 0;
}

/* Remove the version record under kb (if any) in txn and put its tag on
 * the keyring's shred list, so an old copy of it put back is never served.
 * The stored bytes are taken as they are (a record that no longer verifies
 * is removed and listed all the same). */
static int remove_version(vault_store *s, MDB_txn *txn, const uint8_t *kb, size_t kl)
{
    MDB_val k = {kl, (void *)(uintptr_t)kb}, d;
    int rc = mdb_get(txn, s->db->versions, &k, &d);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return vault_db_err(rc);
    if (d.mv_size >= VAULT_RECORD_OVERHEAD + VREC_OVER) {
        const uint8_t *p = d.mv_data;
        uint8_t tag[VAULT_RECORD_TAG];
        uint32_t epoch = rd32(p + VAULT_RECORD_HDR + OFF_EPOCH);
        int r;
        memcpy(tag, p + d.mv_size - VAULT_RECORD_TAG, sizeof(tag));
        if ((r = vault_keyring_shred(s->kr, txn, epoch, tag)) < 0)
            return r;
    }
    return vault_db_err(mdb_del(txn, s->db->versions, &k, NULL));
}

/* A version record read back must not be one that was destroyed. */
static int check_not_shredded(const vault_store *s, const uint8_t *kb, size_t kl,
                              const MDB_val *payload)
{
    if (!vault_keyring_shredded(s->kr, vault_record_tag_of(payload)))
        return 0;
    vault_record_log_bad(VAULT_TBL_VERSIONS, kb, kl,
                         "a destroyed version's record was put back (restored from a copy?)");
    return TV_ERR_INTEGRITY;
}

/* ---- get -------------------------------------------------------------- */

static int do_get(vault_store *s, const char *name, uint64_t version, uint8_t *buf, size_t cap,
                  uint8_t **alloc_out, size_t *value_len, uint64_t *version_out)
{
    int r = TV_ERR_INTERNAL;
    size_t nlen = 0;
    MDB_txn *txn = NULL;
    MDB_val k, sd, d;
    uint32_t n = 0;
    uint64_t v = 0;
    uint8_t kb[VKEY_MAX], aad[AAD_MAX];
    uint8_t dek[DEK_LEN];
    uint8_t *out = NULL;
    unsigned long long ml = 0;

    if ((r = check_name(name, &nlen)) < 0)
        return r;
    if ((r = rtxn_begin(s, &txn)) < 0)
        return r;
    k.mv_size = nlen;
    k.mv_data = (void *)(uintptr_t)name;
    if ((r = vault_db_err(mdb_get(txn, s->db->secrets, &k, &sd))) < 0)
        goto out;
    if ((r = meta_check_read(s, name, nlen, &sd, &d, &n)) < 0)
        goto out;
    {
        ment e;
        if (version == 0) {
            int found = 0;
            for (uint32_t i = n; i-- > 0;) {
                meta_entry_at(&d, i, &e);
                if (e.flags == 0) {
                    v = e.version;
                    found = 1;
                    break;
                }
            }
            if (!found) {
                if (n == 0) {
                    r = TV_ERR_NOT_FOUND;
                } else {
                    meta_entry_at(&d, n - 1, &e);
                    r = (e.flags & F_DESTROYED) ? TV_ERR_DESTROYED : TV_ERR_DELETED;
                }
                goto out;
            }
            /* A version record beyond `current` means the metadata was
             * rolled back to an older state. */
            MDB_val sk = {vkey(kb, name, nlen, rd64((const uint8_t *)d.mv_data + 2) + 1), kb}, nd;
            int rc = mdb_get(txn, s->db->versions, &sk, &nd);
            if (rc == 0) {
                r = TV_ERR_INTEGRITY;
                goto out;
            }
            if (rc != MDB_NOTFOUND) {
                r = vault_db_err(rc);
                goto out;
            }
        } else {
            uint32_t i;
            for (i = 0; i < n; i++) {
                meta_entry_at(&d, i, &e);
                if (e.version == version)
                    break;
            }
            if (i == n) {
                r = TV_ERR_NOT_FOUND;
                goto out;
            }
            if (e.flags & F_DESTROYED) {
                r = TV_ERR_DESTROYED;
                goto out;
            }
            if (e.flags & F_DELETED) {
                r = TV_ERR_DELETED;
                goto out;
            }
            v = version;
        }
    }
    k.mv_size = vkey(kb, name, nlen, v);
    k.mv_data = kb;
    r = vault_record_get(s->db, txn, VAULT_TBL_VERSIONS, kb, k.mv_size, &d, NULL);
    if (r == TV_ERR_NOT_FOUND)
        r = TV_ERR_INTEGRITY; /* metadata says live, record is gone */
    if (r == 0)
        r = check_not_shredded(s, kb, k.mv_size, &d);
    if (r < 0)
        goto out;
    if ((r = unwrap_dek(s, name, nlen, v, d.mv_data, d.mv_size, dek, NULL)) < 0)
        goto out;
    size_t vl = d.mv_size - VREC_OVER;
    if (alloc_out) {
        if (!(out = sodium_malloc(vl ? vl : 1))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
    } else {
        if (cap < vl) {
            *value_len = vl;
            r = TV_ERR_TOO_LARGE;
            goto out;
        }
        out = buf;
    }
    {
        const uint8_t *rec = d.mv_data;
        size_t al = value_aad(aad, name, nlen, v);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &ml, NULL, rec + OFF_CT, vl + TAG, aad,
                                                       al, rec + OFF_VNON, dek) != 0 ||
            ml != vl) {
            sodium_memzero(out, vl);
            r = TV_ERR_INTEGRITY;
            goto out;
        }
    }
    if (alloc_out) {
        *alloc_out = out;
        out = NULL;
    }
    *value_len = vl;
    if (version_out)
        *version_out = v;
    r = 0;
out:
    sodium_memzero(dek, sizeof(dek));
    if (alloc_out)
        sodium_free(out);
    rtxn_end(s, txn);
    return r;
}

int vault_store_get(vault_store *s, const char *name, uint64_t version, uint8_t **value,
                    size_t *value_len, uint64_t *version_out)
{
    return do_get(s, name, version, NULL, 0, value, value_len, version_out);
}

int vault_store_get_into(vault_store *s, const char *name, uint64_t version, uint8_t *buf,
                         size_t cap, size_t *value_len, uint64_t *version_out)
{
    return do_get(s, name, version, buf, cap, NULL, value_len, version_out);
}

/* ---- put -------------------------------------------------------------- */

int vault_store_put(vault_store *s, const char *name, const uint8_t *value, size_t value_len,
                    const vault_put_opts *opts, vault_txn_hook hook, void *hook_arg,
                    uint64_t *version)
{
    int r = TV_ERR_INTERNAL;
    size_t nlen = 0;
    MDB_txn *txn = NULL;
    meta m = {0};
    int64_t cas = opts ? opts->cas : VAULT_CAS_NONE;
    uint32_t maxv = opts ? opts->max_versions : 0;
    uint64_t now = now_ms(), ver;
    uint8_t kb[VKEY_MAX], aad[AAD_MAX], dek[DEK_LEN];

    if ((r = check_name(name, &nlen)) < 0)
        return r;
    if (value_len > s->max_value)
        return TV_ERR_TOO_LARGE;
    if (!value && value_len)
        return TV_ERR_INVALID;
    if (!value)
        value = (const uint8_t *)""; /* protobuf gives NULL for empty bytes */
    if (maxv > VAULT_STORE_MAX_VERSIONS_LIMIT || cas < VAULT_CAS_NONE)
        return TV_ERR_INVALID;
    if (opts && opts->txn)
        txn = opts->txn;
    else if ((r = vault_db_wtxn(s->db, &txn)) < 0)
        return r;
    r = meta_load(s, txn, name, nlen, &m);
    if (r == TV_ERR_NOT_FOUND) {
        if (cas > 0) {
            r = TV_ERR_CAS;
            goto out;
        }
        memset(&m, 0, sizeof(m));
        if (!(m.e = calloc(1, sizeof(ment)))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        m.maxv = s->def_maxv;
        m.created = now;
    } else if (r < 0) {
        goto out;
    } else if (cas == 0 || (cas > 0 && m.current != (uint64_t)cas)) {
        r = TV_ERR_CAS;
        goto out;
    }
    if (maxv && maxv < m.maxv && m.n + 1 > maxv && opts && opts->keep_history) {
        r = TV_ERR_DENIED; /* lowering the setting would destroy versions */
        goto out;
    }
    if (maxv)
        m.maxv = maxv;
    if (m.current == UINT64_MAX) {
        r = TV_ERR_RESOURCE;
        goto out;
    }
    ver = m.current + 1;
    m.e[m.n].version = ver;
    m.e[m.n].flags = 0;
    m.e[m.n].created = now;
    m.e[m.n].changed = 0;
    m.n++;
    m.current = ver;
    m.updated = now;
    /* Prune the oldest versions beyond max_versions. */
    while (m.n > m.maxv) {
        if ((r = remove_version(s, txn, kb, vkey(kb, name, nlen, m.e[0].version))) < 0)
            goto out;
        memmove(m.e, m.e + 1, (size_t)(m.n - 1) * sizeof(ment));
        m.n--;
    }
    {
        size_t kl = vkey(kb, name, nlen, ver);
        MDB_val stored;
        uint8_t *rec = NULL;
        r = vault_record_reserve(s->db, txn, VAULT_TBL_VERSIONS, kb, kl, VREC_OVER + value_len,
                                 MDB_NOOVERWRITE, &rec, &stored);
        if (r == TV_ERR_EXISTS) {
            r = TV_ERR_INTEGRITY; /* a record for a never-issued version: rollback */
            goto out;
        }
        if (r < 0)
            goto out;
        randombytes_buf(dek, DEK_LEN);
        if ((r = wrap_dek(s, name, nlen, ver, dek, rec)) < 0)
            goto out;
        randombytes_buf(rec + OFF_VNON, NONCE);
        size_t al = value_aad(aad, name, nlen, ver);
        crypto_aead_xchacha20poly1305_ietf_encrypt(rec + OFF_CT, NULL, value, value_len, aad, al,
                                                   NULL, rec + OFF_VNON, dek);
        if ((r = vault_record_seal(s->db, VAULT_TBL_VERSIONS, kb, kl, &stored)) < 0)
            goto out;
    }
    if ((r = meta_store(s, txn, name, nlen, &m)) < 0)
        goto out;
    if (version)
        *version = ver; /* before the hook: the audit record names it */
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    if (opts && opts->txn) {
        txn = NULL; /* the caller's to commit */
    } else {
        r = vault_db_commit(txn);
        txn = NULL;
        if (r < 0)
            goto out;
    }
    r = 0;
out:
    sodium_memzero(dek, sizeof(dek));
    if (txn && !(opts && opts->txn))
        mdb_txn_abort(txn);
    free(m.e);
    return r;
}

/* ---- delete / undelete / destroy -------------------------------------- */

enum mut_op { OP_DELETE, OP_UNDELETE, OP_DESTROY };

static int mutate(vault_store *s, const char *name, const uint64_t *versions, size_t nv,
                  enum mut_op op, vault_txn_hook hook, void *hook_arg)
{
    int r = TV_ERR_INTERNAL;
    size_t nlen = 0;
    MDB_txn *txn = NULL;
    meta m = {0};
    uint64_t now = now_ms();
    uint8_t kb[VKEY_MAX];

    if ((r = check_name(name, &nlen)) < 0)
        return r;
    if (nv && !versions)
        return TV_ERR_INVALID;
    if (op == OP_UNDELETE && nv == 0)
        return TV_ERR_INVALID;
    if ((r = vault_db_wtxn(s->db, &txn)) < 0)
        return r;
    if ((r = meta_load(s, txn, name, nlen, &m)) < 0)
        goto out;
    /* Resolve the targets first so a missing version changes nothing. */
    for (size_t j = 0; j < nv; j++) {
        if (meta_find(&m, versions[j]) < 0) {
            r = TV_ERR_NOT_FOUND;
            goto out;
        }
    }
    for (uint32_t i = 0; i < m.n; i++) {
        ment *e = &m.e[i];
        int target = 0;
        if (nv == 0) {
            if (op == OP_DESTROY)
                target = 1;
        } else {
            for (size_t j = 0; j < nv; j++)
                if (versions[j] == e->version)
                    target = 1;
        }
        if (!target)
            continue;
        switch (op) {
        case OP_DELETE:
            if (e->flags == 0) {
                e->flags |= F_DELETED;
                e->changed = now;
            }
            break;
        case OP_UNDELETE:
            if (e->flags & F_DESTROYED) {
                r = TV_ERR_DESTROYED;
                goto out;
            }
            if (e->flags & F_DELETED) {
                e->flags &= (uint8_t)~F_DELETED;
                e->changed = now;
            }
            break;
        case OP_DESTROY:
            if (!(e->flags & F_DESTROYED)) {
                if ((r = remove_version(s, txn, kb, vkey(kb, name, nlen, e->version))) < 0)
                    goto out;
                e->flags |= F_DESTROYED;
                e->changed = now;
            }
            break;
        }
    }
    if (op == OP_DELETE && nv == 0) {
        /* The latest live version. */
        uint32_t i = m.n;
        while (i > 0 && m.e[i - 1].flags != 0)
            i--;
        if (i == 0) {
            r = TV_ERR_NOT_FOUND;
            goto out;
        }
        m.e[i - 1].flags |= F_DELETED;
        m.e[i - 1].changed = now;
    }
    m.updated = now;
    if ((r = meta_store(s, txn, name, nlen, &m)) < 0)
        goto out;
    if (hook && (r = hook(hook_arg, txn)) < 0)
        goto out;
    r = vault_db_commit(txn);
    txn = NULL;
out:
    if (txn)
        mdb_txn_abort(txn);
    free(m.e);
    return r;
}

int vault_store_delete(vault_store *s, const char *name, const uint64_t *versions, size_t n,
                       vault_txn_hook hook, void *hook_arg)
{
    return mutate(s, name, versions, n, OP_DELETE, hook, hook_arg);
}

int vault_store_undelete(vault_store *s, const char *name, const uint64_t *versions, size_t n,
                         vault_txn_hook hook, void *hook_arg)
{
    return mutate(s, name, versions, n, OP_UNDELETE, hook, hook_arg);
}

int vault_store_destroy(vault_store *s, const char *name, const uint64_t *versions, size_t n,
                        vault_txn_hook hook, void *hook_arg)
{
    return mutate(s, name, versions, n, OP_DESTROY, hook, hook_arg);
}

/* ---- describe --------------------------------------------------------- */

int vault_store_describe(vault_store *s, const char *name, vault_secret_info *out)
{
    int r;
    size_t nlen = 0;
    MDB_txn *txn = NULL;
    meta m = {0};
    vault_version_info *vi = NULL;

    if ((r = check_name(name, &nlen)) < 0)
        return r;
    if ((r = rtxn_begin(s, &txn)) < 0)
        return r;
    if ((r = meta_load(s, txn, name, nlen, &m)) < 0)
        goto out;
    if (!(vi = calloc(m.n ? m.n : 1, sizeof(*vi)))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < m.n; i++) {
        vi[i].kek_epoch = 0;
        if (!(m.e[i].flags & F_DESTROYED)) {
            uint8_t kb[VKEY_MAX];
            size_t kl = vkey(kb, name, nlen, m.e[i].version);
            MDB_val d;
            r = vault_record_get(s->db, txn, VAULT_TBL_VERSIONS, kb, kl, &d, NULL);
            if (r == 0 && d.mv_size >= VREC_OVER)
                vi[i].kek_epoch = rd32((const uint8_t *)d.mv_data + OFF_EPOCH);
            else if (r < 0 && r != TV_ERR_NOT_FOUND)
                goto out;
        }
        vi[i].version = m.e[i].version;
        vi[i].created_ms = m.e[i].created;
        vi[i].changed_ms = m.e[i].changed;
        vi[i].deleted = (m.e[i].flags & F_DELETED) != 0;
        vi[i].destroyed = (m.e[i].flags & F_DESTROYED) != 0;
    }
    out->current = m.current;
    out->max_versions = m.maxv;
    out->created_ms = m.created;
    out->updated_ms = m.updated;
    out->n_versions = m.n;
    out->versions = vi;
    vi = NULL;
    r = 0;
out:
    rtxn_end(s, txn);
    free(vi);
    free(m.e);
    return r;
}

int vault_store_exists(vault_store *s, const char *name)
{
    int r;
    size_t nlen = 0;
    uint32_t n = 0;
    MDB_txn *txn = NULL;
    MDB_val k, d, pl;
    if ((r = check_name(name, &nlen)) < 0)
        return r;
    if ((r = rtxn_begin(s, &txn)) < 0)
        return r;
    k.mv_size = nlen;
    k.mv_data = (void *)(uintptr_t)name;
    r = vault_db_err(mdb_get(txn, s->db->secrets, &k, &d));
    if (r == 0)
        r = meta_check(s, name, nlen, &d, &pl, &n);
    rtxn_end(s, txn);
    if (r == TV_ERR_NOT_FOUND)
        return 0;
    return r < 0 ? r : 1;
}

void vault_secret_info_clear(vault_secret_info *info)
{
    if (!info)
        return;
    free(info->versions);
    memset(info, 0, sizeof(*info));
}

/* ---- list ------------------------------------------------------------- */

void vault_list_clear(vault_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->current);
    free(l->next_cursor);
    memset(l, 0, sizeof(*l));
}

/* Cursor = "c1." + hex(last name). Opaque to clients. */
static char *make_cursor(const uint8_t *name, size_t nlen)
{
    char *c = malloc(3 + 2 * nlen + 1);
    if (!c)
        return NULL;
    memcpy(c, "c1.", 3);
    sodium_bin2hex(c + 3, 2 * nlen + 1, name, nlen);
    return c;
}

static int parse_cursor(const char *c, uint8_t *out, size_t *olen)
{
    size_t cl = strnlen(c, 3 + 2 * VAULT_NAME_MAX + 1), bl = 0;
    if (cl < 5 || cl > 3 + 2 * VAULT_NAME_MAX || memcmp(c, "c1.", 3) != 0 || (cl - 3) % 2)
        return TV_ERR_INVALID;
    if (sodium_hex2bin(out, VAULT_NAME_MAX, c + 3, cl - 3, NULL, &bl, NULL) != 0 ||
        bl != (cl - 3) / 2)
        return TV_ERR_INVALID;
    *olen = bl;
    return 0;
}

int vault_store_list(vault_store *s, const char *prefix, const char *cursor, size_t limit,
                     vault_list *out)
{
    int r = TV_ERR_INTERNAL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    vault_list l = {0};
    size_t plen = prefix ? strnlen(prefix, VAULT_NAME_MAX + 1) : 0;
    uint8_t cb[VAULT_NAME_MAX];
    size_t cblen = 0;
    int have_cursor = cursor && cursor[0];
    MDB_val k, d;
    MDB_cursor_op op;
    int rc;

    if ((r = vault_prefix_check(prefix, plen, NULL, 0)) < 0)
        return r;
    if (limit == 0)
        limit = VAULT_STORE_LIST_DEFAULT;
    if (limit > VAULT_STORE_LIST_MAX)
        limit = VAULT_STORE_LIST_MAX;
    if (have_cursor) {
        if ((r = parse_cursor(cursor, cb, &cblen)) < 0)
            return r;
        if (cblen < plen || memcmp(cb, prefix, plen) != 0)
            return TV_ERR_INVALID;
    }
    if (!(l.names = calloc(limit, sizeof(char *))) ||
        !(l.current = calloc(limit, sizeof(uint64_t)))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if ((r = rtxn_begin(s, &txn)) < 0)
        goto out;
    if ((r = vault_db_err(mdb_cursor_open(txn, s->db->secrets, &cur))) < 0)
        goto out;
    if (have_cursor) {
        k.mv_size = cblen;
        k.mv_data = cb;
        op = MDB_SET_RANGE;
    } else if (plen) {
        k.mv_size = plen;
        k.mv_data = (void *)(uintptr_t)prefix;
        op = MDB_SET_RANGE;
    } else {
        op = MDB_FIRST;
    }
    for (rc = mdb_cursor_get(cur, &k, &d, op); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (have_cursor && k.mv_size == cblen && memcmp(k.mv_data, cb, cblen) == 0)
            continue;
        if (l.n == limit) {
            /* More remain: hand out a cursor at the last name returned. */
            if (!(l.next_cursor =
                      make_cursor((const uint8_t *)l.names[l.n - 1], strlen(l.names[l.n - 1])))) {
                r = TV_ERR_NOMEM;
                goto out;
            }
            break;
        }
        uint32_t n = 0;
        if (k.mv_size > VAULT_NAME_MAX) {
            r = TV_ERR_INTEGRITY;
            goto out;
        }
        MDB_val pl;
        if ((r = meta_check(s, k.mv_data, k.mv_size, &d, &pl, &n)) < 0)
            goto out;
        if (!(l.names[l.n] = malloc(k.mv_size + 1))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        memcpy(l.names[l.n], k.mv_data, k.mv_size);
        l.names[l.n][k.mv_size] = '\0';
        l.current[l.n] = rd64((const uint8_t *)pl.mv_data + 2);
        l.n++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        r = vault_db_err(rc);
        goto out;
    }
    *out = l;
    memset(&l, 0, sizeof(l));
    r = 0;
out:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        rtxn_end(s, txn);
    vault_list_clear(&l);
    return r;
}

/* ---- KEK re-wrap ------------------------------------------------------ */

_Static_assert(sizeof(((vault_rewrap_pos *)0)->last) == VKEY_MAX, "vault_rewrap_pos.last");

int vault_store_rewrap_step(vault_store *s, vault_rewrap_pos *pos, size_t max_visit)
{
    int r = TV_ERR_INTERNAL;
    uint8_t *copy = NULL;
    size_t copy_cap = 0;
    uint8_t dek[DEK_LEN];
    uint32_t cur_epoch = vault_keyring_epoch(s->kr);
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    int rc;
    size_t visited = 0;
    uint64_t count = 0;
    vault_rewrap_pos np = *pos;

    if (pos->done)
        return 0;
    if ((r = vault_db_wtxn(s->db, &txn)) < 0)
        return r;
    if ((r = vault_db_err(mdb_cursor_open(txn, s->db->versions, &cur))) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    if (np.started) {
        k.mv_size = np.last_len;
        k.mv_data = np.last;
        rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
        if (rc == 0 && k.mv_size == np.last_len && memcmp(k.mv_data, np.last, np.last_len) == 0)
            rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    } else {
        rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    }
    r = 0;
    for (; rc == 0 && visited < max_visit; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size < 13 || k.mv_size > VKEY_MAX || rd32(kp) != k.mv_size - 12) {
            r = TV_ERR_INTEGRITY;
            break;
        }
        memcpy(np.last, kp, k.mv_size);
        np.last_len = k.mv_size;
        np.started = 1;
        visited++;
        MDB_val pl;
        if ((r = vault_record_open(s->db, VAULT_TBL_VERSIONS, np.last, np.last_len, &d, &pl,
                                   NULL)) < 0)
            break;
        if (vault_keyring_shredded(s->kr, vault_record_tag_of(&pl))) {
            /* A destroyed version's record put back: remove it again (it
             * must not be re-wrapped into a tag the list does not know). */
            vault_record_log_bad(VAULT_TBL_VERSIONS, np.last, np.last_len,
                                 "a destroyed version's record was put back; removed by rotate");
            if ((r = vault_db_err(mdb_cursor_del(cur, 0))) < 0)
                break;
            continue;
        }
        if (pl.mv_size < VREC_OVER) {
            r = TV_ERR_INTEGRITY;
            break;
        }
        if (rd32((const uint8_t *)pl.mv_data + OFF_EPOCH) == cur_epoch)
            continue;
        size_t nlen = k.mv_size - 12;
        const char *name = (const char *)np.last + 4;
        uint64_t ver = rd64(np.last + 4 + nlen);
        if ((r = unwrap_dek(s, name, nlen, ver, pl.mv_data, pl.mv_size, dek, NULL)) < 0)
            break;
        if (copy_cap < d.mv_size) {
            free(copy);
            if (!(copy = malloc(d.mv_size))) {
                copy_cap = 0;
                r = TV_ERR_NOMEM;
                break;
            }
            copy_cap = d.mv_size;
        }
        size_t len = d.mv_size;
        memcpy(copy, d.mv_data, len);
        if ((r = wrap_dek(s, name, nlen, ver, dek, copy + VAULT_RECORD_HDR)) < 0)
            break;
        sodium_memzero(dek, sizeof(dek));
        MDB_val nd = {len, copy};
        if ((r = vault_record_seal(s->db, VAULT_TBL_VERSIONS, np.last, np.last_len, &nd)) < 0)
            break;
        MDB_val kk = {np.last_len, np.last};
        if ((r = vault_db_err(mdb_cursor_put(cur, &kk, &nd, MDB_CURRENT))) < 0)
            break;
        count++;
    }
    sodium_memzero(dek, sizeof(dek));
    if (r == 0 && rc != 0 && rc != MDB_NOTFOUND)
        r = vault_db_err(rc);
    mdb_cursor_close(cur);
    if (r < 0) {
        mdb_txn_abort(txn);
        goto out;
    }
    if ((r = vault_db_commit(txn)) < 0)
        goto out;
    np.done = rc == MDB_NOTFOUND;
    np.rewrapped += count;
    np.visited += visited;
    *pos = np;
    r = 0;
out:
    free(copy);
    return r;
}

int vault_store_rewrap_all(vault_store *s, uint64_t *rewrapped)
{
    int r;
    vault_rewrap_pos pos;

    memset(&pos, 0, sizeof(pos));
    while (!pos.done)
        if ((r = vault_store_rewrap_step(s, &pos, REWRAP_BATCH)) < 0)
            return r;
    if (rewrapped)
        *rewrapped = pos.rewrapped;
    return 0;
}
