/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by the libteevault per-service wrappers (tv_*.c). Not
 * installed. The transport (tv_conn) is reached only through tv_call().
 */
#ifndef TV_CLIENT_INT_H
#define TV_CLIENT_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "teevault.h"
#include "teevault.pb-c.h"

struct tv_conn;
struct tv_keypool;
struct seal_backend;

struct tv_client {
    struct tv_conn *conn;
    char errmsg[512];
    int last_grpc;
    /* The vault pinned by tv_attest_verify_vault / tv_client_pin_vault:
     * Attest replies' session keys must be certified by sign_pk for
     * vault_id. */
    int vault_pinned;
    uint8_t vault_id[32];
    uint8_t vault_sign_pk[32];
    /* The newest signed state of the pinned vault seen on this client
     * (Report or Attest reply); a signed state older than it is refused. */
    int seen_valid;
    struct tv_known_state {
        uint8_t vault_id[32];
        uint8_t sign_pk[32];
        uint64_t state_version;
        uint64_t audit_seq;
        uint8_t audit_head[32];
    } seen;
    /* Function side (tv_attest.c): session keys live in this pool's locked
     * pages (made at the first attestation); the TEE backend opened for
     * tee_opts (an encoding of the tv_attest_opts it was opened with) is
     * kept for later attestations with the same options. */
    struct tv_keypool *keys;
    struct seal_backend *tee;
    char *tee_opts;
    /* The nonce the last Attest reply offered for the next attestation
     * (AttestResponse.next_nonce): single use, until next_nonce_exp (unix
     * seconds; 0 = none). tv_attest_function spends it instead of a
     * Challenge round trip. */
    uint8_t next_nonce[32];
    int64_t next_nonce_exp;
    /* The last vault session key certificate verified (AttestResponse
     * signature over seal_session_key_message) and the key that signed it:
     * the vault certifies a key pair once a second, so a client attesting
     * often verifies one signature per pair, not one per attestation. */
    int cert_valid;
    uint8_t cert_signer[32];
    uint8_t cert_pk[32];
    int64_t cert_exp;
    uint8_t cert_sig[64];
};

/* Known vaults (tv_known.c; docs/ATTESTATION.md "Freshness"). */
typedef struct tv_known_state tv_known_state;

/* 0 when `now` is not older than `known`; else c's error is set naming
 * `where` (the file or "this connection") and seen_at (unix time, 0 =
 * unknown): TV_ERR_ROLLBACK (state version or audit seq lower, or the same
 * seq with another head), TV_ERR_VERIFY (another signing key). */
int tv_known_older(tv_client *c, const tv_known_state *known, const tv_known_state *now,
                   const char *where, int64_t seen_at) TV_WUR;

/* The known_vaults file as it was before a request was sent: the reply is
 * judged against this, not against lines other clients of the same user
 * recorded while the request was in flight (their replies may be signed
 * later than this one's: not a rollback). */
typedef struct tv_known_snapshot {
    int taken; /* 0: no file in use (path ""), nothing to compare */
    char path[PATH_MAX];
    size_t n;
    tv_known_state *e; /* malloc'ed, n entries */
} tv_known_snapshot;

/* Read the file (path: NULL = default, "" = no file: snap->taken = 0).
 * Errors: TV_ERR_IO (cannot read it), TV_ERR_TOO_LARGE, TV_ERR_NOMEM,
 * TV_ERR_INVALID (no default path). Free with tv_known_snapshot_free. */
int tv_known_vaults_snapshot(tv_client *c, const char *path, tv_known_snapshot *snap) TV_WUR;
void tv_known_snapshot_free(tv_known_snapshot *snap);

/* The snapshot's line for vault_id, or NULL. */
const tv_known_state *tv_known_find(const tv_known_snapshot *snap, const uint8_t vault_id[32]);

/* Set c's error for a vault whose signed audit chain does not hold the
 * record `known` names (Attestation.AuditAt); returns TV_ERR_ROLLBACK. */
int tv_known_forked(tv_client *c, const tv_known_state *known, const char *where) TV_WUR;

/* Check `now` against the snapshot's line for its vault id (tv_known_older)
 * and record it in the file unless the file already holds a newer state of
 * that vault (recorded since the snapshot by another client). A line with
 * another signing key is refused whenever it was written. Errors as
 * tv_known_older, TV_ERR_IO (cannot lock or write the file; the file is
 * unchanged), TV_ERR_TOO_LARGE. */
int tv_known_vaults_check(tv_client *c, const tv_known_snapshot *snap,
                          const tv_known_state *now) TV_WUR;

/* Service names on the wire. */
#define TV_SVC_SYS         "teevault.v1.Sys"
#define TV_SVC_AUTH        "teevault.v1.Auth"
#define TV_SVC_SECRETS     "teevault.v1.Secrets"
#define TV_SVC_POLICIES    "teevault.v1.Policies"
#define TV_SVC_FUNCTIONS   "teevault.v1.Functions"
#define TV_SVC_ATTESTATION "teevault.v1.Attestation"
#define TV_SVC_AUDIT       "teevault.v1.Audit"
#define TV_SVC_GOVERNANCE  "teevault.v1.Governance"

/* One unary call. On success *resp is an unpacked message of resp_desc, freed
 * with tv_msg_free() (or tv_msg_free_wipe() when it holds secrets). On failure
 * c->errmsg is set and a tv_err returned (the server's gRPC status mapped). */
int tv_call(tv_client *c, const char *service, const char *method, const ProtobufCMessage *req,
            const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp) TV_WUR;

/* Set c->errmsg (printf-style) and return err. */
int tv_fail(tv_client *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void tv_msg_free(ProtobufCMessage *m);

/* Argument checks: non-NULL, NUL-terminated within max bytes. */
int tv_check_str(tv_client *c, const char *what, const char *s, size_t max) TV_WUR;

/* Allocation helpers. tv_xstrdup(NULL) returns a copy of "". */
char *tv_xstrdup(const char *s);
void *tv_xmemdup(const void *p, size_t n);
/* Copy n strings; NULL on allocation failure. n == 0 returns a non-NULL empty vector. */
char **tv_strv_dup(char *const *v, size_t n);
/* A secret allocation of n bytes (+1 NUL) that tv_free_secret() wipes. */
void *tv_secret_alloc(size_t n);
char *tv_secret_strdup(const char *s);

#define TV_NAME_MAX   512
#define TV_TEXT_MAX   (1024 * 1024)
#define TV_SECRET_MAX (1024 * 1024)

#endif
