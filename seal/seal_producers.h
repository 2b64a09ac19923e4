/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_producers: the hardware evidence producers (gramine-sgx, tsm, dstack)
 * and the small file/parse helpers they share. Used by seal_backend_open()
 * and by tests; the sim producer is seal_sim_report.h.
 *
 * Each *_open takes the common seal_options; opts->root is the backend's root
 * path (NULL = the real default). The returned backend is owned by the caller
 * and released with seal_backend_free().
 */
#ifndef SEAL_PRODUCERS_H
#define SEAL_PRODUCERS_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "tv_err.h"

#define SEAL_GRAMINE_DEFAULT_ROOT "/dev/attestation"
#define SEAL_TSM_DEFAULT_ROOT     "/sys/kernel/config/tsm/report"
#define SEAL_DSTACK_DEFAULT_SOCK  "/var/run/dstack.sock"

/* Largest evidence any producer accepts from its source (a DCAP quote with an
 * embedded PCK chain is ~5 KiB; SNP report + certs ~ 10 KiB). */
#define SEAL_EVIDENCE_MAX (256u * 1024)

/* Gramine /dev/attestation: evidence = the DCAP quote read from root/quote
 * after writing root/user_report_data; keys from root/keys/_sgx_mrenclave or
 * _sgx_mrsigner (16 bytes) expanded with HKDF-SHA256; identity parsed from the
 * report body of a quote made with all-zero report_data (my_target_info lacks
 * MRSIGNER and ISVSVN). Errors: TV_ERR_IO when root/quote or
 * root/user_report_data is missing, TV_ERR_UNAVAILABLE when
 * root/attestation_type exists and is not "dcap", TV_ERR_NOMEM. */
int seal_backend_gramine_open(const seal_options *opts, seal_backend **out) TV_WUR;

/* Linux configfs-tsm: evidence = outblob of a fresh report entry under root
 * (type "tdx" for provider tdx_guest, "snp" for sev_guest). No sealing key:
 * get_key returns TV_ERR_UNIMPLEMENTED. Errors: TV_ERR_IO when root is not a
 * directory, TV_ERR_NOMEM. */
int seal_backend_tsm_open(const seal_options *opts, seal_backend **out) TV_WUR;

/* dstack guest agent on a Unix socket (opts->root = socket path): evidence =
 * GetQuote (type "tdx"), sealing key = GetKey expanded with HKDF-SHA256.
 * Errors: TV_ERR_INVALID (socket path too long), TV_ERR_NOMEM. The socket is
 * only contacted on use. */
int seal_backend_dstack_open(const seal_options *opts, seal_backend **out) TV_WUR;

/* One configfs-tsm report in an existing entry directory: read generation,
 * write inblob, read outblob (and auxblob if present), read generation again
 * and require exactly one increment (the kernel ABI's conflict check), read
 * provider. SNP evidence is report || auxblob (the certificate table, as
 * seal_verify_evidence takes it). *out is malloc'ed.
 * *type is "tdx" or "snp". Errors: TV_ERR_IO (missing/unreadable attribute),
 * TV_ERR_UNAVAILABLE (generation changed by another writer), TV_ERR_FORMAT
 * (unknown provider, bad generation text, empty outblob), TV_ERR_TOO_LARGE. */
int seal_tsm_report_in_entry(const char *entry, const uint8_t report_data[SEAL_REPORT_DATA_LEN],
                             uint8_t **out, size_t *out_len, const char **type) TV_WUR;

/* Sans-I/O parse of a complete HTTP/1.x response held in resp[0, n) (resp
 * must have room for n + 1 bytes): status must be 200; the body (after
 * Content-Length or chunked decoding) is moved to resp[0, *body_len) and
 * NUL-terminated. Errors: TV_ERR_PROTOCOL (malformed, truncated),
 * TV_ERR_UNAVAILABLE (any status but 200). */
int seal_http_parse_response(char *resp, size_t n, size_t *body_len) TV_WUR;

/* The hex string member `key` (optional "0x") of a JSON object body, decoded
 * into a new malloc'ed buffer of 1..max bytes. Errors: TV_ERR_PROTOCOL (not
 * JSON, no such string member, bad hex), TV_ERR_TOO_LARGE, TV_ERR_NOMEM. */
int seal_json_hex_member(const char *body, size_t blen, const char *key, size_t max, uint8_t **out,
                         size_t *out_len) TV_WUR;

/* ---- helpers shared by the producers (and their tests) ---- */

/* Read a whole file of at most max bytes. *out is malloc'ed (+1 NUL byte not
 * counted in *len). Errors: TV_ERR_NOT_FOUND (ENOENT), TV_ERR_IO,
 * TV_ERR_TOO_LARGE, TV_ERR_NOMEM. */
int seal_file_read(const char *path, size_t max, uint8_t **out, size_t *len) TV_WUR;
/* Write len bytes to an existing file (O_WRONLY, no create, no truncate) in
 * one write(2). Errors: TV_ERR_NOT_FOUND, TV_ERR_IO. */
int seal_file_write_existing(const char *path, const void *data, size_t len) TV_WUR;

/* Identity claims parsed (NOT verified) from evidence of a type:
 *  "sgx": quote v3 — MRENCLAVE, MRSIGNER, ISVSVN, debug = ATTRIBUTES bit 1;
 *  "tdx": quote v4/v5 — MRTD as measurement, MROWNER as signer, svn 0,
 *         debug = TD_ATTRIBUTES bit 0;
 *  "snp": report — MEASUREMENT, ID_KEY_DIGEST as signer, GUEST_SVN (low 16
 *         bits), debug = POLICY bit 19.
 * rd (if not NULL) receives a pointer to the 64 report_data bytes inside ev.
 * Errors: TV_ERR_FORMAT. */
int seal_evidence_identity(const char *type, const uint8_t *ev, size_t ev_len, seal_identity *id,
                           const uint8_t **rd) TV_WUR;

/* Take evidence ev (malloc'ed, ev_len bytes, of `type`) that a backend just
 * produced for report_data rd: on success it moves to *out and *out_len; on
 * failure it is freed. Errors: TV_ERR_FORMAT (unparsable), TV_ERR_INTEGRITY
 * (it binds other report_data than asked for). */
int seal_evidence_take_bound(const char *type, uint8_t *ev, size_t ev_len,
                             const uint8_t rd[SEAL_REPORT_DATA_LEN], uint8_t **out,
                             size_t *out_len) TV_WUR;

/* A backend's own identity, read from evidence over zero report_data that
 * quote(ctx, ...) produces. Errors: quote's, TV_ERR_FORMAT. */
typedef int (*seal_quote_fn)(void *ctx, const uint8_t rd[SEAL_REPORT_DATA_LEN], uint8_t **q,
                             size_t *q_len);
int seal_identity_from_quote(const char *type, seal_quote_fn quote, void *ctx,
                             seal_identity *out) TV_WUR;

/* The function-attestation binding (DESIGN.md §5), the report_data a
 * function's evidence must carry:
 *   SHA-512("teevault-attest-v1" || nonce[32] || u32be(name_len) || name ||
 *           u32be(code_hash_len) || code_hash || eph_pk[32])
 * (the string without its NUL; the two variable fields are length-prefixed so
 * no (name, code_hash) pair can be re-split into another). Used by the vault
 * (Attest) and by libteevault (tv_attest). */
#define SEAL_ATTEST_DOMAIN "teevault-attest-v1"
void seal_attest_binding(const uint8_t nonce[32], const char *name, size_t name_len,
                         const uint8_t *code_hash, size_t code_hash_len, const uint8_t eph_pk[32],
                         uint8_t out[SEAL_REPORT_DATA_LEN]);

/* The vault's own Report binding (v2): seal_channel.h. */

/* HKDF-SHA256 (RFC 5869, seal_kdf.h) with the fixed salt "teevault-seal-v1": expand a
 * backend's raw key material (16-byte SGX keys, dstack app keys) into a
 * SEAL_KEY_LEN sealing key bound to info. Errors: TV_ERR_CRYPTO. */
int seal_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const char *info,
                     uint8_t key[SEAL_KEY_LEN]) TV_WUR;

#endif
