/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_buf: one bounded buffer type for building and parsing untrusted bytes.
 *
 * A buffer owns a heap region [0, cap) of which [off, len) is unread data.
 * Every read checks bounds with subtraction that cannot overflow
 * (len - off < n) in all builds. proto_buf_free() wipes the memory before
 * releasing it, so a buffer may hold key material or secret values. Wipes
 * cover what was reserved since the last wipe (`dirty`), not the whole
 * allocation: a buffer that once held 4 MiB costs a 4 MiB wipe once, not on
 * every later reset (issue 14). WARNING: write into d only after
 * proto_buf_reserve() covered the bytes.
 *
 * Writers append at len, growing up to max_len (0 = PROTO_BUF_MAX).
 */
#ifndef PROTO_BUF_H
#define PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"

#define PROTO_BUF_MAX (64u * 1024 * 1024)

typedef struct proto_buf {
    uint8_t *d;
    size_t off;     /* read position */
    size_t len;     /* end of data */
    size_t cap;     /* allocated size */
    size_t max_len; /* growth limit; 0 = PROTO_BUF_MAX */
    int readonly;   /* wraps memory it does not own */
    size_t dirty;   /* [0, dirty) may hold data since the last wipe: every
                       writer reserves before writing, and reserve raises it */
} proto_buf;

/* Initialise an empty owning buffer with a growth limit (0 = PROTO_BUF_MAX). */
void proto_buf_init(proto_buf *b, size_t max_len);
/* Wrap caller memory for reading only; the caller keeps ownership and must keep
 * it alive while the buffer is used. proto_buf_free() on it only resets it. */
void proto_buf_wrap(proto_buf *b, const void *data, size_t len);
/* Wipe and free (owning) or forget (wrapped). The buffer is empty afterwards. */
void proto_buf_free(proto_buf *b);
/* Wipe the data and reset to empty, keeping the allocation. */
void proto_buf_reset(proto_buf *b);

static inline size_t proto_buf_avail(const proto_buf *b)
{
    return b->len - b->off;
}
static inline const uint8_t *proto_buf_ptr(const proto_buf *b)
{
    return b->d + b->off;
}

/* Ensure room for n more bytes. TV_ERR_TOO_LARGE past max_len, TV_ERR_NOMEM. */
int proto_buf_reserve(proto_buf *b, size_t n) TV_WUR;
/* Append bytes / integers (big-endian). Errors as proto_buf_reserve. */
int proto_buf_put(proto_buf *b, const void *p, size_t n) TV_WUR;
int proto_buf_put_u8(proto_buf *b, uint8_t v) TV_WUR;
int proto_buf_put_u32(proto_buf *b, uint32_t v) TV_WUR;
int proto_buf_put_u64(proto_buf *b, uint64_t v) TV_WUR;
/* Append a u32 length followed by the bytes (length-delimited field). */
int proto_buf_put_lv(proto_buf *b, const void *p, size_t n) TV_WUR;

/* Consume bytes / integers. TV_ERR_PROTOCOL when fewer than needed remain;
 * on error nothing is consumed and outputs are untouched. */
int proto_buf_get(proto_buf *b, void *p, size_t n) TV_WUR;
int proto_buf_get_u8(proto_buf *b, uint8_t *v) TV_WUR;
int proto_buf_get_u32(proto_buf *b, uint32_t *v) TV_WUR;
int proto_buf_get_u64(proto_buf *b, uint64_t *v) TV_WUR;
/* Consume a u32 length + bytes without copying: *p points into the buffer and
 * stays valid until the buffer is modified or freed. */
int proto_buf_get_lv(proto_buf *b, const uint8_t **p, size_t *n) TV_WUR;
/* Peek at n bytes without consuming; TV_ERR_PROTOCOL if not available. */
int proto_buf_peek(const proto_buf *b, const uint8_t **p, size_t n) TV_WUR;
/* Skip n bytes; TV_ERR_PROTOCOL if not available. */
int proto_buf_skip(proto_buf *b, size_t n) TV_WUR;
/* Drop consumed bytes from the front (memmove), keeping unread data. */
void proto_buf_compact(proto_buf *b);

/* Big-endian helpers on raw memory (caller checked the bounds). */
static inline uint32_t proto_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void proto_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint64_t proto_be64(const uint8_t *p)
{
    return (uint64_t)proto_be32(p) << 32 | proto_be32(p + 4);
}
static inline void proto_put_be64(uint8_t *p, uint64_t v)
{
    proto_put_be32(p, (uint32_t)(v >> 32));
    proto_put_be32(p + 4, (uint32_t)v);
}

#endif
