/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_auth: operator users, tokens and the principal behind a request.
 *
 * Users ("users" DB, key = user name): Argon2id password hash in libargon2's
 * encoded form ($argon2id$v=19$m=...,t=...,p=...$salt$hash) plus the ACL
 * policies bound to the user. Verification reads the cost from the encoded
 * hash, so changing the cost only affects new hashes.
 *
 * Tokens ("tokens" DB, key = token id): a token is 256 random bits rendered
 * as "tvs." + base64url (no padding), 47 characters. The vault keeps only
 *   id       = hex(SHA-256("teevault-token-id-v1\0" || raw)[0..8])   (public handle)
 *   verifier = SHA-256("teevault-token-v1\0" || raw)                 (compared in constant time)
 * A keyed MAC would add nothing over SHA-256 for 256-bit random tokens (no
 * dictionary to try), and keeps token checks independent of the keyring.
 * Revoking deletes the record. Expired records are refused and removed by
 * vault_auth_tidy().
 *
 * Login back-off: per (user, peer) failure counter kept in enclave memory
 * (peer = the address without the port, or "uid:N" on the Unix socket);
 * after n consecutive failures the pair is locked for base * 2^(n-1) ms
 * (capped). Attempts while locked are refused without checking the password.
 * The handler passes the delay to the server in c->reply_delay_ms.
 * Issue 14: an attempt in flight counts: a second one for the same (user,
 * peer) is refused until the first has its verdict (pipelining cannot skip
 * the back-off); per user across all peers, after 10 failures peers
 * without a recent success back off too; and the global budget (login_rate)
 * keeps its last half for peers with a successful login in the last hour,
 * so strangers draining it cannot lock a working operator out. The per-peer
 * budget for failed authentications is the server's (vault_peer.h).
 *
 * WARNING: passwords and token strings are never logged, put in errors or in
 * audit fields; callers must wipe buffers that held them (sodium_memzero).
 * All functions run on the event-loop thread (module state is not locked).
 */
#ifndef VAULT_AUTH_H
#define VAULT_AUTH_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "vault.h"

#define VAULT_TOKEN_PREFIX     "tvs."
#define VAULT_TOKEN_STR_LEN    47 /* "tvs." + 43 base64url chars */
#define VAULT_TOKEN_BUF        64 /* buffer size for a rendered token (with NUL) */
#define VAULT_TOKEN_ID_LEN     16 /* hex chars */
#define VAULT_USER_NAME_MAX    64
#define VAULT_PASSWORD_MAX     1024
#define VAULT_DISPLAY_NAME_MAX 64

/* Tunables. Defaults: Argon2id t=3, m=64 MiB, p=1; login/create TTL 24 h,
 * max TTL 30 days; back-off 250 ms doubling to 30 s; 2 password
 * verifications per second (burst 5) across all users. */
typedef struct vault_auth_params {
    uint32_t argon2_t;     /* iterations, >= 1 */
    uint32_t argon2_m_kib; /* memory in KiB, >= 8 * argon2_p */
    uint32_t argon2_p;     /* lanes, >= 1 */
    int64_t default_ttl;   /* seconds, for Login and TokenCreate with ttl 0 */
    int64_t max_ttl;       /* seconds; longer requests are clamped */
    uint32_t backoff_base_ms;
    uint32_t backoff_max_ms;
    uint32_t login_rate;  /* password verifications per second, all users together
                             (0 = unlimited); bounds the Argon2id work strangers
                             can make the event loop do */
    uint32_t login_burst; /* bucket size for login_rate, >= 1 when login_rate > 0 */
} vault_auth_params;

/* Fill p with the defaults above. */
void vault_auth_params_default(vault_auth_params *p);

/* Set the module's parameters (NULL restores the defaults). Call at startup
 * (config) or in tests (cheap Argon2: t=1, m=1024). Returns 0 or
 * TV_ERR_INVALID for out-of-range values (nothing changed). */
int vault_auth_configure(const vault_auth_params *p) TV_WUR;

/* What the vault knows about a token (never the token itself). */
typedef struct vault_token_info {
    char id[VAULT_TOKEN_ID_LEN + 1];
    char display_name[VAULT_DISPLAY_NAME_MAX + 1];
    char user[VAULT_USER_NAME_MAX + 1];  /* owning user: login, or a child of a user's
                                            token; "" for root and tokens made by root */
    char parent[VAULT_TOKEN_ID_LEN + 1]; /* the token that created it; "" for root,
                                            login and orphan tokens */
    char **policies;                     /* heap; free with vault_token_info_clear */
    size_t n_policies;
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    int root;
} vault_token_info;

/* Free info's allocations and zero it. Safe on a zeroed struct. */
void vault_token_info_clear(vault_token_info *info);

typedef struct vault_user_info {
    char name[VAULT_USER_NAME_MAX + 1];
    char **policies; /* heap */
    size_t n_policies;
    int64_t created_at;
} vault_user_info;

/* Free info's allocations and zero it. */
void vault_user_info_clear(vault_user_info *info);

/* ---------------------------------------------------------------- request path */

/* Resolve a bearer token (the text after "Bearer ") into *out. Operator tokens
 * and function session tokens are both accepted. Errors: TV_ERR_UNAUTHENTICATED
 * (unknown, expired, revoked), TV_ERR_NOT_INITIALISED. On success the caller
 * owns *out's allocations and releases them with vault_principal_clear().
 * Tokens without the "tvs." prefix go to the function-session hook
 * vault_attest_resolve_session() when it is linked in, else are refused. */
int vault_auth_resolve(struct vault *v, const char *token, size_t token_len,
                       vault_principal *out) TV_WUR;

/* As vault_auth_resolve for operator tokens, at time `now` (tests). */
int vault_auth_resolve_at(struct vault *v, const char *token, size_t token_len, int64_t now,
                          vault_principal *out) TV_WUR;

/* Free what vault_auth_resolve allocated and zero the struct. */
void vault_principal_clear(vault_principal *p);

/*
 * Resolve cache. Successful resolves of operator tokens are remembered
 * (1024 entries, LRU within 4-way sets; token bytes in sodium_malloc memory,
 * compared in constant time), so a repeated token costs no SHA-256 and no
 * LMDB read. An entry keeps the token's expiry (refused at the same instant
 * as without the cache) and every entry is dropped on the next resolve after
 * vault_auth_cache_invalidate(). Function session tokens are not cached.
 *
 * Contract for writers: anything that deletes or changes a record in the
 * "tokens" DB other than through this module must call
 * vault_auth_cache_invalidate(v) before the write, and commit it on the
 * event-loop thread (this module's own writers do). Callable from any
 * thread; v may be NULL (all vaults).
 */
void vault_auth_cache_invalidate(struct vault *v);

#define VAULT_AUTH_CACHE_MAX 1024

/* Counters since start (tests, benchmarks): cache hits, misses (resolves
 * that went to LMDB) and entries in use. Any pointer may be NULL. */
void vault_auth_cache_stats(uint64_t *hits, uint64_t *misses, size_t *entries);

/* Wipe and free the cache (also run at exit). It is made again on demand. */
void vault_auth_cache_free(void);

/* Function-session hook, provided by the attestation module (weak: absent
 * means function tokens are refused). Same contract as vault_auth_resolve.
 * NOTE for static linking: a weak reference does not pull an archive member
 * in; the object defining it must be linked for another reason (it is, when
 * the server references the Attestation handlers). */
int vault_attest_resolve_session(struct vault *v, const char *token, size_t token_len,
                                 vault_principal *out) __attribute__((weak));

/* ---------------------------------------------------------------- tokens */

/* Create a token. txn: a write transaction of the caller (committed by the
 * caller), or NULL to use and commit one of its own. policies are copied.
 * ttl: seconds (0 = default TTL; clamped to max TTL); root tokens never
 * expire (ttl ignored). user/display may be NULL. On success writes the
 * token string (NUL-terminated, VAULT_TOKEN_STR_LEN chars) into out (outlen
 * >= VAULT_TOKEN_BUF) and, if info is non-NULL, fills *info (caller clears).
 * Errors: TV_ERR_INVALID (outlen too small, bad policy/user/display name, too
 * many policies), TV_ERR_NOT_INITIALISED (no db), TV_ERR_NOMEM, storage errors.
 * WARNING: the caller must sodium_memzero(out) once the token is sent. */
int vault_auth_token_create(struct vault *v, MDB_txn *txn, const char *user, const char *display,
                            char *const *policies, size_t n_policies, int64_t ttl, int root,
                            int64_t now, char *out, size_t outlen, vault_token_info *info) TV_WUR;

/* As vault_auth_token_create, recording `parent` (a token id, or NULL/""
 * for none): revoking the parent revokes this token too. Errors as
 * vault_auth_token_create; TV_ERR_INVALID also for a malformed parent id. */
int vault_auth_token_create_child(struct vault *v, MDB_txn *txn, const char *parent,
                                  const char *user, const char *display, char *const *policies,
                                  size_t n_policies, int64_t ttl, int root, int64_t now, char *out,
                                  size_t outlen, vault_token_info *info) TV_WUR;

/* Create the initial root token (for Sys.Initialize): root, no expiry, no
 * policies, display name "root". Same contract as vault_auth_token_create. */
int vault_auth_create_root_token(struct vault *v, MDB_txn *txn, char *out, size_t outlen,
                                 vault_token_info *info) TV_WUR;

/* Look up a token by id (txn may be read-only or NULL for an own read txn).
 * Expired tokens are reported as TV_ERR_NOT_FOUND. Errors: TV_ERR_NOT_FOUND,
 * TV_ERR_INVALID (malformed id), TV_ERR_FORMAT, TV_ERR_NOMEM, storage errors. */
int vault_auth_token_lookup(struct vault *v, MDB_txn *txn, const char *id, int64_t now,
                            vault_token_info *info) TV_WUR;

/* Revoke (delete) a token by id and every token below it (children, their
 * children, ...). txn as for token_create. Errors: TV_ERR_NOT_FOUND,
 * TV_ERR_INVALID, storage errors. */
int vault_auth_token_revoke(struct vault *v, MDB_txn *txn, const char *id) TV_WUR;

/* As vault_auth_token_revoke; *revoked (may be NULL) gets the number of
 * tokens removed, the token itself included. */
int vault_auth_token_revoke_tree(struct vault *v, MDB_txn *txn, const char *id,
                                 size_t *revoked) TV_WUR;

/* Delete expired tokens; *removed (may be NULL) gets the count. For a timer. */
int vault_auth_tidy(struct vault *v, int64_t now, size_t *removed) TV_WUR;

/* ---------------------------------------------------------------- users */

/* 1 when name is a valid user name: 1..VAULT_USER_NAME_MAX of [A-Za-z0-9._@-],
 * not starting with '.' or '-'. */
int vault_auth_user_name_valid(const char *name);

/* Add a user. Hashes the password with Argon2id (slow by design). txn as for
 * token_create. Errors: TV_ERR_INVALID (bad name, empty/too long password,
 * bad policy name, too many policies), TV_ERR_EXISTS, TV_ERR_CRYPTO (argon2),
 * TV_ERR_NOMEM, storage errors. */
int vault_auth_user_add(struct vault *v, MDB_txn *txn, const char *name, const char *password,
                        size_t pwlen, char *const *policies, size_t n_policies, int64_t now) TV_WUR;

/* Replace a user's password. Errors as user_add, TV_ERR_NOT_FOUND. */
int vault_auth_user_passwd(struct vault *v, MDB_txn *txn, const char *name, const char *password,
                           size_t pwlen) TV_WUR;

/* Delete a user and revoke every token issued to it, and every token below
 * those (children made by root for the user included). *revoked (may be NULL)
 * gets the number of tokens revoked. Errors: TV_ERR_NOT_FOUND, TV_ERR_INVALID,
 * storage errors. */
int vault_auth_user_delete(struct vault *v, MDB_txn *txn, const char *name, size_t *revoked) TV_WUR;

/* Read one user (txn may be NULL). Errors: TV_ERR_NOT_FOUND, TV_ERR_INVALID,
 * TV_ERR_FORMAT, TV_ERR_NOMEM, storage errors. */
int vault_auth_user_get(struct vault *v, MDB_txn *txn, const char *name,
                        vault_user_info *info) TV_WUR;

/* All users in name order: *users is a heap array (clear each element, then
 * free the array). */
int vault_auth_user_list(struct vault *v, MDB_txn *txn, vault_user_info **users, size_t *n) TV_WUR;

/* Log in: check (user, peer) back-off, verify the password (an unknown user
 * costs the same Argon2id work), and on success create a token with the
 * user's policies and the default TTL inside txn (a write transaction the
 * caller commits; NULL = own). *delay_ms is always set: the time the server
 * should hold the reply (0 on success).
 * Errors: TV_ERR_UNAUTHENTICATED (unknown user or wrong password: one message
 * for both), TV_ERR_RESOURCE (locked out by back-off; password not checked),
 * TV_ERR_RESOURCE also when the global login budget (login_rate) is spent.
 * TV_ERR_INVALID (malformed name/password), TV_ERR_NOMEM, storage errors. */
int vault_auth_login(struct vault *v, MDB_txn *txn, const char *user, const char *password,
                     size_t pwlen, const char *peer, int64_t now_ms, char *out, size_t outlen,
                     vault_token_info *info, uint32_t *delay_ms) TV_WUR;

/*
 * The same login in three steps, so the server can run the Argon2id work
 * (~0.3 s of CPU at the default cost) off the event-loop thread:
 *   begin   (event loop)  validate, back-off and budget check, read the user
 *                         record; copies the password into sodium_malloc memory.
 *                         Errors as vault_auth_login (TV_ERR_RESOURCE with
 *                         *delay_ms when locked out or over the budget).
 *   verify  (any thread)  Argon2id; touches nothing but the job; wipes the
 *                         password copy.
 *   finish  (event loop)  back-off bookkeeping; on success re-reads the user
 *                         (deleted or password changed meanwhile: refused) and
 *                         creates the token in txn (NULL = own). Always frees
 *                         the job; runs verify itself if it has not run.
 * vault_auth_login_free abandons a job (e.g. the connection went away).
 */
typedef struct vault_login vault_login;
int vault_auth_login_begin(struct vault *v, const char *user, const char *password, size_t pwlen,
                           const char *peer, int64_t now_ms, vault_login **job,
                           uint32_t *delay_ms) TV_WUR;
void vault_auth_login_verify(vault_login *job);
int vault_auth_login_finish(struct vault *v, MDB_txn *txn, vault_login *job, int64_t now_ms,
                            char *out, size_t outlen, vault_token_info *info,
                            uint32_t *delay_ms) TV_WUR;
void vault_auth_login_free(vault_login *job);

/* Take one password-hash evaluation from the global budget that Login uses
 * (login_rate per second, login_burst at once): Sys.Recover's Argon2id
 * draws from the same budget. Returns 0, or TV_ERR_RESOURCE with *delay_ms
 * until one is available. Event-loop thread. */
int vault_auth_kdf_budget_take(int64_t now_ms, uint32_t *delay_ms) TV_WUR;

/* Forget all back-off and budget state (tests; after a restart it is empty anyway). */
void vault_auth_backoff_reset(void);

/* Fill a principal from a token record / user record (heap copies of the
 * policies), e.g. for Policies.Explain. Errors: TV_ERR_NOMEM. */
int vault_auth_principal_from_token(const vault_token_info *info, vault_principal *out) TV_WUR;
int vault_auth_principal_from_user(const vault_user_info *info, vault_principal *out) TV_WUR;

#endif
