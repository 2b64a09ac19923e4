/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tv_conn: libteevault's transport. One blocking ttrpc connection to
 * teevaultd over a Unix socket or TLS 1.3, unary calls, odd stream ids.
 * Not installed; libteevault's wrappers reach it through tv_call().
 *
 * A tv_conn is not thread-safe: one call at a time. After a transport error
 * (any negative return of tv_conn_call) the connection is dead and every
 * further call fails with TV_ERR_UNAVAILABLE; close it and open a new one.
 */
#ifndef TV_CONN_H
#define TV_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "teevault.h"
#include "tv_err.h"

typedef struct tv_conn tv_conn;

typedef struct tv_conn_opts {
    const char *cacert;      /* tls: PEM file of CAs to trust; NULL = system store */
    const char *client_cert; /* tls: PEM client certificate (mutual TLS) or NULL */
    const char *client_key;  /* tls: PEM private key for client_cert (NULL = in cert file) */
    const char *server_name; /* tls: name to verify and send as SNI; NULL = host of addr */
    unsigned timeout_ms;     /* connect/handshake and per-call deadline; 0 = 30000 */
} tv_conn_opts;

/*
 * Connect to `addr`: "unix:/path/to.sock" or "tls://host:port" ("[v6]:port"
 * for IPv6). opts may be NULL. On success *out is a new connection owned by
 * the caller, released with tv_conn_close().
 * Errors: TV_ERR_INVALID (malformed addr), TV_ERR_UNAVAILABLE (cannot connect),
 * TV_ERR_VERIFY (TLS handshake or certificate verification failed),
 * TV_ERR_TIMEOUT, TV_ERR_IO (cannot read the CA / cert / key files),
 * TV_ERR_CRYPTO, TV_ERR_NOMEM.
 */
int tv_conn_open(const char *addr, const tv_conn_opts *opts, tv_conn **out) TV_WUR;

/* tv_conn_open that also says why it failed: on failure, when w is not NULL,
 * w->what names what failed (the address, socket path, host, CA / key file)
 * and why, and w->sys_errno is the errno of the system call that failed
 * (ECONNREFUSED, EACCES, ENOENT, ...) or 0. w is cleared on entry. */
int tv_conn_open_why(const char *addr, const tv_conn_opts *opts, tv_conn **out,
                     tv_open_error *w) TV_WUR;

/* On a TLS connection: SHA-256 of the server certificate's
 * SubjectPublicKeyInfo (DER) into out and 1; 0 on a Unix socket; a
 * negative tv_err if the peer's key cannot be encoded. */
int tv_conn_peer_key_hash(const tv_conn *c, uint8_t out[32]) TV_WUR;

/* Close the socket, wipe the token copy and free. NULL is ok. */
void tv_conn_close(tv_conn *c);

/* Send `token` as `authorization: Bearer <token>` metadata on every following
 * call. The string is copied (into locked memory the connection reuses for
 * later tokens and wipes); the caller keeps its own. NULL or "" removes it.
 * Errors: TV_ERR_INVALID (over 4096 bytes or bytes outside printable ASCII;
 * the previous token stays), TV_ERR_NOMEM (no token is set). */
int tv_conn_set_token(tv_conn *c, const char *token) TV_WUR;

/*
 * One unary call: pack req, send it as teevault request `service`/`method`
 * ("teevault.v1.Sys", "Status"), wait up to timeout_ms for the response.
 *
 * Returns 0 when a response arrived, whatever its gRPC status:
 *   *grpc_status  the status code (0 = OK); may be NULL;
 *   *status_msg   malloc'ed status message (caller free()s; "" when none),
 *                 may be NULL;
 *   *resp         when the status is 0: the payload unpacked with resp_desc
 *                 by the default protobuf-c allocator (free with
 *                 protobuf_c_message_free_unpacked(m, NULL)); NULL otherwise.
 *                 WARNING: a response can hold a secret value; wipe the
 *                 field before freeing.
 * Returns a negative tv_err when no valid response arrived; the connection is
 * dead then: TV_ERR_UNAVAILABLE (closed by the peer / write failed),
 * TV_ERR_TIMEOUT, TV_ERR_PROTOCOL (malformed frame or response envelope,
 * or a payload that does not decode as resp_desc), TV_ERR_TOO_LARGE (request
 * over the 4 MiB frame cap; the connection stays usable in that one case),
 * TV_ERR_NOMEM. *grpc_status is set to -1 and *status_msg (if requested) to
 * a description, or NULL.
 *
 * Requests over the server's 16 KiB pre-authentication cap are preceded, once
 * per connection, by a small Sys.Health call carrying the token, so the
 * server lifts the cap before the large frame arrives.
 * The request's packed bytes are wiped after sending (a Put holds a value).
 */
int tv_conn_call(tv_conn *c, const char *service, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                 int *grpc_status, char **status_msg) TV_WUR;

/* The teevault error the last call's error response named (its
 * teevault.v1.ErrorDetail), or 0 when it named none (success, a transport
 * failure, or a server that sends only the gRPC code). */
int tv_conn_last_error(const tv_conn *c);

#endif
