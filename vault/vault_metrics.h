/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_metrics: a Prometheus text endpoint (GET /metrics) and a health
 * endpoint (GET /health: 200 "active", 503 "sealed" / "uninitialized") on a
 * listener of their own ([metrics] listen = HOST:PORT; off by default;
 * loopback is the intended address: there is no authentication, and it
 * tells only counts and states, never names of secrets or principals).
 * libevent's evhttp serves it on the daemon's event loop, with limits: GET
 * and HEAD only, 8 KiB of headers, no body, 5 s read/write timeouts (this
 * libevent has no connection cap for evhttp: bind it to loopback).
 *
 * The server and the audit writer report through two calls; everything else
 * is read when scraped (Status-like values, audit queue, sessions).
 */
#ifndef VAULT_METRICS_H
#define VAULT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"
#include "vault.h"

/* Create v->metrics (counters; no listener). Errors: TV_ERR_NOMEM. */
int vault_metrics_new(struct vault *v) TV_WUR;

/* Listen on "host:port" (IPv4, [IPv6] or a name) for /metrics and /health.
 * Errors: TV_ERR_INVALID (address), TV_ERR_IO (bind; err says why). */
int vault_metrics_listen(struct vault *v, const char *addr, char *err, size_t errlen) TV_WUR;

/* Free the listener and the counters. NULL-safe. */
void vault_metrics_free(struct vault *v);

/* One finished request: service/method as on the wire ("teevault.v1.Sys",
 * "Status"; static strings from the registry), status 0 or a tv_err, how
 * long it took. Loop thread. No-op without v->metrics. */
void vault_metrics_request(struct vault *v, const char *service, const char *method, int status,
                           uint64_t dur_us);

/* One audit group commit of n records that took dur_us (ok or failed).
 * Any thread (the audit writer's). */
void vault_metrics_audit_commit(struct vault *v, size_t n, uint64_t dur_us, int ok);

/* Render the whole exposition into a malloc'ed string (for tests and the
 * endpoint). NULL on allocation failure. */
char *vault_metrics_render(struct vault *v, size_t *len);

#endif
