/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_peer: per-peer connection counts and token buckets (contract in
 * vault_peer.h).
 */
#define _GNU_SOURCE /* struct ucred */
#include "vault_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#define PEER_BUCKETS 1024

struct vault_peers {
    vault_peer_limits l;
    vault_peer *h[PEER_BUCKETS];
    size_t n;
    /* Entries without a connection, oldest first. */
    vault_peer *idle_head, *idle_tail;
    size_t n_idle;
    uint8_t hkey[crypto_shorthash_KEYBYTES];
};

int vault_peers_new(const vault_peer_limits *l, vault_peers **out)
{
    vault_peers *t = calloc(1, sizeof(*t));
    if (!t)
        return TV_ERR_NOMEM;
    if (l)
        t->l = *l;
    if (!t->l.max_conns)
        t->l.max_conns = 128;
    if (!t->l.public_rate)
        t->l.public_rate = 1000;
    if (!t->l.public_burst)
        t->l.public_burst = 2 * t->l.public_rate;
    if (!t->l.authfail_rate)
        t->l.authfail_rate = 5;
    if (!t->l.authfail_burst)
        t->l.authfail_burst = 20;
    if (!t->l.max_peers)
        t->l.max_peers = 4096;
    /* Keyed hash: a stranger choosing addresses cannot aim at one chain. */
    randombytes_buf(t->hkey, sizeof(t->hkey));
    *out = t;
    return TV_OK;
}

void vault_peers_free(vault_peers *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < PEER_BUCKETS; i++) {
        vault_peer *p = t->h[i];
        while (p) {
            vault_peer *nx = p->hnext;
            free(p);
            p = nx;
        }
    }
    free(t);
}

const vault_peer_limits *vault_peers_limits(const vault_peers *t)
{
    return t ? &t->l : NULL;
}

size_t vault_peers_count(const vault_peers *t)
{
    return t ? t->n : 0;
}

void vault_peer_identify(int fd, const struct sockaddr *sa, char key[VAULT_PEER_KEY_MAX],
                         int *trusted)
{
    char host[INET6_ADDRSTRLEN] = "?";
    *trusted = 0;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(key, VAULT_PEER_KEY_MAX, "%s", host);
        return;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(key, VAULT_PEER_KEY_MAX, "%s", host);
        return;
    }
    {
        struct ucred uc;
        socklen_t ul = sizeof(uc);
        if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 && ul == sizeof(uc)) {
            snprintf(key, VAULT_PEER_KEY_MAX, "uid:%u", (unsigned)uc.uid);
            *trusted = uc.uid == 0 || uc.uid == geteuid();
            return;
        }
    }
    snprintf(key, VAULT_PEER_KEY_MAX, "unix");
}

static size_t slot_of(const vault_peers *t, const char *key)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const uint8_t *)key, strlen(key), t->hkey);
    return ((size_t)h[0] | (size_t)h[1] << 8) % PEER_BUCKETS;
}

static void idle_unlink(vault_peers *t, vault_peer *p)
{
    if (p->iprev)
        p->iprev->inext = p->inext;
    else
        t->idle_head = p->inext;
    if (p->inext)
        p->inext->iprev = p->iprev;
    else
        t->idle_tail = p->iprev;
    p->iprev = p->inext = NULL;
    t->n_idle--;
}

static void peer_drop(vault_peers *t, vault_peer *p)
{
    vault_peer **pp = &t->h[slot_of(t, p->key)];
    while (*pp && *pp != p)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = p->hnext;
    idle_unlink(t, p);
    t->n--;
    free(p);
}

int vault_peers_attach(vault_peers *t, const char *key, int trusted, vault_peer **out)
{
    size_t s = slot_of(t, key);
    vault_peer *p;
    for (p = t->h[s]; p; p = p->hnext)
        if (!strcmp(p->key, key))
            break;
    if (p) {
        if (!p->trusted && p->conns >= t->l.max_conns)
            return TV_ERR_RESOURCE;
        if (p->conns == 0)
            idle_unlink(t, p);
        p->conns++;
        *out = p;
        return TV_OK;
    }
    /* Make room among entries nobody is connected as. */
    while (t->n >= t->l.max_peers && t->idle_head)
        peer_drop(t, t->idle_head);
    if (!(p = calloc(1, sizeof(*p))))
        return TV_ERR_NOMEM;
    snprintf(p->key, sizeof(p->key), "%s", key);
    p->trusted = trusted;
    p->pub_milli = (int64_t)t->l.public_burst * 1000;
    p->fail_milli = (int64_t)t->l.authfail_burst * 1000;
    p->conns = 1;
    p->hnext = t->h[s];
    t->h[s] = p;
    t->n++;
    *out = p;
    return TV_OK;
}

void vault_peers_detach(vault_peers *t, vault_peer *p)
{
    if (!t || !p || p->conns == 0)
        return;
    if (--p->conns)
        return;
    p->iprev = t->idle_tail;
    p->inext = NULL;
    if (t->idle_tail)
        t->idle_tail->inext = p;
    else
        t->idle_head = p;
    t->idle_tail = p;
    t->n_idle++;
    while (t->n > t->l.max_peers && t->idle_head)
        peer_drop(t, t->idle_head);
}

/* Token bucket in millitokens: rate tokens/s = rate millitokens per ms. */
static void refill(int64_t *milli, uint64_t *t_us, unsigned rate, unsigned burst, uint64_t now)
{
    int64_t cap = (int64_t)burst * 1000;
    uint64_t dt_ms;
    if (*t_us == 0 || now <= *t_us) {
        if (*t_us == 0)
            *t_us = now;
        return;
    }
    dt_ms = (now - *t_us) / 1000;
    if (dt_ms == 0)
        return;
    *t_us += dt_ms * 1000;
    if (dt_ms > 3600000)
        dt_ms = 3600000; /* an hour refills any bucket; keeps the product small */
    *milli += (int64_t)dt_ms * (int64_t)rate;
    if (*milli > cap)
        *milli = cap;
}

int vault_peer_take_public(vault_peers *t, vault_peer *p, uint64_t now_us)
{
    if (!t || !p || p->trusted)
        return TV_OK;
    refill(&p->pub_milli, &p->pub_t_us, t->l.public_rate, t->l.public_burst, now_us);
    if (p->pub_milli < 1000) {
        p->refused++;
        return TV_ERR_RESOURCE;
    }
    p->pub_milli -= 1000;
    return TV_OK;
}

int vault_peer_auth_allowed(vault_peers *t, vault_peer *p, uint64_t now_us)
{
    if (!t || !p || p->trusted)
        return TV_OK;
    refill(&p->fail_milli, &p->fail_t_us, t->l.authfail_rate, t->l.authfail_burst, now_us);
    if (p->fail_milli < 1000) {
        p->refused++;
        return TV_ERR_RESOURCE;
    }
    return TV_OK;
}

void vault_peer_auth_failed(vault_peers *t, vault_peer *p, uint64_t now_us)
{
    if (!t || !p || p->trusted)
        return;
    refill(&p->fail_milli, &p->fail_t_us, t->l.authfail_rate, t->l.authfail_burst, now_us);
    p->fail_milli -= 1000;
    if (p->fail_milli < -(int64_t)t->l.authfail_burst * 1000)
        p->fail_milli = -(int64_t)t->l.authfail_burst * 1000; /* debt is bounded */
}
