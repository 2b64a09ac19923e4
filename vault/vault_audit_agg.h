/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_audit_agg: aggregate audit records for anonymous probes and failed
 * authentications (issue 14, DESIGN.md §1 property 9).
 *
 * A stranger's Health, Status, Challenge or Report, and any failed
 * authentication (a bad or expired token, a failed Login) takes no effect,
 * so it does not need its own durable record before its reply. Instead it
 * is counted here, per peer and per (method, status), and once per interval
 * the audit writer appends ONE record per peer that was seen:
 *
 *   principal "anonymous", method "aggregate", peer <peer>,
 *   status UNAUTHENTICATED if any failure was counted (else OK),
 *   detail "60s n=53012 Sys/Health=53000 Auth/Login!UNAUTHENTICATED=12 ..."
 *
 * (a detail too long for the record ends with "+k more"). Calls the server
 * refused before their handler ran (a per-peer budget, c->refused_early)
 * are counted here too, whoever they name. Requests that
 * touch a secret, policy, token, user or function (every authenticated
 * call, Login successes, every Attest) are never aggregated: they keep
 * their own record, durable before they take effect.
 *
 * Bounds: at most VAULT_AUDIT_AGG_PEERS peers and VAULT_AUDIT_AGG_KINDS
 * (method, status) pairs per peer per interval; beyond that the counts go
 * to a peer "other" / the "+k more" tail. So an interval writes at most
 * VAULT_AUDIT_AGG_PEERS + 1 records, whatever the request rate.
 *
 * Not thread-safe: the loop thread owns it (vault_audit.c).
 */
#ifndef VAULT_AUDIT_AGG_H
#define VAULT_AUDIT_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "vault.h"

#define VAULT_AUDIT_AGG_PEERS 64
#define VAULT_AUDIT_AGG_KINDS 8

typedef struct vault_audit_agg vault_audit_agg;

/* New, empty; the first interval starts at now_ns. NULL when out of memory. */
vault_audit_agg *vault_audit_agg_new(int64_t now_ns);
/* NULL-safe. */
void vault_audit_agg_free(vault_audit_agg *a);

/* 1 when the call with this outcome is aggregated rather than audited on
 * its own (the rule above), else 0. */
int vault_audit_agg_wanted(const vault_call *c, int outcome);

/* Count call c (outcome) for its peer. Never fails: when the tables are
 * full the count goes to "other". */
void vault_audit_agg_count(vault_audit_agg *a, const vault_call *c, int outcome);

/* Number of records vault_audit_agg_take would produce now (0: nothing). */
size_t vault_audit_agg_pending(const vault_audit_agg *a);

/* Fill out[0..n) (n <= max; max >= VAULT_AUDIT_AGG_PEERS + 1 takes all)
 * with the interval's records, stamped with now_ns and the interval's
 * length, and start a new interval with the peers taken. Returns n. */
size_t vault_audit_agg_take(vault_audit_agg *a, audit_record *out, size_t max, int64_t now_ns);

/* Requests counted since creation (status, tests). */
uint64_t vault_audit_agg_total(const vault_audit_agg *a);

/* The peer an aggregate counts under: c->peer without a TCP source port
 * ("10.0.0.1:5555" -> "10.0.0.1", "[::1]:5555" -> "::1"). */
void vault_audit_agg_peer_key(const char *peer, char *out, size_t outlen);

#endif
