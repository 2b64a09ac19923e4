/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_h1: a sans-I/O HTTP/1.1 request parser and response writer for the
 * Connect transport (curl, fetch). One request at a time per connection;
 * pipelined requests wait in the input until the previous one is answered.
 *
 * Limits: request line VAULT_HTTP_REQUEST_LINE bytes (414), header block
 * VAULT_HTTP_HEADERS_MAX bytes and VAULT_HTTP_HEADER_COUNT fields (431),
 * body body_max bytes whether sized by Content-Length or chunked (413,
 * checked before the body is buffered), chunk-size lines 1 KiB with at
 * most 8 hex digits (400). Refused as request smuggling vectors (400):
 * Content-Length together with Transfer-Encoding, two different
 * Content-Lengths, obsolete line folding, a bare LF or CR; a
 * Transfer-Encoding other than chunked is 501. Every error ends the
 * connection after the error response (the parser is dead).
 */
#ifndef VAULT_H1_H
#define VAULT_H1_H

#include <stddef.h>
#include <stdint.h>

#include "proto_buf.h"
#include "vault_http.h"

enum {
    VAULT_H1_NEED = 0,  /* feed more bytes */
    VAULT_H1_READY = 1, /* a complete request: vault_h1_request() */
};

typedef struct vault_h1 {
    int state;
    proto_buf head; /* request line and header fields */
    proto_buf body;
    size_t scan;    /* head bytes already searched for the blank line */
    uint64_t want;  /* Content-Length or chunk bytes still to read */
    proto_buf line; /* a chunk-size or trailer line being read */
    size_t trailer_bytes;
    int chunked;
    int keep_alive;    /* the connection may carry another request */
    int send_continue; /* the client waits for "100 Continue": send it, clear it */
    int err_status;    /* after an error: the HTTP status to answer */
    const char *err_msg;
    size_t body_max;
    size_t body_max_authed;  /* the cap once lift() said yes (0: never) */
    vault_http_lift_fn lift; /* may be NULL */
    void *lift_ud;
    char *method, *path; /* into head */
    vault_md hdrs[VAULT_HTTP_HEADER_COUNT];
    size_t n_hdrs;
} vault_h1;

void vault_h1_init(vault_h1 *p, size_t body_max);
/* Wipe and free everything. */
void vault_h1_free(vault_h1 *p);
/* Lift or lower the body cap (a valid token was seen on the connection). */
void vault_h1_set_body_max(vault_h1 *p, size_t body_max);

/* Consume bytes from in[0, n): *used says how many (the rest belongs to the
 * next request). Returns VAULT_H1_NEED, VAULT_H1_READY, or < 0
 * (TV_ERR_PROTOCOL, TV_ERR_TOO_LARGE, TV_ERR_UNIMPLEMENTED, TV_ERR_NOMEM)
 * with err_status and err_msg set: answer and close. */
int vault_h1_parse(vault_h1 *p, const uint8_t *in, size_t n, size_t *used) TV_WUR;

/* A request has started arriving and is not complete yet. */
int vault_h1_partial(const vault_h1 *p);

/* The request, after VAULT_H1_READY; valid until vault_h1_next/free. */
void vault_h1_request(vault_h1 *p, vault_http_req *rq);

/* Forget the answered request and get ready for the next one. */
void vault_h1_next(vault_h1 *p);

/* Append "HTTP/1.1 <status> ...", the headers, Content-Length,
 * "Connection: close" unless keep_alive, and the body. */
int vault_h1_write_response(proto_buf *out, const vault_http_resp *r, int keep_alive) TV_WUR;

#endif
