/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_blob: the versioned sealed-blob format (DESIGN.md §3, §4).
 *
 * Layout (all integers big-endian), SEAL_BLOB_HDR_LEN = 48 bytes of header:
 *
 *   magic "TVSB" (4) | format version u8 (=1) | policy u8 | key_svn u16 |
 *   key_id (16, random per blob) | nonce (24) | ciphertext (n) | tag (16)
 *
 * The blob key is BLAKE2b-256(key = backend sealing key for (policy, key_svn),
 * "teevault-seal-blob-v1" || key_id). The AEAD is XChaCha20-Poly1305 with
 * associated data = header (48 bytes) || caller's ad, so every header byte and
 * the caller's context are authenticated.
 *
 * For the signer policy key_svn is the backend's own SVN at seal time; a later
 * binary with SVN >= key_svn can unseal it, an older one cannot.
 */
#ifndef SEAL_BLOB_H
#define SEAL_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "tv_err.h"

#define SEAL_BLOB_MAGIC    "TVSB"
#define SEAL_BLOB_VERSION  1
#define SEAL_BLOB_KEYID    16
#define SEAL_BLOB_NONCE    24
#define SEAL_BLOB_TAG      16
#define SEAL_BLOB_HDR_LEN  (4 + 1 + 1 + 2 + SEAL_BLOB_KEYID + SEAL_BLOB_NONCE)
#define SEAL_BLOB_OVERHEAD (SEAL_BLOB_HDR_LEN + SEAL_BLOB_TAG)
#define SEAL_BLOB_MAX_PT   ((size_t)16 << 20) /* 16 MiB */

/* Seal pt (pt_len bytes, may be 0) under `policy` with associated data ad
 * (ad_len bytes, may be NULL/0). On success *blob is malloc'ed (caller frees
 * with free(); it holds no secret) and *blob_len = pt_len + SEAL_BLOB_OVERHEAD.
 * Errors: TV_ERR_INVALID (bad policy), TV_ERR_TOO_LARGE (pt_len > SEAL_BLOB_MAX_PT),
 * TV_ERR_NOMEM, or the backend's get_key error. */
int seal_blob_seal(seal_backend *b, enum seal_policy policy, const uint8_t *ad, size_t ad_len,
                   const uint8_t *pt, size_t pt_len, uint8_t **blob, size_t *blob_len) TV_WUR;

/* Unseal blob with associated data ad. On success *pt is sodium_malloc'ed
 * (at least 1 byte even when *pt_len == 0); release it with seal_blob_free_pt.
 * Errors: TV_ERR_FORMAT (truncated, bad magic, unknown version or policy),
 * TV_ERR_SEALED (authentication failed: corrupted blob, wrong ad, or sealed by
 * another enclave identity — these are indistinguishable by design; also a
 * key_svn above this backend's SVN), TV_ERR_NOMEM. */
int seal_blob_unseal(seal_backend *b, const uint8_t *blob, size_t blob_len, const uint8_t *ad,
                     size_t ad_len, uint8_t **pt, size_t *pt_len) TV_WUR;

/* Read the policy and key SVN from a blob header without unsealing.
 * Errors: TV_ERR_FORMAT. */
int seal_blob_peek(const uint8_t *blob, size_t blob_len, enum seal_policy *policy,
                   uint16_t *key_svn) TV_WUR;

/* Wipe and free a plaintext returned by seal_blob_unseal. NULL is a no-op. */
void seal_blob_free_pt(uint8_t *pt);

#endif
