/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_auth: users (Argon2id), tokens (random, stored as hashes), login
 * back-off, and resolving a bearer token into a principal. See vault_auth.h.
 */
#include "vault_auth.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <argon2.h>
#include <sodium.h>

#include "vault_acl.h"
#include "vault_db.h"
#include "vault_record.h"

#define TOKEN_RAW_LEN  32
#define TOKEN_B64_LEN  43
#define TOKEN_FORMAT   2 /* 2 adds the parent token id */
#define USER_FORMAT    1
#define SALT_LEN       16
#define HASH_LEN       32
#define ENCODED_MAX    256
#define POLICIES_MAX   VAULT_ACL_POLICY_MAX
#define BACKOFF_SLOTS  1024
#define BACKOFF_FORGET (15 * 60 * 1000) /* ms without failure before a slot is forgotten */

static vault_auth_params g_params = {
    .argon2_t = 3,
    .argon2_m_kib = 64 * 1024,
    .argon2_p = 1,
    .default_ttl = 24 * 3600,
    .max_ttl = 30 * 24 * 3600,
    .backoff_base_ms = 250,
    .backoff_max_ms = 30000,
    .login_rate = 2,
    .login_burst = 5,
};

void vault_auth_params_default(vault_auth_params *p)
{
    p->argon2_t = 3;
    p->argon2_m_kib = 64 * 1024;
    p->argon2_p = 1;
    p->default_ttl = 24 * 3600;
    p->max_ttl = 30 * 24 * 3600;
    p->backoff_base_ms = 250;
    p->backoff_max_ms = 30000;
    p->login_rate = 2;
    p->login_burst = 5;
}

/* Dummy hash for unknown users, so "no such user" costs the same Argon2id
 * work as a wrong password. Regenerated when the parameters change. */
static char g_dummy_hash[ENCODED_MAX];

/* Global budget for password verifications (token bucket in milli-tokens). */
static int64_t g_bucket_milli = -1; /* -1: full, set on first use */
static int64_t g_bucket_last_ms;

int vault_auth_configure(const vault_auth_params *p)
{
    vault_auth_params d;
    if (!p) {
        vault_auth_params_default(&d);
        p = &d;
    }
    if (p->argon2_t < 1 || p->argon2_p < 1 || p->argon2_p > 16 ||
        p->argon2_m_kib < 8 * p->argon2_p || p->argon2_m_kib > 4u * 1024 * 1024 ||
        p->default_ttl <= 0 || p->max_ttl < p->default_ttl ||
        p->backoff_max_ms < p->backoff_base_ms)
        return TV_ERR_INVALID;
    g_params = *p;
    g_dummy_hash[0] = '\0';
    g_bucket_milli = -1;
    return 0;
}

/* ---------------------------------------------------------------- small helpers */

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int strv_dup(char *const *src, size_t n, char ***out)
{
    char **v = NULL;
    if (n) {
        if (!(v = calloc(n, sizeof(*v))))
            return TV_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            if (!(v[i] = strdup(src[i]))) {
                strv_free(v, i);
                return TV_ERR_NOMEM;
            }
        }
    }
    *out = v;
    return 0;
}

void vault_token_info_clear(vault_token_info *info)
{
    strv_free(info->policies, info->n_policies);
    memset(info, 0, sizeof(*info));
}

void vault_user_info_clear(vault_user_info *info)
{
    strv_free(info->policies, info->n_policies);
    memset(info, 0, sizeof(*info));
}

void vault_principal_clear(vault_principal *p)
{
    strv_free(p->policies, p->n_policies);
    sodium_memzero(p, sizeof(*p));
}

static int name_chars_ok(const char *name, size_t max, const char *extra)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > max || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr(extra, ch)))
            return 0;
    }
    return 1;
}

int vault_auth_user_name_valid(const char *name)
{
    return name_chars_ok(name, VAULT_USER_NAME_MAX, "._@-");
}

static int display_valid(const char *s)
{
    size_t n = strlen(s);
    if (n > VAULT_DISPLAY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int policies_valid(char *const *policies, size_t n)
{
    if (n > POLICIES_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!vault_acl_name_valid(policies[i]))
            return 0;
    return 1;
}

static int id_valid(const char *id)
{
    if (!id || strlen(id) != VAULT_TOKEN_ID_LEN)
        return 0;
    for (size_t i = 0; i < VAULT_TOKEN_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

/* Domain-separated SHA-256 of the raw token. */
static void token_hash(const char *domain, const uint8_t raw[TOKEN_RAW_LEN], uint8_t out[32])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_hash_sha256_update(&st, raw, TOKEN_RAW_LEN);
    crypto_hash_sha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

static void token_id(const uint8_t raw[TOKEN_RAW_LEN], char id[VAULT_TOKEN_ID_LEN + 1])
{
    uint8_t h[32];
    token_hash("teevault-token-id-v1", raw, h);
    sodium_bin2hex(id, VAULT_TOKEN_ID_LEN + 1, h, VAULT_TOKEN_ID_LEN / 2);
}

/* Parse "tvs." + base64url into raw. 0 or TV_ERR_UNAUTHENTICATED. */
static int token_parse(const char *token, size_t len, uint8_t raw[TOKEN_RAW_LEN])
{
    size_t plen = strlen(VAULT_TOKEN_PREFIX), bin_len = 0;
    if (len != VAULT_TOKEN_STR_LEN || memcmp(token, VAULT_TOKEN_PREFIX, plen) != 0)
        return TV_ERR_UNAUTHENTICATED;
    if (sodium_base642bin(raw, TOKEN_RAW_LEN, token + plen, len - plen, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bin_len != TOKEN_RAW_LEN)
        return TV_ERR_UNAUTHENTICATED;
    return 0;
}

/* Run f(v, txn, ...) in the caller's txn, or in an own write txn committed here. */
static int own_wtxn(struct vault *v, MDB_txn **txn, bool *own)
{
    *own = false;
    if (!v || !v->db)
        return TV_ERR_NOT_INITIALISED;
    if (*txn)
        return 0;
    int r = vault_db_wtxn(v->db, txn);
    if (r == 0)
        *own = true;
    return r;
}

static int own_rtxn(struct vault *v, MDB_txn **txn, bool *own)
{
    *own = false;
    if (!v || !v->db)
        return TV_ERR_NOT_INITIALISED;
    if (*txn)
        return 0;
    int r = vault_db_rtxn(v->db, txn);
    if (r == 0)
        *own = true;
    return r;
}

/* Finish an own transaction: commit on success, abort on failure. */
static int own_finish(MDB_txn *txn, bool own, int r)
{
    if (!own)
        return r;
    if (r < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    return vault_db_commit(txn);
}

/* ---------------------------------------------------------------- resolve cache */

/*
 * Successful resolves of operator tokens, so a client that sends the same
 * token on every request pays neither the base64 decode, the two SHA-256s,
 * the LMDB read nor the record decode again. What resolve returns depends
 * only on the token's record in the "tokens" DB, so every write that can
 * remove or change a record there (revoke, tidy, user delete) calls
 * vault_auth_cache_invalidate() before writing: it bumps a global generation
 * and the next resolve drops every entry. Creating a token does not
 * invalidate: it only adds a key (MDB_NOOVERWRITE) no cached entry can carry.
 *
 * Entries are filled only from committed state (a read transaction) and
 * only when no invalidation happened during that read; writes to "tokens"
 * commit on the event-loop thread, which is also the only thread resolving,
 * so no resolve can run between a write and its commit.
 *
 * Layout: 256 sets of CACHE_WAYS entries, LRU within a set. The set
 * is SipHash-2-4 (crypto_shorthash) of the presented token under a random
 * key made on first use; inside the set the token is compared with
 * sodium_memcmp (constant time) against each entry. The token bytes and the
 * SipHash key live in sodium_malloc memory and are wiped on eviction,
 * invalidation and vault_auth_cache_free(); the rest of an entry (principal:
 * token id, user, policy names; expiry) is not secret.
 *
 * Environments: an entry is tagged with the LMDB environment it came from
 * (a number stored as the environment's user context, mdb_env_set_userctx),
 * so a vault closed and another opened (even at the same addresses) never
 * sees the first one's entries.
 */
#define CACHE_WAYS  4
#define CACHE_SLOTS VAULT_AUTH_CACHE_MAX

typedef struct cache_entry {
    int used;
    uint64_t inst;      /* environment tag */
    uint64_t last;      /* LRU tick */
    int64_t expires_at; /* the token's; 0 = never */
    vault_principal p;  /* owned copy (policies on the heap) */
} cache_entry;

typedef struct cache_secret {
    uint8_t key[crypto_shorthash_KEYBYTES];
    uint8_t tok[CACHE_SLOTS][VAULT_TOKEN_STR_LEN];
} cache_secret;

static cache_entry g_cache[CACHE_SLOTS];
static cache_secret *g_cache_sec; /* sodium_malloc; NULL until first use */
static size_t g_cache_used;
static uint64_t g_cache_tick;
static uint64_t g_cache_seen_gen;
static _Atomic uint64_t g_cache_gen;
static uint64_t g_cache_inst_seq;
static uint64_t g_cache_hits, g_cache_misses;

void vault_auth_cache_invalidate(struct vault *v)
{
    (void)v;
    atomic_fetch_add(&g_cache_gen, 1);
}

static void cache_wipe(size_t i)
{
    cache_entry *e = &g_cache[i];
    if (!e->used)
        return;
    vault_principal_clear(&e->p);
    sodium_memzero(g_cache_sec->tok[i], VAULT_TOKEN_STR_LEN);
    memset(e, 0, sizeof(*e));
    g_cache_used--;
}

static void cache_wipe_all(void)
{
    for (size_t i = 0; g_cache_sec && g_cache_used && i < CACHE_SLOTS; i++)
        if (g_cache[i].used)
            cache_wipe(i);
}

void vault_auth_cache_free(void)
{
    if (!g_cache_sec)
        return;
    cache_wipe_all();
    sodium_free(g_cache_sec); /* wipes the key and the token area */
    g_cache_sec = NULL;
}

static void cache_free_at_exit(void)
{
    vault_auth_cache_free();
}

void vault_auth_cache_stats(uint64_t *hits, uint64_t *misses, size_t *entries)
{
    if (hits)
        *hits = g_cache_hits;
    if (misses)
        *misses = g_cache_misses;
    if (entries)
        *entries = g_cache_used;
}

/* Make the secret area on first use. 0 when the cache can be used. */
static int cache_ready(void)
{
    static int exit_hook;
    if (g_cache_sec)
        return 0;
    if (!(g_cache_sec = sodium_malloc(sizeof(*g_cache_sec))))
        return TV_ERR_NOMEM; /* resolve works without the cache */
    sodium_memzero(g_cache_sec, sizeof(*g_cache_sec));
    crypto_shorthash_keygen(g_cache_sec->key);
    if (!exit_hook)
        exit_hook = atexit(cache_free_at_exit) == 0;
    return 0;
}

/* The environment's tag (0: do not cache). A new environment gets a fresh
 * tag, and entries of earlier ones are dropped. */
static uint64_t cache_instance(struct vault *v)
{
    void *ctx = mdb_env_get_userctx(v->db->env);
    if (!ctx) {
        ctx = (void *)(uintptr_t)++g_cache_inst_seq;
        if (mdb_env_set_userctx(v->db->env, ctx) != 0)
            return 0;
        vault_auth_cache_invalidate(v);
    }
    return (uint64_t)(uintptr_t)ctx;
}

/* Drop everything if a write happened since the last look. */
static void cache_sync(void)
{
    uint64_t gen = atomic_load(&g_cache_gen);
    if (gen == g_cache_seen_gen)
        return;
    cache_wipe_all();
    g_cache_seen_gen = gen;
}

static size_t cache_set(const char *token)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t x = 0;
    crypto_shorthash(h, (const uint8_t *)token, VAULT_TOKEN_STR_LEN, g_cache_sec->key);
    for (size_t i = 0; i < sizeof(h); i++)
        x = (x << 8) | h[i];
    return (size_t)(x % (CACHE_SLOTS / CACHE_WAYS));
}

/* 1 and *out on a hit, 0 on a miss, TV_ERR_UNAUTHENTICATED when the cached
 * token has expired (entry dropped), TV_ERR_NOMEM. token is
 * VAULT_TOKEN_STR_LEN bytes. */
static int cache_lookup(uint64_t inst, size_t set, const char *token, int64_t now,
                        vault_principal *out)
{
    for (size_t w = 0; w < CACHE_WAYS; w++) {
        size_t i = set * CACHE_WAYS + w;
        cache_entry *e = &g_cache[i];
        if (!e->used || e->inst != inst ||
            sodium_memcmp(g_cache_sec->tok[i], token, VAULT_TOKEN_STR_LEN) != 0)
            continue;
        if (e->expires_at && now >= e->expires_at) {
            cache_wipe(i);
            return TV_ERR_UNAUTHENTICATED;
        }
        vault_principal p = e->p;
        p.policies = NULL;
        if (strv_dup(e->p.policies, e->p.n_policies, &p.policies) < 0) {
            sodium_memzero(&p, sizeof(p));
            return TV_ERR_NOMEM;
        }
        e->last = ++g_cache_tick;
        *out = p;
        return 1;
    }
    return 0;
}

/* Remember a successful resolve (best effort: nothing on NOMEM). */
static void cache_insert(uint64_t inst, size_t set, const char *token, int64_t expires_at,
                         const vault_principal *p)
{
    size_t victim = set * CACHE_WAYS;
    for (size_t w = 0; w < CACHE_WAYS; w++) {
        size_t i = set * CACHE_WAYS + w;
        if (!g_cache[i].used) {
            victim = i;
            break;
        }
        if (g_cache[i].last < g_cache[victim].last)
            victim = i;
    }
    cache_wipe(victim);
    cache_entry *e = &g_cache[victim];
    e->p = *p;
    e->p.policies = NULL;
    if (strv_dup(p->policies, p->n_policies, &e->p.policies) < 0) {
        memset(e, 0, sizeof(*e));
        return;
    }
    memcpy(g_cache_sec->tok[victim], token, VAULT_TOKEN_STR_LEN);
    e->inst = inst;
    e->expires_at = expires_at;
    e->last = ++g_cache_tick;
    e->used = 1;
    g_cache_used++;
}

/* ---------------------------------------------------------------- records */

static int put_str(proto_buf *b, const char *s)
{
    return proto_buf_put_lv(b, s, strlen(s));
}

static int put_strv(proto_buf *b, char *const *v, size_t n)
{
    int r;
    if ((r = proto_buf_put_u32(b, (uint32_t)n)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if ((r = put_str(b, v[i])) < 0)
            return r;
    return 0;
}

/* Read a length-delimited string into dst (size dstlen), NUL-terminated. */
static int get_str(proto_buf *b, char *dst, size_t dstlen)
{
    const uint8_t *p;
    size_t n;
    int r;
    if ((r = proto_buf_get_lv(b, &p, &n)) < 0)
        return TV_ERR_FORMAT;
    if (n >= dstlen || memchr(p, '\0', n))
        return TV_ERR_FORMAT;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

static int get_strv(proto_buf *b, char ***out, size_t *n_out)
{
    uint32_t n;
    char **v = NULL;
    size_t i = 0;
    int r = TV_ERR_FORMAT;
    if (proto_buf_get_u32(b, &n) < 0 || n > POLICIES_MAX)
        return TV_ERR_FORMAT;
    if (n && !(v = calloc(n, sizeof(*v))))
        return TV_ERR_NOMEM;
    for (; i < n; i++) {
        char tmp[VAULT_ACL_NAME_MAX + 1];
        if ((r = get_str(b, tmp, sizeof(tmp))) < 0)
            goto out;
        if (!(v[i] = strdup(tmp))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
    }
    *out = v;
    *n_out = n;
    return 0;
out:
    strv_free(v, i);
    return r;
}

/* Token record: u8 format | hash[32] | u64 created | u64 expires | u8 root |
 * lv user | lv display | u32 n | lv policy... | lv parent (format 2: the id
 * of the token that created it, "" for root, login and orphan tokens) */
static int token_encode(proto_buf *b, const uint8_t hash[32], const vault_token_info *ti)
{
    int r;
    if ((r = proto_buf_put_u8(b, TOKEN_FORMAT)) < 0 || (r = proto_buf_put(b, hash, 32)) < 0 ||
        (r = proto_buf_put_u64(b, (uint64_t)ti->created_at)) < 0 ||
        (r = proto_buf_put_u64(b, (uint64_t)ti->expires_at)) < 0 ||
        (r = proto_buf_put_u8(b, ti->root ? 1 : 0)) < 0 || (r = put_str(b, ti->user)) < 0 ||
        (r = put_str(b, ti->display_name)) < 0 ||
        (r = put_strv(b, ti->policies, ti->n_policies)) < 0 || (r = put_str(b, ti->parent)) < 0)
        return r;
    return 0;
}

/* Verify (vault_record) and decode the stored token record under id. */
static int token_decode(vault_db *db, const MDB_val *stored, const char *id, uint8_t hash[32],
                        vault_token_info *out)
{
    proto_buf b;
    uint8_t fmt, root;
    uint64_t created, expires;
    vault_token_info ti;
    MDB_val pl;
    int r;
    memset(&ti, 0, sizeof(ti));
    if ((r = vault_record_open(db, VAULT_TBL_TOKENS, id, VAULT_TOKEN_ID_LEN, stored, &pl, NULL)) <
        0)
        return r;
    proto_buf_wrap(&b, pl.mv_data, pl.mv_size);
    if (proto_buf_get_u8(&b, &fmt) < 0 || fmt != TOKEN_FORMAT)
        return TV_ERR_FORMAT;
    if (proto_buf_get(&b, hash, 32) < 0 || proto_buf_get_u64(&b, &created) < 0 ||
        proto_buf_get_u64(&b, &expires) < 0 || proto_buf_get_u8(&b, &root) < 0)
        return TV_ERR_FORMAT;
    if ((r = get_str(&b, ti.user, sizeof(ti.user))) < 0 ||
        (r = get_str(&b, ti.display_name, sizeof(ti.display_name))) < 0 ||
        (r = get_strv(&b, &ti.policies, &ti.n_policies)) < 0)
        return r;
    if (get_str(&b, ti.parent, sizeof(ti.parent)) < 0 || (ti.parent[0] && !id_valid(ti.parent)) ||
        proto_buf_avail(&b) != 0) {
        vault_token_info_clear(&ti);
        return TV_ERR_FORMAT;
    }
    snprintf(ti.id, sizeof(ti.id), "%s", id);
    ti.created_at = (int64_t)created;
    ti.expires_at = (int64_t)expires;
    ti.root = root ? 1 : 0;
    *out = ti;
    return 0;
}

/* User record: u8 format | u64 created | lv encoded hash | u32 n | lv policy... */
static int user_encode(proto_buf *b, const char *encoded, const vault_user_info *ui)
{
    int r;
    if ((r = proto_buf_put_u8(b, USER_FORMAT)) < 0 ||
        (r = proto_buf_put_u64(b, (uint64_t)ui->created_at)) < 0 || (r = put_str(b, encoded)) < 0 ||
        (r = put_strv(b, ui->policies, ui->n_policies)) < 0)
        return r;
    return 0;
}

/* Decode; encoded (may be NULL) receives the password hash. */
static int user_decode(vault_db *db, const MDB_val *key, const MDB_val *stored, char *encoded,
                       size_t enclen, vault_user_info *out)
{
    proto_buf b;
    uint8_t fmt;
    uint64_t created;
    vault_user_info ui;
    char enc[ENCODED_MAX];
    MDB_val pl;
    int r;
    memset(&ui, 0, sizeof(ui));
    if (key->mv_size == 0 || key->mv_size > VAULT_USER_NAME_MAX)
        return TV_ERR_FORMAT;
    if ((r = vault_record_open(db, VAULT_TBL_USERS, key->mv_data, key->mv_size, stored, &pl,
                               NULL)) < 0)
        return r;
    memcpy(ui.name, key->mv_data, key->mv_size);
    ui.name[key->mv_size] = '\0';
    proto_buf_wrap(&b, pl.mv_data, pl.mv_size);
    if (proto_buf_get_u8(&b, &fmt) < 0 || fmt != USER_FORMAT || proto_buf_get_u64(&b, &created) < 0)
        return TV_ERR_FORMAT;
    if ((r = get_str(&b, enc, sizeof(enc))) < 0 ||
        (r = get_strv(&b, &ui.policies, &ui.n_policies)) < 0)
        return r;
    if (proto_buf_avail(&b) != 0) {
        vault_user_info_clear(&ui);
        return TV_ERR_FORMAT;
    }
    ui.created_at = (int64_t)created;
    if (encoded)
        snprintf(encoded, enclen, "%s", enc);
    *out = ui;
    return 0;
}

/* ---------------------------------------------------------------- tokens */

int vault_auth_token_create(struct vault *v, MDB_txn *txn, const char *user, const char *display,
                            char *const *policies, size_t n_policies, int64_t ttl, int root,
                            int64_t now, char *out, size_t outlen, vault_token_info *info)
{
    return vault_auth_token_create_child(v, txn, NULL, user, display, policies, n_policies, ttl,
                                         root, now, out, outlen, info);
}

int vault_auth_token_create_child(struct vault *v, MDB_txn *txn, const char *parent,
                                  const char *user, const char *display, char *const *policies,
                                  size_t n_policies, int64_t ttl, int root, int64_t now, char *out,
                                  size_t outlen, vault_token_info *info)
{
    int r = TV_ERR_INTERNAL;
    bool own = false;
    uint8_t raw[TOKEN_RAW_LEN], hash[32];
    char tok[VAULT_TOKEN_BUF];
    vault_token_info ti;
    proto_buf rec;

    memset(&ti, 0, sizeof(ti));
    proto_buf_init(&rec, 0);
    if (!out || outlen < VAULT_TOKEN_BUF)
        return TV_ERR_INVALID;
    if (!user)
        user = "";
    if (!display)
        display = "";
    if (!parent)
        parent = "";
    if ((parent[0] && !id_valid(parent)) || (user[0] && !vault_auth_user_name_valid(user)) ||
        !display_valid(display) || !policies_valid(policies, n_policies) || ttl < 0)
        return TV_ERR_INVALID;
    if ((r = own_wtxn(v, &txn, &own)) < 0)
        return r;

    snprintf(ti.user, sizeof(ti.user), "%s", user);
    snprintf(ti.display_name, sizeof(ti.display_name), "%s", display);
    snprintf(ti.parent, sizeof(ti.parent), "%s", parent);
    if ((r = strv_dup(policies, n_policies, &ti.policies)) < 0)
        goto out;
    ti.n_policies = n_policies;
    ti.created_at = now;
    ti.root = root ? 1 : 0;
    if (!root) {
        if (ttl == 0)
            ttl = g_params.default_ttl;
        if (ttl > g_params.max_ttl)
            ttl = g_params.max_ttl;
        ti.expires_at = now + ttl;
    }
    /* A 64-bit id collision is practically impossible; retry a few times anyway. */
    for (int attempt = 0;; attempt++) {
        randombytes_buf(raw, sizeof(raw));
        token_id(raw, ti.id);
        token_hash("teevault-token-v1", raw, hash);
        proto_buf_reset(&rec);
        if ((r = token_encode(&rec, hash, &ti)) < 0)
            goto out;
        r = vault_record_put(v->db, txn, VAULT_TBL_TOKENS, ti.id, VAULT_TOKEN_ID_LEN, rec.d,
                             rec.len, MDB_NOOVERWRITE);
        if (r == TV_ERR_EXISTS && attempt < 3)
            continue;
        if (r < 0)
            goto out;
        break;
    }
    memcpy(tok, VAULT_TOKEN_PREFIX, strlen(VAULT_TOKEN_PREFIX));
    sodium_bin2base64(tok + strlen(VAULT_TOKEN_PREFIX), sizeof(tok) - strlen(VAULT_TOKEN_PREFIX),
                      raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (strlen(tok) != VAULT_TOKEN_STR_LEN) {
        r = TV_ERR_INTERNAL;
        goto out;
    }
    r = 0;
out:
    r = own_finish(txn, own, r);
    if (r == 0) {
        memcpy(out, tok, VAULT_TOKEN_STR_LEN + 1);
        if (info) {
            *info = ti;
            memset(&ti, 0, sizeof(ti));
        }
    }
    vault_token_info_clear(&ti);
    proto_buf_free(&rec);
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(tok, sizeof(tok));
    return r;
}

int vault_auth_create_root_token(struct vault *v, MDB_txn *txn, char *out, size_t outlen,
                                 vault_token_info *info)
{
    return vault_auth_token_create(v, txn, NULL, "root", NULL, 0, 0, 1, (int64_t)time(NULL), out,
                                   outlen, info);
}

int vault_auth_token_lookup(struct vault *v, MDB_txn *txn, const char *id, int64_t now,
                            vault_token_info *info)
{
    int r;
    bool own = false;
    uint8_t hash[32];
    vault_token_info ti;
    if (!id_valid(id))
        return TV_ERR_INVALID;
    if ((r = own_rtxn(v, &txn, &own)) < 0)
        return r;
    MDB_val k = {.mv_size = VAULT_TOKEN_ID_LEN, .mv_data = (void *)(uintptr_t)id}, dv;
    if ((r = vault_db_err(mdb_get(txn, v->db->tokens, &k, &dv))) < 0)
        goto out;
    if ((r = token_decode(v->db, &dv, id, hash, &ti)) < 0)
        goto out;
    if (ti.expires_at && now >= ti.expires_at) {
        vault_token_info_clear(&ti);
        r = TV_ERR_NOT_FOUND;
        goto out;
    }
    *info = ti;
    r = 0;
out:
    if (own)
        mdb_txn_abort(txn);
    return r;
}

/* Ids deleted by one sweep: their children go next. */
typedef struct idset {
    char (*ids)[VAULT_TOKEN_ID_LEN + 1];
    size_t n, cap;
} idset;

static int idset_has(const idset *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return 1;
    return 0;
}

static int idset_add(idset *s, const char *id)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        void *p = realloc(s->ids, nc * sizeof(*s->ids));
        if (!p)
            return TV_ERR_NOMEM;
        s->ids = p;
        s->cap = nc;
    }
    snprintf(s->ids[s->n++], VAULT_TOKEN_ID_LEN + 1, "%s", id);
    return 0;
}

/* Delete the tokens that match: expired before `now` (when now > 0), owned
 * by `user` (non-NULL), or with id `id` (non-NULL); then, pass after pass,
 * every token whose parent was deleted, so a subtree never outlives its
 * root. *removed (may be NULL) gets the count. */
static int tokens_sweep(struct vault *v, MDB_txn *txn, int64_t now, const char *user,
                        const char *only_id, size_t *removed)
{
    MDB_cursor *cur = NULL;
    MDB_val k, dv;
    idset gone = {0};
    size_t n = 0, before;
    int r, rc, pass = 0;
    if ((r = vault_db_err(mdb_cursor_open(txn, v->db->tokens, &cur))) < 0)
        return r;
    do {
        before = gone.n;
        for (rc = mdb_cursor_get(cur, &k, &dv, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &dv, MDB_NEXT)) {
            char id[VAULT_TOKEN_ID_LEN + 1];
            uint8_t hash[32];
            vault_token_info ti;
            bool del;
            if (k.mv_size != VAULT_TOKEN_ID_LEN)
                continue;
            memcpy(id, k.mv_data, VAULT_TOKEN_ID_LEN);
            id[VAULT_TOKEN_ID_LEN] = '\0';
            if (token_decode(v->db, &dv, id, hash, &ti) < 0)
                continue; /* leave unreadable records for an operator to inspect */
            if (pass == 0)
                del = (now > 0 && ti.expires_at && now >= ti.expires_at) ||
                      (user && strcmp(ti.user, user) == 0) || (only_id && strcmp(id, only_id) == 0);
            else
                del = ti.parent[0] && idset_has(&gone, ti.parent);
            vault_token_info_clear(&ti);
            if (del) {
                vault_auth_cache_invalidate(v);
                if ((r = vault_db_err(mdb_cursor_del(cur, 0))) < 0 ||
                    (r = idset_add(&gone, id)) < 0)
                    goto out;
                n++;
            }
        }
        if (rc != MDB_NOTFOUND) {
            r = vault_db_err(rc);
            goto out;
        }
        pass++;
    } while (gone.n > before);
    if (removed)
        *removed = n;
    r = 0;
out:
    free(gone.ids);
    mdb_cursor_close(cur);
    return r;
}

int vault_auth_token_revoke_tree(struct vault *v, MDB_txn *txn, const char *id, size_t *revoked)
{
    int r;
    bool own = false;
    size_t n = 0;
    if (!id_valid(id))
        return TV_ERR_INVALID;
    if ((r = own_wtxn(v, &txn, &own)) < 0)
        return r;
    MDB_val k = {.mv_size = VAULT_TOKEN_ID_LEN, .mv_data = (void *)(uintptr_t)id}, dv;
    if ((r = vault_db_err(mdb_get(txn, v->db->tokens, &k, &dv))) < 0)
        goto out;
    vault_auth_cache_invalidate(v);
    if ((r = tokens_sweep(v, txn, 0, NULL, id, &n)) < 0)
        goto out;
    if (revoked)
        *revoked = n;
out:
    return own_finish(txn, own, r);
}

int vault_auth_token_revoke(struct vault *v, MDB_txn *txn, const char *id)
{
    return vault_auth_token_revoke_tree(v, txn, id, NULL);
}

int vault_auth_tidy(struct vault *v, int64_t now, size_t *removed)
{
    MDB_txn *txn = NULL;
    bool own;
    int r;
    if ((r = own_wtxn(v, &txn, &own)) < 0)
        return r;
    r = tokens_sweep(v, txn, now, NULL, NULL, removed);
    return own_finish(txn, own, r);
}

int vault_auth_principal_from_token(const vault_token_info *info, vault_principal *out)
{
    vault_principal p;
    int r;
    memset(&p, 0, sizeof(p));
    p.kind = VAULT_PRINCIPAL_OPERATOR;
    snprintf(p.id, sizeof(p.id), "%s", info->id);
    snprintf(p.user, sizeof(p.user), "%s", info->user);
    p.root = info->root;
    if ((r = strv_dup(info->policies, info->n_policies, &p.policies)) < 0)
        return r;
    p.n_policies = info->n_policies;
    *out = p;
    return 0;
}

int vault_auth_principal_from_user(const vault_user_info *info, vault_principal *out)
{
    vault_principal p;
    int r;
    memset(&p, 0, sizeof(p));
    p.kind = VAULT_PRINCIPAL_OPERATOR;
    snprintf(p.user, sizeof(p.user), "%s", info->name);
    if ((r = strv_dup(info->policies, info->n_policies, &p.policies)) < 0)
        return r;
    p.n_policies = info->n_policies;
    *out = p;
    return 0;
}

int vault_auth_resolve_at(struct vault *v, const char *token, size_t token_len, int64_t now,
                          vault_principal *out)
{
    int r = TV_ERR_INTERNAL;
    uint8_t raw[TOKEN_RAW_LEN], hash[32], want[32];
    char id[VAULT_TOKEN_ID_LEN + 1];
    MDB_txn *txn = NULL;
    vault_token_info ti;
    memset(&ti, 0, sizeof(ti));

    uint64_t inst = 0, gen0 = 0;
    size_t set = 0;

    if (!v || !v->db)
        return TV_ERR_NOT_INITIALISED;
    if (!token || !out || token_len != VAULT_TOKEN_STR_LEN)
        return TV_ERR_UNAUTHENTICATED;
    if (cache_ready() == 0 && (inst = cache_instance(v)) != 0) {
        cache_sync();
        gen0 = g_cache_seen_gen;
        set = cache_set(token);
        if ((r = cache_lookup(inst, set, token, now, out)) != 0) {
            g_cache_hits += r == 1;
            return r == 1 ? 0 : r;
        }
        g_cache_misses++;
    }
    if (token_parse(token, token_len, raw) < 0)
        return TV_ERR_UNAUTHENTICATED;
    token_id(raw, id);
    token_hash("teevault-token-v1", raw, want);
    sodium_memzero(raw, sizeof(raw));
    if ((r = vault_db_rtxn(v->db, &txn)) < 0)
        goto out;
    MDB_val k = {.mv_size = VAULT_TOKEN_ID_LEN, .mv_data = id}, dv;
    r = vault_db_err(mdb_get(txn, v->db->tokens, &k, &dv));
    if (r == TV_ERR_NOT_FOUND) {
        r = TV_ERR_UNAUTHENTICATED;
        goto out;
    }
    if (r < 0)
        goto out;
    if ((r = token_decode(v->db, &dv, id, hash, &ti)) < 0) {
        /* A record that does not verify is an integrity error, not "no such token". */
        r = r == TV_ERR_NOMEM || r == TV_ERR_INTEGRITY || r == TV_ERR_SEALED
                ? r
                : TV_ERR_UNAUTHENTICATED;
        goto out;
    }
    if (sodium_memcmp(hash, want, sizeof(hash)) != 0 || (ti.expires_at && now >= ti.expires_at)) {
        r = TV_ERR_UNAUTHENTICATED;
        goto out;
    }
    if ((r = vault_auth_principal_from_token(&ti, out)) < 0)
        goto out;
    /* Not if a write invalidated the cache while we read (another thread). */
    if (inst && atomic_load(&g_cache_gen) == gen0)
        cache_insert(inst, set, token, ti.expires_at, out);
    r = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    vault_token_info_clear(&ti);
    sodium_memzero(want, sizeof(want));
    return r;
}

int vault_auth_resolve(struct vault *v, const char *token, size_t token_len, vault_principal *out)
{
    size_t plen = strlen(VAULT_TOKEN_PREFIX);
    if (!token)
        return TV_ERR_UNAUTHENTICATED;
    if (token_len >= plen && memcmp(token, VAULT_TOKEN_PREFIX, plen) == 0)
        return vault_auth_resolve_at(v, token, token_len, (int64_t)time(NULL), out);
    /* The one place function session tokens enter: the attestation module. */
    if (vault_attest_resolve_session)
        return vault_attest_resolve_session(v, token, token_len, out);
    return TV_ERR_UNAUTHENTICATED;
}

/* ---------------------------------------------------------------- users */

static int password_valid(const char *pw, size_t len)
{
    return pw && len > 0 && len <= VAULT_PASSWORD_MAX;
}

static int hash_password(const char *pw, size_t len, char *encoded, size_t enclen)
{
    uint8_t salt[SALT_LEN];
    size_t need = argon2_encodedlen(g_params.argon2_t, g_params.argon2_m_kib, g_params.argon2_p,
                                    SALT_LEN, HASH_LEN, Argon2_id);
    if (need > enclen)
        return TV_ERR_INTERNAL;
    randombytes_buf(salt, sizeof(salt));
    int rc = argon2id_hash_encoded(g_params.argon2_t, g_params.argon2_m_kib, g_params.argon2_p, pw,
                                   len, salt, sizeof(salt), HASH_LEN, encoded, enclen);
    sodium_memzero(salt, sizeof(salt));
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return TV_ERR_NOMEM;
    return rc == ARGON2_OK ? 0 : TV_ERR_CRYPTO;
}

static int user_write(struct vault *v, MDB_txn *txn, const vault_user_info *ui, const char *enc,
                      unsigned flags)
{
    proto_buf rec;
    int r;
    proto_buf_init(&rec, 0);
    if ((r = user_encode(&rec, enc, ui)) < 0)
        goto out;
    r = vault_record_put(v->db, txn, VAULT_TBL_USERS, ui->name, strlen(ui->name), rec.d, rec.len,
                         flags);
out:
    proto_buf_free(&rec);
    return r;
}

int vault_auth_user_add(struct vault *v, MDB_txn *txn, const char *name, const char *password,
                        size_t pwlen, char *const *policies, size_t n_policies, int64_t now)
{
    int r = TV_ERR_INTERNAL;
    bool own = false;
    char enc[ENCODED_MAX];
    vault_user_info ui;
    memset(&ui, 0, sizeof(ui));
    if (!vault_auth_user_name_valid(name) || !password_valid(password, pwlen) ||
        !policies_valid(policies, n_policies))
        return TV_ERR_INVALID;
    if ((r = own_wtxn(v, &txn, &own)) < 0)
        return r;
    /* Check existence before paying for Argon2id. */
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)(uintptr_t)name}, dv;
    r = vault_db_err(mdb_get(txn, v->db->users, &k, &dv));
    if (r == 0) {
        r = TV_ERR_EXISTS;
        goto out;
    }
    if (r != TV_ERR_NOT_FOUND)
        goto out;
    if ((r = hash_password(password, pwlen, enc, sizeof(enc))) < 0)
        goto out;
    snprintf(ui.name, sizeof(ui.name), "%s", name);
    ui.created_at = now;
    ui.policies = (char **)(uintptr_t)policies;
    ui.n_policies = n_policies;
    r = user_write(v, txn, &ui, enc, MDB_NOOVERWRITE);
out:
    sodium_memzero(enc, sizeof(enc));
    return own_finish(txn, own, r);
}

/* Read the user record (and its hash). */
static int user_read(struct vault *v, MDB_txn *txn, const char *name, char *enc, size_t enclen,
                     vault_user_info *ui)
{
    int r;
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)(uintptr_t)name}, dv;
    if ((r = vault_db_err(mdb_get(txn, v->db->users, &k, &dv))) < 0)
        return r;
    return user_decode(v->db, &k, &dv, enc, enclen, ui);
}

int vault_auth_user_passwd(struct vault *v, MDB_txn *txn, const char *name, const char *password,
                           size_t pwlen)
{
    int r = TV_ERR_INTERNAL;
    bool own = false;
    char enc[ENCODED_MAX];
    vault_user_info ui;
    memset(&ui, 0, sizeof(ui));
    if (!vault_auth_user_name_valid(name) || !password_valid(password, pwlen))
        return TV_ERR_INVALID;
    if ((r = own_wtxn(v, &txn, &own)) < 0)
        return r;
    if ((r = user_read(v, txn, name, enc, sizeof(enc), &ui)) < 0)
        goto out;
    if ((r = hash_password(password, pwlen, enc, sizeof(enc))) < 0)
        goto out;
    r = user_write(v, txn, &ui, enc, 0);
out:
    vault_user_info_clear(&ui);
    sodium_memzero(enc, sizeof(enc));
    return own_finish(txn, own, r);
}

int vault_auth_user_delete(struct vault *v, MDB_txn *txn, const char *name, size_t *revoked)
{
    int r;
    bool own = false;
    if (!vault_auth_user_name_valid(name))
        return TV_ERR_INVALID;
    if ((r = own_wtxn(v, &txn, &own)) < 0)
        return r;
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)(uintptr_t)name};
    vault_auth_cache_invalidate(v);
    if ((r = vault_db_err(mdb_del(txn, v->db->users, &k, NULL))) < 0)
        goto out;
    r = tokens_sweep(v, txn, 0, name, NULL, revoked);
out:
    return own_finish(txn, own, r);
}

int vault_auth_user_get(struct vault *v, MDB_txn *txn, const char *name, vault_user_info *info)
{
    int r;
    bool own = false;
    if (!vault_auth_user_name_valid(name))
        return TV_ERR_INVALID;
    if ((r = own_rtxn(v, &txn, &own)) < 0)
        return r;
    r = user_read(v, txn, name, NULL, 0, info);
    if (own)
        mdb_txn_abort(txn);
    return r;
}

int vault_auth_user_list(struct vault *v, MDB_txn *txn, vault_user_info **users, size_t *n_out)
{
    int r, rc;
    bool own = false;
    MDB_cursor *cur = NULL;
    vault_user_info *arr = NULL;
    size_t n = 0, cap = 0;
    MDB_val k, dv;
    if ((r = own_rtxn(v, &txn, &own)) < 0)
        return r;
    if ((r = vault_db_err(mdb_cursor_open(txn, v->db->users, &cur))) < 0)
        goto out;
    for (rc = mdb_cursor_get(cur, &k, &dv, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &dv, MDB_NEXT)) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            vault_user_info *na = realloc(arr, nc * sizeof(*na));
            if (!na) {
                r = TV_ERR_NOMEM;
                goto out;
            }
            arr = na;
            cap = nc;
        }
        if ((r = user_decode(v->db, &k, &dv, NULL, 0, &arr[n])) < 0)
            goto out;
        n++;
    }
    if (rc != MDB_NOTFOUND) {
        r = vault_db_err(rc);
        goto out;
    }
    *users = arr;
    *n_out = n;
    arr = NULL;
    n = 0;
    r = 0;
out:
    if (cur)
        mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++)
        vault_user_info_clear(&arr[i]);
    free(arr);
    if (own)
        mdb_txn_abort(txn);
    return r;
}

/* ---------------------------------------------------------------- login back-off */

typedef struct backoff_slot {
    uint8_t key[16]; /* H(user || 0 || peer) prefix; all-zero = free */
    uint32_t failures;
    uint32_t inflight; /* attempts begun and not finished (issue 14) */
    int64_t locked_until_ms;
    int64_t last_ms;
} backoff_slot;

static backoff_slot g_backoff[BACKOFF_SLOTS];

/* Peers (address without port, or "uid:N") with a successful login in the
 * last RECENT_OK_MS: they keep a reserved share of the login budgets, so
 * strangers draining them cannot lock a working operator out (issue 14). */
#define RECENT_OK_SLOTS 64
#define RECENT_OK_MS    (60 * 60 * 1000)
/* Per-user lock: after this many failures for one user from any peers,
 * peers without a recent success back off on that user too. */
#define USER_FAIL_FREE 10
typedef struct recent_ok {
    uint8_t key[16];
    int64_t at_ms;
} recent_ok;
static recent_ok g_recent_ok[RECENT_OK_SLOTS];

void vault_auth_backoff_reset(void)
{
    memset(g_backoff, 0, sizeof(g_backoff));
    memset(g_recent_ok, 0, sizeof(g_recent_ok));
    g_bucket_milli = -1;
}

/* Length of peer's address without the port: "10.0.0.1:5000" -> "10.0.0.1",
 * "[::1]:5000" -> "[::1]", "unix" -> "unix". A client that reconnects gets a
 * new source port, so the port must not be part of the back-off key. */
static size_t peer_host_len(const char *peer)
{
    size_t n = strlen(peer);
    if (peer[0] == '[') {
        const char *e = strchr(peer, ']');
        return e ? (size_t)(e - peer) + 1 : n;
    }
    const char *c = strchr(peer, ':');
    if (c && !strchr(c + 1, ':') && c[1] && strspn(c + 1, "0123456789") == strlen(c + 1))
        return (size_t)(c - peer);
    return n;
}

static void backoff_key(const char *user, const char *peer, uint8_t key[16])
{
    uint8_t h[32];
    uint8_t zero = 0;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)user, strlen(user) + 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)peer, peer_host_len(peer));
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_final(&st, h);
    memcpy(key, h, 16);
    if (sodium_is_zero(key, 16))
        key[0] = 1;
}

/* Find the slot for key. With create, take a free slot, else the least
 * recently used unlocked one, else the least recently used. */
static backoff_slot *backoff_find(const uint8_t key[16], int64_t now_ms, bool create)
{
    backoff_slot *free_s = NULL, *lru_unlocked = NULL, *lru = NULL;
    for (size_t i = 0; i < BACKOFF_SLOTS; i++) {
        backoff_slot *s = &g_backoff[i];
        if (sodium_is_zero(s->key, 16)) {
            if (!free_s)
                free_s = s;
            continue;
        }
        if (memcmp(s->key, key, 16) == 0) {
            if (now_ms - s->last_ms > BACKOFF_FORGET && now_ms >= s->locked_until_ms) {
                /* Long quiet: start counting afresh. */
                memset(s, 0, sizeof(*s));
                if (!create)
                    return NULL;
                memcpy(s->key, key, 16);
            }
            return s;
        }
        if (!lru || s->last_ms < lru->last_ms)
            lru = s;
        if (now_ms >= s->locked_until_ms && (!lru_unlocked || s->last_ms < lru_unlocked->last_ms))
            lru_unlocked = s;
    }
    if (!create)
        return NULL;
    backoff_slot *victim = free_s ? free_s : lru_unlocked ? lru_unlocked : lru;
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, 16);
    return victim;
}

static void peer_key(const char *peer, uint8_t key[16])
{
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)peer, peer_host_len(peer));
    memcpy(key, h, 16);
}

static int recent_ok_has(const char *peer, int64_t now_ms)
{
    uint8_t k[16];
    peer_key(peer, k);
    for (size_t i = 0; i < RECENT_OK_SLOTS; i++)
        if (g_recent_ok[i].at_ms && now_ms - g_recent_ok[i].at_ms < RECENT_OK_MS &&
            memcmp(g_recent_ok[i].key, k, 16) == 0)
            return 1;
    return 0;
}

static void recent_ok_add(const char *peer, int64_t now_ms)
{
    uint8_t k[16];
    recent_ok *victim = &g_recent_ok[0];
    peer_key(peer, k);
    for (size_t i = 0; i < RECENT_OK_SLOTS; i++) {
        if (memcmp(g_recent_ok[i].key, k, 16) == 0) {
            victim = &g_recent_ok[i];
            break;
        }
        if (g_recent_ok[i].at_ms < victim->at_ms)
            victim = &g_recent_ok[i];
    }
    memcpy(victim->key, k, 16);
    victim->at_ms = now_ms;
}

static uint32_t backoff_delay(uint32_t failures)
{
    uint64_t d = g_params.backoff_base_ms;
    for (uint32_t i = 1; i < failures && d < g_params.backoff_max_ms; i++)
        d *= 2;
    return d > g_params.backoff_max_ms ? g_params.backoff_max_ms : (uint32_t)d;
}

static const char *dummy_hash(void)
{
    if (!g_dummy_hash[0]) {
        uint8_t pw[16];
        randombytes_buf(pw, sizeof(pw));
        if (hash_password((const char *)pw, sizeof(pw), g_dummy_hash, sizeof(g_dummy_hash)) < 0)
            g_dummy_hash[0] = '\0';
        sodium_memzero(pw, sizeof(pw));
    }
    return g_dummy_hash;
}

/* Take one password verification from the global budget. A peer without a
 * recent success may not take the last half of the bucket: that share is
 * kept for peers that logged in recently (issue 14). */
static int budget_take(int64_t now_ms, uint32_t *delay_ms, int reserved_ok)
{
    if (g_params.login_rate == 0)
        return 0;
    int64_t cap = (int64_t)g_params.login_burst * 1000;
    int64_t floor_milli = reserved_ok ? 0 : cap / 2;
    if (g_bucket_milli < 0) {
        g_bucket_milli = cap;
        g_bucket_last_ms = now_ms;
    }
    if (now_ms > g_bucket_last_ms) {
        g_bucket_milli += (now_ms - g_bucket_last_ms) * (int64_t)g_params.login_rate;
        if (g_bucket_milli > cap)
            g_bucket_milli = cap;
        g_bucket_last_ms = now_ms;
    }
    if (g_bucket_milli < 1000 + floor_milli) {
        int64_t need = 1000 + floor_milli - g_bucket_milli;
        *delay_ms = (uint32_t)((need + g_params.login_rate - 1) / g_params.login_rate);
        return TV_ERR_RESOURCE;
    }
    g_bucket_milli -= 1000;
    return 0;
}

int vault_auth_kdf_budget_take(int64_t now_ms, uint32_t *delay_ms)
{
    *delay_ms = 0;
    /* Recover is anonymous: it never draws on the share kept for peers
     * with a recent successful login. */
    return budget_take(now_ms, delay_ms, 0);
}

struct vault_login {
    char user[VAULT_USER_NAME_MAX + 1];
    char peer[VAULT_ID_MAX]; /* for the recent-success table */
    uint8_t key[16];         /* back-off key (user, peer) */
    uint8_t ukey[16];        /* back-off key (user, any peer) */
    int counted;             /* holds an in-flight count on key's slot */
    char enc[ENCODED_MAX];   /* hash to verify against (the dummy for unknown users) */
    int known;
    char *pw; /* sodium_malloc'd copy */
    size_t pwlen;
    int result; /* after verify: 0 match, TV_ERR_UNAUTHENTICATED, TV_ERR_NOMEM, -1 not run */
};

void vault_auth_login_free(vault_login *job)
{
    if (!job)
        return;
    if (job->counted) {
        for (size_t i = 0; i < BACKOFF_SLOTS; i++)
            if (memcmp(g_backoff[i].key, job->key, 16) == 0 && g_backoff[i].inflight) {
                g_backoff[i].inflight--;
                break;
            }
    }
    if (job->pw)
        sodium_free(job->pw);
    sodium_memzero(job, sizeof(*job));
    free(job);
}

int vault_auth_login_begin(struct vault *v, const char *user, const char *password, size_t pwlen,
                           const char *peer, int64_t now_ms, vault_login **out, uint32_t *delay_ms)
{
    int r = TV_ERR_INTERNAL;
    vault_login *job = NULL;
    MDB_txn *txn = NULL;
    bool own = false;
    *delay_ms = 0;

    if (!peer)
        peer = "";
    if (!vault_auth_user_name_valid(user) || !password_valid(password, pwlen))
        return TV_ERR_INVALID;
    if (!(job = calloc(1, sizeof(*job))))
        return TV_ERR_NOMEM;
    job->result = -1;
    snprintf(job->user, sizeof(job->user), "%s", user);
    snprintf(job->peer, sizeof(job->peer), "%s", peer);
    backoff_key(user, peer, job->key);
    backoff_key(user, "*", job->ukey);
    int known_peer = recent_ok_has(peer, now_ms);
    backoff_slot *s = backoff_find(job->key, now_ms, false);
    if (s && now_ms < s->locked_until_ms) {
        /* Locked: refuse without looking at the password, and hold the reply. */
        *delay_ms = (uint32_t)(s->locked_until_ms - now_ms);
        r = TV_ERR_RESOURCE;
        goto out;
    }
    /* One attempt at a time per (user, peer): pipelined guesses wait for
     * the previous verdict and its back-off instead of skipping it. */
    if (s && s->inflight) {
        *delay_ms = 0;
        r = TV_ERR_RESOURCE;
        goto out;
    }
    /* Per user, from every peer together: strangers spreading guesses over
     * many peers lock the user for strangers only. */
    backoff_slot *us = backoff_find(job->ukey, now_ms, false);
    if (us && !known_peer && now_ms < us->locked_until_ms) {
        *delay_ms = (uint32_t)(us->locked_until_ms - now_ms);
        r = TV_ERR_RESOURCE;
        goto out;
    }
    if ((r = budget_take(now_ms, delay_ms, known_peer)) < 0)
        goto out;
    if ((s = backoff_find(job->key, now_ms, true)) != NULL) {
        s->inflight++;
        s->last_ms = now_ms;
        job->counted = 1;
    }
    if ((r = own_rtxn(v, &txn, &own)) < 0)
        goto out;
    vault_user_info ui;
    memset(&ui, 0, sizeof(ui));
    r = user_read(v, txn, user, job->enc, sizeof(job->enc), &ui);
    vault_user_info_clear(&ui);
    if (r < 0 && r != TV_ERR_NOT_FOUND)
        goto out;
    job->known = r == 0;
    /* Make the dummy hash whoever logs in first, so making it never shows
     * up as extra time on an unknown user's first attempt. */
    const char *dummy = dummy_hash();
    if (!job->known)
        snprintf(job->enc, sizeof(job->enc), "%s", dummy);
    if (!(job->pw = sodium_malloc(pwlen))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    memcpy(job->pw, password, pwlen);
    job->pwlen = pwlen;
    *out = job;
    job = NULL;
    r = 0;
out:
    if (own)
        mdb_txn_abort(txn);
    vault_auth_login_free(job);
    return r;
}

void vault_auth_login_verify(vault_login *job)
{
    int rc = job->enc[0] ? argon2id_verify(job->enc, job->pw, job->pwlen) : ARGON2_VERIFY_MISMATCH;
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        job->result = TV_ERR_NOMEM;
    else
        job->result = (rc == ARGON2_OK && job->known) ? 0 : TV_ERR_UNAUTHENTICATED;
    sodium_memzero(job->pw, job->pwlen);
}

int vault_auth_login_finish(struct vault *v, MDB_txn *txn, vault_login *job, int64_t now_ms,
                            char *out, size_t outlen, vault_token_info *info, uint32_t *delay_ms)
{
    int r = TV_ERR_INTERNAL;
    bool own = false;
    char enc[ENCODED_MAX];
    vault_user_info ui;
    backoff_slot *s;
    memset(&ui, 0, sizeof(ui));
    *delay_ms = 0;

    if (job->result == -1)
        vault_auth_login_verify(job);
    if (job->result == TV_ERR_NOMEM) {
        r = TV_ERR_NOMEM;
        goto done;
    }
    if (job->result != 0) {
        if ((s = backoff_find(job->key, now_ms, true)) != NULL) {
            if (s->failures < UINT32_MAX)
                s->failures++;
            s->last_ms = now_ms;
            *delay_ms = backoff_delay(s->failures);
            s->locked_until_ms = now_ms + *delay_ms;
        }
        if ((s = backoff_find(job->ukey, now_ms, true)) != NULL) {
            if (s->failures < UINT32_MAX)
                s->failures++;
            s->last_ms = now_ms;
            if (s->failures > USER_FAIL_FREE)
                s->locked_until_ms = now_ms + backoff_delay(s->failures - USER_FAIL_FREE);
        }
        r = TV_ERR_UNAUTHENTICATED;
        goto done;
    }
    if ((r = own_wtxn(v, &txn, &own)) < 0)
        goto done;
    /* Re-read: the user may have been deleted or its password changed while
     * the hash was being verified (possibly on another thread). */
    r = user_read(v, txn, job->user, enc, sizeof(enc), &ui);
    if (r == TV_ERR_NOT_FOUND || (r == 0 && strcmp(enc, job->enc) != 0)) {
        r = TV_ERR_UNAUTHENTICATED;
        goto out;
    }
    if (r < 0)
        goto out;
    if ((s = backoff_find(job->key, now_ms, false)) != NULL) {
        uint32_t inflight = s->inflight;
        memset(s, 0, sizeof(*s));
        memcpy(s->key, job->key, 16); /* keep the slot: job still counts in it */
        s->inflight = inflight;
    }
    recent_ok_add(job->peer, now_ms);
    r = vault_auth_token_create(v, txn, job->user, job->user, ui.policies, ui.n_policies, 0, 0,
                                now_ms / 1000, out, outlen, info);
out:
    r = own_finish(txn, own, r);
done:
    vault_user_info_clear(&ui);
    sodium_memzero(enc, sizeof(enc));
    vault_auth_login_free(job);
    return r;
}

int vault_auth_login(struct vault *v, MDB_txn *txn, const char *user, const char *password,
                     size_t pwlen, const char *peer, int64_t now_ms, char *out, size_t outlen,
                     vault_token_info *info, uint32_t *delay_ms)
{
    vault_login *job = NULL;
    int r = vault_auth_login_begin(v, user, password, pwlen, peer, now_ms, &job, delay_ms);
    if (r < 0)
        return r;
    vault_auth_login_verify(job);
    return vault_auth_login_finish(v, txn, job, now_ms, out, outlen, info, delay_ms);
}
