/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libteevault, function side (DESIGN.md §5): attest from inside a function
 * runtime's TEE and read secrets sealed to an ephemeral key.
 *
 *   tv_attest_function(): Challenge → fresh X25519 key pair (secret half on
 *   the stack, wiped on every path) → evidence from the local TEE backend with
 *   report_data = seal_attest_binding(nonce, name, code_hash, eph_pk) →
 *   Attest → session token, set on the connection.
 *   The vault answers with its own X25519 key for the session, signed by
 *   the vault's signing key; the signature is checked against the key pinned
 *   from a verified Report (tv_attest_verify_vault / tv_client_pin_vault)
 *   before anything is derived. Both sides derive the session key
 *   (seal_fnget.h) and the ephemeral secret key is wiped right after: only
 *   the session key is kept.
 *   tv_secrets_get(): Secrets.Get with the session token; the value arrives
 *   as nonce || XChaCha20-Poly1305(session key, value, AAD name/version) and
 *   is opened here into wiped memory.
 */
#include "tv_client_int.h"
#include "tv_conn.h"
#include "tv_keypool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "seal.h"
#include "seal_channel.h"
#include "seal_fnget.h"
#include "seal_producers.h"
#include "seal_sim_report.h"
#include "seal_verify.h"

#define TV_FN_NAME_MAX   100
#define TV_CODE_HASH_MAX 64

/* The session key lives in a slot of the client's key pool (locked,
 * guarded pages shared by the client's sessions: no mmap per attestation);
 * the session holds a reference on the pool, so freeing order does not
 * matter for the key. */
struct tv_session {
    tv_client *c;     /* borrowed; must outlive the session */
    tv_keypool *pool; /* the slot's pool (a reference) */
    uint8_t pk[crypto_box_PUBLICKEYBYTES];
    uint8_t *key; /* session key (seal_fnget.h), a tv_keypool slot */
    char *token;  /* session token, tv_secret_alloc */
    int64_t expires_at;
    char name[TV_FN_NAME_MAX + 1];
};

void tv_session_free(tv_session *s)
{
    if (!s)
        return;
    tv_keypool_put(s->pool, s->key); /* wipes it */
    tv_free_secret(s->token);
    sodium_memzero(s, sizeof *s);
    free(s);
}

int64_t tv_session_expires_at(const tv_session *s)
{
    return s ? s->expires_at : 0;
}

/* Append field s (NULL distinct from "") to the options encoding. */
static size_t opt_put(char *buf, size_t off, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (off >= cap)
        return cap;
    if (!s) {
        buf[off] = '\002'; /* absent (a path is never "\002") */
        return off + 1;
    }
    if (cap - off <= 9 || n > cap - off - 9)
        return cap; /* too long to cache: never matches */
    off += (size_t)snprintf(buf + off, cap - off, "\001%08zx", n);
    memcpy(buf + off, s, n);
    return off + n;
}

/* The TEE backend for o: the one kept on c when it was opened with the same
 * options, else a new one (kept on c for next time). Opening the sim
 * backend reads two key files, hashes the measurement file and allocates
 * guarded memory: once per client, not per attestation. Owned by c. */
static int open_backend(tv_client *c, const tv_attest_opts *o, seal_backend **b)
{
    seal_options so;
    char key[4096];
    size_t klen = 0;
    int r;

    memset(&so, 0, sizeof so);
    so.backend = o && o->tee ? o->tee : "sim";
    so.root = o ? o->tee_root : NULL;
    so.state_dir = o ? o->sim_state_dir : NULL;
    so.sim_measurement_file = o ? o->sim_measurement_file : NULL;
    so.sim_signer = o ? o->sim_signer : NULL;
    so.sim_svn = o ? o->sim_svn : 0;
    so.sim_shape_file = o ? o->sim_shape_file : NULL;
    if (strcmp(so.backend, "sim") == 0 && !so.state_dir)
        return tv_fail(c, TV_ERR_INVALID, "the sim TEE backend needs sim_state_dir");
    klen = opt_put(key, klen, sizeof key, so.backend);
    klen = opt_put(key, klen, sizeof key, so.root);
    klen = opt_put(key, klen, sizeof key, so.state_dir);
    klen = opt_put(key, klen, sizeof key, so.sim_measurement_file);
    klen = opt_put(key, klen, sizeof key, so.sim_signer);
    klen = opt_put(key, klen, sizeof key, so.sim_shape_file);
    if (klen < sizeof key - 8)
        klen += (size_t)snprintf(key + klen, sizeof key - klen, "%u", (unsigned)so.sim_svn);
    else
        klen = sizeof key;
    if (c->tee && klen < sizeof key && c->tee_opts && strlen(c->tee_opts) == klen &&
        memcmp(c->tee_opts, key, klen) == 0) {
        *b = c->tee;
        return 0;
    }
    seal_backend_free(c->tee);
    c->tee = NULL;
    free(c->tee_opts);
    c->tee_opts = NULL;
    if ((r = seal_backend_open(&so, b)) < 0)
        return tv_fail(c, r, "cannot open the %s TEE backend: %s", so.backend, tv_strerror(r));
    c->tee = *b;
    if (klen < sizeof key && (c->tee_opts = malloc(klen + 1))) {
        memcpy(c->tee_opts, key, klen);
        c->tee_opts[klen] = 0;
    }
    return 0;
}

int tv_client_pin_vault(tv_client *c, const uint8_t vault_id[32], const uint8_t sign_pubkey[32])
{
    static const uint8_t zero[32];
    if (!c || !vault_id || !sign_pubkey || sodium_memcmp(vault_id, zero, 32) == 0 ||
        sodium_memcmp(sign_pubkey, zero, 32) == 0)
        return TV_ERR_INVALID;
    memcpy(c->vault_id, vault_id, 32);
    memcpy(c->vault_sign_pk, sign_pubkey, 32);
    c->vault_pinned = 1;
    return 0;
}

/* Freshness: a signed state of the pinned vault must not be older than the
 * newest this connection has seen (nor, with a known_vaults file, than the
 * newest this user has seen: file "" = none). Then it becomes the newest. */
static int see_state(tv_client *c, const seal_state *st, const tv_known_snapshot *snap)
{
    tv_known_state now;
    int r;

    memset(&now, 0, sizeof now);
    memcpy(now.vault_id, st->vault_id, 32);
    memcpy(now.sign_pk, c->vault_sign_pk, 32);
    now.state_version = st->state_version;
    now.audit_seq = st->audit_seq;
    memcpy(now.audit_head, st->audit_head, 32);
    if (c->seen_valid && sodium_memcmp(c->seen.vault_id, now.vault_id, 32) == 0) {
        if ((r = tv_known_older(c, &c->seen, &now, "this connection", 0)) < 0)
            return r;
        /* Not older, but only ever move forward (an equal seq keeps its head). */
        if (now.state_version < c->seen.state_version || now.audit_seq < c->seen.audit_seq)
            return 0;
    }
    if (snap && (r = tv_known_vaults_check(c, snap, &now)) < 0)
        return r;
    c->seen = now;
    c->seen_valid = 1;
    return 0;
}

/* Counters are not enough: a restored state directory started again and
 * again moves its state version and audit seq past what this user saw
 * (each start commits). When the signed state is ahead of the known line,
 * ask the vault, signed by the key just pinned and bound to a fresh nonce,
 * for the hash of the audit record the line names: a chain that does not
 * hold it is a fork or a restore. A record the vault has archived cannot be
 * checked (docs/ATTESTATION.md "Freshness"). */
static int check_chain(tv_client *c, const tv_known_snapshot *snap, const seal_state *st)
{
    const tv_known_state *k = tv_known_find(snap, st->vault_id);
    Teevault__V1__AuditAtRequest req;
    Teevault__V1__AuditAtResponse *resp = NULL;
    uint8_t nonce[32], msg[SEAL_AUDIT_AT_MSG_LEN];
    int r;

    if (!k || k->audit_seq == 0 || k->audit_seq >= st->audit_seq)
        return 0; /* nothing seen, or tv_known_older judges it (same seq: same head) */
    randombytes_buf(nonce, sizeof nonce);
    teevault__v1__audit_at_request__init(&req);
    req.nonce.data = nonce;
    req.nonce.len = sizeof nonce;
    req.seq = k->audit_seq;
    if ((r = tv_call(c, TV_SVC_ATTESTATION, "AuditAt", &req.base,
                     &teevault__v1__audit_at_response__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (resp->hash.len != 32 || resp->vault_id.len != 32 || resp->signature.len != SEAL_SIG_LEN ||
        resp->status > SEAL_AUDIT_AT_BEYOND) {
        r = tv_fail(c, TV_ERR_FORMAT, "the vault's AuditAt reply is malformed");
        goto out;
    }
    seal_audit_at_message(resp->vault_id.data, nonce, req.seq, resp->status, resp->hash.data, msg);
    if (sodium_memcmp(resp->vault_id.data, st->vault_id, 32) != 0 ||
        crypto_sign_verify_detached(resp->signature.data, msg, sizeof msg, c->vault_sign_pk) != 0) {
        r = tv_fail(c, TV_ERR_VERIFY,
                    "the vault's AuditAt reply is not signed by its bound signing key");
        goto out;
    }
    r = 0;
    if (resp->status == SEAL_AUDIT_AT_BEYOND ||
        (resp->status == SEAL_AUDIT_AT_FOUND &&
         sodium_memcmp(resp->hash.data, k->audit_head, 32) != 0))
        r = tv_known_forked(c, k, snap->path);
out:
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

/* The session key's certificate: verified with the pinned key, or the same
 * one this client verified last. */
static int check_cert(tv_client *c, const Teevault__V1__AttestResponse *resp)
{
    uint8_t msg[SEAL_SESSION_KEY_MSG_LEN];
    const uint8_t *pk = resp->session_pubkey.data, *sig = resp->signature.data;
    int64_t exp = resp->session_key_expires_at;

    if (c->cert_valid && c->cert_exp == exp && sodium_memcmp(c->cert_pk, pk, 32) == 0 &&
        sodium_memcmp(c->cert_sig, sig, 64) == 0 &&
        sodium_memcmp(c->cert_signer, c->vault_sign_pk, 32) == 0)
        return 0;
    seal_session_key_message(resp->vault_id.data, pk, exp, msg);
    if (crypto_sign_verify_detached(sig, msg, sizeof msg, c->vault_sign_pk) != 0)
        return tv_fail(c, TV_ERR_VERIFY,
                       "the Attest reply's session key is not certified by the pinned vault key "
                       "(session key swapped: a relay in between?)");
    memcpy(c->cert_signer, c->vault_sign_pk, 32);
    memcpy(c->cert_pk, pk, 32);
    memcpy(c->cert_sig, sig, 64);
    c->cert_exp = exp;
    c->cert_valid = 1;
    return 0;
}

/* The Attest reply must be the pinned vault's: its vault id, its session
 * key certified by the pinned key, and its MAC over what this call sent and
 * what it got back under the key only the vault's session key pair and sk
 * derive. On success s->key is the session key. */
static int check_reply(tv_client *c, const Teevault__V1__AttestResponse *resp,
                       const uint8_t nonce[32], const uint8_t sk[32], tv_session *s)
{
    uint8_t msg[SEAL_ATTEST_MSG_MAX(TV_FN_NAME_MAX, 128)], mac_key[32], mac[SEAL_REPLY_MAC_LEN];
    seal_state st;
    size_t nlen = strlen(s->name), mlen;
    int64_t exp = resp->session_key_expires_at;
    int r;

    if (!c->vault_pinned)
        return tv_fail(c, TV_ERR_POLICY,
                       "no vault is pinned on this connection: verify the vault first "
                       "(tv_attest_verify_vault) or pin its key (tv_client_pin_vault)");
    if (resp->signature.len != SEAL_SIG_LEN || resp->vault_id.len != 32 ||
        resp->audit_head.len != 32 || resp->reply_mac.len != SEAL_REPLY_MAC_LEN)
        return tv_fail(c, TV_ERR_VERIFY,
                       "the Attest reply is not signed by the vault (no signature: a vault "
                       "older than this library, or a relay in between)");
    if (sodium_memcmp(resp->vault_id.data, c->vault_id, 32) != 0)
        return tv_fail(c, TV_ERR_VERIFY,
                       "the Attest reply comes from another vault than the one verified");
    if ((r = check_cert(c, resp)) < 0)
        return r;
    if ((int64_t)time(NULL) > exp + SEAL_SESSION_KEY_SKEW)
        return tv_fail(c, TV_ERR_VERIFY,
                       "the Attest reply's session key expired at %lld (a replayed key, or this "
                       "host's clock is off by more than %d s)",
                       (long long)exp, SEAL_SESSION_KEY_SKEW);
    if (seal_fn_session_key(s->key, mac_key, sk, resp->session_pubkey.data, s->pk,
                            resp->session_pubkey.data) < 0) {
        sodium_memzero(mac_key, sizeof mac_key);
        return tv_fail(c, TV_ERR_PROTOCOL, "the vault's session public key is unusable");
    }
    memset(&st, 0, sizeof st);
    memcpy(st.vault_id, resp->vault_id.data, 32);
    st.state_version = resp->state_version;
    st.audit_seq = resp->audit_seq;
    memcpy(st.audit_head, resp->audit_head.data, 32);
    mlen = seal_attest_reply_message(nonce, s->pk, resp->session_pubkey.data, s->name, nlen,
                                     resp->expires_at, &st, exp, resp->session_token,
                                     strlen(resp->session_token), msg);
    seal_attest_reply_mac(mac_key, msg, mlen, mac);
    r = crypto_verify_32(mac, resp->reply_mac.data);
    sodium_memzero(mac_key, sizeof mac_key);
    sodium_memzero(msg, mlen); /* holds the token */
    if (r != 0) {
        sodium_memzero(s->key, SEAL_FNGET_KEY_LEN);
        return tv_fail(c, TV_ERR_VERIFY,
                       "the Attest reply's MAC does not verify (reply forged or altered: a relay "
                       "in between?)");
    }
    return see_state(c, &st, NULL);
}

/* Attestation.Attest; on success s->token / s->expires_at / s->key are set
 * and the token is installed on c. sk is the ephemeral secret key (the
 * caller wipes it). */
static int attest_call(tv_client *c, const uint8_t *ev, size_t ev_len, const char *type,
                       const char *name, const uint8_t *code_hash, size_t code_hash_len,
                       const uint8_t nonce[32], const uint8_t sk[crypto_box_SECRETKEYBYTES],
                       tv_session *s)
{
    Teevault__V1__AttestRequest req;
    Teevault__V1__AttestResponse *resp = NULL;
    size_t tlen;
    int r;

    teevault__v1__attest_request__init(&req);
    req.evidence.data = (uint8_t *)(uintptr_t)ev;
    req.evidence.len = ev_len;
    req.evidence_type = (char *)(uintptr_t)type;
    req.function_name = (char *)(uintptr_t)name;
    req.code_hash.data = (uint8_t *)(uintptr_t)code_hash;
    req.code_hash.len = code_hash_len;
    req.eph_pubkey.data = s->pk;
    req.eph_pubkey.len = sizeof s->pk;
    req.nonce.data = (uint8_t *)(uintptr_t)nonce;
    req.nonce.len = 32;
    if ((r = tv_call(c, TV_SVC_ATTESTATION, "Attest", &req.base,
                     &teevault__v1__attest_response__descriptor, (ProtobufCMessage **)&resp)) < 0)
        return r;
    tlen = resp->session_token ? strlen(resp->session_token) : 0;
    if (tlen == 0 || tlen > 128) {
        r = tv_fail(c, TV_ERR_PROTOCOL, "the vault returned no usable session token");
        goto out;
    }
    if (resp->session_pubkey.len != 32) {
        r = tv_fail(c, TV_ERR_PROTOCOL,
                    "the vault returned no session public key (a vault older than this library?)");
        goto out;
    }
    if ((r = check_reply(c, resp, nonce, sk, s)) < 0)
        goto out;
    if (!(s->token = tv_secret_strdup(resp->session_token))) {
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        goto out;
    }
    s->expires_at = resp->expires_at;
    if (resp->next_nonce.len == sizeof c->next_nonce && resp->next_nonce_expires_at > 0) {
        memcpy(c->next_nonce, resp->next_nonce.data, sizeof c->next_nonce);
        c->next_nonce_exp = resp->next_nonce_expires_at;
    }
    r = tv_client_set_token(c, s->token);
out:
    if (resp->session_token)
        sodium_memzero(resp->session_token, strlen(resp->session_token));
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

static int session_new(tv_client *c, const char *name, tv_session **out)
{
    tv_session *s;
    if (sodium_init() < 0)
        return tv_fail(c, TV_ERR_CRYPTO, "libsodium cannot be initialised");
    if (!c->keys && !(c->keys = tv_keypool_new()))
        return tv_fail(c, TV_ERR_NOMEM, "out of memory");
    if (!(s = calloc(1, sizeof *s)))
        return tv_fail(c, TV_ERR_NOMEM, "out of memory");
    if (!(s->key = tv_keypool_get(c->keys))) {
        free(s);
        return tv_fail(c, TV_ERR_NOMEM, "out of memory");
    }
    s->pool = c->keys;
    s->c = c;
    memcpy(s->name, name, strlen(name) + 1);
    *out = s;
    return 0;
}

static int check_args(tv_client *c, const char *name, const uint8_t *code_hash,
                      size_t code_hash_len)
{
    int r;
    if (code_hash_len && !code_hash)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "function name", name, TV_FN_NAME_MAX)) < 0)
        return r;
    if (code_hash_len > TV_CODE_HASH_MAX)
        return tv_fail(c, TV_ERR_INVALID, "code hash longer than %d bytes", TV_CODE_HASH_MAX);
    return 0;
}

int tv_attest_session(tv_client *c, const uint8_t *evidence, size_t evidence_len,
                      const char *evidence_type, const char *function_name,
                      const uint8_t *code_hash, size_t code_hash_len, const uint8_t eph_pk[32],
                      const uint8_t eph_sk[32], const uint8_t nonce[32], tv_session **out)
{
    tv_session *s = NULL;
    int r;

    if (!c || !out || !evidence || !evidence_len || !eph_pk || !eph_sk || !nonce)
        return TV_ERR_INVALID;
    if ((r = tv_check_str(c, "evidence type", evidence_type, 16)) < 0 ||
        (r = check_args(c, function_name, code_hash, code_hash_len)) < 0 ||
        (r = session_new(c, function_name, &s)) < 0)
        return r;
    memcpy(s->pk, eph_pk, sizeof s->pk);
    if ((r = attest_call(c, evidence, evidence_len, evidence_type, function_name, code_hash,
                         code_hash_len, nonce, eph_sk, s)) < 0) {
        tv_session_free(s);
        return r;
    }
    *out = s;
    return 0;
}

/* Take the nonce the last Attest reply offered (single use) when it has
 * NEXT_NONCE_MARGIN_S left for making evidence; 1 if nonce is set. */
#define NEXT_NONCE_MARGIN_S 5
static int take_next_nonce(tv_client *c, uint8_t nonce[32])
{
    int ok = c->next_nonce_exp && (int64_t)time(NULL) + NEXT_NONCE_MARGIN_S < c->next_nonce_exp;
    if (ok)
        memcpy(nonce, c->next_nonce, 32);
    sodium_memzero(c->next_nonce, sizeof c->next_nonce);
    c->next_nonce_exp = 0;
    return ok;
}

int tv_attest_function(tv_client *c, const char *function_name, const uint8_t *code_hash,
                       size_t code_hash_len, const tv_attest_opts *opts, tv_session **out)
{
    seal_backend *b = NULL;
    tv_session *s = NULL;
    uint8_t nonce[32], rd[SEAL_REPORT_DATA_LEN], sk[crypto_box_SECRETKEYBYTES];
    uint8_t *ev = NULL;
    size_t ev_len = 0;
    const char *type = NULL;
    int64_t nonce_exp = 0;
    int r = TV_ERR_INTERNAL;

    if (!c || !out)
        return TV_ERR_INVALID;
    if ((r = check_args(c, function_name, code_hash, code_hash_len)) < 0 ||
        (r = session_new(c, function_name, &s)) < 0)
        return r;
    if ((r = open_backend(c, opts, &b)) < 0)
        goto out;
    for (int offered = take_next_nonce(c, nonce);; offered = 0) {
        if (!offered && (r = tv_attest_challenge(c, nonce, &nonce_exp)) < 0)
            goto out;
        if (crypto_box_keypair(s->pk, sk) != 0) {
            r = tv_fail(c, TV_ERR_CRYPTO, "cannot make an ephemeral key pair");
            goto out;
        }
        seal_attest_binding(nonce, function_name, strlen(function_name), code_hash, code_hash_len,
                            s->pk, rd);
        if ((r = b->ops->evidence(b, rd, &ev, &ev_len, &type)) < 0) {
            r = tv_fail(c, r, "the %s TEE backend produced no evidence: %s", b->ops->name,
                        tv_strerror(r));
            goto out;
        }
        r = attest_call(c, ev, ev_len, type, function_name, code_hash, code_hash_len, nonce, sk, s);
        free(ev);
        ev = NULL;
        /* An offered nonce the vault refused (expired, or not issued by this
         * vault process: UNAUTHENTICATED) costs one more try with a
         * Challenge; any other outcome stands. */
        if (r >= 0 || !offered || c->last_grpc != 16)
            break;
    }
    if (r < 0)
        goto out;
    *out = s;
    s = NULL;
    r = 0;
out:
    free(ev);
    /* b is c->tee, kept for the next attestation. */
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(rd, sizeof rd);
    tv_session_free(s);
    return r;
}

int tv_secrets_get(tv_session *s, const char *name, uint8_t **value, size_t *len)
{
    Teevault__V1__GetRequest req;
    Teevault__V1__GetResponse *resp = NULL;
    tv_client *c;
    uint8_t *v = NULL;
    size_t vlen;
    int r = TV_ERR_INTERNAL;

    if (!s || !s->c || !value || !len)
        return TV_ERR_INVALID;
    c = s->c;
    if ((r = tv_check_str(c, "secret name", name, TV_NAME_MAX)) < 0)
        return r;
    if (s->expires_at && (int64_t)time(NULL) >= s->expires_at)
        return tv_fail(c, TV_ERR_EXPIRED, "the function session has expired; attest again");
    /* The connection may have been used with another token meanwhile. */
    if ((r = tv_client_set_token(c, s->token)) < 0)
        return r;
    teevault__v1__get_request__init(&req);
    req.name = (char *)(uintptr_t)name;
    if ((r = tv_call(c, TV_SVC_SECRETS, "Get", &req.base, &teevault__v1__get_response__descriptor,
                     (ProtobufCMessage **)&resp)) < 0)
        return r;
    if (resp->value.len) {
        /* A function must never receive plaintext on the wire. */
        r = tv_fail(c, TV_ERR_PROTOCOL, "the vault sent an unsealed value to a function session");
        goto out;
    }
    if (resp->sealed_value.len < SEAL_FNGET_OVERHEAD) {
        r = tv_fail(c, TV_ERR_PROTOCOL, "the vault sent no sealed value");
        goto out;
    }
    vlen = resp->sealed_value.len - SEAL_FNGET_OVERHEAD;
    if (!(v = tv_secret_alloc(vlen))) {
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Opened as the name asked for and the version the vault says it read:
     * a value sealed for another name or version does not open. */
    if (seal_fn_get_open(s->key, name, strlen(name), resp->version, resp->sealed_value.data,
                         resp->sealed_value.len, v) != 0) {
        r = tv_fail(c, TV_ERR_INTEGRITY,
                    "the sealed value does not open with this session's key for %s", name);
        goto out;
    }
    v[vlen] = 0;
    *value = v;
    *len = vlen;
    v = NULL;
    r = 0;
out:
    tv_free_secret(v);
    if (resp->value.data)
        sodium_memzero(resp->value.data, resp->value.len);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}

/* The vault's measurement claim for a pin: sim/SNP measurement, SGX
 * MRENCLAVE, TDX MRTD. */
static void vault_measurement(const seal_verdict *v, const uint8_t **m, size_t *n)
{
    switch (v->type) {
    case SEAL_EV_SGX:
        *m = v->claims.mrenclave;
        *n = 32;
        break;
    case SEAL_EV_TDX:
        *m = v->claims.mrtd;
        *n = 48;
        break;
    default:
        *m = v->claims.measurement;
        *n = v->claims.measurement_len;
        break;
    }
}

/* The vault's identity pins. Hardware evidence needs a measurement pin, or
 * for SGX the signer + product id pin: without one, any code in a genuine
 * TEE would be accepted as the vault. Sim evidence is already pinned to its
 * platform key; its measurement pin stays optional. */
static int check_pins(tv_client *c, const tv_vault_verify_opts *o, enum seal_ev_type t,
                      const seal_verdict *v)
{
    const uint8_t *m = NULL;
    size_t mlen = 0;
    int signer_pin = o->signer && o->signer_len && o->pin_product_id;

    if (o->signer && o->signer_len && !o->pin_product_id)
        return tv_fail(c, TV_ERR_POLICY, "a signer pin needs the product id too");
    if (signer_pin && t != SEAL_EV_SGX)
        return tv_fail(c, TV_ERR_POLICY,
                       "a signer + product id pin applies to SGX only; pin the %s vault's "
                       "measurement",
                       seal_ev_type_name(t));
    if (t != SEAL_EV_SIM && !o->measurement && !signer_pin)
        return tv_fail(c, TV_ERR_POLICY,
                       "no measurement (or SGX signer + product id) pin for the vault's %s "
                       "evidence: any code in a genuine TEE would pass",
                       seal_ev_type_name(t));
    vault_measurement(v, &m, &mlen);
    if (o->measurement &&
        (o->measurement_len != mlen || mlen == 0 || sodium_memcmp(o->measurement, m, mlen) != 0))
        return tv_fail(c, TV_ERR_POLICY, "the vault's measurement is not the pinned one");
    if (signer_pin &&
        (o->signer_len != 32 || sodium_memcmp(o->signer, v->claims.mrsigner, 32) != 0 ||
         v->claims.isv_prod_id != o->product_id))
        return tv_fail(c, TV_ERR_POLICY, "the vault's signer or product id is not the pinned one");
    return 0;
}

int tv_attest_verify_vault(tv_client *c, const tv_vault_verify_opts *o, tv_vault_report *out)
{
    Teevault__V1__ReportRequest req;
    Teevault__V1__ReportResponse *resp = NULL;
    seal_verdict *v = NULL;
    seal_verify_policy pol;
    seal_collateral *col = NULL;
    tv_vault_verify_opts none;
    tv_vault_report rep;
    uint8_t nonce[32], want[SEAL_REPORT_DATA_LEN];
    static const uint8_t zero[32];
    seal_report_fields f;
    tv_known_snapshot known;
    const uint8_t *m = NULL;
    size_t mlen = 0;
    enum seal_ev_type t;
    int initialised = 0, r = TV_ERR_INTERNAL;

    if (!c || !out)
        return TV_ERR_INVALID;
    if (!o) {
        memset(&none, 0, sizeof none);
        o = &none;
    }
    if (sodium_init() < 0)
        return tv_fail(c, TV_ERR_CRYPTO, "libsodium cannot be initialised");
    /* What this user knew before asking: the reply is judged against it. */
    if ((r = tv_known_vaults_snapshot(c, o->no_known_vaults ? "" : o->known_vaults, &known)) < 0)
        return r;
    randombytes_buf(nonce, sizeof nonce);
    teevault__v1__report_request__init(&req);
    req.nonce.data = nonce;
    req.nonce.len = sizeof nonce;
    if ((r = tv_call(c, TV_SVC_ATTESTATION, "Report", &req.base,
                     &teevault__v1__report_response__descriptor, (ProtobufCMessage **)&resp)) < 0)
        goto out;
    if (resp->report_version != SEAL_REPORT_VERSION) {
        r = tv_fail(c, TV_ERR_FORMAT,
                    "the vault's report is version %u; this library verifies version %d",
                    (unsigned)resp->report_version, SEAL_REPORT_VERSION);
        goto out;
    }
    if (resp->audit_pubkey.len != 32 || resp->policy_hash.len != 32 || resp->audit_head.len != 32 ||
        resp->vault_id.len != 32 || resp->sign_pubkey.len != 32 || resp->config_hash.len != 32 ||
        resp->tls_key_hash.len != 32 || resp->state_signature.len != SEAL_SIG_LEN) {
        r = tv_fail(c, TV_ERR_FORMAT, "the vault's report lacks a field of Report v2");
        goto out;
    }
    if (!(v = calloc(1, sizeof *v))) {
        r = tv_fail(c, TV_ERR_NOMEM, "out of memory");
        goto out;
    }
    memset(&pol, 0, sizeof pol);
    pol.allow_debug = o->allow_debug;
    pol.allow_no_collateral = o->allow_no_collateral;
    t = seal_evidence_detect(resp->evidence.data, resp->evidence.len);
    if (!resp->evidence_type || strcmp(resp->evidence_type, seal_ev_type_name(t)) != 0) {
        r = tv_fail(c, TV_ERR_FORMAT, "the vault's evidence is not of the type it claims");
        goto out;
    }
    if (t == SEAL_EV_SIM) {
        if (!o->sim_pk) {
            r = tv_fail(c, TV_ERR_POLICY,
                        "the vault runs on the sim backend (no hardware protection) and no "
                        "sim platform key is pinned");
            goto out;
        }
        r = seal_sim_verify_verdict(resp->evidence.data, resp->evidence.len, o->sim_pk, 32, &pol,
                                    v);
    } else {
        seal_verify_inputs in;
        if (o->collateral && (r = seal_collateral_load(o->collateral, &col)) < 0) {
            r = tv_fail(c, r, "cannot load collateral: %s", tv_strerror(r));
            goto out;
        }
        memset(&in, 0, sizeof in);
        in.type = t;
        in.collateral = col;
        r = seal_verify_evidence(resp->evidence.data, resp->evidence.len, &in, &pol, v);
    }
    if (r < 0) {
        r = tv_fail(c, r, "the vault's evidence is refused: %s",
                    v->reason[0] ? v->reason : tv_strerror(r));
        goto out;
    }
    memset(&f, 0, sizeof f);
    memcpy(f.vault_id, resp->vault_id.data, 32);
    memcpy(f.sign_pubkey, resp->sign_pubkey.data, 32);
    memcpy(f.config_hash, resp->config_hash.data, 32);
    memcpy(f.tls_key_hash, resp->tls_key_hash.data, 32);
    memcpy(f.audit_pubkey, resp->audit_pubkey.data, 32);
    memcpy(f.policy_hash, resp->policy_hash.data, 32);
    memcpy(f.audit_head, resp->audit_head.data, 32);
    f.audit_seq = resp->audit_seq;
    f.state_version = resp->state_version;
    seal_report_binding_v2(nonce, &f, want);
    if (!(v->claims.present & SEAL_CLAIM_REPORT_DATA) ||
        sodium_memcmp(v->claims.report_data, want, sizeof want) != 0) {
        r = tv_fail(c, TV_ERR_VERIFY,
                    "the vault's evidence does not bind this nonce and the report's keys and "
                    "state (a forged report?)");
        goto out;
    }
    if ((r = check_pins(c, o, t, v)) < 0)
        goto out;
    /* Over TLS the channel must end at the key the Report binds: else a
     * TLS-terminating relay (with any certificate this client trusts) sits
     * between the vault and us. */
    {
        uint8_t peer[32];
        int tls = tv_conn_peer_key_hash(c->conn, peer);
        if (tls < 0 || (tls == 1 && sodium_memcmp(peer, f.tls_key_hash, 32) != 0)) {
            r = tv_fail(c, TV_ERR_VERIFY,
                        "the TLS connection does not end at the key the vault's Report binds "
                        "(a TLS-terminating proxy or relay in between? connect to the vault's "
                        "own TLS listener)");
            goto out;
        }
    }
    initialised = sodium_memcmp(f.vault_id, zero, 32) != 0;
    if (initialised) {
        uint8_t msg[SEAL_STATE_MSG_LEN];
        seal_state st;
        memcpy(st.vault_id, f.vault_id, 32);
        st.state_version = f.state_version;
        st.audit_seq = f.audit_seq;
        memcpy(st.audit_head, f.audit_head, 32);
        seal_state_message(&st, msg);
        if (crypto_sign_verify_detached(resp->state_signature.data, msg, sizeof msg,
                                        f.sign_pubkey) != 0) {
            r = tv_fail(c, TV_ERR_VERIFY,
                        "the vault's state checkpoint is not signed by its bound signing key");
            goto out;
        }
    }
    vault_measurement(v, &m, &mlen);
    memset(&rep, 0, sizeof rep);
    snprintf(rep.type, sizeof rep.type, "%s", seal_ev_type_name(t));
    rep.debug = v->debug;
    if (mlen <= sizeof rep.measurement) {
        memcpy(rep.measurement, m, mlen);
        rep.measurement_len = mlen;
    }
    memcpy(rep.audit_pubkey, resp->audit_pubkey.data, 32);
    memcpy(rep.policy_hash, resp->policy_hash.data, 32);
    memcpy(rep.audit_head, resp->audit_head.data, 32);
    rep.audit_seq = resp->audit_seq;
    rep.report_version = resp->report_version;
    memcpy(rep.vault_id, f.vault_id, 32);
    memcpy(rep.sign_pubkey, f.sign_pubkey, 32);
    memcpy(rep.config_hash, f.config_hash, 32);
    memcpy(rep.tls_key_hash, f.tls_key_hash, 32);
    rep.state_version = f.state_version;
    memcpy(rep.state_signature, resp->state_signature.data, SEAL_SIG_LEN);
    if (initialised) {
        seal_state st;
        memcpy(st.vault_id, f.vault_id, 32);
        st.state_version = f.state_version;
        st.audit_seq = f.audit_seq;
        memcpy(st.audit_head, f.audit_head, 32);
        /* A vault id pinned before with another key: not the same vault. */
        if (c->vault_pinned && sodium_memcmp(c->vault_id, f.vault_id, 32) == 0 &&
            sodium_memcmp(c->vault_sign_pk, f.sign_pubkey, 32) != 0) {
            r = tv_fail(c, TV_ERR_VERIFY, "the vault's signing key changed on this connection");
            goto out;
        }
        if (c->seen_valid && sodium_memcmp(c->seen.vault_id, f.vault_id, 32) != 0)
            c->seen_valid = 0; /* another vault: its own history */
        if ((r = tv_client_pin_vault(c, f.vault_id, f.sign_pubkey)) < 0 ||
            (r = check_chain(c, &known, &st)) < 0 || (r = see_state(c, &st, &known)) < 0)
            goto out;
    }
    *out = rep;
    r = 0;
out:
    tv_known_snapshot_free(&known);
    seal_collateral_free(col);
    free(v);
    tv_msg_free((ProtobufCMessage *)resp);
    return r;
}
