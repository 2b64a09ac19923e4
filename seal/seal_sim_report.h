/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal_sim_report: the `sim` backend's evidence (DESIGN.md §4).
 *
 * WARNING: sim evidence proves nothing about hardware. The "platform" is an
 * Ed25519 key in a file on the same machine; anyone who can read that file can
 * forge reports. It exists so the whole attestation protocol runs (and is
 * tested) on any machine. Verifiers pin the sim platform *public* key.
 *
 * Wire format (all integers big-endian), SEAL_SIM_REPORT_LEN = 240 bytes:
 *
 *   off  len  field
 *     0    8  magic "TVSIMRPT"
 *     8    2  version (SEAL_SIM_REPORT_VERSION = 1)
 *    10    1  flags: bit 0 = debug; other bits must be zero
 *    11    1  reserved, zero
 *    12    2  svn
 *    14    2  reserved, zero
 *    16   32  measurement (SHA-256 of the running binary)
 *    48   32  signer (SHA-256 of the configured signer string)
 *    80   64  report_data
 *   144   32  platform public key (Ed25519) that signed the report
 *   176   64  Ed25519 signature over "teevault-sim-report-v1\0" || bytes 0..175
 *
 * Version 2 ("shaped", SEAL_SIM_REPORT_V2_LEN = 880 bytes) carries the claims
 * of one hardware TEE so that identity policies for SGX, TDX and SNP can be
 * exercised without hardware. Bytes 0..175 as version 1 (version = 2), then
 *   176  640  shape block (below)
 *   816   64  Ed25519 signature over "teevault-sim-report-v2\0" || bytes 0..815
 * Shape block (offsets inside it; integers big-endian):
 *     0    1  shape: 1 sgx, 2 tdx, 3 snp;   1..3 zero
 *     4   32  sgx MRENCLAVE      36  32  sgx MRSIGNER
 *    68    2  sgx ISVPRODID      70   2  sgx ISVSVN
 *    72   48  tdx MRTD          120 192  tdx RTMR0..3
 *   312   48  tdx MRCONFIGID    360  48  tdx MROWNER     408  48  tdx MROWNERCONFIG
 *   456   48  snp MEASUREMENT   504  32  snp HOST_DATA   536  48  snp ID_KEY_DIGEST
 *   584    8  snp REPORTED_TCB (the report's u64, byte i = little-endian byte i)
 *   592    4  snp VMPL          596   4  snp GUEST_SVN   600..639 zero
 * The verdict stays of type sim (claims.sim_shape names the shape), so a
 * shaped sim report is never taken for hardware evidence.
 *
 * Platform key file: <dir>/sim_platform.key, exactly 32 bytes (the Ed25519
 * seed), mode 0600, created on first use. <dir>/sim_platform.pub holds the raw
 * 32-byte public key for pinning (mode 0644).
 */
#ifndef SEAL_SIM_REPORT_H
#define SEAL_SIM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "seal_verify.h"
#include "tv_err.h"

#define SEAL_SIM_REPORT_LEN        240
#define SEAL_SIM_REPORT_VERSION    1
#define SEAL_SIM_ID_LEN            32
#define SEAL_SIM_PK_LEN            32
#define SEAL_SIM_PLATFORM_KEY      "sim_platform.key"
#define SEAL_SIM_PLATFORM_PUB      "sim_platform.pub"
#define SEAL_SIM_REPORT_FLAG_DEBUG 0x01
#define SEAL_SIM_REPORT_VERSION_2  2
#define SEAL_SIM_SHAPE_LEN         640
#define SEAL_SIM_REPORT_V2_LEN     (176 + SEAL_SIM_SHAPE_LEN + 64)

/* Claims of a verified (or merely parsed) sim report. */
typedef struct seal_sim_report {
    uint16_t version;
    uint8_t measurement[SEAL_SIM_ID_LEN];
    uint8_t signer[SEAL_SIM_ID_LEN];
    uint16_t svn;
    int debug;
    uint8_t report_data[SEAL_REPORT_DATA_LEN];
    uint8_t platform_pk[SEAL_SIM_PK_LEN];
    int shaped;                        /* version 2 */
    uint8_t shape[SEAL_SIM_SHAPE_LEN]; /* the shape block, when shaped */
} seal_sim_report;

/* Reference values a sim report is checked against. NULL pointers mean "any". */
typedef struct seal_sim_policy {
    const uint8_t *measurement; /* SEAL_SIM_ID_LEN bytes, or NULL */
    const uint8_t *signer;      /* SEAL_SIM_ID_LEN bytes, or NULL */
    uint16_t min_svn;
    int allow_debug;
    const uint8_t *report_data; /* SEAL_REPORT_DATA_LEN expected bytes, or NULL */
} seal_sim_policy;

/* Load the sim platform key from dir, creating dir (0700) and the key pair on
 * first use, and return its public key in pk.
 * Errors: TV_ERR_INVALID (dir NULL/empty or too long), TV_ERR_IO (cannot
 * read/create, or the key file is accessible to group/other or not 32 bytes),
 * TV_ERR_NOMEM. */
int seal_sim_platform_pubkey(const char *dir, uint8_t pk[SEAL_SIM_PK_LEN]) TV_WUR;

/* The platform key pair of dir (created on first use, as
 * seal_sim_platform_pubkey): pk, and *sk (crypto_sign_SECRETKEYBYTES in a
 * sodium_malloc region the caller sodium_free()s). For producers that sign
 * many reports (seal_sim_report_sign) without reading the key file each time.
 * Errors as seal_sim_platform_pubkey, TV_ERR_CRYPTO. */
int seal_sim_platform_key(const char *dir, uint8_t pk[SEAL_SIM_PK_LEN], uint8_t **sk) TV_WUR;

/* As seal_sim_report_produce_shaped, signed with a platform key pair already
 * loaded (seal_sim_platform_key): no file access. sk is only read.
 * Errors: TV_ERR_INVALID, TV_ERR_NOMEM, TV_ERR_CRYPTO. */
int seal_sim_report_sign(const uint8_t *sk, const uint8_t pk[SEAL_SIM_PK_LEN],
                         const seal_identity *id, const uint8_t *shape,
                         const uint8_t report_data[SEAL_REPORT_DATA_LEN], uint8_t **out,
                         size_t *out_len) TV_WUR;

/* Produce a signed sim report for id (measurement_len and signer_len must be
 * SEAL_SIM_ID_LEN) binding report_data, signed by the platform key in dir
 * (created on first use). *out is malloc'ed (SEAL_SIM_REPORT_LEN bytes),
 * caller frees. Errors: TV_ERR_INVALID (bad identity), those of
 * seal_sim_platform_pubkey, TV_ERR_CRYPTO. */
int seal_sim_report_produce(const char *dir, const seal_identity *id,
                            const uint8_t report_data[SEAL_REPORT_DATA_LEN], uint8_t **out,
                            size_t *out_len) TV_WUR;

/* As seal_sim_report_produce, with a version-2 shape block (exactly
 * SEAL_SIM_SHAPE_LEN bytes in the layout above; shape NULL = version 1).
 * Errors as seal_sim_report_produce; TV_ERR_INVALID also for a shape block
 * with an unknown shape or non-zero reserved bytes. */
int seal_sim_report_produce_shaped(const char *dir, const seal_identity *id, const uint8_t *shape,
                                   const uint8_t report_data[SEAL_REPORT_DATA_LEN], uint8_t **out,
                                   size_t *out_len) TV_WUR;

/* Parse without checking the signature (for display only; never trust the
 * result). Errors: TV_ERR_FORMAT (wrong length, magic, version, reserved bits). */
int seal_sim_report_parse(const uint8_t *ev, size_t ev_len, seal_sim_report *out) TV_WUR;

/* Check the format and the signature against the pinned platform public key;
 * on success fill *out (if not NULL) with the claims.
 * Errors: TV_ERR_FORMAT (see parse), TV_ERR_VERIFY (report names another
 * platform key than the pinned one, or the signature is bad). */
int seal_sim_report_verify(const uint8_t *ev, size_t ev_len,
                           const uint8_t pinned_pk[SEAL_SIM_PK_LEN], seal_sim_report *out) TV_WUR;

/* Policy step, after seal_sim_report_verify. Errors: TV_ERR_POLICY (debug
 * report when debug is not allowed, measurement/signer differ, svn below
 * min_svn), TV_ERR_INTEGRITY (report_data differs from the expected binding).
 * why (if not NULL) receives a static string naming the failed check. */
int seal_sim_report_check(const seal_sim_report *r, const seal_sim_policy *p,
                          const char **why) TV_WUR;

/* The sim verifier in the shape of seal_verify_evidence() (seal_verify.h):
 * format + signature against pinned_pk (pk_len must be SEAL_SIM_PK_LEN), then
 * the debug policy (policy may be NULL = defaults: debug refused). Claims
 * filled: MEASUREMENT (32 B), SIGNER (32 B), SVN, REPORT_DATA; tcb_status is
 * NOT_EVALUATED. A shaped (v2) report adds its shape's claims as the
 * hardware verifier would fill them (SNP: MEASUREMENT becomes the 48-byte
 * SNP one, SVN the guest SVN) and sets claims.sim_shape. Like seal_verify_evidence, *out is ALWAYS
 * filled (zeroed, then what was learnt, with reason); trust it only when 0 is returned. Errors:
 * TV_ERR_INVALID (no pinned key), TV_ERR_FORMAT, TV_ERR_VERIFY, TV_ERR_POLICY (debug). */
int seal_sim_verify_verdict(const uint8_t *ev, size_t ev_len, const uint8_t *pinned_pk,
                            size_t pk_len, const seal_verify_policy *policy,
                            seal_verdict *out) TV_WUR;

#endif
