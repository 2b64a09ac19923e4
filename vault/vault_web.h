/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_web: the gRPC and Connect codecs over a vault_http_req. Pure
 * functions, no I/O: the server, the tests and the fuzzer use them alike.
 *
 * Which protocol: Content-Type application/grpc (or application/grpc+proto)
 * is gRPC (HTTP/2 only); application/proto and application/json are Connect
 * unary (HTTP/1.1 and HTTP/2). The method is the path
 * /teevault.v1.<Service>/<Method> from the registry; only POST.
 *
 * gRPC: one length-prefixed message (uncompressed), grpc-timeout, reply as
 * DATA + trailers grpc-status 0, errors as Trailers-Only (grpc-status,
 * percent-encoded grpc-message, grpc-status-details-bin: a google.rpc.Status
 * whose one detail is Any{type.googleapis.com/teevault.v1.ErrorDetail}).
 * Connect: the body is the message (binary, or proto3 JSON by proto_pbjson),
 * connect-timeout-ms, errors as the Connect error JSON with the HTTP status of
 * the Connect code and the teevault error in details[0] ("type"
 * teevault.v1.ErrorDetail, "value" base64, "debug" {"name": ...}).
 */
#ifndef VAULT_WEB_H
#define VAULT_WEB_H

#include "proto_buf.h"
#include "vault_http.h"

enum vault_web_kind {
    VAULT_WEB_NONE = 0, /* not a call: answer with status/err at once */
    VAULT_WEB_GRPC = 1,
    VAULT_WEB_CONNECT_PROTO = 2,
    VAULT_WEB_CONNECT_JSON = 3,
};

typedef struct vault_web_call {
    int kind;              /* enum vault_web_kind; NONE when Content-Type is not ours */
    const vault_method *m; /* set when err == 0 */
    proto_buf payload;     /* the request in protobuf wire format (wiping) */
    uint64_t deadline_us;  /* 0 = none */
    int err;               /* < 0: answer at once with this tv_err and errmsg */
    int http_status;       /* with err: the HTTP status to use (0 = the code's) */
    char errmsg[256];
} vault_web_call;

/* Decode rq into wc (wc is initialised here; free with vault_web_call_free
 * whatever the result). h2: the request came over HTTP/2 (gRPC needs it).
 * When wc->err < 0 the caller answers with vault_web_reply(wc->kind, ...,
 * wc->err, wc->errmsg). */
void vault_web_parse(const vault_http_req *rq, int h2, vault_web_call *wc);
void vault_web_call_free(vault_web_call *wc);

/* A built reply: resp points into the struct. */
typedef struct vault_web_reply {
    vault_http_resp resp;
    vault_md hdrs[6];
    vault_md tr[3];
    char status[16];
    char msg[3 * 256 + 1];
    char details[256];
    char clen[24];
    proto_buf body;
} vault_web_reply;

/* Build the reply of a call of `kind` to method m (NULL for errors before
 * the method was known; kind NONE answers as Connect does): the payload (status == 0, protobuf wire
 * bytes of m->resp_desc) or the error `status` (a tv_err) with errmsg. Returns 0 or TV_ERR_NOMEM /
 * TV_ERR_TOO_LARGE. http_status overrides the error's HTTP status (0 = the Connect code's). Free
 * with vault_web_reply_free either way. On success free with vault_web_reply_free. */
int vault_web_reply_build(vault_web_reply *wr, int kind, const vault_method *m, int status,
                          int http_status, const char *errmsg, const uint8_t *payload,
                          size_t len) TV_WUR;
void vault_web_reply_free(vault_web_reply *wr);

/* Connect's code name and HTTP status for a gRPC code (0..16). */
const char *vault_web_connect_code(int grpc, int *http_status);

/* grpc-timeout header value ("100m", "5S") as microseconds; 0 when malformed. */
uint64_t vault_web_grpc_timeout_us(const char *v);

#endif
