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
};

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

int audit_checkpoint_now(audit_log *log, MDB_txn *txn, int64_t time_ns, audit_checkpoint *out)
{
    int r;
    uint64_t head, first = 1;
    audit_checkpoint last, c;
    uint8_t key[8], v[CKPT_VAL_LEN];
    MDB_val k, val;

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
    v[0] = AUDIT_FORMAT;
    proto_put_be64(v + 1, c.first_seq);
    proto_put_be64(v + 9, c.last_seq);
    memcpy(v + 17, c.head_hash, AUDIT_HASH_LEN);
    proto_put_be64(v + 17 + AUDIT_HASH_LEN, (uint64_t)c.time_ns);
    memcpy(v + 25 + AUDIT_HASH_LEN, c.sig, AUDIT_SIG_LEN);
    proto_put_be64(key, c.last_seq);
    k.mv_data = key;
    k.mv_size = 8;
    val.mv_data = v;
    val.mv_size = sizeof(v);
    if ((r = audit_mdb_err(mdb_put(txn, log->ckpts, &k, &val, MDB_APPEND))) < 0)
        return r;
    /* Remember which key signs, so an operator can see a key change. */
    k.mv_data = (void *)"pubkey";
    k.mv_size = 6;
    val.mv_data = log->pk;
    val.mv_size = AUDIT_PK_LEN;
    if ((r = audit_mdb_err(mdb_put(txn, log->meta, &k, &val, 0))) < 0)
        return r;
    if (out)
        *out = c;
    return 1;
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
