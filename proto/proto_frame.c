/* SPDX-License-Identifier: Apache-2.0 */
#include "proto_frame.h"

#include "teevault.pb-c.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static uint32_t clamp_max(uint32_t max_len)
{
    if (max_len == 0 || max_len > PROTO_FRAME_MAX)
        return PROTO_FRAME_MAX;
    return max_len;
}

void proto_frame_reader_init(proto_frame_reader *r, uint8_t expect, uint32_t max_len)
{
    memset(r, 0, sizeof(*r));
    proto_buf_init(&r->body, PROTO_FRAME_MAX);
    r->expect = expect;
    r->max_len = clamp_max(max_len);
}

void proto_frame_reader_set_max(proto_frame_reader *r, uint32_t max_len)
{
    r->max_len = clamp_max(max_len);
}

void proto_frame_reader_free(proto_frame_reader *r)
{
    proto_buf_free(&r->body);
    sodium_memzero(r, sizeof(*r));
}

void proto_frame_parse_header(const uint8_t p[PROTO_FRAME_HDR_LEN], proto_frame_hdr *h)
{
    h->length = proto_be32(p);
    h->stream_id = proto_be32(p + 4);
    h->type = p[8];
    h->flags = p[9];
}

void proto_frame_encode_header(uint8_t p[PROTO_FRAME_HDR_LEN], const proto_frame_hdr *h)
{
    proto_put_be32(p, h->length);
    proto_put_be32(p + 4, h->stream_id);
    p[8] = h->type;
    p[9] = h->flags;
}

static int reader_fail(proto_frame_reader *r, int err)
{
    r->dead = 1;
    r->err = err;
    return err;
}

int proto_frame_read(proto_frame_reader *r, const uint8_t *data, size_t len, size_t *consumed)
{
    size_t used = 0;
    int rc;

    *consumed = 0;
    if (r->dead || r->ready)
        return r->dead ? r->err : TV_ERR_INTERNAL;

    /* Header: collect exactly 10 bytes, then validate before any body buffering. */
    if (r->hhave < PROTO_FRAME_HDR_LEN) {
        size_t want = PROTO_FRAME_HDR_LEN - r->hhave;
        size_t n = len < want ? len : want;
        if (n)
            memcpy(r->hbuf + r->hhave, data, n);
        r->hhave += n;
        used += n;
        if (r->hhave < PROTO_FRAME_HDR_LEN) {
            *consumed = used;
            return PROTO_FRAME_NEED_MORE;
        }
        proto_frame_parse_header(r->hbuf, &r->h);
        /* Client-chosen stream ids are odd; 0 is never valid. */
        if (r->h.stream_id == 0 || (r->h.stream_id & 1u) == 0) {
            *consumed = used;
            return reader_fail(r, TV_ERR_PROTOCOL);
        }
        if (r->h.type != r->expect) {
            *consumed = used;
            return reader_fail(r, TV_ERR_PROTOCOL);
        }
        if (r->h.length > r->max_len) {
            *consumed = used;
            return reader_fail(r, TV_ERR_TOO_LARGE);
        }
        proto_buf_reset(&r->body);
        if ((rc = proto_buf_reserve(&r->body, r->h.length)) < 0) {
            *consumed = used;
            return reader_fail(r, rc);
        }
    }

    /* Body: take at most what is still missing. */
    size_t missing = r->h.length - r->body.len;
    size_t avail = len - used;
    size_t n = avail < missing ? avail : missing;
    if (n) {
        /* Cannot fail: reserved h.length above. */
        memcpy(r->body.d + r->body.len, data + used, n);
        r->body.len += n;
        used += n;
    }
    *consumed = used;
    if (r->body.len < r->h.length)
        return PROTO_FRAME_NEED_MORE;
    r->ready = 1;
    return PROTO_FRAME_READY;
}

const proto_frame_hdr *proto_frame_header(const proto_frame_reader *r)
{
    return &r->h;
}

const uint8_t *proto_frame_body(const proto_frame_reader *r)
{
    /* A zero-length body may have no allocation; hand out a valid pointer. */
    static const uint8_t empty[1];
    return r->body.d ? r->body.d : empty;
}

size_t proto_frame_body_len(const proto_frame_reader *r)
{
    return r->body.len;
}

void proto_frame_next(proto_frame_reader *r)
{
    if (r->dead)
        return;
    /* A large frame's buffer is not kept for the connection's lifetime. */
    if (r->body.cap > 65536)
        proto_buf_free(&r->body);
    else
        proto_buf_reset(&r->body);
    r->hhave = 0;
    memset(&r->h, 0, sizeof(r->h));
    r->ready = 0;
}

int proto_frame_write_msg(proto_buf *out, uint32_t stream_id, uint8_t type,
                          const ProtobufCMessage *msg, uint32_t max_len)
{
    int r;
    uint8_t hdr[PROTO_FRAME_HDR_LEN];

    if (stream_id == 0)
        return TV_ERR_INVALID;
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > clamp_max(max_len))
        return TV_ERR_TOO_LARGE;
    if ((r = proto_buf_reserve(out, PROTO_FRAME_HDR_LEN + n)) < 0)
        return r;
    proto_frame_hdr h = {.length = (uint32_t)n, .stream_id = stream_id, .type = type};
    proto_frame_encode_header(hdr, &h);
    memcpy(out->d + out->len, hdr, sizeof(hdr));
    size_t w = protobuf_c_message_pack(msg, out->d + out->len + PROTO_FRAME_HDR_LEN);
    if (w != n) {
        sodium_memzero(out->d + out->len, PROTO_FRAME_HDR_LEN + n);
        return TV_ERR_INTERNAL;
    }
    out->len += PROTO_FRAME_HDR_LEN + n;
    return TV_OK;
}

int proto_frame_write_response(proto_buf *out, uint32_t stream_id, int grpc_code,
                               const char *message, const uint8_t *payload, size_t n,
                               uint32_t max_len)
{
    Ttrpc__Response resp;
    Ttrpc__Status st;

    /* The *_INIT macros cast away const (-Wcast-qual); the init functions do not. */
    ttrpc__response__init(&resp);
    ttrpc__status__init(&st);

    st.code = grpc_code;
    /* protobuf-c packs const data; the casts only satisfy its non-const fields. */
    st.message = (char *)(uintptr_t)(message ? message : "");
    resp.status = &st;
    resp.payload.data = (uint8_t *)(uintptr_t)payload;
    resp.payload.len = payload ? n : 0;
    return proto_frame_write_msg(out, stream_id, PROTO_FRAME_RESPONSE, &resp.base, max_len);
}

#define ERROR_DETAIL_TYPE "teevault.v1.ErrorDetail"

int proto_frame_write_error(proto_buf *out, uint32_t stream_id, int err, const char *message,
                            uint32_t max_len)
{
    Ttrpc__Response resp;
    Ttrpc__Status st;
    Ttrpc__Any any, *anyp = &any;
    Teevault__V1__ErrorDetail ed;
    uint8_t edb[64];

    ttrpc__response__init(&resp);
    ttrpc__status__init(&st);
    ttrpc__any__init(&any);
    teevault__v1__error_detail__init(&ed);
    ed.name = (char *)(uintptr_t)tv_errname(err);
    if (protobuf_c_message_get_packed_size(&ed.base) > sizeof(edb))
        return TV_ERR_INTERNAL;
    any.type_url = (char *)(uintptr_t)ERROR_DETAIL_TYPE;
    any.value.data = edb;
    any.value.len = protobuf_c_message_pack(&ed.base, edb);
    st.code = tv_err_to_grpc(err);
    st.message = (char *)(uintptr_t)(message ? message : "");
    st.n_details = 1;
    st.details = &anyp;
    resp.status = &st;
    return proto_frame_write_msg(out, stream_id, PROTO_FRAME_RESPONSE, &resp.base, max_len);
}

int proto_frame_status_error(const Ttrpc__Status *st)
{
    int err = 0;
    for (size_t i = 0; st && i < st->n_details; i++) {
        const Ttrpc__Any *a = st->details[i];
        if (!a || !a->type_url || strcmp(a->type_url, ERROR_DETAIL_TYPE) != 0)
            continue;
        Teevault__V1__ErrorDetail *ed =
            teevault__v1__error_detail__unpack(NULL, a->value.len, a->value.data);
        if (ed) {
            err = tv_err_from_name(ed->name);
            teevault__v1__error_detail__free_unpacked(ed, NULL);
        }
        break;
    }
    return err;
}

int proto_frame_write_request(proto_buf *out, uint32_t stream_id, const char *service,
                              const char *method, const uint8_t *payload, size_t n,
                              int64_t timeout_nano, const proto_frame_kv *metadata, size_t n_md,
                              uint32_t max_len)
{
    int r = TV_ERR_INTERNAL;
    Ttrpc__Request req;
    Ttrpc__KeyValue *kvs = NULL;
    Ttrpc__KeyValue **kvp = NULL;

    ttrpc__request__init(&req);
    if (!service || !method)
        return TV_ERR_INVALID;
    if (n_md > 64)
        return TV_ERR_INVALID;
    if (n_md) {
        kvs = calloc(n_md, sizeof(*kvs));
        kvp = calloc(n_md, sizeof(*kvp));
        if (!kvs || !kvp) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < n_md; i++) {
            ttrpc__key_value__init(&kvs[i]);
            kvs[i].key = (char *)(uintptr_t)(metadata[i].key ? metadata[i].key : "");
            kvs[i].value = (char *)(uintptr_t)(metadata[i].value ? metadata[i].value : "");
            kvp[i] = &kvs[i];
        }
    }
    req.service = (char *)(uintptr_t)service;
    req.method = (char *)(uintptr_t)method;
    req.payload.data = (uint8_t *)(uintptr_t)payload;
    req.payload.len = payload ? n : 0;
    req.timeout_nano = timeout_nano;
    req.n_metadata = n_md;
    req.metadata = kvp;
    r = proto_frame_write_msg(out, stream_id, PROTO_FRAME_REQUEST, &req.base, max_len);
out:
    /* Metadata may hold a bearer token; the structs only point at it. */
    free(kvp);
    free(kvs);
    return r;
}
