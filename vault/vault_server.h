/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_server: teevaultd's transports and dispatch. The one place that
 * touches libevent and OpenSSL's socket side.
 *
 * Listeners: a Unix socket and/or TCP with TLS 1.3 (from v->cfg). Each
 * connection speaks ttrpc (proto_frame): several unary requests in flight,
 * replies possibly out of order. Per request: envelope decode -> method table
 * lookup -> bearer token -> access flags -> payload decode + message check ->
 * handler -> audit (vault_audit_submit, unless the handler audited in its own
 * transaction) -> optional reply delay -> reply.
 *
 * Limits: frame <= 4 MiB, <= 16 KiB until a request on the connection carried
 * a valid token; max_connections; max_inflight_per_conn (reading pauses);
 * output back-pressure (reading pauses while the output buffer could not take
 * another max-size reply); idle and write timeouts; accept pauses on EMFILE.
 * A malformed header or an over-cap length closes that connection only.
 */
#ifndef VAULT_SERVER_H
#define VAULT_SERVER_H

#include <stddef.h>

#include "ttrpc.pb-c.h"
#include "vault.h"

typedef struct vault_server vault_server;

/* Process-wide setup; call first thing in main(), before any libevent or
 * OpenSSL allocation: makes libevent's buffers and OpenSSL's record buffers
 * (which hold request and reply plaintext) wipe memory before freeing it. */
void vault_server_global_init(void);

/*
 * Bind the listeners configured in v->cfg on v->base (both must be set).
 * On error err (errlen bytes) says why (no secret in it).
 * Errors: TV_ERR_INVALID (bad address), TV_ERR_EXISTS (a live daemon already
 * listens on the Unix socket), TV_ERR_IO (bind/listen/chmod failed, a
 * non-socket file in the way), TV_ERR_CRYPTO (TLS certificate/key/CA cannot
 * be loaded), TV_ERR_NOMEM. On success *out is owned by the caller.
 */
int vault_server_new(struct vault *v, vault_server **out, char *err, size_t errlen) TV_WUR;

/* Close listeners and every connection, unlink the Unix socket. Requests
 * still waiting for the audit writer are freed; call it only after the audit
 * writer has run (or dropped) all its callbacks. NULL is ok. */
void vault_server_free(vault_server *s);

/* SIGHUP: load cfg's tls_cert / tls_key / tls_client_ca into a new TLS
 * context for connections accepted from now on; open connections keep
 * theirs. No TLS listener: nothing to do. Errors: TV_ERR_CRYPTO with err
 * naming the file (the old context stays in use). */
int vault_server_reload_tls(vault_server *s, const struct vault_config *cfg, char *err,
                            size_t errlen) TV_WUR;

/* Number of open connections (tests, status). */
size_t vault_server_conn_count(const vault_server *s);

/* The vault is initialised and unsealed (its keyring is loaded). */
int vault_is_active(const struct vault *v);

#endif
