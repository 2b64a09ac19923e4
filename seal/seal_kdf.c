/* SPDX-License-Identifier: Apache-2.0 */
#include "seal_kdf.h"

#include <string.h>

#include <sodium.h>

void seal_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                       uint8_t prk[SEAL_HKDF_PRK_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, salt, salt_len);
    crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
    sodium_memzero(&st, sizeof(st));
}

int seal_hkdf_expand(const uint8_t prk[SEAL_HKDF_PRK_LEN], const uint8_t *info, size_t info_len,
                     uint8_t *okm, size_t okm_len)
{
    crypto_auth_hmacsha256_state st;
    uint8_t t[32];
    size_t done = 0;
    uint8_t ctr = 1;

    if (okm_len > 255 * 32)
        return TV_ERR_INVALID;
    while (done < okm_len) {
        size_t n = okm_len - done < 32 ? okm_len - done : 32;
        crypto_auth_hmacsha256_init(&st, prk, SEAL_HKDF_PRK_LEN);
        if (ctr > 1)
            crypto_auth_hmacsha256_update(&st, t, sizeof(t));
        crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &ctr, 1);
        crypto_auth_hmacsha256_final(&st, t);
        memcpy(okm + done, t, n);
        done += n;
        ctr++;
    }
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(t, sizeof(t));
    return 0;
}

int seal_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
              const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len)
{
    uint8_t prk[SEAL_HKDF_PRK_LEN];
    int r;
    if (okm_len > 255 * 32)
        return TV_ERR_INVALID;
    seal_hkdf_extract(salt, salt_len, ikm, ikm_len, prk);
    r = seal_hkdf_expand(prk, info, info_len, okm, okm_len);
    sodium_memzero(prk, sizeof(prk));
    return r;
}
