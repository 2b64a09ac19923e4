/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_ident: the vault's signing identity and its Report v2 (issue 12;
 * docs/ATTESTATION.md "Report v2 and the signed session").
 *
 *   vault id       = KDF(RK, "teevault/id")          public, pinned by clients
 *   signing key    = Ed25519 from seed KDF(RK, "teevault/sign")
 *                    (secret half in sodium_malloc memory, wiped on close)
 *   config hash    = vault_ident_config_hash (the effective configuration)
 *   TLS key hash   = SHA-256 of the TLS server certificate's
 *                    SubjectPublicKeyInfo (DER), zeros without [listen] tcp
 *
 * The Report binds all of them, the audit key, policy hash and the signed
 * state (seal_state: vault id, state version, audit seq, audit head) to the
 * caller's nonce in the evidence's report_data (seal_report_binding_v2).
 * The signing key certifies each vault session key pair (once per pair) and
 * every AttestResponse carries a MAC under a key derived from that pair and
 * the function's ephemeral key (seal_attest_reply_mac), so a relay that swaps
 * session_pubkey or alters the reply is caught by a client that pinned the
 * key from a verified Report.
 *
 * The identity is derived on first use after the root key is unsealed and
 * re-derived if the root key changes (init in the same process). State hangs
 * off v->ident; event-loop thread only.
 */
#ifndef VAULT_IDENT_H
#define VAULT_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "seal_channel.h"
#include "tv_err.h"
#include "vault.h"

/* The vault id. Errors: TV_ERR_NOT_INITIALISED (no root key), TV_ERR_NOMEM. */
int vault_ident_id(struct vault *v, uint8_t id[32]) TV_WUR;

/* The signing public key. Errors as vault_ident_id. */
int vault_ident_pubkey(struct vault *v, uint8_t pk[32]) TV_WUR;

/* The state the vault vouches for now: vault id, state version, audit head
 * and seq. Errors as vault_ident_id, TV_ERR_AUDIT, storage errors. */
int vault_ident_state(struct vault *v, seal_state *st) TV_WUR;

/* Sign st (seal_state_message). Errors as vault_ident_id. */
int vault_ident_sign_state(struct vault *v, const seal_state *st, uint8_t sig[SEAL_SIG_LEN]) TV_WUR;

/* Authenticate an Attest reply for function `name` (NUL-terminated,
 * <= VAULT_ID_MAX) over the vault's current state, returned in *st: sig is
 * the certificate of the session key pair (seal_session_key_message; signed
 * once per pair and kept), mac the reply's MAC under mac_key
 * (seal_attest_reply_message, seal_attest_reply_mac). Errors as
 * vault_ident_state, TV_ERR_INVALID, TV_ERR_CRYPTO. */
typedef struct vault_attest_reply_in {
    const uint8_t *nonce;      /* 32 */
    const uint8_t *eph_pk;     /* 32 */
    const uint8_t *session_pk; /* 32 */
    int64_t key_expires;       /* the pair's certificate (vault_attest_job_reply_key) */
    const uint8_t *mac_key;    /* 32 */
    const char *name;
    int64_t expires_at; /* the session's */
    const char *token;  /* NUL-terminated, < VAULT_ATTEST_TOKEN_BUF */
} vault_attest_reply_in;
int vault_ident_attest_reply(struct vault *v, const vault_attest_reply_in *in, seal_state *st,
                             uint8_t sig[SEAL_SIG_LEN], uint8_t mac[SEAL_REPLY_MAC_LEN]) TV_WUR;

/* Attestation.AuditAt: the chain hash of audit record seq (or that it is
 * archived or beyond the head, vault_audit_hash_at) signed with the caller's
 * nonce (seal_audit_at_message). Loop thread. Errors as vault_ident_id,
 * vault_audit_hash_at's. */
int vault_ident_audit_at(struct vault *v, const uint8_t nonce[32], uint64_t seq, uint32_t *status,
                         uint8_t hash[32], uint8_t vault_id[32], uint8_t sig[SEAL_SIG_LEN]) TV_WUR;

/* SHA-256 over the effective configuration (every parsed key in a fixed
 * order, "teevault-config-hash-v1"); zeros when the vault has no config.
 * Errors: none today (returns 0). */
int vault_ident_config_hash(struct vault *v, uint8_t out[32]) TV_WUR;

/* SHA-256 of the TLS certificate's public key (DER SubjectPublicKeyInfo),
 * zeros when no TLS listener is configured. Errors: TV_ERR_IO (cannot read
 * the certificate), TV_ERR_FORMAT. */
int vault_ident_tls_key_hash(struct vault *v, uint8_t out[32]) TV_WUR;

/* Report v2 over nonce. *evidence malloc'ed (caller frees), *type static.
 * Before init the id, signing key and state signature are zeros (a client
 * cannot pin such a vault). Errors: TV_ERR_INVALID (nonce not 32 bytes),
 * TV_ERR_UNAVAILABLE (no seal backend), TV_ERR_AUDIT, backend evidence
 * errors, storage errors. */
typedef struct vault_ident_report {
    uint8_t *evidence;
    size_t evidence_len;
    const char *type;
    seal_report_fields f;
    uint8_t state_sig[SEAL_SIG_LEN];
} vault_ident_report;
int vault_ident_report_make(struct vault *v, const uint8_t *nonce, size_t nonce_len,
                            vault_ident_report *out) TV_WUR;

/* The same Report in two steps, so the slow parts run on the server's
 * worker thread (issue 14: the backend's evidence is a quote, with dstack an
 * HTTP call with long timeouts; the policy hash scans two tables):
 *   begin (loop thread)  validates; reads the audit key, the signed state,
 *                        the signing key, config and TLS key hashes into
 *                        job (errors as vault_ident_report_make's before the
 *                        evidence).
 *   work  (any thread)   policy hash (cached, vault_attest_policy_hash),
 *                        binding, evidence; touches only job, the backend
 *                        and its own read transaction. job->r is 0 (job->out
 *                        filled; the caller frees job->out.evidence) or the
 *                        error. */
typedef struct vault_ident_report_job {
    struct vault *v;
    uint8_t nonce[32];
    vault_ident_report out;
    int r;
} vault_ident_report_job;
int vault_ident_report_begin(struct vault *v, const uint8_t *nonce, size_t nonce_len,
                             vault_ident_report_job *job) TV_WUR;
void vault_ident_report_work(vault_ident_report_job *job);

/* Free v->ident (wiping the signing key). NULL-safe, idempotent. */
void vault_ident_close(struct vault *v);

#endif
