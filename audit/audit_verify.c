/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_verify: the offline verifier (sans-I/O: it takes lines, the caller
 * reads the file) and the exporter that writes what it reads.
 */
#include "audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct audit_verifier {
    int have_pk_arg;
    uint8_t pk_arg[AUDIT_PK_LEN];
    int have_pk;
    uint8_t pk[AUDIT_PK_LEN];
    int header_seen;
    int joining; /* audit_verifier_next_file: the next record may repeat the last */
    int failed;
    int have_rec;
    uint64_t last_seq;
    uint8_t last_hash[AUDIT_HASH_LEN];
    uint64_t line;
    audit_verify_result res;
    audit_line parsed; /* scratch, large */
};

int audit_verifier_new(const uint8_t *pk, audit_verifier **out)
{
    audit_verifier *v = calloc(1, sizeof(*v));
    if (!v)
        return TV_ERR_NOMEM;
    if (pk) {
        v->have_pk_arg = 1;
        memcpy(v->pk_arg, pk, AUDIT_PK_LEN);
        v->have_pk = 1;
        memcpy(v->pk, pk, AUDIT_PK_LEN);
    }
    *out = v;
    return TV_OK;
}

void audit_verifier_free(audit_verifier *v)
{
    free(v);
}

static int fail(audit_verifier *v, enum audit_verdict verdict, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(audit_verifier *v, enum audit_verdict verdict, uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    v->failed = 1;
    v->res.verdict = verdict;
    v->res.bad_seq = seq;
    v->res.line = v->line;
    va_start(ap, fmt);
    vsnprintf(v->res.why, sizeof(v->res.why), fmt, ap);
    va_end(ap);
    return TV_ERR_INTEGRITY;
}

/* The first seq a failing checkpoint leaves unproven. */
static uint64_t unproven_from(const audit_verifier *v, const audit_checkpoint *c)
{
    uint64_t s = v->res.covered_to + 1;
    if (s < v->res.first_seq)
        s = v->res.first_seq;
    if (s < c->first_seq && c->first_seq <= c->last_seq)
        s = c->first_seq;
    return s;
}

static int on_record(audit_verifier *v, const audit_record *r)
{
    static const uint8_t zero[AUDIT_HASH_LEN];
    uint8_t h[AUDIT_HASH_LEN];

    if (v->joining && v->have_rec) {
        /* The first record of a later file: the previous file's last record
         * again (an archive's anchor, where the live log starts), or the
         * one after it. */
        v->joining = 0;
        if (r->seq == v->last_seq) {
            if (audit_record_hash(r, h) < 0 || sodium_memcmp(h, r->hash, AUDIT_HASH_LEN) != 0 ||
                sodium_memcmp(h, v->last_hash, AUDIT_HASH_LEN) != 0)
                return fail(v, AUDIT_BAD_CHAIN, r->seq,
                            "the next file starts at seq %" PRIu64
                            " but its record differs from the previous file's",
                            r->seq);
            return TV_OK;
        }
        if (r->seq != v->last_seq + 1)
            return fail(v, AUDIT_BAD_CHAIN, v->last_seq + 1,
                        "the files do not continue each other: one ends at seq %" PRIu64
                        ", the next starts at seq %" PRIu64,
                        v->last_seq, r->seq);
    }
    if (!v->have_rec) {
        if (r->seq == 0)
            return fail(v, AUDIT_BAD_CHAIN, 0, "record has seq 0 (sequence numbers start at 1)");
        if (r->seq == 1 && sodium_memcmp(r->prev_hash, zero, AUDIT_HASH_LEN) != 0)
            return fail(v, AUDIT_BAD_CHAIN, 1, "seq 1 does not chain from the zero hash");
        v->res.first_seq = r->seq;
    } else {
        if (r->seq != v->last_seq + 1)
            return fail(v, AUDIT_BAD_CHAIN, v->last_seq + 1,
                        "expected seq %" PRIu64 " but found seq %" PRIu64
                        " (record missing, reordered or inserted)",
                        v->last_seq + 1, r->seq);
        if (sodium_memcmp(r->prev_hash, v->last_hash, AUDIT_HASH_LEN) != 0)
            return fail(v, AUDIT_BAD_CHAIN, r->seq,
                        "prev_hash does not match the hash of seq %" PRIu64, v->last_seq);
    }
    if (audit_record_hash(r, h) < 0)
        return fail(v, AUDIT_BAD_FORMAT, r->seq, "record cannot be encoded");
    if (sodium_memcmp(h, r->hash, AUDIT_HASH_LEN) != 0)
        return fail(v, AUDIT_BAD_CHAIN, r->seq,
                    "hash mismatch: the record's contents do not match its hash (changed field)");
    v->have_rec = 1;
    v->last_seq = r->seq;
    memcpy(v->last_hash, h, AUDIT_HASH_LEN);
    memcpy(v->res.last_hash, h, AUDIT_HASH_LEN);
    v->res.last_seq = r->seq;
    v->res.records++;
    return TV_OK;
}

static int on_checkpoint(audit_verifier *v, const audit_checkpoint *c)
{
    if (!v->have_pk)
        return fail(v, AUDIT_NO_KEY, c->last_seq,
                    "no public key to check checkpoints (export has none; pass --pubkey)");
    if (!v->have_rec)
        return fail(v, AUDIT_BAD_CHECKPOINT, c->last_seq,
                    "checkpoint for seq %" PRIu64 " before any record", c->last_seq);
    if (c->last_seq != v->last_seq)
        return fail(v, AUDIT_BAD_CHECKPOINT, c->last_seq < v->last_seq ? c->last_seq : v->last_seq,
                    "checkpoint for seq %" PRIu64 " does not follow record %" PRIu64, c->last_seq,
                    c->last_seq);
    if (c->first_seq == 0 || c->first_seq > c->last_seq)
        return fail(v, AUDIT_BAD_CHECKPOINT, c->last_seq,
                    "checkpoint range %" PRIu64 "..%" PRIu64 " is invalid", c->first_seq,
                    c->last_seq);
    if (audit_checkpoint_verify(c, v->pk) < 0)
        return fail(v, AUDIT_BAD_CHECKPOINT, unproven_from(v, c),
                    "checkpoint %" PRIu64 "..%" PRIu64
                    ": signature does not verify with the public key (forged or altered)",
                    c->first_seq, c->last_seq);
    if (sodium_memcmp(c->head_hash, v->last_hash, AUDIT_HASH_LEN) != 0)
        return fail(v, AUDIT_BAD_CHECKPOINT, unproven_from(v, c),
                    "checkpoint %" PRIu64 "..%" PRIu64
                    " is validly signed but its head hash differs from the recomputed chain "
                    "(records up to seq %" PRIu64 " were rewritten)",
                    c->first_seq, c->last_seq, c->last_seq);
    v->res.covered_to = c->last_seq;
    v->res.checkpoints++;
    return TV_OK;
}

int audit_verifier_line(audit_verifier *v, const char *line, size_t len)
{
    const char *why = NULL;
    if (v->failed)
        return TV_ERR_INTEGRITY;
    v->line++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0)
        return TV_OK;
    if (len >= AUDIT_JSON_LINE_MAX)
        return fail(v, AUDIT_BAD_FORMAT, v->have_rec ? v->last_seq + 1 : 0,
                    "line %" PRIu64 " is longer than any line an export contains", v->line);
    if (audit_json_parse(line, len, &v->parsed, &why) < 0)
        return fail(v, AUDIT_BAD_FORMAT, v->have_rec ? v->last_seq + 1 : 0, "line %" PRIu64 ": %s",
                    v->line, why ? why : "malformed");
    if (!v->header_seen) {
        if (v->parsed.type != AUDIT_LINE_HEADER)
            return fail(v, AUDIT_BAD_FORMAT, 0, "the export does not start with a header line");
        v->header_seen = 1;
        if (v->joining && v->parsed.has_pubkey && v->have_pk && !v->have_pk_arg) {
            if (sodium_memcmp(v->parsed.pubkey, v->pk, AUDIT_PK_LEN) != 0)
                return fail(v, AUDIT_BAD_CHECKPOINT, 0,
                            "the next file's public key differs from the previous file's");
            return TV_OK;
        }
        if (v->parsed.has_pubkey) {
            if (v->have_pk_arg) {
                if (sodium_memcmp(v->parsed.pubkey, v->pk_arg, AUDIT_PK_LEN) != 0)
                    return fail(v, AUDIT_BAD_CHECKPOINT, 0,
                                "the export's public key differs from the one given");
            } else {
                memcpy(v->pk, v->parsed.pubkey, AUDIT_PK_LEN);
                v->have_pk = 1;
                v->res.pubkey_from_file = 1;
            }
        }
        return TV_OK;
    }
    switch (v->parsed.type) {
    case AUDIT_LINE_RECORD:
        return on_record(v, &v->parsed.rec);
    case AUDIT_LINE_CHECKPOINT:
        return on_checkpoint(v, &v->parsed.ckpt);
    default:
        return fail(v, AUDIT_BAD_FORMAT, v->have_rec ? v->last_seq + 1 : 0, "a second header line");
    }
}

void audit_verifier_next_file(audit_verifier *v)
{
    if (v->failed || !v->header_seen)
        return;
    v->header_seen = 0;
    v->joining = 1;
}

int audit_verifier_finish(audit_verifier *v, audit_verify_result *res)
{
    if (!v->failed) {
        if (!v->header_seen) {
            (void)fail(v, AUDIT_BAD_FORMAT, 0, "empty export (no header line)");
        } else if (v->res.records > 0 && v->res.covered_to < v->res.last_seq) {
            uint64_t from = v->res.covered_to + 1;
            if (from < v->res.first_seq)
                from = v->res.first_seq;
            if (!v->have_pk)
                (void)fail(v, AUDIT_NO_KEY, from,
                           "no public key to check checkpoints (export has none; pass --pubkey)");
            else
                (void)fail(v, AUDIT_UNVERIFIED_TAIL, from,
                           "unverified tail: records %" PRIu64 "..%" PRIu64
                           " are not covered by a signed checkpoint",
                           from, v->res.last_seq);
            v->res.line = 0;
        } else {
            v->res.verdict = AUDIT_OK;
            snprintf(v->res.why, sizeof(v->res.why),
                     "%" PRIu64 " records, %" PRIu64 " checkpoints verified", v->res.records,
                     v->res.checkpoints);
        }
    }
    *res = v->res;
    if (res->verdict == AUDIT_OK)
        return TV_OK;
    return res->verdict == AUDIT_NO_KEY ? TV_ERR_VERIFY : TV_ERR_INTEGRITY;
}

int audit_verify_buffer(const char *buf, size_t len, const uint8_t *pk, audit_verify_result *res)
{
    audit_verifier *v = NULL;
    int r;
    if ((r = audit_verifier_new(pk, &v)) < 0)
        return r;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
        if (audit_verifier_line(v, buf + i, n) < 0)
            break;
        i += n + (nl ? 1 : 0);
    }
    r = audit_verifier_finish(v, res);
    audit_verifier_free(v);
    return r;
}

/* ------------------------------------------------------------ export */

typedef struct export_ctx {
    audit_write_fn write;
    void *arg;
    audit_checkpoint *ck;
    size_t nck, ick, capck;
    uint64_t n, first, last;
    char line[AUDIT_JSON_LINE_MAX];
} export_ctx;

static int collect_ckpt(void *arg, const audit_checkpoint *c)
{
    export_ctx *x = arg;
    if (x->nck == x->capck) {
        size_t nc = x->capck ? x->capck * 2 : 16;
        audit_checkpoint *p = realloc(x->ck, nc * sizeof(*p));
        if (!p)
            return TV_ERR_NOMEM;
        x->ck = p;
        x->capck = nc;
    }
    x->ck[x->nck++] = *c;
    return 0;
}

static int emit_record(void *arg, const audit_record *r)
{
    export_ctx *x = arg;
    int n, rc;
    if ((n = audit_json_record(x->line, sizeof(x->line), r)) < 0)
        return n;
    if ((rc = x->write(x->arg, x->line, (size_t)n)) < 0)
        return rc;
    if (x->n++ == 0)
        x->first = r->seq;
    x->last = r->seq;
    while (x->ick < x->nck && x->ck[x->ick].last_seq <= r->seq) {
        if (x->ck[x->ick].last_seq == r->seq) {
            if ((n = audit_json_checkpoint(x->line, sizeof(x->line), &x->ck[x->ick])) < 0)
                return n;
            if ((rc = x->write(x->arg, x->line, (size_t)n)) < 0)
                return rc;
        }
        x->ick++;
    }
    return 0;
}

int audit_export(audit_log *log, MDB_txn *txn, uint64_t from, uint64_t to, audit_write_fn write,
                 void *arg, uint64_t *n_records)
{
    int r = TV_ERR_INTERNAL, n;
    export_ctx *x = calloc(1, sizeof(*x));
    uint8_t pk[AUDIT_PK_LEN];
    int has_pk = audit_log_pubkey(log, pk) == 0;
    audit_filter f;
    audit_checkpoint c;

    if (!x)
        return TV_ERR_NOMEM;
    x->write = write;
    x->arg = arg;
    if (from == 0)
        from = 1;
    if ((r = audit_list_checkpoints(log, txn, from, to, collect_ckpt, x)) < 0)
        goto out;
    if ((n = audit_json_header(x->line, sizeof(x->line), has_pk ? pk : NULL)) < 0) {
        r = n;
        goto out;
    }
    if ((r = write(arg, x->line, (size_t)n)) < 0)
        goto out;
    memset(&f, 0, sizeof(f));
    f.since = from;
    f.to = to;
    if ((r = audit_list(log, txn, &f, emit_record, x)) < 0)
        goto out;
    if (has_pk && x->n > 0) {
        if ((r = audit_sign_checkpoint(log, txn, x->first, x->last, 0, &c)) < 0)
            goto out;
        if ((n = audit_json_checkpoint(x->line, sizeof(x->line), &c)) < 0) {
            r = n;
            goto out;
        }
        if ((r = write(arg, x->line, (size_t)n)) < 0)
            goto out;
    }
    if (n_records)
        *n_records = x->n;
    r = TV_OK;
out:
    free(x->ck);
    free(x);
    return r;
}
