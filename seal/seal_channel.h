/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_channel: the vault's signed identity on the wire (issue 12,
 * docs/ATTESTATION.md "Report v2 and the signed session"). The exact bytes
 * that the vault's Report binds, that its signing key signs and that an
 * Attest reply's MAC covers, built the
 * same way by the vault (vault/vault_ident.c) and by libteevault
 * (client/tv_attest.c); the JavaScript and Python clients rebuild them from
 * the documented layout.
 *
 * All integers are big-endian. No function here allocates or fails.
 */
#ifndef SEAL_CHANNEL_H
#define SEAL_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "seal_producers.h"

/* Report format carried in ReportResponse.report_version. */
#define SEAL_REPORT_VERSION 2
#define SEAL_REPORT_DOMAIN2 "teevault-report-v2"
/* Signed messages: the domain string including its NUL comes first. */
#define SEAL_STATE_DOMAIN        "teevault-state-v1"
#define SEAL_ATTEST_REPLY_DOMAIN "teevault-attest-reply-v2"
#define SEAL_SESSION_KEY_DOMAIN  "teevault-session-key-v1"
#define SEAL_AUDIT_AT_DOMAIN     "teevault-audit-at-v1"

#define SEAL_SIG_LEN 64 /* Ed25519 */
#define SEAL_PK_LEN  32

/* A signed state checkpoint: what the vault vouches is its newest state. */
typedef struct seal_state {
    uint8_t vault_id[32];
    uint64_t state_version; /* increments with every commit (0: not tracked) */
    uint64_t audit_seq;
    uint8_t audit_head[32];
} seal_state;

/* "teevault-state-v1\0" || vault_id[32] || u64 state_version ||
 * u64 audit_seq || audit_head[32] */
#define SEAL_STATE_MSG_LEN (sizeof SEAL_STATE_DOMAIN + 32 + 8 + 8 + 32)
void seal_state_message(const seal_state *s, uint8_t msg[SEAL_STATE_MSG_LEN]);

/* Every field the Report v2 binds besides the caller's nonce. */
typedef struct seal_report_fields {
    uint8_t vault_id[32];
    uint8_t sign_pubkey[32];  /* Ed25519: Attest replies and state checkpoints */
    uint8_t config_hash[32];  /* the effective configuration */
    uint8_t tls_key_hash[32]; /* SHA-256 of the TLS server key's SubjectPublicKeyInfo (DER); zeros
                                 without a TLS listener */
    uint8_t audit_pubkey[32];
    uint8_t policy_hash[32];
    uint8_t audit_head[32];
    uint64_t audit_seq;
    uint64_t state_version;
} seal_report_fields;

/* report_data = SHA-512("teevault-report-v2" || nonce[32] || vault_id ||
 *   sign_pubkey || config_hash || tls_key_hash || audit_pubkey ||
 *   policy_hash || audit_head || u64 audit_seq || u64 state_version) */
void seal_report_binding_v2(const uint8_t nonce[32], const seal_report_fields *f,
                            uint8_t out[SEAL_REPORT_DATA_LEN]);

/* The certificate of a vault session key pair, signed once per pair
 * (AttestResponse.signature):
 *   "teevault-session-key-v1\0" || vault_id[32] || session_pk[32] ||
 *   i64 expires_at
 * A client accepts it until expires_at + SEAL_SESSION_KEY_SKEW (its own
 * clock); the vault wipes the pair's secret key before expires_at. */
#define SEAL_SESSION_KEY_MSG_LEN (sizeof SEAL_SESSION_KEY_DOMAIN + 32 + 32 + 8)
#define SEAL_SESSION_KEY_SKEW    60
void seal_session_key_message(const uint8_t vault_id[32], const uint8_t session_pk[32],
                              int64_t expires_at, uint8_t msg[SEAL_SESSION_KEY_MSG_LEN]);

/* What every AttestResponse's reply_mac covers (seal_attest_reply_mac):
 *   "teevault-attest-reply-v2\0" || vault_id[32] || nonce[32] || eph_pk[32] ||
 *   session_pk[32] || u32 len(name) || name || i64 expires_at ||
 *   u64 state_version || u64 audit_seq || audit_head[32] ||
 *   i64 session_key_expires_at || u32 len(token) || token
 * msg must hold SEAL_ATTEST_MSG_MAX(name_len, token_len) bytes; returns the
 * length. */
#define SEAL_ATTEST_MSG_MAX(name_len, token_len)                                                   \
    (sizeof SEAL_ATTEST_REPLY_DOMAIN + 32 * 4 + 4 + (name_len) + 8 + 8 + 8 + 32 + 8 + 4 +          \
     (token_len))
size_t seal_attest_reply_message(const uint8_t nonce[32], const uint8_t eph_pk[32],
                                 const uint8_t session_pk[32], const char *name, size_t name_len,
                                 int64_t expires_at, const seal_state *st,
                                 int64_t session_key_expires_at, const char *token,
                                 size_t token_len, uint8_t *msg);

/* reply_mac = BLAKE2b-256 keyed with mac_key (seal_fn_session_key) over
 * the reply message. Only the holder of the certified session secret key
 * and the holder of the function's ephemeral secret key can compute it. */
#define SEAL_REPLY_MAC_LEN 32
void seal_attest_reply_mac(const uint8_t mac_key[32], const uint8_t *msg, size_t len,
                           uint8_t mac[SEAL_REPLY_MAC_LEN]);

/* What the vault signs in an AuditAtResponse (Attestation.AuditAt):
 *   "teevault-audit-at-v1\0" || vault_id[32] || nonce[32] || u64 seq ||
 *   u32 status || hash[32]
 * status: SEAL_AUDIT_AT_*; hash is zeros unless FOUND. */
#define SEAL_AUDIT_AT_FOUND    0
#define SEAL_AUDIT_AT_ARCHIVED 1 /* below the first record still stored */
#define SEAL_AUDIT_AT_BEYOND   2 /* past the head */
#define SEAL_AUDIT_AT_MSG_LEN  (sizeof SEAL_AUDIT_AT_DOMAIN + 32 + 32 + 8 + 4 + 32)
void seal_audit_at_message(const uint8_t vault_id[32], const uint8_t nonce[32], uint64_t seq,
                           uint32_t status, const uint8_t hash[32],
                           uint8_t msg[SEAL_AUDIT_AT_MSG_LEN]);

#endif
