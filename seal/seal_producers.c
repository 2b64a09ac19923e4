/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the evidence producers: bounded whole-file reads, writes
 * to pre-existing attribute files (configfs, /dev/attestation), and parsing
 * the identity claims out of (unverified) evidence bodies.
 */
#include "seal_producers.h"
#include "seal_kdf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static int map_errno(int e)
{
    return e == ENOENT ? TV_ERR_NOT_FOUND : TV_ERR_IO;
}

int seal_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
    int r = TV_ERR_INTERNAL;
    int fd = -1;
    uint8_t *buf = NULL;
    size_t cap = 4096, n = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = map_errno(errno);
        goto out;
    }
    if (cap > max + 1)
        cap = max + 1;
    if (!(buf = malloc(cap + 1))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t k;
        if (n == cap) {
            /* Buffer full: either grow (still within max + 1 so that
             * "exactly max" and "more than max" can be told apart) or stop. */
            size_t ncap = cap * 2;
            uint8_t *nb;
            if (cap >= max + 1) {
                r = TV_ERR_TOO_LARGE;
                goto out;
            }
            if (ncap > max + 1)
                ncap = max + 1;
            if (!(nb = realloc(buf, ncap + 1))) {
                r = TV_ERR_NOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        k = read(fd, buf + n, cap - n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            r = TV_ERR_IO;
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n > max) {
        r = TV_ERR_TOO_LARGE;
        goto out;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    buf = NULL;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return r;
}

int seal_file_write_existing(const char *path, const void *data, size_t len)
{
    int r = TV_ERR_INTERNAL;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t k;

    if (fd < 0)
        return map_errno(errno);
    /* Attribute files take the whole value in one write. */
    do {
        k = write(fd, data, len);
    } while (k < 0 && errno == EINTR);
    if (k < 0 || (size_t)k != len) {
        r = TV_ERR_IO;
        goto out;
    }
    /* configfs commits binary attributes on close; a failed close is a
     * failed write. */
    if (close(fd) != 0) {
        fd = -1;
        r = TV_ERR_IO;
        goto out;
    }
    fd = -1;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    return r;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

#define QUOTE_HEADER_LEN 48
#define SGX_BODY_LEN     384
#define TD10_BODY_LEN    584
#define SNP_REPORT_LEN   0x4A0

int seal_evidence_identity(const char *type, const uint8_t *ev, size_t ev_len, seal_identity *id,
                           const uint8_t **rd)
{
    seal_identity t;

    memset(&t, 0, sizeof t);
    if (!type || !ev)
        return TV_ERR_INVALID;
    if (strcmp(type, "sgx") == 0) {
        const uint8_t *b = ev + QUOTE_HEADER_LEN;
        if (ev_len < QUOTE_HEADER_LEN + SGX_BODY_LEN || le16(ev) != 3 || le32(ev + 4) != 0)
            return TV_ERR_FORMAT;
        memcpy(t.measurement, b + 64, 32);
        t.measurement_len = 32;
        memcpy(t.signer, b + 128, 32);
        t.signer_len = 32;
        t.svn = le16(b + 258);
        t.debug = (le64(b + 48) & 0x2) != 0;
        if (rd)
            *rd = b + 320;
    } else if (strcmp(type, "tdx") == 0) {
        const uint8_t *b;
        uint16_t ver;
        if (ev_len < QUOTE_HEADER_LEN || le32(ev + 4) != 0x81)
            return TV_ERR_FORMAT;
        ver = le16(ev);
        if (ver == 4) {
            if (ev_len - QUOTE_HEADER_LEN < TD10_BODY_LEN)
                return TV_ERR_FORMAT;
            b = ev + QUOTE_HEADER_LEN;
        } else if (ver == 5) {
            uint16_t btype;
            uint32_t bsize;
            if (ev_len - QUOTE_HEADER_LEN < 6)
                return TV_ERR_FORMAT;
            btype = le16(ev + QUOTE_HEADER_LEN);
            bsize = le32(ev + QUOTE_HEADER_LEN + 2);
            if ((btype != 2 && btype != 3) || bsize < TD10_BODY_LEN ||
                ev_len - QUOTE_HEADER_LEN - 6 < bsize)
                return TV_ERR_FORMAT;
            b = ev + QUOTE_HEADER_LEN + 6;
        } else {
            return TV_ERR_FORMAT;
        }
        memcpy(t.measurement, b + 136, 48);
        t.measurement_len = 48;
        memcpy(t.signer, b + 232, 48);
        t.signer_len = 48;
        t.svn = 0;
        t.debug = (le64(b + 120) & 0x1) != 0;
        if (rd)
            *rd = b + 520;
    } else if (strcmp(type, "snp") == 0) {
        uint32_t ver;
        if (ev_len < SNP_REPORT_LEN)
            return TV_ERR_FORMAT;
        ver = le32(ev);
        if (ver < 2 || ver > 5)
            return TV_ERR_FORMAT;
        memcpy(t.measurement, ev + 0x90, 48);
        t.measurement_len = 48;
        memcpy(t.signer, ev + 0xE0, 48);
        t.signer_len = 48;
        t.svn = (uint16_t)le32(ev + 4);
        t.debug = (le64(ev + 8) & (1ull << 19)) != 0;
        if (rd)
            *rd = ev + 0x50;
    } else {
        return TV_ERR_INVALID;
    }
    if (id)
        *id = t;
    sodium_memzero(&t, sizeof t);
    return 0;
}

int seal_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const char *info,
                     uint8_t key[SEAL_KEY_LEN])
{
    static const char salt[] = "teevault-seal-v1";
    if (!ikm || !info || !key)
        return TV_ERR_INVALID;
    return seal_hkdf((const uint8_t *)salt, sizeof salt - 1, ikm, ikm_len, (const uint8_t *)info,
                     strlen(info), key, SEAL_KEY_LEN);
}

static void put_be32_(uint8_t p[4], uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void seal_attest_binding(const uint8_t nonce[32], const char *name, size_t name_len,
                         const uint8_t *code_hash, size_t code_hash_len, const uint8_t eph_pk[32],
                         uint8_t out[SEAL_REPORT_DATA_LEN])
{
    crypto_hash_sha512_state st;
    uint8_t l[4];

    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, (const uint8_t *)SEAL_ATTEST_DOMAIN,
                              sizeof SEAL_ATTEST_DOMAIN - 1);
    crypto_hash_sha512_update(&st, nonce, 32);
    put_be32_(l, (uint32_t)name_len);
    crypto_hash_sha512_update(&st, l, 4);
    crypto_hash_sha512_update(&st, (const uint8_t *)name, name_len);
    put_be32_(l, (uint32_t)code_hash_len);
    crypto_hash_sha512_update(&st, l, 4);
    if (code_hash_len)
        crypto_hash_sha512_update(&st, code_hash, code_hash_len);
    crypto_hash_sha512_update(&st, eph_pk, 32);
    crypto_hash_sha512_final(&st, out);
}

int seal_evidence_take_bound(const char *type, uint8_t *ev, size_t ev_len,
                             const uint8_t rd[SEAL_REPORT_DATA_LEN], uint8_t **out, size_t *out_len)
{
    const uint8_t *erd = NULL;
    int r = seal_evidence_identity(type, ev, ev_len, NULL, &erd);
    if (r == 0 && sodium_memcmp(erd, rd, SEAL_REPORT_DATA_LEN) != 0)
        r = TV_ERR_INTEGRITY;
    if (r < 0) {
        free(ev);
        return r;
    }
    *out = ev;
    *out_len = ev_len;
    return 0;
}

int seal_identity_from_quote(const char *type, seal_quote_fn quote, void *ctx, seal_identity *out)
{
    uint8_t zero[SEAL_REPORT_DATA_LEN] = {0};
    uint8_t *q = NULL;
    size_t qlen = 0;
    seal_identity id;
    int r;

    if ((r = quote(ctx, zero, &q, &qlen)) < 0)
        return r;
    r = seal_evidence_identity(type, q, qlen, &id, NULL);
    free(q);
    if (r == 0)
        *out = id;
    return r;
}
