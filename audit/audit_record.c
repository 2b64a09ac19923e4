/* SPDX-License-Identifier: Apache-2.0 */
/* audit_record: canonical record encoding, the chain hash, checkpoint bytes. */
#include "audit.h"

#include <string.h>

#include <sodium.h>

#include "proto_buf.h"

void audit_record_set_str(char *dst, size_t cap, const char *s, size_t n)
{
    size_t i = 0;
    if (s) {
        for (; i < n && i < cap && s[i] != '\0'; i++)
            dst[i] = s[i];
    }
    dst[i] = '\0';
}

static int put_str(proto_buf *out, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap + 1);
    if (n > cap)
        return TV_ERR_INVALID;
    return proto_buf_put_lv(out, s, n);
}

int audit_record_encode(const audit_record *r, proto_buf *out)
{
    int rc = TV_ERR_INTERNAL;
    if ((rc = proto_buf_put_u8(out, AUDIT_FORMAT)) < 0 ||
        (rc = proto_buf_put_u64(out, r->seq)) < 0 ||
        (rc = proto_buf_put_u64(out, (uint64_t)r->time_ns)) < 0 ||
        (rc = put_str(out, r->principal, AUDIT_PRINCIPAL_MAX)) < 0 ||
        (rc = put_str(out, r->method, AUDIT_METHOD_MAX)) < 0 ||
        (rc = put_str(out, r->secret, AUDIT_SECRET_MAX)) < 0 ||
        (rc = proto_buf_put_u64(out, r->version)) < 0 ||
        (rc = proto_buf_put_u32(out, r->status)) < 0 ||
        (rc = put_str(out, r->request_id, AUDIT_REQID_MAX)) < 0 ||
        (rc = put_str(out, r->peer, AUDIT_PEER_MAX)) < 0 ||
        (rc = put_str(out, r->detail, AUDIT_DETAIL_MAX)) < 0)
        return rc;
    return TV_OK;
}

static int get_str(proto_buf *in, char *dst, size_t cap)
{
    const uint8_t *p;
    size_t n;
    if (proto_buf_get_lv(in, &p, &n) < 0)
        return TV_ERR_FORMAT;
    if (n > cap || memchr(p, '\0', n) != NULL)
        return TV_ERR_FORMAT;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return TV_OK;
}

int audit_record_decode(proto_buf *in, audit_record *out)
{
    audit_record r;
    uint8_t fmt;
    uint64_t t;
    memset(&r, 0, sizeof(r));
    if (proto_buf_get_u8(in, &fmt) < 0 || fmt != AUDIT_FORMAT)
        return TV_ERR_FORMAT;
    if (proto_buf_get_u64(in, &r.seq) < 0 || proto_buf_get_u64(in, &t) < 0)
        return TV_ERR_FORMAT;
    r.time_ns = (int64_t)t;
    if (get_str(in, r.principal, AUDIT_PRINCIPAL_MAX) < 0 ||
        get_str(in, r.method, AUDIT_METHOD_MAX) < 0 ||
        get_str(in, r.secret, AUDIT_SECRET_MAX) < 0 || proto_buf_get_u64(in, &r.version) < 0 ||
        proto_buf_get_u32(in, &r.status) < 0 || get_str(in, r.request_id, AUDIT_REQID_MAX) < 0 ||
        get_str(in, r.peer, AUDIT_PEER_MAX) < 0 || get_str(in, r.detail, AUDIT_DETAIL_MAX) < 0)
        return TV_ERR_FORMAT;
    *out = r;
    return TV_OK;
}

int audit_chain_hash(const uint8_t prev[AUDIT_HASH_LEN], const uint8_t *canon, size_t len,
                     uint8_t out[AUDIT_HASH_LEN])
{
    crypto_generichash_state st;
    uint8_t h[AUDIT_HASH_LEN];
    if (crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_LEN) != 0 ||
        crypto_generichash_update(&st, (const uint8_t *)AUDIT_DOMAIN_REC,
                                  sizeof(AUDIT_DOMAIN_REC)) != 0 ||
        crypto_generichash_update(&st, prev, AUDIT_HASH_LEN) != 0 ||
        crypto_generichash_update(&st, canon, len) != 0 ||
        crypto_generichash_final(&st, h, sizeof(h)) != 0)
        return TV_ERR_CRYPTO;
    memcpy(out, h, sizeof(h));
    return TV_OK;
}

int audit_record_hash(const audit_record *r, uint8_t out[AUDIT_HASH_LEN])
{
    int rc = TV_ERR_INTERNAL;
    proto_buf b;
    proto_buf_init(&b, AUDIT_CANON_MAX);
    if ((rc = audit_record_encode(r, &b)) < 0)
        goto out;
    rc = audit_chain_hash(r->prev_hash, b.d, b.len, out);
out:
    proto_buf_free(&b);
    return rc;
}

int audit_value_check(const uint8_t *val, size_t len, uint64_t want_seq,
                      const uint8_t prev[AUDIT_HASH_LEN], uint8_t hash_out[AUDIT_HASH_LEN])
{
    proto_buf b;
    audit_record r;
    uint8_t h[AUDIT_HASH_LEN];
    size_t clen;
    int rc;

    if (!val || len < 2 * AUDIT_HASH_LEN)
        return TV_ERR_INTEGRITY;
    clen = len - 2 * AUDIT_HASH_LEN;
    proto_buf_wrap(&b, val, clen);
    if (audit_record_decode(&b, &r) < 0 || proto_buf_avail(&b) != 0 || r.seq != want_seq)
        return TV_ERR_INTEGRITY;
    if (sodium_memcmp(val + clen, prev, AUDIT_HASH_LEN) != 0)
        return TV_ERR_INTEGRITY;
    if ((rc = audit_chain_hash(prev, val, clen, h)) < 0)
        return rc;
    if (sodium_memcmp(h, val + clen + AUDIT_HASH_LEN, AUDIT_HASH_LEN) != 0)
        return TV_ERR_INTEGRITY;
    if (hash_out)
        memcpy(hash_out, h, AUDIT_HASH_LEN);
    return TV_OK;
}

void audit_checkpoint_message(const audit_checkpoint *c, uint8_t msg[AUDIT_CKPT_MSG_LEN])
{
    size_t o = 0;
    memcpy(msg, AUDIT_DOMAIN_CKPT, sizeof(AUDIT_DOMAIN_CKPT)); /* includes the NUL */
    o += sizeof(AUDIT_DOMAIN_CKPT);
    proto_put_be64(msg + o, c->first_seq);
    o += 8;
    proto_put_be64(msg + o, c->last_seq);
    o += 8;
    memcpy(msg + o, c->head_hash, AUDIT_HASH_LEN);
    o += AUDIT_HASH_LEN;
    proto_put_be64(msg + o, (uint64_t)c->time_ns);
}

int audit_checkpoint_verify(const audit_checkpoint *c, const uint8_t pk[AUDIT_PK_LEN])
{
    uint8_t msg[AUDIT_CKPT_MSG_LEN];
    audit_checkpoint_message(c, msg);
    if (crypto_sign_verify_detached(c->sig, msg, sizeof(msg), pk) != 0)
        return TV_ERR_VERIFY;
    return TV_OK;
}

int audit_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t n)
{
    if (hexlen != 2 * n)
        return TV_ERR_FORMAT;
    /* Check every digit first: out is written only on success. */
    for (size_t i = 0; i < hexlen; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return TV_ERR_FORMAT;
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = hex[2 * i + (size_t)k];
            int d;
            if (ch >= '0' && ch <= '9')
                d = ch - '0';
            else if (ch >= 'a' && ch <= 'f')
                d = ch - 'a' + 10;
            else
                return TV_ERR_FORMAT; /* lower-case only: one spelling per value */
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return TV_OK;
}
