/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_peer: per-peer accounting for the server (issue 14, DESIGN.md §1
 * property 9 "strangers cannot deny service").
 *
 * A peer is who is on the other end, as far as the kernel can tell:
 *   - Unix socket: the connecting process's uid (SO_PEERCRED), "uid:1000";
 *   - TCP: the source address without the port, "10.0.0.7" / "2001:db8::1".
 * Every connection belongs to one peer. Per peer the server keeps:
 *   - the number of open connections (cap: max_conns);
 *   - a token bucket for calls made on connections that have not
 *     authenticated (public calls: Health, Status, Challenge, Attest, Report,
 *     Login; rate public_rate/s, burst public_burst);
 *   - a token bucket for failed authentications (a token that does not
 *     resolve, a failed Login or Attest; rate authfail_rate/s, burst
 *     authfail_burst). While it is empty the peer's Login and Attest are
 *     refused (RESOURCE_EXHAUSTED) without doing the work.
 * Trusted peers are exempt from the buckets and the connection cap: uid 0
 * and the daemon's own uid on the Unix socket (they can stop or replace the
 * daemon anyway). TCP peers are never trusted.
 *
 * A peer's entry outlives its connections (so reconnecting does not refill
 * its buckets): idle entries (no connection) are kept, oldest dropped first
 * once more than max_peers entries exist.
 *
 * Time is CLOCK_MONOTONIC microseconds from the caller. Loop thread only.
 */
#ifndef VAULT_PEER_H
#define VAULT_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tv_err.h"

#define VAULT_PEER_KEY_MAX 64

typedef struct vault_peer_limits {
    unsigned max_conns;      /* connections per peer; 0 = 128 */
    unsigned public_rate;    /* public calls per second per peer; 0 = 1000 */
    unsigned public_burst;   /* 0 = 2 x public_rate */
    unsigned authfail_rate;  /* failed authentications per second per peer; 0 = 5 */
    unsigned authfail_burst; /* 0 = 20 */
    size_t max_peers;        /* entries kept; 0 = 4096 */
} vault_peer_limits;

typedef struct vault_peer {
    char key[VAULT_PEER_KEY_MAX]; /* "uid:1000" or an address */
    int trusted;
    unsigned conns;
    /* token buckets in millitokens */
    int64_t pub_milli, fail_milli;
    uint64_t pub_t_us, fail_t_us;
    uint64_t refused; /* calls refused by a bucket (for the log and tests) */
    /* internal: hash chain and idle list */
    struct vault_peer *hnext, *iprev, *inext;
} vault_peer;

typedef struct vault_peers vault_peers;

/* l NULL = defaults. Errors: TV_ERR_NOMEM. */
int vault_peers_new(const vault_peer_limits *l, vault_peers **out) TV_WUR;
void vault_peers_free(vault_peers *t);
const vault_peer_limits *vault_peers_limits(const vault_peers *t);

/* The key for a connection: SO_PEERCRED uid on AF_UNIX (falls back to
 * "unix" when the kernel does not say), the address without the port on
 * AF_INET/AF_INET6. *trusted = 1 for uid 0 and the daemon's uid. */
void vault_peer_identify(int fd, const struct sockaddr *sa, char key[VAULT_PEER_KEY_MAX],
                         int *trusted);

/* Attach a new connection to peer `key` (created if needed). *out is valid
 * until the matching vault_peers_detach. Errors: TV_ERR_RESOURCE (the peer
 * has max_conns connections: the caller may evict one of them and retry),
 * TV_ERR_NOMEM. */
int vault_peers_attach(vault_peers *t, const char *key, int trusted, vault_peer **out) TV_WUR;
/* A connection of p closed. */
void vault_peers_detach(vault_peers *t, vault_peer *p);

/* Take one public call from p's bucket: 0, or TV_ERR_RESOURCE (empty; the
 * call must be refused without running). Trusted peers always get 0. */
int vault_peer_take_public(vault_peers *t, vault_peer *p, uint64_t now_us) TV_WUR;
/* May p try to authenticate now (Login, Attest)? 0, or TV_ERR_RESOURCE while
 * its failed-authentication bucket is empty. Does not take a token. */
int vault_peer_auth_allowed(vault_peers *t, vault_peer *p, uint64_t now_us) TV_WUR;
/* Charge one failed authentication to p. */
void vault_peer_auth_failed(vault_peers *t, vault_peer *p, uint64_t now_us);

/* Live entries (tests). */
size_t vault_peers_count(const vault_peers *t);

#endif
