/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_attest: nonces, function sessions, Attest and Report (contract in
 * vault_attest.h).
 */
#include "vault_attest.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "proto_buf.h"
#include "seal.h"
#include "seal_fnget.h"
#include "seal_producers.h"
#include "seal_sim_report.h"
#include "seal_verify.h"
#include "vault_audit.h"
#include "vault_auth.h"
#include "vault_config.h"
#include "vault_db.h"
#include "vault_functions.h"
#include "vault_record.h"

#define TOKEN_RAW_LEN 32
#define NIL           UINT32_MAX

/* Nonce layout (32 bytes): u64be issue time (unix ms) || 8 random bytes ||
 * 16-byte keyed BLAKE2b of the first 16 bytes under a per-process key. */
#define NONCE_T_LEN    8
#define NONCE_BODY_LEN 16
#define NONCE_MAC_LEN  16

/* Session slots come in chunks: one calloc'ed metadata array and one
 * sodium_malloc'ed key array per chunk (a few guarded mappings in all,
 * not several per session). */
#define SESS_CHUNK      4096u
#define SESS_BUCKET_MAX (1u << 20)

/* The vault's session key pair serves the sessions begun in its first
 * EPH_REUSE_MS, then a new one is made; vault_attest_tick wipes an idle one. */
#define EPH_REUSE_MS 1000

/* A used nonce, remembered until it expires (or is evicted, see floor). */
typedef struct att_used {
    uint8_t nonce[VAULT_ATTEST_NONCE_LEN];
    int64_t t;      /* issue time from the nonce (unix ms) */
    uint32_t hnext; /* bucket chain (ring positions), NIL ends */
} att_used;

typedef struct att_session {
    uint8_t hash[32];
    int64_t expires;
    uint32_t hnext;      /* bucket chain, NIL ends */
    uint32_t prev, next; /* age list when live (oldest first), free list when not */
    int live;
    char name[VAULT_ID_MAX];
    char **policies;
    size_t n_policies;
} att_session;

struct vault_attest {
    uint32_t session_ttl, nonce_ttl;
    size_t max_replay, max_sessions;
    int has_sim_pk;
    uint8_t sim_pk[32];
    seal_collateral *collateral;
    /* Replaced by SIGHUP reloads; kept until close, since a verification
     * may still hold the old one (reloads are rare: at most 16). */
    seal_collateral *old_collateral[16];
    size_t n_old_collateral;
    uint8_t *nonce_key; /* 32 B, sodium_malloc: MACs the nonces it issues */
    /* Replay set: a ring of used nonces in the order they were used, indexed
     * by a hash of the nonce. When the ring is full the oldest entry leaves
     * and `floor` rises to its issue time: a nonce issued at or before the
     * floor is refused, so a forgotten nonce can never be used again. */
    att_used *used;
    uint32_t *used_buckets;
    uint32_t used_nb; /* power of two */
    size_t used_head, used_n;
    int64_t floor; /* unix ms */
    int has_floor;
    /* Sessions. */
    att_session **chunks; /* [n_chunks] arrays of SESS_CHUNK slots */
    uint8_t **key_chunks; /* [n_chunks] sodium_malloc'ed, SESS_CHUNK keys each */
    size_t n_chunks, max_chunks;
    uint32_t *buckets;           /* [nb] slot index, NIL */
    uint32_t nb;                 /* power of two */
    uint32_t free_head;          /* free slots, NIL */
    uint32_t age_head, age_tail; /* live sessions, oldest first */
    size_t n_sessions;
    int64_t time_offset;
    /* Policy hash cache (vault_attest_policy_hash): valid while policy_gen
     * equals cached_gen. Any thread reads; writers bump policy_gen after
     * their commit (vault_attest_policy_changed). */
    atomic_uint_fast64_t policy_gen;
    pthread_mutex_t cache_mu;
    uint64_t cached_gen;
    int cached_valid;
    uint8_t cached_hash[32];
    /* The vault's X25519 key pair for session keys (vault_attest_work):
     * sk (32) || pk (32), sodium_malloc'ed, made at eph_born (unix ms, 0 =
     * none) and used for the sessions of the next EPH_REUSE_MS; each
     * session's key stays its own (the function's eph_pk is fresh and bound
     * to a single-use nonce). Any thread, under eph_mu. */
    pthread_mutex_t eph_mu;
    uint8_t *eph;
    int64_t eph_born;
};

static void setf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void setf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (!dst || !n)
        return;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

static int64_t now_of(const struct vault_attest *a)
{
    return (int64_t)time(NULL) + a->time_offset;
}

static int64_t now_ms_of(const struct vault_attest *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + a->time_offset) * 1000 + ts.tv_nsec / 1000000;
}

/* Index into a power-of-two table from bytes that are uniformly random to
 * an outsider (a SHA-256 output, or a nonce's MAC). */
static uint32_t bucket_of(const uint8_t *p, uint32_t nb)
{
    return proto_be32(p) & (nb - 1);
}

static uint32_t pow2_at_least(size_t n, uint32_t cap)
{
    uint32_t b = 64;
    while (b < n && b < cap)
        b <<= 1;
    return b;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static att_session *slot(const struct vault_attest *a, uint32_t i)
{
    return &a->chunks[i / SESS_CHUNK][i % SESS_CHUNK];
}

static uint8_t *slot_key(const struct vault_attest *a, uint32_t i)
{
    return a->key_chunks[i / SESS_CHUNK] + (size_t)(i % SESS_CHUNK) * SEAL_FNGET_KEY_LEN;
}

static void state_free(struct vault_attest *a)
{
    if (!a)
        return;
    for (size_t c = 0; c < a->n_chunks; c++) {
        for (size_t i = 0; i < SESS_CHUNK; i++)
            strv_free(a->chunks[c][i].policies, a->chunks[c][i].n_policies);
        sodium_memzero(a->chunks[c], SESS_CHUNK * sizeof(att_session));
        free(a->chunks[c]);
        sodium_free(a->key_chunks[c]); /* wipes the keys */
    }
    free(a->chunks);
    free(a->key_chunks);
    free(a->buckets);
    free(a->used);
    free(a->used_buckets);
    if (a->nonce_key)
        sodium_free(a->nonce_key);
    if (a->eph)
        sodium_free(a->eph); /* wipes the secret */
    pthread_mutex_destroy(&a->eph_mu);
    seal_collateral_free(a->collateral);
    for (size_t i = 0; i < a->n_old_collateral; i++)
        seal_collateral_free(a->old_collateral[i]);
    pthread_mutex_destroy(&a->cache_mu);
    sodium_memzero(a, sizeof *a);
    free(a);
}

void vault_attest_close(struct vault *v)
{
    if (!v)
        return;
    state_free(v->attest);
    v->attest = NULL;
}

int vault_attest_configure(struct vault *v, const vault_attest_params *p)
{
    struct vault_attest *a;
    vault_attest_params d = {0};
    int r = TV_ERR_INTERNAL;

    if (!v)
        return TV_ERR_INVALID;
    if (!p)
        p = &d;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    if (!(a = calloc(1, sizeof *a)))
        return TV_ERR_NOMEM;
    pthread_mutex_init(&a->cache_mu, NULL);
    pthread_mutex_init(&a->eph_mu, NULL);
    atomic_init(&a->policy_gen, 1);
    a->session_ttl = p->session_ttl ? p->session_ttl : VAULT_ATTEST_DEFAULT_SESSION_TTL;
    a->nonce_ttl = p->nonce_ttl ? p->nonce_ttl : VAULT_ATTEST_DEFAULT_NONCE_TTL;
    a->max_replay = p->max_replay ? p->max_replay : VAULT_ATTEST_DEFAULT_MAX_REPLAY;
    a->max_sessions = p->max_sessions ? p->max_sessions : VAULT_ATTEST_DEFAULT_MAX_SESSIONS;
    if (a->max_replay > NIL - 1 || a->max_sessions > NIL - 1) {
        r = TV_ERR_INVALID;
        goto out;
    }
    a->used_nb = pow2_at_least(a->max_replay, SESS_BUCKET_MAX);
    a->nb = pow2_at_least(a->max_sessions, SESS_BUCKET_MAX);
    a->max_chunks = (a->max_sessions + SESS_CHUNK - 1) / SESS_CHUNK;
    a->free_head = a->age_head = a->age_tail = NIL;
    if (!(a->used = calloc(a->max_replay, sizeof *a->used)) ||
        !(a->used_buckets = malloc(a->used_nb * sizeof *a->used_buckets)) ||
        !(a->buckets = malloc(a->nb * sizeof *a->buckets)) ||
        !(a->chunks = calloc(a->max_chunks, sizeof *a->chunks)) ||
        !(a->key_chunks = calloc(a->max_chunks, sizeof *a->key_chunks)) ||
        !(a->nonce_key = sodium_malloc(crypto_generichash_KEYBYTES)) ||
        !(a->eph = sodium_malloc(2 * crypto_scalarmult_BYTES))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    /* Sim evidence is signed by a key on the host's disk: only a vault that
     * is itself sim (no hardware protection either) may accept it. A
     * hardware vault refuses any sim key it is handed (the config is host
     * input too: vault_config_validate refuses sim_platform_dir there). */
    const vault_config *cfg = v->cfg;
    int hw = (v->seal && v->seal->ops->hardware_protected) ||
             (cfg && cfg->tee_backend && strcmp(cfg->tee_backend, "sim") != 0);
    if (hw && (p->sim_pk || p->sim_platform_dir)) {
        r = TV_ERR_POLICY;
        goto out;
    }
    memset(a->used_buckets, 0xff, a->used_nb * sizeof *a->used_buckets);
    memset(a->buckets, 0xff, a->nb * sizeof *a->buckets);
    randombytes_buf(a->nonce_key, crypto_generichash_KEYBYTES);
    if (p->sim_pk) {
        memcpy(a->sim_pk, p->sim_pk, 32);
        a->has_sim_pk = 1;
    } else if (!hw) {
        const char *dir = p->sim_platform_dir;
        /* The vault's own backend is sim: it shares the machine's sim platform. */
        if (!dir && cfg)
            dir = cfg->tee_root ? cfg->tee_root : cfg->state_dir;
        if (dir) {
            if ((r = seal_sim_platform_pubkey(dir, a->sim_pk)) < 0)
                goto out;
            a->has_sim_pk = 1;
        }
    }
    if (p->collateral && (r = seal_collateral_load(p->collateral, &a->collateral)) < 0)
        goto out;
    vault_attest_close(v);
    v->attest = a;
    a = NULL;
    r = 0;
out:
    state_free(a);
    return r;
}

static int get_state(struct vault *v, struct vault_attest **out)
{
    int r;
    if (!v)
        return TV_ERR_INVALID;
    if (!v->attest && (r = vault_attest_configure(v, NULL)) < 0)
        return r;
    *out = v->attest;
    return 0;
}

void vault_attest_test_advance(struct vault *v, int64_t delta)
{
    struct vault_attest *a;
    if (get_state(v, &a) == 0)
        a->time_offset += delta;
}

/* ---------------------------------------------------------------- nonces */

static void nonce_mac(const struct vault_attest *a, const uint8_t body[NONCE_BODY_LEN],
                      uint8_t mac[NONCE_MAC_LEN])
{
    static const char dom[] = "teevault-nonce-v1";
    crypto_generichash_state st;
    crypto_generichash_init(&st, a->nonce_key, crypto_generichash_KEYBYTES, NONCE_MAC_LEN);
    crypto_generichash_update(&st, (const uint8_t *)dom, sizeof dom);
    crypto_generichash_update(&st, body, NONCE_BODY_LEN);
    crypto_generichash_final(&st, mac, NONCE_MAC_LEN);
    sodium_memzero(&st, sizeof st);
}

int vault_attest_challenge(struct vault *v, uint8_t nonce[VAULT_ATTEST_NONCE_LEN],
                           int64_t *expires_at)
{
    struct vault_attest *a;
    int64_t now;
    int r;

    if (!nonce || !expires_at)
        return TV_ERR_INVALID;
    if ((r = get_state(v, &a)) < 0)
        return r;
    /* Stateless: nothing is stored until an Attest presents the nonce. */
    now = now_ms_of(a);
    proto_put_be64(nonce, (uint64_t)now);
    randombytes_buf(nonce + NONCE_T_LEN, NONCE_BODY_LEN - NONCE_T_LEN);
    nonce_mac(a, nonce, nonce + NONCE_BODY_LEN);
    *expires_at = (now + (int64_t)a->nonce_ttl * 1000) / 1000;
    return 0;
}

static void used_unlink(struct vault_attest *a, uint32_t pos)
{
    uint32_t *pp = &a->used_buckets[bucket_of(a->used[pos].nonce + NONCE_BODY_LEN, a->used_nb)];
    while (*pp != NIL && *pp != pos)
        pp = &a->used[*pp].hnext;
    if (*pp == pos)
        *pp = a->used[pos].hnext;
}

/* Drop the oldest used nonce; floor rises to its issue time when it has
 * not expired yet (it could otherwise be used again). */
static void used_pop(struct vault_attest *a, int64_t now)
{
    att_used *e = &a->used[a->used_head];
    if (now < e->t + (int64_t)a->nonce_ttl * 1000 && (!a->has_floor || e->t > a->floor)) {
        a->floor = e->t;
        a->has_floor = 1;
    }
    used_unlink(a, (uint32_t)a->used_head);
    a->used_head = (a->used_head + 1) % a->max_replay;
    a->used_n--;
}

/* Check and spend a nonce: 0, TV_ERR_REPLAY, TV_ERR_EXPIRED or
 * TV_ERR_UNAUTHENTICATED (not issued by this process). */
static int nonce_consume(struct vault_attest *a, const uint8_t nonce[VAULT_ATTEST_NONCE_LEN])
{
    uint8_t mac[NONCE_MAC_LEN];
    int64_t now = now_ms_of(a), ttl = (int64_t)a->nonce_ttl * 1000;
    int64_t t = (int64_t)proto_be64(nonce);
    uint32_t b, pos;
    int ok;

    nonce_mac(a, nonce, mac);
    ok = sodium_memcmp(mac, nonce + NONCE_BODY_LEN, NONCE_MAC_LEN) == 0;
    sodium_memzero(mac, sizeof mac);
    if (!ok)
        return TV_ERR_UNAUTHENTICATED;
    /* Remembered: say "replay" (the more useful answer) before "expired". */
    b = bucket_of(nonce + NONCE_BODY_LEN, a->used_nb);
    for (pos = a->used_buckets[b]; pos != NIL; pos = a->used[pos].hnext)
        if (sodium_memcmp(a->used[pos].nonce, nonce, VAULT_ATTEST_NONCE_LEN) == 0)
            return TV_ERR_REPLAY;
    if (now >= t + ttl)
        return TV_ERR_EXPIRED;
    /* Older than the replay set remembers: refused like an expired one. */
    if (a->has_floor && t <= a->floor)
        return TV_ERR_EXPIRED;
    /* Forget what has expired (used in about issue order), then make room. */
    while (a->used_n && now >= a->used[a->used_head].t + ttl)
        used_pop(a, now);
    if (a->used_n == a->max_replay)
        used_pop(a, now);
    if (a->has_floor && t <= a->floor)
        return TV_ERR_EXPIRED; /* the pop above just passed it */
    pos = (uint32_t)((a->used_head + a->used_n) % a->max_replay);
    memcpy(a->used[pos].nonce, nonce, VAULT_ATTEST_NONCE_LEN);
    a->used[pos].t = t;
    a->used[pos].hnext = a->used_buckets[b];
    a->used_buckets[b] = pos;
    a->used_n++;
    return 0;
}

/* ---------------------------------------------------------------- sessions */

static void session_hash(const uint8_t raw[TOKEN_RAW_LEN], uint8_t out[32])
{
    static const char dom[] = "teevault-fn-session-v1";
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom);
    crypto_hash_sha256_update(&st, raw, TOKEN_RAW_LEN);
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* Unlink live slot i from its bucket and the age list, wipe it and its key,
 * and put it on the free list. */
static void session_remove(struct vault_attest *a, uint32_t i)
{
    att_session *s = slot(a, i);
    uint32_t *pp = &a->buckets[bucket_of(s->hash, a->nb)];
    while (*pp != NIL && *pp != i)
        pp = &slot(a, *pp)->hnext;
    if (*pp == i)
        *pp = s->hnext;
    if (s->prev != NIL)
        slot(a, s->prev)->next = s->next;
    else
        a->age_head = s->next;
    if (s->next != NIL)
        slot(a, s->next)->prev = s->prev;
    else
        a->age_tail = s->prev;
    strv_free(s->policies, s->n_policies);
    sodium_memzero(s, sizeof *s);
    sodium_memzero(slot_key(a, i), SEAL_FNGET_KEY_LEN);
    s->next = a->free_head;
    a->free_head = i;
    a->n_sessions--;
}

/* Sessions share one TTL, so the age list is in expiry order: drop expired
 * ones from its head (O(1) per session over its lifetime). */
static void session_expire(struct vault_attest *a, int64_t now)
{
    while (a->age_head != NIL && now >= slot(a, a->age_head)->expires)
        session_remove(a, a->age_head);
}

void vault_attest_drop_function(struct vault *v, const char *name)
{
    struct vault_attest *a;
    if (!v || !(a = v->attest) || !name)
        return;
    for (uint32_t i = a->age_head, nx; i != NIL; i = nx) {
        nx = slot(a, i)->next;
        if (strcmp(slot(a, i)->name, name) == 0)
            session_remove(a, i);
    }
}

size_t vault_attest_session_count(struct vault *v)
{
    return v && v->attest ? v->attest->n_sessions : 0;
}

/* A free slot: from the free list, else a new chunk while under
 * max_sessions. NIL when the table is full (or no memory for a chunk). */
static uint32_t slot_alloc(struct vault_attest *a, int *nomem)
{
    uint32_t i;
    *nomem = 0;
    if (a->free_head == NIL) {
        size_t c = a->n_chunks;
        att_session *m;
        uint8_t *k;
        if (c == a->max_chunks || a->n_sessions >= a->max_sessions)
            return NIL;
        if (!(m = calloc(SESS_CHUNK, sizeof *m))) {
            *nomem = 1;
            return NIL;
        }
        if (!(k = sodium_malloc((size_t)SESS_CHUNK * SEAL_FNGET_KEY_LEN))) {
            free(m);
            *nomem = 1;
            return NIL;
        }
        sodium_memzero(k, (size_t)SESS_CHUNK * SEAL_FNGET_KEY_LEN);
        a->chunks[c] = m;
        a->key_chunks[c] = k;
        a->n_chunks++;
        /* Thread the new slots onto the free list, lowest index first. */
        for (uint32_t j = SESS_CHUNK; j-- > 0;) {
            uint32_t idx = (uint32_t)(c * SESS_CHUNK + j);
            if (idx >= a->max_sessions)
                continue;
            m[j].next = a->free_head;
            a->free_head = idx;
        }
    }
    if (a->n_sessions >= a->max_sessions || a->free_head == NIL)
        return NIL;
    i = a->free_head;
    a->free_head = slot(a, i)->next;
    return i;
}

/* Enter a session whose key (derived by the caller: vault_attest_work or
 * session_create) and vault public key are given: the token, its hash, the
 * policies and the expiry. key is copied into the chunk's guarded memory;
 * the caller wipes its own copy. */
static int session_insert(struct vault_attest *a, const char *name,
                          const uint8_t key[SEAL_FNGET_KEY_LEN], char *const *policies,
                          size_t n_policies, char token[VAULT_ATTEST_TOKEN_BUF],
                          uint8_t session_id[32], int64_t *expires_at)
{
    uint8_t raw[TOKEN_RAW_LEN];
    att_session *s = NULL;
    int64_t now = now_of(a);
    size_t plen = strlen(VAULT_ATTEST_TOKEN_PREFIX);
    uint32_t i, b;
    int nomem = 0, r = TV_ERR_INTERNAL;

    session_expire(a, now);
    if ((i = slot_alloc(a, &nomem)) == NIL)
        return nomem ? TV_ERR_NOMEM : TV_ERR_RESOURCE;
    s = slot(a, i);
    memset(s, 0, sizeof *s);
    if (n_policies) {
        if (!(s->policies = calloc(n_policies, sizeof *s->policies))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        for (size_t k = 0; k < n_policies; k++) {
            if (!(s->policies[k] = strdup(policies[k]))) {
                s->n_policies = k;
                r = TV_ERR_NOMEM;
                goto out;
            }
        }
        s->n_policies = n_policies;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    memcpy(slot_key(a, i), key, SEAL_FNGET_KEY_LEN);
    s->expires = now + a->session_ttl;
    randombytes_buf(raw, sizeof raw);
    session_hash(raw, s->hash);
    memcpy(token, VAULT_ATTEST_TOKEN_PREFIX, plen);
    sodium_bin2base64(token + plen, VAULT_ATTEST_TOKEN_BUF - plen, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    b = bucket_of(s->hash, a->nb);
    s->hnext = a->buckets[b];
    a->buckets[b] = i;
    s->live = 1;
    s->next = NIL;
    s->prev = a->age_tail;
    if (a->age_tail != NIL)
        slot(a, a->age_tail)->next = i;
    else
        a->age_head = i;
    a->age_tail = i;
    a->n_sessions++;
    if (session_id)
        memcpy(session_id, s->hash, sizeof s->hash);
    *expires_at = s->expires;
    s = NULL;
    r = 0;
out:
    if (s) {
        /* Not linked anywhere yet: wipe and return the slot. */
        strv_free(s->policies, s->n_policies);
        sodium_memzero(s, sizeof *s);
        sodium_memzero(slot_key(a, i), SEAL_FNGET_KEY_LEN);
        s->next = a->free_head;
        a->free_head = i;
    }
    return r;
}

/* A session with a fresh vault key pair for eph_pk (tests and
 * vault_attest_test_session; Attest derives the key on the worker). */
static int session_create(struct vault_attest *a, const char *name, const uint8_t eph_pk[32],
                          char *const *policies, size_t n_policies,
                          char token[VAULT_ATTEST_TOKEN_BUF], uint8_t session_pk[32],
                          uint8_t session_id[32], int64_t *expires_at)
{
    uint8_t sk[crypto_scalarmult_SCALARBYTES], pk[crypto_scalarmult_BYTES];
    uint8_t key[SEAL_FNGET_KEY_LEN];
    int r;

    randombytes_buf(sk, sizeof sk);
    if (crypto_scalarmult_base(pk, sk) != 0)
        r = TV_ERR_CRYPTO;
    else if ((r = seal_fn_session_key(key, NULL, sk, eph_pk, eph_pk, pk)) == 0 &&
             (r = session_insert(a, name, key, policies, n_policies, token, session_id,
                                 expires_at)) == 0)
        memcpy(session_pk, pk, sizeof pk);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(key, sizeof key);
    return r;
}

/* Live slot with session id `id`, or NIL (an expired one is removed). */
static uint32_t session_lookup(struct vault_attest *a, const uint8_t id[32])
{
    for (uint32_t i = a->buckets[bucket_of(id, a->nb)]; i != NIL; i = slot(a, i)->hnext) {
        att_session *s = slot(a, i);
        if (sodium_memcmp(s->hash, id, 32) != 0)
            continue;
        if (now_of(a) >= s->expires) {
            session_remove(a, i);
            return NIL;
        }
        return i;
    }
    return NIL;
}

int vault_attest_resolve_session(struct vault *v, const char *token, size_t token_len,
                                 vault_principal *out)
{
    struct vault_attest *a;
    uint8_t raw[TOKEN_RAW_LEN], h[32];
    size_t plen = strlen(VAULT_ATTEST_TOKEN_PREFIX), bin_len = 0;
    vault_principal p;
    att_session *s;
    uint32_t i;
    int r = TV_ERR_UNAUTHENTICATED;

    if (!v || !out || !token)
        return TV_ERR_UNAUTHENTICATED;
    if (!(a = v->attest))
        return TV_ERR_UNAUTHENTICATED; /* no session was ever made */
    if (token_len != VAULT_ATTEST_TOKEN_STR_LEN || memcmp(token, VAULT_ATTEST_TOKEN_PREFIX, plen))
        return TV_ERR_UNAUTHENTICATED;
    if (sodium_base642bin(raw, sizeof raw, token + plen, token_len - plen, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bin_len != sizeof raw)
        return TV_ERR_UNAUTHENTICATED;
    session_hash(raw, h);
    sodium_memzero(raw, sizeof raw);
    memset(&p, 0, sizeof p);
    if ((i = session_lookup(a, h)) == NIL)
        goto out;
    s = slot(a, i);
    p.kind = VAULT_PRINCIPAL_FUNCTION;
    snprintf(p.id, sizeof p.id, "%s", s->name);
    memcpy(p.fn_session, s->hash, sizeof p.fn_session);
    if (s->n_policies) {
        if (!(p.policies = calloc(s->n_policies, sizeof *p.policies))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        for (size_t k = 0; k < s->n_policies; k++) {
            if (!(p.policies[k] = strdup(s->policies[k]))) {
                p.n_policies = k;
                r = TV_ERR_NOMEM;
                goto out;
            }
        }
        p.n_policies = s->n_policies;
    }
    *out = p;
    memset(&p, 0, sizeof p);
    r = 0;
out:
    strv_free(p.policies, p.n_policies);
    sodium_memzero(h, sizeof h);
    return r;
}

int vault_attest_seal_get(struct vault *v, const uint8_t session_id[32], const char *name,
                          uint64_t version, const uint8_t *pt, size_t len, uint8_t **out,
                          size_t *out_len)
{
    uint32_t i;
    uint8_t *buf;
    int r;

    if (!v || !session_id || !name || (!pt && len) || !out || !out_len ||
        len > SIZE_MAX - SEAL_FNGET_OVERHEAD)
        return TV_ERR_INVALID;
    if (!v->attest || (i = session_lookup(v->attest, session_id)) == NIL)
        return TV_ERR_UNAUTHENTICATED;
    if (!(buf = malloc(len + SEAL_FNGET_OVERHEAD)))
        return TV_ERR_NOMEM;
    if ((r = seal_fn_get_seal(slot_key(v->attest, i), name, strlen(name), version, pt, len, buf)) <
        0) {
        free(buf);
        return r;
    }
    *out = buf;
    *out_len = len + SEAL_FNGET_OVERHEAD;
    return 0;
}

int vault_attest_test_session(struct vault *v, const char *name, const uint8_t eph_pk[32],
                              uint8_t session_id[32], uint8_t session_pk[32])
{
    struct vault_attest *a;
    char token[VAULT_ATTEST_TOKEN_BUF];
    int64_t exp;
    int r;

    if (!name || !eph_pk || !session_id || !session_pk)
        return TV_ERR_INVALID;
    if ((r = get_state(v, &a)) < 0)
        return r;
    r = session_create(a, name, eph_pk, NULL, 0, token, session_pk, session_id, &exp);
    sodium_memzero(token, sizeof token);
    return r;
}

/* ---------------------------------------------------------------- Attest */

static enum seal_ev_type type_of(const char *s)
{
    if (!s)
        return SEAL_EV_UNKNOWN;
    if (!strcmp(s, "sim"))
        return SEAL_EV_SIM;
    if (!strcmp(s, "sgx"))
        return SEAL_EV_SGX;
    if (!strcmp(s, "tdx"))
        return SEAL_EV_TDX;
    if (!strcmp(s, "snp"))
        return SEAL_EV_SNP;
    return SEAL_EV_UNKNOWN;
}

/* One Attest between vault_attest_begin (loop), vault_attest_work (any
 * thread: it reads and writes only the job) and vault_attest_finish (loop).
 * The job owns copies of everything the work needs: the request may be
 * freed while the work runs. key holds the derived session key from the
 * work until finish copies it into the session table's guarded memory;
 * finish and vault_attest_job_free wipe the whole job. */
struct vault_attest_job {
    /* In (begin). */
    struct vault_attest *a; /* its session key pair (eph); outlives the job */
    enum seal_ev_type t;
    vault_fn_policy pol;
    int has_sim_pk;
    uint8_t sim_pk[32];
    seal_collateral *collateral; /* a's; old ones are kept until close */
    uint8_t *evidence;           /* malloc'ed copy */
    size_t evidence_len;
    uint8_t nonce[VAULT_ATTEST_NONCE_LEN];
    uint8_t eph_pk[32];
    uint8_t code_hash[VAULT_FN_CODE_HASH_MAX];
    size_t code_hash_len;
    char name[VAULT_FN_NAME_MAX + 1]; /* the request's function name (validated) */
    Teevault__V1__FunctionInfo *fi;
    char qn[VAULT_FN_NAME_MAX + 16];
    /* Out (work). */
    int r;
    char why[200];
    uint8_t session_pk[32];
    int64_t session_key_expires; /* the pair's certificate, unix s */
    uint8_t key[SEAL_FNGET_KEY_LEN];
    uint8_t mac_key[32]; /* the reply's MAC key (seal_attest_reply_mac) */
};

void vault_attest_job_free(vault_attest_job *job)
{
    if (!job)
        return;
    free(job->evidence);
    if (job->fi)
        teevault__v1__function_info__free_unpacked(job->fi, NULL);
    sodium_memzero(job, sizeof *job);
    free(job);
}

int vault_attest_begin(struct vault *v, const vault_attest_req *rq, vault_attest_job **out,
                       char *why, size_t whylen)
{
    struct vault_attest *a;
    vault_attest_job *job = NULL;
    MDB_txn *txn = NULL;
    enum seal_ev_type t;
    char qn[VAULT_FN_NAME_MAX + 16];
    int r = TV_ERR_INTERNAL;

    if (why && whylen)
        why[0] = 0;
    if (!rq || !out)
        return TV_ERR_INVALID;
    if ((r = get_state(v, &a)) < 0) {
        setf(why, whylen, "attestation state unavailable: %s", tv_strerror(r));
        return r;
    }
    if (rq->nonce_len != VAULT_ATTEST_NONCE_LEN || !rq->nonce) {
        setf(why, whylen, "nonce must be %u bytes (from Attestation.Challenge)",
             VAULT_ATTEST_NONCE_LEN);
        return TV_ERR_INVALID;
    }
    if (rq->eph_pk_len != 32 || !rq->eph_pk) {
        setf(why, whylen, "eph_pubkey must be a 32-byte X25519 public key");
        return TV_ERR_INVALID;
    }
    if (rq->code_hash_len > VAULT_FN_CODE_HASH_MAX || (rq->code_hash_len && !rq->code_hash)) {
        setf(why, whylen, "code_hash longer than %u bytes", VAULT_FN_CODE_HASH_MAX);
        return TV_ERR_INVALID;
    }
    if (!rq->evidence || rq->evidence_len == 0 || rq->evidence_len > VAULT_ATTEST_EVIDENCE_MAX) {
        setf(why, whylen, "evidence must be 1..%u bytes", VAULT_ATTEST_EVIDENCE_MAX);
        return TV_ERR_INVALID;
    }
    if ((t = type_of(rq->evidence_type)) == SEAL_EV_UNKNOWN) {
        setf(why, whylen, "evidence_type must be sim, sgx, tdx or snp");
        return TV_ERR_INVALID;
    }
    vault_quote(qn, sizeof qn, rq->function_name ? rq->function_name : "",
                rq->function_name ? strlen(rq->function_name) : 0);
    if (!vault_fn_name_valid(rq->function_name)) {
        setf(why, whylen, "invalid function name %s", qn);
        return TV_ERR_INVALID;
    }

    /* Single use: the nonce is spent by this attempt whatever happens next. */
    if ((r = nonce_consume(a, rq->nonce)) < 0) {
        setf(why, whylen, "%s",
             r == TV_ERR_REPLAY    ? "nonce already used (replay)"
             : r == TV_ERR_EXPIRED ? "nonce expired; ask for a new challenge"
                                   : "nonce was not issued by this vault (or expired long ago)");
        return r;
    }

    if (!v->db) {
        setf(why, whylen, "the vault has no store");
        return TV_ERR_NOT_INITIALISED;
    }
    if (!(job = calloc(1, sizeof *job))) {
        setf(why, whylen, "out of memory");
        return TV_ERR_NOMEM;
    }
    if ((r = vault_db_rtxn(v->db, &txn)) < 0) {
        setf(why, whylen, "storage error: %s", tv_strerror(r));
        goto out;
    }
    r = vault_functions_get(v->db, txn, rq->function_name, &job->fi);
    mdb_txn_abort(txn);
    if (r == TV_ERR_NOT_FOUND) {
        setf(why, whylen, "no function %s is registered", qn);
        r = TV_ERR_DENIED;
        goto out;
    }
    if (r < 0) {
        setf(why, whylen, "function %s cannot be read: %s", qn, tv_strerror(r));
        goto out;
    }
    if ((r = vault_fn_policy_parse(job->fi->policy, strlen(job->fi->policy), &job->pol, why,
                                   whylen)) < 0) {
        r = TV_ERR_INTEGRITY;
        goto out;
    }
    if (job->pol.type != t) {
        setf(why, whylen, "function %s is registered for %s evidence, not %s", qn,
             seal_ev_type_name(job->pol.type), seal_ev_type_name(t));
        r = TV_ERR_POLICY;
        goto out;
    }
    if (t == SEAL_EV_SIM && !a->has_sim_pk) {
        setf(why, whylen, "this vault accepts no sim evidence (no sim platform key)");
        r = TV_ERR_POLICY;
        goto out;
    }
    if (!(job->evidence = malloc(rq->evidence_len))) {
        setf(why, whylen, "out of memory");
        r = TV_ERR_NOMEM;
        goto out;
    }
    memcpy(job->evidence, rq->evidence, rq->evidence_len);
    job->evidence_len = rq->evidence_len;
    job->t = t;
    job->has_sim_pk = a->has_sim_pk;
    memcpy(job->sim_pk, a->sim_pk, sizeof job->sim_pk);
    job->collateral = a->collateral;
    job->a = a;
    memcpy(job->nonce, rq->nonce, sizeof job->nonce);
    memcpy(job->eph_pk, rq->eph_pk, sizeof job->eph_pk);
    if (rq->code_hash_len)
        memcpy(job->code_hash, rq->code_hash, rq->code_hash_len);
    job->code_hash_len = rq->code_hash_len;
    snprintf(job->name, sizeof job->name, "%s", rq->function_name);
    memcpy(job->qn, qn, sizeof job->qn);
    job->r = TV_ERR_INTERNAL;
    *out = job;
    job = NULL;
    r = 0;
out:
    vault_attest_job_free(job);
    return r;
}

/* Copy out the vault's session key pair, making a new one when the current
 * one is older than EPH_REUSE_MS (or the clock went back). One X25519
 * base-point multiplication per window instead of per session. *expires:
 * what the pair's certificate says (unix s): its window and the tick that
 * wipes it after, rounded up. */
static int session_keypair(struct vault_attest *a, uint8_t sk[32], uint8_t pk[32], int64_t *expires)
{
    int64_t now = now_ms_of(a);
    int r = 0;

    pthread_mutex_lock(&a->eph_mu);
    if (!a->eph_born || now < a->eph_born || now - a->eph_born >= EPH_REUSE_MS) {
        randombytes_buf(a->eph, 32);
        if (crypto_scalarmult_base(a->eph + 32, a->eph) != 0) {
            sodium_memzero(a->eph, 64);
            a->eph_born = 0;
            r = TV_ERR_CRYPTO;
        } else {
            a->eph_born = now ? now : 1;
        }
    }
    if (r == 0) {
        memcpy(sk, a->eph, 32);
        memcpy(pk, a->eph + 32, 32);
        *expires = (a->eph_born + 2 * EPH_REUSE_MS + 999) / 1000;
    }
    pthread_mutex_unlock(&a->eph_mu);
    return r;
}

void vault_attest_tick(struct vault *v)
{
    struct vault_attest *a = v ? v->attest : NULL;
    if (!a)
        return;
    int64_t now = now_ms_of(a);
    pthread_mutex_lock(&a->eph_mu);
    if (a->eph_born && (now < a->eph_born || now - a->eph_born >= EPH_REUSE_MS)) {
        sodium_memzero(a->eph, 64);
        a->eph_born = 0;
    }
    pthread_mutex_unlock(&a->eph_mu);
}

int vault_attest_test_eph_live(struct vault *v)
{
    struct vault_attest *a = v ? v->attest : NULL;
    int live;
    if (!a)
        return 0;
    pthread_mutex_lock(&a->eph_mu);
    live = a->eph_born != 0;
    pthread_mutex_unlock(&a->eph_mu);
    return live;
}

void vault_attest_work(vault_attest_job *job)
{
    seal_verify_policy vp;
    seal_verdict *verdict = NULL;
    uint8_t binding[SEAL_REPORT_DATA_LEN], sk[crypto_scalarmult_SCALARBYTES];
    const char *name = job->name;
    int r = TV_ERR_INTERNAL;

    /* Evidence: signatures and chain, then the function's debug/TCB policy. */
    if (!(verdict = calloc(1, sizeof *verdict))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    vault_fn_policy_verify_policy(&job->pol, &vp);
    if (job->t == SEAL_EV_SIM) {
        r = seal_sim_verify_verdict(job->evidence, job->evidence_len, job->sim_pk, 32, &vp,
                                    verdict);
    } else {
        seal_verify_inputs in;
        memset(&in, 0, sizeof in);
        in.type = job->t;
        in.collateral = job->collateral;
        r = seal_verify_evidence(job->evidence, job->evidence_len, &in, &vp, verdict);
    }
    if (r < 0) {
        setf(job->why, sizeof job->why, "evidence refused: %s",
             verdict->reason[0] ? verdict->reason : tv_strerror(r));
        goto out;
    }
    if (verdict->type != job->t) {
        setf(job->why, sizeof job->why, "evidence is not of type %s", seal_ev_type_name(job->t));
        r = TV_ERR_FORMAT;
        goto out;
    }

    /* Binding: nonce, name, code hash and the key the value will be sealed to. */
    seal_attest_binding(job->nonce, name, strlen(name), job->code_hash, job->code_hash_len,
                        job->eph_pk, binding);
    if (!(verdict->claims.present & SEAL_CLAIM_REPORT_DATA) ||
        sodium_memcmp(verdict->claims.report_data, binding, sizeof binding) != 0) {
        setf(job->why, sizeof job->why,
             "evidence report_data is not bound to this nonce, function, code hash and key");
        r = TV_ERR_INTEGRITY;
        goto out;
    }

    if ((r = vault_fn_policy_match(&job->pol, verdict, job->code_hash, job->code_hash_len, job->why,
                                   sizeof job->why)) < 0)
        goto out;

    /* The vault's current session key pair (a copy of sk, wiped below);
     * only the derived key is kept. */
    if ((r = session_keypair(job->a, sk, job->session_pk, &job->session_key_expires)) < 0)
        goto out;
    if ((r = seal_fn_session_key(job->key, job->mac_key, sk, job->eph_pk, job->eph_pk,
                                 job->session_pk)) < 0) {
        setf(job->why, sizeof job->why, "%s",
             r == TV_ERR_INVALID ? "eph_pubkey is a low-order X25519 point (no shared key)"
                                 : tv_strerror(r));
        goto out;
    }
    r = 0;
out:
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(binding, sizeof binding);
    free(verdict);
    job->r = r;
}

void vault_attest_job_reply_key(const vault_attest_job *job, uint8_t mac_key[32],
                                int64_t *session_key_expires)
{
    memcpy(mac_key, job->mac_key, 32);
    *session_key_expires = job->session_key_expires;
}

int vault_attest_finish(struct vault *v, vault_attest_job *job, char token[VAULT_ATTEST_TOKEN_BUF],
                        uint8_t session_pk[32], int64_t *expires_at, char *why, size_t whylen)
{
    struct vault_attest *a;
    int r = job->r;

    if (why && whylen)
        why[0] = 0;
    if (r < 0) {
        setf(why, whylen, "%s", job->why[0] ? job->why : tv_strerror(r));
        goto out;
    }
    if ((r = get_state(v, &a)) < 0) {
        setf(why, whylen, "attestation state unavailable: %s", tv_strerror(r));
        goto out;
    }
    if ((r = session_insert(a, job->fi->name, job->key, job->fi->acl_policies,
                            job->fi->n_acl_policies, token, NULL, expires_at)) < 0) {
        setf(why, whylen, "%s",
             r == TV_ERR_RESOURCE ? "too many live function sessions (attestation.max_sessions); "
                                    "retry when sessions expire"
                                  : tv_strerror(r));
        goto out;
    }
    memcpy(session_pk, job->session_pk, 32);
    r = 0;
out:
    vault_attest_job_free(job);
    return r;
}

int vault_attest_attest(struct vault *v, const vault_attest_req *rq,
                        char token[VAULT_ATTEST_TOKEN_BUF], uint8_t session_pk[32],
                        int64_t *expires_at, char *why, size_t whylen)
{
    vault_attest_job *job = NULL;
    int r;

    if (!rq || !token || !session_pk || !expires_at) {
        if (why && whylen)
            why[0] = 0;
        return TV_ERR_INVALID;
    }
    if ((r = vault_attest_begin(v, rq, &job, why, whylen)) < 0)
        return r;
    vault_attest_work(job);
    return vault_attest_finish(v, job, token, session_pk, expires_at, why, whylen);
}

/* ---------------------------------------------------------------- Report */

/* Hash the verified payloads (vault_record) of table t: the hash names the
 * policies' content, not when they were written. */
static int hash_db(vault_db *db, MDB_txn *txn, enum vault_tbl t, uint8_t tag,
                   crypto_hash_sha256_state *st)
{
    MDB_cursor *cur = NULL;
    MDB_val k, sd, d;
    uint8_t l[4];
    int rc, r = 0;

    if ((r = vault_db_err(mdb_cursor_open(txn, vault_record_dbi(db, t), &cur))) < 0)
        return r;
    crypto_hash_sha256_update(st, &tag, 1);
    for (rc = mdb_cursor_get(cur, &k, &sd, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &sd, MDB_NEXT)) {
        if ((r = vault_record_open(db, t, k.mv_data, k.mv_size, &sd, &d, NULL)) < 0)
            break;
        proto_put_be32(l, (uint32_t)k.mv_size);
        crypto_hash_sha256_update(st, l, 4);
        crypto_hash_sha256_update(st, k.mv_data, k.mv_size);
        proto_put_be32(l, (uint32_t)d.mv_size);
        crypto_hash_sha256_update(st, l, 4);
        crypto_hash_sha256_update(st, d.mv_data, d.mv_size);
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : vault_db_err(rc);
}

void vault_attest_policy_changed(struct vault *v)
{
    if (v && v->attest)
        atomic_fetch_add(&v->attest->policy_gen, 1);
}

int vault_attest_policy_hash(struct vault *v, uint8_t out[32])
{
    static const char dom[] = "teevault-policy-hash-v1";
    crypto_hash_sha256_state st;
    MDB_txn *txn = NULL;
    struct vault_attest *a = v ? v->attest : NULL;
    uint64_t gen = 0;
    int r;

    if (!v || !v->db)
        return TV_ERR_NOT_INITIALISED;
    if (a) {
        /* The generation is read BEFORE the transaction: a write committed
         * after this point bumps it again, so a hash computed from older
         * data is never filed under the newer generation. */
        gen = atomic_load(&a->policy_gen);
        pthread_mutex_lock(&a->cache_mu);
        if (a->cached_valid && a->cached_gen == gen) {
            memcpy(out, a->cached_hash, 32);
            pthread_mutex_unlock(&a->cache_mu);
            return 0;
        }
        pthread_mutex_unlock(&a->cache_mu);
    }
    if ((r = vault_db_rtxn(v->db, &txn)) < 0)
        return r;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom);
    if ((r = hash_db(v->db, txn, VAULT_TBL_POLICIES, 'P', &st)) < 0 ||
        (r = hash_db(v->db, txn, VAULT_TBL_FUNCTIONS, 'F', &st)) < 0)
        goto out;
    crypto_hash_sha256_final(&st, out);
    if (a) {
        pthread_mutex_lock(&a->cache_mu);
        memcpy(a->cached_hash, out, 32);
        a->cached_gen = gen;
        a->cached_valid = 1;
        pthread_mutex_unlock(&a->cache_mu);
    }
    r = 0;
out:
    mdb_txn_abort(txn);
    return r;
}

int vault_attest_reload_collateral(struct vault *v, const char *path)
{
    struct vault_attest *a = v->attest;
    seal_collateral *c = NULL;
    int r;

    if (!a || !path)
        return 0;
    if (a->n_old_collateral == sizeof(a->old_collateral) / sizeof(a->old_collateral[0]))
        return TV_ERR_RESOURCE;
    if ((r = seal_collateral_load(path, &c)) < 0)
        return r;
    if (a->collateral)
        a->old_collateral[a->n_old_collateral++] = a->collateral;
    a->collateral = c;
    return 0;
}
