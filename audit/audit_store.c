/* SPDX-License-Identifier: Apache-2.0 */
/* audit_store: the chain and checkpoints in LMDB named databases. */
#include "audit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit_lmdb.h"
#include "proto_buf.h"

struct audit_log {
    MDB_env *env;
    MDB_dbi recs;  /* "audit" */
    MDB_dbi ckpts; /* "audit_ckpt" */
    MDB_dbi meta;  /* "audit_meta" */
    uint8_t *sk;   /* sodium_malloc'd Ed25519 secret key, NULL until set */
    uint8_t pk[AUDIT_PK_LEN];
    uint8_t *mk; /* sodium_malloc'd head MAC key, NULL until set */
};

#define HEAD_MAC_KEY    "head.mac"
#define HEAD_MAC_DOMAIN "teevault-audit-head-v1"
#define HEAD_MAC_LEN    (8 + AUDIT_HASH_LEN + 32)

#define CKPT_VAL_LEN (1 + 8 + 8 + AUDIT_HASH_LEN + 8 + AUDIT_SIG_LEN)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int audit_log_open(MDB_env *env, audit_log **out)
{
    int r = TV_ERR_INTERNAL;
    MDB_txn *txn = NULL;
    audit_log *log = NULL;
    MDB_val k, val;
    uint8_t fmt = AUDIT_FORMAT;

    if (!env || !out)
        return TV_ERR_INVALID;
    if ((log = calloc(1, sizeof(*log))) == NULL)
        return TV_ERR_NOMEM;
    log->env = env;
    if ((r = audit_mdb_err(mdb_txn_begin(env, NULL, 0, &txn))) < 0)
        goto out;
    if ((r = audit_mdb_err(mdb_dbi_open(txn, "audit", MDB_CREATE, &log->recs))) < 0 ||
        (r = audit_mdb_err(mdb_dbi_open(txn, "audit_ckpt", MDB_CREATE, &log->ckpts))) < 0 ||
        (r = audit_mdb_err(mdb_dbi_open(txn, "audit_meta", MDB_CREATE, &log->meta))) < 0)
        goto out;
    k.mv_data = (void *)"format";
    k.mv_size = 6;
    int g = mdb_get(txn, log->meta, &k, &val);
    if (g == 0) {
        if (val.mv_size != 1 || *(const uint8_t *)val.mv_data != AUDIT_FORMAT) {
            r = TV_ERR_FORMAT;
            goto out;
        }
    } else if (g == MDB_NOTFOUND) {
        val.mv_data = &fmt;
        val.mv_size = 1;
        if ((r = audit_mdb_err(mdb_put(txn, log->meta, &k, &val, 0))) < 0)
            goto out;
    } else {
        r = audit_mdb_err(g);
        goto out;
    }
    r = audit_mdb_err(mdb_txn_commit(txn));
    txn = NULL;
    if (r < 0)
        goto out;
    *out = log;
    log = NULL;
    r = TV_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    free(log);
    return r;
}

int audit_log_set_seed(audit_log *log, const uint8_t seed[AUDIT_SEED_LEN])
{
    uint8_t *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    uint8_t pk[AUDIT_PK_LEN];
    if (!sk)
        return TV_ERR_NOMEM;
    if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
        sodium_free(sk);
        return TV_ERR_CRYPTO;
    }
    sodium_mprotect_readonly(sk);
    if (log->sk)
        sodium_free(log->sk); /* sodium_free wipes */
    log->sk = sk;
    memcpy(log->pk, pk, sizeof(pk));
    return TV_OK;
}

int audit_log_has_key(const audit_log *log)
{
    return log && log->sk != NULL;
}

int audit_log_pubkey(const audit_log *log, uint8_t pk[AUDIT_PK_LEN])
{
    if (!log || !log->sk)
        return TV_ERR_NOT_INITIALISED;
    memcpy(pk, log->pk, AUDIT_PK_LEN);
    return TV_OK;
}

int audit_log_stored_pubkey(const audit_log *log, MDB_txn *txn, uint8_t pk[AUDIT_PK_LEN])
{
    MDB_val k = {6, (void *)(uintptr_t) "pubkey"}, val;
    int r = audit_mdb_err(mdb_get(txn, log->meta, &k, &val));
    if (r < 0)
        return r;
    if (val.mv_size != AUDIT_PK_LEN)
        return TV_ERR_INTEGRITY;
    memcpy(pk, val.mv_data, AUDIT_PK_LEN);
    return TV_OK;
}

void audit_log_close(audit_log *log)
{
    if (!log)
        return;
    if (log->sk)
        sodium_free(log->sk);
    if (log->mk)
        sodium_free(log->mk);
    sodium_memzero(log, sizeof(*log));
    free(log);
}

/* Stored record value: canonical || prev_hash || hash. */
static int decode_value(const MDB_val *val, uint64_t want_seq, audit_record *out)
{
    proto_buf b;
    audit_record r;
    proto_buf_wrap(&b, val->mv_data, val->mv_size);
    if (audit_record_decode(&b, &r) < 0)
        return TV_ERR_INTEGRITY;
    if (proto_buf_avail(&b) != 2 * AUDIT_HASH_LEN || r.seq != want_seq)
        return TV_ERR_INTEGRITY;
    memcpy(r.prev_hash, proto_buf_ptr(&b), AUDIT_HASH_LEN);
    memcpy(r.hash, proto_buf_ptr(&b) + AUDIT_HASH_LEN, AUDIT_HASH_LEN);
    *out = r;
    return TV_OK;
}

int audit_head(audit_log *log, MDB_txn *txn, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
    int r = TV_ERR_INTERNAL;
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    uint64_t s = 0;
    uint8_t h[AUDIT_HASH_LEN] = {0};

    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->recs, &cur))) < 0)
        return r;
    int g = mdb_cursor_get(cur, &k, &val, MDB_LAST);
    if (g == 0) {
        if (k.mv_size != 8 || val.mv_size < 2 * AUDIT_HASH_LEN) {
            r = TV_ERR_INTEGRITY;
            goto out;
        }
        s = proto_be64(k.mv_data);
        memcpy(h, (const uint8_t *)val.mv_data + val.mv_size - AUDIT_HASH_LEN, AUDIT_HASH_LEN);
    } else if (g != MDB_NOTFOUND) {
        r = audit_mdb_err(g);
        goto out;
    }
    if (seq)
        *seq = s;
    if (hash)
        memcpy(hash, h, AUDIT_HASH_LEN);
    r = TV_OK;
out:
    mdb_cursor_close(cur);
    return r;
}

int audit_record_seal(audit_record *rec, uint64_t head_seq, const uint8_t head_hash[AUDIT_HASH_LEN],
                      proto_buf *out)
{
    int r = TV_ERR_INTERNAL;
    audit_record w = *rec;
    size_t len0 = out->len;

    w.seq = head_seq + 1;
    memcpy(w.prev_hash, head_hash, AUDIT_HASH_LEN);
    if (w.time_ns == 0)
        w.time_ns = now_ns();
    if ((r = audit_record_encode(&w, out)) < 0 || (r = audit_record_hash(&w, w.hash)) < 0 ||
        (r = proto_buf_put(out, w.prev_hash, AUDIT_HASH_LEN)) < 0 ||
        (r = proto_buf_put(out, w.hash, AUDIT_HASH_LEN)) < 0) {
        out->len = len0;
        return r;
    }
    *rec = w;
    return TV_OK;
}

int audit_put_sealed(audit_log *log, MDB_txn *txn, uint64_t seq, const uint8_t *val, size_t len)
{
    uint8_t key[8];
    MDB_val k = {sizeof(key), key}, v = {len, (void *)(uintptr_t)val};
    int r;
    if (len < 2 * AUDIT_HASH_LEN || seq == 0)
        return TV_ERR_INVALID;
    proto_put_be64(key, seq);
    /* MDB_APPEND: keys only grow; also refuses to overwrite an existing seq. */
    if ((r = audit_mdb_err(mdb_put(txn, log->recs, &k, &v, MDB_APPEND | MDB_NOOVERWRITE))) < 0)
        return r == TV_ERR_EXISTS ? TV_ERR_INTEGRITY : r;
    return TV_OK;
}

int audit_append(audit_log *log, MDB_txn *txn, audit_record *rec)
{
    int r = TV_ERR_INTERNAL;
    audit_record w = *rec;
    uint64_t head;
    uint8_t hh[AUDIT_HASH_LEN];
    proto_buf b;

    proto_buf_init(&b, AUDIT_CANON_MAX + 2 * AUDIT_HASH_LEN);
    if ((r = audit_head(log, txn, &head, hh)) < 0 ||
        (r = audit_record_seal(&w, head, hh, &b)) < 0 ||
        (r = audit_put_sealed(log, txn, w.seq, b.d, b.len)) < 0)
        goto out;
    *rec = w;
    r = TV_OK;
out:
    proto_buf_free(&b);
    return r;
}

int audit_get(audit_log *log, MDB_txn *txn, uint64_t seq, audit_record *out)
{
    uint8_t key[8];
    MDB_val k, val;
    int r;
    proto_put_be64(key, seq);
    k.mv_data = key;
    k.mv_size = 8;
    if ((r = audit_mdb_err(mdb_get(txn, log->recs, &k, &val))) < 0)
        return r;
    return decode_value(&val, seq, out);
}

static int decode_ckpt(const MDB_val *k, const MDB_val *val, audit_checkpoint *out)
{
    const uint8_t *p = val->mv_data;
    audit_checkpoint c;
    if (k->mv_size != 8 || val->mv_size != CKPT_VAL_LEN || p[0] != AUDIT_FORMAT)
        return TV_ERR_INTEGRITY;
    c.first_seq = proto_be64(p + 1);
    c.last_seq = proto_be64(p + 9);
    memcpy(c.head_hash, p + 17, AUDIT_HASH_LEN);
    c.time_ns = (int64_t)proto_be64(p + 17 + AUDIT_HASH_LEN);
    memcpy(c.sig, p + 25 + AUDIT_HASH_LEN, AUDIT_SIG_LEN);
    if (c.last_seq != proto_be64(k->mv_data) || c.first_seq > c.last_seq)
        return TV_ERR_INTEGRITY;
    *out = c;
    return TV_OK;
}

int audit_last_checkpoint(audit_log *log, MDB_txn *txn, audit_checkpoint *c)
{
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    int r;
    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->ckpts, &cur))) < 0)
        return r;
    r = audit_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_LAST));
    if (r == 0)
        r = decode_ckpt(&k, &val, c);
    mdb_cursor_close(cur);
    return r;
}

int audit_sign_checkpoint(audit_log *log, MDB_txn *txn, uint64_t first_seq, uint64_t last_seq,
                          int64_t time_ns, audit_checkpoint *out)
{
    int r;
    audit_record rec;
    audit_checkpoint c;
    uint8_t msg[AUDIT_CKPT_MSG_LEN];
    if (!log->sk)
        return TV_ERR_NOT_INITIALISED;
    if (last_seq == 0 || first_seq > last_seq)
        return TV_ERR_INVALID;
    /* Only what verifies is signed: the chain up to last_seq recomputes from
     * a checkpoint of ours, and matches the MAC'd head (docs/AUDIT.md). */
    {
        uint64_t bad = 0;
        if ((r = audit_verify_tail(log, txn, last_seq, &bad)) < 0)
            return r;
    }
    if ((r = audit_get(log, txn, last_seq, &rec)) < 0)
        return r;
    memset(&c, 0, sizeof(c));
    c.first_seq = first_seq;
    c.last_seq = last_seq;
    memcpy(c.head_hash, rec.hash, AUDIT_HASH_LEN);
    c.time_ns = time_ns ? time_ns : now_ns();
    audit_checkpoint_message(&c, msg);
    if (crypto_sign_detached(c.sig, NULL, msg, sizeof(msg), log->sk) != 0)
        return TV_ERR_CRYPTO;
    *out = c;
    return TV_OK;
}

static int ckpt_store(audit_log *log, MDB_txn *txn, const audit_checkpoint *c, unsigned flags);

int audit_checkpoint_now(audit_log *log, MDB_txn *txn, int64_t time_ns, audit_checkpoint *out)
{
    int r;
    uint64_t head, first = 1;
    audit_checkpoint last, c;

    if (!log->sk)
        return 0;
    if ((r = audit_head(log, txn, &head, NULL)) < 0)
        return r;
    r = audit_last_checkpoint(log, txn, &last);
    if (r == 0)
        first = last.last_seq + 1;
    else if (r != TV_ERR_NOT_FOUND)
        return r;
    if (head < first)
        return 0;
    if ((r = audit_sign_checkpoint(log, txn, first, head, time_ns, &c)) < 0)
        return r;
    if ((r = ckpt_store(log, txn, &c, MDB_APPEND)) < 0)
        return r;
    if (out)
        *out = c;
    return 1;
}

/* Store signed checkpoint c (keyed by last_seq) and the key that signed it. */
static int ckpt_store(audit_log *log, MDB_txn *txn, const audit_checkpoint *c, unsigned flags)
{
    uint8_t key[8], v[CKPT_VAL_LEN];
    MDB_val k, val;
    int r;

    v[0] = AUDIT_FORMAT;
    proto_put_be64(v + 1, c->first_seq);
    proto_put_be64(v + 9, c->last_seq);
    memcpy(v + 17, c->head_hash, AUDIT_HASH_LEN);
    proto_put_be64(v + 17 + AUDIT_HASH_LEN, (uint64_t)c->time_ns);
    memcpy(v + 25 + AUDIT_HASH_LEN, c->sig, AUDIT_SIG_LEN);
    proto_put_be64(key, c->last_seq);
    k.mv_data = key;
    k.mv_size = 8;
    val.mv_data = v;
    val.mv_size = sizeof(v);
    if ((r = audit_mdb_err(mdb_put(txn, log->ckpts, &k, &val, flags))) < 0)
        return r;
    /* Remember which key signs, so an operator can see a key change. */
    k.mv_data = (void *)"pubkey";
    k.mv_size = 6;
    val.mv_data = log->pk;
    val.mv_size = AUDIT_PK_LEN;
    return audit_mdb_err(mdb_put(txn, log->meta, &k, &val, 0));
}

int audit_first_seq(audit_log *log, MDB_txn *txn, uint64_t *seq)
{
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    int r, g;
    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->recs, &cur))) < 0)
        return r;
    g = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
    if (g == 0 && k.mv_size != 8)
        r = TV_ERR_INTEGRITY;
    else if (g == 0)
        *seq = proto_be64(k.mv_data);
    else if (g == MDB_NOTFOUND)
        *seq = 0;
    else
        r = audit_mdb_err(g);
    mdb_cursor_close(cur);
    return r;
}

int audit_prune(audit_log *log, MDB_txn *txn, uint64_t upto, const uint8_t hash[AUDIT_HASH_LEN],
                uint64_t max, uint64_t *dropped, uint64_t *first_kept)
{
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    audit_record rec;
    audit_checkpoint c;
    uint64_t head = 0, first = 0, n = 0, bad = 0;
    uint8_t key[8];
    int r, g;

    if (!log || !txn || !hash || !dropped || !first_kept || max == 0)
        return TV_ERR_INVALID;
    if (!log->sk)
        return TV_ERR_NOT_INITIALISED;
    if ((r = audit_head(log, txn, &head, NULL)) < 0 || (r = audit_first_seq(log, txn, &first)) < 0)
        return r;
    if (upto == 0 || upto > head || upto < first)
        return TV_ERR_INVALID;
    /* The caller's archive must end in this very record... */
    if ((r = audit_get(log, txn, upto, &rec)) < 0)
        return r;
    if (sodium_memcmp(rec.hash, hash, AUDIT_HASH_LEN) != 0)
        return TV_ERR_CAS;
    /* ...which must verify from a checkpoint of ours, and stays behind as
     * the anchor with a stored checkpoint signed over it (so the tail check
     * and every later export start there). */
    if ((r = audit_verify_tail(log, txn, upto, &bad)) < 0)
        return r;
    proto_put_be64(key, upto);
    k.mv_data = key;
    k.mv_size = 8;
    g = mdb_get(txn, log->ckpts, &k, &val);
    if (g == MDB_NOTFOUND) {
        if ((r = audit_sign_checkpoint(log, txn, first, upto, 0, &c)) < 0 ||
            (r = ckpt_store(log, txn, &c, MDB_NOOVERWRITE)) < 0)
            return r;
    } else if ((r = audit_mdb_err(g)) < 0) {
        return r;
    }
    /* Drop at most max records from the bottom, then the checkpoints below
     * the anchor. */
    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->recs, &cur))) < 0)
        return r;
    while (n < max && (g = mdb_cursor_get(cur, &k, &val, MDB_FIRST)) == 0) {
        if (k.mv_size != 8) {
            r = TV_ERR_INTEGRITY;
            goto out;
        }
        if (proto_be64(k.mv_data) >= upto)
            break;
        if ((r = audit_mdb_err(mdb_cursor_del(cur, 0))) < 0)
            goto out;
        n++;
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if ((r = audit_first_seq(log, txn, &first)) < 0)
        goto out;
    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->ckpts, &cur))) < 0)
        goto out;
    while ((g = mdb_cursor_get(cur, &k, &val, MDB_FIRST)) == 0) {
        if (k.mv_size != 8) {
            r = TV_ERR_INTEGRITY;
            goto out;
        }
        if (proto_be64(k.mv_data) >= first)
            break;
        if ((r = audit_mdb_err(mdb_cursor_del(cur, 0))) < 0)
            goto out;
    }
    *dropped = n;
    *first_kept = first;
    r = TV_OK;
out:
    sodium_memzero(&rec, sizeof(rec));
    mdb_cursor_close(cur);
    return r;
}

/* "user:alice" selects "user:alice" and "user:alice token:<id>" (a user's
 * records name the token too); anything else is an exact match. */
static int principal_match(const char *want, const char *have)
{
    size_t n = strlen(want);
    return strncmp(want, have, n) == 0 &&
           (have[n] == '\0' || (have[n] == ' ' && !strchr(want, ' ')));
}

static int matches(const audit_filter *f, const audit_record *r)
{
    if (!f)
        return 1;
    if (f->principal && f->principal[0] && !principal_match(f->principal, r->principal))
        return 0;
    if (f->secret && f->secret[0] && strcmp(f->secret, r->secret) != 0)
        return 0;
    return 1;
}

int audit_list(audit_log *log, MDB_txn *txn, const audit_filter *f, audit_record_cb cb, void *arg)
{
    int r = TV_ERR_INTERNAL;
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    uint8_t key[8];
    uint64_t from = f && f->since > 1 ? f->since : 1;
    uint64_t to = f && f->to ? f->to : UINT64_MAX;
    uint64_t n = 0;
    audit_record rec;

    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->recs, &cur))) < 0)
        return r;
    proto_put_be64(key, from);
    k.mv_data = key;
    k.mv_size = 8;
    int g = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE);
    while (g == 0) {
        if (k.mv_size != 8) {
            r = TV_ERR_INTEGRITY;
            goto out;
        }
        uint64_t s = proto_be64(k.mv_data);
        if (s > to)
            break;
        if ((r = decode_value(&val, s, &rec)) < 0)
            goto out;
        if (matches(f, &rec)) {
            if ((r = cb(arg, &rec)) < 0)
                goto out;
            if (r == 1)
                break;
            if (f && f->limit && ++n >= f->limit)
                break;
        }
        g = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
    }
    if (g != 0 && g != MDB_NOTFOUND) {
        r = audit_mdb_err(g);
        goto out;
    }
    r = TV_OK;
out:
    sodium_memzero(&rec, sizeof(rec));
    mdb_cursor_close(cur);
    return r;
}

int audit_list_checkpoints(audit_log *log, MDB_txn *txn, uint64_t from, uint64_t to,
                           audit_ckpt_cb cb, void *arg)
{
    int r = TV_ERR_INTERNAL;
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    uint8_t key[8];
    audit_checkpoint c;

    if (to == 0)
        to = UINT64_MAX;
    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->ckpts, &cur))) < 0)
        return r;
    proto_put_be64(key, from);
    k.mv_data = key;
    k.mv_size = 8;
    int g = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE);
    while (g == 0) {
        if ((r = decode_ckpt(&k, &val, &c)) < 0)
            goto out;
        if (c.last_seq > to)
            break;
        if ((r = cb(arg, &c)) < 0)
            goto out;
        if (r == 1)
            break;
        g = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
    }
    if (g != 0 && g != MDB_NOTFOUND) {
        r = audit_mdb_err(g);
        goto out;
    }
    r = TV_OK;
out:
    mdb_cursor_close(cur);
    return r;
}

int audit_log_set_mac_key(audit_log *log, const uint8_t key[AUDIT_MAC_KEY_LEN])
{
    if (!log || !key)
        return TV_ERR_INVALID;
    if (!log->mk && !(log->mk = sodium_malloc(AUDIT_MAC_KEY_LEN)))
        return TV_ERR_NOMEM;
    sodium_mprotect_readwrite(log->mk);
    memcpy(log->mk, key, AUDIT_MAC_KEY_LEN);
    sodium_mprotect_readonly(log->mk);
    return TV_OK;
}

static void head_mac(const audit_log *log, uint64_t seq, const uint8_t hash[AUDIT_HASH_LEN],
                     uint8_t out[32])
{
    crypto_generichash_state st;
    uint8_t s8[8];
    proto_put_be64(s8, seq);
    crypto_generichash_init(&st, log->mk, AUDIT_MAC_KEY_LEN, 32);
    crypto_generichash_update(&st, (const uint8_t *)HEAD_MAC_DOMAIN, sizeof(HEAD_MAC_DOMAIN));
    crypto_generichash_update(&st, s8, 8);
    crypto_generichash_update(&st, hash, AUDIT_HASH_LEN);
    crypto_generichash_final(&st, out, 32);
}

/* Read and check head.mac: 1 and (*seq, hash) when present and its MAC
 * verifies, 0 when absent, TV_ERR_INTEGRITY when it does not verify. */
static int read_head_mac(audit_log *log, MDB_txn *txn, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
    MDB_val k = {sizeof(HEAD_MAC_KEY) - 1, (void *)HEAD_MAC_KEY}, val;
    uint8_t mac[32];
    const uint8_t *p;
    int g = mdb_get(txn, log->meta, &k, &val);
    if (g == MDB_NOTFOUND)
        return 0;
    if (g != 0)
        return audit_mdb_err(g);
    p = val.mv_data;
    if (val.mv_size != HEAD_MAC_LEN)
        return TV_ERR_INTEGRITY;
    *seq = proto_be64(p);
    head_mac(log, *seq, p + 8, mac);
    if (sodium_memcmp(mac, p + 8 + AUDIT_HASH_LEN, 32) != 0)
        return TV_ERR_INTEGRITY;
    memcpy(hash, p + 8, AUDIT_HASH_LEN);
    return 1;
}

int audit_seal_head(audit_log *log, MDB_txn *txn)
{
    uint8_t v[HEAD_MAC_LEN], h[AUDIT_HASH_LEN], mh[AUDIT_HASH_LEN];
    uint64_t seq = 0, ms = 0;
    MDB_val k = {sizeof(HEAD_MAC_KEY) - 1, (void *)HEAD_MAC_KEY}, val = {sizeof(v), v};
    MDB_cursor *cur = NULL;
    MDB_val ck, cv;
    uint8_t key[8];
    int r, g;
    if (!log || !log->mk)
        return TV_OK;
    if ((r = audit_head(log, txn, &seq, h)) < 0)
        return r;
    if (seq == 0)
        return TV_OK;
    /* Only extend what was sealed before: the record at the old sealed head
     * still has its hash, and every record after it chains and recomputes
     * (nothing in data.mdb changed under us since). */
    if ((r = read_head_mac(log, txn, &ms, mh)) < 0)
        return r;
    if (r == 1) {
        if (ms > seq)
            return TV_ERR_INTEGRITY; /* records removed */
        if ((r = audit_mdb_err(mdb_cursor_open(txn, log->recs, &cur))) < 0)
            return r;
        proto_put_be64(key, ms);
        ck.mv_data = key;
        ck.mv_size = 8;
        g = mdb_cursor_get(cur, &ck, &cv, MDB_SET_KEY);
        r = TV_ERR_INTEGRITY;
        if (g != 0 || cv.mv_size < AUDIT_HASH_LEN ||
            sodium_memcmp((const uint8_t *)cv.mv_data + cv.mv_size - AUDIT_HASH_LEN, mh,
                          AUDIT_HASH_LEN) != 0)
            goto out;
        for (uint64_t s = ms + 1; s <= seq; s++) {
            g = mdb_cursor_get(cur, &ck, &cv, MDB_NEXT);
            if (g != 0 || ck.mv_size != 8 || proto_be64(ck.mv_data) != s ||
                audit_value_check(cv.mv_data, cv.mv_size, s, mh, mh) < 0)
                goto out;
        }
        mdb_cursor_close(cur);
        cur = NULL;
    }
    proto_put_be64(v, seq);
    memcpy(v + 8, h, AUDIT_HASH_LEN);
    head_mac(log, seq, h, v + 8 + AUDIT_HASH_LEN);
    r = audit_mdb_err(mdb_put(txn, log->meta, &k, &val, 0));
out:
    mdb_cursor_close(cur);
    return r;
}

/* The stored checkpoint nearest to seq: with below, the last one whose
 * last_seq <= seq; else the first one whose last_seq >= seq. */
static int ckpt_near(audit_log *log, MDB_txn *txn, uint64_t seq, int below, audit_checkpoint *c)
{
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    uint8_t key[8];
    int g, r;
    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->ckpts, &cur))) < 0)
        return r;
    proto_put_be64(key, seq);
    k.mv_data = key;
    k.mv_size = 8;
    g = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE);
    if (below) {
        if (g == MDB_NOTFOUND)
            g = mdb_cursor_get(cur, &k, &val, MDB_LAST);
        else if (g == 0 && (k.mv_size != 8 || proto_be64(k.mv_data) != seq))
            g = mdb_cursor_get(cur, &k, &val, MDB_PREV);
    }
    r = g == 0 ? decode_ckpt(&k, &val, c) : audit_mdb_err(g);
    mdb_cursor_close(cur);
    return r;
}

int audit_verify_tail(audit_log *log, MDB_txn *txn, uint64_t upto, uint64_t *bad_seq)
{
    audit_checkpoint lo, hi;
    uint8_t prev[AUDIT_HASH_LEN] = {0}, want[AUDIT_HASH_LEN], msg[AUDIT_CKPT_MSG_LEN];
    uint64_t s = 0, target = upto, m_seq = 0;
    int r, have_lo, have_hi, have_m = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, val;
    uint8_t key[8];

    if (bad_seq)
        *bad_seq = 0;
    if (upto == 0)
        return TV_OK;
    /* From the last checkpoint at or below upto (its signature ours, its
     * head the stored record's hash)... */
    r = ckpt_near(log, txn, upto, 1, &lo);
    if (r < 0 && r != TV_ERR_NOT_FOUND)
        return r;
    have_lo = r == 0;
    r = ckpt_near(log, txn, upto, 0, &hi);
    if (r < 0 && r != TV_ERR_NOT_FOUND)
        return r;
    have_hi = r == 0;
    if (log->sk) {
        audit_checkpoint *cs[2] = {have_lo ? &lo : NULL, have_hi ? &hi : NULL};
        for (int i = 0; i < 2; i++) {
            if (!cs[i])
                continue;
            audit_checkpoint_message(cs[i], msg);
            if (crypto_sign_verify_detached(cs[i]->sig, msg, sizeof(msg), log->pk) != 0) {
                if (bad_seq)
                    *bad_seq = cs[i]->last_seq;
                return TV_ERR_INTEGRITY;
            }
        }
    }
    if (have_lo) {
        s = lo.last_seq;
        memcpy(prev, lo.head_hash, AUDIT_HASH_LEN);
    }
    /* ...to a signed checkpoint at or above upto, else to the MAC'd head
     * (records written while the key was unknown have no MAC: past it the
     * chain is only checked to recompute). */
    if (have_hi) {
        target = hi.last_seq;
        memcpy(want, hi.head_hash, AUDIT_HASH_LEN);
    } else if (log->mk) {
        if ((r = read_head_mac(log, txn, &m_seq, want)) < 0) {
            if (bad_seq)
                *bad_seq = upto;
            return r;
        }
        have_m = r == 1;
        if (have_m && m_seq > target)
            target = m_seq;
    }
    if ((r = audit_mdb_err(mdb_cursor_open(txn, log->recs, &cur))) < 0)
        return r;
    /* The checkpoint's own record first: its stored hash is what was signed. */
    proto_put_be64(key, s ? s : 1);
    k.mv_data = key;
    k.mv_size = 8;
    int g = mdb_cursor_get(cur, &k, &val, MDB_SET_KEY);
    if (s && g == 0) {
        if (val.mv_size < AUDIT_HASH_LEN ||
            sodium_memcmp((const uint8_t *)val.mv_data + val.mv_size - AUDIT_HASH_LEN, prev,
                          AUDIT_HASH_LEN) != 0) {
            g = -1;
        } else {
            g = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
        }
    }
    while (s < target) {
        if (g != 0 || k.mv_size != 8 || proto_be64(k.mv_data) != s + 1 ||
            audit_value_check(val.mv_data, val.mv_size, s + 1, prev, prev) < 0) {
            if (bad_seq)
                *bad_seq = s + 1;
            r = g == MDB_NOTFOUND || g == 0 || g == -1 ? TV_ERR_INTEGRITY : audit_mdb_err(g);
            goto out;
        }
        s++;
        if ((have_hi && s == target) || (have_m && s == m_seq)) {
            if (sodium_memcmp(prev, want, AUDIT_HASH_LEN) != 0) {
                if (bad_seq)
                    *bad_seq = s;
                r = TV_ERR_INTEGRITY;
                goto out;
            }
        }
        g = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
    }
    r = TV_OK;
out:
    mdb_cursor_close(cur);
    return r;
}
