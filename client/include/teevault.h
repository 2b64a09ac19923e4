/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libteevault: the C client library for teevaultd.
 *
 * One tv_client is one connection (Unix socket or TLS 1.3) to a vault. Every
 * RPC of the services Sys, Auth, Secrets and Policies has one blocking call
 * here; the CLI `teevault` uses nothing else.
 *
 * Conventions (they hold for every function below unless it says otherwise):
 * - Fallible functions return 0 or a negative tv_err (tv_err.h, installed
 *   next to this header); tv_strerror()/tv_errname() describe the code.
 *   When the server refused a call, the code is mapped from its gRPC status
 *   and tv_client_last_error() returns the server's message. Local failures
 *   (bad arguments, connection lost) set a local message there too.
 * - Besides the errors listed per call, any RPC can fail with:
 *   TV_ERR_UNAUTHENTICATED (no, unknown, expired or revoked token),
 *   TV_ERR_DENIED (ACL), TV_ERR_NOT_INITIALISED (vault not initialised or
 *   sealed), TV_ERR_INVALID (bad argument, refused locally or by the vault),
 *   TV_ERR_TOO_LARGE (refused locally), TV_ERR_RESOURCE, TV_ERR_INTEGRITY,
 *   TV_ERR_INTERNAL, and the transport errors of tv_client_open().
 *   The wire carries gRPC codes only, so codes that share one gRPC code
 *   arrive as one of them (e.g. deleted/destroyed versions as
 *   TV_ERR_NOT_FOUND, a replayed nonce as TV_ERR_DENIED); the vault's
 *   message in tv_client_last_error() says which.
 * - Outputs are written only on success; on failure they are left untouched.
 * - Strings passed in are NUL-terminated UTF-8 and are copied; the caller
 *   keeps ownership.
 * - Everything returned is owned by the caller and freed with the function
 *   named next to it:
 *     plain strings (char *)                      tv_free()
 *     string vectors (char **, n)                 tv_strv_free()
 *     tokens, passphrases, secret values          tv_free_secret()  (wipes)
 *     tv_status / tv_token_info / tv_user_info[] /
 *     tv_secret_meta / tv_explain                 their *_free() function
 *   Every free function accepts NULL.
 * - WARNING: a tv_client is not thread-safe. Use one per thread, or serialise
 *   calls on it (tv_client_last_error() reports the last call on the client).
 * - Secrets (passwords, tokens, values) are never logged and are wiped from
 *   the library's own buffers after use.
 */
#ifndef TEEVAULT_H
#define TEEVAULT_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TEEVAULT_DEFAULT_ADDR "unix:/run/teevault/teevault.sock"

typedef struct tv_client tv_client;

/* Connection options. Zero-initialise and set what you need. */
typedef struct tv_client_opts {
    const char *cacert;      /* tls: PEM file of CAs to trust; NULL = system store */
    const char *client_cert; /* tls: PEM client certificate (mutual TLS) or NULL */
    const char *client_key;  /* tls: PEM private key of client_cert, or NULL */
    const char *server_name; /* tls: name to verify/SNI; NULL = host part of addr */
    unsigned timeout_ms;     /* connect and per-call deadline; 0 = 30000 */
} tv_client_opts;

/* ------------------------------------------------------------------ client */

/* Connect to `addr`: "unix:/path/to.sock" or "tls://host:port" (TLS 1.3,
 * server certificate verified against opts->cacert). opts may be NULL.
 * On success *out is a new client, freed with tv_client_close().
 * Errors: TV_ERR_INVALID (malformed addr), TV_ERR_UNAVAILABLE (cannot connect),
 * TV_ERR_VERIFY (TLS handshake / certificate failure), TV_ERR_TIMEOUT,
 * TV_ERR_IO (cannot read the CA / certificate / key files), TV_ERR_CRYPTO,
 * TV_ERR_NOMEM.
 * WARNING: after a transport failure (TV_ERR_UNAVAILABLE, TV_ERR_TIMEOUT,
 * TV_ERR_PROTOCOL from any call) the connection is dead: every later call
 * fails with TV_ERR_UNAVAILABLE; close the client and open a new one. A
 * refusal by the vault (any other error) leaves the connection usable. */
int tv_client_open(const char *addr, const tv_client_opts *opts, tv_client **out) TV_WUR;

/* Why tv_client_open_ex failed. */
typedef struct tv_open_error {
    int sys_errno;  /* errno of the failing system call (ECONNREFUSED, EACCES,
                     * ENOENT, ETIMEDOUT, ...), 0 when none (DNS, TLS, syntax) */
    char what[512]; /* one line naming what failed and why: the socket path,
                     * host and port, CA / certificate / key file, or the TLS
                     * verification result. Contains caller-supplied bytes
                     * (addr, file names): escape before printing. */
} tv_open_error;

/* tv_client_open, and on failure (when err is not NULL) the cause in *err
 * (cleared on entry; on success err->what is ""). Same errors. */
int tv_client_open_ex(const char *addr, const tv_client_opts *opts, tv_client **out,
                      tv_open_error *err) TV_WUR;

/* Close the connection, wipe the stored token and free the client. NULL ok. */
void tv_client_close(tv_client *c);

/* Use `token` (copied into wiped memory) as `authorization: Bearer <token>`
 * on every following call; NULL or "" removes it.
 * Errors: TV_ERR_INVALID (control characters or too long), TV_ERR_NOMEM. */
int tv_client_set_token(tv_client *c, const char *token) TV_WUR;

/* Message describing the last failed call on c (the server's status message
 * when the server refused it). Never NULL; "" after a successful call. Valid
 * until the next call on c. WARNING: it may contain server-supplied bytes;
 * escape before printing it to a terminal. */
const char *tv_client_last_error(const tv_client *c);

/* gRPC status code of the last call on c (0 after success, -1 when the call
 * failed locally before a response arrived). */
int tv_client_last_grpc_status(const tv_client *c);

/* ------------------------------------------------------------------ memory */

/* Free a plain string or buffer returned by this library. NULL ok. */
void tv_free(void *p);
/* Free a vector of n strings and the vector itself. NULL ok. */
void tv_strv_free(char **v, size_t n);
/* Wipe and free a token, passphrase or secret value returned by this library
 * (it knows the allocation's length). NULL ok. WARNING: only for pointers
 * documented as "freed with tv_free_secret()"; never for other memory. */
void tv_free_secret(void *p);

/* ------------------------------------------------------------------ Sys */

typedef struct tv_status {
    int initialized;
    char *version;     /* teevault software version */
    char *tee_backend; /* sim | gramine-sgx | tsm | dstack */
    int hardware_protected;
    char *warning; /* "" when none */
    uint64_t kek_epoch;
    uint8_t *measurement;
    size_t measurement_len;
    uint8_t *signer;
    size_t signer_len;
    char *seal_policy; /* signer | measurement */
    uint64_t storage_used_bytes;
    uint64_t storage_map_bytes;
    uint64_t audit_seq;
    uint8_t *audit_head;
    size_t audit_head_len;
    uint8_t *audit_pubkey;
    size_t audit_pubkey_len;
    uint32_t audit_used_percent;
    int operator_plaintext_reads;
    /* Added in 0.2 (at the end: the library allocates tv_status). */
    int sealed;  /* initialised, but the root key is not unsealed here */
    char *state; /* "active", "sealed" or "uninitialized" */
    int rotation_running;
    uint64_t rotation_epoch;     /* epoch of the running or last rotation */
    uint64_t rotation_rewrapped; /* DEKs re-wrapped so far */
    uint64_t rotation_visited;   /* versions visited so far ... */
    uint64_t rotation_total;     /* ... of this many */
    char *rotation_error;        /* why the last re-wrap stopped, "" if it did not */
} tv_status;

/* Sys.Status (no token needed). *out freed with tv_status_free(). */
int tv_sys_status(tv_client *c, tv_status **out) TV_WUR;
void tv_status_free(tv_status *s);

/* Sys.Health (no token needed). *state ("active", "uninitialized", "sealed")
 * freed with tv_free(); state may be NULL if not wanted. */
int tv_sys_health(tv_client *c, int *ok, char **state) TV_WUR;

/* Sys.Initialize: initialise an empty vault. recovery_passphrase NULL or ""
 * lets the vault generate one. *root_token and (when generated)
 * *recovery_passphrase_out are freed with tv_free_secret(); the latter is set
 * to NULL when the caller supplied the passphrase. recovery_passphrase_out
 * may be NULL only when the caller supplies a passphrase.
 * Errors: TV_ERR_EXISTS (already initialised) and the transport errors. */
int tv_sys_init(tv_client *c, const char *recovery_passphrase, char **root_token,
                char **recovery_passphrase_out) TV_WUR;

/* Sys.Recover: re-seal the root key to this enclave from the passphrase.
 * No token needed. Errors: TV_ERR_DENIED (wrong passphrase; the vault delays
 * the answer), TV_ERR_NOT_INITIALISED (no recovery escrow stored),
 * TV_ERR_INVALID (empty passphrase). */
int tv_sys_recover(tv_client *c, const char *recovery_passphrase) TV_WUR;

/* Sys.Rotate: new KEK epoch. Either output may be NULL. The vault re-wraps
 * the existing DEKs in bounded steps after replying (other requests go on
 * meanwhile); *rewrapped counts only those done before the reply. Follow the
 * rest in tv_status's rotation_* fields.
 * Errors: TV_ERR_RESOURCE (a previous rotation is still re-wrapping). */
int tv_sys_rotate(tv_client *c, uint64_t *kek_epoch, uint64_t *rewrapped) TV_WUR;
/* One chunk of a store snapshot (Sys.Snapshot). */
typedef struct tv_snapshot_chunk {
    char id[33];     /* the snapshot's id: pass it back for the next chunk */
    uint64_t total;  /* bytes of the whole snapshot */
    uint64_t offset; /* where data starts */
    uint8_t *data;   /* len bytes, freed with tv_free() */
    size_t len;
    int last;           /* the vault deleted its copy after this chunk */
    uint8_t sha256[32]; /* of the whole snapshot */
    uint64_t audit_seq; /* the audit head inside the snapshot */
} tv_snapshot_chunk;

/* Sys.Snapshot: id NULL or "" starts a snapshot (the vault drains its audit
 * journal, records the call and copies its store) and returns the first
 * chunk; then pass the id and the next offset. Needs admin on sys/snapshot.
 * Errors: TV_ERR_NOT_FOUND (no such snapshot in progress), TV_ERR_IO. */
int tv_sys_snapshot(tv_client *c, const char *id, uint64_t offset, tv_snapshot_chunk *out) TV_WUR;

/* tv_sys_rotate, also returning how many versions the background re-wrap
 * will visit (*pending; may be NULL). */
int tv_sys_rotate_ex(tv_client *c, uint64_t *kek_epoch, uint64_t *rewrapped,
                     uint64_t *pending) TV_WUR;

/* ------------------------------------------------------------------ Auth */

typedef struct tv_token_info {
    char *token_id; /* public handle, never the token itself */
    char *display_name;
    char **policies;
    size_t n_policies;
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    char *user;         /* owning user; "" for root and tokens root made */
    int root;
    char *parent; /* id of the token that created it ("" = none): revoking
                     the parent revokes this one (appended: ABI-compatible) */
} tv_token_info;

void tv_token_info_free(tv_token_info *t);

/* Auth.Login: trade user + password for a token. *token freed with
 * tv_free_secret(); *info (may pass NULL) with tv_token_info_free(). The
 * client does NOT start using the token: call tv_client_set_token().
 * Errors: TV_ERR_UNAUTHENTICATED (bad user or password; the server delays
 * failed logins). */
int tv_auth_login(tv_client *c, const char *user, const char *password, char **token,
                  tv_token_info **info) TV_WUR;

/* Auth.TokenCreate: a new token with the given policies (n may be 0),
 * ttl_seconds (0 = server default) and display name (NULL ok). Outputs as
 * tv_auth_login. Errors: TV_ERR_DENIED, TV_ERR_UNAUTHENTICATED. */
int tv_token_create(tv_client *c, const char *const *policies, size_t n_policies,
                    int64_t ttl_seconds, const char *display_name, char **token,
                    tv_token_info **info) TV_WUR;

/* Auth.TokenRevoke / TokenLookup by token id; NULL or "" = the caller's own
 * token. Lookup's *info is freed with tv_token_info_free(). */
int tv_token_revoke(tv_client *c, const char *token_id) TV_WUR;
int tv_token_lookup(tv_client *c, const char *token_id, tv_token_info **info) TV_WUR;

typedef struct tv_user_info {
    char *name;
    char **policies;
    size_t n_policies;
    int64_t created_at;
} tv_user_info;

/* Auth.UserAdd / UserPasswd / UserDelete. Errors: TV_ERR_EXISTS,
 * TV_ERR_NOT_FOUND, TV_ERR_INVALID, TV_ERR_DENIED. */
int tv_user_add(tv_client *c, const char *name, const char *password, const char *const *policies,
                size_t n_policies) TV_WUR;
int tv_user_passwd(tv_client *c, const char *name, const char *password) TV_WUR;
int tv_user_delete(tv_client *c, const char *name) TV_WUR;
/* Auth.UserList: *users is an array of *n entries, freed with
 * tv_user_list_free(*users, *n). */
int tv_user_list(tv_client *c, tv_user_info **users, size_t *n) TV_WUR;
void tv_user_list_free(tv_user_info *users, size_t n);

/* ------------------------------------------------------------------ Secrets */

typedef struct tv_put_opts {
    int cas_set;           /* when non-zero, cas must equal the current version */
    uint64_t cas;          /* 0 with cas_set: the secret must not exist yet */
    uint32_t max_versions; /* 0 = keep the secret's setting */
} tv_put_opts;

/* Secrets.Put: store a new version of `name`. opts may be NULL. The value
 * is copied into the request and the request buffers are wiped after sending.
 * *version (may be NULL) receives the new version.
 * Errors: TV_ERR_CAS (check-and-set mismatch), TV_ERR_DENIED, TV_ERR_TOO_LARGE. */
int tv_secret_put(tv_client *c, const char *name, const void *value, size_t len,
                  const tv_put_opts *opts, uint64_t *version) TV_WUR;

/* Secrets.Get: version 0 = latest live. *value (len bytes, followed by an
 * extra NUL not counted in len) is freed with tv_free_secret().
 * *version_out (may be NULL) receives the version returned.
 * Errors: TV_ERR_NOT_FOUND (also deleted / destroyed versions), TV_ERR_DENIED. */
int tv_secret_get(tv_client *c, const char *name, uint64_t version, uint8_t **value, size_t *len,
                  uint64_t *version_out) TV_WUR;

/* Secrets.List: one page of names under prefix (NULL = all). limit 0 = 100.
 * cursor NULL/"" = first page. *names (n entries) freed with tv_strv_free();
 * *next_cursor (may pass NULL) freed with tv_free(), "" when no more pages. */
int tv_secret_list(tv_client *c, const char *prefix, uint32_t limit, const char *cursor,
                   char ***names, size_t *n, char **next_cursor) TV_WUR;

typedef struct tv_version_info {
    uint64_t version;
    int64_t created_at;
    int64_t deleted_at; /* 0 = live */
    int destroyed;
    uint32_t kek_epoch;
} tv_version_info;

typedef struct tv_secret_meta {
    char *name;
    uint64_t current_version;
    uint32_t max_versions;
    int64_t created_at;
    int64_t updated_at;
    tv_version_info *versions;
    size_t n_versions;
} tv_secret_meta;

/* Secrets.Describe: metadata and versions (never values). *out freed with
 * tv_secret_meta_free(). */
int tv_secret_describe(tv_client *c, const char *name, tv_secret_meta **out) TV_WUR;
void tv_secret_meta_free(tv_secret_meta *m);

/* Secrets.Delete (soft), Undelete, Destroy (crypto-shred) of the listed
 * versions; n = 0 means the latest version. */
int tv_secret_delete(tv_client *c, const char *name, const uint64_t *versions, size_t n) TV_WUR;
int tv_secret_undelete(tv_client *c, const char *name, const uint64_t *versions, size_t n) TV_WUR;
int tv_secret_destroy(tv_client *c, const char *name, const uint64_t *versions, size_t n) TV_WUR;

/* ------------------------------------------------------------------ Policies */

/* Policies.Write / Read / List / Delete. Read's *document is freed with
 * tv_free(); List's *names with tv_strv_free(*names, *n). */
int tv_policy_write(tv_client *c, const char *name, const char *document) TV_WUR;
int tv_policy_read(tv_client *c, const char *name, char **document) TV_WUR;
int tv_policy_list(tv_client *c, char ***names, size_t *n) TV_WUR;
int tv_policy_delete(tv_client *c, const char *name) TV_WUR;

typedef struct tv_explain {
    int allowed;
    char *policy; /* deciding policy, "" for default deny */
    char *rule;   /* deciding rule's path glob */
    char *reason; /* sentence for humans */
} tv_explain;

/* Policies.Explain: why `capability` (NULL = "read") on `secret` is allowed
 * or denied for a principal (kind "user", "token" or "function").
 * *out freed with tv_explain_free(). Errors: TV_ERR_NOT_FOUND (no such
 * principal), TV_ERR_DENIED (the caller may not ask). */
int tv_policy_explain(tv_client *c, const char *principal_kind, const char *principal,
                      const char *secret, const char *capability, tv_explain **out) TV_WUR;
void tv_explain_free(tv_explain *e);

/* ------------------------------------------------------------------ Functions,
 * Attestation, Audit: declared so callers can be written now; they return
 * TV_ERR_UNIMPLEMENTED until the services land (issues for functions,
 * attestation and audit). */

typedef struct tv_function_info {
    char *name;
    char *policy; /* identity policy document */
    char **acl_policies;
    size_t n_acl_policies;
    int64_t created_at;
} tv_function_info;

int tv_function_write(tv_client *c, const tv_function_info *fn) TV_WUR;
int tv_function_show(tv_client *c, const char *name, tv_function_info **out) TV_WUR;
int tv_function_list(tv_client *c, tv_function_info **fns, size_t *n) TV_WUR;
int tv_function_delete(tv_client *c, const char *name) TV_WUR;
void tv_function_info_free(tv_function_info *f);
void tv_function_list_free(tv_function_info *fns, size_t n);

/* ------------------------------------------------------------ Governance */

/* Sys.Initialize with a governance set: n_keys Ed25519 public keys (32 bytes
 * each, 1..16, distinct) of which `threshold` must sign changes that decide
 * who can receive plaintext (docs/POLICIES.md "Governance"). n_keys 0 = none.
 * Otherwise as tv_sys_init. */
int tv_sys_init_governed(tv_client *c, const char *recovery_passphrase, const uint8_t (*keys)[32],
                         size_t n_keys, uint32_t threshold, char **root_token,
                         char **recovery_passphrase_out) TV_WUR;

/* A change to propose. kind: "function-write" (name, document = identity
 * policy, acl), "function-delete" (name), "policy-write" (name, document),
 * "policy-delete" (name), "governance-set" (keys, n_keys, threshold). */
typedef struct tv_gov_change {
    const char *kind;
    const char *name;
    const char *document;
    char *const *acl;
    size_t n_acl;
    const uint8_t (*keys)[32];
    size_t n_keys;
    uint32_t threshold;
} tv_gov_change;

typedef struct tv_gov_pending {
    char *id; /* 16 hex digits */
    char *kind;
    char *document; /* the canonical text the signers sign */
    int64_t created_at;
    char *proposer;
} tv_gov_pending;

void tv_gov_pending_free(tv_gov_pending *p); /* one from propose/show */
void tv_gov_pending_list_free(tv_gov_pending *p, size_t n);

/* Governance.Propose / Show / List / Apply. List also says how many keys
 * the set has, its threshold and whether a quorum is needed now (false when
 * operator plaintext reads are on). Apply sends n signatures (public key,
 * signature) over the change's document. */
int tv_governance_propose(tv_client *c, const tv_gov_change *ch, tv_gov_pending **out) TV_WUR;
int tv_governance_show(tv_client *c, const char *id, tv_gov_pending **out) TV_WUR;
int tv_governance_list(tv_client *c, tv_gov_pending **out, size_t *n, size_t *n_keys,
                       uint32_t *threshold, int *quorum_required) TV_WUR;
int tv_governance_apply(tv_client *c, const char *id, const uint8_t (*pks)[32],
                        const uint8_t (*sigs)[64], size_t n) TV_WUR;

/* Offline: sign document (len bytes) with an Ed25519 secret key (libsodium's
 * 64-byte form): sig = Ed25519(sk, "teevault-governance-v1\0" || document).
 * No connection; the key never leaves the caller. Returns 0 or
 * TV_ERR_CRYPTO / TV_ERR_NOMEM. */
int tv_governance_sign(const uint8_t sk[64], const char *document, size_t len,
                       uint8_t sig[64]) TV_WUR;

/* Attestation.Challenge: a 32-byte single-use nonce. */
int tv_attest_challenge(tv_client *c, uint8_t nonce[32], int64_t *expires_at) TV_WUR;
/* Attestation.Report: the vault's own evidence for nonce. *evidence freed
 * with tv_free(). */
int tv_attest_report(tv_client *c, const uint8_t *nonce, size_t nonce_len, uint8_t **evidence,
                     size_t *evidence_len, char **evidence_type) TV_WUR;

/* Audit.Head: last sequence number and head hash (32 bytes). */
int tv_audit_head(tv_client *c, uint64_t *seq, uint8_t head_hash[32]) TV_WUR;

/* ------------------------------------------------------------------ function side */

/* A function's attested session with the vault (Attestation.Attest). */
typedef struct tv_session tv_session;

/* Where the function's own evidence comes from (the TEE it runs in).
 * Zero-initialise; unset fields take the backend defaults. */
typedef struct tv_attest_opts {
    const char *tee;                  /* "sim" (default), "gramine-sgx", "tsm", "dstack" */
    const char *tee_root;             /* /dev/attestation, configfs-tsm dir, dstack socket, or the
                                         sim platform dir (must be the one the vault pins) */
    const char *sim_state_dir;        /* sim: required (its key file lives there) */
    const char *sim_measurement_file; /* sim: hashed as the measurement; NULL = own binary */
    const char *sim_signer;           /* sim: signer identity string */
    uint16_t sim_svn;                 /* sim: SVN */
    const char *sim_shape_file;       /* sim: SGX/TDX/SNP claims to carry (a 640-byte shape block,
                                         seal_sim_report.h), for testing identity policies
                                         without hardware; NULL = plain sim (appended: ABI-compatible) */
} tv_attest_opts;

/* Attest as function `function_name` running code with hash code_hash
 * (0..64 bytes; the vault compares it with the registered one if pinned):
 * a nonce (Challenge; or, when c attested before, the single-use nonce the
 * last Attest reply offered, if it has more than 5 s left — one round trip
 * instead of two; if the vault refuses that one as expired or unknown, one
 * more try with a Challenge), a fresh X25519 key pair, evidence from the
 * local TEE binding SHA-512("teevault-attest-v1" || nonce || u32be len || name || u32be len ||
 * code_hash || eph_pk), Attest. On success *out is a session on c (c must
 * outlive it; the session token is set as c's token), freed with
 * tv_session_free(). The TEE backend is opened at the first call and kept
 * on c for later calls with the same opts (the sim backend reads its key
 * files and hashes sim_measurement_file then, not per call). Errors:
 * TV_ERR_INVALID, the TEE backend's errors, and the vault's refusal mapped
 * from its gRPC status — TV_ERR_DENIED (replayed nonce, unknown function,
 * evidence not verified or not the registered identity),
 * TV_ERR_UNAUTHENTICATED (expired or unknown nonce), TV_ERR_INTEGRITY
 * (evidence bound to something else) — with the vault's reason in
 * tv_client_last_error(c).
 * WARNING: the vault must be pinned on c first — tv_attest_verify_vault()
 * (which pins the vault id and signing key its verified Report binds) or
 * tv_client_pin_vault(). The Attest reply must carry the pinned vault id,
 * a session key certified (Ed25519) by the pinned key and not expired, and
 * a MAC under the key that session key and this call's ephemeral key derive
 * over the reply, this call's nonce and function name (docs/ATTESTATION.md
 * "The certified session key and the reply MAC"); otherwise the session
 * key is not used and the call fails: TV_ERR_POLICY (nothing pinned),
 * TV_ERR_VERIFY (not certified by the pinned vault, expired, or the MAC
 * does not verify: a relay swapped the session key or altered the reply, or
 * another vault answered), TV_ERR_ROLLBACK (the reply's state is older than
 * one seen on this connection). */
int tv_attest_function(tv_client *c, const char *function_name, const uint8_t *code_hash,
                       size_t code_hash_len, const tv_attest_opts *opts, tv_session **out) TV_WUR;
/* Lower level, for runtimes that make their own evidence: one
 * Attestation.Attest call with caller-made evidence whose report_data is
 * the binding above over (nonce from tv_attest_challenge, name, code_hash,
 * eph_pk). eph_sk (32 bytes) is only read during the call: the session key
 * derived from it is kept in locked memory. On success *out is a session on
 * c; the token is set on c.
 * Errors as tv_attest_function. */
int tv_attest_session(tv_client *c, const uint8_t *evidence, size_t evidence_len,
                      const char *evidence_type, const char *function_name,
                      const uint8_t *code_hash, size_t code_hash_len, const uint8_t eph_pk[32],
                      const uint8_t eph_sk[32], const uint8_t nonce[32], tv_session **out) TV_WUR;
/* Wipe the session key and token, free the session. NULL ok. */
void tv_session_free(tv_session *s);

/* Pin the vault on c by values obtained out of band (a Report verified
 * elsewhere, a deployment manifest): its 32-byte vault id and Ed25519
 * signing public key. tv_attest_* then accept only Attest replies signed by
 * that key for that vault id. Errors: TV_ERR_INVALID (NULL, or an all-zero
 * key or id). */
int tv_client_pin_vault(tv_client *c, const uint8_t vault_id[32],
                        const uint8_t sign_pubkey[32]) TV_WUR;

/* Checking the vault before trusting it (Attestation.Report). */
typedef struct tv_vault_verify_opts {
    const uint8_t *sim_pk;   /* 32-byte sim platform public key; sim evidence is refused
                                without it */
    const char *collateral;  /* SGX/TDX collateral dir or bundle file, or NULL */
    int allow_no_collateral; /* SGX/TDX: accept without TCB evaluation */
    int allow_debug;
    const uint8_t *measurement; /* pin: sim/SNP measurement, SGX MRENCLAVE or TDX MRTD of the
                                   vault; required for hardware evidence unless the SGX
                                   signer + product id pin below is given */
    size_t measurement_len;
    const uint8_t *signer; /* SGX: pin MRSIGNER (32 bytes) together with product_id */
    size_t signer_len;
    int pin_product_id;  /* 1: product_id is set (SGX ISVPRODID) */
    uint16_t product_id; /* with signer: the SGX ISVPRODID */
    /* Freshness (docs/ATTESTATION.md "Freshness"): the newest signed state
     * seen per vault id is kept in this file, like ssh's known_hosts. NULL =
     * $TEEVAULT_KNOWN_VAULTS, else $XDG_CONFIG_HOME/teevault/known_vaults,
     * else ~/.config/teevault/known_vaults. */
    const char *known_vaults;
    int no_known_vaults; /* 1: remember per connection only (no file) */
} tv_vault_verify_opts;

typedef struct tv_vault_report {
    char type[8]; /* "sim", "sgx", "tdx", "snp" */
    int debug;
    uint8_t measurement[48]; /* as pinned above */
    size_t measurement_len;
    uint8_t audit_pubkey[32]; /* verify audit checkpoints with this key */
    uint8_t policy_hash[32];
    uint8_t audit_head[32];
    uint64_t audit_seq;
    /* Report v2 (docs/ATTESTATION.md). All bound in the evidence. */
    uint32_t report_version;  /* 2 */
    uint8_t vault_id[32];     /* zeros: the vault is not initialised */
    uint8_t sign_pubkey[32];  /* signs Attest replies and state checkpoints */
    uint8_t config_hash[32];  /* the vault's effective configuration */
    uint8_t tls_key_hash[32]; /* SHA-256 of its TLS key's SPKI (DER), zeros if none */
    uint64_t state_version;
    uint8_t state_signature[64]; /* sign_pubkey's signature over the state checkpoint */
} tv_vault_report;

/* Ask the vault for its Report (v2) over a fresh random nonce and verify it:
 * signature/chain (sim: the pinned key), debug and TCB policy, the
 * measurement (or SGX signer + product id) pin — required for sgx/tdx/snp
 * evidence: without it any code in a genuine TEE would pass — and that
 * report_data = seal_report_binding_v2 (docs/ATTESTATION.md: nonce, vault id,
 * signing key, config hash, TLS key hash, audit key, policy hash, audit
 * head and seq, state version), and the state signature by the bound
 * signing key. Then freshness: the signed (state version, audit seq, audit
 * head) must not be older than the newest seen for this vault id — on this
 * connection and in the known_vaults file (opts->known_vaults) — and is
 * recorded there. On success *out holds the verified values and, when the
 * vault is initialised, c pins its vault id and signing key for tv_attest_*
 * (whose signed replies are held to the same freshness rule, per
 * connection). Errors: TV_ERR_ROLLBACK (the vault "has rolled back": its
 * signed state is older than one seen before; the message says what was
 * seen, when, and what to check), TV_ERR_IO (known_vaults unreadable or
 * unwritable), TV_ERR_VERIFY (bad signature / chain / binding / state
 * signature, or another signing key for a known vault id),
 * TV_ERR_POLICY (debug, TCB, pin missing or not matching, sim without a
 * pinned key), TV_ERR_FORMAT (report version other than 2, bad field
 * sizes), transport errors. */
int tv_attest_verify_vault(tv_client *c, const tv_vault_verify_opts *opts,
                           tv_vault_report *out) TV_WUR;
/* Session expiry (unix seconds), 0 for NULL. */
int64_t tv_session_expires_at(const tv_session *s);

/* Fetch secret `name` through an attested session: the vault seals the value
 * with the session key (XChaCha20-Poly1305, bound to name and version; the
 * key was agreed at Attest, docs/ATTESTATION.md) and the library opens it. *value (len bytes
 * plus a NUL not counted) is freed with tv_free_secret().
 * Errors: TV_ERR_DENIED (ACL), TV_ERR_NOT_FOUND, TV_ERR_EXPIRED (session, by
 * the local clock), TV_ERR_UNAUTHENTICATED (session unknown to the vault:
 * restarted, expired, or the function was re-registered), TV_ERR_INTEGRITY
 * (sealed value does not open), TV_ERR_PROTOCOL (the vault sent plaintext,
 * or an Attest answer without a session public key). */
int tv_secrets_get(tv_session *s, const char *name, uint8_t **value, size_t *len) TV_WUR;

#ifdef __cplusplus
}
#endif

#endif
