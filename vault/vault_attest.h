/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_attest: Attestation.Challenge / Attest / Report and function
 * sessions (DESIGN.md §5, issue 5.5).
 *
 * State (struct vault_attest, hung off v->attest, in memory only):
 *  - nonces are stateless (issue 14): 32 bytes = u64be issue time (unix
 *    ms) || 8 random bytes || a 16-byte keyed BLAKE2b MAC of the first 16 under a
 *    per-process key. Challenge stores nothing, so a Challenge flood costs
 *    nothing and locks nobody out. Attest checks the MAC (else "not issued by
 *    this vault"), the age (nonce_ttl, default 60 s: else "expired"), then
 *    enters the nonce into a bounded replay set (max_replay entries, default
 *    65536) — before the evidence is looked at, so a nonce is single use
 *    whatever the outcome. When the set is full the oldest used nonce leaves
 *    it and a floor rises to its issue time: nonces issued at or before the
 *    floor are refused as expired, so a forgotten nonce is never accepted
 *    twice. Restarting the daemon invalidates every outstanding nonce.
 *  - sessions: token "tvf." + base64url(32 random bytes) (47 chars); only
 *    SHA-256("teevault-fn-session-v1\0" || raw) is kept, with the function
 *    name, its ACL policies (copied at Attest time), the session key and the
 *    expiry (session_ttl, default 900 s). The session key (seal_fnget.h) is
 *    derived at Attest from the vault's X25519 key pair and the function's
 *    eph_pk (fresh per attestation, bound by the evidence to a single-use
 *    nonce), so every session key is its own. The vault's key pair serves
 *    the sessions begun within 1 s of its creation (one base-point
 *    multiplication per second, not per session); then a new one is made,
 *    and vault_attest_tick wipes an unused one, so its secret lives < 2 s
 *    (sessions keep only their derived keys, for up to session_ttl). Session
 *    slots come in chunks of 4096: one sodium_malloc'ed key array per chunk
 *    (guard pages, mlock, no-dump) — a handful of mappings for 100,000
 *    sessions, not several each. Lookup and insert are O(1) (hash table on
 *    the token hash); expired sessions leave from the head of an age list.
 *    At max_sessions live (default 131072) Attest fails with TV_ERR_RESOURCE
 *    ("too many live function sessions") after expired ones are dropped;
 *    nothing else is affected. A session serves any number of Gets until it
 *    expires: a function reuses it across invocations. Restarting the daemon
 * drops every session: functions attest again. Registering (Write) or deleting a function drops its
 * sessions.
 *
 * Attest order: validate sizes → consume nonce → look up the function →
 * verify the evidence (signature/chain, then the function's debug/TCB
 * policy) → recompute report_data = seal_attest_binding(nonce, name,
 * code_hash, eph_pk) (SHA-512, 64 bytes; seal_producers.h) and compare →
 * match the registered identity (vault_fn_policy_match) → session.
 *
 * Sim evidence is accepted only by a sim vault (its seal backend is not
 * hardware-protected and its configured backend is sim) that knows a sim
 * platform public key: params->sim_pk, else the key in
 * params->sim_platform_dir, else in the vault's own sim platform dir
 * (cfg->tee_root, else cfg->state_dir). On a hardware vault,
 * vault_attest_configure refuses params->sim_pk / sim_platform_dir with
 * TV_ERR_POLICY and sim evidence is refused at Attest.
 *
 * Threading: event-loop thread only (no locks), except vault_attest_work
 * (any thread, on its job alone) and vault_attest_policy_hash.
 */
#ifndef VAULT_ATTEST_H
#define VAULT_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"
#include "vault.h"

#define VAULT_ATTEST_NONCE_LEN     32
#define VAULT_ATTEST_TOKEN_PREFIX  "tvf."
#define VAULT_ATTEST_TOKEN_STR_LEN 47
#define VAULT_ATTEST_TOKEN_BUF     64
#define VAULT_ATTEST_EVIDENCE_MAX  (256u * 1024)

#define VAULT_ATTEST_DEFAULT_SESSION_TTL  900
#define VAULT_ATTEST_DEFAULT_NONCE_TTL    60
#define VAULT_ATTEST_DEFAULT_MAX_REPLAY   65536
#define VAULT_ATTEST_DEFAULT_MAX_SESSIONS 131072

typedef struct vault_attest_params {
    uint32_t session_ttl;         /* seconds; 0 = 900 */
    uint32_t nonce_ttl;           /* seconds; 0 = 60 */
    size_t max_replay;            /* used nonces remembered; 0 = 65536 */
    size_t max_sessions;          /* live sessions; 0 = 131072 */
    const uint8_t *sim_pk;        /* 32 B sim platform public key, or NULL (see above) */
    const char *sim_platform_dir; /* read its sim_platform.pub/key when sim_pk is NULL */
    const char *collateral;       /* SGX/TDX collateral dir or bundle file, or NULL */
} vault_attest_params;

/* (Re)configure; replaces the state (drops nonces and sessions). p NULL =
 * defaults. Errors: TV_ERR_INVALID (a bound over 2^32 - 2), TV_ERR_NOMEM,
 * seal_collateral_load errors, sim key errors. */
int vault_attest_configure(struct vault *v, const vault_attest_params *p) TV_WUR;
/* Free v->attest (wiping session hashes). NULL-safe, idempotent. */
void vault_attest_close(struct vault *v);

/* SIGHUP: load the collateral at path (dir or bundle) and use it for
 * verifications from now on; sessions and nonces are kept. NULL path or no
 * attestation state: nothing to do. Errors: the loader's (the old collateral
 * stays in use), TV_ERR_RESOURCE (16 reloads: restart to reload more). */
int vault_attest_reload_collateral(struct vault *v, const char *path) TV_WUR;

/* Challenge: a fresh nonce and its expiry (unix seconds). Stores nothing.
 * Errors: TV_ERR_INVALID (NULL arguments), TV_ERR_NOMEM (first use only:
 * the state is created). */
int vault_attest_challenge(struct vault *v, uint8_t nonce[VAULT_ATTEST_NONCE_LEN],
                           int64_t *expires_at) TV_WUR;

typedef struct vault_attest_req {
    const uint8_t *evidence;
    size_t evidence_len;
    const char *evidence_type; /* sim | sgx | tdx | snp */
    const char *function_name;
    const uint8_t *code_hash;
    size_t code_hash_len;
    const uint8_t *eph_pk;
    size_t eph_pk_len;
    const uint8_t *nonce;
    size_t nonce_len;
} vault_attest_req;

/* Attest. On success token (VAULT_ATTEST_TOKEN_BUF bytes) holds the session
 * token (the caller wipes it after sending), session_pk the vault's public
 * key for this session (AttestResponse.session_pubkey) and *expires_at its
 * expiry.
 * why (whylen) always gets a sentence on failure (no secret in it).
 * Errors: TV_ERR_INVALID (sizes, type, name), TV_ERR_REPLAY (nonce used),
 * TV_ERR_EXPIRED (nonce expired, or older than the replay set's floor),
 * TV_ERR_UNAUTHENTICATED (nonce not issued by this process), TV_ERR_DENIED (no such function),
 * TV_ERR_FORMAT / TV_ERR_VERIFY (evidence), TV_ERR_INTEGRITY (report_data is not the binding),
 * TV_ERR_POLICY (debug, TCB, identity not the registered one, sim not accepted), TV_ERR_RESOURCE
 * (max_sessions live), TV_ERR_NOMEM, storage errors; TV_ERR_INVALID also when eph_pk is a low-order
 * X25519 point (no session key). */
int vault_attest_attest(struct vault *v, const vault_attest_req *rq,
                        char token[VAULT_ATTEST_TOKEN_BUF], uint8_t session_pk[32],
                        int64_t *expires_at, char *why, size_t whylen) TV_WUR;

/* Attest in three steps, so that the daemon runs the expensive part (the
 * evidence's signature and chain, the session key pair and its X25519
 * agreement: ~0.1 ms for sim evidence) on its worker thread (vault_offload)
 * and not on the event loop. vault_attest_attest is the three in a row.
 *
 * begin (loop thread): validate sizes, consume the nonce (single use from
 * here, whatever happens next), read the function and parse its identity
 * policy; *job owns copies of what the work needs (rq may be freed after).
 * Errors as vault_attest_attest for those steps; why as there.
 * work (any thread; touches only job): verify the evidence, the binding and
 * the identity, make the session key pair and derive the session key into
 * the job. Its outcome is kept in the job for finish.
 * finish (loop thread): on success of the work, enter the session (token,
 * expiry; the key moves into the table's guarded memory) and fill token /
 * session_pk / *expires_at as vault_attest_attest does; else return the
 * work's error with its sentence in why. Frees (wipes) job either way.
 * vault_attest_job_free wipes and frees a job whose finish will not run
 * (the request was dropped); NULL ok. */
typedef struct vault_attest_job vault_attest_job;
int vault_attest_begin(struct vault *v, const vault_attest_req *rq, vault_attest_job **job,
                       char *why, size_t whylen) TV_WUR;
void vault_attest_work(vault_attest_job *job);
int vault_attest_finish(struct vault *v, vault_attest_job *job, char token[VAULT_ATTEST_TOKEN_BUF],
                        uint8_t session_pk[32], int64_t *expires_at, char *why,
                        size_t whylen) TV_WUR;
void vault_attest_job_free(vault_attest_job *job);
/* After a successful work step, before finish frees the job: the key the
 * reply's MAC is made with (seal_attest_reply_mac; the caller wipes its
 * copy) and the expiry of the session key pair's certificate. */
void vault_attest_job_reply_key(const vault_attest_job *job, uint8_t mac_key[32],
                                int64_t *session_key_expires);

/* Secrets.Get in a function session: seal len bytes of pt, read as (name,
 * version), with the key of session `session_id` (vault_principal.fn_session
 * from vault_attest_resolve_session). *out (len + SEAL_FNGET_OVERHEAD bytes,
 * malloc'ed, caller frees) = nonce || XChaCha20-Poly1305 (seal_fnget.h).
 * One AEAD: no public-key operation, no signature. Errors:
 * TV_ERR_UNAUTHENTICATED (no such live session: expired or dropped since the
 * call was authenticated), TV_ERR_INVALID, TV_ERR_NOMEM. */
int vault_attest_seal_get(struct vault *v, const uint8_t session_id[32], const char *name,
                          uint64_t version, const uint8_t *pt, size_t len, uint8_t **out,
                          size_t *out_len) TV_WUR;

/* Report: vault_ident.h (Report v2). */

/* SHA-256("teevault-policy-hash-v1\0" || for db in (policies, functions):
 * u8 tag || for each record u32be klen || key || u32be vlen || value).
 * Cached: recomputed (one scan of both DBs) only after
 * vault_attest_policy_changed(). Any thread (its own read transaction). */
int vault_attest_policy_hash(struct vault *v, uint8_t out[32]) TV_WUR;

/* WARNING: whoever commits a change to the policies or functions DB calls
 * this AFTER the commit, or Report keeps binding the old policy hash. */
void vault_attest_policy_changed(struct vault *v);

/* Function sessions for vault_auth_resolve (declared weak in vault_auth.h):
 * tokens with the "tvf." prefix. */
int vault_attest_resolve_session(struct vault *v, const char *token, size_t token_len,
                                 vault_principal *out);

/* Drop every session of function `name` (Functions.Write / Delete). */
void vault_attest_drop_function(struct vault *v, const char *name);

/* Live session count (tests, status). */
size_t vault_attest_session_count(struct vault *v);

/* Tests only: a session for function `name` (no ACL policies) without
 * evidence, its id in session_id and the vault's key in session_pk.
 * Errors as session creation: TV_ERR_INVALID, TV_ERR_RESOURCE, TV_ERR_NOMEM. */
int vault_attest_test_session(struct vault *v, const char *name, const uint8_t eph_pk[32],
                              uint8_t session_id[32], uint8_t session_pk[32]) TV_WUR;

/* Tests: shift this module's clock by delta seconds. */
void vault_attest_test_advance(struct vault *v, int64_t delta);

/* Once a second on the event loop: wipe the vault's session key pair once
 * its reuse window (1 s) has passed, so no secret of it outlives ~2 s. */
void vault_attest_tick(struct vault *v);

/* Tests: 1 while a session key pair is held (not yet wiped), else 0. */
int vault_attest_test_eph_live(struct vault *v);

#endif
