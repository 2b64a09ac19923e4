/* SPDX-License-Identifier: Apache-2.0 */
#include "seal_blob.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define BLOB_KDF_DOMAIN "teevault-seal-blob-v1"

/* blob_key = BLAKE2b-256(key = sealing key, domain || key_id). */
static int blob_key(seal_backend *b, enum seal_policy policy, uint16_t key_svn,
                    const uint8_t key_id[SEAL_BLOB_KEYID], uint8_t *out)
{
    int r;
    uint8_t *sk = sodium_malloc(SEAL_KEY_LEN);
    crypto_generichash_state st;
    if (!sk)
        return TV_ERR_NOMEM;
    if ((r = seal_get_key(b, policy, key_svn, sk)) < 0)
        goto out;
    if (crypto_generichash_init(&st, sk, SEAL_KEY_LEN, 32) != 0) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    crypto_generichash_update(&st, (const uint8_t *)BLOB_KDF_DOMAIN, sizeof(BLOB_KDF_DOMAIN));
    crypto_generichash_update(&st, key_id, SEAL_BLOB_KEYID);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof(st));
    r = 0;
out:
    sodium_free(sk);
    return r;
}

/* AEAD associated data = header || ad. Built in a heap buffer (no secrets). */
static uint8_t *make_ad(const uint8_t *hdr, const uint8_t *ad, size_t ad_len, size_t *len)
{
    uint8_t *p = malloc(SEAL_BLOB_HDR_LEN + ad_len);
    if (!p)
        return NULL;
    memcpy(p, hdr, SEAL_BLOB_HDR_LEN);
    if (ad_len)
        memcpy(p + SEAL_BLOB_HDR_LEN, ad, ad_len);
    *len = SEAL_BLOB_HDR_LEN + ad_len;
    return p;
}

int seal_blob_seal(seal_backend *b, enum seal_policy policy, const uint8_t *ad, size_t ad_len,
                   const uint8_t *pt, size_t pt_len, uint8_t **blob, size_t *blob_len)
{
    int r = TV_ERR_INTERNAL;
    uint8_t *out = NULL, *aad = NULL, *key = NULL;
    size_t aad_len = 0, n;
    seal_identity id;
    uint16_t key_svn;
    unsigned long long clen = 0;

    if (policy != SEAL_POLICY_SIGNER && policy != SEAL_POLICY_MEASUREMENT)
        return TV_ERR_INVALID;
    if (pt_len > SEAL_BLOB_MAX_PT)
        return TV_ERR_TOO_LARGE;
    if ((r = seal_identity_get(b, &id)) < 0)
        return r;
    key_svn = id.svn;
    n = SEAL_BLOB_OVERHEAD + pt_len;
    if (!(out = malloc(n)) || !(key = sodium_malloc(32))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    memcpy(out, SEAL_BLOB_MAGIC, 4);
    out[4] = SEAL_BLOB_VERSION;
    out[5] = (uint8_t)policy;
    out[6] = (uint8_t)(key_svn >> 8);
    out[7] = (uint8_t)key_svn;
    randombytes_buf(out + 8, SEAL_BLOB_KEYID);
    randombytes_buf(out + 8 + SEAL_BLOB_KEYID, SEAL_BLOB_NONCE);
    if ((r = blob_key(b, policy, key_svn, out + 8, key)) < 0)
        goto out;
    if (!(aad = make_ad(out, ad, ad_len, &aad_len))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_BLOB_HDR_LEN, &clen, pt, pt_len, aad,
                                                   aad_len, NULL, out + 8 + SEAL_BLOB_KEYID,
                                                   key) != 0 ||
        clen != pt_len + SEAL_BLOB_TAG) {
        r = TV_ERR_CRYPTO;
        goto out;
    }
    *blob = out;
    *blob_len = n;
    out = NULL;
    r = 0;
out:
    free(out);
    free(aad);
    sodium_free(key);
    return r;
}

int seal_blob_peek(const uint8_t *blob, size_t blob_len, enum seal_policy *policy,
                   uint16_t *key_svn)
{
    if (!blob || blob_len < SEAL_BLOB_OVERHEAD || memcmp(blob, SEAL_BLOB_MAGIC, 4) != 0 ||
        blob[4] != SEAL_BLOB_VERSION ||
        (blob[5] != SEAL_POLICY_SIGNER && blob[5] != SEAL_POLICY_MEASUREMENT))
        return TV_ERR_FORMAT;
    if (blob_len - SEAL_BLOB_OVERHEAD > SEAL_BLOB_MAX_PT)
        return TV_ERR_FORMAT;
    *policy = (enum seal_policy)blob[5];
    *key_svn = (uint16_t)((blob[6] << 8) | blob[7]);
    return 0;
}

int seal_blob_unseal(seal_backend *b, const uint8_t *blob, size_t blob_len, const uint8_t *ad,
                     size_t ad_len, uint8_t **pt, size_t *pt_len)
{
    int r = TV_ERR_INTERNAL;
    enum seal_policy policy;
    uint16_t key_svn;
    uint8_t *key = NULL, *aad = NULL, *out = NULL;
    size_t aad_len = 0, n;
    unsigned long long mlen = 0;

    if ((r = seal_blob_peek(blob, blob_len, &policy, &key_svn)) < 0)
        return r;
    n = blob_len - SEAL_BLOB_OVERHEAD;
    if (!(key = sodium_malloc(32)) || !(out = sodium_malloc(n ? n : 1))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if ((r = blob_key(b, policy, key_svn, blob + 8, key)) < 0) {
        if (r != TV_ERR_NOMEM)
            r = TV_ERR_SEALED;
        goto out;
    }
    if (!(aad = make_ad(blob, ad, ad_len, &aad_len))) {
        r = TV_ERR_NOMEM;
        goto out;
    }
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, blob + SEAL_BLOB_HDR_LEN,
                                                   blob_len - SEAL_BLOB_HDR_LEN, aad, aad_len,
                                                   blob + 8 + SEAL_BLOB_KEYID, key) != 0 ||
        mlen != n) {
        r = TV_ERR_SEALED;
        goto out;
    }
    *pt = out;
    *pt_len = n;
    out = NULL;
    r = 0;
out:
    sodium_free(out);
    sodium_free(key);
    free(aad);
    return r;
}

void seal_blob_free_pt(uint8_t *pt)
{
    sodium_free(pt); /* sodium_free wipes the region before unmapping it */
}
