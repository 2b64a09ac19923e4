/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_audit_agg: per-peer counters for anonymous probes and failed
 * authentications, written as one record per peer per interval (contract in
 * vault_audit_agg.h).
 */
#include "vault_audit_agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define KIND_METHOD_MAX 48

typedef struct agg_kind {
    char method[KIND_METHOD_MAX]; /* "Sys/Health" */
    int status;                   /* gRPC code */
    uint64_t n;
} agg_kind;

typedef struct agg_peer {
    char peer[AUDIT_PEER_MAX + 1];
    agg_kind k[VAULT_AUDIT_AGG_KINDS];
    size_t nk;
    uint64_t other; /* counts beyond VAULT_AUDIT_AGG_KINDS kinds */
    uint64_t total, fails;
} agg_peer;

struct vault_audit_agg {
    agg_peer p[VAULT_AUDIT_AGG_PEERS + 1]; /* the last one is "other" */
    size_t np;
    int used_other;
    int64_t since_ns; /* start of the interval */
    uint64_t total;
};

vault_audit_agg *vault_audit_agg_new(int64_t now_ns)
{
    vault_audit_agg *a = calloc(1, sizeof(vault_audit_agg));
    if (a)
        a->since_ns = now_ns;
    return a;
}

void vault_audit_agg_free(vault_audit_agg *a)
{
    free(a);
}

static int is_probe(const char *svc, const char *m)
{
    if (!strcmp(svc, "teevault.v1.Sys"))
        return !strcmp(m, "Health") || !strcmp(m, "Status");
    if (!strcmp(svc, "teevault.v1.Attestation"))
        return !strcmp(m, "Challenge") || !strcmp(m, "Report") || !strcmp(m, "AuditAt");
    return 0;
}

int vault_audit_agg_wanted(const vault_call *c, int outcome)
{
    if (!c || !c->service || !c->method)
        return 0;
    /* Anyone with a valid token or session is audited on their own. */
    if (c->principal && c->principal->kind != VAULT_PRINCIPAL_NONE)
        return 0;
    /* Refused for a per-peer budget (vault_peer.h) before any work. */
    if (outcome == TV_ERR_RESOURCE && c->refused_early)
        return 1;
    /* Attest names a function and may create a session: always its own record. */
    if (!strcmp(c->service, "teevault.v1.Attestation") && !strcmp(c->method, "Attest"))
        return 0;
    if (is_probe(c->service, c->method))
        return 1;
    /* Failed authentications: a failed Login, or a token that did not resolve. */
    if (!strcmp(c->service, "teevault.v1.Auth") && !strcmp(c->method, "Login"))
        return outcome < 0;
    return outcome == TV_ERR_UNAUTHENTICATED;
}

void vault_audit_agg_peer_key(const char *peer, char *out, size_t outlen)
{
    size_t n;
    const char *colon;
    if (!outlen)
        return;
    if (!peer)
        peer = "";
    n = strlen(peer);
    if (peer[0] == '[') { /* [v6]:port */
        const char *rb = strchr(peer, ']');
        if (rb) {
            snprintf(out, outlen, "%.*s", (int)(rb - peer - 1), peer + 1);
            return;
        }
    } else if ((colon = strrchr(peer, ':')) && strchr(peer, ':') == colon &&
               strspn(colon + 1, "0123456789") == strlen(colon + 1) && colon[1] &&
               strspn(peer, "0123456789.") == (size_t)(colon - peer)) {
        n = (size_t)(colon - peer); /* v4:port */
    }
    snprintf(out, outlen, "%.*s", (int)n, peer);
}

static agg_peer *peer_slot(vault_audit_agg *a, const char *key)
{
    for (size_t i = 0; i < a->np; i++)
        if (!strcmp(a->p[i].peer, key))
            return &a->p[i];
    if (a->np < VAULT_AUDIT_AGG_PEERS) {
        agg_peer *p = &a->p[a->np++];
        memset(p, 0, sizeof(*p));
        snprintf(p->peer, sizeof(p->peer), "%s", key);
        return p;
    }
    /* Too many distinct peers this interval: one bucket for the rest. */
    agg_peer *o = &a->p[VAULT_AUDIT_AGG_PEERS];
    if (!a->used_other) {
        memset(o, 0, sizeof(*o));
        snprintf(o->peer, sizeof(o->peer), "other");
        a->used_other = 1;
    }
    return o;
}

void vault_audit_agg_count(vault_audit_agg *a, const vault_call *c, int outcome)
{
    char key[AUDIT_PEER_MAX + 1], m[KIND_METHOD_MAX];
    const char *svc;
    agg_peer *p;
    int st = outcome < 0 ? tv_err_to_grpc(outcome) : 0;

    if (!a || !c)
        return;
    vault_audit_agg_peer_key(c->peer, key, sizeof(key));
    p = peer_slot(a, key);
    svc = c->service ? c->service : "";
    if (!strncmp(svc, "teevault.v1.", 12))
        svc += 12;
    snprintf(m, sizeof(m), "%s/%s", svc, c->method ? c->method : "");
    p->total++;
    a->total++;
    if (st)
        p->fails++;
    for (size_t i = 0; i < p->nk; i++) {
        if (p->k[i].status == st && !strcmp(p->k[i].method, m)) {
            p->k[i].n++;
            return;
        }
    }
    if (p->nk < VAULT_AUDIT_AGG_KINDS) {
        agg_kind *k = &p->k[p->nk++];
        snprintf(k->method, sizeof(k->method), "%s", m);
        k->status = st;
        k->n = 1;
        return;
    }
    p->other++;
}

size_t vault_audit_agg_pending(const vault_audit_agg *a)
{
    return a ? a->np + (a->used_other ? 1 : 0) : 0;
}

uint64_t vault_audit_agg_total(const vault_audit_agg *a)
{
    return a ? a->total : 0;
}

static const char *code_name(int st)
{
    switch (st) {
    case 3:
        return "INVALID_ARGUMENT";
    case 7:
        return "PERMISSION_DENIED";
    case 8:
        return "RESOURCE_EXHAUSTED";
    case 9:
        return "FAILED_PRECONDITION";
    case 14:
        return "UNAVAILABLE";
    case 16:
        return "UNAUTHENTICATED";
    default:
        return NULL;
    }
}

static void fill(const agg_peer *p, int64_t secs, int64_t now_ns, audit_record *r)
{
    char d[AUDIT_DETAIL_MAX + 1];
    size_t off, i;
    int n;

    memset(r, 0, sizeof(*r));
    r->time_ns = now_ns;
    audit_record_set_str(r->principal, AUDIT_PRINCIPAL_MAX, "anonymous", 9);
    audit_record_set_str(r->method, AUDIT_METHOD_MAX, "aggregate", 9);
    audit_record_set_str(r->peer, AUDIT_PEER_MAX, p->peer, strlen(p->peer));
    r->status = p->fails ? 16u : 0u;
    n = snprintf(d, sizeof(d), "%llds n=%llu", (long long)secs, (unsigned long long)p->total);
    off = n > 0 && (size_t)n < sizeof(d) ? (size_t)n : 0;
    for (i = 0; i < p->nk; i++) {
        char item[96];
        const char *cn = code_name(p->k[i].status);
        int m;
        if (!p->k[i].status)
            m = snprintf(item, sizeof(item), " %s=%llu", p->k[i].method,
                         (unsigned long long)p->k[i].n);
        else if (cn)
            m = snprintf(item, sizeof(item), " %s!%s=%llu", p->k[i].method, cn,
                         (unsigned long long)p->k[i].n);
        else
            m = snprintf(item, sizeof(item), " %s!%d=%llu", p->k[i].method, p->k[i].status,
                         (unsigned long long)p->k[i].n);
        /* Keep room for the " +k more" tail. */
        if (m < 0 || off + (size_t)m + 12 >= sizeof(d))
            break;
        memcpy(d + off, item, (size_t)m + 1);
        off += (size_t)m;
    }
    if (i < p->nk || p->other) {
        uint64_t more = p->other;
        for (size_t j = i; j < p->nk; j++)
            more += p->k[j].n;
        snprintf(d + off, sizeof(d) - off, " +%llu more", (unsigned long long)more);
    }
    audit_record_set_str(r->detail, AUDIT_DETAIL_MAX, d, strlen(d));
}

size_t vault_audit_agg_take(vault_audit_agg *a, audit_record *out, size_t max, int64_t now_ns)
{
    size_t n = 0;
    int64_t secs;
    if (!a || !out)
        return 0;
    secs =
        a->since_ns && now_ns > a->since_ns ? (now_ns - a->since_ns + 500000000) / 1000000000 : 0;
    for (size_t i = 0; i < a->np && n < max; i++)
        fill(&a->p[i], secs, now_ns, &out[n++]);
    if (a->used_other && n < max)
        fill(&a->p[VAULT_AUDIT_AGG_PEERS], secs, now_ns, &out[n++]);
    /* What did not fit stays for the next call; normally max takes all. */
    if (n >= a->np + (a->used_other ? 1u : 0u)) {
        a->np = 0;
        a->used_other = 0;
    } else {
        size_t rest = a->np > n ? a->np - n : 0;
        memmove(&a->p[0], &a->p[n], rest * sizeof(a->p[0]));
        a->np = rest;
    }
    a->since_ns = now_ns;
    return n;
}
