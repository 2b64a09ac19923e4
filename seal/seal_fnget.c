/* SPDX-License-Identifier: Apache-2.0 */
/* seal_fnget: function Get session key and AEAD (contract in seal_fnget.h). */
#include "seal_fnget.h"

#include <string.h>

#include <sodium.h>

#define AAD_LABEL_LEN (sizeof SEAL_FNGET_AAD_LABEL - 1)

static int kdf(uint8_t out[32], const char *label, size_t label_len, const uint8_t *shared,
               const uint8_t eph_pk[32], const uint8_t session_pk[32])
{
    crypto_generichash_state st;
    int r = 0;
    if (crypto_generichash_init(&st, NULL, 0, 32) != 0 ||
        crypto_generichash_update(&st, (const uint8_t *)label, label_len) != 0 ||
        crypto_generichash_update(&st, shared, crypto_scalarmult_BYTES) != 0 ||
        crypto_generichash_update(&st, eph_pk, 32) != 0 ||
        crypto_generichash_update(&st, session_pk, 32) != 0 ||
        crypto_generichash_final(&st, out, 32) != 0)
        r = TV_ERR_CRYPTO;
    sodium_memzero(&st, sizeof st);
    return r;
}

int seal_fn_session_key(uint8_t key[SEAL_FNGET_KEY_LEN], uint8_t *mac_key, const uint8_t my_sk[32],
                        const uint8_t peer_pk[32], const uint8_t eph_pk[32],
                        const uint8_t session_pk[32])
{
    static const char label[] = SEAL_FNGET_KDF_LABEL, mlabel[] = SEAL_FNGET_MAC_LABEL;
    uint8_t shared[crypto_scalarmult_BYTES];
    int r;

    if (!key || !my_sk || !peer_pk || !eph_pk || !session_pk)
        return TV_ERR_INVALID;
    if (sodium_init() < 0)
        return TV_ERR_CRYPTO;
    /* crypto_scalarmult fails (-1) when the result is all zeros: peer_pk is
     * a low-order point and the "shared" secret would be public. */
    if (crypto_scalarmult(shared, my_sk, peer_pk) != 0)
        r = TV_ERR_INVALID;
    else if ((r = kdf(key, label, sizeof label - 1, shared, eph_pk, session_pk)) == 0 && mac_key)
        r = kdf(mac_key, mlabel, sizeof mlabel - 1, shared, eph_pk, session_pk);
    sodium_memzero(shared, sizeof shared);
    return r;
}

/* AAD = label || u32be(name_len) || name || u64be(version), in the caller's
 * stack buffer, or on the heap for a name too long for it. */
static int make_aad(const char *name, size_t name_len, uint64_t version, uint8_t *stackbuf,
                    size_t stackcap, uint8_t **aad, size_t *aad_len)
{
    size_t n;
    uint8_t *p;

    if (name_len > UINT32_MAX || name_len > SIZE_MAX - AAD_LABEL_LEN - 12)
        return TV_ERR_INVALID;
    n = AAD_LABEL_LEN + 4 + name_len + 8;
    p = n <= stackcap ? stackbuf : sodium_malloc(n);
    if (!p)
        return TV_ERR_NOMEM;
    memcpy(p, SEAL_FNGET_AAD_LABEL, AAD_LABEL_LEN);
    for (int i = 0; i < 4; i++)
        p[AAD_LABEL_LEN + i] = (uint8_t)(name_len >> (24 - 8 * i));
    memcpy(p + AAD_LABEL_LEN + 4, name, name_len);
    for (int i = 0; i < 8; i++)
        p[AAD_LABEL_LEN + 4 + name_len + i] = (uint8_t)(version >> (56 - 8 * i));
    *aad = p;
    *aad_len = n;
    return 0;
}

static void free_aad(uint8_t *aad, const uint8_t *stackbuf)
{
    if (aad && aad != stackbuf)
        sodium_free(aad);
}

int seal_fn_get_seal(const uint8_t key[SEAL_FNGET_KEY_LEN], const char *name, size_t name_len,
                     uint64_t version, const uint8_t *pt, size_t len, uint8_t *out)
{
    uint8_t sbuf[512], *aad = NULL;
    size_t aad_len = 0;
    int r;

    if (!key || !name || (!pt && len) || !out)
        return TV_ERR_INVALID;
    if ((r = make_aad(name, name_len, version, sbuf, sizeof sbuf, &aad, &aad_len)) < 0)
        return r;
    randombytes_buf(out, SEAL_FNGET_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_FNGET_NONCE_LEN, NULL, pt, len, aad,
                                               aad_len, NULL, out, key);
    free_aad(aad, sbuf);
    return 0;
}

int seal_fn_get_open(const uint8_t key[SEAL_FNGET_KEY_LEN], const char *name, size_t name_len,
                     uint64_t version, const uint8_t *in, size_t in_len, uint8_t *out)
{
    uint8_t sbuf[512], *aad = NULL;
    size_t aad_len = 0;
    int r;

    if (!key || !name || !in || !out)
        return TV_ERR_INVALID;
    if (in_len < SEAL_FNGET_OVERHEAD)
        return TV_ERR_FORMAT;
    if ((r = make_aad(name, name_len, version, sbuf, sizeof sbuf, &aad, &aad_len)) < 0)
        return r;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, in + SEAL_FNGET_NONCE_LEN,
                                                   in_len - SEAL_FNGET_NONCE_LEN, aad, aad_len, in,
                                                   key) != 0) {
        sodium_memzero(out, in_len - SEAL_FNGET_OVERHEAD);
        r = TV_ERR_INTEGRITY;
    } else {
        r = 0;
    }
    free_aad(aad, sbuf);
    return r;
}
