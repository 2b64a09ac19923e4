/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_h2: HTTP/2 server session over libnghttp2 (see vault_h2.h).
 *
 * Lifetimes: a stream (struct h2s) is created on its first HEADERS and
 * freed in on_stream_close; nghttp2 keeps it as stream user data. A reply
 * submitted on a stream lives in the stream (body and trailers) until
 * nghttp2 has taken the bytes.
 */
#include "vault_h2.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>
#include <sodium.h>

#include "proto_buf.h"

#define MAX_CONTINUATIONS 8
#define RST_BURST         64
#define RST_RATE          16

typedef struct h2hdr {
    uint32_t k, v; /* offsets into h2s.hb (NUL-terminated) */
} h2hdr;

typedef struct h2s {
    struct h2s *prev, *next;
    int32_t id;
    proto_buf hb; /* header names and values, NUL-terminated */
    h2hdr hdrs[VAULT_HTTP_HEADER_COUNT];
    size_t n_hdrs;
    size_t hdr_bytes;
    uint32_t method, path; /* offsets; UINT32_MAX = absent */
    int headers_done;
    int delivered;
    int too_large;
    proto_buf body;
    /* reply */
    int responded;
    proto_buf rbody;
    size_t rsent;
    proto_buf tr; /* trailers: key\0value\0 ... */
    size_t n_tr;
} h2s;

struct vault_h2 {
    nghttp2_session *ng;
    vault_h2_limits lim;
    vault_h2_on_request cb;
    void *ud;
    h2s *streams;
    size_t n_streams;
    size_t body_held; /* request bytes across streams */
    size_t reply_held;
    int dead;
};

/* ------------------------------------------------------------ memory */

static void *w_malloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}

static void w_free(void *p, void *ud)
{
    (void)ud;
    if (p) {
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
    }
}

static void *w_calloc(size_t n, size_t sz, void *ud)
{
    (void)ud;
    return calloc(n, sz);
}

static void *w_realloc(void *p, size_t n, void *ud)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        w_free(p, ud);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    w_free(p, ud);
    return q;
}

static nghttp2_mem wiping_mem = {NULL, w_malloc, w_free, w_calloc, w_realloc};

/* ------------------------------------------------------------ streams */

static h2s *stream_of(vault_h2 *h, int32_t id)
{
    return nghttp2_session_get_stream_user_data(h->ng, id);
}

static void stream_free(vault_h2 *h, h2s *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n_streams--;
    h->body_held -= s->body.len;
    h->reply_held -= s->rbody.len - s->rsent;
    proto_buf_free(&s->hb);
    proto_buf_free(&s->body);
    proto_buf_free(&s->rbody);
    proto_buf_free(&s->tr);
    free(s);
}

static int hb_add(h2s *s, const uint8_t *p, size_t n, uint32_t *off)
{
    if (s->hb.len > UINT32_MAX - n - 1)
        return TV_ERR_TOO_LARGE;
    *off = (uint32_t)s->hb.len;
    if (proto_buf_put(&s->hb, p, n) < 0 || proto_buf_put_u8(&s->hb, 0) < 0)
        return TV_ERR_TOO_LARGE;
    return 0;
}

static const char *hb_str(const h2s *s, uint32_t off)
{
    return off == UINT32_MAX ? "" : (const char *)s->hb.d + off;
}

/* ------------------------------------------------------------ callbacks */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    vault_h2 *h = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (h->n_streams >= h->lim.max_streams) {
        /* Over the cap before the peer acknowledged our SETTINGS. */
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    h2s *s = calloc(1, sizeof(*s));
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->id = f->hd.stream_id;
    s->method = s->path = UINT32_MAX;
    proto_buf_init(&s->hb, VAULT_HTTP_HEADERS_MAX + 2 * VAULT_HTTP_HEADER_COUNT);
    proto_buf_init(&s->body, h->lim.body_max);
    proto_buf_init(&s->rbody, 0);
    proto_buf_init(&s->tr, VAULT_HTTP_HEADERS_MAX);
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->n_streams++;
    nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, s);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    vault_h2 *h = ud;
    (void)ng;
    (void)flags;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2s *s = stream_of(h, f->hd.stream_id);
    if (!s)
        return 0;
    /* RFC 7541 4.1 size: name + value + 32, over every block of the stream
     * (trailers included). */
    s->hdr_bytes += namelen + valuelen + 32;
    if (s->hdr_bytes > VAULT_HTTP_HEADERS_MAX)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
    if (s->headers_done)
        return 0; /* request trailers: counted, ignored */
    uint32_t off;
    if (namelen == 7 && !memcmp(name, ":method", 7)) {
        if (hb_add(s, value, valuelen, &off) < 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        s->method = off;
        return 0;
    }
    if (namelen == 5 && !memcmp(name, ":path", 5)) {
        if (hb_add(s, value, valuelen, &off) < 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        s->path = off;
        return 0;
    }
    if (namelen && name[0] == ':')
        return 0; /* :scheme, :authority */
    if (s->n_hdrs == VAULT_HTTP_HEADER_COUNT)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    h2hdr *e = &s->hdrs[s->n_hdrs];
    if (hb_add(s, name, namelen, &e->k) < 0 || hb_add(s, value, valuelen, &e->v) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->n_hdrs++;
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    vault_h2 *h = ud;
    (void)ng;
    (void)flags;
    h2s *s = stream_of(h, id);
    if (!s || s->too_large)
        return 0; /* dropped; flow control still credits it */
    if (h->body_held + len > h->lim.conn_body_max || proto_buf_put(&s->body, data, len) < 0) {
        s->too_large = 1;
        h->body_held -= s->body.len;
        proto_buf_free(&s->body);
        return 0;
    }
    h->body_held += len;
    return 0;
}

static void deliver(vault_h2 *h, h2s *s)
{
    vault_md md[VAULT_HTTP_HEADER_COUNT];
    vault_http_req rq;

    s->delivered = 1;
    for (size_t i = 0; i < s->n_hdrs; i++)
        md[i] = (vault_md){hb_str(s, s->hdrs[i].k), hb_str(s, s->hdrs[i].v)};
    memset(&rq, 0, sizeof(rq));
    rq.id = (uint32_t)s->id;
    rq.method = hb_str(s, s->method);
    rq.path = hb_str(s, s->path);
    rq.hdrs = md;
    rq.n_hdrs = s->n_hdrs;
    rq.too_large = s->too_large;
    rq.body = s->body.d;
    rq.body_len = s->too_large ? 0 : s->body.len;
    h->cb(h->ud, &rq);
    /* The body was consumed by the call: release it now. The stream may
     * already be gone if the callback answered and the peer reset it. */
    if ((s = stream_of(h, (int32_t)rq.id)) != NULL) {
        h->body_held -= s->body.len;
        proto_buf_free(&s->body);
    }
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    vault_h2 *h = ud;
    (void)ng;
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    h2s *s = stream_of(h, f->hd.stream_id);
    if (!s)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && !s->headers_done) {
        s->headers_done = 1;
        /* A body is coming: a valid token in these headers lifts the cap
         * before the first byte of it is buffered. */
        if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) && h->lim.lift &&
            h->lim.body_max < h->lim.body_max_authed) {
            const char *auth = NULL;
            for (size_t i = 0; i < s->n_hdrs; i++)
                if (!strcmp(hb_str(s, s->hdrs[i].k), "authorization"))
                    auth = hb_str(s, s->hdrs[i].v);
            if (auth && h->lim.lift(h->lim.lift_ud, auth))
                vault_h2_set_body_max(h, h->lim.body_max_authed);
        }
    }
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !s->delivered)
        deliver(h, s);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *ud)
{
    vault_h2 *h = ud;
    (void)error_code;
    h2s *s = stream_of(h, id);
    if (s) {
        nghttp2_session_set_stream_user_data(ng, id, NULL);
        stream_free(h, s);
    }
    return 0;
}

/* Reply body source: copy from the stream's buffer; at its end, send the
 * trailers (if any) as the last HEADERS. */
static ssize_t data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    vault_h2 *h = ud;
    h2s *s = src->ptr;
    size_t left = s->rbody.len - s->rsent;
    size_t n = left < length ? left : length;
    memcpy(buf, s->rbody.d + s->rsent, n);
    s->rsent += n;
    h->reply_held -= n;
    if (s->rsent == s->rbody.len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->n_tr) {
            nghttp2_nv nv[VAULT_HTTP_HEADER_COUNT];
            const char *p = (const char *)s->tr.d;
            for (size_t i = 0; i < s->n_tr; i++) {
                size_t kl = strlen(p);
                const char *v = p + kl + 1;
                size_t vl = strlen(v);
                nv[i] = (nghttp2_nv){(uint8_t *)(uintptr_t)p, (uint8_t *)(uintptr_t)v, kl, vl,
                                     NGHTTP2_NV_FLAG_NONE};
                p = v + vl + 1;
            }
            if (nghttp2_submit_trailer(ng, id, nv, s->n_tr) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

/* ------------------------------------------------------------ API */

int vault_h2_new(const vault_h2_limits *lim, vault_h2_on_request cb, void *ud, vault_h2 **out)
{
    int r = TV_ERR_NOMEM;
    vault_h2 *h = NULL;
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_option *opt = NULL;

    if (!(h = calloc(1, sizeof(*h))))
        goto out;
    h->lim = *lim;
    h->cb = cb;
    h->ud = ud;
    if (nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0)
        goto out;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_option_set_max_continuations(opt, MAX_CONTINUATIONS);
    nghttp2_option_set_stream_reset_rate_limit(opt, RST_BURST, RST_RATE);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    if (nghttp2_session_server_new3(&h->ng, cbs, h, opt, &wiping_mem) != 0)
        goto out;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, lim->max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, VAULT_HTTP_HEADERS_MAX},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0)
        goto out;
    *out = h;
    h = NULL;
    r = 0;
out:
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    vault_h2_free(h);
    return r;
}

void vault_h2_free(vault_h2 *h)
{
    if (!h)
        return;
    /* Deleting the session does not call on_stream_close. */
    while (h->streams)
        stream_free(h, h->streams);
    nghttp2_session_del(h->ng);
    free(h);
}

int vault_h2_recv(vault_h2 *h, const uint8_t *in, size_t n)
{
    if (h->dead)
        return TV_ERR_PROTOCOL;
    ssize_t rv = nghttp2_session_mem_recv(h->ng, in, n);
    if (rv < 0) {
        h->dead = 1;
        /* Tell the peer why when the session can still say it. */
        if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
            (void)nghttp2_session_terminate_session(h->ng, NGHTTP2_PROTOCOL_ERROR);
        return rv == NGHTTP2_ERR_NOMEM ? TV_ERR_NOMEM : TV_ERR_PROTOCOL;
    }
    return 0;
}

int vault_h2_send(vault_h2 *h, int (*sink)(void *sud, const uint8_t *p, size_t n), void *sud)
{
    for (;;) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(h->ng, &p);
        if (n < 0) {
            h->dead = 1;
            return TV_ERR_PROTOCOL;
        }
        if (n == 0)
            return 0;
        int r = sink(sud, p, (size_t)n);
        if (r < 0)
            return r;
    }
}

int vault_h2_respond(vault_h2 *h, uint32_t id, const vault_http_resp *resp)
{
    nghttp2_nv nv[VAULT_HTTP_HEADER_COUNT + 1];
    char status[8];
    h2s *s;
    size_t n = 0;

    if (h->dead || id > INT32_MAX || !(s = stream_of(h, (int32_t)id)) || s->responded)
        return TV_ERR_UNAVAILABLE;
    if (resp->n_hdrs > VAULT_HTTP_HEADER_COUNT || resp->n_trailers > VAULT_HTTP_HEADER_COUNT)
        return TV_ERR_INTERNAL;
    snprintf(status, sizeof(status), "%d", resp->status);
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, strlen(status),
                           NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < resp->n_hdrs; i++)
        nv[n++] = (nghttp2_nv){(uint8_t *)(uintptr_t)resp->hdrs[i].key,
                               (uint8_t *)(uintptr_t)resp->hdrs[i].value, strlen(resp->hdrs[i].key),
                               strlen(resp->hdrs[i].value), NGHTTP2_NV_FLAG_NONE};
    s->responded = 1;
    if (!resp->body_len && !resp->n_trailers)
        return nghttp2_submit_response(h->ng, (int32_t)id, nv, n, NULL) == 0 ? 0 : TV_ERR_NOMEM;
    if (resp->body_len && proto_buf_put(&s->rbody, resp->body, resp->body_len) < 0)
        return TV_ERR_NOMEM;
    for (size_t i = 0; i < resp->n_trailers; i++) {
        if (proto_buf_put(&s->tr, resp->trailers[i].key, strlen(resp->trailers[i].key) + 1) < 0 ||
            proto_buf_put(&s->tr, resp->trailers[i].value, strlen(resp->trailers[i].value) + 1) < 0)
            return TV_ERR_NOMEM;
    }
    s->n_tr = resp->n_trailers;
    h->reply_held += s->rbody.len;
    nghttp2_data_provider dp = {.source.ptr = s, .read_callback = data_read};
    return nghttp2_submit_response(h->ng, (int32_t)id, nv, n, &dp) == 0 ? 0 : TV_ERR_NOMEM;
}

size_t vault_h2_held(const vault_h2 *h)
{
    return h->body_held + h->reply_held;
}

size_t vault_h2_blocked(const vault_h2 *h)
{
    return h->reply_held;
}

int vault_h2_done(const vault_h2 *h)
{
    return !nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng);
}

void vault_h2_set_body_max(vault_h2 *h, size_t big)
{
    h->lim.body_max = big;
    if (h->lim.conn_body_max < big)
        h->lim.conn_body_max = big;
    for (h2s *s = h->streams; s; s = s->next)
        s->body.max_len = big;
}

size_t vault_h2_open_requests(const vault_h2 *h)
{
    size_t n = 0;
    for (const h2s *s = h->streams; s; s = s->next)
        n += !s->delivered;
    return n;
}
