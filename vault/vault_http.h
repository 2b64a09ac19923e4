/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_http: the request and response shapes the HTTP transports (HTTP/2 in
 * vault_h2, HTTP/1.1 in vault_h1) hand to the gRPC and Connect codecs
 * (vault_web). Plain data, no I/O.
 */
#ifndef VAULT_HTTP_H
#define VAULT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

/* Header limits shared by both HTTP versions. */
#define VAULT_HTTP_HEADERS_MAX  16384 /* bytes of one request's header list (RFC 7541 size) */
#define VAULT_HTTP_HEADER_COUNT 64    /* header fields per request */
#define VAULT_HTTP_REQUEST_LINE 4096  /* HTTP/1.1 request line */

/* One complete request. Every pointer is the transport's and valid only
 * during the on_request callback. Header names are lower case. */
typedef struct vault_http_req {
    uint32_t id;          /* HTTP/2 stream id; HTTP/1.1: 1 */
    const char *method;   /* "POST" */
    const char *path;     /* "/teevault.v1.Secrets/Get" (query not split off) */
    const vault_md *hdrs; /* regular headers (no pseudo-headers) */
    size_t n_hdrs;
    const uint8_t *body;
    size_t body_len;
    int too_large; /* the body went over the cap: not delivered (body_len 0) */
} vault_http_req;

/* One response. The transport copies everything it needs before returning. */
typedef struct vault_http_resp {
    int status; /* HTTP status */
    const vault_md *hdrs;
    size_t n_hdrs;
    const uint8_t *body;
    size_t body_len;
    const vault_md *trailers; /* HTTP/2 only (gRPC); HTTP/1.1 ignores them */
    size_t n_trailers;
} vault_http_resp;

/* Asked once per request whose body may exceed the pre-authentication cap,
 * with its authorization header: nonzero lifts the cap for the connection
 * (the server checks the bearer token, as a ttrpc request's token lifts the
 * frame cap). */
typedef int (*vault_http_lift_fn)(void *ud, const char *authorization);

/* The value of header `name` (lower case) in rq, or NULL. */
const char *vault_http_header(const vault_http_req *rq, const char *name);

#endif
