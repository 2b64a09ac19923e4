/* SPDX-License-Identifier: Apache-2.0 */
#include "proto_buf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void proto_buf_init(proto_buf *b, size_t max_len)
{
    memset(b, 0, sizeof(*b));
    b->max_len = max_len ? max_len : PROTO_BUF_MAX;
}

void proto_buf_wrap(proto_buf *b, const void *data, size_t len)
{
    memset(b, 0, sizeof(*b));
    /* The cast drops const; readonly guarantees no write goes through it. */
    b->d = (uint8_t *)(uintptr_t)data;
    b->len = b->cap = b->max_len = len;
    b->readonly = 1;
}

void proto_buf_free(proto_buf *b)
{
    if (!b->readonly && b->d) {
        sodium_memzero(b->d, b->dirty < b->cap ? b->dirty : b->cap);
        free(b->d);
    }
    size_t max = b->readonly ? 0 : b->max_len;
    memset(b, 0, sizeof(*b));
    b->max_len = max ? max : PROTO_BUF_MAX;
}

void proto_buf_reset(proto_buf *b)
{
    if (b->readonly) {
        b->off = b->len;
        return;
    }
    if (b->d)
        sodium_memzero(b->d, b->dirty < b->cap ? b->dirty : b->cap);
    b->off = b->len = b->dirty = 0;
}

int proto_buf_reserve(proto_buf *b, size_t n)
{
    if (b->readonly)
        return TV_ERR_INTERNAL;
    size_t max = b->max_len ? b->max_len : PROTO_BUF_MAX;
    if (b->len > max || max - b->len < n)
        return TV_ERR_TOO_LARGE;
    if (b->cap - b->len >= n) {
        if (b->len + n > b->dirty)
            b->dirty = b->len + n;
        return TV_OK;
    }
    size_t want = b->len + n;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < want)
        ncap = ncap > max / 2 ? max : ncap * 2;
    /* Grow by copy so the old region can be wiped (realloc would leak it). */
    uint8_t *nd = malloc(ncap);
    if (!nd)
        return TV_ERR_NOMEM;
    if (b->d) {
        memcpy(nd, b->d, b->len);
        sodium_memzero(b->d, b->dirty < b->cap ? b->dirty : b->cap);
        free(b->d);
    }
    b->d = nd;
    b->cap = ncap;
    b->dirty = want;
    return TV_OK;
}

int proto_buf_put(proto_buf *b, const void *p, size_t n)
{
    int r;
    if (n == 0)
        return TV_OK;
    if ((r = proto_buf_reserve(b, n)) < 0)
        return r;
    memcpy(b->d + b->len, p, n);
    b->len += n;
    return TV_OK;
}

int proto_buf_put_u8(proto_buf *b, uint8_t v)
{
    return proto_buf_put(b, &v, 1);
}

int proto_buf_put_u32(proto_buf *b, uint32_t v)
{
    uint8_t t[4];
    proto_put_be32(t, v);
    return proto_buf_put(b, t, sizeof(t));
}

int proto_buf_put_u64(proto_buf *b, uint64_t v)
{
    uint8_t t[8];
    proto_put_be64(t, v);
    return proto_buf_put(b, t, sizeof(t));
}

int proto_buf_put_lv(proto_buf *b, const void *p, size_t n)
{
    int r;
    if (n > UINT32_MAX)
        return TV_ERR_TOO_LARGE;
    if ((r = proto_buf_reserve(b, 4 + n)) < 0)
        return r;
    if ((r = proto_buf_put_u32(b, (uint32_t)n)) < 0 || (r = proto_buf_put(b, p, n)) < 0)
        return r;
    return TV_OK;
}

int proto_buf_peek(const proto_buf *b, const uint8_t **p, size_t n)
{
    if (b->len - b->off < n)
        return TV_ERR_PROTOCOL;
    *p = b->d + b->off;
    return TV_OK;
}

int proto_buf_skip(proto_buf *b, size_t n)
{
    if (b->len - b->off < n)
        return TV_ERR_PROTOCOL;
    b->off += n;
    return TV_OK;
}

int proto_buf_get(proto_buf *b, void *p, size_t n)
{
    if (b->len - b->off < n)
        return TV_ERR_PROTOCOL;
    if (n)
        memcpy(p, b->d + b->off, n);
    b->off += n;
    return TV_OK;
}

int proto_buf_get_u8(proto_buf *b, uint8_t *v)
{
    return proto_buf_get(b, v, 1);
}

int proto_buf_get_u32(proto_buf *b, uint32_t *v)
{
    if (b->len - b->off < 4)
        return TV_ERR_PROTOCOL;
    *v = proto_be32(b->d + b->off);
    b->off += 4;
    return TV_OK;
}

int proto_buf_get_u64(proto_buf *b, uint64_t *v)
{
    if (b->len - b->off < 8)
        return TV_ERR_PROTOCOL;
    *v = proto_be64(b->d + b->off);
    b->off += 8;
    return TV_OK;
}

int proto_buf_get_lv(proto_buf *b, const uint8_t **p, size_t *n)
{
    if (b->len - b->off < 4)
        return TV_ERR_PROTOCOL;
    uint32_t l = proto_be32(b->d + b->off);
    if (b->len - b->off - 4 < l)
        return TV_ERR_PROTOCOL;
    *p = b->d + b->off + 4;
    *n = l;
    b->off += 4 + (size_t)l;
    return TV_OK;
}

void proto_buf_compact(proto_buf *b)
{
    if (b->readonly || b->off == 0)
        return;
    size_t n = b->len - b->off;
    memmove(b->d, b->d + b->off, n);
    sodium_memzero(b->d + n, b->len - n);
    b->off = 0;
    b->len = n;
}
