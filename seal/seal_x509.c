/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_x509: certificates, CRLs, raw ECDSA signatures and a tiny DER walker
 * for the evidence verifiers. OpenSSL 3 APIs only.
 *
 * Trust model: a chain is accepted only when it ends at a root whose SHA-256
 * fingerprint (over the DER) is in the policy's pinned set. Roots are never
 * taken from the system store; a root copy inside the evidence is usable only
 * because its fingerprint is pinned.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "seal_verify_int.h"

void seal_verdict_fail(seal_verdict *v, const char *fmt, ...)
{
    va_list ap;
    if (!v || v->reason[0])
        return;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

int seal_x509_load_certs(const uint8_t *p, size_t n, STACK_OF(X509) * *out)
{
    int r = TV_ERR_FORMAT;
    STACK_OF(X509) *sk = NULL;
    BIO *bio = NULL;
    X509 *x = NULL;

    if (!p || n == 0 || n > 1u << 20)
        return TV_ERR_FORMAT;
    if (!(sk = sk_X509_new_null()))
        return TV_ERR_NOMEM;
    if (n > 0 && p[0] == 0x30) { /* DER */
        const unsigned char *q = p;
        x = d2i_X509(NULL, &q, (long)n);
        if (!x || q != p + n)
            goto out;
        if (!sk_X509_push(sk, x)) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        x = NULL;
    } else {
        if (!(bio = BIO_new_mem_buf(p, (int)n))) {
            r = TV_ERR_NOMEM;
            goto out;
        }
        while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (sk_X509_num(sk) >= 8 || !sk_X509_push(sk, x))
                goto out;
            x = NULL;
        }
        ERR_clear_error(); /* end of input */
    }
    if (sk_X509_num(sk) == 0)
        goto out;
    *out = sk;
    sk = NULL;
    r = 0;
out:
    ERR_clear_error();
    X509_free(x);
    BIO_free(bio);
    sk_X509_pop_free(sk, X509_free);
    return r;
}

int seal_x509_load_crl(const uint8_t *p, size_t n, X509_CRL **out)
{
    X509_CRL *c = NULL;
    if (!p || n == 0 || n > 1u << 22)
        return TV_ERR_FORMAT;
    if (p[0] == 0x30) {
        const unsigned char *q = p;
        c = d2i_X509_CRL(NULL, &q, (long)n);
        if (c && q != p + n) {
            X509_CRL_free(c);
            c = NULL;
        }
    } else {
        BIO *bio = BIO_new_mem_buf(p, (int)n);
        if (bio)
            c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    ERR_clear_error();
    if (!c)
        return TV_ERR_FORMAT;
    *out = c;
    return 0;
}

void seal_x509_fingerprint(X509 *c, uint8_t fp[32])
{
    unsigned int n = 32;
    if (!X509_digest(c, EVP_sha256(), fp, &n))
        memset(fp, 0, 32);
}

static int is_pinned(X509 *c, const seal_verify_policy *pol)
{
    uint8_t fp[32];
    const uint8_t(*pins)[32] = pol ? pol->pinned_roots : NULL;
    size_t n = pol ? pol->n_pinned_roots : 0;
    if (!pins)
        pins = seal_vendor_roots(&n);
    seal_x509_fingerprint(c, fp);
    for (size_t i = 0; i < n; i++) {
        if (CRYPTO_memcmp(fp, pins[i], 32) == 0)
            return 1;
    }
    return 0;
}

static int self_issued(X509 *c)
{
    return X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) == 0;
}

int seal_x509_embedded_root_check(STACK_OF(X509) * chain, const seal_verify_policy *pol)
{
    X509 *root;
    EVP_PKEY *k;
    int ok;
    if (!chain || sk_X509_num(chain) < 2)
        return TV_ERR_VERIFY;
    root = sk_X509_value(chain, sk_X509_num(chain) - 1);
    if (!root || !self_issued(root) || !(k = X509_get0_pubkey(root)))
        return TV_ERR_VERIFY;
    ok = X509_verify(root, k) == 1 && is_pinned(root, pol);
    ERR_clear_error();
    return ok ? 0 : TV_ERR_VERIFY;
}

int seal_x509_verify(X509 *leaf, STACK_OF(X509) * untrusted, STACK_OF(X509) * anchors,
                     STACK_OF(X509_CRL) * crls, unsigned long crl_flags,
                     const seal_verify_policy *pol, time_t t, const char *what, seal_verdict *v,
                     STACK_OF(X509) * *chain_out)
{
    int r = TV_ERR_VERIFY;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    int n_trusted = 0;
    STACK_OF(X509) * lists[2] = {anchors, untrusted};

    if (!(store = X509_STORE_new()) || !(ctx = X509_STORE_CTX_new())) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    for (int l = 0; l < 2; l++) {
        for (int i = 0; lists[l] && i < sk_X509_num(lists[l]); i++) {
            X509 *c = sk_X509_value(lists[l], i);
            if (!self_issued(c) || !is_pinned(c, pol))
                continue;
            if (X509_STORE_add_cert(store, c))
                n_trusted++;
            ERR_clear_error(); /* duplicates are fine */
        }
    }
    if (n_trusted == 0) {
        seal_verdict_fail(v, "%s: chain does not end at a pinned root certificate", what);
        goto out;
    }
    if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    X509_STORE_CTX_set_time(ctx, 0, t);
    if (crls && crl_flags) {
        X509_STORE_CTX_set0_crls(ctx, crls);
        X509_STORE_CTX_set_flags(ctx, crl_flags);
    }
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        seal_verdict_fail(v, "%s: certificate chain invalid at depth %d: %s", what,
                          X509_STORE_CTX_get_error_depth(ctx), X509_verify_cert_error_string(e));
        goto out;
    }
    {
        STACK_OF(X509) *ch = X509_STORE_CTX_get0_chain(ctx);
        X509 *top = ch ? sk_X509_value(ch, sk_X509_num(ch) - 1) : NULL;
        if (!top || !is_pinned(top, pol)) {
            seal_verdict_fail(v, "%s: chain does not end at a pinned root", what);
            goto out;
        }
        if (chain_out) {
            if (!(*chain_out = X509_chain_up_ref(ch))) {
                r = TV_ERR_NOMEM;
                goto out;
            }
        }
    }
    r = 0;
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return r;
}

int seal_x509_crl_check(X509 *cert, X509 *issuer, X509_CRL *crl, time_t t, seal_verdict *v)
{
    EVP_PKEY *ik = X509_get0_pubkey(issuer);
    X509_REVOKED *rev = NULL;
    const ASN1_TIME *nu;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 || !ik ||
        X509_CRL_verify(crl, ik) != 1) {
        ERR_clear_error();
        seal_verdict_fail(v, "CRL is not signed by the certificate's issuer");
        return TV_ERR_VERIFY;
    }
    if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t) > 0 ||
        !(nu = X509_CRL_get0_nextUpdate(crl)) || X509_cmp_time(nu, &t) < 0) {
        seal_verdict_fail(v, "CRL is not valid at the evaluation time");
        return TV_ERR_VERIFY;
    }
    if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1) {
        seal_verdict_fail(v, "certificate is revoked");
        return TV_ERR_VERIFY;
    }
    return 0;
}

int seal_ecdsa_verify_raw(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t n,
                          const uint8_t *rb, const uint8_t *sb, size_t clen)
{
    int r = TV_ERR_VERIFY;
    ECDSA_SIG *sig = NULL;
    BIGNUM *br = NULL, *bs = NULL;
    unsigned char *der = NULL;
    int der_len;
    EVP_MD_CTX *mctx = NULL;

    if (!key || EVP_PKEY_base_id(key) != EVP_PKEY_EC)
        return TV_ERR_VERIFY;
    if (!(sig = ECDSA_SIG_new()) || !(br = BN_bin2bn(rb, (int)clen, NULL)) ||
        !(bs = BN_bin2bn(sb, (int)clen, NULL))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (!ECDSA_SIG_set0(sig, br, bs)) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    br = bs = NULL;
    if ((der_len = i2d_ECDSA_SIG(sig, &der)) <= 0) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    if (!(mctx = EVP_MD_CTX_new())) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestVerifyInit(mctx, NULL, md, NULL, key) != 1) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    if (EVP_DigestVerify(mctx, der, (size_t)der_len, msg, n) != 1)
        goto out;
    r = 0;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    return r;
}

int seal_p256_key(const uint8_t xy[64], EVP_PKEY **out)
{
    /* SubjectPublicKeyInfo prefix for an uncompressed P-256 point. */
    static const uint8_t spki[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                   0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                   0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
    uint8_t der[sizeof(spki) + 64];
    const unsigned char *p = der;
    EVP_PKEY *k;
    memcpy(der, spki, sizeof(spki));
    memcpy(der + sizeof(spki), xy, 64);
    k = d2i_PUBKEY(NULL, &p, (long)sizeof(der));
    ERR_clear_error();
    if (!k)
        return TV_ERR_VERIFY; /* not a point on the curve */
    *out = k;
    return 0;
}

int seal_x509_ext(X509 *c, const char *oid, const uint8_t **p, size_t *n)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int idx;
    X509_EXTENSION *ext;
    ASN1_OCTET_STRING *os;
    if (!obj)
        return TV_ERR_INTERNAL;
    idx = X509_get_ext_by_OBJ(c, obj, -1);
    ASN1_OBJECT_free(obj);
    if (idx < 0 || !(ext = X509_get_ext(c, idx)) || !(os = X509_EXTENSION_get_data(ext)))
        return TV_ERR_NOT_FOUND;
    *p = ASN1_STRING_get0_data(os);
    *n = (size_t)ASN1_STRING_length(os);
    return 0;
}

int seal_der_next(const uint8_t **p, size_t *n, uint8_t *tag, const uint8_t **val, size_t *vlen)
{
    const uint8_t *q = *p;
    size_t left = *n, l;
    if (left < 2)
        return TV_ERR_FORMAT;
    *tag = q[0];
    if ((q[0] & 0x1F) == 0x1F)
        return TV_ERR_FORMAT; /* high tag numbers are not used here */
    l = q[1];
    q += 2;
    left -= 2;
    if (l & 0x80) {
        size_t k = l & 0x7F;
        if (k == 0 || k > 4 || left < k)
            return TV_ERR_FORMAT;
        l = 0;
        for (size_t i = 0; i < k; i++)
            l = l << 8 | q[i];
        q += k;
        left -= k;
    }
    if (left < l)
        return TV_ERR_FORMAT;
    *val = q;
    *vlen = l;
    *p = q + l;
    *n = left - l;
    return 0;
}

int seal_der_uint(const uint8_t *val, size_t vlen, uint64_t *out)
{
    uint64_t x = 0;
    if (vlen == 0 || (val[0] & 0x80))
        return TV_ERR_FORMAT;
    while (vlen > 1 && val[0] == 0) {
        val++;
        vlen--;
    }
    if (vlen > 8)
        return TV_ERR_FORMAT;
    for (size_t i = 0; i < vlen; i++)
        x = x << 8 | val[i];
    *out = x;
    return 0;
}
