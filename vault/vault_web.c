/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_web: gRPC and Connect codecs (see vault_web.h).
 */
#include "vault_web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "proto_frame.h"
#include "proto_pbjson.h"
#include "ttrpc.pb-c.h"
#include "teevault.pb-c.h"
#include "vault_registry.h"
#include "vault_rpc.h"

#define GRPC_DETAIL_TYPE    "type.googleapis.com/teevault.v1.ErrorDetail"
#define CONNECT_DETAIL_TYPE "teevault.v1.ErrorDetail"

const char *vault_http_header(const vault_http_req *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_hdrs; i++)
        if (!strcmp(rq->hdrs[i].key, name))
            return rq->hdrs[i].value;
    return NULL;
}

const char *vault_web_connect_code(int grpc, int *http_status)
{
    static const struct {
        const char *name;
        int http;
    } t[17] = {
        {"ok", 200},
        {"canceled", 499},
        {"unknown", 500},
        {"invalid_argument", 400},
        {"deadline_exceeded", 504},
        {"not_found", 404},
        {"already_exists", 409},
        {"permission_denied", 403},
        {"resource_exhausted", 429},
        {"failed_precondition", 400},
        {"aborted", 409},
        {"out_of_range", 400},
        {"unimplemented", 501},
        {"internal", 500},
        {"unavailable", 503},
        {"data_loss", 500},
        {"unauthenticated", 401},
    };
    if (grpc < 0 || grpc > 16)
        grpc = 2;
    if (http_status)
        *http_status = t[grpc].http;
    return t[grpc].name;
}

uint64_t vault_web_grpc_timeout_us(const char *v)
{
    uint64_t n = 0;
    size_t i = 0;
    if (!v)
        return 0;
    for (; v[i] >= '0' && v[i] <= '9'; i++) {
        if (i == 8) /* at most 8 digits (gRPC over HTTP/2) */
            return 0;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (i == 0 || v[i + 1] != '\0')
        return 0;
    switch (v[i]) {
    case 'H':
        return n * 3600 * 1000000;
    case 'M':
        return n * 60 * 1000000;
    case 'S':
        return n * 1000000;
    case 'm':
        return n * 1000;
    case 'u':
        return n ? n : 1;
    case 'n':
        return n / 1000 ? n / 1000 : 1;
    default:
        return 0;
    }
}

static int ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void set_err(vault_web_call *wc, int err, int http, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_err(vault_web_call *wc, int err, int http, const char *fmt, ...)
{
    va_list ap;
    wc->err = err;
    wc->http_status = http;
    va_start(ap, fmt);
    vsnprintf(wc->errmsg, sizeof(wc->errmsg), fmt, ap);
    va_end(ap);
}

void vault_web_parse(const vault_http_req *rq, int h2, vault_web_call *wc)
{
    const char *ct = vault_http_header(rq, "content-type");
    char q[96];

    memset(wc, 0, sizeof(*wc));
    proto_buf_init(&wc->payload, PROTO_FRAME_MAX);
    if (ctype_is(ct, "application/grpc") || ctype_is(ct, "application/grpc+proto"))
        wc->kind = VAULT_WEB_GRPC;
    else if (ctype_is(ct, "application/proto"))
        wc->kind = VAULT_WEB_CONNECT_PROTO;
    else if (ctype_is(ct, "application/json"))
        wc->kind = VAULT_WEB_CONNECT_JSON;

    if (wc->kind == VAULT_WEB_NONE) {
        vault_quote(q, sizeof(q), ct ? ct : "", ct ? strlen(ct) : 0);
        set_err(wc, TV_ERR_UNIMPLEMENTED, 415,
                "unsupported content-type %s: use application/grpc (gRPC), application/proto or "
                "application/json (Connect)",
                q);
        return;
    }
    if (wc->kind == VAULT_WEB_GRPC && !h2) {
        wc->kind = VAULT_WEB_NONE;
        set_err(wc, TV_ERR_UNIMPLEMENTED, 415, "gRPC needs HTTP/2%s", "");
        return;
    }
    if (strcmp(rq->method, "POST") != 0) {
        vault_quote(q, sizeof(q), rq->method, strlen(rq->method));
        set_err(wc, TV_ERR_UNIMPLEMENTED, 405, "method %s: only POST is served", q);
        return;
    }
    wc->m = vault_method_find_path(rq->path, strlen(rq->path));
    if (!wc->m) {
        vault_quote(q, sizeof(q), rq->path, strlen(rq->path));
        set_err(wc, TV_ERR_UNIMPLEMENTED, wc->kind == VAULT_WEB_GRPC ? 0 : 404,
                "unknown service or method %s", q);
        return;
    }
    if (rq->too_large) {
        set_err(wc, TV_ERR_TOO_LARGE, 413, "the request body exceeds the limit%s", "");
        return;
    }

    if (wc->kind == VAULT_WEB_GRPC) {
        const char *enc = vault_http_header(rq, "grpc-encoding");
        const char *to = vault_http_header(rq, "grpc-timeout");
        if (to) {
            uint64_t us = vault_web_grpc_timeout_us(to);
            if (!us) {
                set_err(wc, TV_ERR_INVALID, 0, "malformed grpc-timeout%s", "");
                return;
            }
            wc->deadline_us = vault_now_us() + us;
        }
        if (rq->body_len < 5) {
            set_err(wc, TV_ERR_INVALID, 0, "a gRPC request carries exactly one message%s", "");
            return;
        }
        if (rq->body[0] != 0) {
            if (rq->body[0] == 1 && enc && strcmp(enc, "identity") != 0)
                set_err(wc, TV_ERR_UNIMPLEMENTED, 0, "compressed messages are not supported%s", "");
            else
                set_err(wc, TV_ERR_INVALID, 0, "bad gRPC message flags%s", "");
            return;
        }
        uint32_t n = proto_be32(rq->body + 1);
        if ((size_t)n != rq->body_len - 5) {
            set_err(wc, TV_ERR_INVALID, 0, "a gRPC request carries exactly one message%s", "");
            return;
        }
        if (proto_buf_put(&wc->payload, rq->body + 5, n) < 0)
            set_err(wc, TV_ERR_TOO_LARGE, 0, "the request message exceeds the limit%s", "");
        return;
    }

    /* Connect unary. */
    const char *pv = vault_http_header(rq, "connect-protocol-version");
    const char *ce = vault_http_header(rq, "content-encoding");
    const char *to = vault_http_header(rq, "connect-timeout-ms");
    if (pv && strcmp(pv, "1") != 0) {
        set_err(wc, TV_ERR_INVALID, 0, "connect-protocol-version must be 1%s", "");
        return;
    }
    if (ce && strcasecmp(ce, "identity") != 0) {
        set_err(wc, TV_ERR_UNIMPLEMENTED, 0, "content-encoding is not supported%s", "");
        return;
    }
    if (to) {
        uint64_t ms = 0;
        size_t i = 0;
        for (; to[i] >= '0' && to[i] <= '9' && i < 10; i++)
            ms = ms * 10 + (uint64_t)(to[i] - '0');
        if (i == 0 || to[i] != '\0') {
            set_err(wc, TV_ERR_INVALID, 0, "malformed connect-timeout-ms%s", "");
            return;
        }
        wc->deadline_us = vault_now_us() + (ms ? ms * 1000 : 1);
    }
    if (wc->kind == VAULT_WEB_CONNECT_PROTO) {
        if (proto_buf_put(&wc->payload, rq->body, rq->body_len) < 0)
            set_err(wc, TV_ERR_TOO_LARGE, 413, "the request body exceeds the limit%s", "");
        return;
    }
    char jerr[200];
    int r = proto_pbjson_to_wire(wc->m->req_desc, rq->body, rq->body_len, &wc->payload, jerr,
                                 sizeof(jerr));
    if (r < 0) {
        proto_buf_reset(&wc->payload);
        set_err(wc,
                r == TV_ERR_NOMEM       ? r
                : r == TV_ERR_TOO_LARGE ? r
                                        : TV_ERR_INVALID,
                0, "request JSON: %s", jerr);
    }
}

void vault_web_call_free(vault_web_call *wc)
{
    proto_buf_free(&wc->payload);
}

/* google.rpc.Status (same wire layout as ttrpc.Status) with one detail:
 * the teevault ErrorDetail. */
static int status_details(int err, const char *msg, const char *type_url, proto_buf *out)
{
    Ttrpc__Status st;
    Ttrpc__Any any, *anyp = &any;
    Teevault__V1__ErrorDetail ed;
    uint8_t edb[64];

    ttrpc__status__init(&st);
    ttrpc__any__init(&any);
    teevault__v1__error_detail__init(&ed);
    ed.name = (char *)(uintptr_t)tv_errname(err);
    if (protobuf_c_message_get_packed_size(&ed.base) > sizeof(edb))
        return TV_ERR_INTERNAL;
    any.type_url = (char *)(uintptr_t)type_url;
    any.value.data = edb;
    any.value.len = protobuf_c_message_pack(&ed.base, edb);
    st.code = tv_err_to_grpc(err);
    st.message = (char *)(uintptr_t)(msg ? msg : "");
    st.n_details = 1;
    st.details = &anyp;
    return vault_pack(out, &st.base);
}

/* grpc-message: percent-encode everything outside printable ASCII and '%'. */
static void pct_encode(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch < 0x7f && ch != '%') {
            dst[o++] = (char)ch;
        } else {
            snprintf(dst + o, 4, "%%%02X", ch);
            o += 3;
        }
    }
    dst[o] = '\0';
}

int vault_web_reply_build(vault_web_reply *wr, int kind, const vault_method *m, int status,
                          int http_status, const char *errmsg, const uint8_t *payload, size_t len)
{
    int r;
    size_t nh = 0;
    proto_buf tmp;

    memset(wr, 0, sizeof(*wr));
    proto_buf_init(&wr->body, PROTO_FRAME_MAX + 64);
    proto_buf_init(&tmp, 0);
    wr->resp.hdrs = wr->hdrs;
    wr->resp.status = 200;

    if (kind == VAULT_WEB_GRPC) {
        wr->hdrs[nh++] = (vault_md){"content-type", "application/grpc"};
        if (status == 0) {
            uint8_t pre[5] = {0};
            proto_put_be32(pre + 1, (uint32_t)len);
            if ((r = proto_buf_put(&wr->body, pre, 5)) < 0 ||
                (r = proto_buf_put(&wr->body, payload, len)) < 0)
                goto out;
            wr->tr[0] = (vault_md){"grpc-status", "0"};
            wr->resp.trailers = wr->tr;
            wr->resp.n_trailers = 1;
        } else {
            /* Trailers-Only. */
            size_t bl;
            snprintf(wr->status, sizeof(wr->status), "%d", tv_err_to_grpc(status));
            pct_encode(wr->msg, sizeof(wr->msg), errmsg ? errmsg : "");
            if ((r = status_details(status, errmsg, GRPC_DETAIL_TYPE, &tmp)) < 0)
                goto out;
            bl = sodium_base64_ENCODED_LEN(tmp.len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
            if (bl > sizeof(wr->details)) {
                /* A long message: the details header carries the name only. */
                proto_buf_reset(&tmp);
                if ((r = status_details(status, "", GRPC_DETAIL_TYPE, &tmp)) < 0)
                    goto out;
            }
            sodium_bin2base64(wr->details, sizeof(wr->details), tmp.d, tmp.len,
                              sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
            wr->hdrs[nh++] = (vault_md){"grpc-status", wr->status};
            wr->hdrs[nh++] = (vault_md){"grpc-message", wr->msg};
            wr->hdrs[nh++] = (vault_md){"grpc-status-details-bin", wr->details};
        }
        r = 0;
        goto out;
    }

    /* Connect (and plain HTTP errors before the protocol was known). */
    if (status == 0) {
        if (kind == VAULT_WEB_CONNECT_JSON) {
            ProtobufCMessage *msg =
                protobuf_c_message_unpack(m->resp_desc, &vault_wiping_allocator, len, payload);
            if (!msg) {
                r = TV_ERR_INTERNAL;
                goto out;
            }
            r = proto_pbjson_from_msg(msg, &wr->body);
            protobuf_c_message_free_unpacked(msg, &vault_wiping_allocator);
            if (r < 0)
                goto out;
            wr->hdrs[nh++] = (vault_md){"content-type", "application/json"};
        } else {
            if ((r = proto_buf_put(&wr->body, payload, len)) < 0)
                goto out;
            wr->hdrs[nh++] = (vault_md){"content-type", "application/proto"};
        }
    } else {
        int hs = 500;
        const char *code = vault_web_connect_code(tv_err_to_grpc(status), &hs);
        const char *name = tv_errname(status);
        Teevault__V1__ErrorDetail ed;
        uint8_t edb[64];
        char b64[128];
        teevault__v1__error_detail__init(&ed);
        ed.name = (char *)(uintptr_t)name;
        if (protobuf_c_message_get_packed_size(&ed.base) > sizeof(edb)) {
            r = TV_ERR_INTERNAL;
            goto out;
        }
        size_t el = protobuf_c_message_pack(&ed.base, edb);
        sodium_bin2base64(b64, sizeof(b64), edb, el, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        wr->resp.status = http_status ? http_status : hs;
        const char *em = errmsg ? errmsg : "";
        if ((r = proto_buf_put(&wr->body, "{\"code\":", 8)) < 0 ||
            (r = proto_pbjson_put_string(&wr->body, code, strlen(code))) < 0 ||
            (r = proto_buf_put(&wr->body, ",\"message\":", 11)) < 0 ||
            (r = proto_pbjson_put_string(&wr->body, em, strlen(em))) < 0 ||
            (r = proto_buf_put(
                 &wr->body, ",\"details\":[{\"type\":\"" CONNECT_DETAIL_TYPE "\",\"value\":\"",
                 sizeof(",\"details\":[{\"type\":\"" CONNECT_DETAIL_TYPE "\",\"value\":\"") - 1)) <
                0 ||
            (r = proto_buf_put(&wr->body, b64, strlen(b64))) < 0 ||
            (r = proto_buf_put(&wr->body, "\",\"debug\":{\"name\":", 18)) < 0 ||
            (r = proto_pbjson_put_string(&wr->body, name, strlen(name))) < 0 ||
            (r = proto_buf_put(&wr->body, "}}]}", 4)) < 0)
            goto out;
        wr->hdrs[nh++] = (vault_md){"content-type", "application/json"};
    }
    r = 0;
out:
    proto_buf_free(&tmp);
    wr->resp.n_hdrs = nh;
    wr->resp.body = wr->body.d;
    wr->resp.body_len = wr->body.len;
    return r;
}

void vault_web_reply_free(vault_web_reply *wr)
{
    proto_buf_free(&wr->body);
}
