/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_ident: signing identity, signed state and Report v2 (contract in
 * vault_ident.h).
 */
#include "vault_ident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "seal.h"
#include "vault_attest.h"
#include "vault_audit.h"
#include "vault_config.h"
#include "vault_keyring.h"
#include "vault_record.h"

struct vault_ident {
    uint8_t vault_id[32];
    uint8_t pk[32];
    uint8_t *sk; /* crypto_sign_SECRETKEYBYTES, sodium_malloc */
    int have_tls;
    uint8_t tls_hash[32];
    /* The newest session key certificate (vault_ident_attest_reply): one
     * signature per vault session key pair, not per reply. */
    uint8_t cert_pk[32];
    int64_t cert_expires;
    uint8_t cert_sig[SEAL_SIG_LEN];
};

void vault_ident_close(struct vault *v)
{
    if (!v || !v->ident)
        return;
    if (v->ident->sk)
        sodium_free(v->ident->sk);
    sodium_memzero(v->ident, sizeof *v->ident);
    free(v->ident);
    v->ident = NULL;
}

/* The identity for the root key unsealed now: derived on first use, and
 * again when the root key is not the one it was derived from. */
static int ident_get(struct vault *v, struct vault_ident **out)
{
    struct vault_ident *id;
    uint8_t vid[32], *seed = NULL;
    int r = TV_ERR_INTERNAL;

    if (!v || !v->kr)
        return TV_ERR_NOT_INITIALISED;
    memcpy(vid, vault_keyring_vault_id(v->kr), 32); /* KDF(RK, "teevault/id") */
    if (v->ident && v->ident->sk && sodium_memcmp(v->ident->vault_id, vid, 32) == 0) {
        *out = v->ident;
        return 0;
    }
    if (!v->ident && !(v->ident = calloc(1, sizeof *v->ident)))
        return TV_ERR_NOMEM;
    id = v->ident;
    if (!id->sk && !(id->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)))
        return TV_ERR_NOMEM;
    if (!(seed = sodium_malloc(crypto_sign_SEEDBYTES)))
        return TV_ERR_NOMEM;
    if ((r = vault_keyring_derive(v->kr, "teevault/sign", seed)) < 0)
        goto out;
    if (crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    memcpy(id->vault_id, vid, 32);
    id->cert_expires = 0; /* a certificate by the previous key is void */
    *out = id;
    r = 0;
out:
    sodium_free(seed);
    return r;
}

int vault_ident_id(struct vault *v, uint8_t id[32])
{
    struct vault_ident *i;
    int r;
    if (!id)
        return TV_ERR_INVALID;
    if ((r = ident_get(v, &i)) < 0)
        return r;
    memcpy(id, i->vault_id, 32);
    return 0;
}

int vault_ident_pubkey(struct vault *v, uint8_t pk[32])
{
    struct vault_ident *i;
    int r;
    if (!pk)
        return TV_ERR_INVALID;
    if ((r = ident_get(v, &i)) < 0)
        return r;
    memcpy(pk, i->pk, 32);
    return 0;
}

int vault_ident_state(struct vault *v, seal_state *st)
{
    struct vault_ident *i;
    vault_audit_info ai;
    seal_state s;
    int r;

    if (!st)
        return TV_ERR_INVALID;
    if ((r = ident_get(v, &i)) < 0)
        return r;
    memset(&s, 0, sizeof s);
    memset(&ai, 0, sizeof ai);
    if ((r = vault_audit_get_info(v, &ai)) < 0)
        return r;
    memcpy(s.vault_id, i->vault_id, 32);
    s.audit_seq = ai.seq;
    memcpy(s.audit_head, ai.head, 32);
    /* The record layer's counter: +1 with every committed write
     * transaction (vault_record.h). */
    s.state_version = v->db ? vault_state_version(v->db) : 0;
    *st = s;
    return 0;
}

int vault_ident_sign_state(struct vault *v, const seal_state *st, uint8_t sig[SEAL_SIG_LEN])
{
    struct vault_ident *i;
    uint8_t msg[SEAL_STATE_MSG_LEN];
    int r;

    if (!st || !sig)
        return TV_ERR_INVALID;
    if ((r = ident_get(v, &i)) < 0)
        return r;
    seal_state_message(st, msg);
    if (crypto_sign_detached(sig, NULL, msg, sizeof msg, i->sk) != 0)
        return TV_ERR_CRYPTO;
    return 0;
}

int vault_ident_attest_reply(struct vault *v, const vault_attest_reply_in *in, seal_state *st,
                             uint8_t sig[SEAL_SIG_LEN], uint8_t mac[SEAL_REPLY_MAC_LEN])
{
    struct vault_ident *i;
    uint8_t msg[SEAL_ATTEST_MSG_MAX(VAULT_ID_MAX, VAULT_ATTEST_TOKEN_BUF)];
    seal_state s;
    size_t nlen, tlen, mlen;
    int r;

    if (!in || !in->name || !in->token || !st || !sig || !mac)
        return TV_ERR_INVALID;
    if ((nlen = strlen(in->name)) > VAULT_ID_MAX ||
        (tlen = strlen(in->token)) >= VAULT_ATTEST_TOKEN_BUF)
        return TV_ERR_INVALID;
    if ((r = ident_get(v, &i)) < 0 || (r = vault_ident_state(v, &s)) < 0)
        return r;
    /* The session key pair's certificate, signed when the pair is new. */
    if (i->cert_expires != in->key_expires || sodium_memcmp(i->cert_pk, in->session_pk, 32) != 0) {
        uint8_t cm[SEAL_SESSION_KEY_MSG_LEN];
        seal_session_key_message(i->vault_id, in->session_pk, in->key_expires, cm);
        if (crypto_sign_detached(i->cert_sig, NULL, cm, sizeof cm, i->sk) != 0) {
            i->cert_expires = 0;
            return TV_ERR_CRYPTO;
        }
        memcpy(i->cert_pk, in->session_pk, 32);
        i->cert_expires = in->key_expires;
    }
    mlen = seal_attest_reply_message(in->nonce, in->eph_pk, in->session_pk, in->name, nlen,
                                     in->expires_at, &s, in->key_expires, in->token, tlen, msg);
    seal_attest_reply_mac(in->mac_key, msg, mlen, mac);
    sodium_memzero(msg, mlen); /* holds the token */
    memcpy(sig, i->cert_sig, SEAL_SIG_LEN);
    *st = s;
    return 0;
}

int vault_ident_audit_at(struct vault *v, const uint8_t nonce[32], uint64_t seq, uint32_t *status,
                         uint8_t hash[32], uint8_t vault_id[32], uint8_t sig[SEAL_SIG_LEN])
{
    struct vault_ident *i;
    uint8_t msg[SEAL_AUDIT_AT_MSG_LEN];
    int r;

    if (!nonce || !status || !hash || !vault_id || !sig)
        return TV_ERR_INVALID;
    if ((r = ident_get(v, &i)) < 0 || (r = vault_audit_hash_at(v, seq, status, hash)) < 0)
        return r;
    memcpy(vault_id, i->vault_id, 32);
    seal_audit_at_message(vault_id, nonce, seq, *status, hash, msg);
    if (crypto_sign_detached(sig, NULL, msg, sizeof msg, i->sk) != 0)
        return TV_ERR_CRYPTO;
    return 0;
}

/* ---------------------------------------------------------------- config */

int vault_ident_config_hash(struct vault *v, uint8_t out[32])
{
    if (!out)
        return TV_ERR_INVALID;
    memset(out, 0, 32);
    if (!v || !v->cfg)
        return 0;
    /* One canonical form of the effective configuration (vault_config.h). */
    return vault_config_hash(v->cfg, out);
}

/* ---------------------------------------------------------------- TLS */

static int tls_hash_file(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "r");
    X509 *x = NULL;
    unsigned char *der = NULL;
    int n, r = TV_ERR_FORMAT;

    if (!f)
        return TV_ERR_IO;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return TV_ERR_FORMAT;
    if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0) {
        crypto_hash_sha256(out, der, (unsigned long long)n);
        r = 0;
    }
    OPENSSL_free(der);
    X509_free(x);
    return r;
}

int vault_ident_tls_key_hash(struct vault *v, uint8_t out[32])
{
    const vault_config *c = v ? v->cfg : NULL;
    uint8_t h[32];
    int r;

    if (!out)
        return TV_ERR_INVALID;
    memset(out, 0, 32);
    if (!c || !c->tcp_address || !c->tcp_address[0] || !c->tls_cert)
        return 0;
    if (v->ident && v->ident->have_tls) {
        memcpy(out, v->ident->tls_hash, 32);
        return 0;
    }
    if ((r = tls_hash_file(c->tls_cert, h)) < 0)
        return r;
    if (v->ident) { /* cached once there is an identity to hang it on */
        memcpy(v->ident->tls_hash, h, 32);
        v->ident->have_tls = 1;
    }
    memcpy(out, h, 32);
    return 0;
}

/* ---------------------------------------------------------------- Report */

int vault_ident_report_begin(struct vault *v, const uint8_t *nonce, size_t nonce_len,
                             vault_ident_report_job *job)
{
    vault_ident_report o;
    vault_audit_info ai;
    seal_state st;
    int r;

    if (!v || !job || !nonce || nonce_len != 32)
        return TV_ERR_INVALID;
    if (!v->seal)
        return TV_ERR_UNAVAILABLE;
    memset(&o, 0, sizeof o);
    memset(&ai, 0, sizeof ai);
    if ((r = vault_audit_get_info(v, &ai)) < 0)
        return r;
    if (ai.has_pubkey)
        memcpy(o.f.audit_pubkey, ai.pubkey, 32);
    memcpy(o.f.audit_head, ai.head, 32);
    o.f.audit_seq = ai.seq;
    if (v->kr) {
        /* Initialised: the identity, and the state it signs now. */
        if ((r = vault_ident_state(v, &st)) < 0 ||
            (r = vault_ident_sign_state(v, &st, o.state_sig)) < 0 ||
            (r = vault_ident_pubkey(v, o.f.sign_pubkey)) < 0)
            return r;
        memcpy(o.f.vault_id, st.vault_id, 32);
        memcpy(o.f.audit_head, st.audit_head, 32);
        o.f.audit_seq = st.audit_seq;
        o.f.state_version = st.state_version;
    }
    /* The TLS key hash reads the certificate once, then is cached in
     * v->ident: loop thread only. */
    if ((r = vault_ident_config_hash(v, o.f.config_hash)) < 0 ||
        (r = vault_ident_tls_key_hash(v, o.f.tls_key_hash)) < 0)
        return r;
    memset(job, 0, sizeof *job);
    job->v = v;
    memcpy(job->nonce, nonce, 32);
    job->out = o;
    job->r = TV_ERR_INTERNAL;
    return 0;
}

void vault_ident_report_work(vault_ident_report_job *job)
{
    vault_ident_report *o = &job->out;
    uint8_t rd[SEAL_REPORT_DATA_LEN];
    struct vault *v = job->v;
    int r;

    if ((r = vault_attest_policy_hash(v, o->f.policy_hash)) < 0) {
        job->r = r;
        return;
    }
    seal_report_binding_v2(job->nonce, &o->f, rd);
    job->r = v->seal->ops->evidence(v->seal, rd, &o->evidence, &o->evidence_len, &o->type);
}

int vault_ident_report_make(struct vault *v, const uint8_t *nonce, size_t nonce_len,
                            vault_ident_report *out)
{
    vault_ident_report_job job;
    int r;

    if (!out)
        return TV_ERR_INVALID;
    if ((r = vault_ident_report_begin(v, nonce, nonce_len, &job)) < 0)
        return r;
    vault_ident_report_work(&job);
    if (job.r < 0)
        return job.r;
    *out = job.out;
    return 0;
}
