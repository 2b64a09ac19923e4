/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit: the hash chain, checkpoints, export/verify, and the daemon's
 * group-commit writer, on real LMDB files in temp directories.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

/* protoc-c's *__INIT macros cast protobuf_c_empty_string's const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"

#include "audit.h"
#include "proto_buf.h"
#include "teevault.pb-c.h"
#include "tv_fixture.h"
#include "tv_test.h"
#include "vault.h"
#include "vault_registry.h"
#include "vault_audit.h"
#include "vault_audit_agg.h"
#include "vault_db.h"
#include "vault_keyring.h"

/* ------------------------------------------------------------ helpers */

static char tmpdir[256];

static void mk_tmp(void)
{
    tv_fx_tmpdir("audit", tmpdir, sizeof(tmpdir));
}

static void rm_tmp(void)
{
    tv_fx_rmtree(tmpdir);
}

static const uint8_t SEED[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t OTHER_SEED[32] = {42};

typedef struct sbuf {
    char *d;
    size_t len, cap;
} sbuf;

static int sbuf_write(void *arg, const char *data, size_t len)
{
    sbuf *b = arg;
    if (b->cap - b->len < len + 1) {
        size_t nc = (b->cap + len + 1) * 2;
        char *p = realloc(b->d, nc);
        if (!p)
            return TV_ERR_NOMEM;
        b->d = p;
        b->cap = nc;
    }
    memcpy(b->d + b->len, data, len);
    b->len += len;
    b->d[b->len] = '\0';
    return 0;
}

static void fill_rec(audit_record *r, int i)
{
    char s[64];
    memset(r, 0, sizeof(*r));
    snprintf(s, sizeof(s), "user:alice%d", i % 3);
    audit_record_set_str(r->principal, AUDIT_PRINCIPAL_MAX, s, strlen(s));
    audit_record_set_str(r->method, AUDIT_METHOD_MAX, "teevault.v1.Secrets/Get", 23);
    snprintf(s, sizeof(s), "db/s%d", i);
    audit_record_set_str(r->secret, AUDIT_SECRET_MAX, s, strlen(s));
    r->version = (uint64_t)i;
    r->status = i % 5 == 0 ? 7 : 0;
    snprintf(s, sizeof(s), "%032x", i);
    audit_record_set_str(r->request_id, AUDIT_REQID_MAX, s, strlen(s));
    audit_record_set_str(r->peer, AUDIT_PEER_MAX, "unix", 4);
}

/* Append n records numbered from `base` in one write txn. */
static int append_n(vault_db *db, audit_log *log, int base, int n)
{
    MDB_txn *txn;
    int r;
    if ((r = vault_db_wtxn(db, &txn)) < 0)
        return r;
    for (int i = 0; i < n; i++) {
        audit_record rec;
        fill_rec(&rec, base + i);
        if ((r = audit_append(log, txn, &rec)) < 0) {
            mdb_txn_abort(txn);
            return r;
        }
    }
    return vault_db_commit(txn);
}

static int checkpoint(vault_db *db, audit_log *log)
{
    MDB_txn *txn;
    int r;
    if ((r = vault_db_wtxn(db, &txn)) < 0)
        return r;
    if ((r = audit_checkpoint_now(log, txn, 0, NULL)) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    return vault_db_commit(txn);
}

static int export_all(vault_db *db, audit_log *log, uint64_t from, uint64_t to, sbuf *out)
{
    MDB_txn *txn;
    int r;
    uint64_t n;
    if ((r = vault_db_rtxn(db, &txn)) < 0)
        return r;
    r = audit_export(log, txn, from, to, sbuf_write, out, &n);
    mdb_txn_abort(txn);
    return r;
}

/* Line i (0-based) of text as a new string. */
static char **split_lines(const char *text, size_t *n)
{
    size_t cap = 16, k = 0;
    char **v = malloc(cap * sizeof(*v));
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (k == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(*v));
        }
        v[k] = strndup(p, len);
        k++;
        p += len + (e ? 1 : 0);
    }
    *n = k;
    return v;
}

static char *join_lines(char **v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *s = malloc(len), *o = s;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        memcpy(o, v[i], l);
        o += l;
        *o++ = '\n';
    }
    *o = '\0';
    return s;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Index of the record line with seq s, or -1. */
static int find_seq(char **v, size_t n, uint64_t s)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "{\"type\":\"record\",\"seq\":%" PRIu64 ",", s);
    for (size_t i = 0; i < n; i++)
        if (strncmp(v[i], pat, strlen(pat)) == 0)
            return (int)i;
    return -1;
}

static int verify_text(const char *text, const uint8_t *pk, audit_verify_result *res)
{
    return audit_verify_buffer(text, strlen(text), pk, res);
}

/* A fresh store with 12 records, a stored checkpoint after 5, and the key. */
static void make_log(vault_db **db, audit_log **log)
{
    mk_tmp();
    CHECK(vault_db_open(tmpdir, 0, db) == 0);
    CHECK(audit_log_open((*db)->env, log) == 0);
    CHECK(audit_log_set_seed(*log, SEED) == 0);
    CHECK(append_n(*db, *log, 1, 5) == 0);
    CHECK(checkpoint(*db, *log) == 0);
    CHECK(append_n(*db, *log, 6, 7) == 0);
}

static void drop_log(vault_db *db, audit_log *log)
{
    audit_log_close(log);
    vault_db_close(db);
    rm_tmp();
}

/* ------------------------------------------------------------ chain tests */

static void test_chain_append_verify(void)
{
    vault_db *db = NULL;
    audit_log *log = NULL;
    sbuf ex = {0};
    audit_verify_result res;
    uint8_t pk[32], head[32], zero[32] = {0};
    uint64_t seq = 0;
    MDB_txn *txn;

    make_log(&db, &log);
    CHECK(audit_log_pubkey(log, pk) == 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_head(log, txn, &seq, head) == 0);
    CHECK_EQ_INT(seq, 12);
    CHECK(memcmp(head, zero, 32) != 0);
    audit_record r1, r2;
    CHECK(audit_get(log, txn, 1, &r1) == 0);
    CHECK(memcmp(r1.prev_hash, zero, 32) == 0);
    CHECK(audit_get(log, txn, 2, &r2) == 0);
    CHECK(memcmp(r2.prev_hash, r1.hash, 32) == 0);
    CHECK(strcmp(r2.secret, "db/s2") == 0);
    CHECK(audit_get(log, txn, 13, &r2) == TV_ERR_NOT_FOUND);
    audit_checkpoint c;
    CHECK(audit_last_checkpoint(log, txn, &c) == 0);
    CHECK_EQ_INT(c.first_seq, 1);
    CHECK_EQ_INT(c.last_seq, 5);
    CHECK(audit_checkpoint_verify(&c, pk) == 0);
    mdb_txn_abort(txn);

    CHECK(export_all(db, log, 0, 0, &ex) == 0);
    CHECK(ex.d && strncmp(ex.d, "{\"type\":\"header\"", 16) == 0);
    /* Untouched export verifies, with the file's key and with --pubkey. */
    CHECK(verify_text(ex.d, NULL, &res) == 0);
    CHECK_EQ_INT(res.verdict, AUDIT_OK);
    CHECK_EQ_INT(res.records, 12);
    CHECK_EQ_INT(res.checkpoints, 2); /* stored one + export-time one */
    CHECK_EQ_INT(res.covered_to, 12);
    CHECK(res.pubkey_from_file == 1);
    CHECK(verify_text(ex.d, pk, &res) == 0);
    CHECK(res.pubkey_from_file == 0);

    /* A different trusted key: the export's key does not match. */
    uint8_t otherpk[32], othersk[64];
    crypto_sign_seed_keypair(otherpk, othersk, OTHER_SEED);
    CHECK(verify_text(ex.d, otherpk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_CHECKPOINT);

    /* A partial export (from 3 to 8) verifies on its own. */
    sbuf part = {0};
    CHECK(export_all(db, log, 3, 8, &part) == 0);
    CHECK(verify_text(part.d, pk, &res) == 0);
    CHECK_EQ_INT(res.first_seq, 3);
    CHECK_EQ_INT(res.last_seq, 8);
    free(part.d);

    free(ex.d);
    drop_log(db, log);
}

static void test_reopen_continues(void)
{
    vault_db *db = NULL;
    audit_log *log = NULL;
    MDB_txn *txn;
    uint8_t head_before[32];
    uint64_t seq;
    audit_record r13;
    sbuf ex = {0};
    audit_verify_result res;

    make_log(&db, &log);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_head(log, txn, &seq, head_before) == 0);
    mdb_txn_abort(txn);
    audit_log_close(log);
    vault_db_close(db);

    /* "Restart": a new env and log on the same files. */
    CHECK(vault_db_open(tmpdir, 0, &db) == 0);
    CHECK(audit_log_open(db->env, &log) == 0);
    CHECK(audit_log_set_seed(log, SEED) == 0);
    CHECK(append_n(db, log, 100, 1) == 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_get(log, txn, 13, &r13) == 0);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(r13.seq, 13);
    CHECK(memcmp(r13.prev_hash, head_before, 32) == 0);
    CHECK(export_all(db, log, 0, 0, &ex) == 0);
    CHECK(verify_text(ex.d, NULL, &res) == 0);
    CHECK_EQ_INT(res.records, 13);
    free(ex.d);
    drop_log(db, log);
}

/* Overwrite record seq in data.mdb with a forgery (principal changed) and
 * re-chain every record after it with the unkeyed chain hash, as a host
 * editing data.mdb could. */
static void forge_lmdb(vault_db *db, audit_log *log, uint64_t seq, uint64_t head)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    audit_record prev, r;
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "audit", 0, &dbi) == 0);
    CHECK(audit_get(log, txn, seq - 1, &prev) == 0);
    for (uint64_t s = seq; s <= head; s++) {
        proto_buf b;
        uint8_t key[8];
        MDB_val k = {8, key}, v;
        CHECK(audit_get(log, txn, s, &r) == 0);
        if (s == seq)
            audit_record_set_str(r.principal, AUDIT_PRINCIPAL_MAX, "user:mallory", 12);
        proto_buf_init(&b, 0);
        CHECK(audit_record_seal(&r, s - 1, prev.hash, &b) == 0);
        proto_put_be64(key, s);
        v.mv_size = b.len;
        v.mv_data = b.d;
        CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
        proto_buf_free(&b);
        prev = r;
    }
    CHECK(vault_db_commit(txn) == 0);
}

static int seal_head(vault_db *db, audit_log *log)
{
    MDB_txn *txn;
    int r;
    if ((r = vault_db_wtxn(db, &txn)) < 0)
        return r;
    if ((r = audit_seal_head(log, txn)) < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    return vault_db_commit(txn);
}

/* data.mdb is on the host's disk: records after the last checkpoint that
 * were altered (and re-chained), cut off, or a replaced checkpoint are
 * never signed; the MAC'd head is what makes an unsigned tail verifiable. */
static void test_lmdb_tail_verified_before_signing(void)
{
    static const uint8_t MK[AUDIT_MAC_KEY_LEN] = {9, 9, 9};
    vault_db *db = NULL;
    audit_log *log = NULL;
    MDB_txn *txn;
    audit_checkpoint c;
    uint64_t bad = 0;

    /* records 1..5 checkpointed, 6..12 not; the head MAC'd at 12 */
    make_log(&db, &log);
    CHECK(audit_log_set_mac_key(log, MK) == 0);
    CHECK(seal_head(db, log) == 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_verify_tail(log, txn, 12, &bad), 0);
    mdb_txn_abort(txn);

    /* record 9 altered and 10..12 re-chained: the chain recomputes, the
     * MAC'd head does not match; nothing is signed, nothing stored */
    forge_lmdb(db, log, 9, 12);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_verify_tail(log, txn, 12, &bad), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(bad, 12);
    CHECK_EQ_INT(audit_sign_checkpoint(log, txn, 6, 12, 0, &c), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(audit_sign_checkpoint(log, txn, 1, 10, 0, &c), TV_ERR_INTEGRITY);
    /* what a checkpoint already vouches for still signs */
    CHECK_EQ_INT(audit_sign_checkpoint(log, txn, 1, 5, 0, &c), 0);
    mdb_txn_abort(txn);
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_checkpoint_now(log, txn, 0, &c), TV_ERR_INTEGRITY);
    mdb_txn_abort(txn);
    drop_log(db, log);

    /* the tail cut off (records 11, 12 deleted) */
    make_log(&db, &log);
    CHECK(audit_log_set_mac_key(log, MK) == 0);
    CHECK(seal_head(db, log) == 0);
    {
        MDB_dbi dbi;
        uint8_t key[8];
        MDB_val k = {8, key};
        CHECK(vault_db_wtxn(db, &txn) == 0);
        CHECK(mdb_dbi_open(txn, "audit", 0, &dbi) == 0);
        for (uint64_t s = 11; s <= 12; s++) {
            proto_put_be64(key, s);
            CHECK(mdb_del(txn, dbi, &k, NULL) == 0);
        }
        CHECK(vault_db_commit(txn) == 0);
    }
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_verify_tail(log, txn, 10, &bad), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(bad, 11);
    CHECK_EQ_INT(audit_sign_checkpoint(log, txn, 6, 10, 0, &c), TV_ERR_INTEGRITY);
    mdb_txn_abort(txn);
    drop_log(db, log);

    /* a record under the checkpoint altered: the signed head no longer
     * matches the chain */
    make_log(&db, &log);
    CHECK(audit_log_set_mac_key(log, MK) == 0);
    CHECK(seal_head(db, log) == 0);
    forge_lmdb(db, log, 3, 12);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_verify_tail(log, txn, 4, &bad), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(audit_sign_checkpoint(log, txn, 1, 12, 0, &c), TV_ERR_INTEGRITY);
    mdb_txn_abort(txn);
    drop_log(db, log);

    /* without the MAC key (a vault before unseal) the same re-chained tail
     * only has to recompute: why the head is MAC'd */
    make_log(&db, &log);
    forge_lmdb(db, log, 9, 12);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_verify_tail(log, txn, 12, &bad), 0);
    mdb_txn_abort(txn);
    drop_log(db, log);
}

static void test_aborted_append_leaves_no_trace(void)
{
    vault_db *db = NULL;
    audit_log *log = NULL;
    MDB_txn *txn;
    audit_record rec;
    uint64_t seq;

    make_log(&db, &log);
    CHECK(vault_db_wtxn(db, &txn) == 0);
    fill_rec(&rec, 77);
    CHECK(audit_append(log, txn, &rec) == 0);
    CHECK_EQ_INT(rec.seq, 13);
    mdb_txn_abort(txn);
    CHECK(append_n(db, log, 78, 1) == 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_head(log, txn, &seq, NULL) == 0);
    CHECK(audit_get(log, txn, 13, &rec) == 0);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(seq, 13);
    CHECK(strcmp(rec.secret, "db/s78") == 0);
    drop_log(db, log);
}

typedef struct collect {
    uint64_t seqs[64];
    size_t n;
} collect;

static int collect_cb(void *arg, const audit_record *r)
{
    collect *c = arg;
    if (c->n < 64)
        c->seqs[c->n++] = r->seq;
    return 0;
}

static void test_list_filter(void)
{
    vault_db *db = NULL;
    audit_log *log = NULL;
    MDB_txn *txn;
    collect c;
    audit_filter f;

    make_log(&db, &log);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    memset(&c, 0, sizeof(c));
    CHECK(audit_list(log, txn, NULL, collect_cb, &c) == 0);
    CHECK_EQ_INT(c.n, 12);
    memset(&c, 0, sizeof(c));
    memset(&f, 0, sizeof(f));
    f.principal = "user:alice1"; /* records 1, 4, 7, 10 */
    CHECK(audit_list(log, txn, &f, collect_cb, &c) == 0);
    CHECK_EQ_INT(c.n, 4);
    CHECK_EQ_INT(c.seqs[0], 1);
    CHECK_EQ_INT(c.seqs[3], 10);
    memset(&c, 0, sizeof(c));
    f.since = 5;
    f.limit = 2;
    CHECK(audit_list(log, txn, &f, collect_cb, &c) == 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_INT(c.seqs[0], 7);
    CHECK_EQ_INT(c.seqs[1], 10);
    memset(&c, 0, sizeof(c));
    memset(&f, 0, sizeof(f));
    f.secret = "db/s9";
    CHECK(audit_list(log, txn, &f, collect_cb, &c) == 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(c.seqs[0], 9);
    mdb_txn_abort(txn);
    drop_log(db, log);
}

/* ------------------------------------------------------------ tampering */

static void test_verify_detects_tampering(void)
{
    vault_db *db = NULL;
    audit_log *log = NULL;
    sbuf ex = {0};
    audit_verify_result res;
    uint8_t pk[32];
    size_t n;
    char **v, *t;
    int i;

    make_log(&db, &log);
    CHECK(audit_log_pubkey(log, pk) == 0);
    CHECK(export_all(db, log, 0, 0, &ex) == 0);

    /* 1. A changed field in record 3 (secret name). */
    v = split_lines(ex.d, &n);
    i = find_seq(v, n, 3);
    CHECK(i > 0);
    char *at = strstr(v[i], "\"secret\":\"db/s3\"");
    CHECK(at != NULL);
    if (at)
        at[14] = '4';
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_CHAIN);
    CHECK_EQ_INT(res.bad_seq, 3);
    CHECK(strstr(res.why, "hash mismatch") != NULL);
    free(t);
    free_lines(v, n);

    /* 1b. A changed status code (denied -> ok) in record 10. */
    v = split_lines(ex.d, &n);
    i = find_seq(v, n, 10);
    at = strstr(v[i], "\"status\":7");
    CHECK(at != NULL);
    if (at)
        at[9] = '0';
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.bad_seq, 10);
    free(t);
    free_lines(v, n);

    /* 2. A record deleted in the middle (seq 4). */
    v = split_lines(ex.d, &n);
    i = find_seq(v, n, 4);
    free(v[i]);
    memmove(&v[i], &v[i + 1], (n - (size_t)i - 1) * sizeof(*v));
    n--;
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_CHAIN);
    CHECK_EQ_INT(res.bad_seq, 4);
    free(t);
    free_lines(v, n);

    /* 3. Two records swapped (8 and 9). */
    v = split_lines(ex.d, &n);
    int a = find_seq(v, n, 8), b = find_seq(v, n, 9);
    char *tmp = v[a];
    v[a] = v[b];
    v[b] = tmp;
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_CHAIN);
    CHECK_EQ_INT(res.bad_seq, 8);
    free(t);
    free_lines(v, n);

    /* 4. A forged checkpoint signature (one byte of the final one). */
    v = split_lines(ex.d, &n);
    at = strstr(v[n - 1], "\"signature\":\"");
    CHECK(at != NULL && strncmp(v[n - 1], "{\"type\":\"checkpoint\"", 20) == 0);
    if (at)
        at[13] = at[13] == 'a' ? 'b' : 'a';
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_CHECKPOINT);
    CHECK_EQ_INT(res.bad_seq, 6); /* 1..5 are vouched for by the stored checkpoint */
    CHECK(strstr(res.why, "signature") != NULL);
    free(t);
    free_lines(v, n);

    /* 4b. A checkpoint signed by another key (attacker re-signs). */
    v = split_lines(ex.d, &n);
    {
        audit_line l;
        const char *why;
        uint8_t opk[32], osk[64], msg[AUDIT_CKPT_MSG_LEN];
        char buf[AUDIT_JSON_LINE_MAX];
        CHECK(audit_json_parse(v[n - 1], strlen(v[n - 1]), &l, &why) == 0);
        crypto_sign_seed_keypair(opk, osk, OTHER_SEED);
        audit_checkpoint_message(&l.ckpt, msg);
        crypto_sign_detached(l.ckpt.sig, NULL, msg, sizeof(msg), osk);
        CHECK(audit_json_checkpoint(buf, sizeof(buf), &l.ckpt) > 0);
        free(v[n - 1]);
        v[n - 1] = strndup(buf, strlen(buf) - 1);
    }
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_CHECKPOINT);
    free(t);
    free_lines(v, n);

    /* 5. Rewrite attack: change record 7 and recompute every later hash; the
     * chain is consistent but the signed head no longer matches. */
    v = split_lines(ex.d, &n);
    {
        uint8_t prev[32];
        int first = find_seq(v, n, 7);
        for (size_t k = (size_t)first; k < n; k++) {
            audit_line l;
            const char *why;
            char buf[AUDIT_JSON_LINE_MAX];
            if (audit_json_parse(v[k], strlen(v[k]), &l, &why) < 0 || l.type != AUDIT_LINE_RECORD)
                continue;
            if (l.rec.seq == 7)
                snprintf(l.rec.detail, sizeof(l.rec.detail), "nothing to see");
            else
                memcpy(l.rec.prev_hash, prev, 32);
            CHECK(audit_record_hash(&l.rec, l.rec.hash) == 0);
            memcpy(prev, l.rec.hash, 32);
            CHECK(audit_json_record(buf, sizeof(buf), &l.rec) > 0);
            free(v[k]);
            v[k] = strndup(buf, strlen(buf) - 1);
        }
    }
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_CHECKPOINT);
    CHECK_EQ_INT(res.bad_seq, 6);
    CHECK(strstr(res.why, "head hash") != NULL);
    free(t);
    free_lines(v, n);

    /* 6. Records after the last checkpoint: drop the export-time checkpoint. */
    v = split_lines(ex.d, &n);
    t = join_lines(v, n - 1);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_UNVERIFIED_TAIL);
    CHECK_EQ_INT(res.bad_seq, 6);
    CHECK_EQ_INT(res.covered_to, 5);
    free(t);
    free_lines(v, n);

    /* 6b. A well-chained record appended after the final checkpoint. */
    v = split_lines(ex.d, &n);
    {
        audit_line l;
        const char *why;
        char buf[AUDIT_JSON_LINE_MAX];
        int last = find_seq(v, n, 12);
        CHECK(audit_json_parse(v[last], strlen(v[last]), &l, &why) == 0);
        memcpy(l.rec.prev_hash, l.rec.hash, 32);
        l.rec.seq = 13;
        CHECK(audit_record_hash(&l.rec, l.rec.hash) == 0);
        CHECK(audit_json_record(buf, sizeof(buf), &l.rec) > 0);
        v = realloc(v, (n + 1) * sizeof(*v));
        v[n++] = strndup(buf, strlen(buf) - 1);
    }
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_UNVERIFIED_TAIL);
    CHECK_EQ_INT(res.bad_seq, 13);
    free(t);
    free_lines(v, n);

    /* 7. Garbage and structural errors. */
    CHECK(verify_text("", pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_FORMAT);
    v = split_lines(ex.d, &n);
    free(v[3]);
    v[3] = strdup("{\"type\":\"record\",\"seq\":1e3}");
    t = join_lines(v, n);
    CHECK(verify_text(t, pk, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_BAD_FORMAT);
    CHECK_EQ_INT(res.line, 4);
    free(t);
    free_lines(v, n);
    /* Without a key (header stripped of it, none given) nothing verifies. */
    v = split_lines(ex.d, &n);
    free(v[0]);
    v[0] = malloc(AUDIT_JSON_LINE_MAX);
    CHECK(audit_json_header(v[0], AUDIT_JSON_LINE_MAX, NULL) > 0);
    v[0][strlen(v[0]) - 1] = '\0';
    t = join_lines(v, n);
    CHECK(verify_text(t, NULL, &res) != 0);
    CHECK_EQ_INT(res.verdict, AUDIT_NO_KEY);
    CHECK(verify_text(t, pk, &res) == 0);
    free(t);
    free_lines(v, n);

    free(ex.d);
    drop_log(db, log);
}

static void test_json_roundtrip_odd_bytes(void)
{
    audit_record r, back;
    audit_line l;
    const char *why = NULL;
    char buf[AUDIT_JSON_LINE_MAX];
    const char odd[] = "a\"b\\c\nd\x01\xc3\xa9\x7f/";

    fill_rec(&r, 3);
    audit_record_set_str(r.principal, AUDIT_PRINCIPAL_MAX, odd, sizeof(odd) - 1);
    memset(r.prev_hash, 0xab, 32);
    CHECK(audit_record_hash(&r, r.hash) == 0);
    r.seq = 77;
    r.time_ns = -5;
    int n = audit_json_record(buf, sizeof(buf), &r);
    CHECK(n > 0 && buf[n - 1] == '\n');
    CHECK(strchr(buf, '\x01') == NULL);
    CHECK(audit_json_parse(buf, (size_t)n, &l, &why) == 0);
    back = l.rec;
    CHECK(l.type == AUDIT_LINE_RECORD);
    CHECK(strcmp(back.principal, odd) == 0);
    CHECK(back.seq == 77 && back.time_ns == -5);
    CHECK(memcmp(back.hash, r.hash, 32) == 0);
    /* The longest possible record (every string full of escaped bytes) fits
     * AUDIT_JSON_LINE_MAX and round-trips. */
    {
        audit_record big;
        static char fill[AUDIT_SECRET_MAX + 1];
        memset(fill, 0x01, AUDIT_SECRET_MAX);
        memset(&big, 0, sizeof(big));
        big.seq = UINT64_MAX;
        big.time_ns = INT64_MIN;
        big.version = UINT64_MAX;
        big.status = UINT32_MAX;
        audit_record_set_str(big.principal, AUDIT_PRINCIPAL_MAX, fill, AUDIT_PRINCIPAL_MAX);
        audit_record_set_str(big.method, AUDIT_METHOD_MAX, fill, AUDIT_METHOD_MAX);
        audit_record_set_str(big.secret, AUDIT_SECRET_MAX, fill, AUDIT_SECRET_MAX);
        audit_record_set_str(big.request_id, AUDIT_REQID_MAX, fill, AUDIT_REQID_MAX);
        audit_record_set_str(big.peer, AUDIT_PEER_MAX, fill, AUDIT_PEER_MAX);
        audit_record_set_str(big.detail, AUDIT_DETAIL_MAX, fill, AUDIT_DETAIL_MAX);
        int bn = audit_json_record(buf, sizeof(buf), &big);
        CHECK(bn > 0 && (size_t)bn < AUDIT_JSON_LINE_MAX);
        /* seq above INT64_MAX is beyond what the strict reader takes: refused, not wrapped. */
        CHECK(audit_json_parse(buf, (size_t)bn, &l, &why) == TV_ERR_FORMAT);
        big.seq = 5;
        big.version = 5;
        bn = audit_json_record(buf, sizeof(buf), &big);
        CHECK(audit_json_parse(buf, (size_t)bn, &l, &why) == 0);
        CHECK(memcmp(&l.rec, &big, sizeof(big)) == 0);
        /* A line longer than any export line is refused by the verifier. */
        static char huge[AUDIT_JSON_LINE_MAX + 16];
        memset(huge, ' ', sizeof(huge) - 1);
        audit_verify_result res;
        audit_verifier *vf = NULL;
        CHECK(audit_verifier_new(NULL, &vf) == 0);
        CHECK(audit_verifier_line(vf, huge, sizeof(huge) - 1) == TV_ERR_INTEGRITY);
        CHECK(audit_verifier_finish(vf, &res) == TV_ERR_INTEGRITY);
        CHECK_EQ_INT(res.verdict, AUDIT_BAD_FORMAT);
        audit_verifier_free(vf);
    }
    /* Too small a buffer is refused, not truncated. */
    CHECK(audit_json_record(buf, 40, &r) == TV_ERR_TOO_LARGE);
    /* Strictness. */
    const char *bad[] = {
        "{\"type\":\"checkpoint\"}",
        "{\"type\":\"header\",\"format\":2,\"hash\":\"blake2b-256\",\"sig\":\"ed25519\","
        "\"pubkey\":\"\"}",
        "{\"type\":\"header\",\"format\":1,\"hash\":\"sha1\",\"sig\":\"ed25519\",\"pubkey\":\"\"}",
        "{\"type\":\"header\",\"format\":1,\"hash\":\"blake2b-256\",\"sig\":\"ed25519\","
        "\"pubkey\":\"\",\"x\":1}",
        "{\"type\":\"header\",\"type\":\"header\"}",
        "[1,2]",
        "{\"type\":\"header\",\"format\":1,\"hash\":\"blake2b-256\",\"sig\":\"ed25519\","
        "\"pubkey\":\"ABCD\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(audit_json_parse(bad[i], strlen(bad[i]), &l, &why) == TV_ERR_FORMAT);
}

/* ------------------------------------------------------------ the writer */

typedef struct donebox {
    int called;
    int status;
} donebox;

static void on_done(void *arg, int status)
{
    donebox *d = arg;
    d->called++;
    d->status = status;
}

static void make_call(vault_call *c, vault_principal *p, const char *secret, int i)
{
    memset(c, 0, sizeof(*c));
    memset(p, 0, sizeof(*p));
    p->kind = VAULT_PRINCIPAL_OPERATOR;
    snprintf(p->user, sizeof(p->user), "bob");
    snprintf(p->id, sizeof(p->id), "tok%d", i);
    c->principal = p;
    c->service = "teevault.v1.Secrets";
    c->method = "Get";
    c->peer = "unix";
    snprintf(c->request_id, sizeof(c->request_id), "%032x", i);
    snprintf(c->audit_secret, sizeof(c->audit_secret), "%s", secret);
    c->audit_version = 1;
}

typedef struct burst {
    struct vault *v;
    donebox box[20];
    int submit_rc;
} burst;

/* Run loop passes until every box in d[0, n) was called (the writer thread
 * commits a batch asynchronously: one pass hands it over, a later one runs
 * its callbacks) or 10 s passed. Returns 1 when all were called. */
static int loop_until_called(struct event_base *base, donebox *d, int n)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= d[i].called > 0;
        if (all)
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 10)
            return 0;
        if (event_base_loop(base, EVLOOP_ONCE) != 0)
            return 0;
    }
}

static void burst_cb(evutil_socket_t fd, short what, void *arg)
{
    burst *b = arg;
    for (int i = 0; i < 20; i++) {
        vault_call c;
        vault_principal p;
        make_call(&c, &p, "app/db", i);
        int r = vault_audit_submit(b->v, &c, i == 3 ? TV_ERR_DENIED : 0, on_done, &b->box[i]);
        if (r < 0)
            b->submit_rc = r;
        /* Fail closed: nothing is acknowledged before the batch commits. */
        if (b->box[i].called)
            b->submit_rc = -999;
    }
}

/* A sim-sealed keyring for v in tmpdir: created (init) or opened. */
static int sim_keyring(struct vault *v, int init)
{
    seal_options so = {.backend = "sim", .state_dir = tmpdir};
    if (seal_backend_open(&so, &v->seal) < 0)
        return -1;
    if (init)
        return vault_keyring_init(v->db, v->seal, SEAL_POLICY_SIGNER, NULL, 0, NULL, NULL, &v->kr);
    return vault_keyring_open(v->db, v->seal, &v->kr);
}

static void test_group_commit(void)
{
    struct vault v;
    vault_db *db = NULL;
    burst b;
    vault_audit_info info;
    MDB_txn *txn;
    audit_record rec;

    mk_tmp();
    memset(&v, 0, sizeof(v));
    memset(&b, 0, sizeof(b));
    CHECK(vault_db_open(tmpdir, 0, &db) == 0);
    v.db = db;
    v.base = event_base_new();
    vault_call c;
    vault_principal p;
    make_call(&c, &p, "x", 0);
    /* No writer: fail closed. */
    CHECK(vault_audit_submit(&v, &c, 0, on_done, &b.box[0]) == TV_ERR_AUDIT);
    CHECK(vault_audit_write_allowed(&v) == TV_ERR_AUDIT);
    CHECK(vault_audit_open(&v, NULL) == 0);
    CHECK(v.audit != NULL);
    /* The journal needs its key (derived from the root key). */
    CHECK(sim_keyring(&v, 1) == 0 && vault_audit_unlock(&v) == 0);
    CHECK(audit_log_set_seed(v.audit, SEED) == 0); /* checkpoints under a known key */
    b.v = &v;
    CHECK(event_base_once(v.base, -1, EV_TIMEOUT, burst_cb, &b, NULL) == 0);
    CHECK(loop_until_called(v.base, b.box, 20));
    CHECK_EQ_INT(b.submit_rc, 0);
    int all = 1;
    for (int i = 0; i < 20; i++)
        all &= b.box[i].called == 1 && b.box[i].status == 0;
    CHECK(all);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 20);
    CHECK_EQ_INT(info.batches, 1); /* 20 requests, one transaction, one fsync */
    CHECK_EQ_INT(info.records, 20);
    /* With an event loop the batch went to the journal: not in LMDB until
     * settled (the audit queries do that). */
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_get(v.audit, txn, 4, &rec) == TV_ERR_NOT_FOUND);
    mdb_txn_abort(txn);
    CHECK(vault_audit_settle(&v) == 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_get(v.audit, txn, 4, &rec) == 0);
    mdb_txn_abort(txn);
    CHECK(strncmp(rec.principal, "user:bob token:tok", 18) == 0); /* the user and the token */
    CHECK(strcmp(rec.method, "teevault.v1.Secrets/Get") == 0);
    CHECK(strcmp(rec.secret, "app/db") == 0);
    CHECK_EQ_INT(rec.status, 7); /* PERMISSION_DENIED */
    CHECK(strcmp(rec.detail, "denied") == 0 || rec.detail[0] != '\0');
    CHECK(strcmp(rec.peer, "unix") == 0);

    /* Injected commit failure: every request in the batch fails, nothing is
     * recorded, the chain is intact afterwards. */
    memset(&b, 0, sizeof(b));
    b.v = &v;
    vault_audit_test_fail_commits(&v, 1);
    CHECK(event_base_once(v.base, -1, EV_TIMEOUT, burst_cb, &b, NULL) == 0);
    CHECK(loop_until_called(v.base, b.box, 20));
    all = 1;
    for (int i = 0; i < 20; i++)
        all &= b.box[i].called == 1 && b.box[i].status == TV_ERR_AUDIT;
    CHECK(all);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 20);
    CHECK_EQ_INT(info.failed_commits, 1);

    /* The file trigger (for tests against a live daemon) is read at open. */
    vault_audit_close(&v);
    char ff[300];
    snprintf(ff, sizeof(ff), "%s/fail", tmpdir);
    setenv("TEEVAULT_TEST_AUDIT_FAIL_FILE", ff, 1);
    CHECK(vault_audit_open(&v, NULL) == 0);
    unsetenv("TEEVAULT_TEST_AUDIT_FAIL_FILE");
    FILE *f = fopen(ff, "w");
    if (f)
        fclose(f);
    donebox d = {0};
    make_call(&c, &p, "y", 1);
    CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0);
    CHECK(loop_until_called(v.base, &d, 1));
    CHECK(d.called == 1 && d.status == TV_ERR_AUDIT);
    unlink(ff);
    memset(&d, 0, sizeof(d));
    CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0);
    CHECK(loop_until_called(v.base, &d, 1));
    CHECK(d.called == 1 && d.status == 0);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 21); /* the chain continued after reopen */

    /* A write's record commits with the write's own transaction. */
    CHECK(vault_db_wtxn(db, &txn) == 0);
    make_call(&c, &p, "app/new", 2);
    c.method = "Put";
    CHECK(vault_audit_append_txn(&v, txn, &c, 0) == 0);
    mdb_txn_abort(txn); /* write failed: no record */
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 21);
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK(vault_audit_append_txn(&v, txn, &c, 0) == 0);
    CHECK(vault_db_commit(txn) == 0);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 22);
    CHECK_EQ_INT(info.has_pubkey, 0);

    /* With a key, close leaves every record covered by a checkpoint. */
    CHECK(audit_log_set_seed(v.audit, SEED) == 0);
    vault_audit_close(&v);
    CHECK(v.audit == NULL && v.auditw == NULL);
    audit_log *log = NULL;
    sbuf ex = {0};
    audit_verify_result res;
    CHECK(audit_log_open(db->env, &log) == 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    audit_checkpoint ck;
    CHECK(audit_last_checkpoint(log, txn, &ck) == 0);
    CHECK_EQ_INT(ck.last_seq, 22);
    mdb_txn_abort(txn);
    CHECK(export_all(db, log, 0, 0, &ex) == 0); /* no key: no export checkpoint */
    uint8_t pk[32], sk[64];
    crypto_sign_seed_keypair(pk, sk, SEED);
    CHECK(verify_text(ex.d, pk, &res) == 0);
    CHECK_EQ_INT(res.records, 22);
    free(ex.d);
    audit_log_close(log);

    event_base_free(v.base);
    vault_keyring_free(v.kr);
    seal_backend_free(v.seal);
    vault_db_close(db);
    rm_tmp();
}

/* Pipelining: each loop pass queues records for the group commit AND
 * appends one inside its own write transaction (as Put does) while the
 * writer thread may be committing the previous batch. The chain must stay
 * linear (the export verifies), every record lands exactly once, and records
 * submitted while a batch is in flight go to a later batch. */
#define MIX_ROUNDS 150
typedef struct mix {
    struct vault *v;
    int round;
    int txn_rc;
    int early; /* a done ran before its batch could have been handed over */
    donebox box[2 * MIX_ROUNDS];
} mix;

static void mix_cb(evutil_socket_t fd, short what, void *arg)
{
    mix *m = arg;
    vault_call c;
    vault_principal p;
    MDB_txn *txn = NULL;
    for (int i = 0; i < 2; i++) {
        donebox *d = &m->box[2 * m->round + i];
        make_call(&c, &p, "mix/get", m->round);
        if (vault_audit_submit(m->v, &c, 0, on_done, d) < 0)
            m->txn_rc = -998;
        if (d->called)
            m->early = 1;
    }
    make_call(&c, &p, "mix/put", m->round);
    c.method = "Put";
    int r = vault_db_wtxn(m->v->db, &txn);
    if (r == 0 && (r = vault_audit_append_txn(m->v, txn, &c, 0)) == 0)
        r = vault_db_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (r < 0)
        m->txn_rc = r;
    /* A short timer (not an immediate activation) lets the loop poll, and
     * so run the writer's wake-ups, between rounds. */
    struct timeval tv = {0, 100};
    if (++m->round < MIX_ROUNDS)
        (void)event_base_once(m->v->base, -1, EV_TIMEOUT, mix_cb, m, &tv);
}

static void test_pipelined_chain(void)
{
    struct vault v;
    vault_db *db = NULL;
    vault_audit_opts o = {.ckpt_every_records = 64};
    vault_audit_info info;
    static mix m;
    audit_log *log = NULL;
    sbuf ex = {0};
    audit_verify_result res;
    uint8_t pk[32], sk[64];
    MDB_txn *txn;
    audit_record rec;
    int gets = 0, puts = 0, order_ok = 1;

    mk_tmp();
    memset(&v, 0, sizeof(v));
    memset(&m, 0, sizeof(m));
    CHECK(vault_db_open(tmpdir, 0, &db) == 0);
    v.db = db;
    v.base = event_base_new();
    CHECK(vault_audit_open(&v, &o) == 0);
    CHECK(audit_log_set_seed(v.audit, SEED) == 0);
    m.v = &v;
    CHECK(event_base_once(v.base, -1, EV_TIMEOUT, mix_cb, &m, NULL) == 0);
    CHECK(loop_until_called(v.base, m.box, 2 * MIX_ROUNDS));
    CHECK_EQ_INT(m.round, MIX_ROUNDS);
    CHECK_EQ_INT(m.txn_rc, 0);
    CHECK_EQ_INT(m.early, 0);
    int all = 1;
    for (int i = 0; i < 2 * MIX_ROUNDS; i++)
        all &= m.box[i].called == 1 && m.box[i].status == 0;
    CHECK(all);
    CHECK(vault_audit_flush(&v) == 0);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 3 * MIX_ROUNDS);
    CHECK_EQ_INT(info.records, 2 * MIX_ROUNDS);
    CHECK(info.batches >= 2 && info.batches <= MIX_ROUNDS);
    CHECK_EQ_INT(info.last_ckpt_seq, 3 * MIX_ROUNDS); /* flush checkpoints */
    fprintf(stderr, "  pipelined: %llu group records in %llu batches\n",
            (unsigned long long)info.records, (unsigned long long)info.batches);
    /* Every record is there once, and the Puts (one per round, appended on
     * the loop thread in round order) are in order in the chain. */
    CHECK(vault_db_rtxn(db, &txn) == 0);
    for (uint64_t s = 1; s <= 3 * MIX_ROUNDS; s++) {
        if (audit_get(v.audit, txn, s, &rec) != 0) {
            order_ok = 0;
            break;
        }
        if (!strcmp(rec.secret, "mix/put")) {
            /* make_call puts the round in the request id */
            if (strtoull(rec.request_id, NULL, 16) != (unsigned long long)puts)
                order_ok = 0;
            puts++;
        } else if (!strcmp(rec.secret, "mix/get")) {
            gets++;
        }
    }
    mdb_txn_abort(txn);
    CHECK(order_ok);
    CHECK_EQ_INT(gets, 2 * MIX_ROUNDS);
    CHECK_EQ_INT(puts, MIX_ROUNDS);
    vault_audit_close(&v);
    CHECK(audit_log_open(db->env, &log) == 0);
    CHECK(export_all(db, log, 0, 0, &ex) == 0);
    crypto_sign_seed_keypair(pk, sk, SEED);
    CHECK(verify_text(ex.d, pk, &res) == 0);
    CHECK_EQ_INT(res.records, 3 * MIX_ROUNDS);
    CHECK_EQ_INT(res.covered_to, 3 * MIX_ROUNDS);
    free(ex.d);
    audit_log_close(log);
    event_base_free(v.base);
    vault_db_close(db);
    rm_tmp();
}

/* Synchronous mode (no event base): done runs before submit returns. */
static void test_sync_mode_and_checkpoint_every_n(void)
{
    struct vault v;
    vault_db *db = NULL;
    vault_audit_opts o = {.ckpt_every_records = 4};
    vault_audit_info info;
    vault_call c;
    vault_principal p;

    mk_tmp();
    memset(&v, 0, sizeof(v));
    CHECK(vault_db_open(tmpdir, 0, &db) == 0);
    v.db = db;
    CHECK(vault_audit_open(&v, &o) == 0);
    CHECK(audit_log_set_seed(v.audit, SEED) == 0);
    for (int i = 0; i < 10; i++) {
        donebox d = {0};
        make_call(&c, &p, "s", i);
        CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0);
        CHECK(d.called == 1 && d.status == 0);
    }
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 10);
    CHECK_EQ_INT(info.last_ckpt_seq, 8);
    CHECK_EQ_INT(info.batches, 10);
    vault_audit_close(&v);
    vault_db_close(db);
    rm_tmp();
}

/* Checkpoints every T: a quiet log gets its pending records checkpointed by
 * the timer, without any further request. */
static void test_checkpoint_timer(void)
{
    struct vault v;
    vault_db *db = NULL;
    vault_audit_opts o = {.ckpt_every_ms = 50};
    vault_audit_info info;
    vault_call c;
    vault_principal p;
    donebox d = {0};
    struct timeval tv = {0, 180000};

    mk_tmp();
    memset(&v, 0, sizeof(v));
    CHECK(vault_db_open(tmpdir, 0, &db) == 0);
    v.db = db;
    v.base = event_base_new();
    CHECK(vault_audit_open(&v, &o) == 0);
    CHECK(audit_log_set_seed(v.audit, SEED) == 0);
    make_call(&c, &p, "t", 1);
    CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0);
    CHECK(loop_until_called(v.base, &d, 1));
    CHECK(d.called == 1 && d.status == 0);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 1);
    CHECK_EQ_INT(info.last_ckpt_seq, 0);
    CHECK(event_base_loopexit(v.base, &tv) == 0);
    CHECK(event_base_dispatch(v.base) == 0);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.last_ckpt_seq, 1);
    vault_audit_close(&v);
    event_base_free(v.base);
    vault_db_close(db);
    rm_tmp();
}

/* Small map: secret writes refused at the high-water mark, audit appends go
 * on until the map is really full, then requests fail (fail closed) and the
 * chain that was committed still verifies. */
static void test_storage_high_water(void)
{
    struct vault v;
    vault_db *db = NULL;
    vault_audit_opts o = {.high_water_percent = 60, .ckpt_every_records = 1000000};
    vault_audit_info info;
    vault_call c;
    vault_principal p;
    int refused_at = -1, full_at = -1, full_status = 0;

    mk_tmp();
    memset(&v, 0, sizeof(v));
    CHECK(vault_db_open(tmpdir, 256 * 1024, &db) == 0);
    v.db = db;
    CHECK(vault_audit_open(&v, &o) == 0);
    CHECK(audit_log_set_seed(v.audit, SEED) == 0);
    CHECK(vault_audit_write_allowed(&v) == 0);
    for (int i = 0; i < 20000 && full_at < 0; i++) {
        donebox d = {0};
        make_call(&c, &p, "fill/this/with/a/longish/secret/name", i);
        if (refused_at < 0 && vault_audit_write_allowed(&v) == TV_ERR_STORAGE_FULL)
            refused_at = i;
        CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0);
        CHECK(d.called == 1);
        if (d.status != 0) {
            full_at = i;
            full_status = d.status;
        }
    }
    fprintf(stderr, "  high-water: writes refused after %d records, map full after %d\n",
            refused_at, full_at);
    CHECK(refused_at > 0);
    CHECK(full_at > refused_at + 10); /* reads kept being audited in the margin */
    CHECK_EQ_INT(full_status, TV_ERR_STORAGE_FULL);
    CHECK(vault_audit_used_percent(&v) >= 60);
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, (uint64_t)full_at);
    vault_audit_close(&v);
    vault_db_close(db);
    rm_tmp();
}

/* ------------------------------------------------------------ rpc_audit */

static void test_rpc_audit_handlers(void)
{
    struct vault v;
    vault_db *db = NULL;
    vault_principal root, fn;
    vault_call c;
    proto_buf out;
    uint8_t pk[32], sk[64];
    const vault_method *m_list = NULL, *m_head = NULL, *m_export = NULL;

    for (size_t mi = 0; mi < vault_method_count(); mi++) {
        const vault_method *m = vault_method_at(mi);
        if (strcmp(m->service, "teevault.v1.Audit") != 0)
            continue;
        if (!strcmp(m->method, "List"))
            m_list = m;
        else if (!strcmp(m->method, "Head"))
            m_head = m;
        else if (!strcmp(m->method, "Export"))
            m_export = m;
        CHECK(!strcmp(m->service, "teevault.v1.Audit"));
        CHECK((m->flags & (VAULT_M_PUBLIC | VAULT_M_FUNCTION | VAULT_M_UNINIT)) == 0);
    }
    CHECK(m_list && m_head && m_export);
    if (!m_list || !m_head || !m_export)
        return;

    mk_tmp();
    memset(&v, 0, sizeof(v));
    CHECK(vault_db_open(tmpdir, 0, &db) == 0);
    v.db = db;
    CHECK(vault_audit_open(&v, NULL) == 0);
    CHECK(audit_log_set_seed(v.audit, SEED) == 0);
    crypto_sign_seed_keypair(pk, sk, SEED);
    /* 2100 records: more than one export page. */
    CHECK(append_n(db, v.audit, 1, 2100) == 0);

    memset(&root, 0, sizeof(root));
    root.kind = VAULT_PRINCIPAL_OPERATOR;
    root.root = 1;
    snprintf(root.id, sizeof(root.id), "rootid");
    memset(&c, 0, sizeof(c));
    c.v = &v;
    c.principal = &root;
    c.service = "teevault.v1.Audit";

    /* A function session is refused, and the refusal says why. */
    memset(&fn, 0, sizeof(fn));
    fn.kind = VAULT_PRINCIPAL_FUNCTION;
    c.principal = &fn;
    c.method = "List";
    {
        Teevault__V1__AuditListRequest rq = TEEVAULT__V1__AUDIT_LIST_REQUEST__INIT;
        proto_buf_init(&out, 0);
        CHECK(m_list->fn(&c, &rq.base, &out) == TV_ERR_DENIED);
        CHECK(out.len == 0);
        CHECK(c.errmsg[0] != '\0');
        proto_buf_free(&out);
    }
    c.principal = &root;
    c.errmsg[0] = '\0';

    /* List with a filter and a limit. */
    {
        Teevault__V1__AuditListRequest rq = TEEVAULT__V1__AUDIT_LIST_REQUEST__INIT;
        Teevault__V1__AuditListResponse *resp;
        rq.principal = (char *)"user:alice2";
        rq.since = 10;
        rq.limit = 3;
        proto_buf_init(&out, 0);
        CHECK(m_list->fn(&c, &rq.base, &out) == 0);
        resp = teevault__v1__audit_list_response__unpack(NULL, out.len, out.d);
        CHECK(resp != NULL);
        if (resp) {
            CHECK_EQ_INT(resp->n_records, 3);
            if (resp->n_records == 3) {
                CHECK_EQ_INT(resp->records[0]->seq, 11);
                CHECK_EQ_INT(resp->records[2]->seq, 17);
                CHECK(!strcmp(resp->records[0]->principal, "user:alice2"));
                CHECK_EQ_INT(resp->records[0]->hash.len, 32);
            }
            teevault__v1__audit_list_response__free_unpacked(resp, NULL);
        }
        proto_buf_free(&out);
    }

    /* Head: a fresh checkpoint over the whole chain, signed by the audit key. */
    {
        Teevault__V1__Empty e = TEEVAULT__V1__EMPTY__INIT;
        Teevault__V1__AuditCheckpoint *h;
        proto_buf_init(&out, 0);
        CHECK(m_head->fn(&c, &e.base, &out) == 0);
        h = teevault__v1__audit_checkpoint__unpack(NULL, out.len, out.d);
        CHECK(h != NULL);
        if (h) {
            audit_checkpoint ck;
            CHECK_EQ_INT(h->last_seq, 2100);
            CHECK(h->head_hash.len == 32 && h->signature.len == 64);
            memset(&ck, 0, sizeof(ck));
            ck.first_seq = h->first_seq;
            ck.last_seq = h->last_seq;
            ck.time_ns = h->time_ns;
            if (h->head_hash.len == 32 && h->signature.len == 64) {
                memcpy(ck.head_hash, h->head_hash.data, 32);
                memcpy(ck.sig, h->signature.data, 64);
            }
            CHECK(audit_checkpoint_verify(&ck, pk) == 0);
            ck.last_seq++;
            CHECK(audit_checkpoint_verify(&ck, pk) == TV_ERR_VERIFY);
            teevault__v1__audit_checkpoint__free_unpacked(h, NULL);
        }
        proto_buf_free(&out);
    }

    /* Export in pages, turned into JSON lines the way the CLI does it; the
     * concatenation verifies, and every page ends in a checkpoint. */
    {
        Teevault__V1__AuditExportRequest rq = TEEVAULT__V1__AUDIT_EXPORT_REQUEST__INIT;
        sbuf text = {0};
        char line[AUDIT_JSON_LINE_MAX];
        int pages = 0, n;
        audit_verify_result res;
        rq.from = 5;
        for (;;) {
            Teevault__V1__AuditExportResponse *resp;
            proto_buf_init(&out, 0);
            CHECK(m_export->fn(&c, &rq.base, &out) == 0);
            CHECK(out.len < 4u * 1024 * 1024);
            resp = teevault__v1__audit_export_response__unpack(NULL, out.len, out.d);
            proto_buf_free(&out);
            CHECK(resp != NULL);
            if (!resp)
                break;
            pages++;
            if (pages == 1) {
                CHECK(resp->pubkey.len == 32 && memcmp(resp->pubkey.data, pk, 32) == 0);
                n = audit_json_header(line, sizeof(line), pk);
                CHECK(sbuf_write(&text, line, (size_t)n) == 0);
            }
            CHECK(resp->n_checkpoints >= 1);
            if (resp->n_checkpoints >= 1 && resp->n_records >= 1)
                CHECK_EQ_INT(resp->checkpoints[resp->n_checkpoints - 1]->last_seq,
                             resp->records[resp->n_records - 1]->seq);
            size_t ci = 0;
            for (size_t i = 0; i < resp->n_records; i++) {
                const Teevault__V1__AuditRecord *m = resp->records[i];
                audit_record r;
                memset(&r, 0, sizeof(r));
                r.seq = m->seq;
                r.time_ns = m->time_ns;
                audit_record_set_str(r.principal, AUDIT_PRINCIPAL_MAX, m->principal,
                                     strlen(m->principal));
                audit_record_set_str(r.method, AUDIT_METHOD_MAX, m->method, strlen(m->method));
                audit_record_set_str(r.secret, AUDIT_SECRET_MAX, m->secret, strlen(m->secret));
                r.version = m->version;
                r.status = (uint32_t)m->status;
                audit_record_set_str(r.request_id, AUDIT_REQID_MAX, m->request_id,
                                     strlen(m->request_id));
                audit_record_set_str(r.peer, AUDIT_PEER_MAX, m->peer, strlen(m->peer));
                audit_record_set_str(r.detail, AUDIT_DETAIL_MAX, m->detail, strlen(m->detail));
                if (m->prev_hash.len == 32 && m->hash.len == 32) {
                    memcpy(r.prev_hash, m->prev_hash.data, 32);
                    memcpy(r.hash, m->hash.data, 32);
                }
                n = audit_json_record(line, sizeof(line), &r);
                CHECK(n > 0 && sbuf_write(&text, line, (size_t)n) == 0);
                for (; ci < resp->n_checkpoints && resp->checkpoints[ci]->last_seq <= r.seq; ci++) {
                    const Teevault__V1__AuditCheckpoint *k = resp->checkpoints[ci];
                    audit_checkpoint ck;
                    if (k->last_seq != r.seq || k->head_hash.len != 32 || k->signature.len != 64)
                        continue;
                    ck.first_seq = k->first_seq;
                    ck.last_seq = k->last_seq;
                    ck.time_ns = k->time_ns;
                    memcpy(ck.head_hash, k->head_hash.data, 32);
                    memcpy(ck.sig, k->signature.data, 64);
                    n = audit_json_checkpoint(line, sizeof(line), &ck);
                    CHECK(n > 0 && sbuf_write(&text, line, (size_t)n) == 0);
                }
            }
            uint64_t next = resp->next_from, last = resp->last_seq;
            teevault__v1__audit_export_response__free_unpacked(resp, NULL);
            if (!next)
                break;
            rq.from = next;
            rq.to = last;
            if (pages > 10)
                break;
        }
        CHECK_EQ_INT(pages, 2);
        CHECK(text.d && verify_text(text.d, pk, &res) == 0);
        CHECK_EQ_INT(res.records, 2096);
        CHECK_EQ_INT(res.first_seq, 5);
        CHECK_EQ_INT(res.covered_to, 2100);
        free(text.d);
    }

    vault_audit_close(&v);
    vault_db_close(db);
    rm_tmp();
}

/* ------------------------------------------------------------ journal */

typedef struct jseen {
    int n;
    uint64_t seqs[16];
} jseen;

static int jcollect(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
    jseen *j = arg;
    (void)val;
    (void)len;
    if (j->n < 16)
        j->seqs[j->n] = seq;
    j->n++;
    return 0;
}

/* Seal records [first, first+n) after (*seq, h) into vals; advances the head. */
static void seal_n(int first, int n, uint64_t *seq, uint8_t h[32], proto_buf *vals)
{
    proto_buf one;
    for (int i = 0; i < n; i++) {
        audit_record r;
        fill_rec(&r, first + i);
        proto_buf_init(&one, 0);
        CHECK(audit_record_seal(&r, *seq, h, &one) == 0);
        CHECK(proto_buf_put_lv(vals, one.d, one.len) == 0);
        proto_buf_free(&one);
        *seq = r.seq;
        memcpy(h, r.hash, 32);
    }
}

static const uint8_t JKEY[AUDIT_JOURNAL_KEY_LEN] = {7, 7, 7};
static const uint8_t JKEY_OTHER[AUDIT_JOURNAL_KEY_LEN] = {8};

static int jopen(const char *path, const uint8_t *key, audit_journal **j)
{
    if (audit_journal_open(path, j) < 0)
        return -1;
    return audit_journal_set_key(*j, key);
}

static void test_journal_file(void)
{
    char path[300];
    audit_journal *j = NULL;
    uint8_t h0[32] = {0}, h[32] = {0}, h3[32], h5[32];
    uint64_t seq = 0;
    proto_buf f1, f2, f3;
    jseen js;
    struct stat st;
    audit_journal_report rep;

    mk_tmp();
    snprintf(path, sizeof(path), "%s/audit.journal", tmpdir);
    CHECK(audit_journal_open(path, &j) == 0);
    CHECK(audit_journal_reserve(j, path, 64 * 1024) == 0);
    CHECK(stat(path, &st) == 0 && st.st_size == 64 * 1024 && st.st_blocks * 512 >= 64 * 1024);
    proto_buf_init(&f1, 0);
    proto_buf_init(&f2, 0);
    proto_buf_init(&f3, 0);
    seal_n(1, 3, &seq, h, &f1);
    memcpy(h3, h, 32);
    seal_n(4, 2, &seq, h, &f2);
    memcpy(h5, h, 32);
    /* No key, no frame: nothing unauthenticated is ever written. */
    CHECK_EQ_INT(audit_journal_append(j, 1, 3, f1.d, f1.len), TV_ERR_NOT_INITIALISED);
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, NULL), TV_ERR_NOT_INITIALISED);
    CHECK(audit_journal_set_key(j, JKEY) == 0);
    CHECK(audit_journal_append(j, 1, 3, f1.d, f1.len) == 0);
    size_t off2 = audit_journal_used(j);
    CHECK(audit_journal_append(j, 4, 2, f2.d, f2.len) == 0);
    /* A frame that does not fit is refused, nothing written. */
    {
        size_t used = audit_journal_used(j);
        uint8_t *big = calloc(1, 70000);
        CHECK(audit_journal_append(j, 6, 1, big, 70000) == TV_ERR_STORAGE_FULL);
        CHECK_EQ_INT(audit_journal_used(j), used);
        free(big);
    }
    audit_journal_close(j);

    /* Without the key: records past the head are pending, none past 5. */
    CHECK(audit_journal_open(path, &j) == 0);
    CHECK_EQ_INT(audit_journal_pending(j, 0), 1);
    CHECK_EQ_INT(audit_journal_pending(j, 4), 1);
    CHECK_EQ_INT(audit_journal_pending(j, 5), 0);
    audit_journal_close(j);

    /* Reopen (as after a crash): both frames replay in order from the head. */
    CHECK(jopen(path, JKEY, &j) == 0);
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), 5);
    CHECK(js.n == 5 && js.seqs[0] == 1 && js.seqs[4] == 5);
    CHECK_EQ_INT(rep.unverified, 0);
    /* A head past the journal (LMDB already has it all): nothing. */
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 5, h5, jcollect, &js, NULL), 0);
    /* The right seq with another hash: the frame verifies but its first
     * record does not chain onto the head: an integrity error at offset 0. */
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 0, h5, jcollect, &js, &rep), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(js.n, 0);
    CHECK_EQ_INT(rep.off, 0);
    CHECK_EQ_INT(rep.seq, 1);
    /* LMDB behind the journal (records 1..2 gone from it): a gap. */
    CHECK_EQ_INT(audit_journal_replay(j, 3, h3, jcollect, &js, &rep), TV_ERR_INTEGRITY);
    audit_journal_close(j);

    /* Under another key (another vault's, or a forger's) nothing verifies. */
    CHECK(jopen(path, JKEY_OTHER, &j) == 0);
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), 0);
    CHECK_EQ_INT(js.n, 0);
    CHECK(rep.unverified && rep.off == 0 && rep.seq == 1);
    audit_journal_close(j);

    /* A torn second frame (the last one written): only the first replays,
     * and the torn one is reported. */
    {
        int fd = open(path, O_RDWR);
        uint8_t b;
        CHECK(fd >= 0);
        CHECK(pread(fd, &b, 1, (off_t)off2 + 40) == 1);
        b ^= 0x5a;
        CHECK(pwrite(fd, &b, 1, (off_t)off2 + 40) == 1);
        close(fd);
    }
    CHECK(jopen(path, JKEY, &j) == 0);
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), 3);
    CHECK(rep.unverified && rep.off == off2 && rep.seq == 4);
    CHECK_EQ_INT(audit_journal_used(j), off2); /* the next frame overwrites the torn one */

    /* After a reset, a new frame at offset 0 ends at the stale bytes. */
    audit_journal_reset(j);
    seq = 3;
    memcpy(h, h3, 32);
    seal_n(4, 1, &seq, h, &f3);
    CHECK(audit_journal_append(j, 4, 1, f3.d, f3.len) == 0);
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 3, h3, jcollect, &js, &rep), 1);
    CHECK(js.seqs[0] == 4);
    CHECK_EQ_INT(rep.unverified, 0);
    audit_journal_close(j);
    proto_buf_free(&f1);
    proto_buf_free(&f2);
    proto_buf_free(&f3);
    rm_tmp();
}

/* Write frames of 1, 2, 1, 1 records (seqs 1..5); offsets in off[]. */
static void journal_four(const char *path, size_t off[5], uint8_t h0[32])
{
    audit_journal *j = NULL;
    uint8_t h[32] = {0};
    uint64_t seq = 0;
    static const int sizes[4] = {1, 2, 1, 1};
    int first = 1;
    memset(h0, 0, 32);
    unlink(path);
    CHECK(jopen(path, JKEY, &j) == 0);
    CHECK(audit_journal_reserve(j, path, 64 * 1024) == 0);
    for (int i = 0; i < 4; i++) {
        proto_buf f;
        proto_buf_init(&f, 0);
        seal_n(first, sizes[i], &seq, h, &f);
        off[i] = audit_journal_used(j);
        CHECK(audit_journal_append(j, (uint64_t)first, (uint32_t)sizes[i], f.d, f.len) == 0);
        first += sizes[i];
        proto_buf_free(&f);
    }
    off[4] = audit_journal_used(j);
    audit_journal_close(j);
}

/* What an attacker with write access to the file can do, and what replay
 * makes of it: erase a frame, move frames, re-chain a record without the
 * key. Each is refused with the offset and seq, nothing past the damage is
 * replayed, and no record that does not verify is ever passed on. */
static void test_journal_tamper(void)
{
    char path[300];
    size_t off[5];
    uint8_t h0[32];
    audit_journal *j = NULL;
    audit_journal_report rep;
    jseen js;
    int fd;

    mk_tmp();
    snprintf(path, sizeof(path), "%s/audit.journal", tmpdir);

    /* Erased: the second frame (seqs 2..3) zeroed. */
    journal_four(path, off, h0);
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    {
        uint8_t z[4096] = {0};
        CHECK(pwrite(fd, z, off[2] - off[1], (off_t)off[1]) == (ssize_t)(off[2] - off[1]));
    }
    close(fd);
    CHECK(jopen(path, JKEY, &j) == 0);
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), TV_ERR_INTEGRITY);
    CHECK_EQ_INT(rep.off, off[1]);
    CHECK_EQ_INT(rep.seq, 2);
    CHECK(strstr(rep.reason, "erased") != NULL);
    CHECK(js.n <= 1); /* at most the frame before the damage */
    audit_journal_close(j);

    /* Erased last frame but one, the last frame intact. */
    journal_four(path, off, h0);
    fd = open(path, O_RDWR);
    {
        uint8_t z[4096] = {0};
        CHECK(pwrite(fd, z, off[3] - off[2], (off_t)off[2]) == (ssize_t)(off[3] - off[2]));
    }
    close(fd);
    CHECK(jopen(path, JKEY, &j) == 0);
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), TV_ERR_INTEGRITY);
    CHECK(rep.off == off[2] && rep.seq == 4);
    audit_journal_close(j);

    /* Reordered: frames 3 and 4 (one record each, same length) swapped. */
    journal_four(path, off, h0);
    CHECK_EQ_INT(off[3] - off[2], off[4] - off[3]);
    {
        size_t n = off[3] - off[2];
        uint8_t a[4096], b[4096];
        fd = open(path, O_RDWR);
        CHECK(pread(fd, a, n, (off_t)off[2]) == (ssize_t)n);
        CHECK(pread(fd, b, n, (off_t)off[3]) == (ssize_t)n);
        CHECK(pwrite(fd, b, n, (off_t)off[2]) == (ssize_t)n);
        CHECK(pwrite(fd, a, n, (off_t)off[3]) == (ssize_t)n);
        close(fd);
    }
    CHECK(jopen(path, JKEY, &j) == 0);
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), TV_ERR_INTEGRITY);
    CHECK(rep.off == off[2] && rep.seq == 5);
    CHECK(strstr(rep.reason, "missing") != NULL);
    audit_journal_close(j);

    /* A record altered in place and its frame's trailer recomputed without
     * the key (an unkeyed BLAKE2b, as format 1 had): the frame does not
     * verify; with a valid frame after it, that is an error. */
    journal_four(path, off, h0);
    {
        size_t n = off[2] - off[1];
        uint8_t f[4096];
        fd = open(path, O_RDWR);
        CHECK(pread(fd, f, n, (off_t)off[1]) == (ssize_t)n);
        f[40] ^= 1;
        crypto_generichash(f + n - 32, 32, f, n - 32, NULL, 0);
        CHECK(pwrite(fd, f, n, (off_t)off[1]) == (ssize_t)n);
        close(fd);
    }
    CHECK(jopen(path, JKEY, &j) == 0);
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), TV_ERR_INTEGRITY);
    CHECK(rep.off == off[1] && rep.seq == 2);
    audit_journal_close(j);

    /* A forged frame appended after the last one (well chained, unkeyed
     * trailer): not replayed, reported as unverified; the rest replays. */
    journal_four(path, off, h0);
    {
        size_t n = off[4] - off[3];
        uint8_t f[4096];
        fd = open(path, O_RDWR);
        CHECK(pread(fd, f, n, (off_t)off[3]) == (ssize_t)n);
        proto_put_be64(f + 8, 6);
        crypto_generichash(f + n - 32, 32, f, n - 32, NULL, 0);
        CHECK(pwrite(fd, f, n, (off_t)off[4]) == (ssize_t)n);
        close(fd);
    }
    CHECK(jopen(path, JKEY, &j) == 0);
    memset(&js, 0, sizeof(js));
    CHECK_EQ_INT(audit_journal_replay(j, 0, h0, jcollect, &js, &rep), 5);
    CHECK(rep.unverified && rep.off == off[4] && rep.seq == 6);
    audit_journal_close(j);
    rm_tmp();
}

/* The writer with its journal: records survive a crash (the process dies
 * without closing) and reach LMDB at the next open; a write transaction on
 * the loop thread between journalled batches keeps the chain gapless. */
static void test_journal_writer(void)
{
    struct vault v;
    vault_db *db = NULL;
    vault_audit_opts o = {.journal = 1, .journal_bytes = 1 << 20};
    vault_call c;
    vault_principal p;
    MDB_txn *txn;
    audit_record rec;
    vault_audit_info info;
    sbuf out = {0};
    audit_verify_result res;
    int status = -1;

    mk_tmp();
    pid_t pid = fork();
    if (pid == 0) {
        struct vault cv;
        vault_db *cdb = NULL;
        memset(&cv, 0, sizeof(cv));
        if (vault_db_open(tmpdir, 0, &cdb) < 0)
            _exit(3);
        cv.db = cdb;
        if (vault_audit_open(&cv, &o) < 0)
            _exit(4);
        if (sim_keyring(&cv, 1) < 0 || vault_audit_unlock(&cv) < 0)
            _exit(6);
        for (int i = 0; i < 7; i++) {
            donebox d = {0};
            make_call(&c, &p, "crash/x", i);
            if (vault_audit_submit(&cv, &c, 0, on_done, &d) < 0 || !d.called || d.status != 0)
                _exit(5);
        }
        _exit(0); /* no close: the 7 records are only in the journal */
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    memset(&v, 0, sizeof(v));
    CHECK(vault_db_open(tmpdir, 0, &db) == 0);
    v.db = db;
    CHECK(vault_audit_open(&v, &o) == 0);
    /* Sealed, the journal's records cannot be verified: nothing may take
     * their seqs meanwhile. */
    CHECK_EQ_INT(vault_audit_journal_blocked(&v), 1);
    {
        donebox d = {0};
        make_call(&c, &p, "sealed/x", 0);
        CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0 && d.called);
        CHECK_EQ_INT(d.status, TV_ERR_AUDIT);
    }
    CHECK(sim_keyring(&v, 0) == 0);
    CHECK(vault_audit_unlock(&v) == 0); /* verifies and replays */
    CHECK_EQ_INT(vault_audit_journal_blocked(&v), 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_get(v.audit, txn, 7, &rec) == 0);
    mdb_txn_abort(txn);
    CHECK(strcmp(rec.secret, "crash/x") == 0);

    /* Two journalled records, a write transaction's record, two more. */
    for (int i = 0; i < 2; i++) {
        donebox d = {0};
        make_call(&c, &p, "j/a", i);
        CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0 && d.status == 0);
    }
    CHECK(vault_db_wtxn(db, &txn) == 0);
    make_call(&c, &p, "j/write", 99);
    CHECK(vault_audit_append_txn(&v, txn, &c, 0) == 0);
    CHECK(vault_db_commit(txn) == 0);
    for (int i = 0; i < 2; i++) {
        donebox d = {0};
        make_call(&c, &p, "j/b", i);
        CHECK(vault_audit_submit(&v, &c, 0, on_done, &d) == 0 && d.status == 0);
    }
    CHECK(vault_audit_get_info(&v, &info) == 0);
    CHECK_EQ_INT(info.seq, 12);
    CHECK(vault_audit_settle(&v) == 0);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_get(v.audit, txn, 10, &rec) == 0 && strcmp(rec.secret, "j/write") == 0);
    CHECK(audit_get(v.audit, txn, 12, &rec) == 0 && strcmp(rec.secret, "j/b") == 0);
    mdb_txn_abort(txn);
    CHECK(audit_log_set_seed(v.audit, SEED) == 0);
    CHECK(vault_audit_flush(&v) == 0); /* checkpoint over all 12 */
    CHECK(export_all(db, v.audit, 1, 12, &out) == 0);
    CHECK(out.d && verify_text(out.d, NULL, &res) == 0);
    CHECK_EQ_INT(res.verdict, AUDIT_OK);
    CHECK_EQ_INT(res.records, 12);
    free(out.d);
    vault_audit_close(&v);
    vault_keyring_free(v.kr);
    seal_backend_free(v.seal);
    vault_db_close(db);
    rm_tmp();
}

/* Aggregate records (issue 14): which calls are aggregated, peer keys, the
 * bound on peers and the detail's "+k more" tail. */
static void test_aggregate(void)
{
    vault_principal none = {0}, op = {0};
    vault_call c;
    audit_record recs[VAULT_AUDIT_AGG_PEERS + 1];
    char key[64], peer[32];
    vault_audit_agg *a = vault_audit_agg_new(1000000000);
    size_t n;

    CHECK(a != NULL);
    memset(&c, 0, sizeof c);
    c.principal = &none;
    c.peer = "unix";
    c.service = "teevault.v1.Sys";
    c.method = "Health";
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, 0), 1);
    op.kind = VAULT_PRINCIPAL_OPERATOR;
    c.principal = &op; /* an operator's Health is audited on its own */
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, 0), 0);
    c.principal = &none;
    c.service = "teevault.v1.Secrets";
    c.method = "Get";
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, TV_ERR_UNAUTHENTICATED), 1);
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, TV_ERR_DENIED), 0);
    c.service = "teevault.v1.Auth";
    c.method = "Login";
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, TV_ERR_RESOURCE), 1);
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, 0), 0); /* a success makes a token */
    c.service = "teevault.v1.Attestation";
    c.method = "Attest";
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, TV_ERR_UNAUTHENTICATED), 0);
    c.service = "teevault.v1.Sys";
    c.method = "Initialize";
    CHECK_EQ_INT(vault_audit_agg_wanted(&c, 0), 0);

    vault_audit_agg_peer_key("10.1.2.3:5555", key, sizeof key);
    CHECK(strcmp(key, "10.1.2.3") == 0);
    vault_audit_agg_peer_key("[::1]:5555", key, sizeof key);
    CHECK(strcmp(key, "::1") == 0);
    vault_audit_agg_peer_key("uid:1000", key, sizeof key);
    CHECK(strcmp(key, "uid:1000") == 0);

    /* 100 peers, 12 kinds for the first: 64 named peers + "other". */
    c.method = "Health";
    for (int i = 0; i < 100; i++) {
        snprintf(peer, sizeof peer, "10.0.0.%d:%d", i, 40000 + i);
        c.peer = peer;
        vault_audit_agg_count(a, &c, 0);
        vault_audit_agg_count(a, &c, 0); /* another connection, same address */
    }
    c.peer = "10.0.0.0:1";
    for (int i = 0; i < 12; i++) {
        static char m[12][16];
        snprintf(m[i], sizeof m[i], "M%d", i);
        c.method = m[i];
        vault_audit_agg_count(a, &c, i % 2 ? TV_ERR_UNAUTHENTICATED : 0);
    }
    CHECK_EQ_INT(vault_audit_agg_pending(a), VAULT_AUDIT_AGG_PEERS + 1);
    n = vault_audit_agg_take(a, recs, VAULT_AUDIT_AGG_PEERS + 1, 61000000000);
    CHECK_EQ_INT(n, VAULT_AUDIT_AGG_PEERS + 1);
    CHECK(strcmp(recs[0].peer, "10.0.0.0") == 0);
    CHECK(strcmp(recs[0].method, "aggregate") == 0);
    CHECK(strcmp(recs[0].principal, "anonymous") == 0);
    CHECK_EQ_INT(recs[0].status, 16);
    CHECK(strncmp(recs[0].detail, "60s n=14 Sys/Health=2", 21) == 0);
    CHECK(strstr(recs[0].detail, " more") != NULL);
    CHECK(strcmp(recs[1].detail, "60s n=2 Sys/Health=2") == 0);
    CHECK(strcmp(recs[VAULT_AUDIT_AGG_PEERS].peer, "other") == 0);
    CHECK(strcmp(recs[VAULT_AUDIT_AGG_PEERS].detail, "60s n=72 Sys/Health=72") == 0);
    CHECK_EQ_INT(vault_audit_agg_pending(a), 0);
    CHECK_EQ_INT(vault_audit_agg_total(a), 212);
    vault_audit_agg_free(a);
}

/* Feed every '\n'-terminated line of text to v; the first problem stops it. */
static void feed_lines(audit_verifier *v, const char *text, int max_lines)
{
    const char *p = text, *nl;
    int n = 0;
    while ((nl = strchr(p, '\n')) && (max_lines < 0 || n < max_lines)) {
        if (audit_verifier_line(v, p, (size_t)(nl - p)) < 0)
            return;
        p = nl + 1;
        n++;
    }
}

/* Retention (issue 14): audit_prune drops a verified prefix, keeps the
 * anchor with a signed checkpoint; archive + live verify as one; the tail
 * check and later checkpoints work from the anchor; a wrong hash, a seq
 * out of range and a forged prefix drop nothing. */
static void test_prune_archive(void)
{
    static const uint8_t MK[AUDIT_MAC_KEY_LEN] = {7, 7, 7};
    vault_db *db = NULL;
    audit_log *log = NULL;
    MDB_txn *txn;
    audit_record r8;
    audit_checkpoint c;
    audit_verify_result res;
    audit_verifier *v = NULL;
    sbuf arch = {0}, live = {0};
    uint8_t pk[32], zero[32] = {0};
    uint64_t dropped = 0, first = 0, bad = 0, seq = 0;

    make_log(&db, &log); /* 1..12, checkpoint at 5 */
    CHECK(audit_log_set_mac_key(log, MK) == 0);
    CHECK(seal_head(db, log) == 0);
    CHECK(audit_log_pubkey(log, pk) == 0);
    CHECK(export_all(db, log, 0, 8, &arch) == 0); /* the archive: 1..8 */
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_get(log, txn, 8, &r8) == 0);
    mdb_txn_abort(txn);

    /* refused: another hash, seq 0, past the head; nothing dropped */
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_prune(log, txn, 8, zero, 100, &dropped, &first), TV_ERR_CAS);
    CHECK_EQ_INT(audit_prune(log, txn, 0, r8.hash, 100, &dropped, &first), TV_ERR_INVALID);
    CHECK_EQ_INT(audit_prune(log, txn, 13, r8.hash, 100, &dropped, &first), TV_ERR_INVALID);
    mdb_txn_abort(txn);

    /* two bounded steps: 4, then the rest up to the anchor */
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_prune(log, txn, 8, r8.hash, 4, &dropped, &first), 0);
    CHECK_EQ_INT(dropped, 4);
    CHECK_EQ_INT(first, 5);
    CHECK(vault_db_commit(txn) == 0);
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_prune(log, txn, 8, r8.hash, 100, &dropped, &first), 0);
    CHECK_EQ_INT(dropped, 3);
    CHECK_EQ_INT(first, 8);
    CHECK(audit_append(log, txn, &(audit_record){.principal = "root", .method = "Audit/Prune"}) ==
          0);
    CHECK(audit_seal_head(log, txn) == 0);
    CHECK(vault_db_commit(txn) == 0);

    /* the vault: first 8 (the anchor, with its stored checkpoint), head 13;
     * the tail verifies from the anchor and new checkpoints sign */
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_first_seq(log, txn, &seq) == 0);
    CHECK_EQ_INT(seq, 8);
    CHECK(audit_get(log, txn, 7, &r8) == TV_ERR_NOT_FOUND);
    CHECK_EQ_INT(audit_verify_tail(log, txn, 13, &bad), 0);
    mdb_txn_abort(txn);
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_checkpoint_now(log, txn, 0, &c), 1);
    CHECK_EQ_INT(c.last_seq, 13);
    CHECK(vault_db_commit(txn) == 0);
    /* an already dropped seq cannot be named again */
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_prune(log, txn, 5, r8.hash, 100, &dropped, &first), TV_ERR_INVALID);
    mdb_txn_abort(txn);

    /* archive + live (8..13) verify as one; each alone too */
    CHECK(export_all(db, log, 0, 0, &live) == 0);
    CHECK(live.d && strstr(live.d, "{\"type\":\"record\",\"seq\":8,") != NULL);
    CHECK(verify_text(arch.d, pk, &res) == 0);
    CHECK(verify_text(live.d, pk, &res) == 0);
    CHECK(audit_verifier_new(pk, &v) == 0);
    CHECK(audit_verifier_line(v, arch.d, 0) == 0); /* empty line: ignored */
    feed_lines(v, arch.d, -1);
    audit_verifier_next_file(v);
    feed_lines(v, live.d, -1);
    CHECK_EQ_INT(audit_verifier_finish(v, &res), 0);
    CHECK_EQ_INT(res.first_seq, 1);
    CHECK_EQ_INT(res.last_seq, 13);
    CHECK_EQ_INT(res.records, 13); /* the anchor counted once */
    audit_verifier_free(v);

    /* a gap between the files fails: archive 1..6 + live 8.. */
    {
        sbuf a6 = {0};
        CHECK(export_all(db, log, 8, 13, &a6) == 0); /* sanity: exports from the anchor */
        free(a6.d);
        CHECK(audit_verifier_new(pk, &v) == 0);
        feed_lines(v, arch.d, 7); /* header + records 1..6 */
        audit_verifier_next_file(v);
        feed_lines(v, live.d, -1);
        CHECK(audit_verifier_finish(v, &res) != 0);
        CHECK(strstr(res.why, "do not continue") != NULL);
        audit_verifier_free(v);
    }
    free(arch.d);
    free(live.d);
    drop_log(db, log);

    /* a forged prefix (record 3 altered, re-chained to 12): nothing dropped */
    make_log(&db, &log);
    CHECK(audit_log_set_mac_key(log, MK) == 0);
    CHECK(seal_head(db, log) == 0);
    forge_lmdb(db, log, 7, 12);
    CHECK(vault_db_rtxn(db, &txn) == 0);
    CHECK(audit_get(log, txn, 10, &r8) == 0);
    mdb_txn_abort(txn);
    CHECK(vault_db_wtxn(db, &txn) == 0);
    CHECK_EQ_INT(audit_prune(log, txn, 10, r8.hash, 100, &dropped, &first), TV_ERR_INTEGRITY);
    mdb_txn_abort(txn);
    drop_log(db, log);
}

int main(void)
{
    if (sodium_init() < 0)
        return 2;
    RUN(test_chain_append_verify);
    RUN(test_reopen_continues);
    RUN(test_aborted_append_leaves_no_trace);
    RUN(test_list_filter);
    RUN(test_verify_detects_tampering);
    RUN(test_json_roundtrip_odd_bytes);
    RUN(test_group_commit);
    RUN(test_pipelined_chain);
    RUN(test_sync_mode_and_checkpoint_every_n);
    RUN(test_checkpoint_timer);
    RUN(test_storage_high_water);
    RUN(test_rpc_audit_handlers);
    RUN(test_lmdb_tail_verified_before_signing);
    RUN(test_journal_file);
    RUN(test_journal_tamper);
    RUN(test_journal_writer);
    RUN(test_aggregate);
    RUN(test_prune_archive);
    return tv_test_finish();
}
