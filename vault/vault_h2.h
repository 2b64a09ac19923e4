/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_h2: a sans-I/O HTTP/2 server session (libnghttp2) for teevaultd's
 * gRPC and Connect transports. Bytes in (vault_h2_recv), bytes out
 * (vault_h2_send); complete requests come out through on_request; replies
 * go in with vault_h2_respond. Never touches a socket: the server, the unit
 * tests and the fuzzer drive the same code.
 *
 * Hardening (all per session):
 * - SETTINGS_MAX_CONCURRENT_STREAMS = lim->max_streams, and a stream over
 *   it is refused even before the client acknowledged the setting.
 * - Header list: VAULT_HTTP_HEADERS_MAX bytes and VAULT_HTTP_HEADER_COUNT
 *   fields per request (advertised as SETTINGS_MAX_HEADER_LIST_SIZE); more
 *   resets the stream. CONTINUATION frames per header block are capped.
 * - Request bodies: lim->body_max per stream (more: delivered with
 *   too_large and no body, so the codec answers with an error) and
 *   lim->conn_body_max for all streams of the session together.
 * - Rapid reset: at most a burst of 64 client RST_STREAMs, refilled at
 *   16 per second (libnghttp2's limiter), then GOAWAY.
 * - SETTINGS floods (32 entries per frame), PING/SETTINGS ACK floods
 *   (libnghttp2's outbound ACK limit) end the session.
 * - Window abuse: replies held back by a peer that never opens its window
 *   stay counted in vault_h2_held(); the server stops reading and closes the
 *   connection when they cannot be written within io_timeout.
 * A session that hit a fatal error is dead: vault_h2_recv returns < 0 and
 * the caller sends what vault_h2_send still gives (a GOAWAY), then closes.
 *
 * Memory: libnghttp2 allocates through a wiping allocator; request bodies
 * and reply bodies sit in wiping proto_bufs.
 */
#ifndef VAULT_H2_H
#define VAULT_H2_H

#include <stddef.h>
#include <stdint.h>

#include "vault_http.h"

typedef struct vault_h2 vault_h2;

typedef struct vault_h2_limits {
    uint32_t max_streams;    /* concurrent streams */
    size_t body_max;         /* request body bytes per stream */
    size_t conn_body_max;    /* request body bytes buffered across streams */
    size_t body_max_authed;  /* both caps once lift() said yes (0: never lifted) */
    vault_http_lift_fn lift; /* may be NULL */
    void *lift_ud;
} vault_h2_limits;

/* Called from inside vault_h2_recv for each complete request (END_STREAM
 * seen). The callee may call vault_h2_respond at once or later. */
typedef void (*vault_h2_on_request)(void *ud, const vault_http_req *rq);

/* New server session. The connection preface is expected first. Errors:
 * TV_ERR_NOMEM. *out is owned by the caller (vault_h2_free). */
int vault_h2_new(const vault_h2_limits *lim, vault_h2_on_request cb, void *ud,
                 vault_h2 **out) TV_WUR;
void vault_h2_free(vault_h2 *h);

/* Feed n bytes from the peer; all are consumed. Returns 0, or
 * TV_ERR_PROTOCOL (bad preface, protocol violation, flood: the session is
 * dead; send the pending output and close) or TV_ERR_NOMEM. */
int vault_h2_recv(vault_h2 *h, const uint8_t *in, size_t n) TV_WUR;

/* Hand every byte the session wants to send to sink (which copies them and
 * returns 0, or < 0 to stop). Returns 0, the sink's error or
 * TV_ERR_PROTOCOL. */
int vault_h2_send(vault_h2 *h, int (*sink)(void *sud, const uint8_t *p, size_t n),
                  void *sud) TV_WUR;

/* Reply on stream id: HEADERS (resp->status, resp->hdrs), DATA (body) when
 * body_len > 0, then trailers when n_trailers > 0; END_STREAM on the last.
 * Everything is copied. Returns 0, TV_ERR_UNAVAILABLE when the stream is gone
 * (reset by the peer: nothing to do), TV_ERR_NOMEM. */
int vault_h2_respond(vault_h2 *h, uint32_t id, const vault_http_resp *resp) TV_WUR;

/* Bytes held by the session: request bodies being received plus reply
 * bodies not yet handed to vault_h2_send (flow control). */
size_t vault_h2_held(const vault_h2 *h);

/* Reply bytes waiting for the peer's flow-control window. */
size_t vault_h2_blocked(const vault_h2 *h);

/* Streams whose request has started but not ended (no END_STREAM yet). */
size_t vault_h2_open_requests(const vault_h2 *h);

/* The session is finished (GOAWAY exchanged or fatal error) and has
 * nothing more to send: close the connection. */
int vault_h2_done(const vault_h2 *h);

/* Lift the per-stream body cap (and the session's, if lower) to big (a request on the connection
 * carried a valid token, as for ttrpc frames). */
void vault_h2_set_body_max(vault_h2 *h, size_t big);

#endif
