/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_fnget: the function Get wire format (docs/ATTESTATION.md "Function
 * Get"), shared by the vault (which seals) and libteevault (which opens).
 *
 * At Attest the vault takes its current X25519 session key pair (one per
 * second, certified by its signing key) and sends its public key
 * (AttestResponse.session_pubkey); both sides derive
 *
 *     key = BLAKE2b-256("teevault-fn-session-key-v1" || X25519(sk, peer_pk)
 *                       || eph_pk || session_pk)
 *
 * (eph_pk: the function's ephemeral key bound in its evidence; session_pk:
 * the vault's) and, with another label, the key of the Attest reply's MAC.
 * The vault keeps only key (its pair is wiped within ~2 s); the function
 * keeps only key. Each Get's value is
 *
 *     sealed_value = nonce[24] || XChaCha20-Poly1305(key, nonce, value,
 *                    AAD = "teevault-get-v1" || u32be(len name) || name ||
 *                          u64be(version))
 *
 * with a random nonce, so a sealed value opens only under the name and
 * version it was read as, and only with that session's key. Per-Get cost:
 * one AEAD, no public-key operation.
 */
#ifndef SEAL_FNGET_H
#define SEAL_FNGET_H

#include <stddef.h>
#include <stdint.h>

#include "tv_err.h"

#define SEAL_FNGET_KEY_LEN   32
#define SEAL_FNGET_NONCE_LEN 24
#define SEAL_FNGET_TAG_LEN   16
#define SEAL_FNGET_OVERHEAD  (SEAL_FNGET_NONCE_LEN + SEAL_FNGET_TAG_LEN)
#define SEAL_FNGET_KDF_LABEL "teevault-fn-session-key-v1"
#define SEAL_FNGET_MAC_LABEL "teevault-attest-reply-mac-v1"
#define SEAL_FNGET_AAD_LABEL "teevault-get-v1"

/* key = BLAKE2b-256(label || X25519(my_sk, peer_pk) || eph_pk || session_pk),
 * and when mac_key is not NULL the Attest reply's MAC key, the same with
 * SEAL_FNGET_MAC_LABEL (seal_attest_reply_mac), from the one X25519.
 * The vault calls it with (its session sk, eph_pk), the function with
 * (eph_sk, session_pk); eph_pk and session_pk are the same on both sides.
 * key should be sodium_malloc memory. Errors: TV_ERR_INVALID (a NULL
 * argument, or peer_pk is a low-order point: the shared secret would be
 * all zeros), TV_ERR_CRYPTO (libsodium cannot be initialised). The shared
 * secret is wiped on every path. */
int seal_fn_session_key(uint8_t key[SEAL_FNGET_KEY_LEN], uint8_t *mac_key, const uint8_t my_sk[32],
                        const uint8_t peer_pk[32], const uint8_t eph_pk[32],
                        const uint8_t session_pk[32]) TV_WUR;

/* Seal len bytes of pt for the Get of (name, version): out (len +
 * SEAL_FNGET_OVERHEAD bytes, caller's) = nonce || ciphertext || tag.
 * Errors: TV_ERR_INVALID (NULL argument, name longer than UINT32_MAX). */
int seal_fn_get_seal(const uint8_t key[SEAL_FNGET_KEY_LEN], const char *name, size_t name_len,
                     uint64_t version, const uint8_t *pt, size_t len, uint8_t *out) TV_WUR;

/* Open a sealed_value of in_len bytes read as (name, version) into out
 * (in_len - SEAL_FNGET_OVERHEAD bytes, caller's; the caller wipes it).
 * Errors: TV_ERR_INVALID (NULL argument), TV_ERR_FORMAT (shorter than the
 * overhead), TV_ERR_INTEGRITY (wrong key, name or version, or tampered;
 * out is zeroed). */
int seal_fn_get_open(const uint8_t key[SEAL_FNGET_KEY_LEN], const char *name, size_t name_len,
                     uint64_t version, const uint8_t *in, size_t in_len, uint8_t *out) TV_WUR;

#endif
