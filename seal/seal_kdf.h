/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_kdf: THE HKDF-SHA256 (RFC 5869) of teevault, built on libsodium's
 * HMAC-SHA256. Every key derivation in the tree goes through it: the
 * backends' sealing keys (seal_hkdf_sha256) and the keyring's root-key
 * derivations (vault_keyring: extract once, expand per label).
 *
 * Secrets: callers wipe what they get; these functions wipe their own state.
 */
#ifndef SEAL_KDF_H
#define SEAL_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"

#define SEAL_HKDF_PRK_LEN 32

/* HKDF-Extract: prk = HMAC-SHA256(salt, ikm). */
void seal_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                       uint8_t prk[SEAL_HKDF_PRK_LEN]);

/* HKDF-Expand: okm_len bytes (<= 255 * 32, else TV_ERR_INVALID) from prk and info. */
int seal_hkdf_expand(const uint8_t prk[SEAL_HKDF_PRK_LEN], const uint8_t *info, size_t info_len,
                     uint8_t *okm, size_t okm_len) TV_WUR;

/* Extract then expand. Errors: TV_ERR_INVALID (okm_len too large). */
int seal_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
              const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len) TV_WUR;

#endif
